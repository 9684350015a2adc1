#pragma once
// A WebSocket client written by hand over QTcpSocket, for tests that must see and choose the exact
// bytes on the wire (docs/PROTOCOL.md, "Transport"): any upgrade request, frames with any first
// byte (FIN, RSV, opcode), masked or not, in any length form, raw bytes, and every server frame as
// sent (opcode, payload, close code). It answers nothing by itself unless told to (pongs).
//
// Every server frame is checked against RFC 6455 and PROTOCOL.md as it is parsed: unmasked, no
// RSV bit, a known opcode, control frames whole and at most 125 bytes, text that is UTF-8 and one
// JSON object. What breaks a rule is appended to RawWebSocket::violations() (for all clients of
// the process), which a suite checks after every test.

#include "tests/support/wireframes.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QStringDecoder>
#include <QStringList>
#include <QTcpSocket>
#include <QTest>
#include <optional>

namespace anonchat::test {

namespace wire {

/// `size` bytes of printable ASCII (valid UTF-8), varied so that a shifted byte shows.
inline QByteArray asciiPayload(qsizetype size)
{
    QByteArray payload(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        payload[i] = char('a' + (i * 7 + i / 26) % 26);
    return payload;
}

/// A JSON text message of exactly `size` bytes (at least 40): `{"event":"<event>","pad":"…"}`.
/// The server ignores the unknown key, so it answers as for the bare event.
inline QByteArray paddedEvent(const QByteArray &event, qsizetype size)
{
    const QByteArray head = "{\"event\":\"" + event + "\",\"pad\":\"";
    const QByteArray tail = "\"}";
    return head + asciiPayload(qMax<qsizetype>(0, size - head.size() - tail.size())) + tail;
}

} // namespace wire

class RawWebSocket
{
public:
    static constexpr int kWaitMs = 5000;

    /// One server message: the opcode of its first frame, its whole payload (fragments joined).
    struct Frame {
        int opcode = -1;
        QByteArray payload;
        /// The close code of a close frame: 1005 for an empty body, -1 for a 1-byte one.
        int closeCode() const
        {
            if (payload.isEmpty())
                return 1005;
            if (payload.size() < 2)
                return -1;
            return (quint8(payload[0]) << 8) | quint8(payload[1]);
        }
        QByteArray closeReason() const { return payload.mid(2); }
        QJsonObject json() const { return QJsonDocument::fromJson(payload).object(); }
    };

    RawWebSocket()
    {
        QObject::connect(&m_socket, &QTcpSocket::readyRead, &m_socket, [this] { onReadyRead(); });
        QObject::connect(&m_socket, &QTcpSocket::disconnected, &m_socket,
                         [this] { m_ended = true; });
        QObject::connect(&m_socket, &QTcpSocket::errorOccurred, &m_socket,
                         [this](QAbstractSocket::SocketError) {
                             if (m_socket.state() != QAbstractSocket::ConnectedState)
                                 m_ended = true;
                         });
    }
    RawWebSocket(const RawWebSocket &) = delete;
    RawWebSocket &operator=(const RawWebSocket &) = delete;

    /// Every rule a server frame broke, over all clients of the process (cleared by the suite).
    static QStringList &violations()
    {
        static QStringList list;
        return list;
    }

    /// Opens TCP to 127.0.0.1:port, from `from` when given (e.g. 127.0.0.2). Nodelay: each write
    /// leaves as its own segment.
    bool connectTo(quint16 port, const QHostAddress &from = {}, int timeoutMs = kWaitMs)
    {
        if (!from.isNull() && !m_socket.bind(from))
            return false;
        m_socket.connectToHost(QHostAddress(QHostAddress::LocalHost), port);
        if (!QTest::qWaitFor(
                [this] { return m_socket.state() == QAbstractSocket::ConnectedState || m_ended; },
                timeoutMs))
            return false;
        m_socket.setSocketOption(QAbstractSocket::LowDelayOption, 1);
        return m_socket.state() == QAbstractSocket::ConnectedState;
    }

    /// Sends `request` (the standard upgrade by default) and `then` in one write; waits for the
    /// response head and returns its status (0 if none came).
    int upgrade(const QByteArray &request = {}, const QByteArray &then = {},
                int timeoutMs = kWaitMs)
    {
        sendBytes((request.isEmpty() ? wire::upgradeRequest(m_socket.peerPort()) : request) + then);
        (void)QTest::qWaitFor([this] { return m_headDone || m_ended; }, timeoutMs);
        return m_status;
    }

