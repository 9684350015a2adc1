#include "server/cluster/redisclient.h"
#include "tests/support/dispatcher.h"
#include "tests/support/freeport.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

using namespace anonchat::server;
using anonchat::test::freePort;

namespace {

constexpr int kTimeoutMs = 10000;

/// Sends one command and waits for its callback (or a test timeout, as an Error reply).
RedisReply call(RedisClient &client, const QList<QByteArray> &args, int timeoutMs = kTimeoutMs)
{
    auto state = std::make_shared<std::pair<bool, RedisReply>>();
    client.command(args, [state](const RedisReply &r) {
        state->first = true;
        state->second = r;
    });
    if (!QTest::qWaitFor([&] { return state->first; }, timeoutMs))
        return RedisReply::error("test: no callback within the timeout");
    return state->second;
}

RedisReply callEval(RedisClient &client, const QByteArray &script, const QList<QByteArray> &keys,
                    const QList<QByteArray> &args)
{
    auto state = std::make_shared<std::pair<bool, RedisReply>>();
    client.eval(script, keys, args, [state](const RedisReply &r) {
        state->first = true;
        state->second = r;
    });
    if (!QTest::qWaitFor([&] { return state->first; }, kTimeoutMs))
        return RedisReply::error("test: no callback within the timeout");
    return state->second;
}

/// While its server is away, a client is not connected and a command fails at once.
bool unavailableAtOnce(RedisClient &client)
{
    QElapsedTimer timer;
    timer.start();
    return !client.isConnected() && call(client, {"PING"}).string == "redis unavailable" &&
           timer.elapsed() < 1000;
}

/// Has `client` deleted, and the pointer cleared, from within its own `signal`.
template <typename Signal>
void deleteFrom(RedisClient *&client, Signal signal, QObject *context)
{
    QObject::connect(client, signal, context, [&client] {
        delete client;
        client = nullptr;
    });
}

QUrl localUrl(quint16 port, const QString &userInfo = {}, const QString &path = {})
{
    return QUrl(QStringLiteral("redis://") + userInfo + QStringLiteral("127.0.0.1:") +
                QString::number(port) + path);
}

/// A redis-server of the test's own (to kill and restart), on 127.0.0.1.
class RedisProcess
{
public:
    ~RedisProcess() { kill(); }

    bool start(quint16 port, const QStringList &extra = {})
    {
        kill();
        m_output.clear();
        m_process.setProgram(QStringLiteral("redis-server"));
        m_process.setArguments(QStringList{QStringLiteral("--port"), QString::number(port),
                                           QStringLiteral("--bind"), QStringLiteral("127.0.0.1"),
                                           QStringLiteral("--save"), QString(),
                                           QStringLiteral("--appendonly"), QStringLiteral("no"),
                                           QStringLiteral("--dir"), m_dir.path()} +
                               extra);
        m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.start();
        if (!m_process.waitForStarted(5000))
            return false;
        const bool ready = QTest::qWaitFor(
            [this] {
                m_output += m_process.readAll();
                return m_output.contains("Ready to accept connections") ||
                       m_process.state() == QProcess::NotRunning;
            },
            kTimeoutMs);
        if (!ready || m_process.state() != QProcess::Running) {
            qWarning().noquote() << "redis-server did not start:" << m_output;
            return false;
        }
        return true;
    }
    void kill()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.kill(); // SIGKILL: no goodbye on the connections
        m_process.waitForFinished(5000);
    }

private:
    QTemporaryDir m_dir;
    QProcess m_process;
    QByteArray m_output;
};

} // namespace

/// RedisClient against real redis-servers: the ctest fixture's (tests that need Redis fail, not
/// skip, without it) and its own ones for reconnects, AUTH/SELECT and command statistics.
class TestRedisClient : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void parseUrl_data();
    void parseUrl();
    void roundTrips();
    void binaryAndLargeValues();
    void arrays();
    void errorReplies();
    void evalScripts();
    void evalShaFallback();
    void pubSubOrder();
    void unreachableFailsFast();
    void unresponsiveServer();
    void authAndSelect();
    void reconnect();
    void destroyWithCommandsInFlight();
    void destroyInsideCallbacks();

private:
    QByteArray key(const char *name) const { return m_prefix + name; }
    std::unique_ptr<RedisClient> connectedClient();

    QUrl m_url;
    QByteArray m_prefix;
};

