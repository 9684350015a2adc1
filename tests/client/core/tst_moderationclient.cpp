// ModerationClient (client/core) against a real in-process ChatServer with an admin token: a
// report made by raw clients from two loopback addresses is listed with its transcript, banned
// (the ban listed, the reported address refused), lifted, and another one dismissed; a wrong
// token, an unknown id and a bad request end in failed(); the API's URL from each form of server
// address.

#include "client/core/moderationclient.h"
#include "server/app/chatserver.h"
#include "tests/support/chatreport.h"
#include "tests/support/inprocessserver.h"
#include "tests/support/rawwebsocket.h"

#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

using namespace anonchat;
using namespace anonchat::client;
using anonchat::test::loopbackAddress;
using anonchat::test::RawWebSocket;

namespace {

const QByteArray kToken = "moderation-client-test-token-0123456789";
constexpr int kWait = 5000;

} // namespace

class TestModerationClient : public QObject
{
    Q_OBJECT
private slots:
    void init();
    void cleanup();
    void apiUrl_data();
    void apiUrl();
    void reportListedBannedAndLifted();
    void dismissMovesTheReport();
    void wrongTokenIsRefused();
    void unknownIdsAreNotFound();
    void badRequestIsRefused();

private:
    QUrl serverUrl() const
    {
        return QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(m_server->port()));
    }
    /// A report against 127.0.0.2 by 127.0.0.3; its reported client stays open in m_reported.
    bool makeReport(const QByteArray &text);
    /// Fetches the reports of `status` through `client`.
    QList<ModerationReport> reports(ModerationClient &client, const QString &status);
    QList<ModerationBan> bans(ModerationClient &client);

    QTemporaryDir m_dir;
    std::unique_ptr<server::ChatServer> m_server;
    std::unique_ptr<RawWebSocket> m_reporter;
    std::unique_ptr<RawWebSocket> m_reported;
};

void TestModerationClient::init()
{
    QVERIFY(m_dir.isValid());
    server::ServerConfig config = test::testServerConfig(m_dir.filePath(QStringLiteral("chat.db")),
                                                         QStringLiteral("modclient"));
    config.adminToken = kToken;
    config.interestWaitMs = 0;
    config.autoBanReports = 0;
    QVERIFY(test::startChatServer(m_server, config));
}

void TestModerationClient::cleanup()
{
    m_reporter.reset();
    m_reported.reset();
    m_server.reset();
    QFile::remove(m_dir.filePath(QStringLiteral("chat.db")));
}

bool TestModerationClient::makeReport(const QByteArray &text)
{
    m_reporter = std::make_unique<RawWebSocket>();
    m_reported = std::make_unique<RawWebSocket>();
    return m_reporter->open(m_server->port(), loopbackAddress(3)) &&
           m_reported->open(m_server->port(), loopbackAddress(2)) &&
           test::pairAndReport(*m_reporter, *m_reported, text);
}

QList<ModerationReport> TestModerationClient::reports(ModerationClient &client,
                                                      const QString &status)
{
    QSignalSpy fetched(&client, &ModerationClient::reportsFetched);
    client.fetchReports(status);
    if (!fetched.wait(kWait) || fetched.at(0).at(0).toString() != status)
        return {};
    return fetched.at(0).at(1).value<QList<ModerationReport>>();
}

QList<ModerationBan> TestModerationClient::bans(ModerationClient &client)
{
    QSignalSpy fetched(&client, &ModerationClient::bansFetched);
    client.fetchBans();
    if (!fetched.wait(kWait))
        return {};
    return fetched.at(0).at(0).value<QList<ModerationBan>>();
}

