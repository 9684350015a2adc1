#pragma once

// The anonchat server of one process: what main(), the desktop app and the tests start and stop.

#include "server/app/serverconfig.h"
#include "server/web/httproutes.h"
#include "server/web/metrics.h"

#include <QObject>
#include <QUrl>
#include <memory>

namespace anonchat::server {

class AdminApi;
class ConnectionBudget;
class HttpListener;
class ModerationService;
class NodePool;
class StorageWriter;

/**
 * One port (HttpListener) for the page, /healthz, /metrics and /ws (HttpRoutes); the
 * StorageWriter whose commits gate every relay; and the NodePool whose ChatNodes serve the
 * WebSockets. Runs on the thread that created it; the same class runs headless and inside the
 * desktop app.
 */
class ChatServer : public QObject, private ServerStatus
{
    Q_OBJECT
public:
    explicit ChatServer(ServerConfig config, QObject *parent = nullptr);
    ~ChatServer() override;

    /// Opens the database and starts listening. False with a one-line `error` naming the cause.
    bool start(QString *error);

    quint16 port() const;
    /// `http://host:port/` (`https://` with TLS) as a browser would open it.
    QUrl url() const override;

    /// Graceful stop (PROTOCOL.md): stop accepting, close clients with 1001, commit every
    /// pending message, close the database. Emits stopped() when done. Idempotent.
    void shutdown();

    /// Over every node of this process (`--threads`), or of the cluster (`--redis`, as of the
    /// last heartbeat).
    int connectionCount() const override;
    int queuedCount() const override;
    int activeRoomCount() const override;
    const Metrics &metrics() const { return *m_metrics; }
    /// Nodes serving WebSockets in this process (`--threads`).
    int threadCount() const;

signals:
    void stopped();

private:
    // ServerStatus
    bool isStopping() const override { return m_stopping; }
    bool isHealthy() const override;
    qint64 awayUsers() const override;

    bool startListener(QString *error);
    bool startStorage(QString *error);
    /// The moderation service (after the storage: it opens the migrated database) and the
    /// admin API in front of it.
    bool startModeration(QString *error);
    /// The budget of the process: `--max-connections` lowered to what the open-file limit
    /// allows (logged), and the sockets it allows in all.
    std::shared_ptr<ConnectionBudget> makeBudget() const;
    /// Logs the figures of makeBudget() (once started: a failed start prints one line only).
    void logLimits() const;
    /// Commits what is pending, delivers its acks, and stores the rooms' ends.
    void drainNodes();
    /// Polls until the clients' sockets are closed (2 s at most), then emits stopped().
    void reportStoppedWhenClosed();

    ServerConfig m_config;
    HttpListener *m_listener = nullptr;
    std::unique_ptr<HttpRoutes> m_routes;
    std::shared_ptr<StorageWriter> m_storage;
    std::shared_ptr<Metrics> m_metrics;
    std::shared_ptr<ConnectionBudget> m_budget;
    NodePool *m_pool = nullptr;                ///< a child
    ModerationService *m_moderation = nullptr; ///< a child
    std::unique_ptr<AdminApi> m_adminApi;
    bool m_stopping = false;
};

} // namespace anonchat::server
