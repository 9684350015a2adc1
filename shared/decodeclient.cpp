// Client frames decoded and validated: strict, these are the server's input.
#include "shared/codec.h"
#include "shared/envelope.h"
#include "shared/fieldreader.h"

namespace anonchat::protocol {

namespace {

using internal::FieldReader;
using internal::readInterests;
using internal::readLanguage;

bool fromJson(const QJsonObject &d, JoinQueue &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.powNonce = r.string("pow_nonce", false, kMaxPowNonceChars);
    return readInterests(r, m.interests) && readLanguage(r, m.lang);
}
bool fromJson(const QJsonObject &, LeaveQueue &, DecodeError &)
{
    return true;
}
bool fromJson(const QJsonObject &d, SendMessage &m, DecodeError &e)
{
    FieldReader r(d, e);
    const QString content = r.string("content", true);
    m.nonce = r.string("nonce", false, kMaxNonceChars);
    if (!r.ok())
        return false;
    m.content = content.trimmed();
    if (m.content.isEmpty()) {
        e.code = ErrorCode::MessageEmpty;
        e.message = QStringLiteral("the message is empty");
        return false;
    }
    if (codePointCount(m.content) > kMaxMessageChars) {
        e.code = ErrorCode::MessageTooLong;
        e.message = QStringLiteral("a message has at most %1 characters").arg(kMaxMessageChars);
        return false;
    }
    return true;
}
bool fromJson(const QJsonObject &d, Typing &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.typing = r.boolean("typing", true);
    return r.ok();
}
bool fromJson(const QJsonObject &, LeaveRoom &, DecodeError &)
{
    return true;
}
bool fromJson(const QJsonObject &d, Next &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.powNonce = r.string("pow_nonce", false, kMaxPowNonceChars);
    return readInterests(r, m.interests) && readLanguage(r, m.lang);
}
bool fromJson(const QJsonObject &d, Report &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.reason = r.string("reason", false, kMaxReportReasonChars).trimmed();
    return r.ok();
}
bool fromJson(const QJsonObject &d, Resume &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.resumeToken = r.string("resume_token", true, kMaxResumeTokenChars);
    m.lastId = r.integer("last_id", false, -1);
    return r.ok();
}
bool fromJson(const QJsonObject &, GetStats &, DecodeError &)
{
    return true;
}

/// `data` decoded as a `T`, by its `fromJson` overload above.
template <typename T>
ClientDecodeResult decodeAs(const QJsonObject &data)
{
    T message;
    DecodeError error;
    if (!fromJson(data, message, error))
        return error;
    return ClientMessage(std::in_place_type<T>, std::move(message));
}

ClientDecodeResult decodeClient(const QByteArray &utf8, bool validUtf8)
{
    internal::Envelope env;
    DecodeError error;
    if (!internal::readEnvelope(utf8, env, error, validUtf8))
        return error;
    const std::optional<ClientEvent> event = clientEventFromName(env.event);
    if (!event)
        return internal::unknownEvent(env);
    if (!env.dataIsObject)
        return internal::dataNotObject(env);
    ClientDecodeResult result = DecodeError{};
    switch (*event) {
#define ANONCHAT_DECODE_CASE(type, name)                                                           \
    case ClientEvent::type: result = decodeAs<type>(env.data); break;
        ANONCHAT_CLIENT_EVENTS(ANONCHAT_DECODE_CASE)
#undef ANONCHAT_DECODE_CASE
    }
    if (auto *e = std::get_if<DecodeError>(&result))
        e->event = env.event;
    return result;
}

} // namespace

ClientDecodeResult decodeClientFrame(const QByteArray &utf8)
{
    return decodeClient(utf8, false);
}

ClientDecodeResult decodeClientFrame(const QString &text)
{
    return decodeClient(text.toUtf8(), true);
}

ClientDecodeResult decodeCheckedClientFrame(const QByteArray &utf8)
{
    return decodeClient(utf8, true);
}

} // namespace anonchat::protocol
