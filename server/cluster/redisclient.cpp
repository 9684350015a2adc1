#include "server/cluster/redisclient.h"

#include <QCryptographicHash>
#include <QEventLoop>
#include <QLoggingCategory>
#include <QRegularExpression>
#include <algorithm>
#include <memory>
#include <vector>

#include <hiredis/adapters/qt.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

namespace anonchat::server {

namespace {

Q_LOGGING_CATEGORY(lcRedis, "anonchat.redis", QtInfoMsg)

constexpr int kFirstBackoffMs = 100;
constexpr int kMaxBackoffMs = 5000;
// TCP connect plus AUTH/SELECT/SUBSCRIBE acknowledgements; hiredis 0.14 has no connect timeout.
constexpr int kConnectTimeoutMs = 5000;

const QByteArray kUnavailable = QByteArrayLiteral("redis unavailable");

QString contextError(const redisAsyncContext *ac)
{
    return ac && ac->errstr[0] ? QString::fromUtf8(ac->errstr) : QString();
}

} // namespace

// ---- RedisReply ----------------------------------------------------------------------------

RedisReply RedisReply::error(const QByteArray &text)
{
    RedisReply r;
    r.type = Type::Error;
    r.string = text;
    return r;
}

RedisReply RedisReply::fromHiredis(const redisReply *reply)
{
    RedisReply r;
    if (!reply)
        return r;
    switch (reply->type) {
    case REDIS_REPLY_STRING:
        r.type = Type::String;
        r.string = QByteArray(reply->str, int(reply->len));
        break;
    case REDIS_REPLY_STATUS:
        r.type = Type::Status;
        r.string = QByteArray(reply->str, int(reply->len));
        break;
    case REDIS_REPLY_ERROR:
        r.type = Type::Error;
        r.string = QByteArray(reply->str, int(reply->len));
        break;
    case REDIS_REPLY_INTEGER:
        r.type = Type::Integer;
        r.integer = reply->integer;
        break;
    case REDIS_REPLY_ARRAY:
        r.type = Type::Array;
        r.elements.reserve(qsizetype(reply->elements));
        for (size_t i = 0; i < reply->elements; ++i)
            r.elements.push_back(fromHiredis(reply->element[i]));
        break;
    case REDIS_REPLY_NIL:
    default: break;
    }
    return r;
}

QByteArray RedisReply::toDebugString() const
{
    switch (type) {
    case Type::Nil: return "(nil)";
    case Type::Integer: return "(integer) " + QByteArray::number(integer);
    case Type::String: return '"' + (string.size() > 200 ? string.left(200) + "..." : string) + '"';
    case Type::Status: return string;
    case Type::Error: return "(error) " + string;
    case Type::Array: {
        QByteArray out = "[";
        for (qsizetype i = 0; i < elements.size(); ++i)
            out += (i ? ", " : "") + elements.at(i).toDebugString();
        return out + ']';
    }
    }
    return {};
}

// ---- RedisClient ---------------------------------------------------------------------------

/// The privdata of one command in flight: owned by hiredis's callback queue until its callback.
struct RedisClient::Pending {
    Callback callback;
};

RedisClient::RedisClient(const QUrl &url, QObject *parent)
    : QObject(parent)
    , m_url(url)
{
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &RedisClient::connectNow);
    m_connectTimer.setSingleShot(true);
    m_connectTimer.setInterval(kConnectTimeoutMs);
    connect(&m_connectTimer, &QTimer::timeout, this, &RedisClient::onConnectTimeout);
}

RedisClient::~RedisClient()
{
    m_opened = false;
    if (redisAsyncContext *ac = m_ctx) {
        m_ctx = nullptr;
        // Whatever hiredis still calls (the NULL replies of commands in flight, the disconnect
        // callback) finds no owner. Inside one of its callbacks hiredis only marks the context
        // and frees it when that callback returns; elsewhere it is freed here.
        ac->data = nullptr;
        detachAdapter(ac);
        redisAsyncFree(ac);
    }
}

