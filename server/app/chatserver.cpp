#include "server/app/chatserver.h"

#include "server/app/nodepool.h"
#include "server/cluster/locallink.h"
#include "server/moderation/moderationservice.h"
#include "server/net/connectionbudget.h"
#include "server/net/filelimit.h"
#include "server/net/httplistener.h"
#include "server/storage/storagewriter.h"
#include "server/web/adminapi.h"

#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QPointer>
#include <QSslSocket>
#include <QTimer>
#include <algorithm>
#include <limits>

Q_DECLARE_LOGGING_CATEGORY(lcServer)

namespace anonchat::server {

ChatServer::ChatServer(ServerConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_metrics(std::make_shared<Metrics>())
{}

ChatServer::~ChatServer()
{
    delete m_listener; // no request reaches the routes from here on
    m_listener = nullptr;
    delete m_pool;
    m_pool = nullptr;
    if (m_storage)
        m_storage->stop();
    m_adminApi.reset();
    delete m_moderation;
    m_moderation = nullptr;
}

bool ChatServer::start(QString *error)
{
    m_budget = makeBudget();
    const ServerStatus &status = *this;
    m_routes = std::make_unique<HttpRoutes>(status, m_metrics, m_config.allowedOrigins,
                                            m_config.refusalLogIntervalMs);
    // The port first: a taken port must not create or migrate a database.
    if (!startListener(error))
        return false;
    if (!startStorage(error) || !startModeration(error)) {
        m_listener->stop();
        return false;
    }
    NodeShared shared{m_storage, m_metrics, m_budget, nullptr};
    shared.hasher = m_moderation->hasher();
    shared.bans = m_moderation->bans();
    shared.reportStored = [moderation =
                               QPointer<ModerationService>(m_moderation)](const QString &hash) {
        if (moderation) // the call only queues: any thread
            moderation->reportStored(hash);
    };
    if (m_config.threads > 1 && m_config.redis.isEmpty())
        shared.hub = std::make_shared<LocalHub>(m_config.threads, m_config.interestWaitMs);
    m_pool = new NodePool(m_config, shared, this);
    if (!m_pool->start(error)) {
        m_listener->stop();
        delete m_pool;
        m_pool = nullptr;
        m_storage->stop();
        return false;
    }
    logLimits();
    qCInfo(lcServer).noquote() << "serving" << url().toString() << "database"
                               << StorageWriter::displayName(m_config.database) << "threads"
                               << m_pool->size();
    return true;
}

bool ChatServer::startListener(QString *error)
{
    m_listener =
        new HttpListener({m_config.maxRequestHeaderBytes, m_config.requestTimeoutMs}, this);
    m_listener->setBudget(m_budget);
    m_listener->setHostGuard(HostGuard(m_config.host, m_config.allowedOrigins));
    m_listener->setRefusalLogInterval(m_config.refusalLogIntervalMs);
    m_listener->setHandler([this](const HttpRequest &r) { return m_routes->handle(r); });
    m_listener->setUpgradeCheck([this](const HttpRequest &r) { return m_routes->checkUpgrade(r); });
    connect(m_listener, &HttpListener::webSocketRequest, this,
            [this](QTcpSocket *socket) { m_pool->dispatch(socket); });
    if (m_config.tlsEnabled()) {
        if (!QSslSocket::supportsSsl()) {
            *error = tr("--tls-cert: TLS is not available (no OpenSSL 3 library found)");
            return false;
        }
        // A WebSocket over TLS goes on through the listener's QSslSocket.
        m_listener->setSslConfiguration(serverSslConfiguration(m_config));
    }
    if (!m_listener->start(m_config.host, m_config.port)) {
        *error = tr("cannot listen on %1 port %2: %3")
                     .arg(m_config.host.toString())
                     .arg(m_config.port)
                     .arg(m_listener->errorString());
        return false;
    }
    return true;
}

bool ChatServer::startStorage(QString *error)
{
    StorageConfig storageConfig;
    storageConfig.database = m_config.database;
    storageConfig.connectionName = m_config.instanceName;
    storageConfig.retentionDays = m_config.retentionDays;
    storageConfig.commitDelayUs = m_config.commitDelayUs;
    // Other servers' rooms are in it too: a restart must not close them (see onNodesDied()).
    storageConfig.sharedDatabase = !m_config.redis.isEmpty();
    m_storage = std::make_shared<StorageWriter>(storageConfig);
    // The commit histogram is kept on the thread that renders /metrics: this one.
    connect(
        m_storage.get(), &StorageWriter::committed, this,
        [this](const QVector<quint64> &, double seconds) { m_metrics->recordCommit(seconds); },
        Qt::QueuedConnection);
    return m_storage->start(error);
}

bool ChatServer::startModeration(QString *error)
{
    ModerationConfig config;
    config.database = m_config.database;
    config.connectionName = m_config.instanceName + QLatin1String("-moderation");
    config.autoBanReports = m_config.autoBanReports;
    config.pollMs = int(m_config.banPollMs);
    if (m_config.retentionDays > 0)
        config.hashRetentionDays = std::min(config.hashRetentionDays, m_config.retentionDays);
    m_moderation = new ModerationService(config, this);
    if (!m_moderation->start(error)) {
        m_storage->stop();
        return false;
    }
    // Sessions of an address banned now (here or by another server) are closed.
    connect(m_moderation, &ModerationService::banned, this, [this](const QString &hash) {
        if (m_pool && !m_stopping)
            m_pool->forEach([&](ChatNode &node) { node.closeBanned(hash); });
    });
    m_adminApi = std::make_unique<AdminApi>(m_config.adminToken, *m_moderation);
    m_listener->setApi(QByteArray(AdminApi::kPrefix.data(), AdminApi::kPrefix.size()),
                       AdminApi::kMaxBodyBytes,
                       [this](const HttpRequest &request, const HttpListener::Reply &reply) {
                           m_adminApi->handle(request, reply);
                       });
    return true;
}

std::shared_ptr<ConnectionBudget> ChatServer::makeBudget() const
{
    int maxWebSockets = m_config.maxConnections;
    int maxOpen = std::numeric_limits<int>::max();
    const long long files = openFileLimit();
    if (files > 0) {
        // Kept for the server's own files: the database and its journal, each thread's epoll and
        // wake-up descriptors, Redis and PostgreSQL connections, the logs.
        const long long reserve = 64 + 4LL * m_config.threads;
        maxOpen = int(std::clamp<long long>(files - reserve, 16, std::numeric_limits<int>::max()));
        // WebSockets leave room for requests (the page, /healthz) even when they are all taken:
        // a 64th of the sockets, 8 to 256 (a request holds its socket for milliseconds; the
        // oldest unfinished one makes room for a new one), so that a box's descriptors go to
        // its users: 19,672 WebSockets under a limit of 20,000.
        maxWebSockets = std::min(maxWebSockets, maxOpen - std::clamp(maxOpen / 64, 8, 256));
    }
    return std::make_shared<ConnectionBudget>(maxWebSockets, m_config.maxConnectionsPerAddress,
                                              maxOpen);
}

void ChatServer::logLimits() const
{
    const long long files = openFileLimit();
    if (files <= 0)
        return;
    qCInfo(lcServer).nospace() << "open-file limit " << files << ": at most " << m_budget->maxOpen()
                               << " sockets open, " << m_budget->maxTotal()
                               << " of them WebSockets";
    if (m_budget->maxTotal() < m_config.maxConnections)
        qCWarning(lcServer).nospace()
            << "--max-connections " << m_config.maxConnections << " lowered to "
            << m_budget->maxTotal() << ": the open-file limit is " << files << " ("
            << files - m_budget->maxOpen() << " kept for the server's files, "
            << m_budget->maxOpen() - m_budget->maxTotal() << " for requests beside the WebSockets)";
}

quint16 ChatServer::port() const
{
    return m_listener ? m_listener->serverPort() : 0;
}

QUrl ChatServer::url() const
{
    QUrl url;
    url.setScheme(m_config.tlsEnabled() ? QStringLiteral("https") : QStringLiteral("http"));
    QHostAddress host = m_config.host;
    if (host == QHostAddress::AnyIPv4 || host == QHostAddress::Any)
        host = QHostAddress(QHostAddress::LocalHost);
    else if (host == QHostAddress::AnyIPv6)
        host = QHostAddress(QHostAddress::LocalHostIPv6);
    url.setHost(host.toString());
    url.setPort(port());
    url.setPath(QStringLiteral("/"));
    return url;
}

int ChatServer::connectionCount() const
{
    return m_pool ? m_pool->front().connectionCount() : 0;
}

int ChatServer::queuedCount() const
{
    return m_pool ? m_pool->front().queuedCount() : 0;
}

int ChatServer::activeRoomCount() const
{
    return m_pool ? m_pool->front().activeRoomCount() : 0;
}

int ChatServer::threadCount() const
{
    return m_pool ? m_pool->size() : m_config.threads;
}

bool ChatServer::isHealthy() const
{
    return m_storage && m_storage->isHealthy();
}

qint64 ChatServer::awayUsers() const
{
    return m_pool ? m_pool->awayUsers() : 0;
}

void ChatServer::shutdown()
{
    if (m_stopping)
        return;
    m_stopping = true;
    qCInfo(lcServer) << "shutting down";
    if (m_listener)
        m_listener->stop();
    if (m_pool) {
        m_pool->forEach([](ChatNode &node) { node.stopAccepting(); });
        if (m_storage)
            drainNodes();
        m_pool->forEach([](ChatNode &node) { node.closeAllGoingAway(); });
    }
    reportStoppedWhenClosed();
}

void ChatServer::drainNodes()
{
    const auto deliverCommitted = [](ChatNode &node) { node.deliverCommitted(); };
    // Commit what is pending and send its acks before the clients are told to go.
    m_storage->flush();
    m_pool->forEach(deliverCommitted);
    m_pool->forEach([](ChatNode &node) { node.endRoomsForShutdown(); });
    m_storage->flush();
    m_pool->forEach(deliverCommitted);
    m_pool->front().deliverCommitted(); // relayed by the other nodes just now
    m_storage->stop();
    m_moderation->stop();
}

void ChatServer::reportStoppedWhenClosed()
{
    // Give the close frames a moment to leave, then report.
    auto *poll = new QTimer(this);
    QElapsedTimer waited;
    waited.start();
    connect(poll, &QTimer::timeout, this, [this, poll, waited] {
        int open = 0;
        if (m_pool)
            m_pool->forEach([&open](ChatNode &node) { open += node.localConnectionCount(); });
        if (open > 0 && waited.elapsed() < 2000)
            return;
        poll->deleteLater();
        qCInfo(lcServer) << "stopped";
        emit stopped();
    });
    poll->start(20);
}

} // namespace anonchat::server
