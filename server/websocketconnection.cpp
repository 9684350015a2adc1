#include "server/websocketconnection.h"

#include <QCryptographicHash>
#include <QDeadlineTimer>
#include <QLoggingCategory>
#include <QPointer>
#include <QSocketNotifier>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTimer>
#include <QUtf8StringView>
#include <QtEndian>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcWebSocket, "anonchat.websocket", QtInfoMsg)

namespace anonchat::server {

namespace {

constexpr qsizetype kReadChunk = 64 * 1024;
constexpr int kCloseTimeoutMs = 2000;
constexpr quint64 kMaxControlPayload = 125;

qint64 monotonicMs()
{
    return QDeadlineTimer::current().deadline();
}

bool isKnownOpcode(quint8 op)
{
    switch (WsOpcode(op)) {
    case WsOpcode::Continuation:
    case WsOpcode::Text:
    case WsOpcode::Binary:
    case WsOpcode::Close:
    case WsOpcode::Ping:
    case WsOpcode::Pong: return true;
    }
    return false;
}

/// Close codes a peer may send (RFC 6455 7.4).
bool isValidCloseCode(int code)
{
    if (code >= 3000 && code <= 4999)
        return true;
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011);
}

} // namespace

WsParse parseClientFrameHeader(QByteArrayView data, quint64 maxPayload, WsFrameHeader &header)
{
    if (data.size() < 2)
        return WsParse::NeedMore;
    const auto *bytes = reinterpret_cast<const uchar *>(data.data());
    const quint8 b0 = bytes[0];
    const quint8 b1 = bytes[1];
    const quint8 op = b0 & 0x0f;
    const bool fin = (b0 & 0x80) != 0;
    if ((b0 & 0x70) != 0 || !isKnownOpcode(op) || (b1 & 0x80) == 0)
        return WsParse::ProtocolError; // reserved bits, opcode, unmasked
    const bool control = (op & 0x8) != 0;
    quint64 length = b1 & 0x7f;
    if (control && (!fin || length > kMaxControlPayload))
        return WsParse::ProtocolError;
    qsizetype pos = 2;
    if (length == 126) {
        if (data.size() < 4)
            return WsParse::NeedMore;
        length = qFromBigEndian<quint16>(bytes + 2);
        pos = 4;
    } else if (length == 127) {
        if (data.size() < 10)
            return WsParse::NeedMore;
        length = qFromBigEndian<quint64>(bytes + 2);
        if (length >> 63)
            return WsParse::ProtocolError;
        pos = 10;
    }
    if (!control && length > maxPayload) {
        header.opcode = WsOpcode(op);
        header.length = length;
        header.headerBytes = int(pos + 4);
        return WsParse::TooBig;
    }
    if (data.size() < pos + 4)
        return WsParse::NeedMore;
    header.fin = fin;
    header.opcode = WsOpcode(op);
    header.length = length;
    std::memcpy(header.mask, bytes + pos, 4);
    header.headerBytes = int(pos + 4);
    return WsParse::Ok;
}

void unmask(char *data, qsizetype size, const quint8 mask[4], quint64 offset)
{
    quint8 m[8];
    for (int i = 0; i < 8; ++i)
        m[i] = mask[(offset + quint64(i)) & 3];
    quint64 word;
    std::memcpy(&word, m, 8);
    qsizetype i = 0;
    for (; i + 8 <= size; i += 8) {
        quint64 chunk;
        std::memcpy(&chunk, data + i, 8);
        chunk ^= word;
        std::memcpy(data + i, &chunk, 8);
    }
    for (; i < size; ++i)
        data[i] = char(quint8(data[i]) ^ m[i & 7]);
}

void appendServerFrame(QByteArray &out, WsOpcode opcode, QByteArrayView payload)
{
    const quint64 length = quint64(payload.size());
    uchar head[10];
    head[0] = uchar(0x80 | quint8(opcode));
    int headBytes = 2;
    if (length < 126) {
        head[1] = uchar(length);
    } else if (length <= 0xffff) {
        head[1] = 126;
        qToBigEndian<quint16>(quint16(length), head + 2);
        headBytes = 4;
    } else {
        head[1] = 127;
        qToBigEndian<quint64>(length, head + 2);
        headBytes = 10;
    }
    out.reserve(out.size() + headBytes + payload.size());
    out.append(reinterpret_cast<const char *>(head), headBytes);
    out.append(payload);
}

QByteArray webSocketAccept(const QByteArray &key)
{
    return QCryptographicHash::hash(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
                                    QCryptographicHash::Sha1)
        .toBase64();
}

// ---- WebSocketConnection ------------------------------------------------------------------