bool RedisClient::parseUrl(const QString &text, QUrl *url, QString *error)
{
    const auto fail = [error](const QString &why) {
        if (error)
            *error = why;
        return false;
    };
    const QUrl u(text.trimmed(), QUrl::StrictMode);
    if (!u.isValid())
        return fail(QStringLiteral("not a valid URL (expected redis://host:port)"));
    if (u.scheme() != QLatin1String("redis"))
        return fail(QStringLiteral("expected a redis:// URL"));
    if (u.host().isEmpty())
        return fail(QStringLiteral("missing host (expected redis://host:port)"));
    if (u.port() == 0)
        return fail(QStringLiteral("bad port"));
    if (u.hasQuery() || u.hasFragment())
        return fail(QStringLiteral("unexpected query or fragment"));
    const QString path = u.path();
    if (!path.isEmpty() && path != QLatin1String("/")) {
        static const QRegularExpression db(QStringLiteral("^/\\d{1,9}$"));
        if (!db.match(path).hasMatch())
            return fail(QStringLiteral("bad database number (expected /0, /1, ...)"));
    }
    if (url)
        *url = u;
    return true;
}

void RedisClient::open()
{
    m_opened = true;
    if (m_state == State::Disconnected && !m_reconnectTimer.isActive())
        connectNow();
}

bool RedisClient::waitConnected(int timeoutMs)
{
    if (isConnected())
        return true;
    open();
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    connect(this, &RedisClient::connected, &loop, &QEventLoop::quit);
    connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    timer.start(timeoutMs);
    loop.exec();
    return isConnected();
}

void RedisClient::connectNow()
{
    if (!m_opened || m_state != State::Disconnected)
        return;
    const QByteArray host = m_url.host().toUtf8();
    const int port = m_url.port(6379);
    // Resolves the host name synchronously (getaddrinfo); the TCP connect itself is async.
    redisAsyncContext *ac = redisAsyncConnect(host.constData(), port);
    if (!ac || ac->err) {
        m_lastError = ac ? contextError(ac) : QStringLiteral("out of memory");
        qCDebug(lcRedis).noquote() << "connect failed:" << m_lastError;
        if (ac)
            redisAsyncFree(ac); // nothing attached yet: no callbacks
        scheduleReconnect();
        return;
    }
    ac->data = this;
    m_adapter = new RedisQtAdapter;
    m_adapter->setContext(ac);
    // After the adapter: setting the connect callback already asks for a write event.
    redisAsyncSetConnectCallback(ac, &RedisClient::onConnect);
    redisAsyncSetDisconnectCallback(ac, &RedisClient::onDisconnect);
    m_ctx = ac;
    m_state = State::Connecting;
    m_connectTimer.start();
}

void RedisClient::scheduleReconnect()
{
    if (!m_opened)
        return;
    m_backoffMs = m_backoffMs ? std::min(m_backoffMs * 2, kMaxBackoffMs) : kFirstBackoffMs;
    m_reconnectTimer.start(m_backoffMs);
}

void RedisClient::onConnectTimeout()
{
    if (!m_ctx || m_state == State::Connected)
        return;
    m_lastError = QStringLiteral("connect timeout");
    qCWarning(lcRedis).noquote() << "no answer from" << m_url.toDisplayString(QUrl::RemoveUserInfo)
                                 << "within" << m_connectTimer.interval() << "ms";
    dropContext();
    m_state = State::Disconnected;
    scheduleReconnect();
}

// The context stays hiredis's, but the adapter is ours: hiredis 0.14's RedisQtAdapter keeps a
// pointer to its context and writes through it in its destructor, and its socket notifiers have
// no parent. So it is destroyed only while the context is still alive, after its notifiers (the
// cleanup hook; calling it twice is harmless), and with the hooks cleared so hiredis never calls
// into the deleted adapter.
void RedisClient::detachAdapter(redisAsyncContext *ac)
{
    if (!m_adapter)
        return;
    if (ac->ev.cleanup)
        ac->ev.cleanup(ac->ev.data);
    ac->ev.addRead = nullptr;
    ac->ev.delRead = nullptr;
    ac->ev.addWrite = nullptr;
    ac->ev.delWrite = nullptr;
    ac->ev.cleanup = nullptr;
    delete m_adapter; // sets ac->ev.data to null
    m_adapter = nullptr;
}

// Only from the event loop (never inside a hiredis callback): redisAsyncFree frees at once.
void RedisClient::dropContext()
{
    redisAsyncContext *ac = m_ctx;
    if (!ac)
        return;
    m_ctx = nullptr;
    ac->data = nullptr;
    detachAdapter(ac);
    redisAsyncFree(ac);
}

bool RedisClient::send(const QList<QByteArray> &args,
                       void (*fn)(redisAsyncContext *, void *, void *), void *privdata)
{
    if (!m_ctx || args.isEmpty())
        return false;
    std::vector<const char *> argv;
    std::vector<size_t> lengths;
    argv.reserve(size_t(args.size()));
    lengths.reserve(size_t(args.size()));
    for (const QByteArray &a : args) {
        argv.push_back(a.constData());
        lengths.push_back(size_t(a.size()));
    }
    return redisAsyncCommandArgv(m_ctx, fn, privdata, int(argv.size()), argv.data(),
                                 lengths.data()) == REDIS_OK;
}

