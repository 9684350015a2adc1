// LocalServerHost: the server the desktop app hosts in its own process (client/app): the next
// port when the configured one is taken, one start only, the LAN URL, a graceful stop, an
// unusable database reported at once, and the random moderation token each host is given.

#include "client/app/localserverhost.h"
#include "client/core/chatsession.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

using namespace anonchat;
using namespace anonchat::client;
using State = ChatSession::State;

class TestLocalServerHost : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }
    void startStopAndShare();

private:
    server::ServerConfig serverConfig(quint16 port) const
    {
        server::ServerConfig config;
        config.host = QHostAddress(QHostAddress::LocalHost);
        config.port = port;
        config.database = m_dir.filePath(QStringLiteral("chat.db"));
        config.resumeWindowMs = 2000;
        config.interestWaitMs = 200;
        return config;
    }

    /// Started on every interface, `other` gives a LAN URL (when there is a LAN address).
    void sharedOnTheLan(LocalServerHost &other, server::ServerConfig config);
    /// An unusable database is an error, not a wander through 20 ports.
    void unusableDatabaseFails();

    QTemporaryDir m_dir;
};

void TestLocalServerHost::startStopAndShare()
{
    // The configured port is taken: the next free one is used.
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    const quint16 taken = squatter.serverPort();

    LocalServerHost host;
    LocalServerHost other;
    QVERIFY(host.instanceName().startsWith(QStringLiteral("anonchat-local-")));
    QVERIFY(host.instanceName() != other.instanceName());
    QVERIFY(!host.isRunning());
    QVERIFY(!host.url().isValid());

    server::ServerConfig config = serverConfig(taken);
    config.database = m_dir.filePath(QStringLiteral("local.db"));
    QString error;
    QVERIFY2(host.start(config, &error), qPrintable(error));
    QVERIFY(host.isRunning());
    QVERIFY(host.port() != taken);
    QVERIFY(host.port() > 0);
    QCOMPARE(host.config().port, host.port());
    QCOMPARE(host.config().instanceName, host.instanceName());
    QCOMPARE(host.url().port(), int(host.port()));
    QVERIFY(host.lanUrl().isEmpty());     // loopback only
    QVERIFY(!host.start(config, &error)); // once
    // A random moderation token of its own, unless one was configured.
    const QByteArray token = host.config().adminToken;
    QVERIFY2(token.size() >= 32, token.constData());
    QVERIFY(config.adminToken.isEmpty());
    QVERIFY(LocalServerHost::randomAdminToken() != token);

    ChatSession s;
    QVERIFY(s.open(host.url()));
    QTRY_COMPARE(s.state(), State::Idle);
    s.close();

    QSignalSpy stopped(&host, &LocalServerHost::stopped);
    host.shutdown();
    QVERIFY(stopped.wait(5000));
    QVERIFY(!host.isRunning());

    // Shared on the LAN: the URL others can open.
    sharedOnTheLan(other, config);
    if (QTest::currentTestFailed())
        return;
    unusableDatabaseFails();
}

void TestLocalServerHost::sharedOnTheLan(LocalServerHost &other, server::ServerConfig config)
{
    QString error;
    config.host = QHostAddress(QHostAddress::AnyIPv4);
    config.port = 0;
    config.adminToken = "configured-token-0123456789abcdef";
    QVERIFY2(other.start(config, &error), qPrintable(error));
    QCOMPARE(other.config().adminToken, config.adminToken);
    const QHostAddress lan = LocalServerHost::firstLanAddress();
    if (lan.isNull()) {
        QVERIFY(other.lanUrl().isEmpty());
    } else {
        QCOMPARE(other.lanUrl().host(), lan.toString());
        QCOMPARE(other.lanUrl().port(), int(other.port()));
    }
    QCOMPARE(other.url().host(), QStringLiteral("127.0.0.1"));
}

void TestLocalServerHost::unusableDatabaseFails()
{
    QString error;
    LocalServerHost broken;
    server::ServerConfig bad = serverConfig(0);
    bad.database = m_dir.filePath(QStringLiteral("no/such/dir/chat.db"));
    QVERIFY(!broken.start(bad, &error));
    QVERIFY(!error.isEmpty());
    QVERIFY(!broken.isRunning());
}

QTEST_GUILESS_MAIN(TestLocalServerHost)
#include "tst_localserverhost.moc"
