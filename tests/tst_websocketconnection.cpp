// WebSocketConnection, anonchat-server's own RFC 6455 transport, over a socketpair: the test plays
// the client with raw bytes on the other end (masked frames out, unmasked frames in) and checks
// the framing (7-, 16- and 64-bit lengths, frames split or batched), fragmentation, ping/pong,
// UTF-8 checking, the size limit, the protocol errors, the close handshake both ways, the single
// disconnected() event, backpressure, and the pure helpers (header parser, unmask, server frames,
// Sec-WebSocket-Accept). Only the descriptor constructor is tested (TLS goes through tst_tls).
#include "server/websocketconnection.h"
#include "tests/support/dispatcher.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QTest>

#include <array>
#include <cerrno>
#include <functional>
#include <limits>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

using namespace anonchat::server;

namespace {

constexpr int kTimeoutMs = 10000;
constexpr quint64 kLargeLimit = 16 * 1024 * 1024;

const QByteArray kHandshake =
    QByteArrayLiteral("HTTP/1.1 101 Switching Protocols\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                      "\r\n");

/// One client frame: `firstByte` is FIN|RSV|opcode; the length in its 7-, 16- or 64-bit form.
QByteArray clientFrame(quint8 firstByte, const QByteArray &payload, bool masked = true,
                       std::array<quint8, 4> mask = {1, 2, 3, 4})
{
    QByteArray out;
    out.append(char(firstByte));
    const quint8 maskBit = masked ? 0x80 : 0x00;
    const quint64 size = quint64(payload.size());
    if (size <= 125) {
        out.append(char(maskBit | size));
    } else if (size <= 0xffff) {
        out.append(char(maskBit | 126));
        out.append(char(size >> 8));
        out.append(char(size & 0xff));
    } else {
        out.append(char(maskBit | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.append(char((size >> shift) & 0xff));
    }
    if (!masked)
        return out + payload;
    for (const quint8 byte : mask)
        out.append(char(byte));
    const qsizetype start = out.size();
    out.append(payload);
    for (qsizetype i = 0; i < payload.size(); ++i)
        out[start + i] = char(quint8(payload[i]) ^ mask[size_t(i % 4)]);
    return out;
}

/// The body of a close frame: the code (big-endian) and the reason.
QByteArray closeBody(quint16 code, const QByteArray &reason = {})
{
    QByteArray body;
    body.append(char(code >> 8));
    body.append(char(code & 0xff));
    return body + reason;
}

/// `size` bytes of printable ASCII (valid UTF-8), varied so that a shifted byte shows.
QByteArray asciiPayload(qsizetype size)
{
    QByteArray payload(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        payload[i] = char('a' + (i * 7 + i / 26) % 26);
    return payload;
}

/// The number of descriptors the process has open.
qsizetype openDescriptors()
{
    return QDir(QStringLiteral("/proc/self/fd"))
        .entryList(QDir::AllEntries | QDir::System | QDir::NoDotAndDotDot)
        .size();
}

/// Runs the event loop once: the connection's notifiers, timers and posted calls.
void pump()
{
    QCoreApplication::processEvents(QEventLoop::AllEvents);
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}

/// One frame as the server wrote it.
struct ServerFrame {
    quint8 first = 0; ///< FIN|RSV|opcode
    bool masked = false;
    int headerBytes = 0;
    QByteArray payload;

    int closeCode() const
    {
        return payload.size() >= 2 ? (quint8(payload[0]) << 8) | quint8(payload[1]) : -1;
    }
};

/// The client's end of the socketpair: raw bytes; the event loop runs whenever it waits, so the
/// connection on the other end gets to read and write.
class Client
{
public:
    int fd = -1;
    QByteArray buffer;  ///< received and not consumed yet
    bool ended = false; ///< EOF (or a reset) seen

    ~Client() { close(); }

    void close()
    {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }

    /// Writes all of `data` (non-blocking, the event loop running while the socket is full).
    bool write(const QByteArray &data, int timeoutMs = kTimeoutMs)
    {
        QDeadlineTimer deadline(timeoutMs);
        qsizetype done = 0;
        while (done < data.size()) {
            const ssize_t n = ::send(fd, data.constData() + done, size_t(data.size() - done),
                                     MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                done += n;
                continue;
            }
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return false;
            if (deadline.hasExpired())
                return false;
            pump();
            pollFor(POLLOUT, 1);
        }
        pump();
        return true;
    }

    /// Reads what is there now; true when bytes came.
    bool receive()
    {
        if (ended || fd < 0)
            return false;
        char chunk[65536];
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n > 0) {
            buffer.append(chunk, n);
            return true;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            ended = true; // EOF, or ECONNRESET when the server closed with our bytes unread
        return false;
    }

    /// Waits until `buffer` holds `size` bytes; false on EOF or timeout.
    bool fill(qsizetype size, const QDeadlineTimer &deadline)
    {
        while (buffer.size() < size) {
            if (receive())
                continue;
            if (ended || deadline.hasExpired())
                return false;
            pump();
            pollFor(POLLIN, 1);
        }
        return true;
    }

    /// The next `size` raw bytes (fewer on EOF or timeout).
    QByteArray read(qsizetype size, int timeoutMs = kTimeoutMs)
    {
        fill(size, QDeadlineTimer(timeoutMs));
        const QByteArray out = buffer.left(size);
        buffer.remove(0, out.size());
        return out;
    }

    /// The next whole frame, or nothing on EOF or timeout.
    std::optional<ServerFrame> readFrame(int timeoutMs = kTimeoutMs)
    {
        const QDeadlineTimer deadline(timeoutMs);
        if (!fill(2, deadline))
            return std::nullopt;
        const quint8 second = quint8(buffer[1]);
        quint64 length = second & 0x7f;
        int header = length == 126 ? 4 : length == 127 ? 10 : 2;
        const bool masked = second & 0x80;
        if (masked)
            header += 4;
        if (!fill(header, deadline))
            return std::nullopt;
        if (length >= 126) {
            const int end = length == 126 ? 4 : 10; // 126: bytes 2-3, 127: bytes 2-9
            length = 0;
            for (int i = 2; i < end; ++i)
                length = (length << 8) | quint8(buffer[i]);
        }
        if (length > 64 * 1024 * 1024 || !fill(header + qsizetype(length), deadline))
            return std::nullopt;
        ServerFrame frame;
        frame.first = quint8(buffer[0]);
        frame.masked = masked;
        frame.headerBytes = header;
        frame.payload = buffer.mid(header, qsizetype(length));
        if (masked) {
            for (qsizetype i = 0; i < frame.payload.size(); ++i)
                frame.payload[i] = char(frame.payload[i] ^ buffer[header - 4 + i % 4]);
        }
        buffer.remove(0, header + qsizetype(length));
        return frame;
    }

    /// True when the stream ends with nothing (more) in it.
    bool waitEnd(int timeoutMs = kTimeoutMs)
    {
        const QDeadlineTimer deadline(timeoutMs);
        while (!ended && buffer.isEmpty() && !deadline.hasExpired()) {
            if (!receive()) {
                pump();
                pollFor(POLLIN, 1);
            }
        }
        return ended && buffer.isEmpty();
    }

    /// True when nothing arrives (no byte, no EOF) within `ms`.
    bool quiet(int ms = 50)
    {
        QElapsedTimer clock;
        clock.start();
        while (clock.elapsed() < ms) {
            receive();
            pump();
            pollFor(POLLIN, 1);
        }
        receive();
        return buffer.isEmpty() && !ended;
    }

private:
    void pollFor(short events, int ms) const
    {
        pollfd p{fd, events, 0};
        ::poll(&p, 1, ms);
    }
};

/// Records the connection's events.
class Recorder final : public WebSocketConnection::Handler
{
public:
    QList<QByteArray> texts;
    int binaries = 0;
    int pongs = 0;
    int disconnects = 0;
    bool insideCall = false;       ///< set by the test around calls made on the connection
    int disconnectsInsideCall = 0; ///< must stay 0
    WebSocketConnection *lastSeen = nullptr;
    std::function<void(WebSocketConnection *)> onDisconnected;
    bool keepPlainCopies = false; ///< also keep `utf8` as a plain QByteArray copy
    QList<QByteArray> plainCopies;

    void textReceived(WebSocketConnection *connection, const QByteArray &utf8) override
    {
        lastSeen = connection;
        // A deep copy: these tests do not depend on how long the bytes behind `utf8` live
        // (textCopyOutlivesCallback checks that on its own).
        texts.append(QByteArray(utf8.constData(), utf8.size()));
        if (keepPlainCopies)
            plainCopies.append(utf8);
    }
    void binaryReceived(WebSocketConnection *connection) override
    {
        lastSeen = connection;
        ++binaries;
    }
    void pongReceived(WebSocketConnection *connection) override
    {
        lastSeen = connection;
        ++pongs;
    }
    void disconnected(WebSocketConnection *connection) override
    {
        lastSeen = connection;
        ++disconnects;
        if (insideCall)
            ++disconnectsInsideCall;
        if (onDisconnected)
            onDisconnected(connection);
    }
};

/// A socketpair, the connection on fds[0] and the client on fds[1]; everything closed and
/// deleted at the end.
class Fixture
{
public:
    Recorder handler;
    Client client;
    WebSocketConnection *connection = nullptr;

    Fixture()
    {
        int fds[2] = {-1, -1};
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
            qFatal("socketpair failed");
        m_serverFd = fds[0];
        client.fd = fds[1];
    }
    ~Fixture()
    {
        delete connection;
        if (m_serverFd >= 0)
            ::close(m_serverFd);
    }
    Fixture(const Fixture &) = delete;
    Fixture &operator=(const Fixture &) = delete;

    /// Creates the connection (it takes the descriptor); true when the client then reads exactly
    /// the handshake first.
    bool start(quint64 maxMessageBytes = kLargeLimit, const QByteArray &unread = {})
    {
        handler.insideCall = true;
        connection = new WebSocketConnection(std::exchange(m_serverFd, -1), kHandshake, unread,
                                             &handler, maxMessageBytes);
        handler.insideCall = false;
        return client.read(kHandshake.size()) == kHandshake;
    }

    /// The handler deletes the connection from disconnected() (allowed by the contract).
    void deleteOnDisconnect()
    {
        handler.onDisconnected = [this](WebSocketConnection *c) {
            if (c == connection)
                connection = nullptr;
            delete c;
        };
    }

    /// Sends a message as one frame (one fragment) or fragmented (several).
    bool sendText(const QList<QByteArray> &fragments)
    {
        QByteArray bytes;
        for (qsizetype i = 0; i < fragments.size(); ++i) {
            const bool last = i == fragments.size() - 1;
            const quint8 opcode = i == 0 ? 0x1 : 0x0;
            bytes += clientFrame(quint8((last ? 0x80 : 0x00) | opcode), fragments[i]);
        }
        return client.write(bytes);
    }

private:
    int m_serverFd = -1;
};

/// Empty when the client reads a close frame with `code` (any, when -2; none, when -1) and then
/// the end of the stream; otherwise what happened instead.
QString expectCloseThenEnd(Client &client, int code)
{
    const std::optional<ServerFrame> frame = client.readFrame();
    if (!frame) {
        return QStringLiteral("no close frame; received %1%2")
            .arg(QString::fromLatin1(client.buffer.toHex(' ')),
                 client.ended ? QStringLiteral(", then EOF") : QStringLiteral(", timeout"));
    }
    if (frame->first != 0x88)
        return QStringLiteral("frame 0x%1 instead of a close frame").arg(int(frame->first), 0, 16);
    if (frame->masked)
        return QStringLiteral("the server's close frame is masked");
    if (code != -2 && frame->closeCode() != code)
        return QStringLiteral("close code %1, expected %2").arg(frame->closeCode()).arg(code);
    if (!client.waitEnd()) {
        return QStringLiteral("no EOF after the close frame; received %1")
            .arg(QString::fromLatin1(client.buffer.left(64).toHex(' ')));
    }
    return {};
}

} // namespace

class TestWebSocketConnection : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    // the pure helpers
    void acceptKey();
    void parseNeedMore_data();
    void parseNeedMore();
    void parseLengthForms_data();
    void parseLengthForms();
    void parseLimit();
    void parseProtocolErrors_data();
    void parseProtocolErrors();
    void unmaskWithOffset();
    void serverFrameHeaders_data();
    void serverFrameHeaders();
    // handshake and unread bytes
    void handshakeFirst();
    void unreadCompleteFrame();
    void unreadPartialFrame();
    void unreadProtocolError();
    // receiving
    void textMessage();
    void textCopyOutlivesCallback();
    void textLengthForms_data();
    void textLengthForms();
    void oneByteAtATime();
    void severalFramesInOneWrite();
    void incompleteSince();
    void fragmentedText();
    void pingBetweenFragments();
    void fragmentedBinary();
    void validUtf8_data();
    void validUtf8();
    void invalidUtf8_data();
    void invalidUtf8();
    void binaryMessage();
    void pingAnswered_data();
    void pingAnswered();
    void pongCounted();
    void messageThenEof();
    // sending
    void sendTextFrames_data();
    void sendTextFrames();
    void sendTextWaitsForFlush();
    void sendPing();
    void backpressure();
    // errors and limits
    void protocolErrors_data();
    void protocolErrors();
    void tooBigHeader_data();
    void tooBigHeader();
    void tooBigFragments();
    void limitExactlyAllowed();
    // closing
    void clientCloses_data();
    void clientCloses();
    void serverCloses();
    void serverCloseTimesOut();
    void clientEof_data();
    void clientEof();
    void abortReportsFromEventLoop();
    void callsAfterDisconnect_data();
    void callsAfterDisconnect();
    void deleteInDisconnected_data();
    void deleteInDisconnected();
    void detachStopsEvents();
    void destructorClosesDescriptor();

private:
    qsizetype m_descriptors = 0;
};

// Every test leaves as many descriptors open as it found: the connection closes the one it took.
void TestWebSocketConnection::init()
{
    m_descriptors = openDescriptors();
}

void TestWebSocketConnection::cleanup()
{
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    QCOMPARE(openDescriptors(), m_descriptors);
}

// --- the pure helpers -------------------------------------------------------------------------

// The example of RFC 6455 section 1.3.
void TestWebSocketConnection::acceptKey()
{
    QCOMPARE(webSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="),
             QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
}

// A head cut anywhere before its last mask byte is NeedMore, never Ok or an error.
void TestWebSocketConnection::parseNeedMore_data()
{
    QTest::addColumn<QByteArray>("full");
    QTest::newRow("7-bit") << clientFrame(0x81, "hello").left(6);
    QTest::newRow("16-bit") << clientFrame(0x81, asciiPayload(200)).left(8);
    QTest::newRow("64-bit") << clientFrame(0x82, QByteArray(70000, 'x')).left(14);
}

void TestWebSocketConnection::parseNeedMore()
{
    QFETCH(QByteArray, full);
    for (qsizetype size = 0; size < full.size(); ++size) {
        WsFrameHeader header;
        QVERIFY2(parseClientFrameHeader(QByteArrayView(full).first(size), kLargeLimit, header) ==
                     WsParse::NeedMore,
                 qPrintable(QStringLiteral("%1 of %2 bytes").arg(size).arg(full.size())));
    }
    WsFrameHeader header;
    QVERIFY(parseClientFrameHeader(full, kLargeLimit, header) == WsParse::Ok);
}

// The three length forms: the head's size, the length, FIN, the opcode and the mask key; the
// payload need not be there yet.
void TestWebSocketConnection::parseLengthForms_data()
{
    QTest::addColumn<QByteArray>("head");
    QTest::addColumn<int>("headerBytes");
    QTest::addColumn<quint64>("length");
    QTest::addColumn<bool>("fin");
    QTest::addColumn<int>("opcode");
    // RFC 6455 5.7: a masked "Hello".
    QTest::newRow("rfc example") << QByteArray::fromHex("818537fa213d7f9f4d5158") << 6 << quint64(5)
                                 << true << int(WsOpcode::Text);
    QTest::newRow("7-bit, no payload yet")
        << QByteArray::fromHex("01fd0a0b0c0d") << 6 << quint64(125) << false << int(WsOpcode::Text);
    QTest::newRow("empty close") << QByteArray::fromHex("88800a0b0c0d") << 6 << quint64(0) << true
                                 << int(WsOpcode::Close);
    QTest::newRow("ping 125") << QByteArray::fromHex("89fd0a0b0c0d") << 6 << quint64(125) << true
                              << int(WsOpcode::Ping);
    QTest::newRow("pong") << QByteArray::fromHex("8a810a0b0c0d") << 6 << quint64(1) << true
                          << int(WsOpcode::Pong);
    QTest::newRow("16-bit 126") << QByteArray::fromHex("82fe007e0a0b0c0d") << 8 << quint64(126)
                                << true << int(WsOpcode::Binary);
    QTest::newRow("16-bit 65535") << QByteArray::fromHex("00feffff0a0b0c0d") << 8 << quint64(65535)
                                  << false << int(WsOpcode::Continuation);
    QTest::newRow("64-bit 65536") << QByteArray::fromHex("82ff00000000000100000a0b0c0d") << 14
                                  << quint64(65536) << true << int(WsOpcode::Binary);
    QTest::newRow("64-bit large") << QByteArray::fromHex("80ff00000001020304050a0b0c0d") << 14
                                  << quint64(0x0102030405) << true << int(WsOpcode::Continuation);
}

void TestWebSocketConnection::parseLengthForms()
{
    QFETCH(QByteArray, head);
    QFETCH(int, headerBytes);
    QFETCH(quint64, length);
    QFETCH(bool, fin);
    QFETCH(int, opcode);
    WsFrameHeader header;
    QCOMPARE(parseClientFrameHeader(head, std::numeric_limits<quint64>::max(), header),
             WsParse::Ok);
    QCOMPARE(header.headerBytes, headerBytes);
    QCOMPARE(header.length, length);
    QCOMPARE(header.fin, fin);
    QCOMPARE(int(header.opcode), opcode);
    for (int i = 0; i < 4; ++i)
        QCOMPARE(header.mask[i], quint8(head[headerBytes - 4 + i]));
    // Payload bytes after the head change nothing.
    WsFrameHeader again;
    QCOMPARE(parseClientFrameHeader(head + "abc", std::numeric_limits<quint64>::max(), again),
             WsParse::Ok);
    QCOMPARE(again.headerBytes, headerBytes);
    QCOMPARE(again.length, length);
}

// Over the limit is TooBig (known from the head alone); at the limit is Ok; a 64-bit length with
// its top bit set is a protocol error (RFC 6455 5.2), whatever the limit.
void TestWebSocketConnection::parseLimit()
{
    WsFrameHeader header;
    QCOMPARE(parseClientFrameHeader(clientFrame(0x81, asciiPayload(1000)), 1000, header),
             WsParse::Ok);
    QCOMPARE(header.length, quint64(1000));
    QCOMPARE(parseClientFrameHeader(clientFrame(0x81, asciiPayload(1001)).left(8), 1000, header),
             WsParse::TooBig);
    QCOMPARE(parseClientFrameHeader(clientFrame(0x81, asciiPayload(101)).left(6), 100, header),
             WsParse::TooBig);
    QCOMPARE(parseClientFrameHeader(QByteArray::fromHex("82ff00000100000000000a0b0c0d"), 1 << 20,
                                    header),
             WsParse::TooBig);
    QCOMPARE(parseClientFrameHeader(QByteArray::fromHex("82ff80000000000000010a0b0c0d"),
                                    std::numeric_limits<quint64>::max(), header),
             WsParse::ProtocolError);
}

// Every rule of a client frame's head (RFC 6455 5.1, 5.2, 5.5).
void TestWebSocketConnection::parseProtocolErrors_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("unmasked") << clientFrame(0x81, "hello", false);
    QTest::newRow("unmasked empty") << clientFrame(0x81, "", false);
    QTest::newRow("rsv1") << clientFrame(0xc1, "hello");
    QTest::newRow("rsv2") << clientFrame(0xa1, "hello");
    QTest::newRow("rsv3") << clientFrame(0x91, "hello");
    for (int opcode : {0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
        QTest::addRow("opcode 0x%x", opcode) << clientFrame(quint8(0x80 | opcode), "x");
    }
    QTest::newRow("ping without fin") << clientFrame(0x09, "x");
    QTest::newRow("pong without fin") << clientFrame(0x0a, "x");
    QTest::newRow("close without fin") << clientFrame(0x08, closeBody(1000));
    QTest::newRow("ping 126 bytes") << clientFrame(0x89, QByteArray(126, 'p'));
    QTest::newRow("close 126 bytes") << clientFrame(0x88, closeBody(1000, QByteArray(124, 'r')));
    QTest::newRow("64-bit top bit") << QByteArray::fromHex("82ff80000000000000010a0b0c0d");
}

void TestWebSocketConnection::parseProtocolErrors()
{
    QFETCH(QByteArray, bytes);
    WsFrameHeader header;
    QCOMPARE(parseClientFrameHeader(bytes, std::numeric_limits<quint64>::max(), header),
             WsParse::ProtocolError);
}

// Unmasking a payload in pieces, each with its offset in the payload, gives what unmasking it
// whole gives (which is byte i XOR mask[i % 4]); any alignment, any split.
void TestWebSocketConnection::unmaskWithOffset()
{
    const quint8 mask[4] = {0x9a, 0x1b, 0x00, 0xff};
    QRandomGenerator random(42);
    QByteArray data(1037, Qt::Uninitialized);
    for (char &c : data)
        c = char(random.bounded(256));
    QByteArray expected = data;
    for (qsizetype i = 0; i < expected.size(); ++i)
        expected[i] = char(quint8(expected[i]) ^ mask[i % 4]);

    QByteArray whole = data;
    unmask(whole.data(), whole.size(), mask);
    QCOMPARE(whole, expected);
    unmask(whole.data(), whole.size(), mask); // masking is its own inverse
    QCOMPARE(whole, data);

    for (const qsizetype first : {0, 1, 2, 3, 4, 5, 7, 13, 64, 511, 1036, 1037}) {
        for (const qsizetype second : {0, 1, 3, 8, 17, 100}) {
            const qsizetype cut1 = first;
            const qsizetype cut2 = qMin(data.size(), first + second);
            QByteArray pieces = data;
            unmask(pieces.data(), cut1, mask, 0);
            unmask(pieces.data() + cut1, cut2 - cut1, mask, quint64(cut1));
            unmask(pieces.data() + cut2, pieces.size() - cut2, mask, quint64(cut2));
            QVERIFY2(pieces == expected,
                     qPrintable(QStringLiteral("cuts at %1 and %2").arg(cut1).arg(cut2)));
        }
    }
    // An offset past 2^32 (a long message) keeps its phase.
    QByteArray far = data.left(9);
    unmask(far.data(), far.size(), mask, (quint64(1) << 33) + 2);
    for (qsizetype i = 0; i < far.size(); ++i)
        QCOMPARE(quint8(far[i]), quint8(quint8(data[i]) ^ mask[(i + 2) % 4]));
}

// Server frames: unmasked, FIN set, the shortest length form; appended to what `out` holds.
void TestWebSocketConnection::serverFrameHeaders_data()
{
    QTest::addColumn<int>("opcode");
    QTest::addColumn<int>("size");
    QTest::addColumn<QByteArray>("head");
    QTest::newRow("text 0") << int(WsOpcode::Text) << 0 << QByteArray::fromHex("8100");
    QTest::newRow("text 5") << int(WsOpcode::Text) << 5 << QByteArray::fromHex("8105");
    QTest::newRow("text 125") << int(WsOpcode::Text) << 125 << QByteArray::fromHex("817d");
    QTest::newRow("text 126") << int(WsOpcode::Text) << 126 << QByteArray::fromHex("817e007e");
    QTest::newRow("binary 65535") << int(WsOpcode::Binary) << 65535
                                  << QByteArray::fromHex("827effff");
    QTest::newRow("text 65536") << int(WsOpcode::Text) << 65536
                                << QByteArray::fromHex("817f0000000000010000");
    QTest::newRow("text 70000") << int(WsOpcode::Text) << 70000
                                << QByteArray::fromHex("817f0000000000011170");
    QTest::newRow("close") << int(WsOpcode::Close) << 2 << QByteArray::fromHex("8802");
    QTest::newRow("ping") << int(WsOpcode::Ping) << 3 << QByteArray::fromHex("8903");
    QTest::newRow("pong") << int(WsOpcode::Pong) << 0 << QByteArray::fromHex("8a00");
}

void TestWebSocketConnection::serverFrameHeaders()
{
    QFETCH(int, opcode);
    QFETCH(int, size);
    QFETCH(QByteArray, head);
    const QByteArray payload = asciiPayload(size);
    QByteArray out("xy");
    appendServerFrame(out, WsOpcode(opcode), payload);
    QCOMPARE(out.size(), 2 + head.size() + size);
    QCOMPARE(out.left(2), QByteArray("xy"));
    QCOMPARE(out.mid(2, head.size()).toHex(), head.toHex());
    QVERIFY(out.mid(2 + head.size()) == payload);
}

// --- handshake and unread bytes ---------------------------------------------------------------

// The 101 response is the first thing the client reads, and nothing follows it by itself.
void TestWebSocketConnection::handshakeFirst()
{
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.connection->isOpen());
    QCOMPARE(f.connection->incompleteSinceMs(), qint64(-1));
    QVERIFY(f.client.quiet(100));
    QCOMPARE(f.connection->bytesToWrite(), qint64(0));
    QCOMPARE(f.handler.disconnects, 0);
}

// A frame the client sent together with its request head (passed as `unread`) is a message, even
// if nothing else ever comes on the socket.
void TestWebSocketConnection::unreadCompleteFrame()
{
    Fixture f;
    QVERIFY(f.start(kLargeLimit, clientFrame(0x81, "early") + clientFrame(0x81, "bird")));
    QTRY_COMPARE(f.handler.texts, QList<QByteArray>({"early", "bird"}));
    QCOMPARE(f.handler.lastSeen, f.connection);
    QVERIFY(f.connection->isOpen());
    QCOMPARE(f.connection->incompleteSinceMs(), qint64(-1));
}

// `unread` ending in the middle of a frame: the rest comes on the socket and completes it.
void TestWebSocketConnection::unreadPartialFrame()
{
    Fixture f;
    const QByteArray later = clientFrame(0x81, asciiPayload(300));
    QVERIFY(f.start(kLargeLimit, clientFrame(0x81, "early") + later.left(3)));
    QTRY_COMPARE(f.handler.texts, QList<QByteArray>({"early"}));
    QVERIFY(f.connection->incompleteSinceMs() >= 0);
    QVERIFY(f.client.write(later.mid(3)));
    QTRY_COMPARE(f.handler.texts.size(), 2);
    QCOMPARE(f.handler.texts[1], asciiPayload(300));
    QCOMPARE(f.connection->incompleteSinceMs(), qint64(-1));
}

// A protocol error in `unread`: the handshake, then close 1002, then EOF; disconnected() comes
// from the event loop, not from inside the constructor.
void TestWebSocketConnection::unreadProtocolError()
{
    Fixture f;
    QVERIFY(f.start(kLargeLimit, clientFrame(0x81, "bare", false)));
    QCOMPARE(f.handler.disconnectsInsideCall, 0);
    const QString error = expectCloseThenEnd(f.client, WsCloseProtocolError);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QTRY_COMPARE(f.handler.disconnects, 1);
    QVERIFY(f.handler.texts.isEmpty());
}

// --- receiving ---------------------------------------------------------------------------------

// RFC 6455 5.7's masked "Hello" byte for byte, then one with clientFrame(): each arrives once,
// with the connection as argument; the server writes nothing back.
void TestWebSocketConnection::textMessage()
{
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.client.write(QByteArray::fromHex("818537fa213d7f9f4d5158")));
    QTRY_COMPARE(f.handler.texts, QList<QByteArray>({"Hello"}));
    QVERIFY(f.client.write(clientFrame(0x81, "hello")));
    QTRY_COMPARE(f.handler.texts, QList<QByteArray>({"Hello", "hello"}));
    QCOMPARE(f.handler.lastSeen, f.connection);
    QVERIFY(f.client.quiet(100));
    QCOMPARE(f.handler.texts.size(), 2);
    QCOMPARE(f.handler.binaries, 0);
    QCOMPARE(f.handler.disconnects, 0);
    QVERIFY(f.connection->isOpen());
}

// `utf8` is a QByteArray: a handler that keeps a copy of it (value semantics, nothing in the
// contract says otherwise) still has the message after the call, when more data has come in.
// (Small frames, each complete in one read, so that a copy sharing the connection's read buffer
// reads stale bytes rather than freed memory.)
void TestWebSocketConnection::textCopyOutlivesCallback()
{
    Fixture f;
    QVERIFY(f.start());
    f.handler.keepPlainCopies = true;
    QVERIFY(f.client.write(clientFrame(0x81, "first message")));
    QTRY_COMPARE(f.handler.texts.size(), 1);
    QVERIFY(f.client.write(clientFrame(0x81, "other bytes!!", true, {9, 8, 7, 6})));
    QTRY_COMPARE(f.handler.texts.size(), 2);
    QCOMPARE(f.handler.plainCopies.size(), 2);
    QCOMPARE(f.handler.plainCopies[0], QByteArray("first message"));
    QCOMPARE(f.handler.plainCopies[1], QByteArray("other bytes!!"));
}

// Payloads at the edges of the 7-, 16- and 64-bit length forms arrive intact.
void TestWebSocketConnection::textLengthForms_data()
{
    QTest::addColumn<int>("size");
    for (int size : {0, 1, 125, 126, 127, 65535, 65536, 200000})
        QTest::addRow("%d", size) << size;
}

void TestWebSocketConnection::textLengthForms()
{
    QFETCH(int, size);
    Fixture f;
    QVERIFY(f.start());
    const QByteArray payload = asciiPayload(size);
    QVERIFY(f.client.write(clientFrame(0x81, payload, true, {0xde, 0xad, 0xbe, 0xef})));
    QTRY_COMPARE_WITH_TIMEOUT(f.handler.texts.size(), 1, kTimeoutMs);
    QCOMPARE(f.handler.texts.first().size(), qsizetype(size));
    QVERIFY(f.handler.texts.first() == payload);
    QCOMPARE(f.connection->incompleteSinceMs(), qint64(-1));
    QVERIFY(f.connection->isOpen());
}

// A frame trickling in one byte per read (head included) is delivered once, whole, and only when
// its last byte is there.
void TestWebSocketConnection::oneByteAtATime()
{
    Fixture f;
    QVERIFY(f.start());
    const QByteArray payload = asciiPayload(300); // 16-bit length form
    const QByteArray frame = clientFrame(0x81, payload, true, {0x80, 0x7f, 0x00, 0xff});
    for (qsizetype i = 0; i < frame.size() - 1; ++i) {
        QVERIFY(f.client.write(frame.mid(i, 1)));
        pump();
    }
    QTest::qWait(50);
    QVERIFY(f.handler.texts.isEmpty());
    QVERIFY(f.connection->incompleteSinceMs() >= 0);
    QVERIFY(f.client.write(frame.right(1)));
    QTRY_COMPARE(f.handler.texts.size(), 1);
    QVERIFY(f.handler.texts.first() == payload);
    QTest::qWait(50);
    QCOMPARE(f.handler.texts.size(), 1);
    QCOMPARE(f.connection->incompleteSinceMs(), qint64(-1));
}

// Frames that arrive in one read are all delivered, in order.
void TestWebSocketConnection::severalFramesInOneWrite()
{
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.client.write(clientFrame(0x81, "first") + clientFrame(0x82, "\x01\x02") +
                           clientFrame(0x81, asciiPayload(1000)) + clientFrame(0x81, "third")));
    QTRY_COMPARE(f.handler.texts.size(), 3);
    QCOMPARE(f.handler.texts[0], QByteArray("first"));
    QVERIFY(f.handler.texts[1] == asciiPayload(1000));
    QCOMPARE(f.handler.texts[2], QByteArray("third"));
    QCOMPARE(f.handler.binaries, 1);
}

// incompleteSinceMs(): -1 with nothing pending; from the arrival of a frame's first byte (on
// QDeadlineTimer's clock) while the frame is incomplete, not moved on by more of the same frame;
// -1 once it is complete.
void TestWebSocketConnection::incompleteSince()
{
    Fixture f;
    QVERIFY(f.start());
    QCOMPARE(f.connection->incompleteSinceMs(), qint64(-1));
    const QByteArray frame = clientFrame(0x81, asciiPayload(1000));

    const qint64 before = QDeadlineTimer::current().deadline();
    QVERIFY(f.client.write(frame.left(1)));
    QTRY_VERIFY(f.connection->incompleteSinceMs() >= 0);
    const qint64 since = f.connection->incompleteSinceMs();
    QVERIFY2(since >= before && since <= QDeadlineTimer::current().deadline(),
             qPrintable(QStringLiteral("since %1, before %2").arg(since).arg(before)));

    QTest::qWait(30);
    QVERIFY(f.client.write(frame.mid(1, 500))); // head complete, half of the payload
    QTest::qWait(30);
    QCOMPARE(f.connection->incompleteSinceMs(), since);
    QVERIFY(f.handler.texts.isEmpty());

    QVERIFY(f.client.write(frame.mid(501)));
    QTRY_COMPARE(f.handler.texts.size(), 1);
    QCOMPARE(f.connection->incompleteSinceMs(), qint64(-1));

    // A complete frame and the start of the next one in one read.
    QVERIFY(f.client.write(clientFrame(0x81, "whole") + clientFrame(0x81, "next").left(3)));
    QTRY_COMPARE(f.handler.texts.size(), 2);
    QTRY_VERIFY(f.connection->incompleteSinceMs() >= 0);
    QVERIFY(f.client.write(clientFrame(0x81, "next").mid(3)));
    QTRY_COMPARE(f.handler.texts.size(), 3);
    QCOMPARE(f.handler.texts[2], QByteArray("next"));
    QCOMPARE(f.connection->incompleteSinceMs(), qint64(-1));
}

// Text, continuation(s), continuation with FIN: one message, the fragments joined, delivered only
// at the end; an empty fragment is fine; the next message starts afresh.
void TestWebSocketConnection::fragmentedText()
{
    Fixture f;
    QVERIFY(f.start());
    const QList<QByteArray> frames = {clientFrame(0x01, "Hel"), clientFrame(0x00, "lo"),
                                      clientFrame(0x00, ""), clientFrame(0x00, " wor"),
                                      clientFrame(0x80, "ld")};
    for (qsizetype i = 0; i < frames.size(); ++i) {
        QVERIFY(f.client.write(frames[i]));
        if (i + 1 < frames.size()) {
            QTest::qWait(10);
            QVERIFY(f.handler.texts.isEmpty());
        }
    }
    QTRY_COMPARE(f.handler.texts, QList<QByteArray>({"Hello world"}));
    QVERIFY(f.client.write(clientFrame(0x81, "next")));
    QTRY_COMPARE(f.handler.texts, QList<QByteArray>({"Hello world", "next"}));
    // Fragments that arrive in one read.
    QVERIFY(f.client.write(clientFrame(0x01, asciiPayload(200)) + clientFrame(0x80, "!")));
    QTRY_COMPARE(f.handler.texts.size(), 3);
    QVERIFY(f.handler.texts[2] == asciiPayload(200) + "!");
    QVERIFY(f.connection->isOpen());
}

// A ping between fragments (RFC 6455 5.4: control frames may be injected) is answered with a pong
// carrying its payload, and the message is still delivered whole.
void TestWebSocketConnection::pingBetweenFragments()
{
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.client.write(clientFrame(0x01, "Hel")));
    QVERIFY(f.client.write(clientFrame(0x89, "abc")));
    const std::optional<ServerFrame> pong = f.client.readFrame();
    QVERIFY(pong);
    QCOMPARE(pong->first, quint8(0x8a));
    QVERIFY(!pong->masked);
    QCOMPARE(pong->payload, QByteArray("abc"));
    QVERIFY(f.client.write(clientFrame(0x8a, "unsolicited") + clientFrame(0x80, "lo")));
    QTRY_COMPARE(f.handler.texts, QList<QByteArray>({"Hello"}));
    QTRY_COMPARE(f.handler.pongs, 1);
    QVERIFY(f.connection->isOpen());
}

