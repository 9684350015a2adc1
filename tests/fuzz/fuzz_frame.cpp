// libFuzzer target: the frame decoder (shared/codec.*), on both sides. Any bytes may arrive as a
// text frame; the decoder must answer every one with a message or a DecodeError, never crash,
// leak or hang. What it accepts must be what PROTOCOL.md allows, and must survive a round trip:
// encode(decode(x)) decodes again to a message that encodes to the same bytes. A broken rule is
// an abort(), so that libFuzzer reports a logic bug as a crash, with the input.

#include "shared/codec.h"
#include "shared/events.h"
#include "shared/limits.h"

#include <QByteArray>
#include <QSet>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace anonchat::protocol;

namespace {

[[noreturn]] void fail(const char *what, const QByteArray &first = {},
                       const QByteArray &second = {})
{
    std::fprintf(stderr, "fuzz_frame: %s\n", what);
    if (!first.isEmpty())
        std::fprintf(stderr, "  first:  %s\n", first.toPercentEncoding(" {}[]:,\"").constData());
    if (!second.isEmpty())
        std::fprintf(stderr, "  second: %s\n", second.toPercentEncoding(" {}[]:,\"").constData());
    std::abort();
}

void check(bool condition, const char *what, const QByteArray &frame = {})
{
    if (!condition)
        fail(what, frame);
}

void checkError(const DecodeError &error)
{
    const int code = static_cast<int>(error.code);
    check(code >= 0 && code < kErrorCodeCount, "error code out of range");
    check(!errorCodeName(error.code).isEmpty(), "error code without a name");
    check(!error.message.isEmpty(), "error without a message");
    // The server echoes `event` back: an unknown name is cut, so it cannot amplify a frame.
    check(error.event.size() <= 64, "error.event longer than 64", error.event.toUtf8());
}

bool isNormalisedInterests(const QStringList &interests)
{
    if (interests.size() > kMaxInterests)
        return false;
    QSet<QString> seen;
    for (const QString &s : interests) {
        if (s.isEmpty() || s != s.trimmed() || codePointCount(s) > kMaxInterestChars ||
            seen.contains(s))
            return false;
        seen.insert(s);
    }
    return true;
}

// What the server acts on must obey PROTOCOL.md's limits.
void checkClientLimits(const ClientMessage &message, const QByteArray &frame)
{
    if (const auto *send = std::get_if<SendMessage>(&message)) {
        check(!send->content.isEmpty(), "send_message accepted an empty content", frame);
        check(send->content == send->content.trimmed(), "send_message content not trimmed", frame);
        check(codePointCount(send->content) <= kMaxMessageChars, "send_message content too long",
              frame);
        check(codePointCount(send->nonce) <= kMaxNonceChars, "send_message nonce too long", frame);
    } else if (const auto *join = std::get_if<JoinQueue>(&message)) {
        check(isNormalisedInterests(join->interests), "join_queue interests not normalised", frame);
        check(codePointCount(join->powNonce) <= kMaxPowNonceChars, "join_queue pow_nonce too long",
              frame);
    } else if (const auto *next = std::get_if<Next>(&message)) {
        check(isNormalisedInterests(next->interests), "next interests not normalised", frame);
        check(codePointCount(next->powNonce) <= kMaxPowNonceChars, "next pow_nonce too long",
              frame);
    } else if (const auto *report = std::get_if<Report>(&message)) {
        check(codePointCount(report->reason) <= kMaxReportReasonChars, "report reason too long",
              frame);
    } else if (const auto *resume = std::get_if<Resume>(&message)) {
        check(codePointCount(resume->resumeToken) <= kMaxResumeTokenChars, "resume token too long",
              frame);
    }
}

template <typename Message, typename Decode>
void roundTrip(const Message &message, Decode decode)
{
    const QByteArray first = encode(message);
    const auto again = decode(first);
    const auto *decoded = std::get_if<Message>(&again);
    if (!decoded) {
        const DecodeError &e = std::get<DecodeError>(again);
        std::fprintf(stderr, "fuzz_frame: %s: %s\n", qPrintable(errorCodeName(e.code)),
                     qPrintable(e.message));
        fail("an encoded frame does not decode", first);
    }
    if (decoded->index() != message.index())
        fail("the event changed in a round trip", first, encode(*decoded));
    const QByteArray second = encode(*decoded);
    if (second != first)
        fail("encode(decode(encode(m))) != encode(m)", first, second);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // The server closes with 1009 before decoding anything larger.
    if (size > size_t(kMaxFrameBytes))
        return 0;
    // A deep copy: a QByteArray from the socket is NUL-terminated, fromRawData would not be.
    const QByteArray bytes(reinterpret_cast<const char *>(data), qsizetype(size));

    const ClientDecodeResult client = decodeClientFrame(bytes);
    if (const auto *m = std::get_if<ClientMessage>(&client)) {
        checkClientLimits(*m, bytes);
        roundTrip(*m, [](const QByteArray &b) { return decodeClientFrame(b); });
    } else {
        checkError(std::get<DecodeError>(client));
    }

    const ServerDecodeResult server = decodeServerFrame(bytes);
    if (const auto *m = std::get_if<ServerMessage>(&server))
        roundTrip(*m, [](const QByteArray &b) { return decodeServerFrame(b); });
    else
        checkError(std::get<DecodeError>(server));
    return 0;
}
