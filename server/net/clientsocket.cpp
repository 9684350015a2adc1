#include "server/net/clientsocket.h"

#include <QDeadlineTimer>
#include <QLoggingCategory>
#include <QTcpSocket>
#include <QTimer>
#include <QWebSocket>

Q_LOGGING_CATEGORY(lcClientSocket, "anonchat.websocket", QtInfoMsg)

namespace anonchat::server {

namespace {

constexpr int kCloseTimeoutMs = 2000;
/// How long Qt 6.4's QWebSocket waits for the next byte of a frame begun before it closes the
/// connection with 1001 (QWebSocketDataProcessor), with a margin.
constexpr qint64 kQtFrameWaitMs = 5000 + 500;

qint64 monotonicMs()
{
    return QDeadlineTimer::current().deadline();
}

} // namespace

ClientSocket::ClientSocket(QWebSocket *socket, QTcpSocket *tcp, Handler *handler,
                           const Limits &limits, QObject *parent)
    : QObject(parent)
    , m_handler(handler)
    , m_socket(socket)
    , m_tcp(tcp)
    , m_limits(limits)
    , m_peerAddress(tcp->peerAddress())
    , m_peerPort(tcp->peerPort())
    , m_lastReadMs(monotonicMs())
{
    socket->setParent(this);
    tcp->setParent(this);
    socket->setMaxAllowedIncomingFrameSize(quint64(limits.maxMessageBytes));
    socket->setMaxAllowedIncomingMessageSize(quint64(limits.maxMessageBytes));
    connect(socket, &QWebSocket::textMessageReceived, this, &ClientSocket::onText);
    connect(socket, &QWebSocket::binaryMessageReceived, this, &ClientSocket::onBinary);
    connect(socket, &QWebSocket::pong, this, &ClientSocket::onPong);
    // Queued: Qt reports the end from inside calls made on the socket (close(), a write).
    connect(socket, &QWebSocket::disconnected, this, &ClientSocket::finish, Qt::QueuedConnection);
    // After QWebSocket's own reading (connected earlier, so called first).
    connect(tcp, &QTcpSocket::readyRead, this, &ClientSocket::afterRead);
    if (tcp->state() != QAbstractSocket::ConnectedState) {
        m_state = State::Closed;
        QMetaObject::invokeMethod(this, &ClientSocket::finish, Qt::QueuedConnection);
    } else if (tcp->bytesAvailable() > 0) {
        // What the client sent before the 101 (WebSocketIntake held it back): read now that
        // someone listens.
        QMetaObject::invokeMethod(tcp, "readyRead", Qt::QueuedConnection);
    }
}

ClientSocket::~ClientSocket()
{
    m_handler = nullptr;
    disconnect(m_socket, nullptr, this, nullptr);
    delete m_socket; // closes with 1001 if still open
    delete m_tcp.data();
}

void ClientSocket::onText(const QString &message)
{
    ++m_messages;
    if (m_handler && m_state == State::Open)
        m_handler->textReceived(this, message.toUtf8());
}

void ClientSocket::onBinary()
{
    ++m_messages;
    if (m_handler && m_state == State::Open)
        m_handler->binaryReceived(this);
}

void ClientSocket::onPong()
{
    ++m_messages;
    if (m_handler && m_state == State::Open)
        m_handler->pongReceived(this);
}

void ClientSocket::afterRead()
{
    if (!m_tcp || m_state == State::Closed)
        return;
    const qint64 now = monotonicMs();
    if (now - m_lastReadMs > kQtFrameWaitMs)
        m_incompleteSinceMs = -1; // nothing was under way (see incompleteSinceMs())
    m_lastReadMs = now;
    // Bytes left in the socket are part of a frame (Qt takes each part of a frame, its head, its
    // length, its mask, its payload, only once it is whole). The clock starts when bytes first
    // wait, and again when a message completed since: a client streaming messages in pieces is
    // not one holding a frame open. It stops when a message completed and nothing waits. Bytes
    // all taken without a message completing are a part of a frame, or a ping: the clock runs on
    // (Qt's own 5 s timer ends what a silence leaves unfinished).
    const bool completed = m_messages != m_messagesMark;
    m_messagesMark = m_messages;
    if (m_tcp->bytesAvailable() == 0) {
        if (completed)
            m_incompleteSinceMs = -1;
    } else if (m_incompleteSinceMs < 0 || completed) {
        m_incompleteSinceMs = now;
    }
    // Qt's answers to pings queue up behind what a client does not read, as our own frames do.
    closeIfNotReading();
}

qint64 ClientSocket::incompleteSinceMs() const
{
    // Qt closes a connection whose frame waits 5 s for its next byte (1001): after such a silence
    // no frame is under way.
    if (m_incompleteSinceMs >= 0 && monotonicMs() - m_lastReadMs > kQtFrameWaitMs)
        return -1;
    return m_incompleteSinceMs;
}

void ClientSocket::closeIfNotReading()
{
    if (m_state == State::Open && bytesToWrite() > m_limits.maxQueuedBytes) {
        qCInfo(lcClientSocket) << "closing a client that does not read";
        close(WsClosePolicyViolated, tr("not reading"));
    }
}

void ClientSocket::sendText(QByteArrayView utf8)
{
    if (m_state != State::Open)
        return;
    m_socket->sendTextMessage(QString::fromUtf8(utf8));
    closeIfNotReading();
}

void ClientSocket::ping()
{
    if (m_state == State::Open)
        m_socket->ping();
}

void ClientSocket::flush()
{
    if (m_tcp && m_state != State::Closed)
        m_tcp->flush();
}

qint64 ClientSocket::bytesToWrite() const
{
    return m_tcp ? m_tcp->bytesToWrite() : 0;
}

void ClientSocket::close(int code, const QString &reason)
{
    if (m_state != State::Open)
        return;
    m_state = State::Closing;
    m_incompleteSinceMs = -1;
    m_socket->close(QWebSocketProtocol::CloseCode(code), reason);
    // Qt ends TCP once the close frame is written: a client that does not read keeps it
    // unwritten, and the connection open, no longer than this.
    QTimer::singleShot(kCloseTimeoutMs, this, [this] { abort(); });
}

void ClientSocket::abort()
{
    if (m_state == State::Closed)
        return;
    m_state = State::Closed;
    m_incompleteSinceMs = -1;
    if (m_tcp)
        m_tcp->abort(); // QWebSocket reports disconnected(): finish() follows from the loop
    QMetaObject::invokeMethod(this, &ClientSocket::finish, Qt::QueuedConnection);
}

void ClientSocket::finish()
{
    if (!m_handler)
        return;
    m_state = State::Closed;
    m_incompleteSinceMs = -1;
    Handler *handler = m_handler;
    m_handler = nullptr; // once
    handler->disconnected(this);
}

} // namespace anonchat::server
