// docs/nginx/anonchat.conf, run for real: nginx (Debian's package; the test fails without it) in
// front of three anonchat-server processes on the ctest fixtures' Redis and PostgreSQL. Through
// nginx's one port: the page, /healthz, the Origin check (Host passed on), two WebSocket clients
// that match and chat both ways; then the server of one of them is SIGKILLed, that client
// reconnects through nginx (which skips the dead server), resumes with its room, and the chat goes
// on past the resume window.

#include "server/cluster/redisclient.h"
#include "tests/support/engines.h"
#include "tests/support/freeport.h"
#include "tests/support/serverprocess.h"

#include <QDir>
#include <QFile>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <memory>
#include <unistd.h>

using namespace anonchat::test;
using anonchat::server::RedisClient;
using anonchat::server::RedisReply;

namespace {

constexpr int kServers = 3;
constexpr int kResumeWindowS = 6;
constexpr int kDeathMs = 5000 + 1000; // node timeout + heartbeat period

struct HttpResult {
    int status = 0;
    QByteArray body;
    QByteArray csp;
};

HttpResult httpGet(quint16 port, const QString &path)
{
    QNetworkAccessManager nam;
    nam.setProxy(QNetworkProxy::NoProxy);
    QNetworkRequest request(QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(port).arg(path)));
    QNetworkReply *reply = nam.get(request);
    (void)QTest::qWaitFor([reply] { return reply->isFinished(); }, kWaitMs);
    HttpResult r;
    r.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    r.body = reply->readAll();
    r.csp = reply->rawHeader("Content-Security-Policy");
    reply->deleteLater();
    return r;
}

/// The status of a WebSocket upgrade request through nginx with this Origin (raw, as a browser
/// sends it: Host is nginx's address).
int upgradeStatus(quint16 port, const QByteArray &origin)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(kWaitMs))
        return -1;
    socket.write("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port) +
                 "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                 "Origin: " +
                 origin + "\r\n\r\n");
    (void)QTest::qWaitFor([&socket] { return socket.canReadLine(); }, kWaitMs);
    const QList<QByteArray> status = socket.readLine().split(' ');
    return status.size() >= 2 ? status[1].toInt() : -1;
}

/// The node number a user id carries (its top byte): the server it first connected to.
int nodeOf(const QString &userId)
{
    return userId.left(2).toInt(nullptr, 16);
}

} // namespace

class TestNginx : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void cleanup();
    void pageAndHealth();
    void originCheckedAgainstTheForwardedHost();
    void chatThroughNginxAndSurviveAKilledServer();

private:
    /// A and B through nginx, on two different servers.
    struct Chat {
        std::unique_ptr<Client> a, b;
        QString aId, aToken, bId, bToken;
        qint64 roomId = 0;
    };
    bool writeConfig(QString *why);
    std::unique_ptr<Client> welcomed(QString *userId, QString *token);
    void matchOnTwoServers(Chat *chat);
    void killBsServerAndResume(const Chat &chat, qint64 lastB, std::unique_ptr<Client> *b2);
    void expectChatGoesOn(Client &a, Client &b2, qint64 roomId);
    void expectServingWithOneDown();

    QString m_redisUrl;
    QString m_pgUrl;
    QString m_nginx;
    QTemporaryDir m_dir;
    quint16 m_port = 0; ///< nginx's
    QString m_origin;
    std::vector<std::unique_ptr<ServerProcess>> m_servers;
    QProcess m_nginxProcess;
    QByteArray m_nginxLog;
};