void TestRedisClient::initTestCase()
{
    QFile file(QStringLiteral(ANONCHAT_REDIS_URL_FILE));
    if (!file.open(QIODevice::ReadOnly))
        QFAIL(qPrintable(QStringLiteral("no Redis fixture: %1 missing (ctest starts it with "
                                        "scripts/redis.sh; needs redis-server)")
                             .arg(file.fileName())));
    QString error;
    QVERIFY2(RedisClient::parseUrl(QString::fromUtf8(file.readAll()).trimmed(), &m_url, &error),
             qPrintable(error));
    // The fixture is shared by every test of the ctest run: keys of our own.
    m_prefix = "tst_redisclient:" + QByteArray::number(QCoreApplication::applicationPid()) + ':' +
               QByteArray::number(QRandomGenerator::global()->generate()) + ':';
    auto client = connectedClient();
    QVERIFY(client);
    QCOMPARE(call(*client, {"PING"}).string, QByteArray("PONG"));
}

std::unique_ptr<RedisClient> TestRedisClient::connectedClient()
{
    auto client = std::make_unique<RedisClient>(m_url);
    if (!client->waitConnected(kTimeoutMs)) {
        qWarning() << "could not connect to" << m_url;
        return {};
    }
    return client;
}

void TestRedisClient::parseUrl_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QString>("password");
    QTest::addColumn<QString>("path");

    QTest::newRow("host:port") << "redis://localhost:6380" << true << "localhost" << 6380 << ""
                               << "";
    QTest::newRow("password and db")
        << "redis://:pw@10.0.0.5:7000/2" << true << "10.0.0.5" << 7000 << "pw"
        << "/2";
    QTest::newRow("default port") << "redis://127.0.0.1" << true << "127.0.0.1" << -1 << ""
                                  << "";
    QTest::newRow("ipv6") << "redis://[::1]:6379/" << true << "::1" << 6379 << ""
                          << "/";
    QTest::newRow("http") << "http://x" << false << "" << 0 << ""
                          << "";
    QTest::newRow("no scheme") << "127.0.0.1:6379" << false << "" << 0 << ""
                               << "";
    QTest::newRow("missing host") << "redis://:6379" << false << "" << 0 << ""
                                  << "";
    QTest::newRow("missing host with db") << "redis:///2" << false << "" << 0 << ""
                                          << "";
    QTest::newRow("port not a number") << "redis://host:abc" << false << "" << 0 << ""
                                       << "";
    QTest::newRow("port too big") << "redis://host:70000" << false << "" << 0 << ""
                                  << "";
    QTest::newRow("port 0") << "redis://host:0" << false << "" << 0 << ""
                            << "";
    QTest::newRow("bad db") << "redis://host:6379/x" << false << "" << 0 << ""
                            << "";
    QTest::newRow("empty") << "" << false << "" << 0 << ""
                           << "";
}

void TestRedisClient::parseUrl()
{
    QFETCH(QString, text);
    QFETCH(bool, ok);
    QUrl url;
    QString error;
    QCOMPARE(RedisClient::parseUrl(text, &url, &error), ok);
    if (!ok) {
        QVERIFY(!error.isEmpty());
        return;
    }
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QTEST(url.host(), "host");
    QTEST(url.port(), "port");
    QTEST(url.password(), "password");
    QTEST(url.path(), "path");
}

void TestRedisClient::roundTrips()
{
    auto client = connectedClient();
    QVERIFY(client);
    QVERIFY(client->isConnected());
    const QByteArray k = key("counter");
    QVERIFY(call(*client, {"SET", k, "41"}).isOk());
    RedisReply r = call(*client, {"GET", k});
    QCOMPARE(r.type, RedisReply::Type::String);
    QCOMPARE(r.string, QByteArray("41"));
    r = call(*client, {"INCR", k});
    QCOMPARE(r.type, RedisReply::Type::Integer);
    QCOMPARE(r.integer, 42);
    QCOMPARE(call(*client, {"DEL", k}).integer, 1);
    QVERIFY(call(*client, {"GET", k}).isNil());
    QCOMPARE(call(*client, {"DEL", k}).integer, 0);

    // Many in flight at once: callbacks in command order.
    QList<qint64> seen;
    for (int i = 0; i < 500; ++i)
        client->command({"INCR", k}, [&seen](const RedisReply &reply) { seen << reply.integer; });
    QTRY_COMPARE_WITH_TIMEOUT(seen.size(), 500, kTimeoutMs);
    for (int i = 0; i < 500; ++i)
        QCOMPARE(seen.at(i), i + 1);
    QCOMPARE(call(*client, {"DEL", k}).integer, 1);
}

