#include "server/chat/chatserver.h"

#include "server/cluster/redislink.h"
#include "server/net/filelimit.h"
#include "server/net/httplistener.h"
#include "server/net/websocketintake.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QSslSocket>
#include <QTcpSocket>
#include <algorithm>
#include <limits>

Q_LOGGING_CATEGORY(lcServer, "anonchat.server", QtInfoMsg)

namespace anonchat::server {

using namespace protocol;

namespace {

/// Messages every member has been sent are kept only as a short tail (for `resume` with
/// `last_id`, and nonce dedupe); those an away member has not been sent are all kept, which the
/// rate limit bounds over the resume window.
constexpr size_t kRecentTail = 100;

template <typename... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

RateLimiter::Kind limitKind(ClientEvent event)
{
    switch (event) {
    case ClientEvent::SendMessage: return RateLimiter::Kind::Message;
    case ClientEvent::Typing: return RateLimiter::Kind::Typing;
    case ClientEvent::JoinQueue:
    case ClientEvent::LeaveQueue:
    case ClientEvent::Next: return RateLimiter::Kind::Queue;
    default: return RateLimiter::Kind::Other;
    }
}

QString nonceKey(const QString &senderId, const QString &nonce)
{
    return senderId + QLatin1Char('\n') + nonce;
}

/// The Host header as it may appear in our CSP: host name or address and port, nothing else.
QByteArray sanitisedHost(const QByteArray &host)
{
    QByteArray out;
    for (char c : host) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == ':' || c == '-' || c == '[' || c == ']')
            out += c;
        else
            return {};
    }
    return out;
}

} // namespace

