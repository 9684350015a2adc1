#include "server/net/websocketintake.h"

#include <QTcpSocket>
#include <QTimer>
#include <QWebSocket>
#include <algorithm>

namespace anonchat::server {

namespace {

/// Qt answers a checked head at once; this only bounds a socket Qt would neither upgrade nor
/// close.
constexpr int kHandshakeTimeoutMs = 10 * 1000;

/// Puts `bytes` back in front of what `socket` has buffered, as if not read yet.
void unread(QTcpSocket *socket, const QByteArray &bytes)
{
    for (qsizetype i = bytes.size() - 1; i >= 0; --i)
        socket->ungetChar(bytes[i]);
}

} // namespace

WebSocketIntake::WebSocketIntake(bool secure, const ClientSocket::Limits &limits,
                                 ClientSocket::Handler *handler, QObject *parent)
    : QObject(parent)
    , m_server(QStringLiteral("anonchat"),
               secure ? QWebSocketServer::SecureMode : QWebSocketServer::NonSecureMode)
    , m_limits(limits)
    , m_handler(handler)
{
    // Connections are taken as soon as Qt announces them; the queue is never long.
    m_server.setMaxPendingConnections(1024);
    connect(&m_server, &QWebSocketServer::newConnection, this, &WebSocketIntake::onNewConnection);
}

WebSocketIntake::~WebSocketIntake()
{
    for (const Upgrading &u : m_upgrading)
        delete u.socket.data();
}

void WebSocketIntake::take(QTcpSocket *socket)
{
    // Bounds what one connection is served per wake-up (Qt reads a frame's payload once it is
    // whole in this buffer, so it holds two of the largest).
    socket->setReadBufferSize(ClientSocket::readBufferBytes(m_limits));
    m_upgrading.erase(std::remove_if(m_upgrading.begin(), m_upgrading.end(),
                                     [](const Upgrading &u) { return u.socket.isNull(); }),
                      m_upgrading.end());
    Upgrading upgrading{socket, {}};
    // Qt would read frames sent right behind the head inside QWebSocket's constructor, before
    // anyone listens, and lose them: they wait here until the ClientSocket is there.
    const QByteArray buffered = socket->peek(socket->bytesAvailable());
    const qsizetype headEnd = buffered.indexOf("\r\n\r\n");
    if (headEnd >= 0 && buffered.size() > headEnd + 4) {
        socket->skip(buffered.size());
        unread(socket, buffered.left(headEnd + 4));
        upgrading.early = buffered.mid(headEnd + 4);
    }
    m_upgrading.push_back(std::move(upgrading));
    QTimer::singleShot(kHandshakeTimeoutMs, this, [this, guard = QPointer<QTcpSocket>(socket)] {
        const bool waiting = std::any_of(m_upgrading.begin(), m_upgrading.end(),
                                         [&](const Upgrading &u) { return u.socket == guard; });
        if (guard && waiting)
            guard->abort();
    });
    // Qt deletes the socket when it disconnects before the upgrade.
    m_server.handleConnection(socket);
}

std::optional<WebSocketIntake::Upgrading> WebSocketIntake::takeUpgraded(const QWebSocket *socket)
{
    // The peer's address and port name one connection among those this node holds.
    const auto it = std::find_if(m_upgrading.begin(), m_upgrading.end(), [socket](const auto &u) {
        return u.socket && u.socket->peerPort() == socket->peerPort() &&
               u.socket->peerAddress() == socket->peerAddress();
    });
    if (it == m_upgrading.end())
        return std::nullopt;
    Upgrading found = std::move(*it);
    m_upgrading.erase(it);
    return found;
}

void WebSocketIntake::onNewConnection()
{
    while (m_server.hasPendingConnections()) {
        QWebSocket *socket = m_server.nextPendingConnection();
        const std::optional<Upgrading> upgraded = takeUpgraded(socket);
        if (!upgraded) { // not one of ours: cannot happen, but never leak it
            socket->abort();
            socket->deleteLater();
            continue;
        }
        QTcpSocket *tcp = upgraded->socket.data();
        // Qt's own clean-up on disconnect (deleteLater) is the ClientSocket's now.
        disconnect(tcp, &QTcpSocket::disconnected, &m_server, nullptr);
        unread(tcp, upgraded->early); // read once the ClientSocket listens
        emit connectionReady(new ClientSocket(socket, tcp, m_handler, m_limits));
    }
}

} // namespace anonchat::server