void TestModerationClient::apiUrl_data()
{
    QTest::addColumn<QString>("server");
    QTest::addColumn<QString>("api");
    QTest::newRow("http") << "http://127.0.0.1:5000/"
                          << "http://127.0.0.1:5000/admin/api";
    QTest::newRow("http, no slash") << "http://chat.example"
                                    << "http://chat.example/admin/api";
    QTest::newRow("https") << "https://chat.example/"
                           << "https://chat.example/admin/api";
    QTest::newRow("ws") << "ws://chat.example:8080/ws"
                        << "http://chat.example:8080/admin/api";
    QTest::newRow("wss, prefix") << "wss://example.org/chat/ws"
                                 << "https://example.org/chat/admin/api";
    QTest::newRow("prefix") << "https://example.org/chat/"
                            << "https://example.org/chat/admin/api";
    QTest::newRow("ftp") << "ftp://example.org/"
                         << "";
    QTest::newRow("no host") << "http://"
                             << "";
}

void TestModerationClient::apiUrl()
{
    QFETCH(QString, server);
    QFETCH(QString, api);
    QCOMPARE(ModerationClient::apiUrl(QUrl(server)).toString(), api);
}

void TestModerationClient::reportListedBannedAndLifted()
{
    QVERIFY(makeReport("buy my stuff"));
    ModerationClient client;
    QVERIFY(client.setServer(serverUrl(), kToken));

    const QList<ModerationReport> open = reports(client, QStringLiteral("open"));
    QCOMPARE(open.size(), 1);
    const ModerationReport &report = open.first();
    QCOMPARE(report.status, QStringLiteral("open"));
    QCOMPARE(report.reason, QStringLiteral("spam"));
    QVERIFY(report.createdAt.isValid());
    QVERIFY(report.roomId > 0);
    QVERIFY(!report.reportedId.isEmpty() && !report.reporterId.isEmpty());
    QVERIFY(report.reportedId != report.reporterId);
    QCOMPARE(report.messages.size(), 1);
    QCOMPARE(report.messages.first().content, QStringLiteral("buy my stuff"));
    QCOMPARE(report.messages.first().senderId, report.reportedId);
    QVERIFY(report.messages.first().timestamp.isValid());
    QVERIFY(bans(client).isEmpty());

    // Ban for an hour: the ban is listed, the report actioned, the reported address refused.
    QSignalSpy made(&client, &ModerationClient::banMade);
    client.ban(report.id, 1, QStringLiteral("spam links"));
    QVERIFY(made.wait(kWait));
    QCOMPARE(made.at(0).at(0).toLongLong(), report.id);
    const qint64 banId = made.at(0).at(1).toLongLong();
    const QDateTime until = made.at(0).at(2).toDateTime();
    const qint64 inSeconds = QDateTime::currentDateTimeUtc().secsTo(until);
    QVERIFY2(inSeconds > 3600 - 60 && inSeconds <= 3600, qPrintable(until.toString()));
    QVERIFY(m_reported->takeError(QStringLiteral("banned"), kWait));

    const QList<ModerationBan> listed = bans(client);
    QCOMPARE(listed.size(), 1);
    QCOMPARE(listed.first().id, banId);
    QCOMPARE(listed.first().reportId, report.id);
    QCOMPARE(listed.first().note, QStringLiteral("spam links"));
    QCOMPARE(listed.first().until, until);
    QVERIFY(reports(client, QStringLiteral("open")).isEmpty());
    QCOMPARE(reports(client, QStringLiteral("actioned")).size(), 1);

    // Lift: gone from the list, and the address is let in again.
    QSignalSpy lifted(&client, &ModerationClient::lifted);
    client.lift(banId);
    QVERIFY(lifted.wait(kWait));
    QCOMPARE(lifted.at(0).at(0).toLongLong(), banId);
    QVERIFY(bans(client).isEmpty());
    RawWebSocket again;
    QVERIFY(again.open(m_server->port(), loopbackAddress(2)));
}