void TestRedisClient::binaryAndLargeValues()
{
    auto client = connectedClient();
    QVERIFY(client);
    const QByteArray k = key(QByteArray("bin\0key", 7).constData()) + QByteArray("\0\r\n", 3);
    const QByteArray value("\0a\r\n$3\r\n\0\xff\x00z", 12);
    QVERIFY(call(*client, {"SET", k, value}).isOk());
    RedisReply r = call(*client, {"GET", k});
    QCOMPARE(r.string.size(), value.size());
    QCOMPARE(r.string, value);
    QVERIFY(call(*client, {"SET", k, QByteArray()}).isOk());
    r = call(*client, {"GET", k});
    QCOMPARE(r.type, RedisReply::Type::String);
    QVERIFY(r.string.isEmpty());

    QByteArray big(1 << 20, Qt::Uninitialized);
    for (int i = 0; i < big.size(); ++i)
        big[i] = char((uint(i) * 7919u) >> 3);
    big[100] = '\0';
    QVERIFY(call(*client, {"SET", k, big}).isOk());
    QCOMPARE(call(*client, {"STRLEN", k}).integer, qint64(big.size()));
    r = call(*client, {"GET", k});
    QCOMPARE(r.string.size(), big.size());
    QVERIFY(r.string == big);
    QCOMPARE(call(*client, {"DEL", k}).integer, 1);
}

void TestRedisClient::arrays()
{
    auto client = connectedClient();
    QVERIFY(client);
    const QByteArray list = key("list");
    QCOMPARE(call(*client, {"RPUSH", list, "a", QByteArray("b\0c", 3), "", "d"}).integer, 4);
    RedisReply r = call(*client, {"LRANGE", list, "0", "-1"});
    QCOMPARE(r.type, RedisReply::Type::Array);
    QCOMPARE(r.elements.size(), 4);
    QCOMPARE(r.elements.at(0).string, QByteArray("a"));
    QCOMPARE(r.elements.at(1).string, QByteArray("b\0c", 3));
    QCOMPARE(r.elements.at(2).string, QByteArray());
    QCOMPARE(r.elements.at(3).string, QByteArray("d"));
    r = call(*client, {"LRANGE", key("nothing"), "0", "-1"});
    QCOMPARE(r.type, RedisReply::Type::Array);
    QVERIFY(r.elements.isEmpty());

    const QByteArray hash = key("hash");
    QCOMPARE(call(*client, {"HSET", hash, "f1", "v1", "f2", "v2"}).integer, 2);
    r = call(*client, {"HGETALL", hash});
    QCOMPARE(r.type, RedisReply::Type::Array);
    QCOMPARE(r.elements.size(), 4);
    QHash<QByteArray, QByteArray> fields;
    for (int i = 0; i + 1 < r.elements.size(); i += 2)
        fields.insert(r.elements.at(i).string, r.elements.at(i + 1).string);
    QCOMPARE(fields.value("f1"), QByteArray("v1"));
    QCOMPARE(fields.value("f2"), QByteArray("v2"));

    // Nested arrays with nil and integers inside.
    r = call(*client, {"EVAL", "return {1, {'x', false}, 'y'}", "0"});
    QCOMPARE(r.type, RedisReply::Type::Array);
    QCOMPARE(r.elements.size(), 3);
    QCOMPARE(r.elements.at(0).integer, 1);
    QCOMPARE(r.elements.at(1).elements.size(), 2);
    QCOMPARE(r.elements.at(1).elements.at(0).string, QByteArray("x"));
    QVERIFY(r.elements.at(1).elements.at(1).isNil());
    QCOMPARE(r.toDebugString(), QByteArray("[(integer) 1, [\"x\", (nil)], \"y\"]"));
    QCOMPARE(call(*client, {"DEL", list, hash}).integer, 2);
}

