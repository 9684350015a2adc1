#include "server/cluster/redislink.h"

#include "server/cluster/redisclient.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcCluster, "anonchat.cluster", QtInfoMsg)

namespace anonchat::server {

namespace {

constexpr qint64 kKeyTtlSeconds = 24 * 3600; // blocks, previous partners, tokens, places
constexpr int kMaxRelayAttempts = 10;        // a relay nobody hears is tried once per heartbeat

/// The Lua scripts (server/cluster/lua/, a resource), each after the prelude they all share.
struct Scripts {
    QByteArray join, promote, leave, heartbeat, claimNode, claim;
};

const Scripts &scripts()
{
    static const Scripts loaded = [] {
        const auto read = [](const char *name) {
            QFile file(QStringLiteral(":/cluster/lua/%1.lua").arg(QLatin1String(name)));
            if (!file.open(QIODevice::ReadOnly))
                qFatal("the Lua script %s is missing from the resources", name);
            return file.readAll();
        };
        const QByteArray prelude = read("prelude");
        return Scripts{prelude + read("join"),      prelude + read("promote"),
                       prelude + read("leave"),     prelude + read("heartbeat"),
                       prelude + read("claimnode"), prelude + read("claim")};
    }();
    return loaded;
}

QByteArray num(qint64 v)
{
    return QByteArray::number(v);
}

} // namespace

RedisLink::RedisLink(Config config, QObject *parent)
    : ClusterLink(parent)
    , m_config(std::move(config))
{
    m_commands = new RedisClient(m_config.redis, this);
    m_subscriber = new RedisClient(m_config.redis, this);
    connect(m_subscriber, &RedisClient::message, this,
            [this](const QByteArray &, const QByteArray &payload) {
                const std::optional<NodeMessage> message =
                    nodeMessageFromJson(QJsonDocument::fromJson(payload).object());
                if (message)
                    emit received(*message);
            });
    connect(m_commands, &RedisClient::connected, this, [this] {
        qCInfo(lcCluster) << "redis connected";
        flushOutbox();
    });
    connect(m_commands, &RedisClient::disconnected, this, [](const QString &error) {
        qCWarning(lcCluster).noquote() << "redis unavailable:" << error;
    });
    connect(&m_heartbeat, &QTimer::timeout, this, &RedisLink::heartbeat);
}

RedisLink::~RedisLink() = default;

bool RedisLink::start(QString *error)
{
    m_commands->open();
    m_subscriber->open();
    if (!m_commands->waitConnected(3000) || !m_subscriber->waitConnected(3000)) {
        *error =
            tr("--redis %1: cannot connect").arg(m_config.redis.toString(QUrl::RemoveUserInfo));
        return false;
    }
    // A node number, cluster-unique while the node lives (user ids carry it): the next one whose
    // heartbeat key nobody holds.
    QElapsedTimer waited;
    waited.start();
    for (int attempt = 0; attempt < 100 && m_node <= 0 && waited.elapsed() < 3000; ++attempt) {
        bool done = false;
        int candidate = 0;
        m_commands->command({"INCR", "anonchat:nodeseq"},
                            [&candidate, &done](const RedisReply &reply) {
                                candidate = reply.isInteger() ? int(reply.integer) : -1;
                                done = true;
                            });
        while (!done && waited.elapsed() < 3000)
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
        if (candidate < 0)
            break;
        done = false;
        m_commands->eval(scripts().claimNode, {}, {num(candidate), num(m_config.nodeTimeoutMs)},
                         [this, candidate, &done](const RedisReply &reply) {
                             if (reply.isInteger() && reply.integer == 1)
                                 m_node = candidate;
                             done = true;
                         });
        while (!done && waited.elapsed() < 3000)
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    }
    if (m_node <= 0) {
        *error = tr("--redis %1: no answer").arg(m_config.redis.toString(QUrl::RemoveUserInfo));
        return false;
    }
    m_subscriber->subscribe(channel(m_node));
    m_sinceBeat.start();
    heartbeat();
    m_heartbeat.start(int(m_config.heartbeatMs));
    qCInfo(lcCluster) << "joined the cluster as node" << m_node;
    return true;
}

void RedisLink::stop()
{
    m_heartbeat.stop();
    if (m_node > 0 && m_commands->isConnected()) {
        m_commands->command({"DEL", "anonchat:alive:" + num(m_node)});
        m_commands->command({"SREM", "anonchat:nodes", num(m_node)});
    }
}

void RedisLink::setLocalCounts(qint64 online, qint64 rooms)
{
    // Never negative: the heartbeat script reads them as digits.
    m_localOnline = std::max<qint64>(0, online);
    m_localRooms = std::max<qint64>(0, rooms);
}

void RedisLink::heartbeat()
{
    retryUnheard();
    if (m_heartbeatInFlight)
        return;
    m_heartbeatInFlight = true;
    m_commands->eval(
        scripts().heartbeat, {},
        {num(m_node), num(m_config.nodeTimeoutMs), num(m_localOnline), num(m_localRooms)},
        [this](const RedisReply &reply) {
            m_heartbeatInFlight = false;
            if (reply.type != RedisReply::Type::Array || reply.elements.size() < 4) {
                return;
            }
            m_stats.online = reply.elements[0].integer;
            m_stats.activeRooms = reply.elements[1].integer;
            m_stats.queued = reply.elements[2].integer;
            const bool wasAlive = reply.elements[3].integer == 1;
            QSet<int> live;
            for (int i = 4; i < reply.elements.size(); ++i)
                live.insert(int(reply.elements[i].integer));
            // After a gap in our own heartbeats (Redis away), the others may not have beaten
            // again yet either: nobody is declared dead until we have beaten on time.
            const bool onTime = m_sinceBeat.elapsed() <= 2 * m_config.heartbeatMs;
            m_sinceBeat.restart();
            QSet<int> died = onTime ? m_liveNodes - live : QSet<int>();
            died.remove(m_node);
            const QSet<int> revived = live & m_deadNodes;
            m_deadNodes += died;
            m_deadNodes -= live;
            m_liveNodes = onTime ? live : m_liveNodes + live;
            if (!died.isEmpty()) {
                qCInfo(lcCluster) << "servers gone:" << died;
                emit nodesDied(died);
            }
            if (!revived.isEmpty()) {
                qCInfo(lcCluster) << "servers back:" << revived;
                emit nodesRevived(revived);
            }
            if (!wasAlive && m_beats > 0) {
                // Our heartbeat had lapsed: the others took our queued users out of the queue.
                qCWarning(lcCluster) << "this server's heartbeat had lapsed";
                emit queueLost();
            }
            ++m_beats;
        });
}

void RedisLink::handleMatchReply(const RedisReply &reply, const MatchCallback &callback)
{
    if (reply.type != RedisReply::Type::Array || reply.elements.isEmpty()) {
        qCWarning(lcCluster) << "queue script failed:" << reply.string;
        callback(false, std::nullopt);
        return;
    }
    if (reply.elements[0].string != "matched" || reply.elements.size() < 3) {
        callback(true, std::nullopt);
        return;
    }
    ClusterMatch match;
    match.partnerId = QString::fromUtf8(reply.elements[1].string);
    match.partnerNode = reply.elements[2].string.toInt();
    match.commonLanguage = QString::fromUtf8(reply.elements.value(3).string);
    for (int i = 4; i < reply.elements.size(); ++i)
        match.commonInterests.append(QString::fromUtf8(reply.elements[i].string));
    callback(true, match);
}

void RedisLink::enqueue(const QString &userId, const QStringList &interests,
                        const QString &language, QueueStage stage, MatchCallback callback)
{
    QList<QByteArray> args{userId.toUtf8(), num(m_node), num(int(stage)), language.toUtf8()};
    for (const QString &interest : interests)
        args.append(interest.toUtf8());
    m_commands->eval(scripts().join, {}, args, [this, callback](const RedisReply &reply) {
        handleMatchReply(reply, callback);
    });
}

void RedisLink::promote(const QString &userId, QueueStage stage, MatchCallback callback)
{
    m_commands->eval(
        scripts().promote, {}, {userId.toUtf8(), num(int(stage))},
        [this, callback](const RedisReply &reply) { handleMatchReply(reply, callback); });
}

void RedisLink::dequeue(const QString &userId)
{
    m_commands->eval(scripts().leave, {}, {userId.toUtf8()});
}

void RedisLink::block(const QString &a, const QString &b)
{
    const QByteArray ka = "anonchat:b:" + a.toUtf8();
    const QByteArray kb = "anonchat:b:" + b.toUtf8();
    m_commands->command({"SADD", ka, b.toUtf8()});
    m_commands->command({"EXPIRE", ka, num(kKeyTtlSeconds)});
    m_commands->command({"SADD", kb, a.toUtf8()});
    m_commands->command({"EXPIRE", kb, num(kKeyTtlSeconds)});
}

void RedisLink::setPreviousPartners(const QString &a, const QString &b)
{
    m_commands->command({"SET", "anonchat:p:" + a.toUtf8(), b.toUtf8(), "EX", num(kKeyTtlSeconds)});
    m_commands->command({"SET", "anonchat:p:" + b.toUtf8(), a.toUtf8(), "EX", num(kKeyTtlSeconds)});
}

void RedisLink::forget(const QString &userId, const QString &token)
{
    const QByteArray u = userId.toUtf8();
    m_commands->command({"DEL", "anonchat:b:" + u, "anonchat:p:" + u, "anonchat:s:" + u,
                         "anonchat:t:" + token.toUtf8()});
}

void RedisLink::registerToken(const QString &token, const QString &userId)
{
    m_commands->command(
        {"SET", "anonchat:t:" + token.toUtf8(), userId.toUtf8(), "EX", num(kKeyTtlSeconds)});
    m_commands->command({"HSET", "anonchat:s:" + userId.toUtf8(), "node", num(m_node)});
    m_commands->command({"EXPIRE", "anonchat:s:" + userId.toUtf8(), num(kKeyTtlSeconds)});
}

void RedisLink::dropToken(const QString &token)
{
    m_commands->command({"DEL", "anonchat:t:" + token.toUtf8()});
}

void RedisLink::setPlace(const QString &userId, qint64 roomId, const QString &partnerId,
                         int partnerNode, qint64 lastSentMessageId, bool powAdmitted)
{
    m_commands->command({"HSET", "anonchat:s:" + userId.toUtf8(), "node", num(m_node), "room",
                         num(roomId), "partner", partnerId.toUtf8(), "pnode", num(partnerNode),
                         "sent", num(lastSentMessageId), "pow", num(powAdmitted ? 1 : 0)});
}

void RedisLink::claimToken(const QString &token,
                           std::function<void(bool, std::optional<ClusterPlace>)> callback)
{
    m_commands->eval(scripts().claim, {}, {token.toUtf8(), num(m_node)},
                     [callback](const RedisReply &reply) {
                         if (reply.type != RedisReply::Type::Array) {
                             callback(false, std::nullopt);
                             return;
                         }
                         if (reply.elements.isEmpty()) {
                             callback(true, std::nullopt);
                             return;
                         }
                         ClusterPlace place;
                         place.userId = QString::fromUtf8(reply.elements[0].string);
                         for (int i = 1; i + 1 < reply.elements.size(); i += 2) {
                             const QByteArray &field = reply.elements[i].string;
                             const QByteArray &value = reply.elements[i + 1].string;
                             if (field == "node")
                                 place.node = value.toInt();
                             else if (field == "room")
                                 place.roomId = value.toLongLong();
                             else if (field == "partner")
                                 place.partnerId = QString::fromUtf8(value);
                             else if (field == "pnode")
                                 place.partnerNode = value.toInt();
                             else if (field == "sent")
                                 place.lastSentMessageId = value.toLongLong();
                             else if (field == "pow")
                                 place.powAdmitted = value == "1";
                         }
                         callback(true, place);
                     });
}

QByteArray RedisLink::channel(int node) const
{
    // Pub/sub channels are not per database: the database number keeps clusters that share one
    // Redis (on different databases) apart.
    const QString db = m_config.redis.path().mid(1);
    return "anonchat:" + (db.isEmpty() ? QByteArray("0") : db.toUtf8()) + ":n:" + num(node);
}

void RedisLink::sendTo(int node, const NodeMessage &message)
{
    const QByteArray payload = QJsonDocument(toJson(message)).toJson(QJsonDocument::Compact);
    if (!m_outbox.empty()) {
        m_outbox.emplace_back(node, payload); // after the ones waiting, in order
        return;
    }
    for (const Unheard &u : m_unheard) {
        if (u.node == node) {
            m_unheard.push_back({node, payload, 0}); // after the one to that node waiting
            return;
        }
    }
    publish(node, payload);
}

void RedisLink::publish(int node, const QByteArray &payload, int attempt)
{
    m_commands->command({"PUBLISH", channel(node), payload},
                        [this, node, payload, attempt](const RedisReply &reply) {
                            if (reply.isInteger() && reply.integer == 0 && isNodeAlive(node) &&
                                attempt < kMaxRelayAttempts) {
                                // Nobody listening: the node's subscription is not back yet
                                // after a Redis restart. Again at the next heartbeat.
                                m_unheard.push_back({node, payload, attempt + 1});
                                return;
                            }
                            // Otherwise only a lost connection is tried again.
                            if (!reply.isError() || !reply.string.startsWith("redis "))
                                return;
                            // Not published (Redis away): kept for when it is back. A relay
                            // that did arrive before the loss may come twice; clients drop a
                            // message id they have.
                            constexpr size_t kMaxOutbox = 100000;
                            if (m_outbox.size() >= kMaxOutbox) {
                                qCWarning(lcCluster) << "relay outbox full, dropping the oldest";
                                m_outbox.pop_front();
                            }
                            m_outbox.emplace_back(node, payload);
                            if (m_commands->isConnected())
                                flushOutbox();
                        });
}

void RedisLink::retryUnheard()
{
    std::vector<Unheard> unheard;
    unheard.swap(m_unheard);
    for (const Unheard &u : unheard)
        publish(u.node, u.payload, u.attempt);
}

void RedisLink::flushOutbox()
{
    std::deque<QPair<int, QByteArray>> pending;
    pending.swap(m_outbox);
    for (const auto &[node, payload] : pending)
        publish(node, payload);
}

} // namespace anonchat::server