// A fragmented binary message is one binaryReceived(); a text message after it is not mixed up
// with it.
void TestWebSocketConnection::fragmentedBinary()
{
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.client.write(clientFrame(0x02, QByteArray("\x00\xff", 2)) +
                           clientFrame(0x00, "\x80") + clientFrame(0x80, "\xc3")));
    QTRY_COMPARE(f.handler.binaries, 1);
    QVERIFY(f.client.write(clientFrame(0x01, "a") + clientFrame(0x80, "b")));
    QTRY_COMPARE(f.handler.texts, QList<QByteArray>({"ab"}));
    QCOMPARE(f.handler.binaries, 1);
    QVERIFY(f.connection->isOpen());
}

// Valid multi-byte UTF-8 passes, also with a character split between fragments (the message is
// checked whole, RFC 6455 5.6).
void TestWebSocketConnection::validUtf8_data()
{
    QTest::addColumn<QList<QByteArray>>("fragments");
    QTest::newRow("cjk") << QList<QByteArray>{QStringLiteral("日本語のテキスト").toUtf8()};
    QTest::newRow("emoji") << QList<QByteArray>{QByteArray("smile \xf0\x9f\x98\x80 ok")};
    QTest::newRow("mixed") << QList<QByteArray>{QStringLiteral("Grüße € 中文 ✓").toUtf8()};
    QTest::newRow("max code point") << QList<QByteArray>{QByteArray("\xf4\x8f\xbf\xbf")};
    QTest::newRow("euro split 2+1") << QList<QByteArray>{"price \xe2\x82", "\xac"};
    QTest::newRow("emoji split 1+1+1+1") << QList<QByteArray>{"\xf0", "\x9f", "\x98", "\x80 end"};
}