WebSocketConnection::WebSocketConnection(int fd, const QByteArray &handshake,
                                         const QByteArray &unread, Handler *handler,
                                         quint64 maxMessageBytes, QObject *parent)
    : QObject(parent)
    , m_handler(handler)
    , m_fd(fd)
    , m_maxMessageBytes(maxMessageBytes)
{
    ::fcntl(m_fd, F_SETFL, ::fcntl(m_fd, F_GETFL) | O_NONBLOCK);
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getpeername(m_fd, reinterpret_cast<sockaddr *>(&address), &length) == 0) {
        m_peerAddress.setAddress(reinterpret_cast<const sockaddr *>(&address));
        if (address.ss_family == AF_INET)
            m_peerPort = ntohs(reinterpret_cast<const sockaddr_in *>(&address)->sin_port);
        else if (address.ss_family == AF_INET6)
            m_peerPort = ntohs(reinterpret_cast<const sockaddr_in6 *>(&address)->sin6_port);
    }
    m_readNotifier = new QSocketNotifier(qintptr(m_fd), QSocketNotifier::Read, this);
    connect(m_readNotifier, &QSocketNotifier::activated, this, &WebSocketConnection::onReadable);
    m_in = unread;
    init(handshake);
}

WebSocketConnection::WebSocketConnection(QTcpSocket *socket, const QByteArray &handshake,
                                         Handler *handler, quint64 maxMessageBytes, QObject *parent)
    : QObject(parent)
    , m_handler(handler)
    , m_socket(socket)
    , m_maxMessageBytes(maxMessageBytes)
{
    socket->setParent(this);
    m_peerAddress = socket->peerAddress();
    m_peerPort = socket->peerPort();
    connect(socket, &QTcpSocket::readyRead, this, &WebSocketConnection::onReadable);
    connect(socket, &QTcpSocket::bytesWritten, this, &WebSocketConnection::onWritable);
    if (auto *tls = qobject_cast<QSslSocket *>(socket))
        connect(tls, &QSslSocket::encryptedBytesWritten, this, &WebSocketConnection::onWritable);
    connect(socket, &QTcpSocket::disconnected, this, &WebSocketConnection::finish);
    m_in = socket->readAll();
    init(handshake);
    if (socket->state() != QAbstractSocket::ConnectedState) // gone during the hand-over
        QMetaObject::invokeMethod(this, &WebSocketConnection::finish, Qt::QueuedConnection);
}

void WebSocketConnection::init(const QByteArray &handshake)
{
    m_out = handshake;
    flush();
    if (!m_in.isEmpty()) {
        // Not from the constructor: the owner has not taken the connection in yet.
        QMetaObject::invokeMethod(
            this, [this] { consume(nullptr, 0); }, Qt::QueuedConnection);
    }
}

WebSocketConnection::~WebSocketConnection()
{
    delete m_readNotifier; // out of the event dispatcher before the descriptor is closed
    delete m_writeNotifier;
    if (m_fd >= 0)
        ::close(m_fd);
    if (m_socket)
        m_socket->abort();
}

qint64 WebSocketConnection::bytesToWrite() const
{
    qint64 queued = m_out.size();
    if (m_socket) {
        const auto *tls = qobject_cast<const QSslSocket *>(m_socket);
        queued += m_socket->bytesToWrite() + (tls ? tls->encryptedBytesToWrite() : 0);
    }
    return queued;
}

void WebSocketConnection::sendText(QByteArrayView utf8)
{
    if (m_state == State::Open)
        appendServerFrame(m_out, WsOpcode::Text, utf8);
}

void WebSocketConnection::ping()
{
    if (m_state != State::Open)
        return;
    appendServerFrame(m_out, WsOpcode::Ping, {});
    flush();
}

void WebSocketConnection::queueFrame(WsOpcode opcode, QByteArrayView payload)
{
    appendServerFrame(m_out, opcode, payload);
}

void WebSocketConnection::flush()
{
    if (m_state == State::Closed)
        return;
    if (m_socket) {
        if (!m_out.isEmpty()) {
            m_socket->write(m_out);
            m_out.clear();
            m_socket->flush();
        }
        onWritable();
        return;
    }
    qsizetype done = 0;
    while (done < m_out.size()) {
        const ssize_t n =
            ::send(m_fd, m_out.constData() + done, size_t(m_out.size() - done), MSG_NOSIGNAL);
        if (n > 0) {
            done += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            qCDebug(lcWebSocket) << "write failed:" << strerror(errno);
            finish();
            return;
        }
    }
    if (done == m_out.size())
        m_out.clear(); // an idle connection keeps no buffer
    else if (done > 0)
        m_out.remove(0, done);
    setWriteInterest(!m_out.isEmpty());
    if (m_out.isEmpty())
        onWritable();
}