// The operator's file with the test's ports, inside a main configuration that keeps every path
// (pid, logs, temporary files) in the test's directory.
bool TestNginx::writeConfig(QString *why)
{
    QFile docs(QStringLiteral(ANONCHAT_SOURCE_DIR "/docs/nginx/anonchat.conf"));
    if (!docs.open(QIODevice::ReadOnly)) {
        *why = docs.fileName() + QStringLiteral(": ") + docs.errorString();
        return false;
    }
    QString site = QString::fromUtf8(docs.readAll());
    const auto replace = [&](const QString &from, const QString &to) {
        if (!site.contains(from)) {
            *why = QStringLiteral("docs/nginx/anonchat.conf has no '%1' any more").arg(from);
            return false;
        }
        site.replace(from, to);
        return true;
    };
    if (!replace(QStringLiteral("listen 80;"), QStringLiteral("listen 127.0.0.1:%1;").arg(m_port)))
        return false;
    for (int i = 0; i < kServers; ++i) {
        if (!replace(QStringLiteral("127.0.0.1:%1 ").arg(5001 + i),
                     QStringLiteral("127.0.0.1:%1 ").arg(m_servers[size_t(i)]->port())))
            return false;
    }
    QFile siteFile(m_dir.filePath(QStringLiteral("anonchat.conf")));
    if (!siteFile.open(QIODevice::WriteOnly) || siteFile.write(site.toUtf8()) < 0) {
        *why = siteFile.errorString();
        return false;
    }
    siteFile.close();

    const QString d = m_dir.path();
    QString main;
    // As root the workers would run as nobody, who cannot enter the test's private directory.
    if (::geteuid() == 0)
        main += QStringLiteral("user root;\n");
    main += QStringLiteral("daemon off;\n"
                           "worker_processes 1;\n"
                           "pid %1/nginx.pid;\n"
                           "error_log stderr info;\n"
                           "events { worker_connections 256; }\n"
                           "http {\n"
                           "    access_log %1/access.log;\n"
                           "    client_body_temp_path %1/client_body;\n"
                           "    proxy_temp_path %1/proxy;\n"
                           "    fastcgi_temp_path %1/fastcgi;\n"
                           "    uwsgi_temp_path %1/uwsgi;\n"
                           "    scgi_temp_path %1/scgi;\n"
                           "    include %1/anonchat.conf;\n"
                           "}\n")
                .arg(d);
    QFile mainFile(m_dir.filePath(QStringLiteral("nginx.conf")));
    if (!mainFile.open(QIODevice::WriteOnly) || mainFile.write(main.toUtf8()) < 0) {
        *why = mainFile.errorString();
        return false;
    }
    return true;
}

void TestNginx::initTestCase()
{
    m_nginx = QStandardPaths::findExecutable(QStringLiteral("nginx"));
    if (m_nginx.isEmpty())
        m_nginx = QStandardPaths::findExecutable(
            QStringLiteral("nginx"),
            {QStringLiteral("/usr/sbin"), QStringLiteral("/usr/local/sbin")});
    QVERIFY2(!m_nginx.isEmpty(), "nginx not found (scripts/setup.sh --test installs it)");
    m_redisUrl = readUrlFile(QStringLiteral(ANONCHAT_REDIS_URL_FILE));
    QVERIFY2(!m_redisUrl.isEmpty(), "no Redis: the ctest fixture redis_start did not run");
    // A database of its own on the shared fixture (tst_cluster flushes /7).
    m_redisUrl += QStringLiteral("/8");
    m_pgUrl = readUrlFile(qEnvironmentVariable("ANONCHAT_PG_URL_FILE"));
    QVERIFY2(!m_pgUrl.isEmpty(), "no PostgreSQL: the ctest fixture postgres_start did not run");
    QVERIFY(m_dir.isValid());
    QVERIFY(flushRedis(m_redisUrl));

    for (int i = 0; i < kServers; ++i) {
        auto s = std::make_unique<ServerProcess>();
        QString why;
        QVERIFY2(s->start({"--port", "0", "--db", m_pgUrl, "--redis", m_redisUrl, "--resume-window",
                           QString::number(kResumeWindowS), "--rate-limit", "0",
                           "--max-connections-per-address", "0",
                           // One node per process: server i is node i (nodeOf()).
                           "--threads", "1"},
                          &why),
                 qPrintable(why));
        m_servers.push_back(std::move(s));
    }

    m_port = freePort();
    QVERIFY(m_port != 0);
    m_origin = QStringLiteral("http://127.0.0.1:%1").arg(m_port);
    QString why;
    QVERIFY2(writeConfig(&why), qPrintable(why));
    m_nginxProcess.setProcessChannelMode(QProcess::MergedChannels);
    connect(&m_nginxProcess, &QProcess::readyRead, this,
            [this] { m_nginxLog += m_nginxProcess.readAll(); });
    m_nginxProcess.start(m_nginx, {"-e", "stderr", "-p", m_dir.path(), "-c",
                                   m_dir.filePath(QStringLiteral("nginx.conf"))});
    QVERIFY2(m_nginxProcess.waitForStarted(), qPrintable(m_nginxProcess.errorString()));
    const bool up = QTest::qWaitFor(
        [this] {
            return m_nginxProcess.state() != QProcess::Running ||
                   httpGet(m_port, QStringLiteral("/healthz")).status == 200;
        },
        kWaitMs);
    QVERIFY2(up && m_nginxProcess.state() == QProcess::Running,
             qPrintable(QStringLiteral("nginx did not serve: ") + QString::fromUtf8(m_nginxLog)));
}

