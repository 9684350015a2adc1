#pragma once

#include "server/metrics.h"
#include "server/serverconfig.h"
#include "server/session.h"
#include "server/storage.h"
#include "shared/codec.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QUrl>
#include <memory>
#include <optional>
#include <unordered_map>
#include <variant>
#include <vector>

class QWebSocket;
class QWebSocketServer;
class QTcpSocket;

namespace anonchat::server {

class HttpListener;
struct HttpRequest;
struct HttpResponse;

/**
 * The anonchat server: one port (HttpListener) for the page, /healthz, /metrics and /ws; the
 * sessions, rooms and matchmaker; and the storage writer whose commits gate every relay.
 * Runs on the thread that created it; the same class runs headless and inside the desktop app.
 */
class ChatServer : public QObject
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

    int connectionCount() const { return int(m_bySocket.size()); }
    int queuedCount() const { return m_matchmaker.queuedCount(); }
    int activeRoomCount() const { return int(m_rooms.size()) - m_endingRooms; }
    const Metrics &metrics() const { return m_metrics; }

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
    };
    struct PendingRoomEnd {
        qint64 roomId = 0;
    };
    using Pending = std::variant<PendingMessage, PendingReport, PendingRoom, PendingRoomEnd>;

    HttpResponse handleHttp(const HttpRequest &request);
    int checkUpgrade(const HttpRequest &request) const;
    void onWebSocketRequest(QTcpSocket *socket);
    void onNewWebSocket();
    void onText(Session *session, const QString &text);
    void onBinary(Session *session);
    void onDisconnected(QWebSocket *socket);
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
    void setTyping(Session &s, bool typing);
    void deliver(const PendingMessage &pending);
    void scheduleInterestTimer();

    Session *createSession(QWebSocket *socket);
    void destroySession(UserKey key);
    Session *sessionFor(UserKey key) const;
    QString newResumeToken() const;

    void send(Session &s, const protocol::ServerMessage &message);
    /// One encoded frame (UTF-8 JSON) as a text message.
    void sendFrame(Session &s, const QByteArray &utf8);
    /// Writes what sendFrame() queued to the sockets now, rather than when the event loop next
    /// finds them writable: one write() per socket and no epoll round trip per frame. Called at
    /// the end of the hot handlers (a frame, a commit), never in the middle of one, since a
    /// failed write closes its socket at once.
    void flushWrites();
    void sendError(Session &s, protocol::ErrorCode code, const QString &message,
                   const QString &event = {}, qint64 retryAfterMs = -1);
    void closeSocket(QWebSocket *socket, int code, const QString &reason);
    bool closeGoingAway(QWebSocket *socket, QTcpSocket *tcp, const QString &reason);
    qint64 nowMs() const { return m_clock.elapsed(); }
    protocol::Waiting waitingInfo() const;

    ServerConfig m_config;
    QElapsedTimer m_clock;
    HttpListener *m_listener = nullptr;
    QWebSocketServer *m_webSockets = nullptr;
    std::unique_ptr<StorageWriter> m_storage;
    Matchmaker m_matchmaker;
    Metrics m_metrics;
    std::unordered_map<UserKey, std::unique_ptr<Session>> m_sessions;
    QHash<QWebSocket *, UserKey> m_bySocket;
    QHash<QHostAddress, int> m_connectionsByAddress; ///< live WebSockets per peer address
    QHash<QString, UserKey> m_byToken;
    QHash<qint64, Room> m_rooms;
    int m_endingRooms = 0; ///< rooms whose end is being stored (still in m_rooms)
    QHash<quint64, Pending> m_pending;
    QTimer m_sweepTimer;
    QTimer m_interestTimer;
    std::vector<QPointer<QWebSocket>> m_unflushed; ///< written to since the last flushWrites()
    bool m_stopping = false;
};

} // namespace anonchat::server
