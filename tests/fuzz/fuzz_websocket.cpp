// libFuzzer target: the server's WebSocket transport (server/websocketconnection.*), fed any
// bytes as a client would send them, over a real socketpair and the Qt event loop, cut into
// chunks of a size the input chooses (so frames arrive whole, split and joined). It must never
// crash, leak or hang, and it must do exactly what RFC 6455 says, checked against a plain
// reference reading of the same bytes written here: the same text messages in the same order,
// each valid UTF-8 and within the limit, and the same close code (1002, 1007, 1009, or the
// client's own close echoed). A broken rule is an abort(), so libFuzzer reports it with the input.

#include "server/websocketconnection.h"

#include <QByteArray>
#include <QCoreApplication>
#include <QUtf8StringView>
#include <QtEndian>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace anonchat::server;

namespace {

constexpr quint64 kMaxMessage = 1024;

[[noreturn]] void fail(const char *what)
{
    std::fprintf(stderr, "fuzz_websocket: %s\n", what);
    std::abort();
}

void check(bool condition, const char *what)
{
    if (!condition)
        fail(what);
}

/// What a correct server does with these bytes: the text messages it hands on, and the close
/// code it answers with (0: none; the bytes ran out first).
struct Expected {
    std::vector<QByteArray> texts;
    int binaries = 0;
    int closeCode = 0;
};

Expected reference(QByteArray data)
{
    Expected out;
    qsizetype pos = 0;
    int messageOpcode = 0; // of a fragmented message under way
    QByteArray message;
    while (true) {
        const qsizetype left = data.size() - pos;
        if (left < 2)
            return out;
        const auto *b = reinterpret_cast<const uchar *>(data.constData() + pos);
        const bool fin = b[0] & 0x80;
        const int opcode = b[0] & 0x0f;
        const bool masked = b[1] & 0x80;
        quint64 length = b[1] & 0x7f;
        const bool known = opcode <= 2 || (opcode >= 8 && opcode <= 10);
        const bool control = opcode >= 8;
        if ((b[0] & 0x70) || !known || !masked || (control && (!fin || length > 125))) {
            out.closeCode = 1002;
            return out;
        }
        qsizetype head = 2;
        if (length == 126) {
            if (left < 4)
                return out;
            length = qFromBigEndian<quint16>(b + 2);
            head = 4;
        } else if (length == 127) {
            if (left < 10)
                return out;
            length = qFromBigEndian<quint64>(b + 2);
            if (length >> 63) {
                out.closeCode = 1002;
                return out;
            }
            head = 10;
        }
        if (!control && length > kMaxMessage - quint64(message.size())) {
            out.closeCode = 1009;
            return out;
        }
        head += 4;
        if (quint64(left) < quint64(head) + length)
            return out;
        QByteArray payload = data.mid(pos + head, qsizetype(length));
        for (qsizetype i = 0; i < payload.size(); ++i)
            payload[i] = char(payload[i] ^ b[head - 4 + (i & 3)]);
        pos += head + qsizetype(length);
        if (opcode == 1 || opcode == 2 || opcode == 0) {
            if ((opcode == 0) == (messageOpcode == 0)) {
                out.closeCode = 1002; // a continuation of nothing, or a message inside one
                return out;
            }
            message += payload;
            if (opcode != 0)
                messageOpcode = opcode;
            if (!fin)
                continue;
            if (messageOpcode == 1) {
                if (!QUtf8StringView(message).isValidUtf8()) {
                    out.closeCode = 1007;
                    return out;
                }
                out.texts.push_back(message);
            } else {
                ++out.binaries;
            }
            message.clear();
            messageOpcode = 0;
        } else if (opcode == 8) {
            if (payload.size() == 1) {
                out.closeCode = 1002;
                return out;
            }
            if (payload.size() >= 2) {
                const int code = qFromBigEndian<quint16>(payload.constData());
                const bool valid = (code >= 1000 && code <= 1003) ||
                                   (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
                if (!valid) {
                    out.closeCode = 1002;
                    return out;
                }
                if (!QUtf8StringView(payload.mid(2)).isValidUtf8()) {
                    out.closeCode = 1007;
                    return out;
                }
                out.closeCode = code; // echoed
            } else {
                out.closeCode = 1000; // an empty close is answered with an empty one
            }
            return out;
        }
    }
}

struct Recorder final : WebSocketConnection::Handler {
    std::vector<QByteArray> texts;
    int binaries = 0;
    int disconnects = 0;
    void textReceived(WebSocketConnection *, const QByteArray &utf8) override
    {
        check(quint64(utf8.size()) <= kMaxMessage, "a message over the limit was delivered");
        check(QUtf8StringView(utf8).isValidUtf8(), "invalid UTF-8 was delivered");
        texts.emplace_back(utf8.constData(), utf8.size()); // a copy: the view is the call's only
    }
    void binaryReceived(WebSocketConnection *) override { ++binaries; }
    void pongReceived(WebSocketConnection *) override {}
    void disconnected(WebSocketConnection *) override { ++disconnects; }
};

/// Reads what the server wrote (nothing blocks: the socket is non-blocking) and returns the
/// code of its close frame, 1000 for an empty one, 0 for none.
int closeCodeSent(int fd)
{
    QByteArray received;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n <= 0)
            break;
        received.append(buffer, n);
    }
    qsizetype pos = 0;
    while (received.size() - pos >= 2) {
        const auto *b = reinterpret_cast<const uchar *>(received.constData() + pos);
        check((b[1] & 0x80) == 0, "a server frame is masked");
        quint64 length = b[1] & 0x7f;
        qsizetype head = 2;
        if (length == 126) {
            length = qFromBigEndian<quint16>(b + 2);
            head = 4;
        } else if (length == 127) {
            length = qFromBigEndian<quint64>(b + 2);
            head = 10;
        }
        check(quint64(received.size() - pos) >= quint64(head) + length, "a torn server frame");
        if ((b[0] & 0x0f) == 0x8)
            return length >= 2 ? qFromBigEndian<quint16>(b + head) : 1000;
        pos += head + qsizetype(length);
    }
    return 0;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static QCoreApplication app(*argc, *argv);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16 * 1024)
        return 0;
    // The first byte: the chunk size the bytes arrive in (1 to 256).
    const qsizetype chunk = qsizetype(data[0]) + 1;
    const QByteArray bytes(reinterpret_cast<const char *>(data + 1), qsizetype(size - 1));
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        fail("socketpair");
    Recorder recorder;
    auto *connection =
        new WebSocketConnection(fds[0], QByteArray(), QByteArray(), &recorder, kMaxMessage);
    for (qsizetype pos = 0; pos < bytes.size(); pos += chunk) {
        const QByteArray piece = bytes.mid(pos, chunk);
        if (::send(fds[1], piece.constData(), size_t(piece.size()), MSG_NOSIGNAL) < 0)
            break; // the server has closed
        pollfd p{fds[0], POLLIN, 0};
        if (::poll(&p, 1, 0) >= 0) // the kernel has the bytes; the notifier fires
            QCoreApplication::processEvents();
    }
    QCoreApplication::processEvents();
    const Expected expected = reference(bytes);
    check(recorder.texts == expected.texts, "not the messages a correct server hands on");
    check(recorder.binaries == expected.binaries, "not the binary messages expected");
    check(closeCodeSent(fds[1]) == expected.closeCode, "not the close code expected");
    check(recorder.disconnects <= 1, "disconnected more than once");
    delete connection;
    ::close(fds[1]);
    return 0;
}