void WebSocketConnection::onWritable()
{
    if (m_state == State::Closed)
        return;
    if (!m_socket && !m_out.isEmpty()) {
        flush(); // comes back here once everything is written
        return;
    }
    if (bytesToWrite() > 0)
        return;
    if (m_finishWhenFlushed) {
        finish();
    } else if (m_shutWhenFlushed && !m_writeShut && m_fd >= 0) {
        // FIN after the close frame; the client's answer is still read. (Not under TLS: the
        // QSslSocket ends itself when its descriptor is shut behind its back.)
        m_writeShut = true;
        ::shutdown(m_fd, SHUT_WR);
    }
}

void WebSocketConnection::setWriteInterest(bool on)
{
    if (m_socket || (!on && !m_writeNotifier))
        return;
    if (!m_writeNotifier) {
        m_writeNotifier = new QSocketNotifier(qintptr(m_fd), QSocketNotifier::Write, this);
        connect(m_writeNotifier, &QSocketNotifier::activated, this,
                &WebSocketConnection::onWritable);
    }
    if (m_writeNotifier->isEnabled() != on)
        m_writeNotifier->setEnabled(on);
}

void WebSocketConnection::onReadable()
{
    if (m_state == State::Closed)
        return;
    if (m_socket) {
        QByteArray data = m_socket->readAll();
        if (!data.isEmpty())
            consume(data.data(), data.size());
        return;
    }
    static thread_local char buffer[kReadChunk];
    for (;;) {
        const ssize_t n = ::read(m_fd, buffer, sizeof buffer);
        if (n > 0) {
            if (!consume(buffer, n) || n < kReadChunk)
                return; // level-triggered: more wakes us again
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        finish(); // EOF or a reset
        return;
    }
}

bool WebSocketConnection::consume(char *data, qsizetype size)
{
    if (m_state == State::Closed)
        return false;
    if (m_discardInput)
        return true; // after a protocol error nothing more is parsed; EOF or the timer ends it
    if (m_skip > 0) {
        // The payload of a frame refused as too big: skipped, to read the client's close.
        const qsizetype n = qsizetype(std::min<quint64>(m_skip, quint64(size)));
        m_skip -= quint64(n);
        data += n;
        size -= n;
        if (size == 0)
            return true;
    }
    const bool buffered = !m_in.isEmpty();
    if (buffered) {
        if (size > 0)
            m_in.append(data, size);
        data = m_in.data();
        size = m_in.size();
    }
    QPointer<WebSocketConnection> guard(this);
    qsizetype pos = 0;
    bool completed = false;
    bool alive = true;
    while (pos < size) {
        WsFrameHeader header;
        const quint64 allowance = m_maxMessageBytes - quint64(m_message.size());
        const WsParse parsed =
            parseClientFrameHeader(QByteArrayView(data + pos, size - pos), allowance, header);
        if (parsed == WsParse::NeedMore)
            break;
        if (parsed == WsParse::ProtocolError) {
            failConnection(WsCloseProtocolError, tr("not a valid WebSocket frame"));
            m_discardInput = true;
            alive = false;
            break;
        }
        if (parsed == WsParse::TooBig) {
            failConnection(WsCloseTooBig, tr("message too big"));
            const quint64 frame = quint64(header.headerBytes) + header.length;
            const quint64 have = quint64(size - pos);
            m_skip = frame > have ? frame - have : 0;
            pos = size;
            alive = false;
            break;
        }
        if (quint64(size - pos - header.headerBytes) < header.length)
            break;
        char *payload = data + pos + header.headerBytes;
        unmask(payload, qsizetype(header.length), header.mask);
        pos += header.headerBytes + qsizetype(header.length);
        completed = true;
        if (!onFrame(header, payload) || !guard) {
            alive = false;
            break;
        }
    }
    if (!guard)
        return false;
    if (m_discardInput || m_state == State::Closed) {
        m_in.clear();
        m_incompleteSinceMs = -1;
        return false;
    }
    if (pos >= size) {
        m_in.clear();
        m_incompleteSinceMs = -1;
    } else {
        if (buffered)
            m_in.remove(0, pos);
        else
            m_in = QByteArray(data + pos, size - pos);
        // The age of the frame now incomplete: a client that trickles one frame forever is cut
        // off (ChatServer::sweep()), one whose frames keep completing is not.
        if (completed || m_incompleteSinceMs < 0)
            m_incompleteSinceMs = monotonicMs();
    }
    return alive;
}

bool WebSocketConnection::onFrame(const WsFrameHeader &header, char *payload)
{
    const qsizetype length = qsizetype(header.length);
    switch (header.opcode) {
    case WsOpcode::Text:
    case WsOpcode::Binary:
        if (m_messageOpcode != WsOpcode::Continuation) {
            failConnection(WsCloseProtocolError, tr("a new message inside a fragmented one"));
            m_discardInput = true;
            return false;
        }
        if (!header.fin) {
            m_messageOpcode = header.opcode;
            m_message = QByteArray(payload, length);
            return true;
        }
        return deliver(header.opcode, payload, length);
    case WsOpcode::Continuation: {
        if (m_messageOpcode == WsOpcode::Continuation) {
            failConnection(WsCloseProtocolError, tr("a continuation frame with no message"));
            m_discardInput = true;
            return false;
        }
        m_message.append(payload, length);
        if (!header.fin)
            return true;
        const WsOpcode opcode = m_messageOpcode;
        QByteArray message = std::move(m_message);
        m_message = QByteArray();
        m_messageOpcode = WsOpcode::Continuation;
        return deliver(opcode, message.data(), message.size());
    }
    case WsOpcode::Ping:
        if (m_state == State::Open) {
            queueFrame(WsOpcode::Pong, QByteArrayView(payload, length));
            flush();
        }
        return m_state != State::Closed;
    case WsOpcode::Pong:
        if (m_state == State::Open && m_handler)
            m_handler->pongReceived(this);
        return m_state != State::Closed;
    case WsOpcode::Close: {
        int code = WsCloseNormal;
        if (length == 1) {
            failConnection(WsCloseProtocolError, tr("invalid close frame"));
            m_discardInput = true;
            return false;
        }
        if (length >= 2) {
            code = qFromBigEndian<quint16>(payload);
            if (!isValidCloseCode(code)) {
                failConnection(WsCloseProtocolError, tr("invalid close code"));
                m_discardInput = true;
                return false;
            }
            if (!QUtf8StringView(payload + 2, length - 2).isValidUtf8()) {
                failConnection(WsCloseInvalidData, tr("the close reason is not UTF-8"));
                m_discardInput = true;
                return false;
            }
        }
        if (m_state == State::Open) {
            // The client closes: its code goes back, then the TCP connection is closed.
            m_state = State::Closing;
            QByteArray answer;
            if (length >= 2)
                answer = QByteArray(payload, 2);
            queueFrame(WsOpcode::Close, answer);
            m_finishWhenFlushed = true;
            flush();
        } else {
            finish(); // the answer to our close
        }
        return false;
    }
    }
    return true;
}

bool WebSocketConnection::deliver(WsOpcode opcode, const char *data, qsizetype size)
{
    if (m_state != State::Open)
        return true; // closing: what the client still sends is read and dropped
    if (opcode == WsOpcode::Text) {
        if (!QUtf8StringView(data, size).isValidUtf8()) {
            failConnection(WsCloseInvalidData, tr("the text is not UTF-8"));
            return true; // the stream is still in step: the client's close is read
        }
        if (m_handler)
            m_handler->textReceived(this, QByteArray(data, size));
    } else if (m_handler) {
        m_handler->binaryReceived(this);
    }
    return m_state != State::Closed;
}

void WebSocketConnection::failConnection(int code, const QString &reason)
{
    qCDebug(lcWebSocket) << "closing with" << code << reason;
    close(code, reason);
}

void WebSocketConnection::close(int code, const QString &reason)
{
    if (m_state != State::Open)
        return;
    m_state = State::Closing;
    QByteArray payload(2, Qt::Uninitialized);
    qToBigEndian<quint16>(quint16(code), payload.data());
    const QByteArray text = reason.toUtf8();
    if (text.size() <= 123)
        payload += text;
    queueFrame(WsOpcode::Close, payload);
    m_shutWhenFlushed = true;
    flush();
    // A client that never answers the close handshake is cut off.
    QTimer::singleShot(kCloseTimeoutMs, this, [this] { finish(); });
}

void WebSocketConnection::abort()
{
    finish();
}

void WebSocketConnection::finish()
{
    if (m_state == State::Closed)
        return;
    m_state = State::Closed;
    // Possibly inside a notifier's own signal: disabled now, deleted from the event loop.
    for (QSocketNotifier *notifier : {m_readNotifier, m_writeNotifier}) {
        if (notifier) {
            notifier->setEnabled(false);
            notifier->deleteLater();
        }
    }
    m_readNotifier = m_writeNotifier = nullptr;
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
    }
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        m_socket->deleteLater();
        m_socket = nullptr;
    }
    m_out.clear();
    m_message.clear();
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (m_handler)
                m_handler->disconnected(this);
        },
        Qt::QueuedConnection);
}

} // namespace anonchat::server