void TestWebSocketConnection::validUtf8()
{
    QFETCH(QList<QByteArray>, fragments);
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.sendText(fragments));
    QTRY_COMPARE(f.handler.texts.size(), 1);
    QCOMPARE(f.handler.texts.first(), fragments.join());
    QVERIFY(QString::fromUtf8(f.handler.texts.first()).toUtf8() == fragments.join());
    QVERIFY(f.connection->isOpen());
    QVERIFY(f.client.quiet());
}

// Text that is not UTF-8 fails the connection with 1007 (RFC 6455 8.1) and is not delivered; the
// client's close frame in answer ends the connection.
void TestWebSocketConnection::invalidUtf8_data()
{
    QTest::addColumn<QList<QByteArray>>("fragments");
    QTest::newRow("c3 28") << QList<QByteArray>{"\xc3\x28"};
    QTest::newRow("overlong c0 af") << QList<QByteArray>{"\xc0\xaf"};
    QTest::newRow("overlong e0 80 af") << QList<QByteArray>{"\xe0\x80\xaf"};
    QTest::newRow("surrogate ed a0 80") << QList<QByteArray>{"\xed\xa0\x80"};
    QTest::newRow("above U+10FFFF") << QList<QByteArray>{"\xf4\x90\x80\x80"};
    QTest::newRow("ff") << QList<QByteArray>{"ok \xff"};
    QTest::newRow("truncated at the end") << QList<QByteArray>{"euro \xe2\x82"};
    QTest::newRow("invalid across fragments") << QList<QByteArray>{"ab\xc3", "\x28"};
    QTest::newRow("truncated at the last fragment") << QList<QByteArray>{"\xe2", "\x82"};
}