void RedisClient::sendCommand(const QList<QByteArray> &args, Callback callback)
{
    Pending *pending = callback ? new Pending{std::move(callback)} : nullptr;
    if (send(args, pending ? &RedisClient::onReply : nullptr, pending))
        return;
    // Refused by hiredis (context disconnecting): it kept no callback.
    Callback back = pending ? std::move(pending->callback) : Callback();
    delete pending;
    failLater(std::move(back), kUnavailable);
}

void RedisClient::failLater(Callback callback, const QByteArray &error)
{
    if (!callback)
        return;
    // Queued on this object: dropped, not called, if the client is destroyed first.
    QMetaObject::invokeMethod(
        this, [callback, error] { callback(RedisReply::error(error)); }, Qt::QueuedConnection);
}

void RedisClient::command(const QList<QByteArray> &args, Callback callback)
{
    if (args.isEmpty()) {
        failLater(std::move(callback), "ERR empty command");
        return;
    }
    if (m_state != State::Connected) {
        failLater(std::move(callback), kUnavailable);
        return;
    }
    sendCommand(args, std::move(callback));
}

void RedisClient::eval(const QByteArray &script, const QList<QByteArray> &keys,
                       const QList<QByteArray> &args, Callback callback)
{
    if (m_state != State::Connected) {
        failLater(std::move(callback), kUnavailable);
        return;
    }
    const QByteArray sha = QCryptographicHash::hash(script, QCryptographicHash::Sha1).toHex();
    QList<QByteArray> tail{QByteArray::number(keys.size())};
    tail += keys;
    tail += args;
    if (!m_loadedScripts.contains(sha)) {
        m_loadedScripts.insert(sha);
        sendCommand(QList<QByteArray>{"EVAL", script} + tail, std::move(callback));
        return;
    }
    sendCommand(QList<QByteArray>{"EVALSHA", sha} + tail,
                [this, script, tail, callback](const RedisReply &reply) {
                    if (reply.isError() && reply.string.startsWith("NOSCRIPT")) {
                        qCDebug(lcRedis) << "script cache flushed, EVAL again";
                        command(QList<QByteArray>{"EVAL", script} + tail, callback);
                        return;
                    }
                    if (callback)
                        callback(reply);
                });
}

void RedisClient::subscribe(const QByteArray &channel)
{
    if (m_channels.contains(channel))
        return;
    m_channels.push_back(channel);
    // While connecting, the handshake subscribes to all of m_channels.
    if (m_state == State::Handshaking || m_state == State::Connected)
        send({"SUBSCRIBE", channel}, &RedisClient::onSubscription, nullptr);
}

void RedisClient::unsubscribe(const QByteArray &channel)
{
    if (!m_channels.removeOne(channel))
        return;
    // hiredis keeps no callback for UNSUBSCRIBE (each channel's own one gets the confirmation).
    if (m_state == State::Handshaking || m_state == State::Connected)
        send({"UNSUBSCRIBE", channel}, nullptr, nullptr);
}

// ---- hiredis callbacks ---------------------------------------------------------------------

void RedisClient::onConnect(const redisAsyncContext *ac, int status)
{
    if (auto *self = static_cast<RedisClient *>(ac->data))
        self->handleConnect(status);
}

void RedisClient::onDisconnect(const redisAsyncContext *ac, int /*status*/)
{
    auto *self = static_cast<RedisClient *>(ac->data);
    if (!self || self->m_ctx != ac)
        return;
    self->handleDisconnect();
}

void RedisClient::onReply(redisAsyncContext *ac, void *reply, void *privdata)
{
    std::unique_ptr<Pending> pending(static_cast<Pending *>(privdata));
    const auto *self = static_cast<RedisClient *>(ac->data);
    if (!self || !pending || !pending->callback)
        return;
    const RedisReply r =
        reply ? RedisReply::fromHiredis(static_cast<redisReply *>(reply))
              : RedisReply::error("redis connection lost: " + contextError(ac).toUtf8());
    const Callback callback = std::move(pending->callback);
    pending.reset();
    callback(r); // may destroy the client: nothing after this
}

