#include "server/cluster/locallink.h"

#include <QMutexLocker>

namespace anonchat::server {

namespace {

UserKey keyOf(const QString &userId)
{
    bool ok = false;
    const UserKey key = userId.toUInt(&ok, 16);
    return ok ? key : 0;
}

QString idOf(UserKey key)
{
    return QStringLiteral("%1").arg(key, 8, 16, QLatin1Char('0'));
}

} // namespace

LocalHub::LocalHub(int nodes, qint64 interestWaitMs)
    : m_matchmaker(interestWaitMs)
{
    m_clock.start();
    for (int i = 0; i < nodes; ++i) {
        m_links.emplace_back(nullptr);
        m_online.emplace_back(0);
        m_rooms.emplace_back(0);
    }
}

int LocalHub::addNode(LocalLink *link)
{
    const int node = m_joined.fetch_add(1) + 1;
    Q_ASSERT(node <= int(m_links.size()));
    m_links[size_t(node - 1)].store(link);
    return node;
}

LocalLink *LocalHub::link(int node) const
{
    return node >= 1 && node <= int(m_links.size()) ? m_links[size_t(node - 1)].load() : nullptr;
}

ClusterMatch LocalHub::toClusterMatch(const Match &match, UserKey forUser)
{
    const UserKey partner = match.first == forUser ? match.second : match.first;
    ClusterMatch m;
    m.partnerId = idOf(partner);
    m.partnerNode = m_nodeOf.value(partner);
    m.commonInterests = match.commonInterests;
    m.commonLanguage = match.commonLanguage;
    return m;
}

std::optional<ClusterMatch> LocalHub::enqueue(int node, const QString &userId,
                                              const QStringList &interests, const QString &language)
{
    const UserKey key = keyOf(userId);
    QMutexLocker lock(&m_mutex);
    if (m_matchmaker.contains(key))
        return std::nullopt;
    m_nodeOf.insert(key, node);
    const std::optional<Match> match =
        m_matchmaker.enqueue(key, interests, language, m_clock.elapsed());
    if (!match)
        return std::nullopt;
    ClusterMatch m = toClusterMatch(*match, key);
    m_nodeOf.remove(match->first);
    m_nodeOf.remove(match->second);
    return m;
}

std::optional<ClusterMatch> LocalHub::promote(const QString &userId)
{
    const UserKey key = keyOf(userId);
    std::optional<ClusterMatch> mine;
    QVector<QPair<LocalLink *, QPair<QString, ClusterMatch>>> others;
    {
        QMutexLocker lock(&m_mutex);
        for (const Match &match : m_matchmaker.expire(m_clock.elapsed())) {
            if (match.first == key || match.second == key) {
                mine = toClusterMatch(match, key);
            } else if (LocalLink *target = link(m_nodeOf.value(match.second))) {
                others.append({target, {idOf(match.second), toClusterMatch(match, match.second)}});
            }
            m_nodeOf.remove(match.first);
            m_nodeOf.remove(match.second);
        }
    }
    for (const auto &other : others) {
        LocalLink *target = other.first;
        target->post([target, userId = other.second.first, match = other.second.second] {
            emit target->matchedElsewhere(userId, match);
        });
    }
    return mine;
}

void LocalHub::dequeue(const QString &userId)
{
    const UserKey key = keyOf(userId);
    QMutexLocker lock(&m_mutex);
    m_matchmaker.remove(key);
    m_nodeOf.remove(key);
}

void LocalHub::block(const QString &a, const QString &b)
{
    QMutexLocker lock(&m_mutex);
    m_matchmaker.block(keyOf(a), keyOf(b));
}

void LocalHub::setPreviousPartners(const QString &a, const QString &b)
{
    QMutexLocker lock(&m_mutex);
    m_matchmaker.setPreviousPartners(keyOf(a), keyOf(b));
}

void LocalHub::forget(const QString &userId, const QString &token)
{
    const UserKey key = keyOf(userId);
    QMutexLocker lock(&m_mutex);
    m_matchmaker.forget(key);
    m_nodeOf.remove(key);
    m_places.remove(userId);
    m_tokens.remove(token);
}

void LocalHub::registerToken(int node, const QString &token, const QString &userId)
{
    QMutexLocker lock(&m_mutex);
    m_tokens.insert(token, userId);
    m_places[userId].node = node;
}

void LocalHub::dropToken(const QString &token)
{
    QMutexLocker lock(&m_mutex);
    m_tokens.remove(token);
}

void LocalHub::setPlace(int node, const QString &userId, qint64 roomId, const QString &partnerId,
                        int partnerNode, qint64 lastSentMessageId, bool powAdmitted)
{
    QMutexLocker lock(&m_mutex);
    ClusterPlace &place = m_places[userId];
    place.node = node;
    place.roomId = roomId;
    place.partnerId = partnerId;
    place.partnerNode = partnerNode;
    place.lastSentMessageId = lastSentMessageId;
    place.powAdmitted = powAdmitted;
}

std::optional<ClusterPlace> LocalHub::claimToken(int node, const QString &token)
{
    QMutexLocker lock(&m_mutex);
    const auto it = m_tokens.find(token);
    if (it == m_tokens.end())
        return std::nullopt;
    const QString userId = it.value();
    m_tokens.erase(it);
    ClusterPlace place = m_places.value(userId);
    place.userId = userId;
    m_places[userId].node = node;
    return place;
}

void LocalHub::setCounts(int node, qint64 online, qint64 rooms)
{
    m_online[size_t(node - 1)].store(online, std::memory_order_relaxed);
    m_rooms[size_t(node - 1)].store(rooms, std::memory_order_relaxed);
}

ClusterStats LocalHub::stats() const
{
    ClusterStats s;
    for (const auto &n : m_online)
        s.online += n.load(std::memory_order_relaxed);
    for (const auto &n : m_rooms)
        s.activeRooms += n.load(std::memory_order_relaxed);
    QMutexLocker lock(&m_mutex);
    s.queued = m_matchmaker.queuedCount();
    return s;
}

// ---- LocalLink ----------------------------------------------------------------------------

LocalLink::LocalLink(LocalHub *hub, QObject *parent)
    : ClusterLink(parent)
    , m_hub(hub)
{}

bool LocalLink::start(QString *)
{
    m_node = m_hub->addNode(this);
    return true;
}

void LocalLink::post(std::function<void()> call)
{
    QMetaObject::invokeMethod(this, std::move(call), Qt::QueuedConnection);
}

void LocalLink::setLocalCounts(qint64 online, qint64 rooms)
{
    m_hub->setCounts(m_node, online, rooms);
}

void LocalLink::enqueue(const QString &userId, const QStringList &interests,
                        const QString &language, QueueStage, MatchCallback callback)
{
    // The hub's Matchmaker knows the stages by its own clock.
    post([callback, match = m_hub->enqueue(m_node, userId, interests, language)] {
        callback(true, match);
    });
}

void LocalLink::promote(const QString &userId, QueueStage, MatchCallback callback)
{
    post([callback, match = m_hub->promote(userId)] { callback(true, match); });
}

void LocalLink::dequeue(const QString &userId)
{
    m_hub->dequeue(userId);
}

void LocalLink::block(const QString &a, const QString &b)
{
    m_hub->block(a, b);
}

void LocalLink::setPreviousPartners(const QString &a, const QString &b)
{
    m_hub->setPreviousPartners(a, b);
}

void LocalLink::forget(const QString &userId, const QString &token)
{
    m_hub->forget(userId, token);
}

void LocalLink::registerToken(const QString &token, const QString &userId)
{
    m_hub->registerToken(m_node, token, userId);
}

void LocalLink::dropToken(const QString &token)
{
    m_hub->dropToken(token);
}

void LocalLink::setPlace(const QString &userId, qint64 roomId, const QString &partnerId,
                         int partnerNode, qint64 lastSentMessageId, bool powAdmitted)
{
    m_hub->setPlace(m_node, userId, roomId, partnerId, partnerNode, lastSentMessageId, powAdmitted);
}

void LocalLink::claimToken(const QString &token,
                           std::function<void(bool, std::optional<ClusterPlace>)> callback)
{
    post([callback, place = m_hub->claimToken(m_node, token)] { callback(true, place); });
}

void LocalLink::sendTo(int node, const NodeMessage &message)
{
    if (LocalLink *target = m_hub->link(node))
        target->post([target, message] { emit target->received(message); });
}

} // namespace anonchat::server
