#pragma once

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QSet>
#include <QString>
#include <QTimer>
#include <QUrl>
#include <QVector>
#include <functional>

struct redisAsyncContext;
struct redisReply;
class RedisQtAdapter;

namespace anonchat::server {

/// One Redis value (hiredis redisReply as an owned tree).
struct RedisReply {
    enum class Type { Nil, Integer, String, Status, Error, Array };
    Type type = Type::Nil;
    qint64 integer = 0;
    QByteArray string; ///< String, Status, Error text
    QVector<RedisReply> elements;

    bool isNil() const { return type == Type::Nil; }
    bool isError() const { return type == Type::Error; }
    bool isInteger() const { return type == Type::Integer; }
    bool isString() const { return type == Type::String; }
    bool isStatus() const { return type == Type::Status; }
    bool isArray() const { return type == Type::Array; }
    /// A Status reply "OK".
    bool isOk() const { return type == Type::Status && string == "OK"; }

    static RedisReply error(const QByteArray &text);
    static RedisReply fromHiredis(const redisReply *reply);
    /// For logs and test failures: `"abc"`, `(integer) 1`, `(error) ERR ...`, `[a, b]`, `(nil)`.
    QByteArray toDebugString() const;
};

/// One connection to Redis on the current thread's event loop, for the cluster link (shared queue
/// and rooms across anonchat-server processes). Uses hiredis's async API with its Qt adapter.
///
/// Reconnects with backoff (100 ms doubling to 5 s) after a loss or a failed attempt. Commands
/// given while not connected fail with an Error reply "redis unavailable", never hang; that
/// callback runs from the event loop (queued), never inside command(). Callbacks run on the owner
/// thread, in command order, exactly once per command: with the reply, or with an Error reply when
/// the connection drops before the answer. A client destroyed with commands in flight never calls
/// their callbacks (it may be destroyed from inside one of its own callbacks or signals).
///
/// The URL's password (and user name, Redis 6 ACL) is sent with AUTH and its /db with SELECT on
/// each connect; connected() is emitted once that and the re-subscriptions are acknowledged.
/// There is no per-command timeout: a Redis that accepts TCP but never answers holds callbacks
/// until the TCP connection fails (the connect and the handshake have a deadline,
/// setConnectTimeout()).
class RedisClient : public QObject
{
    Q_OBJECT
public:
    using Callback = std::function<void(const RedisReply &)>;

    /// redis://[[user]:password@]host[:port][/db]; checked by parseUrl().
    explicit RedisClient(const QUrl &url, QObject *parent = nullptr);
    ~RedisClient() override;

    /// For the CLI: accepts redis://host[:port][/db] (port 6379 by default) with an optional
    /// [user]:password@; rejects other schemes, a missing host, a bad port or db.
    static bool parseUrl(const QString &text, QUrl *url, QString *error);

    QUrl url() const { return m_url; }
    /// Starts connecting (async); then keeps reconnecting until destroyed.
    void open();
    /// For start-up: opens if needed and runs a local event loop until connected or timeout.
    bool waitConnected(int timeoutMs);
    bool isConnected() const { return m_state == State::Connected; }
    /// Deadline for the TCP connect plus the handshake (5 s by default); then it retries.
    void setConnectTimeout(int ms) { m_connectTimer.setInterval(ms); }

    /// Any command, binary-safe: command({"SET", key, value}, [](const RedisReply &r) {...}).
    void command(const QList<QByteArray> &args, Callback callback = {});
    /// Runs a Lua script by its SHA1 (EVALSHA). The first use of a script on each connection
    /// sends EVAL instead (which loads it), so that call order is kept; if the script cache was
    /// flushed since, the NOSCRIPT error is answered with an EVAL retry (that retry runs after
    /// commands given in between).
    void eval(const QByteArray &script, const QList<QByteArray> &keys,
              const QList<QByteArray> &args, Callback callback = {});

    /// Subscriber mode (use a separate RedisClient for subscriptions; hiredis does not route
    /// replies of other commands on a subscribed connection): SUBSCRIBE channel, also remembered
    /// and re-subscribed after each reconnect. Incoming messages arrive as message().
    void subscribe(const QByteArray &channel);
    void unsubscribe(const QByteArray &channel);
    QList<QByteArray> channels() const { return m_channels; }

signals:
    /// After the handshake (AUTH, SELECT, re-subscriptions); also after each reconnect.
    void connected();
    /// When an established connection is lost (not for each failed reconnect attempt).
    void disconnected(const QString &error);
    void message(const QByteArray &channel, const QByteArray &payload);

private:
    enum class State { Disconnected, Connecting, Handshaking, Connected };
    struct Pending;

    void connectNow();
    void scheduleReconnect();
    void onConnectTimeout();
    void detachAdapter(redisAsyncContext *ac);
    void dropContext(); // frees m_ctx ourselves (timeout, handshake failure outside hiredis)
    bool send(const QList<QByteArray> &args, void (*fn)(redisAsyncContext *, void *, void *),
              void *privdata);
    void sendCommand(const QList<QByteArray> &args, Callback callback);
    void failLater(Callback callback, const QByteArray &error);
    void handshakeReply(const QByteArray &what, const RedisReply &reply);
    void handshakeStepDone();

    void handleConnect(int status);
    void handleDisconnect();
    void handleSubscription(const redisReply *reply);

    static void onConnect(const redisAsyncContext *ac, int status);
    static void onDisconnect(const redisAsyncContext *ac, int status);
    static void onReply(redisAsyncContext *ac, void *reply, void *privdata);
    static void onSubscription(redisAsyncContext *ac, void *reply, void *privdata);

    QUrl m_url;
    redisAsyncContext *m_ctx = nullptr;
    RedisQtAdapter *m_adapter = nullptr;
    State m_state = State::Disconnected;
    bool m_opened = false;
    int m_backoffMs = 0;
    int m_handshakePending = 0;
    QList<QByteArray> m_channels;
    QSet<QByteArray> m_loadedScripts; // SHA1s EVALed on this connection
    QString m_lastError;
    QTimer m_reconnectTimer;
    QTimer m_connectTimer;
};

} // namespace anonchat::server
