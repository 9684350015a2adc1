#pragma once

#include "server/app/serverconfig.h"
#include "server/chat/session.h"
#include "server/cluster/clusterlink.h"
#include "server/cluster/locallink.h"
#include "server/net/clientsocket.h"
#include "server/net/connectionbudget.h"
#include "server/storage/storagewriter.h"
#include "server/web/metrics.h"
#include "shared/codec.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QThread>
#include <QTimer>
#include <QUrl>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <variant>
#include <vector>

class QTcpSocket;

namespace anonchat::server {

class HttpListener;
class WebSocketIntake;
struct HttpRequest;
struct HttpResponse;

/**
 * The anonchat server: one port (HttpListener) for the page, /healthz, /metrics and /ws; the
 * sessions, rooms and matchmaker; and the storage writer whose commits gate every relay.
 * Runs on the thread that created it; the same class runs headless and inside the desktop app.
 */
class ChatServer : public QObject, private ClientSocket::Handler
{
    Q_OBJECT
public:
    explicit ChatServer(ServerConfig config, QObject *parent = nullptr);
    ~ChatServer() override;

    /// Opens the database and starts listening. False with a one-line `error` naming the cause.
    bool start(QString *error);

    quint16 port() const;
    /// `http://host:port/` (`https://` with TLS) as a browser would open it.
    QUrl url() const;

    /// Graceful stop (PROTOCOL.md): stop accepting, close clients with 1001, commit every
    /// pending message, close the database. Emits stopped() when done. Idempotent.
    void shutdown();

    /// Over every node of this process (`--threads`), or of the cluster (`--redis`, as of the
    /// last heartbeat).
    int connectionCount() const;
    int queuedCount() const;
    int activeRoomCount() const;
    const Metrics &metrics() const { return *m_metrics; }
    /// Nodes serving WebSockets in this process (`--threads`).
    int threadCount() const { return int(m_workers.size()) + 1; }

    /// Tests: called after each text frame from a client has been handled.
    void setFrameHookForTesting(std::function<void(quint16 peerPort, const QByteArray &utf8)> hook)
    {
        m_frameHook = std::move(hook);
    }

signals:
    void stopped();

private:
    // What a storage ticket was for.
    struct PendingMessage {
        protocol::NewMessage message;
        UserKey sender = 0;
        QString nonceKey;
    };
    struct PendingReport {
        UserKey reporter = 0;
        qint64 roomId = 0;
    };
    struct PendingRoom {
        qint64 roomId = 0;
        /// A room with a member on another node: its `accept`, sent once the row is stored
        /// (that node's messages in the room must not reach the database before the room).
        QJsonObject accept;
        int acceptNode = 0;
    };
    struct PendingRoomEnd {
        qint64 roomId = 0;
    };
    using Pending = std::variant<PendingMessage, PendingReport, PendingRoom, PendingRoomEnd>;

    HttpResponse handleHttp(const HttpRequest &request);
    int checkUpgrade(const HttpRequest &request);
    /// The budget of the process: `--max-connections` lowered to what the open-file limit
    /// allows (logged), and the sockets it allows in all.
    std::shared_ptr<ConnectionBudget> makeBudget() const;
    /// Logs the figures of makeBudget() (once started: a failed start prints one line only).
    void logLimits() const;
    void onWebSocketRequest(QTcpSocket *socket);
    void acceptConnection(ClientSocket *connection);
    // ClientSocket::Handler
    void textReceived(ClientSocket *connection, const QByteArray &utf8) override;
    void binaryReceived(ClientSocket *connection) override;
    void pongReceived(ClientSocket *connection) override;
    void disconnected(ClientSocket *connection) override;
    void onText(Session *session, const QByteArray &utf8);
    void onBinary(Session *session);
    std::optional<Pending> takePending(quint64 ticket);
    void onCommitted(const QVector<quint64> &tickets, double seconds);
    void onFailed(const QVector<quint64> &tickets, const QString &error);
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

    void joinQueue(Session &s, const QStringList &interests);
    void startRoom(const Match &match);
    void endRoom(qint64 roomId, UserKey leaver, protocol::LeaveReason reason,
                 const QString &storedReason);
    /// Removes a room; its remaining members hear partner_left, or, when the room's own row
    /// could not be stored, `error internal` and room_left.
    void finishRoom(qint64 roomId, bool roomStored = true);
    Session *partnerInRoom(const Session &s) const;
    /// No room id could be had: the user is out of the queue with `error internal`.
    void databaseUnavailable(Session &s);
    void setTyping(Session &s, bool typing);
    void deliver(const PendingMessage &pending);
    void scheduleInterestTimer();

    // Cluster (--redis): rooms across servers; see ClusterLink.
    void clusterEnqueue(Session &s, bool announce = true);
    void onClusterMatch(UserKey key, bool ok, const std::optional<ClusterMatch> &match,
                        bool promoted);
    void schedulePromotion();
    void onClusterMessage(const QJsonObject &m);
    void onNodesDied(const QSet<int> &nodes);
    void onNodesRevived(const QSet<int> &nodes);
    void onProposal(const QJsonObject &m);
    void onAccepted(Session *s, const QJsonObject &m);
    void onMoved(const QJsonObject &m);
    void onRoomEvent(Session &s, Room &room, const QString &type, const QJsonObject &m);
    void tellRemote(const Room &room, const QString &type, QJsonObject message = {},
                    const std::optional<RelayedMessage> &relayed = std::nullopt);
    /// The member elsewhere left: the one here hears partner_left, once its messages are stored.
    void onRemoteLeft(Room &room, protocol::LeaveReason reason);
    void resumeFromCluster(Session &s, const protocol::Resume &m);
    void answerResume(const QJsonObject &m);
    void completeResume(const QJsonObject &m);
    Session &adoptIdentity(Session &provisional, const QString &userId);
    void sendResumed(Session &user, const Room *room, qint64 lastId, bool wasAway);
    void updatePlace(const Session &s);
    void clusterSweep(qint64 now);