void TestWebSocketConnection::invalidUtf8()
{
    QFETCH(QList<QByteArray>, fragments);
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.sendText(fragments));
    const QString error = expectCloseThenEnd(f.client, WsCloseInvalidData);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(f.client.write(clientFrame(0x88, closeBody(1007)))); // the client's answer ends it
    QTRY_COMPARE(f.handler.disconnects, 1);
    QVERIFY(f.handler.texts.isEmpty());
    QVERIFY(!f.connection->isOpen());
}

// A binary message (not UTF-8, unchecked) is reported and the connection stays open.
void TestWebSocketConnection::binaryMessage()
{
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.client.write(clientFrame(0x82, QByteArray("\x00\xff\x80\xc0\xaf", 5))));
    QTRY_COMPARE(f.handler.binaries, 1);
    QCOMPARE(f.handler.lastSeen, f.connection);
    QVERIFY(f.client.write(clientFrame(0x82, QByteArray(70000, '\xfe'))));
    QTRY_COMPARE(f.handler.binaries, 2);
    QVERIFY(f.client.quiet(100));
    QVERIFY(f.connection->isOpen());
    QCOMPARE(f.handler.disconnects, 0);
    QVERIFY(f.client.write(clientFrame(0x81, "after")));
    QTRY_COMPARE(f.handler.texts, QList<QByteArray>({"after"}));
}

