#pragma once

// One node: the sessions, rooms and events of the WebSockets one thread serves.

#include "server/app/serverconfig.h"
#include "server/chat/awaycap.h"
#include "server/chat/bangate.h"
#include "server/chat/clustercoordinator.h"
#include "server/chat/commitgate.h"
#include "server/chat/framewriter.h"
#include "server/chat/powgate.h"
#include "server/chat/room.h"
#include "server/chat/roomservice.h"
#include "server/chat/roomtable.h"
#include "server/chat/session.h"
#include "server/chat/sessiontable.h"
#include "server/cluster/clusterlink.h"
#include "server/net/clientsocket.h"
#include "server/web/metrics.h"
#include "shared/codec.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QTimer>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

class QTcpSocket;

namespace anonchat::server {

class LocalHub;
class WebSocketIntake;

/// What the nodes of one process share (NodePool makes it).
struct NodeShared {
    std::shared_ptr<StorageWriter> storage;
    std::shared_ptr<Metrics> metrics;
    std::shared_ptr<ConnectionBudget> budget;
    std::shared_ptr<LocalHub> hub; ///< `--threads` without `--redis`: the nodes' LocalLinks
    // Moderation (ModerationService); none: no bans, no address hashes.
    std::shared_ptr<const AddressHasher> hasher;
    std::shared_ptr<BanList> bans;
    std::function<void(const QString &reportedHash)> reportStored; ///< any thread
};

/**
 * A node serves the WebSockets handed to it, on its own thread: sessions own sockets, rooms own
 * only ids, a dropped user is "away" for the resume window, and every message is relayed only
 * once its row is committed (CommitGate). Nodes of one process (`--threads`) or of a cluster
 * (`--redis`) share the queue and relay rooms whose members sit on two of them through a
 * ClusterCoordinator. Made, started and stopped by NodePool; every method runs on the node's
 * thread.
 */
class ChatNode : public QObject, private ClientSocket::Handler, private NodeActions
{
    Q_OBJECT
public:
    ChatNode(const ServerConfig &config, NodeShared shared, QObject *parent = nullptr);
    ~ChatNode() override;

    /// Its QWebSocketServer, timers and cluster link. False with a one-line `error`.
    bool start(QString *error);
    /// Takes a WebSocket's socket (moved to this thread), its upgrade request unread.
    void adoptSocket(QTcpSocket *socket);

    /// Of the process or cluster when linked (as of the last heartbeat), else of this node.
    int connectionCount() const;
    int queuedCount() const;
    int activeRoomCount() const;
    int localConnectionCount() const { return m_sessions.connectedCount(); }
    /// This node's away sessions; read from any thread.
    qint64 awayUsers() const { return m_awayUsers.load(std::memory_order_relaxed); }

    // Graceful stop, in ChatServer::shutdown()'s order (NodePool::forEach).
    /// Nothing new starts: timers stop, new sockets are refused.
    void stopAccepting();
    /// Relays the commits (acks) that have arrived, and what other nodes relayed meanwhile.
    void deliverCommitted();
    /// Stores the end of every room (`server_shutdown`), or hands it to its other server.
    void endRoomsForShutdown();
    /// Every client closed with 1001.
    void closeAllGoingAway();
    /// Closes the connections from `addressHash` (1008, after `error` `banned`) if a ban holds it.
    void closeBanned(const QString &addressHash);

private:
    void acceptConnection(ClientSocket *connection);
    // ClientSocket::Handler
    void textReceived(ClientSocket *connection, const QByteArray &utf8) override;
    void binaryReceived(ClientSocket *connection) override;
    void pongReceived(ClientSocket *connection) override;
    void disconnected(ClientSocket *connection) override;
    void onText(Session *session, const QByteArray &utf8);
    void onBinary(Session *session);
    void sweep();