void TestRedisClient::errorReplies()
{
    auto client = connectedClient();
    QVERIFY(client);
    const QByteArray k = key("string");
    QVERIFY(call(*client, {"SET", k, "text"}).isOk());
    RedisReply r = call(*client, {"LPUSH", k, "x"});
    QCOMPARE(r.type, RedisReply::Type::Error);
    QVERIFY2(r.string.startsWith("WRONGTYPE"), r.string.constData());
    r = call(*client, {"INCR", k});
    QVERIFY(r.isError());
    r = call(*client, {"NO-SUCH-COMMAND", "x"});
    QVERIFY(r.isError());
    QVERIFY2(r.string.contains("unknown command"), r.string.constData());
    r = call(*client, {});
    QVERIFY(r.isError());
    // The connection is still fine after errors.
    QVERIFY(client->isConnected());
    QCOMPARE(call(*client, {"GET", k}).string, QByteArray("text"));
    QCOMPARE(call(*client, {"DEL", k}).integer, 1);
}

void TestRedisClient::evalScripts()
{
    auto client = connectedClient();
    QVERIFY(client);
    const QByteArray script = "redis.call('SET', KEYS[1], ARGV[1]) "
                              "return {redis.call('INCRBY', KEYS[2], ARGV[2]), ARGV[1]}";
    const QByteArray value("v\0alue", 6);
    RedisReply r = callEval(*client, script, {key("evalA"), key("evalB")}, {value, "5"});
    QVERIFY2(r.isArray(), r.toDebugString().constData());
    QCOMPARE(r.elements.at(0).integer, 5);
    QCOMPARE(r.elements.at(1).string, value);
    // The first call loaded it.
    const QByteArray sha = QCryptographicHash::hash(script, QCryptographicHash::Sha1).toHex();
    r = call(*client, {"SCRIPT", "EXISTS", sha});
    QCOMPARE(r.elements.size(), 1);
    QCOMPARE(r.elements.at(0).integer, 1);
    r = callEval(*client, script, {key("evalA"), key("evalB")}, {value, "5"});
    QCOMPARE(r.elements.at(0).integer, 10);
    QCOMPARE(call(*client, {"GET", key("evalA")}).string, value);

    // Script errors are Error replies.
    r = callEval(*client, "return redis.call('INCR', KEYS[1])", {key("evalA")}, {});
    QVERIFY2(r.isError(), r.toDebugString().constData());
    r = callEval(*client, "this is not lua", {}, {});
    QVERIFY(r.isError());
    QCOMPARE(call(*client, {"DEL", key("evalA"), key("evalB")}).integer, 2);
}

// On a server of our own: SCRIPT FLUSH and the command statistics do not disturb other tests.
void TestRedisClient::evalShaFallback()
{
    const quint16 port = freePort();
    RedisProcess redis;
    QVERIFY(redis.start(port));
    RedisClient client(localUrl(port));
    QVERIFY(client.waitConnected(kTimeoutMs));
    const QByteArray script = "return redis.call('INCR', KEYS[1])";
    QCOMPARE(callEval(client, script, {"n"}, {}).integer, 1); // EVAL (loads it)
    QCOMPARE(callEval(client, script, {"n"}, {}).integer, 2); // EVALSHA
    QVERIFY(call(client, {"SCRIPT", "FLUSH"}).isOk());
    QCOMPARE(callEval(client, script, {"n"}, {}).integer, 3); // EVALSHA: NOSCRIPT, then EVAL
    QCOMPARE(callEval(client, script, {"n"}, {}).integer, 4); // EVALSHA
    const QByteArray stats = call(client, {"INFO", "commandstats"}).string;
    QVERIFY2(stats.contains("cmdstat_eval:calls=2,"), stats.constData());
    QVERIFY2(stats.contains("cmdstat_evalsha:calls=3,"), stats.constData());
    // Issued in one go, the scripts still run in order (only the flush case reorders).
    QList<qint64> seen;
    RedisClient fresh(localUrl(port));
    QVERIFY(fresh.waitConnected(kTimeoutMs));
    for (int i = 0; i < 50; ++i)
        fresh.eval(script, {"m"}, {}, [&seen](const RedisReply &r) { seen << r.integer; });
    QTRY_COMPARE_WITH_TIMEOUT(seen.size(), 50, kTimeoutMs);
    for (int i = 0; i < 50; ++i)
        QCOMPARE(seen.at(i), i + 1);
}