// A ping is answered with a pong carrying the same payload (RFC 6455 5.5.3); no event for it.
void TestWebSocketConnection::pingAnswered_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::newRow("abc") << QByteArray("abc");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("125 bytes") << asciiPayload(125);
    QTest::newRow("binary") << QByteArray("\x00\xff\x80", 3);
}

void TestWebSocketConnection::pingAnswered()
{
    QFETCH(QByteArray, payload);
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.client.write(clientFrame(0x89, payload, true, {0x11, 0x22, 0x33, 0x44})));
    const std::optional<ServerFrame> pong = f.client.readFrame();
    QVERIFY(pong);
    QCOMPARE(pong->first, quint8(0x8a));
    QVERIFY(!pong->masked);
    QCOMPARE(pong->headerBytes, 2);
    QCOMPARE(pong->payload, payload);
    QVERIFY(f.client.quiet());
    QCOMPARE(f.handler.pongs, 0);
    QVERIFY(f.handler.texts.isEmpty());
    QVERIFY(f.connection->isOpen());
}

// Each pong from the client (solicited or not, RFC 6455 5.5.3) is one pongReceived(); nothing is
// sent back.
void TestWebSocketConnection::pongCounted()
{
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.client.write(clientFrame(0x8a, "x")));
    QTRY_COMPARE(f.handler.pongs, 1);
    QVERIFY(f.client.write(clientFrame(0x8a, "") + clientFrame(0x8a, asciiPayload(125))));
    QTRY_COMPARE(f.handler.pongs, 3);
    QCOMPARE(f.handler.lastSeen, f.connection);
    QVERIFY(f.client.quiet());
    QVERIFY(f.connection->isOpen());
}

