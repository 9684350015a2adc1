// LocalServerHost: the chat server the desktop app runs in its own process.
#pragma once

#include "server/app/serverconfig.h"

#include <QHostAddress>
#include <QObject>
#include <QString>
#include <QUrl>

namespace anonchat::server {
class ChatServer;
}

namespace anonchat::client {

/**
 * Runs anonchat_server_core inside the desktop app (PROTOCOL.md, "Desktop app command line":
 * with no --connect the app hosts its own server). Owns one ChatServer on this thread, with a
 * database connection name unique to this host ("anonchat-local-<n>"), so several hosts (and
 * tests) can live in one process. If the configured port is taken it tries the next ones.
 */
class LocalServerHost : public QObject
{
    Q_OBJECT
public:
    /// Ports tried after the configured one before falling back to any free port (0).
    static constexpr int kPortAttempts = 20;

    explicit LocalServerHost(QObject *parent = nullptr);
    ~LocalServerHost() override;

    /// Starts a server with `config`: on config.port, or if that is taken on the next free port
    /// up to config.port + 20, or as a last resort on a port the system picks. A port of 0
    /// picks one at once. Its instanceName is replaced by this host's; without an adminToken it
    /// gets a random one (randomAdminToken()), so the app's moderation window can use the
    /// moderation API of the server it hosts without asking. False with a one-line
    /// `error` (from the server: an unusable database, an unusable address) if nothing works.
    bool start(server::ServerConfig config, QString *error);
    /// Graceful stop (commits everything, closes clients with 1001); emits stopped() when done.
    void shutdown();

    bool isRunning() const { return m_server != nullptr; }
    /// The running server (a child of this host), or null.
    server::ChatServer *server() const { return m_server; }
    /// The configuration the server runs with (the port actually bound in `port`).
    const server::ServerConfig &config() const { return m_config; }
    quint16 port() const;
    /// `http://127.0.0.1:port/` (the loopback address when listening on all addresses).
    QUrl url() const;
    /// When listening on all IPv4 addresses (0.0.0.0, or any): `http://<lan address>:port/`,
    /// the address others on the network can open; otherwise (or without a network) empty.
    QUrl lanUrl() const;
    /// This host's instance name (database connection name prefix), unique in the process.
    QString instanceName() const { return m_instanceName; }

    /// 256 random bits from QRandomGenerator::system(), as 43 base64url characters.
    static QByteArray randomAdminToken();

    /// The first IPv4 address of an interface that is up, running and not loopback; null if
    /// there is none.
    static QHostAddress firstLanAddress();

signals:
    void stopped();

private:
    server::ChatServer *m_server = nullptr; ///< child of this host
    server::ServerConfig m_config;
    QString m_instanceName;
};

} // namespace anonchat::client