void TestNginx::cleanupTestCase()
{
    if (m_nginxProcess.state() != QProcess::NotRunning) {
        m_nginxProcess.terminate(); // SIGTERM: fast shutdown, the workers with it
        if (!m_nginxProcess.waitForFinished(5000)) {
            m_nginxProcess.kill();
            m_nginxProcess.waitForFinished(5000);
        }
    }
    m_servers.clear();
}

void TestNginx::cleanup()
{
    if (!QTest::currentTestFailed())
        return;
    for (size_t i = 0; i < m_servers.size(); ++i)
        qWarning().noquote() << "server" << i + 1 << "stderr:\n"
                             << QString::fromUtf8(m_servers[i]->standardError());
    m_nginxLog += m_nginxProcess.readAll();
    qWarning().noquote() << "nginx:\n" << QString::fromUtf8(m_nginxLog);
}

std::unique_ptr<Client> TestNginx::welcomed(QString *userId, QString *token)
{
    auto client = std::make_unique<Client>(m_port, m_origin);
    const auto welcome = client->waitFor<protocol::Welcome>();
    if (!welcome)
        return nullptr;
    *userId = welcome->userId;
    *token = welcome->resumeToken;
    return client;
}

void TestNginx::pageAndHealth()
{
    // Several times: round robin passes every server.
    for (int i = 0; i < 2 * kServers; ++i) {
        const HttpResult page = httpGet(m_port, QStringLiteral("/"));
        QCOMPARE(page.status, 200);
        QVERIFY(page.body.contains("<html"));
        // The page's CSP names the host the browser used: nginx passed Host on.
        QVERIFY2(page.csp.contains("ws://127.0.0.1:" + QByteArray::number(m_port)), page.csp);
        const HttpResult health = httpGet(m_port, QStringLiteral("/healthz"));
        QCOMPARE(health.status, 200);
        QVERIFY(health.body.contains("\"ok\""));
    }
}

void TestNginx::originCheckedAgainstTheForwardedHost()
{
    // The page's own origin passes (Host == the nginx address), a foreign one is refused.
    QString id, token;
    QVERIFY(welcomed(&id, &token));
    for (int i = 0; i < kServers; ++i) { // on every server
        QCOMPARE(upgradeStatus(m_port, m_origin.toLatin1()), 101);
        QCOMPARE(upgradeStatus(m_port, "http://evil.example"), 403);
    }
}

void TestNginx::chatThroughNginxAndSurviveAKilledServer()
{
    Chat chat;
    matchOnTwoServers(&chat);
    if (QTest::currentTestFailed())
        return;
    qint64 lastB = 0;
    for (int i = 0; i < 6; ++i) {
        Client &from = i % 2 ? *chat.b : *chat.a;
        Client &to = i % 2 ? *chat.a : *chat.b;
        const auto ack = sendAcked(from, QStringLiteral("through nginx %1 ✓").arg(i));
        QVERIFY(ack);
        const auto got = to.waitFor<protocol::NewMessage>(
            [&](const protocol::NewMessage &m) { return m.id == ack->id; });
        QVERIFY(got);
        QCOMPARE(got->content, ack->content);
        lastB = std::max(lastB, ack->id);
    }

    std::unique_ptr<Client> b2;
    killBsServerAndResume(chat, lastB, &b2);
    if (QTest::currentTestFailed())
        return;
    expectChatGoesOn(*chat.a, *b2, chat.roomId);
    if (QTest::currentTestFailed())
        return;
    expectServingWithOneDown();
}