// A message followed at once by EOF: the message is delivered, then disconnected().
void TestWebSocketConnection::messageThenEof()
{
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.client.write(clientFrame(0x81, "last words")));
    f.client.close();
    QTRY_COMPARE(f.handler.disconnects, 1);
    QCOMPARE(f.handler.texts, QList<QByteArray>({"last words"}));
}

// --- sending -----------------------------------------------------------------------------------

// sendText() + flush(): the client reads one unmasked final text frame (0x81) with the exact
// payload, in the shortest length form, and nothing else.
void TestWebSocketConnection::sendTextFrames_data()
{
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("headerBytes");
    QTest::newRow("5") << 5 << 2;
    QTest::newRow("125") << 125 << 2;
    QTest::newRow("200") << 200 << 4;
    QTest::newRow("65535") << 65535 << 4;
    QTest::newRow("70000") << 70000 << 10;
}

void TestWebSocketConnection::sendTextFrames()
{
    QFETCH(int, size);
    QFETCH(int, headerBytes);
    Fixture f;
    QVERIFY(f.start());
    const QByteArray payload = asciiPayload(size);
    f.connection->sendText(payload);
    f.connection->flush();
    const std::optional<ServerFrame> frame = f.client.readFrame();
    QVERIFY(frame);
    QCOMPARE(frame->first, quint8(0x81));
    QVERIFY(!frame->masked);
    QCOMPARE(frame->headerBytes, headerBytes);
    QCOMPARE(frame->payload.size(), payload.size());
    QVERIFY(frame->payload == payload);
    QVERIFY(f.client.quiet());
    QCOMPARE(f.connection->bytesToWrite(), qint64(0));
}

// sendText() only queues (the owner batches a handler's frames into one write): nothing leaves
// until flush(), and then the messages go out in their order.
void TestWebSocketConnection::sendTextWaitsForFlush()
{
    Fixture f;
    QVERIFY(f.start());
    f.connection->sendText("one");
    f.connection->sendText(QStringLiteral("два").toUtf8());
    f.connection->sendText("");
    QVERIFY(f.client.quiet(200));
    QVERIFY(f.connection->bytesToWrite() > 0);
    f.connection->flush();
    for (const QByteArray &expected :
         {QByteArray("one"), QStringLiteral("два").toUtf8(), QByteArray()}) {
        const std::optional<ServerFrame> frame = f.client.readFrame(3000);
        QVERIFY(frame);
        QCOMPARE(frame->first, quint8(0x81));
        QCOMPARE(frame->payload, expected);
    }
    QCOMPARE(f.connection->bytesToWrite(), qint64(0));
}

// ping() sends a ping frame (0x89, at most 125 bytes); the client's pong to it is reported.
void TestWebSocketConnection::sendPing()
{
    Fixture f;
    QVERIFY(f.start());
    f.connection->ping();
    f.connection->flush();
    const std::optional<ServerFrame> ping = f.client.readFrame();
    QVERIFY(ping);
    QCOMPARE(ping->first, quint8(0x89));
    QVERIFY(!ping->masked);
    QVERIFY(ping->payload.size() <= 125);
    QVERIFY(f.client.write(clientFrame(0x8a, ping->payload)));
    QTRY_COMPARE(f.handler.pongs, 1);
    QVERIFY(f.connection->isOpen());
}

// A client that does not read: the queue grows (bytesToWrite() > 0 and stays so); once the
// client reads, the event loop (the write notifier, no flush()) empties it, every message intact
// and in order.
void TestWebSocketConnection::backpressure()
{
    Fixture f;
    QVERIFY(f.start());
    const auto message = [](int i) { return QByteArray(64 * 1024, char('a' + i % 26)); };
    int sent = 0;
    while (sent < 200) {
        f.connection->sendText(message(sent++));
        f.connection->flush();
        if (f.connection->bytesToWrite() > 0)
            break;
    }
    QVERIFY2(f.connection->bytesToWrite() > 0, "the socket took 12.5 MiB without being read");
    const qint64 queued = f.connection->bytesToWrite();
    QVERIFY(queued <= qint64(sent) * (64 * 1024 + 10));
    QTest::qWait(100);
    const qint64 stillQueued = f.connection->bytesToWrite();
    QVERIFY(stillQueued > 0);
    // Three more while it is full: queued behind the rest.
    for (int i = 0; i < 3; ++i)
        f.connection->sendText(message(sent++));
    QVERIFY(f.connection->bytesToWrite() > stillQueued);

    for (int i = 0; i < sent; ++i) {
        const std::optional<ServerFrame> frame = f.client.readFrame();
        QVERIFY2(frame, qPrintable(QStringLiteral("message %1 of %2").arg(i).arg(sent)));
        QCOMPARE(frame->first, quint8(0x81));
        QVERIFY2(frame->payload == message(i), qPrintable(QStringLiteral("message %1").arg(i)));
    }
    QTRY_COMPARE(f.connection->bytesToWrite(), qint64(0));
    QVERIFY(f.client.quiet());
    QVERIFY(f.connection->isOpen());
}

// --- errors and limits -------------------------------------------------------------------------