ChatServer::ChatServer(ServerConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_matchmaker(m_config.interestWaitMs)
{
    m_clock.start();
    m_interestTimer.setSingleShot(true);
    connect(&m_interestTimer, &QTimer::timeout, this, [this] {
        for (const Match &match : m_matchmaker.expire(nowMs()))
            startRoom(match);
        scheduleInterestTimer();
    });
    connect(&m_sweepTimer, &QTimer::timeout, this, &ChatServer::sweep);
    // Frames queued outside a handler that flushes (an away partner, a timer, the cluster) go
    // out on the next turn of the event loop: a zero timer, no system call to arm it.
    m_flushTimer.setSingleShot(true);
    m_flushTimer.setInterval(0);
    connect(&m_flushTimer, &QTimer::timeout, this, &ChatServer::flushWrites);
    m_promoteTimer.setSingleShot(true);
    connect(&m_promoteTimer, &QTimer::timeout, this, [this] {
        const qint64 now = nowMs();
        while (!m_promotions.empty() && m_promotions.begin()->first <= now) {
            const UserKey key = m_promotions.begin()->second;
            m_promotions.erase(m_promotions.begin());
            Session *s = sessionFor(key);
            if (!s || s->state != Session::State::Queued || s->proposedAtMs >= 0)
                continue;
            m_cluster->promote(s->userId, [this, key](bool ok, std::optional<ClusterMatch> match) {
                onClusterMatch(key, ok, match, true);
            });
        }
        schedulePromotion();
    });
}

ChatServer::~ChatServer()
{
    // The workers first, each destroyed on its own thread.
    for (Worker &w : m_workers) {
        ChatServer *server = w.server;
        QMetaObject::invokeMethod(
            server, [server] { delete server; }, Qt::BlockingQueuedConnection);
        w.thread->quit();
        w.thread->wait();
        delete w.thread;
    }
    m_workers.clear();
    // Connections first: they refer to sessions.
    for (auto it = m_bySocket.cbegin(); it != m_bySocket.cend(); ++it) {
        it.key()->detach();
        delete it.key();
    }
    m_bySocket.clear();
    m_cluster.reset();
    if (m_storage && !m_isWorker)
        m_storage->stop();
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
        // WebSockets leave room for requests (the page, /healthz) even when they are all taken.
        maxWebSockets = std::min(maxWebSockets, maxOpen - std::clamp(maxOpen / 8, 8, 1024));
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

bool ChatServer::start(QString *error)
{
    m_budget = makeBudget();
    m_originLog.setInterval(m_config.refusalLogIntervalMs);
    m_awayCapLog.setInterval(m_config.refusalLogIntervalMs);
    m_listener =
        new HttpListener({m_config.maxRequestHeaderBytes, m_config.requestTimeoutMs}, this);
    m_listener->setBudget(m_budget);
    m_listener->setHostGuard(HostGuard(m_config.host, m_config.allowedOrigins));
    m_listener->setRefusalLogInterval(m_config.refusalLogIntervalMs);
    m_listener->setHandler([this](const HttpRequest &r) { return handleHttp(r); });
    m_listener->setUpgradeCheck([this](const HttpRequest &r) { return checkUpgrade(r); });
    connect(m_listener, &HttpListener::webSocketRequest, this, &ChatServer::onWebSocketRequest);
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

    // The port first: a taken port must not create or migrate a database.
    StorageConfig storageConfig;
    storageConfig.database = m_config.database;
    storageConfig.connectionName = m_config.instanceName;
    storageConfig.retentionDays = m_config.retentionDays;
    // Other servers' rooms are in it too: a restart must not close them (see onNodesDied()).
    storageConfig.sharedDatabase = !m_config.redis.isEmpty();
    m_storage = std::make_shared<StorageWriter>(storageConfig);
    m_metrics = std::make_shared<Metrics>();
    if (!m_storage->start(error)) {
        m_listener->stop();
        return false;
    }
    if (m_config.threads > 1 && m_config.redis.isEmpty())
        m_hub = std::make_shared<LocalHub>(m_config.threads, m_config.interestWaitMs);
    if (!startNode(error) || !startWorkers(error)) {
        m_listener->stop();
        m_cluster.reset();
        m_storage->stop();
        return false;
    }
    logLimits();
    qCInfo(lcServer).noquote() << "serving" << url().toString() << "database"
                               << StorageWriter::displayName(m_config.database) << "threads"
                               << m_workers.size() + 1;
    return true;
}

bool ChatServer::startNode(QString *error)
{
    ClientSocket::Limits limits;
    limits.maxMessageBytes = m_config.maxFrameBytes;
    limits.maxQueuedBytes = m_config.maxQueuedBytes;
    m_intake = new WebSocketIntake(m_config.tlsEnabled(), limits, this, this);
    connect(m_intake, &WebSocketIntake::connectionReady, this, &ChatServer::acceptConnection);
    // Every node hears every commit and takes the tickets it submitted.
    connect(m_storage.get(), &StorageWriter::committed, this, &ChatServer::onCommitted,
            Qt::QueuedConnection);
    connect(m_storage.get(), &StorageWriter::failed, this, &ChatServer::onFailed,
            Qt::QueuedConnection);
    if (!m_config.redis.isEmpty()) {
        RedisLink::Config clusterConfig;
        clusterConfig.redis = m_config.redis;
        m_cluster = std::make_unique<RedisLink>(clusterConfig);
    } else if (m_hub) {
        m_cluster = std::make_unique<LocalLink>(m_hub.get());
    }
    if (m_cluster) {
        connect(m_cluster.get(), &ClusterLink::received, this, &ChatServer::onClusterMessage);
        connect(m_cluster.get(), &ClusterLink::nodesDied, this, &ChatServer::onNodesDied);
        connect(m_cluster.get(), &ClusterLink::nodesRevived, this, &ChatServer::onNodesRevived);
        connect(m_cluster.get(), &ClusterLink::queueLost, this, [this] {
            for (const auto &[key, s] : m_sessions) {
                if (s->state == Session::State::Queued && s->connected() && s->proposedAtMs < 0)
                    clusterEnqueue(*s, false);
            }
        });
        connect(m_cluster.get(), &ClusterLink::matchedElsewhere, this,
                [this](const QString &userId, const ClusterMatch &match) {
                    if (const Session *s = sessionFor(userId))
                        onClusterMatch(s->key, true, match, true);
                });
        if (!m_cluster->start(error))
            return false;
    }
    const qint64 tick = std::min(m_config.pingIntervalMs, m_config.resumeWindowMs) / 4;
    m_sweepTimer.start(int(std::clamp<qint64>(tick, 20, 1000)));
    publishCounts();
    return true;
}

bool ChatServer::startWorkers(QString *error)
{
    for (int i = 1; i < m_config.threads; ++i) {
        auto *thread = new QThread;
        thread->setObjectName(QStringLiteral("anonchat-node-%1").arg(i + 1));
        if (m_config.dispatcherFactory)
            thread->setEventDispatcher(m_config.dispatcherFactory());
        thread->start();
        ChatServer *worker = nullptr;
        QString why;
        auto *context = new QObject;
        context->moveToThread(thread);
        QMetaObject::invokeMethod(
            context,
            [&, context] {
                worker = new ChatServer(m_config);
                worker->m_isWorker = true;
                worker->m_storage = m_storage;
                worker->m_metrics = m_metrics;
                worker->m_budget = m_budget;
                worker->m_hub = m_hub;
                if (!worker->startNode(&why)) {
                    delete worker;
                    worker = nullptr;
                }
                delete context;
            },
            Qt::BlockingQueuedConnection);
        if (!worker) {
            thread->quit();
            thread->wait();
            delete thread;
            *error = why;
            return false;
        }
        m_workers.push_back({thread, worker});
    }
    return true;
}

void ChatServer::forEachWorker(const std::function<void(ChatServer &)> &call)
{
    for (const Worker &w : m_workers) {
        ChatServer *server = w.server;
        QMetaObject::invokeMethod(
            server, [server, &call] { call(*server); }, Qt::BlockingQueuedConnection);
    }
}

int ChatServer::connectionCount() const
{
    return m_cluster ? int(std::max<qint64>(m_cluster->stats().online, localConnectionCount()))
                     : localConnectionCount();
}

int ChatServer::queuedCount() const
{
    return m_cluster ? int(m_cluster->stats().queued) : m_matchmaker.queuedCount();
}

int ChatServer::activeRoomCount() const
{
    return m_cluster ? int(m_cluster->stats().activeRooms) : localActiveRooms();
}

void ChatServer::publishCounts()
{
    m_awayUsers.store(qint64(m_sessions.size()) - localConnectionCount(),
                      std::memory_order_relaxed);
    if (m_cluster)
        m_cluster->setLocalCounts(localConnectionCount(), localActiveRooms());
}

void ChatServer::addRoom(const Room &room)
{
    m_rooms.insert(room.id, room);
    if (!room.owned)
        ++m_foreignRooms;
    publishCounts();
}

void ChatServer::removeRoom(QHash<qint64, Room>::iterator it)
{
    if (it->ending)
        --m_endingRooms;
    else if (!it->owned)
        --m_foreignRooms;
    m_rooms.erase(it);
    publishCounts();
}

void ChatServer::markEnding(Room &room)
{
    room.ending = true;
    ++m_endingRooms;
    if (!room.owned)
        --m_foreignRooms;
    publishCounts();
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

// ---- HTTP ---------------------------------------------------------------------------------

HttpResponse ChatServer::handleHttp(const HttpRequest &request)
{
    if (request.path == "/healthz") {
        const bool healthy = m_storage && m_storage->isHealthy() && !m_stopping;
        HttpResponse r;
        r.status = healthy ? 200 : 503;
        r.contentType = "application/json";
        r.headers.emplace_back("Cache-Control", "no-store");
        r.body = QJsonDocument(QJsonObject{{"status", healthy ? "ok" : "unavailable"},
                                           {"database", healthy ? "ok" : "unavailable"},
                                           {"connections", connectionCount()},
                                           {"queued", queuedCount()},
                                           {"active_rooms", activeRoomCount()}})
                     .toJson(QJsonDocument::Compact);
        return r;
    }
    if (request.path == "/metrics") {
        MetricsGauges gauges;
        gauges.connections = connectionCount();
        gauges.queuedUsers = queuedCount();
        gauges.activeRooms = activeRoomCount();
        gauges.awayUsers = m_awayUsers.load(std::memory_order_relaxed);
        for (const Worker &w : m_workers)
            gauges.awayUsers += w.server->m_awayUsers.load(std::memory_order_relaxed);
        HttpResponse r;
        r.contentType = "text/plain; version=0.0.4; charset=utf-8";
        r.headers.emplace_back("Cache-Control", "no-store");
        r.body = m_metrics->render(gauges);
        return r;
    }
    HttpResponse r = staticResource(request.path);
    if (r.status == 200 && r.contentType.startsWith("text/html")) {
        QByteArray host = sanitisedHost(request.header("host"));
        if (host.isEmpty())
            host = url().authority().toLatin1();
        r.headers.emplace_back("Content-Security-Policy",
                               "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self' ws://" +
                                   host + " wss://" + host +
                                   "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    }
    return r;
}

int ChatServer::checkUpgrade(const HttpRequest &request)
{
    if (m_stopping)
        return 503;
    const QByteArray origin = request.header("origin");
    if (origin.isEmpty())
        return 0; // native clients send none
    const QString o = QString::fromLatin1(origin).toLower();
    const QString host = QString::fromLatin1(request.header("host")).toLower();
    if (!host.isEmpty() &&
        (o == QLatin1String("http://") + host || o == QLatin1String("https://") + host))
        return 0;
    for (const QString &allowed : m_config.allowedOrigins) {
        QString a = allowed.toLower();
        while (a.endsWith(QLatin1Char('/')))
            a.chop(1);
        if (o == a)
            return 0;
    }
    int suppressed = 0;
    if (m_originLog.shouldLog(request.peer, nowMs(), &suppressed))
        qCInfo(lcServer).nospace() << "refused a WebSocket from a foreign origin; " << suppressed
                                   << " more from that address were refused unlogged since";
    return 403;
}

void ChatServer::onWebSocketRequest(QTcpSocket *socket)
{
    const size_t node = m_nextNode++ % (m_workers.size() + 1);
    ChatServer *target = node == 0 ? this : m_workers[node - 1].server;
    // The socket (its request head unread in its buffer; with TLS, the encrypted QSslSocket)
    // goes to the node's thread. Not from here: we are inside the socket's own readyRead
    // emission, which goes on using it after we return.
    QThread *thread = target->thread();
    QPointer<QTcpSocket> guard(socket);
    QMetaObject::invokeMethod(
        this,
        [target, thread, guard] {
            if (!guard)
                return;
            QTcpSocket *tcp = guard.data();
            tcp->setParent(nullptr);
            if (thread != QThread::currentThread())
                tcp->moveToThread(thread);
            QMetaObject::invokeMethod(
                target, [target, tcp] { target->adoptSocket(tcp); }, Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

void ChatServer::adoptSocket(QTcpSocket *socket)
{
    if (m_stopping) {
        socket->abort();
        socket->deleteLater();
        return;
    }
    m_intake->take(socket);
}

// ---- connections ----------------------------------------------------------------------------

void ChatServer::acceptConnection(ClientSocket *ws)
{
    ws->setParent(this);
    m_metrics->countConnection();
    // One address may not take the whole server (--max-connections-per-address).
    if (m_stopping || !m_budget->admit(ws->peerAddress())) {
        if (!m_stopping) {
            m_metrics->countError(ErrorCode::ServerBusy);
            ws->sendText(encode(ServerMessage(
                Error{ErrorCode::ServerBusy, tr("the server is full, try again later"), {}})));
        }
        closeSocket(ws, m_stopping ? WsCloseGoingAway : WsCloseTryAgainLater,
                    m_stopping ? tr("server shutting down") : tr("server busy"));
        return; // not in m_bySocket: disconnected() deletes it
    }
    ws->setAdmitted(true);
    Session *s = createSession(ws);
    Welcome welcome;
    welcome.userId = s->userId;
    welcome.resumeToken = s->resumeToken;
    welcome.online = connectionCount();
    send(*s, welcome);
    flushWrites();
}

void ChatServer::textReceived(ClientSocket *connection, const QByteArray &utf8)
{
    if (Session *session = sessionFor(m_bySocket.value(connection)))
        onText(session, utf8);
    if (m_frameHook)
        m_frameHook(connection->peerPort(), utf8);
    flushWrites();
}

void ChatServer::binaryReceived(ClientSocket *connection)
{
    if (Session *session = sessionFor(m_bySocket.value(connection)))
        onBinary(session);
    flushWrites();
}

void ChatServer::pongReceived(ClientSocket *connection)
{
    if (Session *session = sessionFor(m_bySocket.value(connection))) {
        session->lastHeardMs = nowMs();
        session->pingOutstanding = false;
    }
}

Session *ChatServer::createSession(ClientSocket *socket)
{
    auto session = std::make_unique<Session>();
    UserKey key = 0;
    do {
        key = QRandomGenerator::global()->generate();
        if (m_cluster) // cluster-unique: the top byte is this server's node number
            key = quint32(m_cluster->nodeId() & 0xff) << 24 | (key & 0xffffff);
    } while (key == 0 || m_sessions.count(key));
    session->key = key;
    session->userId = QStringLiteral("%1").arg(key, 8, 16, QLatin1Char('0'));
    session->resumeToken = newResumeToken();
    session->socket = socket;
    session->address = addressKey(socket->peerAddress());
    session->lastHeardMs = nowMs();
    session->limiter = RateLimiter(m_config.rateLimit, nowMs());
    m_byToken.insert(session->resumeToken, key);
    m_bySocket.insert(socket, key);
    if (m_cluster)
        m_cluster->registerToken(session->resumeToken, session->userId);
    Session *raw = session.get();
    m_sessions.emplace(key, std::move(session));
    publishCounts();
    return raw;
}

void ChatServer::destroySession(UserKey key, bool forgetInCluster)
{
    auto it = m_sessions.find(key);
    if (it == m_sessions.end())
        return;
    uncountAway(*it->second);
    m_byToken.remove(it->second->resumeToken);
    if (!m_cluster)
        m_matchmaker.forget(key);
    else if (forgetInCluster)
        m_cluster->forget(it->second->userId, it->second->resumeToken);
    m_sessions.erase(it);
    publishCounts();
}

Session *ChatServer::sessionFor(const QString &userId) const
{
    bool ok = false;
    const UserKey key = userId.toUInt(&ok, 16);
    Session *s = ok ? sessionFor(key) : nullptr;
    return s && s->userId == userId ? s : nullptr;
}

Session *ChatServer::sessionFor(UserKey key) const
{
    auto it = m_sessions.find(key);
    return it == m_sessions.end() ? nullptr : it->second.get();
}

QString ChatServer::newResumeToken() const
{
    QByteArray bytes(24, Qt::Uninitialized); // 192 bits
    QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(bytes.data()),
                                          bytes.size() / 4);
    return QString::fromLatin1(
        bytes.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
}

void ChatServer::disconnected(ClientSocket *socket)
{
    socket->deleteLater();
    if (socket->admitted())
        m_budget->release(socket->peerAddress());
    const auto it = m_bySocket.find(socket);
    if (it == m_bySocket.end())
        return; // replaced by a resume, or never a session
    const UserKey key = it.value();
    m_bySocket.erase(it);
    publishCounts();
    Session *s = sessionFor(key);
    if (!s || s->socket != socket)
        return;
    s->socket = nullptr;
    s->awaySinceMs = nowMs();
    qCDebug(lcServer) << "user away" << s->userId;
    if (m_stopping)
        return;
    if (s->state == Session::State::Queued) {
        if (m_cluster)
            m_cluster->dequeue(s->userId);
        else
            m_matchmaker.remove(key); // never matched while away
        s->state = Session::State::Idle;
        s->proposedAtMs = -1;
        scheduleInterestTimer();
    }
    if (s->state == Session::State::Idle && !s->everMatched && !s->sawFirstEvent) {
        // A connection that never did anything has nothing to resume: free it now, so bare
        // connection churn keeps no memory for the resume window.
        destroySession(key);
        return;
    }
    if (s->state == Session::State::InRoom) {
        setTyping(*s, false);
        updatePlace(*s); // what it was sent, for a resume elsewhere
        if (Session *partner = partnerInRoom(*s))
            send(*partner, PartnerAway{s->roomId});
        else if (const auto room = m_rooms.constFind(s->roomId); room != m_rooms.cend())
            tellRemote(*room, QStringLiteral("away"));
    }
    countAway(*s); // last: may destroy it
}

void ChatServer::countAway(Session &s)
{
    if (s.awaySerial != 0)
        return;
    // Per address (--max-connections-per-address); without that cap (behind a proxy every user
    // has one address) in all, at --max-connections.
    const bool perAddress = m_config.maxConnectionsPerAddress > 0;
    const QHostAddress key = perAddress ? s.address : QHostAddress();
    const int cap = perAddress ? m_config.maxConnectionsPerAddress : m_budget->maxTotal();
    s.awaySerial = ++m_lastAwaySerial;
    std::map<quint64, UserKey> &away = m_awayByAddress[key];
    away.emplace(s.awaySerial, s.key);
    if (m_budget->addAway(key) <= cap)
        return;
    // Over the cap: the longest away of this address on this node goes, one without a room
    // first, so that a real user behind a busy NAT keeps a chat while churn loses identities.
    UserKey victim = away.begin()->second;
    for (const auto &[serial, candidate] : away) {
        const Session *c = sessionFor(candidate);
        if (c && c->state != Session::State::InRoom) {
            victim = candidate;
            break;
        }
    }
    int suppressed = 0;
    if (m_awayCapLog.shouldLog(key, nowMs(), &suppressed))
        qCInfo(lcServer).nospace()
            << "more than " << cap << " users away"
            << (perAddress ? " from one address (--max-connections-per-address)"
                           : " (--max-connections)")
            << ": dropped the longest away; " << suppressed << " more dropped unlogged since";
    expireAway(victim);
}

void ChatServer::uncountAway(Session &s)
{
    if (s.awaySerial == 0)
        return;
    const QHostAddress key = m_config.maxConnectionsPerAddress > 0 ? s.address : QHostAddress();
    m_budget->removeAway(key);
    const auto it = m_awayByAddress.find(key);
    if (it != m_awayByAddress.end()) {
        it->erase(s.awaySerial);
        if (it->empty())
            m_awayByAddress.erase(it);
    }
    s.awaySerial = 0;
}

void ChatServer::expireAway(UserKey key)
{
    Session *s = sessionFor(key);
    if (!s || s->connected())
        return;
    if (s->state == Session::State::InRoom)
        endRoom(s->roomId, key, LeaveReason::Disconnected, QStringLiteral("disconnected"));
    destroySession(key);
}

void ChatServer::sweep()
{
    const qint64 now = nowMs();
    QVector<ClientSocket *> dead;
    QVector<UserKey> expired;
    const qint64 monotonic = QDeadlineTimer::current().deadline();
    for (const auto &[key, s] : m_sessions) {
        if (s->connected()) {
            // Anything from the client counts, its own pings included.
            const qint64 silent =
                std::min(now - s->lastHeardMs, monotonic - s->socket->lastReadMs());
            const qint64 incomplete = s->socket->incompleteSinceMs();
            // A frame begun and not finished in time (PROTOCOL.md: 10 s, like a request head).
            if (incomplete >= 0 && monotonic - incomplete >= m_config.requestTimeoutMs) {
                qCDebug(lcServer) << "a frame not finished in time, closing";
                closeSocket(s->socket, WsClosePolicyViolated, tr("frame not finished in time"));
            } else if (silent >= m_config.pingTimeoutMs) {
                dead.append(s->socket);
            } else if (silent >= m_config.pingIntervalMs && !s->pingOutstanding) {
                s->pingOutstanding = true;
                s->socket->ping();
            }
        } else if (now - s->awaySinceMs >= m_config.resumeWindowMs) {
            expired.append(key);
        }
    }
    for (ClientSocket *ws : dead) {
        qCDebug(lcServer) << "no pong within the timeout, dropping";
        ws->abort(); // disconnected() follows: the user becomes away
    }
    for (UserKey key : expired)
        expireAway(key);
    if (m_cluster)
        clusterSweep(now);
}

// ---- frames ---------------------------------------------------------------------------------

void ChatServer::onText(Session *session, const QByteArray &utf8)
{
    if (m_stopping)
        return; // storage is closed; the client reconnects to the next server and resumes
    Session &s = *session;
    const qint64 now = nowMs();
    s.lastHeardMs = now;
    if (s.resuming) {
        // A resume naming another server's user is under way: what this connection is, is
        // not settled yet (clients wait for `resumed`).
        sendError(s, ErrorCode::ResumeFailed, tr("a resume is under way; wait for its answer"));
        return;
    }
    s.pingOutstanding = false;
    const bool first = !s.sawFirstEvent;
    s.sawFirstEvent = true;

    // The connection has checked the UTF-8.
    ClientDecodeResult decoded = decodeCheckedClientFrame(utf8);
    if (const auto *error = std::get_if<DecodeError>(&decoded)) {
        sendError(s, error->code, error->message, error->event);
        if (s.connected() && s.limiter.strike(now))
            closeSocket(s.socket, WsClosePolicyViolated, tr("too many invalid frames"));
        return;
    }
    const ClientMessage &message = std::get<ClientMessage>(decoded);
    const ClientEvent event = eventOf(message);
    if (const qint64 retry = s.limiter.check(limitKind(event), now)) {
        sendError(s, ErrorCode::RateLimited, tr("slow down"), eventName(event), retry);
        if (s.connected() && s.limiter.strike(now))
            closeSocket(s.socket, WsClosePolicyViolated, tr("rate limit exceeded"));
        return;
    }
    if (event == ClientEvent::Resume) {
        if (!first) {
            sendError(s, ErrorCode::ResumeFailed, tr("resume must be the first event"),
                      eventName(event));
            return;
        }
        handle(s, std::get<Resume>(message)); // may destroy `s`
        return;
    }
    std::visit([this, &s](const auto &m) { handle(s, m); }, message);
}

void ChatServer::onBinary(Session *session)
{
    Session &s = *session;
    s.lastHeardMs = nowMs();
    sendError(s, ErrorCode::BadFrame, tr("binary frames are not supported; send JSON text"));
    if (s.connected() && s.limiter.strike(nowMs()))
        closeSocket(s.socket, WsClosePolicyViolated, tr("too many invalid frames"));
}

void ChatServer::send(Session &s, const ServerMessage &message)
{
    if (s.socket)
        sendFrame(s, encode(message));
}

void ChatServer::sendFrame(Session &s, const QByteArray &utf8)
{
    ClientSocket *ws = s.socket;
    if (!ws)
        return;
    ws->sendText(utf8); // closes a client that does not read (1008)
    if (!ws->isOpen())
        return;
    if (m_unflushed.empty() || m_unflushed.back() != ws) {
        if (m_unflushed.empty() && !m_flushTimer.isActive())
            m_flushTimer.start(); // a frame sent outside the handlers that flush at their end
        m_unflushed.emplace_back(ws);
    }
}

void ChatServer::flushWrites()
{
    // A failed write reports disconnected() later, from the event loop: nothing re-enters here.
    // What a socket does not take now goes out when it is next writable.
    std::vector<QPointer<ClientSocket>> sockets;
    sockets.swap(m_unflushed);
    for (const QPointer<ClientSocket> &ws : sockets) {
        if (ws)
            ws->flush();
    }
    m_flushTimer.stop();
}

void ChatServer::sendError(Session &s, ErrorCode code, const QString &message, const QString &event,
                           qint64 retryAfterMs)
{
    m_metrics->countError(code);
    send(s, Error{code, message, event, retryAfterMs});
}

void ChatServer::closeSocket(ClientSocket *socket, int code, const QString &reason)
{
    // The close frame (then FIN, on plain TCP); the connection reads on until the client
    // answers (a client still sending meets no reset that could swallow the frame), at most two
    // seconds.
    socket->close(code, reason);
}

Waiting ChatServer::waitingInfo() const
{
    if (m_cluster)
        // Cluster totals are as of the last heartbeat; the user asking is queued itself.
        return Waiting{connectionCount(), int(std::max<qint64>(m_cluster->stats().queued, 1))};
    return Waiting{connectionCount(), queuedCount()};
}

// ---- events ---------------------------------------------------------------------------------

void ChatServer::handle(Session &s, const JoinQueue &m)
{
    if (s.state == Session::State::InRoom) {
        sendError(s, ErrorCode::AlreadyInRoom, tr("already in a room: use next"),
                  eventName(ClientEvent::JoinQueue));
        return;
    }
    joinQueue(s, m.interests);
}

void ChatServer::joinQueue(Session &s, const QStringList &interests)
{
    if (s.state == Session::State::Queued) {
        send(s, waitingInfo()); // idempotent
        return;
    }
    s.interests = interests;
    s.state = Session::State::Queued;
    if (m_cluster) {
        clusterEnqueue(s);
        return;
    }
    if (std::optional<Match> match = m_matchmaker.enqueue(s.key, interests, nowMs()))
        startRoom(*match);
    else
        send(s, waitingInfo());
    scheduleInterestTimer();
}

void ChatServer::handle(Session &s, const LeaveQueue &)
{
    if (s.state != Session::State::Queued) {
        sendError(s, ErrorCode::NotInQueue, tr("not in the queue"),
                  eventName(ClientEvent::LeaveQueue));
        return;
    }
    if (m_cluster)
        m_cluster->dequeue(s.userId);
    else
        m_matchmaker.remove(s.key);
    s.state = Session::State::Idle;
    s.proposedAtMs = -1;
    send(s, QueueLeft{});
    scheduleInterestTimer();
}

void ChatServer::handle(Session &s, const SendMessage &m)
{
    if (s.state != Session::State::InRoom) {
        sendError(s, ErrorCode::NotInRoom, tr("not in a room"),
                  eventName(ClientEvent::SendMessage));
        return;
    }
    Room &room = m_rooms[s.roomId];
    QString key;
    if (!m.nonce.isEmpty()) {
        key = nonceKey(s.userId, m.nonce);
        const auto stored = room.byNonce.constFind(key);
        if (stored != room.byNonce.cend()) {
            send(s, *stored); // the ack again; the partner gets nothing new
            return;
        }
        if (room.pendingNonces.contains(key))
            return; // its commit will ack it
    }
    NewMessage message;
    message.id = m_storage->nextMessageId();
    message.roomId = room.id;
    message.senderId = s.userId;
    message.content = m.content;
    message.timestamp = QDateTime::currentDateTimeUtc();
    message.nonce = m.nonce;
    const quint64 ticket =
        m_storage->submit(MessageRow{message.id, message.roomId, message.senderId, message.content,
                                     message.timestamp, message.nonce});
    m_pending.insert(ticket, PendingMessage{message, s.key, key});
    ++room.pendingMessages;
    if (!key.isEmpty())
        room.pendingNonces.insert(key, ticket);
    setTyping(s, false);
}

void ChatServer::handle(Session &s, const Typing &m)
{
    if (s.state != Session::State::InRoom) {
        sendError(s, ErrorCode::NotInRoom, tr("not in a room"), eventName(ClientEvent::Typing));
        return;
    }
    s.typing = m.typing;
    if (Session *partner = partnerInRoom(s))
        send(*partner, PartnerTyping{m.typing});
    else
        tellRemote(m_rooms[s.roomId], QStringLiteral("typing"), {{"typing", m.typing}});
}

void ChatServer::setTyping(Session &s, bool typing)
{
    if (s.typing == typing)
        return;
    s.typing = typing;
    if (s.state != Session::State::InRoom)
        return;
    if (Session *partner = partnerInRoom(s))
        send(*partner, PartnerTyping{typing});
    else if (const auto room = m_rooms.constFind(s.roomId); room != m_rooms.cend())
        tellRemote(*room, QStringLiteral("typing"), {{"typing", typing}});
}

void ChatServer::handle(Session &s, const LeaveRoom &)
{
    if (s.state != Session::State::InRoom) {
        sendError(s, ErrorCode::NotInRoom, tr("not in a room"), eventName(ClientEvent::LeaveRoom));
        return;
    }
    endRoom(s.roomId, s.key, LeaveReason::Left, QStringLiteral("left"));
}

void ChatServer::handle(Session &s, const Next &m)
{
    if (s.state == Session::State::InRoom)
        endRoom(s.roomId, s.key, LeaveReason::Next, QStringLiteral("next"));
    joinQueue(s, m.interests);
}

void ChatServer::handle(Session &s, const Report &m)
{
    if (s.state != Session::State::InRoom) {
        sendError(s, ErrorCode::NotInRoom, tr("not in a room"), eventName(ClientEvent::Report));
        return;
    }
    const Room &room = m_rooms[s.roomId];
    const UserKey partnerKey = room.partnerOf(s.key);
    const Session *partner = sessionFor(partnerKey);
    const QString partnerId = partner                           ? partner->userId
                              : room.remoteMember == partnerKey ? room.remoteUserId
                                                                : QString();
    if (m_cluster)
        m_cluster->block(s.userId, partnerId);
    else
        m_matchmaker.block(s.key, partnerKey);
    const quint64 ticket = m_storage->submit(
        ReportRow{room.id, s.userId, partnerId, m.reason, QDateTime::currentDateTimeUtc()});
    m_pending.insert(ticket, PendingReport{s.key, room.id});
}

void ChatServer::handle(Session &s, const Resume &m)
{
    const UserKey oldKey = m_byToken.value(m.resumeToken);
    Session *old = sessionFor(oldKey);
    if (!old && m_cluster) {
        resumeFromCluster(s, m); // a user of another server, or of one that is gone
        return;
    }
    if (!old || old == &s) {
        sendError(s, ErrorCode::ResumeFailed, tr("unknown, expired or already used token"),
                  eventName(ClientEvent::Resume));
        return;
    }
    ClientSocket *ws = s.socket;
    // The old connection may not have been noticed dead yet: this one replaces it.
    if (old->socket) {
        ClientSocket *stale = old->socket;
        m_bySocket.remove(stale);
        closeSocket(stale, WsCloseNormal, tr("resumed elsewhere"));
    }
    m_byToken.remove(old->resumeToken);
    if (m_cluster)
        m_cluster->dropToken(old->resumeToken);
    old->resumeToken = newResumeToken();
    m_byToken.insert(old->resumeToken, old->key);
    if (m_cluster)
        m_cluster->registerToken(old->resumeToken, old->userId);
    old->socket = ws;
    old->lastHeardMs = nowMs();
    old->pingOutstanding = false;
    old->sawFirstEvent = true;
    const bool wasAway = old->awaySinceMs >= 0;
    old->awaySinceMs = -1;
    uncountAway(*old);
    old->address = addressKey(ws->peerAddress());
    m_bySocket.insert(ws, old->key);
    destroySession(s.key); // the provisional identity from this connection's welcome

    const auto room = m_rooms.constFind(old->roomId);
    sendResumed(*old,
                old->state == Session::State::InRoom && room != m_rooms.cend() ? &*room : nullptr,
                m.lastId >= 0 ? m.lastId : old->lastSentMessageId, wasAway);
}

/// The messages after `lastId`: those following it in the room's order (ids from several
/// servers need not rise with that order), or, when it is not there, those with a higher id.
QVector<NewMessage> messagesAfter(const std::deque<NewMessage> &recent, qint64 lastId)
{
    auto from = std::find_if(recent.cbegin(), recent.cend(),
                             [lastId](const NewMessage &m) { return m.id == lastId; });
    QVector<NewMessage> out;
    if (from != recent.cend()) {
        for (auto it = std::next(from); it != recent.cend(); ++it)
            out.append(*it);
        return out;
    }
    for (const NewMessage &m : recent) {
        if (m.id > lastId)
            out.append(m);
    }
    return out;
}

void ChatServer::sendResumed(Session &user, const Room *room, qint64 lastId, bool wasAway)
{
    Resumed resumed;
    resumed.userId = user.userId;
    resumed.resumeToken = user.resumeToken;
    if (room) {
        ResumedRoom rr;
        rr.roomId = room->id;
        const Session *partner = sessionFor(room->partnerOf(user.key));
        rr.partnerId = partner ? partner->userId : room->remoteUserId;
        for (NewMessage copy : messagesAfter(room->recent, lastId)) {
            if (copy.senderId != user.userId)
                copy.nonce.clear();
            user.lastSentMessageId = std::max(user.lastSentMessageId, copy.id);
            rr.messages.append(copy);
        }
        resumed.room = rr;
    }
    send(user, resumed);
    if (room && wasAway) {
        if (Session *partner = partnerInRoom(user))
            send(*partner, PartnerBack{room->id});
        else
            tellRemote(*room, QStringLiteral("back"));
    }
    updatePlace(user);
}

void ChatServer::handle(Session &s, const GetStats &)
{
    send(s, Stats{connectionCount(), queuedCount(), activeRoomCount()});
}

// ---- rooms ----------------------------------------------------------------------------------

void ChatServer::startRoom(const Match &match)
{
    Session *a = sessionFor(match.first);
    Session *b = sessionFor(match.second);
    if (!a || !b) {
        qCWarning(lcServer) << "matchmaker paired an unknown user";
        return;
    }
    Room room;
    room.id = m_storage->nextRoomId();
    if (room.id == 0) {
        // No id to be had (PostgreSQL away for long): nobody is paired, both may try again.
        for (Session *s : {a, b})
            databaseUnavailable(*s);
        return;
    }
    room.members[0] = a->key;
    room.members[1] = b->key;
    room.commonInterests = match.commonInterests;
    const quint64 ticket =
        m_storage->submit(RoomRow{room.id, a->userId, b->userId, QDateTime::currentDateTimeUtc()});
    m_pending.insert(ticket, PendingRoom{room.id});
    addRoom(room);
    for (Session *s : {a, b}) {
        s->everMatched = true;
        s->state = Session::State::InRoom;
        s->roomId = room.id;
        s->typing = false;
        s->lastSentMessageId = 0;
    }
    send(*a, Matched{room.id, b->userId, match.commonInterests});
    send(*b, Matched{room.id, a->userId, match.commonInterests});
    updatePlace(*a);
    updatePlace(*b);
}

void ChatServer::endRoom(qint64 roomId, UserKey leaver, LeaveReason reason,
                         const QString &storedReason)
{
    // A typist who leaves stops typing (PROTOCOL.md, `typing`): the partner hears false first.
    if (Session *typist = sessionFor(leaver); typist && typist->roomId == roomId)
        setTyping(*typist, false);
    const auto it = m_rooms.find(roomId);
    if (it == m_rooms.end())
        return;
    Room &room = it.value();
    // The partner already left (its end is being stored): this user hears that, as it would
    // have a moment later, instead of a room_left of its own.
    const bool partnerLeftFirst = room.ending;
    if (!room.ending) {
        markEnding(room);
        room.endReason = reason;
        const quint64 ticket =
            m_storage->submit(RoomEnd{roomId, QDateTime::currentDateTimeUtc(), storedReason});
        m_pending.insert(ticket, PendingRoomEnd{roomId});
        if (!m_cluster) {
            m_matchmaker.setPreviousPartners(room.members[0], room.members[1]);
        } else {
            const Session *a = sessionFor(room.members[0]);
            const Session *b = sessionFor(room.members[1]);
            const QString idA = a ? a->userId : room.remoteUserId;
            const QString idB = b ? b->userId : room.remoteUserId;
            if (!idA.isEmpty() && !idB.isEmpty() && idA != idB)
                m_cluster->setPreviousPartners(idA, idB);
        }
    }
    // The leaver is out at once (it may queue again right away); the partner stays until the
    // end is stored, so the messages it sent or was sent before it arrive before partner_left.
    if (Session *s = sessionFor(leaver); s && s->roomId == roomId) {
        s->state = Session::State::Idle;
        s->roomId = 0;
        s->typing = false;
        if (partnerLeftFirst)
            send(*s, PartnerLeft{roomId, room.endReason});
        else
            send(*s, RoomLeft{roomId});
        updatePlace(*s);
    }
}

void ChatServer::finishRoom(qint64 roomId, bool roomStored)
{
    const auto it = m_rooms.find(roomId);
    if (it == m_rooms.end())
        return;
    const Room room = it.value();
    removeRoom(it);
    // The member on another server hears it from there.
    tellRemote(
        room, QStringLiteral("left"),
        {{"reason", leaveReasonName(roomStored ? room.endReason : LeaveReason::Disconnected)}});
    for (UserKey key : room.members) {
        Session *s = sessionFor(key);
        if (!s || s->roomId != roomId)
            continue;
        s->state = Session::State::Idle;
        s->roomId = 0;
        s->typing = false;
        updatePlace(*s);
        if (roomStored) {
            send(*s, PartnerLeft{roomId, room.endReason});
        } else {
            sendError(*s, ErrorCode::Internal, tr("the room could not be stored"),
                      eventName(ClientEvent::JoinQueue));
            send(*s, RoomLeft{roomId});
        }
    }
}

void ChatServer::databaseUnavailable(Session &s)
{
    s.state = Session::State::Idle;
    s.proposedAtMs = -1;
    sendError(s, ErrorCode::Internal, tr("the database is unavailable, try again"),
              eventName(ClientEvent::JoinQueue));
}

Session *ChatServer::partnerInRoom(const Session &s) const
{
    const auto it = m_rooms.constFind(s.roomId);
    if (s.state != Session::State::InRoom || it == m_rooms.cend())
        return nullptr;
    Session *partner = sessionFor(it->partnerOf(s.key));
    return partner && partner->roomId == s.roomId ? partner : nullptr;
}

void ChatServer::scheduleInterestTimer()
{
    const std::optional<qint64> deadline = m_matchmaker.nextDeadline();
    if (!deadline) {
        m_interestTimer.stop();
        return;
    }
    m_interestTimer.start(int(std::max<qint64>(0, *deadline - nowMs())));
}

// ---- storage results ------------------------------------------------------------------------

std::optional<ChatServer::Pending> ChatServer::takePending(quint64 ticket)
{
    const auto it = m_pending.find(ticket);
    if (it == m_pending.end())
        return std::nullopt;
    Pending pending = std::move(it.value());
    m_pending.erase(it);
    return pending;
}

void ChatServer::onCommitted(const QVector<quint64> &tickets, double seconds)
{
    const FlushAtEnd flushAtEnd{this};
    if (!m_isWorker)
        m_metrics->recordCommit(seconds);
    for (quint64 ticket : tickets) {
        const std::optional<Pending> pending = takePending(ticket);
        if (!pending)
            continue;
        std::visit(Overloaded{
                       [this](const PendingMessage &p) {
                           m_metrics->addStored(1);
                           deliver(p);
                       },
                       [this](const PendingReport &p) {
                           if (Session *s = sessionFor(p.reporter))
                               send(*s, Reported{p.roomId});
                       },
                       [this](const PendingRoom &p) {
                           if (p.acceptNode && m_cluster)
                               m_cluster->sendTo(p.acceptNode, p.accept);
                       },
                       [this](const PendingRoomEnd &p) { finishRoom(p.roomId); },
                   },
                   *pending);
    }
}

void ChatServer::deliver(const PendingMessage &pending)
{
    const NewMessage &message = pending.message;
    const auto roomIt = m_rooms.find(message.roomId);
    Session *sender = sessionFor(pending.sender);
    if (roomIt == m_rooms.end()) {
        // The room ended while the message was being stored: it is stored, so ack it.
        if (sender)
            send(*sender, message);
        return;
    }
    Room &room = roomIt.value();
    --room.pendingMessages;
    if (!pending.nonceKey.isEmpty()) {
        room.pendingNonces.remove(pending.nonceKey);
        room.byNonce.insert(pending.nonceKey, message);
    }
    room.recent.push_back(message);
    // One serialisation for both copies: the sender's carries the nonce (its ack).
    const NewMessageFrames frames = encodeNewMessage(message);
    qint64 sentToAll = message.id;
    for (UserKey key : room.members) {
        Session *s = sessionFor(key);
        if (s && s->connected() && s->roomId == room.id) {
            sendFrame(*s, key == pending.sender ? frames.sender : frames.partner);
            s->lastSentMessageId = std::max(s->lastSentMessageId, message.id);
        }
        // Away: resume sends it.
        if (s || key != room.remoteMember)
            sentToAll = std::min(sentToAll, s ? s->lastSentMessageId : 0);
    }
    // The member on another server: its server keeps the message (with its nonce, for a resume
    // there) and sends it on.
    if (room.remoteMember) {
        tellRemote(room, QStringLiteral("msg"), {{"mid", message.id}},
                   RelayedMessage{message, frames.partner, frames.sender});
    }
    while (room.recent.size() > kRecentTail && room.recent.front().id <= sentToAll) {
        const NewMessage &old = room.recent.front();
        if (!old.nonce.isEmpty())
            room.byNonce.remove(nonceKey(old.senderId, old.nonce));
        room.recent.pop_front();
    }
    if (room.remoteLeft && room.pendingMessages == 0)
        onRemoteLeft(room, *room.remoteLeft); // may remove `room`: last
}

void ChatServer::onFailed(const QVector<quint64> &tickets, const QString &error)
{
    qCWarning(lcServer) << "storage failed:" << error;
    for (quint64 ticket : tickets) {
        const std::optional<Pending> pending = takePending(ticket);
        if (!pending)
            continue;
        std::visit(
            Overloaded{
                [this](const PendingMessage &p) {
                    const auto room = m_rooms.find(p.message.roomId);
                    if (room != m_rooms.end() && !p.nonceKey.isEmpty())
                        room->pendingNonces.remove(p.nonceKey);
                    if (room != m_rooms.end() && --room->pendingMessages == 0 && room->remoteLeft)
                        onRemoteLeft(*room, *room->remoteLeft);
                    if (Session *s = sessionFor(p.sender))
                        sendError(*s, ErrorCode::Internal,
                                  tr("the message could not be stored; it was not sent"),
                                  eventName(ClientEvent::SendMessage));
                },
                [this](const PendingReport &p) {
                    if (Session *s = sessionFor(p.reporter))
                        sendError(*s, ErrorCode::Internal, tr("the report could not be stored"),
                                  eventName(ClientEvent::Report));
                },
                [this](const PendingRoomEnd &p) { finishRoom(p.roomId); },
                [this](const PendingRoom &p) {
                    // Without its row the room cannot hold messages: end it for both.
                    finishRoom(p.roomId, false);
                    if (p.acceptNode && m_cluster) // its user goes back to the queue
                        m_cluster->sendTo(p.acceptNode,
                                          {{QStringLiteral("t"), QStringLiteral("requeue")},
                                           {QStringLiteral("to"), p.accept.value("to")}});
                },
            },
            *pending);
    }
}

// ---- shutdown -------------------------------------------------------------------------------

void ChatServer::shutdown()
{
    if (m_stopping || m_isWorker)
        return;
    m_stopping = true;
    qCInfo(lcServer) << "shutting down";
    if (m_listener)
        m_listener->stop();
    const auto stopTimers = [](ChatServer &node) {
        node.m_stopping = true;
        node.m_sweepTimer.stop();
        node.m_interestTimer.stop();
        node.m_promoteTimer.stop();
    };
    stopTimers(*this);
    forEachWorker(stopTimers);
    // Every node delivers the commits (acks) that have arrived for it, and what the other
    // nodes relayed to it meanwhile.
    const auto deliverCommitted = [](ChatServer &node) {
        QCoreApplication::sendPostedEvents(&node, QEvent::MetaCall);
        if (node.m_cluster)
            QCoreApplication::sendPostedEvents(node.m_cluster.get(), QEvent::MetaCall);
    };
    if (m_storage) {
        // Commit what is pending and send its acks before the clients are told to go.
        m_storage->flush();
        deliverCommitted(*this);
        forEachWorker(deliverCommitted);
        endRoomsForShutdown();
        forEachWorker([](ChatServer &node) { node.endRoomsForShutdown(); });
        m_storage->flush();
        deliverCommitted(*this);
        forEachWorker(deliverCommitted);
        deliverCommitted(*this); // relayed by the workers just now
        m_storage->stop();
    }
    closeAllGoingAway();
    forEachWorker([](ChatServer &node) { node.closeAllGoingAway(); });
    // Give the close frames a moment to leave, then report.
    auto *poll = new QTimer(this);
    QElapsedTimer waited;
    waited.start();
    connect(poll, &QTimer::timeout, this, [this, poll, waited] {
        int open = localConnectionCount();
        forEachWorker([&open](ChatServer &node) { open += node.localConnectionCount(); });
        if (open > 0 && waited.elapsed() < 2000)
            return;
        poll->deleteLater();
        qCInfo(lcServer) << "stopped";
        emit stopped();
    });
    poll->start(20);
}

void ChatServer::endRoomsForShutdown()
{
    for (const Room &room : std::as_const(m_rooms)) {
        if (room.ending)
            continue;
        if (room.remoteMember) {
            if (!m_hub) {
                // Its members may resume on another server: the partner's server keeps the
                // room for the resume window, as if this server had died.
                tellRemote(room, QStringLiteral("away"), {{"orphaned", true}});
                continue;
            }
            if (!room.owned)
                continue; // the other thread of this process stores its end
        }
        m_storage->submit(
            RoomEnd{room.id, QDateTime::currentDateTimeUtc(), QStringLiteral("server_shutdown")});
    }
    if (m_cluster)
        m_cluster->stop();
}

void ChatServer::closeAllGoingAway()
{
    const QList<ClientSocket *> sockets = m_bySocket.keys();
    for (ClientSocket *ws : sockets)
        closeSocket(ws, WsCloseGoingAway, tr("server shutting down"));
    flushWrites();
}

} // namespace anonchat::server