// A and B through nginx, on two different servers (round robin spreads them; a few tries),
// matched in one room.
void TestNginx::matchOnTwoServers(Chat *chat)
{
    chat->a = welcomed(&chat->aId, &chat->aToken);
    QVERIFY(chat->a);
    for (int i = 0; i < 6 && (!chat->b || nodeOf(chat->bId) == nodeOf(chat->aId)); ++i) {
        chat->b = welcomed(&chat->bId, &chat->bToken);
        QVERIFY(chat->b);
    }
    QVERIFY2(nodeOf(chat->aId) != nodeOf(chat->bId), "nginx put every connection on one server");
    QVERIFY(nodeOf(chat->aId) >= 1 && nodeOf(chat->aId) <= kServers);
    QVERIFY(nodeOf(chat->bId) >= 1 && nodeOf(chat->bId) <= kServers);

    chat->a->send(protocol::JoinQueue{});
    QVERIFY(chat->a->waitFor<protocol::Waiting>());
    chat->b->send(protocol::JoinQueue{});
    const auto ma = chat->a->waitFor<protocol::Matched>();
    const auto mb = chat->b->waitFor<protocol::Matched>();
    QVERIFY(ma && mb);
    QCOMPARE(ma->roomId, mb->roomId);
    QCOMPARE(ma->partnerId, chat->bId);
    QCOMPARE(mb->partnerId, chat->aId);
    chat->roomId = ma->roomId;
}

// B's server dies. nginx drops B's connection with it; B comes back at once, as the page does,
// through nginx, which skips the dead server, and resumes (as `b2`) with its room.
void TestNginx::killBsServerAndResume(const Chat &chat, qint64 lastB, std::unique_ptr<Client> *b2)
{
    ServerProcess &dead = *m_servers[size_t(nodeOf(chat.bId) - 1)];
    dead.signal(SIGKILL);
    QVERIFY(dead.waitFinished());
    QVERIFY(chat.b->waitDisconnected());
    *b2 = std::make_unique<Client>(m_port, m_origin);
    QVERIFY((*b2)->waitFor<protocol::Welcome>());
    (*b2)->send(protocol::Resume{chat.bToken, lastB});
    const auto resumed = (*b2)->waitFor<protocol::Resumed>();
    QVERIFY(resumed);
    QCOMPARE(resumed->userId, chat.bId);
    QVERIFY(resumed->room);
    QCOMPARE(resumed->room->roomId, chat.roomId);
    QCOMPARE(resumed->room->partnerId, chat.aId);
    QVERIFY(chat.a->waitFor<protocol::PartnerBack>());
}

// The chat goes on, both ways, and past the resume window once the dead server's death is noticed.
void TestNginx::expectChatGoesOn(Client &a, Client &b2, qint64 roomId)
{
    const auto fromB = sendAcked(b2, QStringLiteral("back through nginx"));
    QVERIFY(fromB);
    QCOMPARE(fromB->roomId, roomId);
    QVERIFY(a.waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == fromB->id; }));
    const auto fromA = sendAcked(a, QStringLiteral("welcome back"));
    QVERIFY(fromA);
    QVERIFY(b2.waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == fromA->id; }));

    // The dead server's death is noticed and its resume window passes: the room lives on.
    QTest::qWait(kDeathMs + kResumeWindowS * 1000);
    QVERIFY(a.all<protocol::PartnerLeft>().isEmpty());
    QVERIFY(b2.all<protocol::PartnerLeft>().isEmpty());
    const auto late = sendAcked(b2, QStringLiteral("still here"));
    QVERIFY(late);
    QVERIFY(a.waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == late->id; }));
}

// nginx keeps serving with one server down: every request lands on a live one.
void TestNginx::expectServingWithOneDown()
{
    for (int i = 0; i < 2 * kServers; ++i) {
        QCOMPARE(httpGet(m_port, QStringLiteral("/healthz")).status, 200);
        Client c(m_port, m_origin);
        QVERIFY(c.waitFor<protocol::Welcome>());
    }
}

QTEST_GUILESS_MAIN(TestNginx)
#include "tst_nginx.moc"
