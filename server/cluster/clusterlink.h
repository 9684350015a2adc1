#pragma once

#include "server/cluster/nodemessages.h"
#include "shared/messages.h"

#include <QByteArray>
#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QSet>
#include <QStringList>
#include <functional>
#include <optional>

namespace anonchat::server {

/// Totals over every live node.
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
    QString commonLanguage; ///< empty: none
};

/// Where a queued user stands in its wait (PROTOCOL.md, "Matching"): paired only by a shared
/// interest (in a compatible language), also by the same language, or with anyone.
enum class QueueStage { Interests = 0, Language = 1, Open = 2 };

/// A user's place, for resume on another node: its node, room, partner and the partner's node.
struct ClusterPlace {
    QString userId;
    int node = 0;
    qint64 roomId = 0;
    QString partnerId;
    int partnerNode = 0;
    qint64 lastSentMessageId = -1; ///< as of its last drop, for a `resume` without `last_id`
    bool powAdmitted = false;      ///< its proof of work was accepted (`--pow-bits`)
};

/**
 * What a ChatNode shares with the other nodes serving one community: the matching queue (pairing
 * is atomic across nodes), a channel to each node (a room whose users sit on two nodes is relayed
 * with one hop), which nodes are alive, stats over all of them, and the resume-token registry.
 * A node is one ChatNode: a thread of this process (LocalLink, `--threads`) or of another
 * process on the same Redis (RedisLink, `--redis`).
 *
 * Everything runs on the owner thread's event loop; callbacks come exactly once, never from
 * inside the call that gave them.
 */
class ClusterLink : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;

    /// Joins: takes a node number. False with `error` set when that is impossible.
    virtual bool start(QString *error) = 0;
    virtual void stop() = 0;

    virtual int nodeId() const = 0;
    virtual bool isNodeAlive(int node) const = 0;
    virtual ClusterStats stats() const = 0;
    /// This node's share of the stats: connections and the rooms it stored.
    virtual void setLocalCounts(qint64 online, qint64 rooms) = 0;

    // ---- the shared queue ----
    using MatchCallback = std::function<void(bool ok, std::optional<ClusterMatch>)>;
    /// Queues `userId` (on this node) with its interests and language (empty: none) at `stage`,
    /// pairing it at once if someone fits. ok=false: the queue is unavailable (the user is not
    /// queued).
    virtual void enqueue(const QString &userId, const QStringList &interests,
                         const QString &language, QueueStage stage, MatchCallback callback) = 0;
    /// The user's wait has reached `stage` (its language phase, or its end: open to anyone); it
    /// is paired if someone fits now.
    virtual void promote(const QString &userId, QueueStage stage, MatchCallback callback) = 0;
    /// Takes the user out of the queue.
    virtual void dequeue(const QString &userId) = 0;
    virtual void block(const QString &a, const QString &b) = 0;
    virtual void setPreviousPartners(const QString &a, const QString &b) = 0;
    /// The user is gone for good: its blocks, previous partner, token and place are dropped.
    virtual void forget(const QString &userId, const QString &token) = 0;

    // ---- resume tokens and places ----
    virtual void registerToken(const QString &token, const QString &userId) = 0;
    virtual void dropToken(const QString &token) = 0;
    virtual void setPlace(const QString &userId, qint64 roomId, const QString &partnerId,
                          int partnerNode, qint64 lastSentMessageId, bool powAdmitted) = 0;
    /// Claims a token for this node (atomic: it is single-use); the callback has the place of the
    /// user it names, or nothing for an unknown token. ok=false: the registry is unavailable.
    virtual void claimToken(const QString &token,
                            std::function<void(bool ok, std::optional<ClusterPlace>)> callback) = 0;

    // ---- relay ----
    /// Sends `message` to node `node` (one hop). Within one process (LocalLink) the struct
    /// itself goes along: no serialisation, decode and encode of each message for a room across
    /// two threads; to another process, its JSON form (nodemessages.h).
    virtual void sendTo(int node, const NodeMessage &message) = 0;

signals:
    void received(const NodeMessage &message);
    /// Nodes found dead since the last check.
    void nodesDied(const QSet<int> &nodes);
    /// Nodes found dead before that are alive after all (their heartbeats were only late).
    void nodesRevived(const QSet<int> &nodes);
    /// This node was taken for dead by the others: its users are no longer in the shared queue.
    void queueLost();
    /// A pairing made for one of this node's users while handling another node's call.
    void matchedElsewhere(const QString &userId, const ClusterMatch &match);
};

} // namespace anonchat::server