void RedisClient::onSubscription(redisAsyncContext *ac, void *reply, void * /*privdata*/)
{
    auto *self = static_cast<RedisClient *>(ac->data);
    if (self && reply)
        self->handleSubscription(static_cast<const redisReply *>(reply));
}

// Not inside a hiredis callback: user code must not run here (it could free the context while
// hiredis still uses it), so connected() waits for at least one reply of the handshake.
void RedisClient::handleConnect(int status)
{
    if (status != REDIS_OK) {
        m_lastError = contextError(m_ctx);
        qCDebug(lcRedis).noquote() << "connect failed:" << m_lastError;
        // hiredis frees the context when this returns.
        m_ctx->data = nullptr;
        detachAdapter(m_ctx);
        m_ctx = nullptr;
        m_state = State::Disconnected;
        m_connectTimer.stop();
        scheduleReconnect();
        return;
    }
    m_state = State::Handshaking;
    m_loadedScripts.clear();
    m_handshakePending = 0;
    const QString user = m_url.userName();
    const QString password = m_url.password();
    if (!password.isEmpty()) {
        QList<QByteArray> auth{"AUTH"};
        if (!user.isEmpty())
            auth << user.toUtf8();
        auth << password.toUtf8();
        ++m_handshakePending;
        sendCommand(auth, [this](const RedisReply &r) { handshakeReply("AUTH", r); });
    }
    const QString db = m_url.path().mid(1);
    if (!db.isEmpty() && db != QLatin1String("0")) {
        ++m_handshakePending;
        sendCommand({"SELECT", db.toUtf8()},
                    [this](const RedisReply &r) { handshakeReply("SELECT", r); });
    }
    if (m_handshakePending == 0 && m_channels.isEmpty()) {
        ++m_handshakePending;
        sendCommand({"PING"}, [this](const RedisReply &r) { handshakeReply("PING", r); });
    }
    if (!m_channels.isEmpty()) {
        // One confirmation per channel arrives on that channel's subscription callback.
        m_handshakePending += int(m_channels.size());
        send(QList<QByteArray>{"SUBSCRIBE"} + m_channels, &RedisClient::onSubscription, nullptr);
    }
}

void RedisClient::handshakeReply(const QByteArray &what, const RedisReply &reply)
{
    if (reply.isError()) {
        m_lastError = QString::fromUtf8(what + " failed: " + reply.string);
        qCWarning(lcRedis).noquote() << m_lastError;
        // Ends in the disconnect callback, then a reconnect with backoff (unless the connection
        // is already going: then hiredis is failing the commands in flight).
        if (m_ctx && !(m_ctx->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)))
            redisAsyncDisconnect(m_ctx);
        return;
    }
    handshakeStepDone();
}

void RedisClient::handshakeStepDone()
{
    if (m_state != State::Handshaking || --m_handshakePending > 0)
        return;
    m_state = State::Connected;
    m_backoffMs = 0;
    m_connectTimer.stop();
    qCInfo(lcRedis).noquote() << "connected to" << m_url.toDisplayString(QUrl::RemoveUserInfo);
    emit connected(); // may destroy the client: nothing after this
}

// Called by hiredis after it failed the commands in flight, just before it frees the context.
void RedisClient::handleDisconnect()
{
    QString error = contextError(m_ctx);
    if (error.isEmpty())
        error = m_lastError.isEmpty() ? QStringLiteral("connection closed") : m_lastError;
    m_lastError = error;
    m_ctx->data = nullptr;
    detachAdapter(m_ctx);
    m_ctx = nullptr;
    const bool wasConnected = m_state == State::Connected;
    m_state = State::Disconnected;
    m_connectTimer.stop();
    scheduleReconnect();
    if (wasConnected) {
        qCWarning(lcRedis).noquote() << "connection lost:" << error << "- reconnecting";
        emit disconnected(error); // may destroy the client: nothing after this
    } else {
        qCDebug(lcRedis).noquote() << "handshake failed:" << error;
    }
}

void RedisClient::handleSubscription(const redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
        return;
    const redisReply *kind = reply->element[0];
    if (kind->type != REDIS_REPLY_STRING)
        return;
    const QByteArray type(kind->str, int(kind->len));
    if (type == "message") {
        const redisReply *channel = reply->element[1];
        const redisReply *payload = reply->element[2];
        emit message(QByteArray(channel->str, int(channel->len)),
                     QByteArray(payload->str, int(payload->len))); // may destroy the client
    } else if (type == "subscribe" && m_state == State::Handshaking) {
        handshakeStepDone();
    }
}

} // namespace anonchat::server
