#pragma once

#include <QHash>
#include <QMap>
#include <QMutex>
#include <QObject>
#include <QString>
#include <QUrl>
#include <atomic>
#include <limits>
#include <vector>

class QTimer;
class QWebSocket;

namespace anonchat::bench {

/// What every LoadWorker updates and the coordinator (main thread) reads while it waits.
struct SharedState {
    std::atomic<int> welcomed{0}; ///< connections that got `welcome`
    std::atomic<int> failed{0};   ///< connections that ended before `welcome`
    std::atomic<int> dropped{0};  ///< connections closed by the server after `welcome`
    std::atomic<int> matched{0};  ///< chat connections that got `matched`
    std::atomic<qint64> lastWelcomeNs{0};
    std::atomic<qint64> lastMatchedNs{0};
    /// The measured phase: only what is received inside [start, end) is counted.
    std::atomic<qint64> windowStartNs{std::numeric_limits<qint64>::max()};
    std::atomic<qint64> windowEndNs{std::numeric_limits<qint64>::max()};
    std::atomic<bool> chatting{false}; ///< false: no new message is started
    /// Which of the --url servers each user connected to (several servers only).
    QMutex usersMutex;
    QHash<QString, int> serverOfUser;
};

/// Sets `value` to `candidate` if that is larger (from any thread).
inline void raiseToAtLeast(std::atomic<qint64> &value, qint64 candidate)
{
    qint64 current = value.load();
    while (current < candidate && !value.compare_exchange_weak(current, candidate)) {
    }
}

/// What one worker counted in the measured phase.
struct WorkerResult {
    qint64 sent = 0;      ///< send_message frames sent
    qint64 delivered = 0; ///< partner copies of new_message received
    qint64 acked = 0;     ///< own copies (nonce echoed) received
    qint64 otherFrames = 0;
    QMap<QString, qint64> errors;  ///< `error` frames by code, whole run
    std::vector<qint64> latencyNs; ///< send -> partner receipt, one per delivered message
    /// Matched connections: the server index of the connection and its partner's user id.
    std::vector<std::pair<int, QString>> partners;
};

/**
 * One thread's share of the load: a set of QWebSockets driven by that thread's own event loop.
 * Idle connections and chatting ones live on different workers, so a wake-up of a chat thread
 * never walks thousands of idle sockets (Qt's dispatchers poll every socket they hold).
 * Every method but the constructor runs on the worker's thread (QMetaObject::invokeMethod).
 */
class LoadWorker : public QObject
{
    Q_OBJECT
public:
    /// rate: messages per second per user; 0 = ping-pong (each delivery triggers the reply).
    /// Connection k of worker `index` goes to urls[(index + k) % urls.size()]. With several
    /// servers, connections 2m and 2m+1 (on two different servers) join the queue with one
    /// interest of their own, "w<index>p<m>", so that each pair crosses servers.
    LoadWorker(const QList<QUrl> &urls, int index, SharedState *shared, double rate);
    ~LoadWorker() override;

    /// Opens `count` more connections, at most `maxInFlight` handshakes at a time.
    void open(int count, int maxInFlight);
    /// Sends join_queue on every connection that has its `welcome`.
    void joinQueue();
    /// Starts the chat in every matched room of this worker (messages flow while `chatting`).
    void startChat();
    /// Stops the rate timer; messages in flight are no longer answered.
    void stopChat();
    WorkerResult takeResult();
    /// Closes and deletes every connection.
    void closeAll();

private:
    enum class State { Connecting, Open, Gone };
    struct Connection {
        QWebSocket *socket = nullptr;
        State state = State::Connecting;
        QString userId;
        QString partnerId;
        int server = 0; ///< index into m_urls
        bool matched = false;
        double budget = 0; ///< messages owed in rate mode
    };

    void openMore();
    void onText(int index, const QString &text);
    void onGone(int index);
    void sendChat(Connection &c);
    void onTick();
    bool inWindow(qint64 t) const;

    QList<QUrl> m_urls;
    int m_index = 0;
    SharedState *m_shared;
    double m_rate;
    std::vector<Connection> m_connections;
    int m_toOpen = 0;
    int m_inFlight = 0;
    int m_maxInFlight = 1;
    bool m_closing = false;
    qint64 m_nonce = 0;
    QTimer *m_timer = nullptr;
    qint64 m_lastTickNs = 0;
    QString m_padding;
    WorkerResult m_result;
};

} // namespace anonchat::bench