    // Events
    void handle(Session &s, const protocol::JoinQueue &m);
    void handle(Session &s, const protocol::LeaveQueue &m);
    void handle(Session &s, const protocol::SendMessage &m);
    void handle(Session &s, const protocol::Typing &m);
    void handle(Session &s, const protocol::LeaveRoom &m);
    void handle(Session &s, const protocol::Next &m);
    void handle(Session &s, const protocol::Report &m);
    void handle(Session &s, const protocol::Resume &m);
    void handle(Session &s, const protocol::GetStats &m);

    void joinQueue(Session &s, const QStringList &interests, const QString &lang);
    /// Ends `s`'s room now (false), or once its partner's node answers (true; leaveSeen()).
    bool leaveRoom(Session &s, const PendingLeave &leave);
    /// A join_queue or next while a leave is held: it follows the leave (true).
    bool joinAfterLeave(Session &s, const QStringList &interests, const QString &lang);
    void leaveSeen(UserKey key, qint64 roomId) override;
    /// PowGate::admit(), with its error sent; false: refused.
    bool admit(Session &s, const QString &powNonce, protocol::ClientEvent event);
    // NodeActions: what RoomService does.
    void startRoom(const Match &match) override { m_roomService.startRoom(match); }
    void enterRoom(Session &s, const Room &room, const QString &partnerId) override
    {
        m_roomService.enter(s, room, partnerId);
    }
    void endRoom(qint64 roomId, UserKey leaver, protocol::LeaveReason reason,
                 const QString &storedReason) override
    {
        m_roomService.endRoom(roomId, leaver, reason, storedReason);
    }
    void databaseUnavailable(Session &s) override { m_roomService.databaseUnavailable(s); }
    void scheduleInterestTimer();

    // Cluster (--threads, --redis): what ClusterCoordinator does for this node.
    void onClusterMessage(const NodeMessage &message);
    void sendResumed(Session &user, const Room *room, qint64 lastId, bool wasAway) override
    {
        m_roomService.sendResumed(user, room, lastId, wasAway);
    }

    int localActiveRooms() const { return m_rooms.activeHere(); }
    void publishCounts() override;
    Room &addRoom(const Room &room) override;
    void removeRoom(qint64 id) override;
    /// The room `s` is in (null: none, or its leave is held: see leaveRoom()).
    Room *roomOf(const Session &s);

    Session *createSession(ClientSocket *socket);
    void destroySession(UserKey key, bool forgetInCluster = true) override;
    /// An away session ends (the resume window, or the away cap): its room ends `disconnected`.
    void expireAway(UserKey key);
    /// Counts `s`, just gone away, against the away cap (AwayCap). May destroy `s`.
    void countAway(Session &s);
    Session *sessionFor(const QString &userId) const { return m_sessions.find(userId); }
    Session *sessionFor(UserKey key) const { return m_sessions.find(key); }

    void send(Session &s, const protocol::ServerMessage &message) override;
    /// One encoded frame (UTF-8 JSON) as a text message, written by m_writer.
    void sendFrame(Session &s, const QByteArray &utf8) override;
    void sendError(Session &s, protocol::ErrorCode code, const QString &message,
                   const QString &event = {}, qint64 retryAfterMs = -1) override;
    void closeSocket(ClientSocket *socket, int code, const QString &reason) override;
    qint64 nowMs() const { return m_clock.elapsed(); }
    protocol::Waiting waitingInfo() const override;

    const ServerConfig m_config;
    NodeShared m_shared;
    BanGate m_banGate;
    QElapsedTimer m_clock;
    WebSocketIntake *m_intake = nullptr; ///< this node's QWebSocketServer
    CommitGate m_commits;
    FrameWriter m_writer;
    AwayCap m_awayCap;
    PowGate m_powGate;
    Matchmaker m_matchmaker;
    Metrics &m_metrics;
    SessionTable m_sessions;
    RoomTable m_rooms;
    RoomService m_roomService; ///< works on the tables above
    std::atomic<qint64> m_awayUsers{0};
    std::unique_ptr<ClusterCoordinator> m_coordinator; ///< null: a node alone
    ClusterLink *m_cluster = nullptr;                  ///< m_coordinator's link
    QTimer m_sweepTimer;
    QTimer m_interestTimer;
    bool m_stopping = false;
};

} // namespace anonchat::server