void TestRedisClient::pubSubOrder()
{
    const QByteArray channel = key("channel");
    const QByteArray other = key("other");
    RedisClient subscriber(m_url);
    QList<QByteArray> received;
    QList<QByteArray> receivedOther;
    connect(&subscriber, &RedisClient::message, this,
            [&](const QByteArray &ch, const QByteArray &payload) {
                if (ch == channel)
                    received << payload;
                else if (ch == other)
                    receivedOther << payload;
            });
    subscriber.subscribe(channel); // before connecting: connected() waits for the confirmation
    QVERIFY(subscriber.waitConnected(kTimeoutMs));
    auto publisher = connectedClient();
    QVERIFY(publisher);

    const int count = 1000;
    QList<qint64> listeners;
    for (int i = 0; i < count; ++i) {
        QByteArray payload = QByteArray::number(i) + QByteArray("\0#", 2);
        publisher->command({"PUBLISH", channel, payload},
                           [&listeners](const RedisReply &r) { listeners << r.integer; });
    }
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), count, kTimeoutMs);
    for (int i = 0; i < count; ++i)
        QCOMPARE(received.at(i), QByteArray::number(i) + QByteArray("\0#", 2));
    QTRY_COMPARE(listeners.size(), count);
    QCOMPARE(listeners.count(1), count);

    // A second channel while connected, then unsubscribing the first.
    subscriber.subscribe(other);
    QTRY_COMPARE_WITH_TIMEOUT(
        call(*publisher, {"PUBSUB", "NUMSUB", other}).elements.value(1).integer, 1, kTimeoutMs);
    subscriber.unsubscribe(channel);
    QTRY_COMPARE_WITH_TIMEOUT(
        call(*publisher, {"PUBSUB", "NUMSUB", channel}).elements.value(1).integer, 0, kTimeoutMs);
    QCOMPARE(call(*publisher, {"PUBLISH", channel, "late"}).integer, 0);
    QCOMPARE(call(*publisher, {"PUBLISH", other, "hello"}).integer, 1);
    QTRY_COMPARE(receivedOther, QList<QByteArray>{"hello"});
    QCOMPARE(received.size(), count);
    QCOMPARE(subscriber.channels(), QList<QByteArray>{other});
}

void TestRedisClient::unreachableFailsFast()
{
    const quint16 port = freePort();
    QVERIFY(port);
    RedisClient client(localUrl(port));
    QSignalSpy connectedSpy(&client, &RedisClient::connected);
    QSignalSpy disconnectedSpy(&client, &RedisClient::disconnected);
    QElapsedTimer timer;
    timer.start();
    // Not even opened yet.
    RedisReply r = call(client, {"PING"});
    QVERIFY(r.isError());
    QCOMPARE(r.string, QByteArray("redis unavailable"));
    client.open();
    r = call(client, {"PING"});
    QCOMPARE(r.string, QByteArray("redis unavailable"));
    r = callEval(client, "return 1", {}, {});
    QCOMPARE(r.string, QByteArray("redis unavailable"));
    QVERIFY(timer.elapsed() < 1000);
    QVERIFY(!client.waitConnected(500));
    QVERIFY(!client.isConnected());
    QCOMPARE(connectedSpy.size(), 0);
    QCOMPARE(disconnectedSpy.size(), 0); // only a lost connection is reported
}