// Each protocol error fails the connection: close 1002, then EOF, disconnected() once (the client
// drops the connection after the close frame), no message.
void TestWebSocketConnection::protocolErrors_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("unmasked frame") << clientFrame(0x81, "hello", false);
    QTest::newRow("rsv1") << clientFrame(0xc1, "hello");
    QTest::newRow("rsv3") << clientFrame(0x91, "hello");
    QTest::newRow("opcode 0x3") << clientFrame(0x83, "hello");
    QTest::newRow("opcode 0xb") << clientFrame(0x8b, "hello");
    QTest::newRow("ping without fin") << clientFrame(0x09, "x");
    QTest::newRow("ping 126 bytes") << clientFrame(0x89, QByteArray(126, 'p'));
    QTest::newRow("continuation, no message") << clientFrame(0x80, "x");
    QTest::newRow("non-final continuation, no message") << clientFrame(0x00, "x");
    QTest::newRow("text during fragmented text") << clientFrame(0x01, "a") + clientFrame(0x81, "b");
    QTest::newRow("binary during fragmented text")
        << clientFrame(0x01, "a") + clientFrame(0x82, "b");
    QTest::newRow("64-bit length, top bit") << QByteArray::fromHex("82ff80000000000000010a0b0c0d");
}

void TestWebSocketConnection::protocolErrors()
{
    QFETCH(QByteArray, bytes);
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.client.write(bytes));
    const QString error = expectCloseThenEnd(f.client, WsCloseProtocolError);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(!f.connection->isOpen());
    f.client.close(); // as a browser does after the close frame (else the server's timer ends it)
    QTRY_COMPARE(f.handler.disconnects, 1);
    QCOMPARE(f.handler.lastSeen, f.connection);
    QVERIFY(f.handler.texts.isEmpty());
    QCOMPARE(f.handler.binaries, 0);
    QTest::qWait(50);
    QCOMPARE(f.handler.disconnects, 1);
}

// A head announcing more than maxMessageBytes: close 1009 at once, without waiting for the
// payload (which the client never sends).
void TestWebSocketConnection::tooBigHeader_data()
{
    QTest::addColumn<quint64>("limit");
    QTest::addColumn<QByteArray>("head");
    QTest::newRow("7-bit 101 > 100")
        << quint64(100) << clientFrame(0x81, asciiPayload(101)).left(6);
    QTest::newRow("16-bit 1001 > 1000")
        << quint64(1000) << clientFrame(0x81, asciiPayload(1001)).left(8);
    QTest::newRow("64-bit 2^40, binary")
        << quint64(1 << 20) << QByteArray::fromHex("82ff00000100000000000a0b0c0d");
    QTest::newRow("fragment") << quint64(1000) << clientFrame(0x01, asciiPayload(1001)).left(8);
}

void TestWebSocketConnection::tooBigHeader()
{
    QFETCH(quint64, limit);
    QFETCH(QByteArray, head);
    Fixture f;
    QVERIFY(f.start(limit));
    QVERIFY(f.client.write(head));
    const QString error = expectCloseThenEnd(f.client, WsCloseTooBig);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QTRY_COMPARE(f.handler.disconnects, 1);
    QVERIFY(f.handler.texts.isEmpty());
    QCOMPARE(f.handler.binaries, 0);
}

// Fragments each under the limit whose sum is over it: 1009; the refused payload is skipped, so
// the client's close frame after it is still read and ends the connection.
void TestWebSocketConnection::tooBigFragments()
{
    for (const quint8 opcode : {quint8(0x01), quint8(0x02)}) {
        Fixture f;
        QVERIFY(f.start(100));
        QVERIFY(f.client.write(clientFrame(opcode, asciiPayload(60))));
        QVERIFY(f.client.write(clientFrame(0x80, asciiPayload(60))));
        const QString error = expectCloseThenEnd(f.client, WsCloseTooBig);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        // The refused payload was sent: it is skipped and the client's close frame ends it.
        QVERIFY(f.client.write(clientFrame(0x88, closeBody(1009))));
        QTRY_COMPARE(f.handler.disconnects, 1);
        QVERIFY(f.handler.texts.isEmpty());
        QCOMPARE(f.handler.binaries, 0);
    }
}

// Exactly maxMessageBytes is allowed, in one frame or in fragments; one byte more is not.
void TestWebSocketConnection::limitExactlyAllowed()
{
    Fixture f;
    QVERIFY(f.start(100));
    QVERIFY(f.client.write(clientFrame(0x81, asciiPayload(100))));
    QTRY_COMPARE(f.handler.texts.size(), 1);
    QVERIFY(f.client.write(clientFrame(0x01, asciiPayload(50)) + clientFrame(0x00, "") +
                           clientFrame(0x80, asciiPayload(50))));
    QTRY_COMPARE(f.handler.texts.size(), 2);
    QVERIFY(f.handler.texts[1] == asciiPayload(50) + asciiPayload(50));
    QVERIFY(f.client.write(clientFrame(0x82, asciiPayload(100))));
    QTRY_COMPARE(f.handler.binaries, 1);
    QVERIFY(f.connection->isOpen());
    QVERIFY(f.client.write(clientFrame(0x01, asciiPayload(100)) + clientFrame(0x80, "x")));
    const QString error = expectCloseThenEnd(f.client, WsCloseTooBig);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QTRY_COMPARE(f.handler.disconnects, 1);
    QCOMPARE(f.handler.texts.size(), 2);
}

// --- closing -----------------------------------------------------------------------------------

// The client starts the close handshake: the server answers with a close frame (echoing 1000, or
// empty; never 1005) and then closes the TCP connection (RFC 6455 7.1.1); disconnected() once.
void TestWebSocketConnection::clientCloses_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("1000") << closeBody(1000);
    QTest::newRow("1000 with reason") << closeBody(1000, "done");
    QTest::newRow("1001") << closeBody(1001);
    QTest::newRow("empty") << QByteArray();
}

void TestWebSocketConnection::clientCloses()
{
    QFETCH(QByteArray, body);
    Fixture f;
    QVERIFY(f.start());
    QVERIFY(f.client.write(clientFrame(0x88, body)));
    const std::optional<ServerFrame> frame = f.client.readFrame();
    QVERIFY(frame);
    QCOMPARE(frame->first, quint8(0x88));
    QVERIFY(!frame->masked);
    const int code = frame->closeCode();
    if (body.isEmpty())
        QVERIFY2(code == -1 || code == 1000, qPrintable(QString::number(code)));
    else
        QVERIFY2(code == -1 || code == (quint8(body[0]) << 8 | quint8(body[1])),
                 qPrintable(QString::number(code)));
    QVERIFY2(f.client.waitEnd(), qPrintable(f.client.buffer.toHex(' ')));
    QTRY_COMPARE(f.handler.disconnects, 1);
    QVERIFY(!f.connection->isOpen());
    QTest::qWait(100);
    QCOMPARE(f.handler.disconnects, 1);
    QCOMPARE(f.handler.disconnectsInsideCall, 0);
}