    /// Connects, upgrades (101 expected) and takes `welcome`. False on any other outcome.
    bool open(quint16 port, const QHostAddress &from = {})
    {
        return connectTo(port, from) && upgrade() == 101 && takeEvent("welcome").has_value();
    }

    int status() const { return m_status; }
    QByteArray responseHead() const { return m_head; }
    /// Answer every server ping with a pong carrying its payload (off: a client that ignores them).
    void setAutoPong(bool on) { m_autoPong = on; }
    int pingsReceived() const { return m_pings; }
    /// Server messages received with `opcode` (a fragmented one counts once), taken or not.
    int received(int opcode) const { return m_received.value(opcode); }

    void sendBytes(const QByteArray &bytes)
    {
        m_socket.write(bytes);
        m_socket.flush();
    }
    void sendFrame(quint8 firstByte, const QByteArray &payload, bool masked = true,
                   wire::Length form = wire::Length::Shortest)
    {
        sendBytes(wire::frame(firstByte, payload, masked, form));
    }
    /// One message of `opcode`, in as many frames as `fragments` (each written on its own).
    void sendMessage(quint8 opcode, const QList<QByteArray> &fragments)
    {
        for (qsizetype i = 0; i < fragments.size(); ++i) {
            const quint8 fin = i == fragments.size() - 1 ? wire::kFin : 0;
            sendFrame(fin | (i == 0 ? opcode : quint8(wire::Continuation)), fragments[i]);
        }
    }
    void sendText(const QByteArray &utf8) { sendFrame(wire::kFin | wire::Text, utf8); }
    void sendEvent(const QByteArray &event) { sendText("{\"event\":\"" + event + "\"}"); }
    void sendClose(int code, const QByteArray &reason = {})
    {
        sendFrame(wire::kFin | wire::Close,
                  code < 0 ? QByteArray() : wire::closeBody(code, reason));
    }
    /// Writes `bytes` one at a time, `gapMs` apart, the event loop running meanwhile.
    void trickle(const QByteArray &bytes, int gapMs)
    {
        for (const char byte : bytes) {
            sendBytes(QByteArray(1, byte));
            QTest::qWait(gapMs);
        }
    }

    /// Takes the first server message with `opcode` (others stay queued), waiting for it.
    std::optional<Frame> take(int opcode, int timeoutMs = kWaitMs)
    {
        return takeIf([opcode](const Frame &f) { return f.opcode == opcode; }, timeoutMs);
    }
    /// Takes the next server message, whatever it is.
    std::optional<Frame> next(int timeoutMs = kWaitMs)
    {
        return takeIf([](const Frame &) { return true; }, timeoutMs);
    }
    /// Takes the first text message whose `event` is `event`; returns its whole JSON object.
    std::optional<QJsonObject> takeEvent(const QString &event, int timeoutMs = kWaitMs)
    {
        const auto f = takeIf(
            [&event](const Frame &frame) {
                return frame.opcode == wire::Text &&
                       frame.json().value(QLatin1String("event")).toString() == event;
            },
            timeoutMs);
        return f ? std::optional<QJsonObject>(f->json()) : std::nullopt;
    }
    /// Takes an `error` event with `code`; returns its data.
    std::optional<QJsonObject> takeError(const QString &code, int timeoutMs = kWaitMs)
    {
        const auto f = takeIf(
            [&code](const Frame &frame) {
                const QJsonObject o = frame.json();
                return frame.opcode == wire::Text &&
                       o.value(QLatin1String("event")).toString() == QLatin1String("error") &&
                       o.value(QLatin1String("data"))
                               .toObject()
                               .value(QLatin1String("code"))
                               .toString() == code;
            },
            timeoutMs);
        return f ? std::optional<QJsonObject>(f->json().value(QLatin1String("data")).toObject())
                 : std::nullopt;
    }
    /// Server messages received and not taken yet.
    const QList<Frame> &pending() const { return m_frames; }

    /// True once the server ended the TCP connection (FIN or reset).
    bool ended() const { return m_ended; }
    bool waitEnded(int timeoutMs = kWaitMs)
    {
        return QTest::qWaitFor([this] { return m_ended; }, timeoutMs);
    }
    /// Nothing arrives for `ms`, and the connection stays up.
    bool quiet(int ms = 150)
    {
        QTest::qWait(ms);
        return m_frames.isEmpty() && !m_ended;
    }

