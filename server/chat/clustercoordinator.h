#pragma once

// A node's side of a cluster (--threads, --redis): pairing, rooms across nodes, resume elsewhere.

#include "server/app/serverconfig.h"
#include "server/chat/commitgate.h"
#include "server/chat/roomtable.h"
#include "server/chat/sessiontable.h"
#include "server/cluster/clusterlink.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QTimer>
#include <map>
#include <memory>

namespace anonchat::server {

/// What the coordinator asks of its node (ChatNode): frames to users, rooms started and ended.
class NodeActions
{
public:
    virtual ~NodeActions() = default;
    virtual void send(Session &s, const protocol::ServerMessage &message) = 0;
    virtual void sendFrame(Session &s, const QByteArray &utf8) = 0;
    virtual void sendError(Session &s, protocol::ErrorCode code, const QString &message,
                           const QString &event, qint64 retryAfterMs) = 0;
    virtual void closeSocket(ClientSocket *socket, int code, const QString &reason) = 0;
    virtual protocol::Waiting waitingInfo() const = 0;
    virtual void startRoom(const Match &match) = 0;
    /// `s` is in `room` (added already) with `partnerId`: it hears `matched`.
    virtual void enterRoom(Session &s, const Room &room, const QString &partnerId) = 0;
    virtual void endRoom(qint64 roomId, UserKey leaver, protocol::LeaveReason reason,
                         const QString &storedReason) = 0;
    virtual Room &addRoom(const Room &room) = 0;
    virtual void removeRoom(qint64 id) = 0;
    virtual void databaseUnavailable(Session &s) = 0;
    virtual void sendResumed(Session &user, const Room *room, qint64 lastId, bool wasAway) = 0;
    virtual void destroySession(UserKey key, bool forgetInCluster) = 0;
    virtual void publishCounts() = 0;
    /// The partner's node answered `s`'s leave of `roomId` (or did not in time): it goes ahead.
    virtual void leaveSeen(UserKey key, qint64 roomId) = 0;
};

/**
 * Pairing across nodes: the shared queue's script pairs user B (here) with user P (on node N),
 * taking both out of the queue atomically. We propose the room to N; N checks P is still
 * queued, stores the room and answers `accept` (P hears `matched`), or `requeue`. A message in
 * such a room is stored by its sender's node and, once committed, sent to the partner's node,
 * which keeps it for resume and sends it on: one hop. Also: interest waits ending (promotion),
 * nodes that die, and a resume on a node other than the user's.
 *
 * Owns the ClusterLink; works on the node's tables. Runs on the node's thread.
 */
class ClusterCoordinator : public QObject
{
    Q_OBJECT
public:
    struct Parts {
        NodeActions &node;
        SessionTable &sessions;
        RoomTable &rooms;
        CommitGate &commits;
        const ServerConfig &config;
        const QElapsedTimer &clock;
    };
    ClusterCoordinator(Parts parts, std::unique_ptr<ClusterLink> link, QObject *parent = nullptr);

    ClusterLink &link() const { return *m_link; }
    bool start(QString *error) { return m_link->start(error); }
    void stop();

    /// Queues `s` in the shared queue; `announce`: it hears `waiting` (else it had it already).
    void enqueue(Session &s, bool announce = true);
    /// Tells the member of `room` on another node (if any).
    template <typename Event>
    void tell(const Room &room, Event event);
    void send(int node, const NodeMessage &message) { m_link->sendTo(node, message); }
    /// `s` leaves a room whose partner is on another live node: true when that node was asked to
    /// answer once what it relayed to `s` is on its way (NodeActions::leaveSeen() follows, at the
    /// latest after kLeaveAskTimeoutMs); false: `s` can leave at once.
    bool askLeave(const Session &s);
    /// The member elsewhere left: the one here hears partner_left, once its messages are stored.
    void remoteLeft(Room &room, protocol::LeaveReason reason);
    /// A `resume` whose token this node does not know: a user of another node, or of one gone.
    void resume(Session &provisional, const protocol::Resume &m);
    /// Where `s` is, for a resume on another node.
    void updatePlace(const Session &s);
    /// A message from another node.
    void handle(const NodeMessage &message, bool stopping);
    void sweep(qint64 now);

private:
    qint64 nowMs() const { return m_clock.elapsed(); }
    void onMatch(UserKey key, bool ok, const std::optional<ClusterMatch> &match, bool promoted);
    void requeuePartner(const ClusterMatch &match);
    void promoteDue();
    void schedulePromotion(UserKey key);
    void schedulePromotion();
    void onNodesDied(const QSet<int> &nodes);
    void onNodesRevived(const QSet<int> &nodes);
    void expireResumes(qint64 now);
    void resumeAt(Session &s, const ClusterPlace &place, qint64 lastId);
    Session &adoptIdentity(Session &provisional, const QString &userId);
    /// The room an event is for, and its member here (null: it ended here meanwhile).
    Room *roomFor(const node::RoomAddress &at, Session **member);
    node::RoomAddress addressOf(const Room &room) const;

    void on(const std::monostate &) {}
    void on(const node::Propose &m);
    void on(const node::Accept &m);
    void on(const node::Declined &m);
    void on(const node::Requeue &m);
    void on(const node::Moved &m);
    void on(const node::ResumeAsk &m);
    void on(const node::ResumeAnswer &m);
    void on(const node::RelayMessage &m);
    void on(const node::RelayTyping &m);
    void on(const node::RelayAway &m);
    void on(const node::RelayBack &m);
    void on(const node::RelayLeft &m);
    void on(const node::LeaveAsk &m);
    void on(const node::LeaveSeen &m);

    NodeActions &m_node;
    SessionTable &m_sessions;
    RoomTable &m_rooms;
    CommitGate &m_commits;
    const ServerConfig &m_config;
    const QElapsedTimer &m_clock;
    std::unique_ptr<ClusterLink> m_link;
    /// Language phases starting and waits ending.
    std::multimap<qint64, std::pair<UserKey, QueueStage>> m_promotions;
    QTimer m_promoteTimer;
    struct PendingResume {
        qint64 sinceMs = 0;
        int partnerNode = 0;
        qint64 lastId = -1;
        qint64 roomId = 0;
        QString partnerId;
    };
    /// By user id: waiting for the partner's node.
    QHash<QString, PendingResume> m_resumes;
};

template <typename Event>
void ClusterCoordinator::tell(const Room &room, Event event)
{
    if (!room.remoteMember)
        return;
    event.at = addressOf(room);
    m_link->sendTo(room.remoteNode, std::move(event));
}

} // namespace anonchat::server
