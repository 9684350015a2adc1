#pragma once

#include "shared/messages.h"

#include <QHash>
#include <QList>
#include <QMap>
#include <QObject>
#include <QRandomGenerator>
#include <QString>
#include <QUrl>
#include <functional>
#include <queue>
#include <vector>

class QTimer;
class QWebSocket;

namespace anonchat::bench {

class Ledger;

/// A span of seconds (or a count) picked from uniformly.
struct Range {
    double low = 0;
    double high = 0;
    double pick(QRandomGenerator &random) const
    {
        return low + (high - low) * random.generateDouble();
    }
};

/// How the simulated users behave; the same for every worker.
struct ChurnConfig {
    QList<QUrl> urls;            ///< user i of worker w keeps to urls[(i + w) % size]
    Range messageInterval{1, 3}; ///< seconds between two messages of a user
    Range messages{2, 8};        ///< messages a user sends in a room before it moves on
    Range reconnect{1, 5};       ///< seconds a dropped user stays away before it resumes
    Range think{0.5, 3};         ///< seconds between a room's end and joining the queue again
    double interestShare = 0.3;  ///< users who join with interests
    quint32 seed = 1;
};

/// Event counts ("connects", "matches", ...) and `error` frames by code.
struct ChurnCounts {
    QMap<QString, qint64> events;
    QMap<QString, qint64> errors;
    void add(const ChurnCounts &other);
};

/**
 * One thread's share of the simulated users: each loops through a randomised life (connect,
 * join_queue, matched, a few messages at a human pace, then leave_room_event, next, an abrupt drop
 * and a resume, or leaving for good while a new user takes its place). Every method but the
 * constructor runs on the worker's thread (QMetaObject::invokeMethod).
 */
class ChurnWorker : public QObject
{
    Q_OBJECT
public:
    ChurnWorker(const ChurnConfig &config, int index, Ledger *ledger);
    ~ChurnWorker() override;

    /// Starts `users` users, their first connections spread over `rampS` seconds.
    void start(int users, double rampS);
    /// No new step from now on; every room's end is recorded in the ledger as of `stopNs`.
    void stop(qint64 stopNs);
    /// Leaves rooms and queues politely and closes every connection (close frame).
    void closeAll();
    /// Aborts and deletes whatever is still open.
    void destroyAll();
    ChurnCounts counts() const { return m_counts; }

private:
    enum class Phase { New, Connecting, Idle, Queued, Chatting, Away };
    struct User {
        QWebSocket *socket = nullptr;
        Phase phase = Phase::New;
        quint32 generation = 0; ///< a scheduled step of an older generation is void
        bool resuming = false;  ///< the connection is for a `resume`
        QString userId;
        QString token;
        QString welcomeId; ///< the identity of this connection's welcome (stands if resume fails)
        QString welcomeToken;
        qint64 roomId = 0;
        qint64 lastId = -1; ///< the highest message id seen in the room
        int toSend = 0;
        bool droppedInRoom = false;
        qint64 dropNs = 0;
        qint64 lastSendNs = 0;
        QHash<QString, QString> pending; ///< nonce -> content, sent and not yet acknowledged
    };
    struct Due {
        qint64 atNs;
        int index;
        quint32 generation;
        bool operator>(const Due &other) const { return atNs > other.atNs; }
    };

    void schedule(int index, double seconds);
    void onTick();
    void step(int index);
    void connectUser(int index);
    void dropSocket(User &u);
    void onGone(int index, QWebSocket *socket);
    void onText(int index, const QString &text);
    void onWelcome(int index, const QString &userId, const QString &token);
    void onResumed(int index, const protocol::Resumed &resumed);
    void onMatched(int index, const protocol::Matched &matched);
    void onNewMessage(User &u, const protocol::NewMessage &message);
    void onError(int index, const protocol::Error &error);
    void onRoomOver(int index, qint64 roomId);
    void chat(int index);
    void sendMessage(User &u);
    void moveOn(int index);
    void backToQueueLater(int index);
    void clearRoom(User &u);
    QStringList pickInterests();
    void count(const QString &event, qint64 n = 1) { m_counts.events[event] += n; }
    void count(const char *event, qint64 n = 1) { count(QLatin1String(event), n); }
    void send(User &u, const QString &frame);

    ChurnConfig m_config;
    int m_index = 0;
    Ledger *m_ledger;
    QRandomGenerator m_random;
    std::vector<User> m_users;
    std::priority_queue<Due, std::vector<Due>, std::greater<Due>> m_agenda;
    QTimer *m_timer = nullptr;
    bool m_stopping = false;
    qint64 m_nonce = 0;
    ChurnCounts m_counts;
};

} // namespace anonchat::bench