// close(1001, "bye"): the client reads a close frame with that code and reason, then EOF (the
// server shut its side for writing; no message sent after the close frame), while the
// connection waits for the client's close frame; that one ends it at once (not at the timeout).
void TestWebSocketConnection::serverCloses()
{
    Fixture f;
    QVERIFY(f.start());
    f.handler.insideCall = true;
    f.connection->close(WsCloseGoingAway, QStringLiteral("bye"));
    QVERIFY(!f.connection->isOpen());
    f.connection->sendText("late"); // RFC 6455 5.5.1: no data frames after the close frame
    f.connection->flush();
    f.handler.insideCall = false;
    const std::optional<ServerFrame> frame = f.client.readFrame();
    QVERIFY(frame);
    QCOMPARE(frame->first, quint8(0x88));
    QVERIFY(!frame->masked);
    QCOMPARE(frame->closeCode(), 1001);
    QCOMPARE(frame->payload.mid(2), QByteArray("bye"));
    QVERIFY2(f.client.waitEnd(), qPrintable(f.client.buffer.toHex(' ')));
    QCOMPARE(f.handler.disconnects, 0); // still waiting for the client's close frame

    QElapsedTimer clock;
    clock.start();
    QVERIFY(f.client.write(clientFrame(0x88, closeBody(1001))));
    QTRY_COMPARE(f.handler.disconnects, 1);
    QVERIFY2(clock.elapsed() < 1500, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(f.handler.disconnectsInsideCall, 0);
    QTest::qWait(100);
    QCOMPARE(f.handler.disconnects, 1);
}

// A client that never answers the close frame: disconnected() anyway, after about two seconds.
void TestWebSocketConnection::serverCloseTimesOut()
{
    Fixture f;
    QVERIFY(f.start());
    QElapsedTimer clock;
    clock.start();
    f.connection->close(WsCloseNormal);
    const QString error = expectCloseThenEnd(f.client, WsCloseNormal);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QTest::qWait(1000);
    QCOMPARE(f.handler.disconnects, 0);
    QTRY_COMPARE_WITH_TIMEOUT(f.handler.disconnects, 1, 5000);
    QVERIFY2(clock.elapsed() < 3000, qPrintable(QString::number(clock.elapsed())));
    QTest::qWait(100);
    QCOMPARE(f.handler.disconnects, 1);
}

// The client drops the TCP connection (close, half-close, or close with data unread, which
// resets it): disconnected() exactly once.
void TestWebSocketConnection::clientEof_data()
{
    QTest::addColumn<QString>("how");
    QTest::newRow("close") << QStringLiteral("close");
    QTest::newRow("shutdown write") << QStringLiteral("shutdown");
    QTest::newRow("close with data unread") << QStringLiteral("unread");
}

void TestWebSocketConnection::clientEof()
{
    QFETCH(QString, how);
    Fixture f;
    QVERIFY(f.start());
    if (how == QLatin1String("shutdown")) {
        QCOMPARE(::shutdown(f.client.fd, SHUT_WR), 0);
    } else {
        if (how == QLatin1String("unread")) {
            f.connection->sendText(asciiPayload(1000));
            f.connection->flush();
            QTest::qWait(20);
        }
        f.client.close();
    }
    QTRY_COMPARE(f.handler.disconnects, 1);
    QCOMPARE(f.handler.lastSeen, f.connection);
    QVERIFY(!f.connection->isOpen());
    QTest::qWait(100);
    QCOMPARE(f.handler.disconnects, 1);
    if (how == QLatin1String("shutdown")) // the server closed its end too
        QVERIFY(f.client.waitEnd());
}

// abort(): no close frame, EOF for the client, and disconnected() once, from the event loop (not
// inside abort()); a second abort() or a close() changes nothing.
void TestWebSocketConnection::abortReportsFromEventLoop()
{
    Fixture f;
    QVERIFY(f.start());
    f.handler.insideCall = true;
    f.connection->abort();
    f.handler.insideCall = false;
    QCOMPARE(f.handler.disconnects, 0);
    QVERIFY(!f.connection->isOpen());
    QTRY_COMPARE(f.handler.disconnects, 1);
    QCOMPARE(f.handler.disconnectsInsideCall, 0);
    QVERIFY2(f.client.waitEnd(), qPrintable(f.client.buffer.toHex(' ')));
    f.connection->abort();
    f.connection->close(WsCloseNormal);
    QTest::qWait(100);
    QCOMPARE(f.handler.disconnects, 1);
}

// After disconnected(), sending, pinging, flushing, closing and aborting do nothing: no crash, no
// queue, no second event.
void TestWebSocketConnection::callsAfterDisconnect_data()
{
    QTest::addColumn<QString>("how");
    QTest::newRow("eof") << QStringLiteral("eof");
    QTest::newRow("abort") << QStringLiteral("abort");
    QTest::newRow("protocol error") << QStringLiteral("error");
    QTest::newRow("close handshake") << QStringLiteral("close");
}

void TestWebSocketConnection::callsAfterDisconnect()
{
    QFETCH(QString, how);
    Fixture f;
    QVERIFY(f.start());
    if (how == QLatin1String("eof"))
        f.client.close();
    else if (how == QLatin1String("abort"))
        f.connection->abort();
    else if (how == QLatin1String("error"))
        QVERIFY(f.client.write(clientFrame(0x83, "x")));
    else
        QVERIFY(f.client.write(clientFrame(0x88, closeBody(1000))));
    QTRY_COMPARE(f.handler.disconnects, 1);

    f.handler.insideCall = true;
    f.connection->sendText("ignored");
    f.connection->ping();
    f.connection->flush();
    f.connection->close(WsCloseNormal, QStringLiteral("again"));
    f.connection->flush();
    f.connection->abort();
    f.handler.insideCall = false;
    QCOMPARE(f.connection->bytesToWrite(), qint64(0));
    QVERIFY(!f.connection->isOpen());
    QTest::qWait(100);
    QCOMPARE(f.handler.disconnects, 1);
    QCOMPARE(f.handler.disconnectsInsideCall, 0);
    QVERIFY(f.handler.texts.isEmpty());
}

// The handler may delete the connection from disconnected(), whatever ended it (ASan checks
// that nothing touches it afterwards).
void TestWebSocketConnection::deleteInDisconnected_data()
{
    callsAfterDisconnect_data();
    QTest::newRow("close timeout") << QStringLiteral("timeout");
    QTest::newRow("too big") << QStringLiteral("toobig");
}

void TestWebSocketConnection::deleteInDisconnected()
{
    QFETCH(QString, how);
    Fixture f;
    QVERIFY(f.start(100));
    f.deleteOnDisconnect();
    if (how == QLatin1String("eof")) {
        QVERIFY(f.client.write(clientFrame(0x81, "bye")));
        f.client.close();
    } else if (how == QLatin1String("abort")) {
        f.connection->sendText("queued");
        f.connection->abort();
    } else if (how == QLatin1String("error")) {
        QVERIFY(f.client.write(clientFrame(0x81, "x") + clientFrame(0x83, "x")));
    } else if (how == QLatin1String("close")) {
        QVERIFY(f.client.write(clientFrame(0x88, closeBody(1000)) + clientFrame(0x81, "x")));
    } else if (how == QLatin1String("timeout")) {
        f.connection->close(WsCloseNormal);
    } else {
        QVERIFY(f.client.write(clientFrame(0x81, asciiPayload(101))));
    }
    QTRY_COMPARE_WITH_TIMEOUT(f.handler.disconnects, 1, 5000);
    QVERIFY(!f.connection);
    QTest::qWait(100);
    QCOMPARE(f.handler.disconnects, 1);
}

// After detach(), no event reaches the handler: neither a message nor disconnected().
void TestWebSocketConnection::detachStopsEvents()
{
    Fixture f;
    QVERIFY(f.start());
    f.connection->detach();
    QVERIFY(f.client.write(clientFrame(0x81, "unheard") + clientFrame(0x8a, "")));
    f.client.close();
    QTest::qWait(200);
    QVERIFY(f.handler.texts.isEmpty());
    QCOMPARE(f.handler.pongs, 0);
    QCOMPARE(f.handler.disconnects, 0);

    Fixture g;
    QVERIFY(g.start());
    g.connection->detach();
    g.connection->abort();
    QTest::qWait(100);
    QCOMPARE(g.handler.disconnects, 0);
}

// Deleting an open connection closes the descriptor (the client sees the end of the stream)
// and reports nothing to the handler afterwards.
void TestWebSocketConnection::destructorClosesDescriptor()
{
    Fixture f;
    QVERIFY(f.start());
    f.connection->sendText("pending"); // queued, maybe never written
    delete std::exchange(f.connection, nullptr);
    const QDeadlineTimer deadline(kTimeoutMs);
    while (!f.client.ended && !deadline.hasExpired()) {
        if (!f.client.receive()) {
            pump();
            QTest::qWait(1);
        }
    }
    QVERIFY(f.client.ended);
    QTest::qWait(100);
    QCOMPARE(f.handler.disconnects, 0);
}

// ctest runs the suite twice: on Qt's default dispatcher and on anonchat-server's own one.
int main(int argc, char *argv[])
{
    return anonchat::test::runOnChosenDispatcher<TestWebSocketConnection>(argc, argv);
}

#include "tst_websocketconnection.moc"
