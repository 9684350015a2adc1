#pragma once

#include "server/net/clientsocket.h"

#include <QObject>
#include <QPointer>
#include <QWebSocketServer>
#include <optional>
#include <vector>

class QTcpSocket;

namespace anonchat::server {

/**
 * A node's door for WebSockets: takes a connection whose upgrade request HttpListener has checked
 * (the request head still unread in its QTcpSocket, or QSslSocket), lets the node's own
 * QWebSocketServer read it and answer 101 (QWebSocketServer::handleConnection), and hands each
 * upgraded connection to the node as a ClientSocket. One per node, on the node's thread.
 */
class WebSocketIntake : public QObject
{
    Q_OBJECT
public:
    WebSocketIntake(bool secure, const ClientSocket::Limits &limits, ClientSocket::Handler *handler,
                    QObject *parent = nullptr);
    ~WebSocketIntake() override;

    /// Takes `socket` (on this thread, no parent); an upgraded connection follows as
    /// connectionReady(), or the socket is closed.
    void take(QTcpSocket *socket);
    /// Connections taken and not upgraded yet.
    int upgrading() const { return int(m_upgrading.size()); }

signals:
    /// A new connection, owned by the receiver.
    void connectionReady(ClientSocket *connection);

private:
    void onNewConnection();
    struct Upgrading {
        QPointer<QTcpSocket> socket;
        /// What the client sent after its request head, before the 101 (RFC 6455 4.1 says it
        /// must not): put back once the ClientSocket listens.
        QByteArray early;
    };
    /// The taken socket `socket` is upgraded on (the one with its peer), out of m_upgrading.
    std::optional<Upgrading> takeUpgraded(const QWebSocket *socket);

    QWebSocketServer m_server;
    ClientSocket::Limits m_limits;
    ClientSocket::Handler *m_handler = nullptr;
    std::vector<Upgrading> m_upgrading;
};

} // namespace anonchat::server