    bool startNode(QString *error);
    bool startWorkers(QString *error);
    /// Takes a WebSocket's socket (moved to this thread), its upgrade request unread.
    void adoptSocket(QTcpSocket *socket);
    /// Runs `call` on each worker's thread and waits for it.
    void forEachWorker(const std::function<void(ChatServer &)> &call);
    void endRoomsForShutdown();
    void closeAllGoingAway();
    int localConnectionCount() const { return int(m_bySocket.size()); }
    int localActiveRooms() const { return int(m_rooms.size()) - m_endingRooms - m_foreignRooms; }
    void publishCounts();
    void addRoom(const Room &room);
    void removeRoom(QHash<qint64, Room>::iterator it);
    void markEnding(Room &room);

    Session *createSession(ClientSocket *socket);
    void destroySession(UserKey key, bool forgetInCluster = true);
    /// An away session ends (the resume window, or the away cap): its room ends `disconnected`.
    void expireAway(UserKey key);
    /// Counts `s`, just gone away, against the away cap of its address (--max-connections-per-
    /// address; without it, against --max-connections in all), and drops the oldest away session
    /// of that address on this node when over: one without a room first (it has only an identity
    /// to lose). May destroy `s`.
    void countAway(Session &s);
    void uncountAway(Session &s);
    Session *sessionFor(const QString &userId) const;
    Session *sessionFor(UserKey key) const;
    QString newResumeToken() const;

    void send(Session &s, const protocol::ServerMessage &message);
    /// One encoded frame (UTF-8 JSON) as a text message.
    void sendFrame(Session &s, const QByteArray &utf8);
    /// Writes what sendFrame() queued to the sockets: one write() per socket for all the frames
    /// a handler queued for it. Called at the end of the hot handlers (a frame, a commit); what
    /// other code queues goes out on the next turn of the event loop (m_flushTimer).
    void flushWrites();
    /// Flushes the writes of one event handler when it returns.
    struct FlushAtEnd {
        ChatServer *server;
        ~FlushAtEnd() { server->flushWrites(); }
    };
    void sendError(Session &s, protocol::ErrorCode code, const QString &message,
                   const QString &event = {}, qint64 retryAfterMs = -1);
    void closeSocket(ClientSocket *socket, int code, const QString &reason);
    qint64 nowMs() const { return m_clock.elapsed(); }
    protocol::Waiting waitingInfo() const;

    ServerConfig m_config;
    QElapsedTimer m_clock;
    HttpListener *m_listener = nullptr;
    WebSocketIntake *m_intake = nullptr;      ///< this node's QWebSocketServer
    std::shared_ptr<StorageWriter> m_storage; ///< one for every node of the process
    Matchmaker m_matchmaker;
    std::shared_ptr<Metrics> m_metrics; ///< one for every node of the process
    std::unordered_map<UserKey, std::unique_ptr<Session>> m_sessions;
    QHash<ClientSocket *, UserKey> m_bySocket;
    std::shared_ptr<ConnectionBudget> m_budget; ///< one for every node of the process
    /// This node's away sessions counted in m_budget, by address (all under a null address when
    /// there is no per-address cap), by Session::awaySerial: the longest away first.
    QHash<QHostAddress, std::map<quint64, UserKey>> m_awayByAddress;
    quint64 m_lastAwaySerial = 0;
    RefusalLog m_originLog; ///< refused Origins, logged at most once an interval per address
    RefusalLog m_awayCapLog;
    QHash<QString, UserKey> m_byToken;
    QHash<qint64, Room> m_rooms;
    int m_endingRooms = 0;  ///< rooms whose end is being stored (still in m_rooms)
    int m_foreignRooms = 0; ///< rooms not ending, stored and counted by another node
    // `--threads N`: this node (the front, node 1) listens and hands WebSockets round robin to
    // itself and its workers, each a ChatServer on a thread of its own, linked by a LocalHub.
    struct Worker {
        QThread *thread = nullptr;
        ChatServer *server = nullptr;
    };
    std::vector<Worker> m_workers;
    std::shared_ptr<LocalHub> m_hub;
    bool m_isWorker = false;
    size_t m_nextNode = 0;
    std::atomic<qint64> m_awayUsers{0};
    QHash<quint64, Pending> m_pending;
    std::unique_ptr<ClusterLink> m_cluster;
    std::multimap<qint64, UserKey> m_promotions; ///< interest waits ending, in a cluster
    QTimer m_promoteTimer;
    struct PendingResume {
        qint64 sinceMs = 0;
        int partnerNode = 0;
        qint64 lastId = -1;
        qint64 roomId = 0;
        QString partnerId;
    };
    QHash<QString, PendingResume>
        m_clusterResumes; ///< by user id: waiting for the partner's server
    QTimer m_sweepTimer;
    QTimer m_interestTimer;
    QTimer m_flushTimer;
    std::function<void(quint16, const QByteArray &)> m_frameHook;
    std::vector<QPointer<ClientSocket>> m_unflushed; ///< written to since the last flushWrites()
    bool m_stopping = false;
};

} // namespace anonchat::server
