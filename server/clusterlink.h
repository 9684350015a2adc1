#pragma once

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QSet>
#include <QStringList>
#include <QTimer>
#include <QUrl>
#include <functional>
#include <optional>

namespace anonchat::server {

class RedisClient;
struct RedisReply;

/// What the cluster knows beyond this process: totals over every live server.
struct ClusterStats {
    qint64 online = 0;
    qint64 queued = 0;
    qint64 activeRooms = 0;
};

/// A pairing made by the shared queue: `partnerId` waited longer, and sits on `partnerNode`.
struct ClusterMatch {
    QString partnerId;
    int partnerNode = 0;
    QStringList commonInterests;
};

/**
 * The link between anonchat-server processes sharing one Redis (`--redis`): the shared matching
 * queue (Lua scripts, so pairing is atomic across servers), one pub/sub channel per server for
 * relaying rooms whose users sit on different servers (one hop), heartbeats (a server whose
 * heartbeat lapses is dead to the others), cluster-wide stats, and the resume-token registry.
 *
 * Redis keys (prefix `anonchat:`): `q` queued users (sorted by join order), `open` the queued users
 * open to anyone, `i:<interest>` queued users by interest, `u:<user>` a queued user's node and
 * interests, `b:<user>` whom a user may never meet (reports), `p:<user>` its previous partner,
 * `nodes` / `alive:<node>` the servers and their heartbeats, `t:<token>` resume tokens,
 * `s:<user>` a user's place (node, room, partner). Channel `n:<node>` carries a server's messages.
 *
 * Everything runs on the owner thread's event loop; callbacks come exactly once.
 */
class ClusterLink : public QObject
{
    Q_OBJECT
public:
    struct Config {
        QUrl redis;
        qint64 heartbeatMs = 1000;
        qint64 nodeTimeoutMs = 3000; ///< a heartbeat older than this: the server is dead
        qint64 resumeWindowMs = 120000;
    };

    explicit ClusterLink(Config config, QObject *parent = nullptr);
    ~ClusterLink() override;

    /// Connects (blocking, bounded), takes a node number and starts the heartbeat.
    bool start(QString *error);
    void stop();

    int nodeId() const { return m_node; }
    bool isConnected() const;
    bool isNodeAlive(int node) const { return node == m_node || m_liveNodes.contains(node); }
    const ClusterStats &stats() const { return m_stats; }

    /// What this server reports in its heartbeat.
    void setLocalCounts(qint64 online, qint64 rooms);

    // ---- the shared queue ----
    using MatchCallback = std::function<void(bool ok, std::optional<ClusterMatch>)>;
    /// Queues `userId` (on this node), pairing it at once if someone fits. `openToAnyone` for a
    /// user without interests. ok=false: Redis unavailable (the user is not queued).
    void enqueue(const QString &userId, const QStringList &interests, bool openToAnyone,
                 MatchCallback callback);
    /// The user's interest wait has ended: it is open to anyone now, and paired if someone fits.
    void promote(const QString &userId, MatchCallback callback);
    /// Takes the user out of the queue; the callback says whether it was still queued there
    /// (false: it has just been paired, or never was).
    void dequeue(const QString &userId, std::function<void(bool wasQueued)> callback = {});
    void block(const QString &a, const QString &b);
    void setPreviousPartners(const QString &a, const QString &b);
    /// The user is gone for good: its blocks, previous partner, token and place are dropped.
    void forget(const QString &userId, const QString &token);

    // ---- resume tokens and places ----
    void registerToken(const QString &token, const QString &userId);
    void dropToken(const QString &token);
    /// A user's place, for resume elsewhere: node, room, partner and the partner's node.
    void setPlace(const QString &userId, qint64 roomId, const QString &partnerId, int partnerNode);
    struct Place {
        QString userId;
        int node = 0;
        qint64 roomId = 0;
        QString partnerId;
        int partnerNode = 0;
    };
    /// Claims a token for this node (atomic: it is single-use); the callback has the place of the
    /// user it names, or nothing for an unknown token.
    void claimToken(const QString &token, std::function<void(bool ok, std::optional<Place>)> cb);

    // ---- relay ----
    /// Publishes `message` to server `node` (one hop). `message["t"]` names its kind.
    void sendTo(int node, const QJsonObject &message);

signals:
    void received(const QJsonObject &message);
    /// Servers whose heartbeat has lapsed since the last check.
    void nodesDied(const QSet<int> &nodes);
    void connectionChanged(bool connected);

private:
    void heartbeat();
    void handleMatchReply(const RedisReply &reply, const MatchCallback &callback);

    Config m_config;
    RedisClient *m_commands = nullptr;
    RedisClient *m_subscriber = nullptr;
    QTimer m_heartbeat;
    int m_node = 0;
    qint64 m_localOnline = 0;
    qint64 m_localRooms = 0;
    QSet<int> m_liveNodes;
    ClusterStats m_stats;
    bool m_heartbeatInFlight = false;
};

} // namespace anonchat::server