    /// Empty when a close frame with `code` arrives and then the server ends TCP (within
    /// `endMs` after the close frame; when `answer`, after the client answered with the same
    /// close frame, as a browser does). Otherwise what happened instead.
    QString expectCloseThenEnd(int code, bool answer = true, int endMs = kWaitMs)
    {
        const std::optional<Frame> close = take(wire::Close);
        if (!close) {
            return QStringLiteral("no close frame%1; pending: %2")
                .arg(m_ended ? QStringLiteral(" (TCP ended)") : QString(), describePending());
        }
        if (close->closeCode() != code)
            return QStringLiteral("close code %1, expected %2").arg(close->closeCode()).arg(code);
        if (answer && !m_ended)
            sendClose(code);
        if (!waitEnded(endMs))
            return QStringLiteral("TCP not ended %1 ms after the close frame").arg(endMs);
        return {};
    }
    QString describePending() const
    {
        QStringList out;
        for (const Frame &f : m_frames)
            out << QStringLiteral("op %1: %2")
                       .arg(f.opcode)
                       .arg(QString::fromUtf8(f.payload.left(80)));
        return out.join(QLatin1String("; "));
    }

    QTcpSocket &socket() { return m_socket; }

private:
    template <typename Accept>
    std::optional<Frame> takeIf(const Accept &accept, int timeoutMs)
    {
        qsizetype index = -1;
        const auto find = [&] {
            for (qsizetype i = 0; i < m_frames.size(); ++i) {
                if (accept(m_frames[i])) {
                    index = i;
                    return true;
                }
            }
            return false;
        };
        if (!find() && !QTest::qWaitFor(find, timeoutMs))
            return std::nullopt;
        return m_frames.takeAt(index);
    }

    void onReadyRead()
    {
        m_buffer += m_socket.readAll();
        if (!m_headDone) {
            const qsizetype end = m_buffer.indexOf("\r\n\r\n");
            if (end < 0)
                return;
            m_head = m_buffer.left(end);
            m_buffer.remove(0, end + 4);
            m_headDone = true;
            m_status = m_head.split('\r').value(0).split(' ').value(1).toInt();
        }
        if (m_status != 101)
            return; // an HTTP body follows, not frames
        while (parseOne()) {
        }
    }

    /// Parses one frame off the buffer; false when it is not complete yet.
    bool parseOne()
    {
        std::optional<wire::Frame> f = wire::takeFrame(m_buffer);
        if (!f)
            return false;
        check(f->first, f->masked, f->payload);
        onFrame(f->first & 0x80, f->opcode(), f->payload);
        return true;
    }

    void check(quint8 b0, bool masked, const QByteArray &payload)
    {
        const int opcode = b0 & 0x0f;
        const bool control = opcode >= 0x8;
        if (masked)
            violations() << QStringLiteral("the server masked a frame");
        if (b0 & 0x70)
            violations() << QStringLiteral("the server set an RSV bit");
        if (!(opcode <= wire::Binary || opcode == wire::Close || opcode == wire::Ping ||
              opcode == wire::Pong))
            violations() << QStringLiteral("the server sent opcode %1").arg(opcode);
        if (control && (!(b0 & 0x80) || payload.size() > 125))
            violations() << QStringLiteral("a fragmented or long control frame from the server");
    }

    void onFrame(bool fin, int opcode, const QByteArray &payload)
    {
        if (opcode == wire::Ping) {
            ++m_pings;
            if (m_autoPong)
                sendFrame(wire::kFin | wire::Pong, payload);
        }
        if (opcode >= 0x8) { // control frames may come between fragments
            ++m_received[opcode];
            m_frames.append({opcode, payload});
            return;
        }
        if (opcode != wire::Continuation)
            m_message = {opcode, {}};
        m_message.payload += payload;
        if (!fin)
            return;
        if (m_message.opcode == wire::Text)
            checkText(m_message.payload);
        else
            violations() << QStringLiteral("a non-text message from the server");
        ++m_received[m_message.opcode];
        m_frames.append(m_message);
    }

    static void checkText(const QByteArray &utf8)
    {
        QStringDecoder decoder(QStringDecoder::Utf8);
        (void)QString(decoder(utf8));
        QJsonParseError error{};
        const QJsonDocument doc = QJsonDocument::fromJson(utf8, &error);
        if (decoder.hasError() || error.error != QJsonParseError::NoError || !doc.isObject())
            violations() << QStringLiteral("not one JSON object: ") + QString::fromUtf8(utf8);
    }

    QTcpSocket m_socket;
    QByteArray m_buffer;
    QByteArray m_head;
    bool m_headDone = false;
    bool m_ended = false;
    bool m_autoPong = false;
    int m_status = 0;
    int m_pings = 0;
    Frame m_message;
    QList<Frame> m_frames;
    QHash<int, int> m_received; ///< opcode: messages
};

} // namespace anonchat::test
