#pragma once

#include "server/cluster/clusterlink.h"
#include "server/match/matchmaker.h"

#include <QElapsedTimer>
#include <QHash>
#include <QMutex>
#include <QVector>
#include <atomic>
#include <deque>

namespace anonchat::server {

class LocalLink;

/**
 * What the nodes of one process (`--threads`) share: the Matchmaker of a single server behind a
 * mutex, the resume tokens and places, and each node's counts. Nodes reach it through their
 * LocalLink; it posts answers and messages to the receiving node's thread (one hop).
 */
class LocalHub
{
public:
    /// For `nodes` nodes: their slots exist from the start, so that nodes already running never
    /// see the hub's tables grow.
    LocalHub(int nodes, qint64 interestWaitMs);

    int addNode(LocalLink *link); ///< node numbers 1, 2, ... up to `nodes`
    LocalLink *link(int node) const;
    int nodeCount() const { return int(m_links.size()); }

    std::optional<ClusterMatch> enqueue(int node, const QString &userId,
                                        const QStringList &interests, const QString &language);
    /// Ends interest waits due now; the matches not for `userId` are posted to their nodes.
    std::optional<ClusterMatch> promote(const QString &userId);
    void dequeue(const QString &userId);
    void block(const QString &a, const QString &b);
    void setPreviousPartners(const QString &a, const QString &b);
    void forget(const QString &userId, const QString &token);
    void registerToken(int node, const QString &token, const QString &userId);
    void dropToken(const QString &token);
    void setPlace(int node, const QString &userId, qint64 roomId, const QString &partnerId,
                  int partnerNode, qint64 lastSentMessageId, bool powAdmitted);
    std::optional<ClusterPlace> claimToken(int node, const QString &token);

    void setCounts(int node, qint64 online, qint64 rooms);
    ClusterStats stats() const;

private:
    ClusterMatch toClusterMatch(const Match &match, UserKey forUser);

    mutable QMutex m_mutex;
    QElapsedTimer m_clock;
    Matchmaker m_matchmaker;
    QHash<UserKey, int> m_nodeOf; ///< queued users' nodes
    QHash<QString, QString> m_tokens;
    QHash<QString, ClusterPlace> m_places;
    std::deque<std::atomic<LocalLink *>> m_links; ///< per node, null until it has joined
    std::atomic<int> m_joined{0};
    std::deque<std::atomic<qint64>> m_online; ///< per node
    std::deque<std::atomic<qint64>> m_rooms;  ///< per node
};

/// One node's link to the other threads of this process (`--threads`); see LocalHub.
class LocalLink : public ClusterLink
{
    Q_OBJECT
public:
    explicit LocalLink(LocalHub *hub, QObject *parent = nullptr);

    bool start(QString *error) override;
    void stop() override {}

    int nodeId() const override { return m_node; }
    bool isNodeAlive(int) const override { return true; }
    ClusterStats stats() const override { return m_hub->stats(); }
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

    /// From the hub, on any thread: runs on this node's thread.
    void post(std::function<void()> call);

private:
    LocalHub *m_hub;
    int m_node = 0;
};

} // namespace anonchat::server
