#pragma once

// What happens in a node's rooms: they start, carry messages once stored, and end.

#include "server/chat/clustercoordinator.h"
#include "server/chat/commitgate.h"
#include "server/chat/roomtable.h"
#include "server/chat/sessiontable.h"
#include "server/match/matchmaker.h"
#include "server/web/metrics.h"

#include <QCoreApplication>
#include <functional>

namespace anonchat::server {

/**
 * Starts a room for a match (its row submitted, both told `matched`), takes a member's message
 * in (nonce dedupe, an id, its row submitted), relays it once committed (the sender's ack, the
 * partner's copy, the member on another node), and ends a room: the leaver is out at once, the
 * partner hears `partner_left` once the end is stored, after every message sent before it. Takes
 * the node's storage results: what each of its commits releases (CommitGate), what each failure
 * tells. The node (NodeActions) sends; ClusterCoordinator, when there is one, carries what
 * crosses nodes.
 */
class RoomService
{
    Q_DECLARE_TR_FUNCTIONS(anonchat::server::RoomService)
public:
    struct Parts {
        NodeActions &node;
        SessionTable &sessions;
        RoomTable &rooms;
        CommitGate &commits;
        Matchmaker &matchmaker;
        Metrics &metrics;
        /// A report is stored (may be empty: no moderation); any thread.
        const std::function<void(const QString &reportedHash)> &reportStored;
    };
    explicit RoomService(Parts parts);

    /// Set once the node has started its cluster link (null: a node alone).
    void setCoordinator(ClusterCoordinator *coordinator) { m_coordinator = coordinator; }

    void startRoom(const Match &match);
    /// `s` is in `room` (added already) with `partnerId`: it hears `matched`.
    void enter(Session &s, const Room &room, const QString &partnerId);
    /// `s` (in `room`) sends a message: stored first, relayed by deliver().
    void accept(Session &s, Room &room, const protocol::SendMessage &m);
    /// Storage committed `tickets`: what this node's waited on is released (the other nodes'
    /// tickets are skipped). Every node hears every commit.
    void committed(const QVector<quint64> &tickets);
    /// Storage could not commit `tickets`: the users this node's tickets concern hear so, and a
    /// room whose row was not stored ends.
    void storageFailed(const QVector<quint64> &tickets, const QString &error);
    void endRoom(qint64 roomId, UserKey leaver, protocol::LeaveReason reason,
                 const QString &storedReason);
    /// Stores the end of every room (`server_shutdown`), or leaves it to the member's other
    /// server; `nodesShareProcess`: the other nodes are threads of this process (`--threads`).
    void endRoomsForShutdown(bool nodesShareProcess);
    /// No room id could be had: the user is out of the queue with `error internal`.
    void databaseUnavailable(Session &s);

    /// `s` reports its partner: the two are never paired again, and the report is stored with
    /// both address hashes (PendingReport). False when `s` is in no room.
    bool report(const Session &s, const QString &reason);
    Session *partnerInRoom(const Session &s) const;
    void setTyping(Session &s, bool typing);
    /// Tells the member of `room` on another node (if any).
    template <typename Event>
    void tellRemote(const Room &room, Event event)
    {
        if (m_coordinator)
            m_coordinator->tell(room, std::move(event));
    }
    /// Where `s` is, for a resume on another node.
    void updatePlace(const Session &s);
    /// `resumed` for `user`, with what `room` holds after `lastId`; its partner hears
    /// partner_back when the user was away.
    void sendResumed(Session &user, const Room *room, qint64 lastId, bool wasAway);

private:
    /// A message's row is committed: to the sender (its ack), the partner, the other node.
    void deliver(const PendingMessage &pending);
    /// A message's row could not be stored: the sender hears so.
    void failed(const PendingMessage &pending);
    /// Removes a room; its remaining members hear partner_left, or, when the room's own row
    /// could not be stored, `error internal` and room_left.
    void finishRoom(qint64 roomId, bool roomStored = true);

    NodeActions &m_node;
    SessionTable &m_sessions;
    RoomTable &m_rooms;
    CommitGate &m_commits;
    Matchmaker &m_matchmaker;
    Metrics &m_metrics;
    const std::function<void(const QString &reportedHash)> &m_reportStored;
    ClusterCoordinator *m_coordinator = nullptr;
};

} // namespace anonchat::server
