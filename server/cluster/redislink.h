#pragma once

#include "server/cluster/clusterlink.h"

#include <QElapsedTimer>
#include <QObject>
#include <QSet>
#include <QTimer>
#include <QUrl>
#include <deque>
#include <vector>

namespace anonchat::server {

class RedisClient;
struct RedisReply;

/**
 * The cluster link of anonchat-server processes sharing one Redis (`--redis`): the shared matching
 * queue (Lua scripts, so pairing is atomic across servers), one pub/sub channel per node for
 * relaying rooms whose users sit on different nodes (one hop), heartbeats (a node whose heartbeat
 * lapses is dead to the others), cluster-wide stats, and the resume-token registry.
 *
 * Redis keys (prefix `anonchat:`): `q` queued users (sorted by join order), `open` the queued users
 * open to anyone, `i:<interest>` queued users by interest, `il:<language>:<interest>` by interest
 * and language (the language empty for none), `l:<language>` those in their language phase,
 * `u:<user>` a queued user's node, interests and language, `b:<user>` whom a user may never meet
 * (reports), `p:<user>` its previous partner, `nodes` / `alive:<node>` the nodes and their
 * heartbeats, `t:<token>` resume tokens, `s:<user>` a user's place (node, room, partner). Channel
 * `anonchat:<db>:n:<node>` carries a node's messages (pub/sub channels are shared by all databases
 * of a Redis).
 */
class RedisLink : public ClusterLink
{
    Q_OBJECT
public:
    struct Config {
        QUrl redis;
        qint64 heartbeatMs = 1000;
        qint64 nodeTimeoutMs = 5000; ///< a heartbeat older than this: the node is dead
    };

    explicit RedisLink(Config config, QObject *parent = nullptr);
    ~RedisLink() override;

    /// Connects (blocking, bounded), takes a node number and starts the heartbeat.
    bool start(QString *error) override;
    void stop() override;

    int nodeId() const override { return m_node; }
    /// A node is alive unless its heartbeat was seen and then lapsed (a node that has just
    /// joined is alive before our next heartbeat lists it).
    bool isNodeAlive(int node) const override
    {
        return node == m_node || !m_deadNodes.contains(node);
    }
    ClusterStats stats() const override { return m_stats; }
    void setLocalCounts(qint64 online, qint64 rooms) override;

    void enqueue(const QString &userId, const QStringList &interests, const QString &language,
                 QueueStage stage, MatchCallback callback) override;
    void promote(const QString &userId, QueueStage stage, MatchCallback callback) override;
    void dequeue(const QString &userId) override;
    void block(const QString &a, const QString &b) override;
    void setPreviousPartners(const QString &a, const QString &b) override;
    void forget(const QString &userId, const QString &token) override;
    void registerToken(const QString &token, const QString &userId) override;
    void dropToken(const QString &token) override;
    void setPlace(const QString &userId, qint64 roomId, const QString &partnerId, int partnerNode,
                  qint64 lastSentMessageId, bool powAdmitted) override;
    void claimToken(const QString &token,
                    std::function<void(bool ok, std::optional<ClusterPlace>)> callback) override;
    void sendTo(int node, const NodeMessage &message) override;

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
    QSet<int> m_deadNodes;
    QElapsedTimer m_sinceBeat; ///< since our last heartbeat answered
    int m_beats = 0;
    /// Relays that could not be published (Redis away), sent again in order once it is back.
    std::deque<QPair<int, QByteArray>> m_outbox;
    void publish(int node, const QByteArray &payload, int attempt = 0);
    QByteArray channel(int node) const;
    void flushOutbox();
    void retryUnheard();
    /// Relays published to nobody (the node's subscription not back yet), tried again.
    struct Unheard {
        int node = 0;
        QByteArray payload;
        int attempt = 0;
    };
    std::vector<Unheard> m_unheard;
    ClusterStats m_stats;
    bool m_heartbeatInFlight = false;
};

} // namespace anonchat::server