// A server that accepts TCP but never answers: the handshake deadline drops the connection and
// retries; nothing hangs and connected() is never emitted.
void TestRedisClient::unresponsiveServer()
{
    QTcpServer silent;
    QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
    QList<QTcpSocket *> accepted;
    connect(&silent, &QTcpServer::newConnection, this, [&] {
        while (QTcpSocket *s = silent.nextPendingConnection())
            accepted << s;
    });
    RedisClient client(localUrl(silent.serverPort()));
    client.setConnectTimeout(300);
    QSignalSpy connectedSpy(&client, &RedisClient::connected);
    QVERIFY(!client.waitConnected(200));
    QCOMPARE(accepted.size(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(accepted.size() >= 3, kTimeoutMs);
    QTRY_VERIFY(accepted.first()->state() == QAbstractSocket::UnconnectedState);
    QCOMPARE(call(client, {"PING"}).string, QByteArray("redis unavailable"));
    QCOMPARE(connectedSpy.size(), 0);
}

void TestRedisClient::authAndSelect()
{
    const quint16 port = freePort();
    RedisProcess redis;
    QVERIFY(redis.start(port, {QStringLiteral("--requirepass"), QStringLiteral("s3cret")}));

    RedisClient client(localUrl(port, QStringLiteral(":s3cret@"), QStringLiteral("/3")));
    QVERIFY(client.waitConnected(kTimeoutMs));
    const QByteArray info = call(client, {"CLIENT", "INFO"}).string;
    QVERIFY2(info.contains(" db=3 "), info.constData());
    QVERIFY(call(client, {"SET", "k", "in db 3"}).isOk());

    RedisClient db0(localUrl(port, QStringLiteral(":s3cret@")));
    QVERIFY(db0.waitConnected(kTimeoutMs));
    QVERIFY(call(db0, {"GET", "k"}).isNil());
    QVERIFY(call(db0, {"SELECT", "3"}).isOk());
    QCOMPARE(call(db0, {"GET", "k"}).string, QByteArray("in db 3"));

    RedisClient wrong(localUrl(port, QStringLiteral(":wrong@")));
    QSignalSpy connectedSpy(&wrong, &RedisClient::connected);
    QVERIFY(!wrong.waitConnected(1000));
    QCOMPARE(connectedSpy.size(), 0);
    QCOMPARE(call(wrong, {"PING"}).string, QByteArray("redis unavailable"));
}

void TestRedisClient::reconnect()
{
    const quint16 port = freePort();
    QVERIFY(port);
    RedisProcess redis;
    QVERIFY(redis.start(port));

    RedisClient client(localUrl(port));
    RedisClient subscriber(localUrl(port));
    QSignalSpy connectedSpy(&client, &RedisClient::connected);
    QSignalSpy disconnectedSpy(&client, &RedisClient::disconnected);
    QSignalSpy subConnectedSpy(&subscriber, &RedisClient::connected);
    QSignalSpy subDisconnectedSpy(&subscriber, &RedisClient::disconnected);
    QList<QByteArray> received;
    connect(&subscriber, &RedisClient::message, this,
            [&received](const QByteArray &, const QByteArray &payload) { received << payload; });
    subscriber.subscribe("room");
    QVERIFY(client.waitConnected(kTimeoutMs));
    QVERIFY(subscriber.waitConnected(kTimeoutMs));
    QCOMPARE(call(client, {"PUBLISH", "room", "before"}).integer, 1);
    QTRY_COMPARE(received, QList<QByteArray>{"before"});

    // A command in flight when the server dies gets an Error, not silence.
    auto blocked = std::make_shared<QList<RedisReply>>();
    client.command({"BLPOP", "never", "0"}, [blocked](const RedisReply &r) { *blocked << r; });
    QTest::qWait(50);
    QVERIFY(blocked->isEmpty());

    redis.kill();
    QTRY_COMPARE_WITH_TIMEOUT(disconnectedSpy.size(), 1, kTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(subDisconnectedSpy.size(), 1, kTimeoutMs);
    QVERIFY(!disconnectedSpy.at(0).at(0).toString().isEmpty());
    QCOMPARE(blocked->size(), 1);
    QVERIFY(blocked->at(0).isError());
    QVERIFY2(blocked->at(0).string.startsWith("redis connection lost"),
             blocked->at(0).string.constData());
    QVERIFY(unavailableAtOnce(client));
    // Keeps retrying (with backoff) while the server is away, without reporting each attempt.
    QTest::qWait(700);
    QCOMPARE(disconnectedSpy.size(), 1);
    QCOMPARE(connectedSpy.size(), 1);

    QVERIFY(redis.start(port));
    QTRY_COMPARE_WITH_TIMEOUT(connectedSpy.size(), 2, 15000);
    QTRY_COMPARE_WITH_TIMEOUT(subConnectedSpy.size(), 2, 15000);
    QCOMPARE(call(client, {"PING"}).string, QByteArray("PONG"));
    QVERIFY(call(client, {"SET", "after", "yes"}).isOk());
    // connected() came after the SUBSCRIBE confirmation: the subscription is already back.
    QCOMPARE(call(client, {"PUBLISH", "room", "after"}).integer, 1);
    QTRY_COMPARE(received, (QList<QByteArray>{"before", "after"}));

    // And once more, with the server away for longer than one backoff step.
    redis.kill();
    QTRY_COMPARE_WITH_TIMEOUT(disconnectedSpy.size(), 2, kTimeoutMs);
    QTest::qWait(1500);
    QVERIFY(redis.start(port));
    QTRY_COMPARE_WITH_TIMEOUT(connectedSpy.size(), 3, 15000);
    QTRY_COMPARE_WITH_TIMEOUT(subConnectedSpy.size(), 3, 15000);
    QCOMPARE(call(client, {"PUBLISH", "room", "third"}).integer, 1);
    QTRY_COMPARE(received, (QList<QByteArray>{"before", "after", "third"}));
}

void TestRedisClient::destroyWithCommandsInFlight()
{
    auto calls = std::make_shared<int>(0);
    {
        auto client = connectedClient();
        QVERIFY(client);
        for (int i = 0; i < 200; ++i)
            client->command({"INCR", key("inflight")}, [calls](const RedisReply &) { ++*calls; });
        client->command({"BLPOP", key("never"), "0"}, [calls](const RedisReply &) { ++*calls; });
        client->eval("return 1", {}, {}, [calls](const RedisReply &) { ++*calls; });
    }
    {
        // Still connecting, and failures still queued.
        RedisClient client(m_url);
        client.open();
        client.command({"PING"}, [calls](const RedisReply &) { ++*calls; });
    }
    {
        // Destroyed while the server is blocked on a command of its own.
        auto client = connectedClient();
        QVERIFY(client);
        client->command({"BLPOP", key("never"), "0"}, [calls](const RedisReply &) { ++*calls; });
        QTest::qWait(50);
    }
    {
        RedisClient subscriber(m_url);
        subscriber.subscribe(key("destroyed"));
        QVERIFY(subscriber.waitConnected(kTimeoutMs));
    }
    QTest::qWait(200);
    QCOMPARE(*calls, 0);
    auto client = connectedClient();
    QVERIFY(client);
    call(*client, {"DEL", key("inflight")});
}

void TestRedisClient::destroyInsideCallbacks()
{
    // From a command callback, with more commands behind it.
    auto calls = std::make_shared<int>(0);
    RedisClient *client = connectedClient().release();
    QVERIFY(client);
    for (int i = 0; i < 20; ++i) {
        client->command({"PING"}, [calls, &client](const RedisReply &) {
            ++*calls;
            delete client;
            client = nullptr;
        });
    }
    QTRY_VERIFY(!client);
    QTest::qWait(100);
    QCOMPARE(*calls, 1);

    // From the callback of a command failed by a lost connection, and from disconnected().
    const quint16 port = freePort();
    RedisProcess redis;
    QVERIFY(redis.start(port));
    auto *a = new RedisClient(localUrl(port));
    auto *b = new RedisClient(localUrl(port));
    QVERIFY(a->waitConnected(kTimeoutMs));
    QVERIFY(b->waitConnected(kTimeoutMs));
    *calls = 0;
    for (int i = 0; i < 3; ++i) {
        a->command({"BLPOP", "never", "0"}, [calls, &a](const RedisReply &) {
            ++*calls;
            delete a;
            a = nullptr;
        });
    }
    deleteFrom(b, &RedisClient::disconnected, this);
    QTest::qWait(50);
    redis.kill();
    QTRY_VERIFY(!a);
    QTRY_VERIFY(!b);
    QTest::qWait(100);
    QCOMPARE(*calls, 1);

    // From message() and connected().
    QVERIFY(redis.start(port));
    auto *sub = new RedisClient(localUrl(port));
    sub->subscribe("x");
    deleteFrom(sub, &RedisClient::message, this);
    QVERIFY(sub->waitConnected(kTimeoutMs));
    RedisClient publisher(localUrl(port));
    QVERIFY(publisher.waitConnected(kTimeoutMs));
    for (int i = 0; i < 5; ++i)
        publisher.command({"PUBLISH", "x", "1"});
    QTRY_VERIFY(!sub);
    auto *c = new RedisClient(localUrl(port));
    deleteFrom(c, &RedisClient::connected, this);
    c->open();
    QTRY_VERIFY(!c);
    QCOMPARE(call(publisher, {"PING"}).string, QByteArray("PONG"));
}

// ctest runs the suite twice: on Qt's default dispatcher and on anonchat-server's own one,
// where the hiredis adapter's socket notifiers live in an epoll set.
int main(int argc, char *argv[])
{
    return anonchat::test::runOnChosenDispatcher<TestRedisClient>(argc, argv);
}
#include "tst_redisclient.moc"