void TestModerationClient::dismissMovesTheReport()
{
    QVERIFY(makeReport("hello"));
    ModerationClient client;
    QVERIFY(client.setServer(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws").arg(m_server->port())),
                             kToken));
    const QList<ModerationReport> open = reports(client, QStringLiteral("open"));
    QCOMPARE(open.size(), 1);

    QSignalSpy dismissed(&client, &ModerationClient::dismissed);
    QSignalSpy failed(&client, &ModerationClient::failed);
    client.dismiss(open.first().id);
    QVERIFY(dismissed.wait(kWait));
    QCOMPARE(dismissed.at(0).at(0).toLongLong(), open.first().id);
    QVERIFY(reports(client, QStringLiteral("open")).isEmpty());
    const QList<ModerationReport> gone = reports(client, QStringLiteral("dismissed"));
    QCOMPARE(gone.size(), 1);
    QCOMPARE(gone.first().status, QStringLiteral("dismissed"));
    QVERIFY(bans(client).isEmpty()); // dismissing bans nobody
    QCOMPARE(failed.size(), 0);
}

void TestModerationClient::wrongTokenIsRefused()
{
    QVERIFY(makeReport("hello"));
    ModerationClient client;
    QVERIFY(client.setServer(serverUrl(), kToken + "x"));
    QSignalSpy failed(&client, &ModerationClient::failed);
    QSignalSpy fetched(&client, &ModerationClient::reportsFetched);
    client.fetchReports();
    QVERIFY(failed.wait(kWait));
    QCOMPARE(failed.at(0).at(0).value<ModerationClient::Failure>(),
             ModerationClient::Failure::TokenRefused);
    QVERIFY(!failed.at(0).at(1).toString().isEmpty());
    QCOMPARE(fetched.size(), 0);

    // Nothing is changed with a wrong token: the report stays open, unbanned.
    client.ban(1, 1);
    QVERIFY(failed.wait(kWait));
    QCOMPARE(failed.at(1).at(0).value<ModerationClient::Failure>(),
             ModerationClient::Failure::TokenRefused);
    QVERIFY(client.setServer(serverUrl(), kToken));
    QCOMPARE(reports(client, QStringLiteral("open")).size(), 1);
    QVERIFY(bans(client).isEmpty());
}

void TestModerationClient::unknownIdsAreNotFound()
{
    ModerationClient client;
    QVERIFY(client.setServer(serverUrl(), kToken));
    QSignalSpy failed(&client, &ModerationClient::failed);
    client.lift(999);
    QVERIFY(failed.wait(kWait));
    client.dismiss(999);
    QVERIFY(failed.wait(kWait));
    QCOMPARE(failed.size(), 2);
    for (const QList<QVariant> &args : failed)
        QCOMPARE(args.at(0).value<ModerationClient::Failure>(),
                 ModerationClient::Failure::NotFound);

    // A server that is gone: a network failure, not a hang.
    const QUrl url = serverUrl();
    m_server.reset();
    QVERIFY(client.setServer(url, kToken));
    client.fetchBans();
    QVERIFY(failed.wait(kWait));
    QCOMPARE(failed.at(2).at(0).value<ModerationClient::Failure>(),
             ModerationClient::Failure::Network);
}

void TestModerationClient::badRequestIsRefused()
{
    QVERIFY(makeReport("hello"));
    ModerationClient client;
    QVERIFY(client.setServer(serverUrl(), kToken));
    const QList<ModerationReport> open = reports(client, QStringLiteral("open"));
    QCOMPARE(open.size(), 1);
    QSignalSpy failed(&client, &ModerationClient::failed);
    QSignalSpy made(&client, &ModerationClient::banMade);
    client.ban(open.first().id, 0); // hours must be 1–8760: 400
    QVERIFY(failed.wait(kWait));
    QCOMPARE(failed.at(0).at(0).value<ModerationClient::Failure>(),
             ModerationClient::Failure::Refused);
    QVERIFY2(failed.at(0).at(1).toString().contains(QStringLiteral("400")),
             qPrintable(failed.at(0).at(1).toString()));
    QCOMPARE(made.size(), 0);
    QVERIFY(bans(client).isEmpty());
}

QTEST_GUILESS_MAIN(TestModerationClient)
#include "tst_moderationclient.moc"
