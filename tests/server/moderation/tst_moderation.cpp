// The moderation kit end to end (PROTOCOL.md, "Moderation"): the admin API's answers and
// refusals, a ban made through it closing and refusing the reported address, the automatic ban
// by distinct reporter addresses, a ban made by one server reaching another on the same
// database, and a database that never holds a client's address. Real in-process servers, a real
// SQLite file, raw WebSocket clients bound to distinct loopback addresses (127.0.0.x).

#include "server/app/chatserver.h"
#include "tests/server/storage/storagetest.h"
#include "tests/support/chatreport.h"
#include "tests/support/engines.h"
#include "tests/support/inprocessserver.h"
#include "tests/support/rawhttp.h"
#include "tests/support/rawwebsocket.h"

#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageAuthenticationCode>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

using namespace anonchat;
using anonchat::test::HttpReply;
using anonchat::test::RawHttpClient;
using anonchat::test::RawWebSocket;

namespace {

const QByteArray kToken = "moderation-test-token-0123456789";
constexpr int kWait = 5000;
constexpr int kPolicyViolated = 1008;

QHostAddress loopback(int last)
{
    return test::loopbackAddress(last);
}

} // namespace

class TestModeration : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void apiIsOffWithoutAToken();
    void apiRefusesWithoutTheToken();
    void apiRefusesBadRequests();
    void reportThenBanClosesAndRefusesTheAddress();
    void liftingABanLetsTheAddressBackIn();
    void dismissMovesAReportOutOfTheOpenList();
    void distinctReporterAddressesBanAutomatically();
    void aBanReachesAnotherServerOnTheSameDatabase();
    void theDatabaseNeverHoldsTheAddress();

private:
    server::ServerConfig config(const QString &instance = QStringLiteral("mod")) const;
    bool start(const server::ServerConfig &config);
    quint16 port() const { return m_server->port(); }
    HttpReply request(const QByteArray &method, const QByteArray &target,
                      const QByteArray &body = {}, const QByteArray &token = kToken,
                      const QHostAddress &from = {}, quint16 toPort = 0);
    QJsonObject json(const HttpReply &reply) const
    {
        return QJsonDocument::fromJson(reply.body).object();
    }
    /// The id of the newest open report.
    qint64 newestReportId();
    /// The client got `error` `banned` with a future `until`, then close 1008.
    void expectBanned(RawWebSocket &client);

    test::storage::Databases m_databases;
    QString m_database; ///< a SQLite file, or (tst_moderation_pg) a fresh PostgreSQL database
    std::unique_ptr<server::ChatServer> m_server;
};

server::ServerConfig TestModeration::config(const QString &instance) const
{
    server::ServerConfig c = test::testServerConfig(m_database, instance);
    c.adminToken = kToken;
    c.threads = test::testThreads();
    c.interestWaitMs = 0;
    c.banPollMs = 100;
    return c;
}

bool TestModeration::start(const server::ServerConfig &c)
{
    return test::startChatServer(m_server, c);
}

void TestModeration::initTestCase()
{
    const QString why = m_databases.setUp();
    QVERIFY2(why.isEmpty(), qPrintable(why));
}

void TestModeration::init()
{
    QVERIFY(m_databases.init());
    m_database = m_databases.database(QStringLiteral("chat.db"));
    QVERIFY(start(config()));
}

void TestModeration::cleanup()
{
    m_server.reset();
    m_databases.cleanup();
}

HttpReply TestModeration::request(const QByteArray &method, const QByteArray &target,
                                  const QByteArray &body, const QByteArray &token,
                                  const QHostAddress &from, quint16 toPort)
{
    RawHttpClient client(toPort ? toPort : port(), from);
    if (!client.waitConnected())
        return {};
    QByteArray head = method + ' ' + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.isEmpty())
        head += "Authorization: Bearer " + token + "\r\n";
    if (!body.isEmpty() || method == "POST")
        head +=
            "Content-Type: application/json\r\nContent-Length: " + QByteArray::number(body.size()) +
            "\r\n";
    client.write(head + "\r\n" + body);
    client.waitClosed();
    return client.reply();
}

qint64 TestModeration::newestReportId()
{
    return json(request("GET", "/admin/api/reports"))
        .value(QLatin1String("reports"))
        .toArray()
        .first()
        .toObject()
        .value(QLatin1String("id"))
        .toInteger();
}

void TestModeration::expectBanned(RawWebSocket &client)
{
    const std::optional<QJsonObject> error = client.takeError(QStringLiteral("banned"), kWait);
    QVERIFY(error);
    const QDateTime until =
        QDateTime::fromString(error->value(QLatin1String("until")).toString(), Qt::ISODateWithMs);
    QVERIFY2(until.isValid() && until > QDateTime::currentDateTimeUtc(),
             qPrintable(error->value(QLatin1String("until")).toString()));
    const std::optional<RawWebSocket::Frame> close = client.take(0x8, kWait);
    QVERIFY(close);
    QCOMPARE(close->closeCode(), kPolicyViolated);
}

void TestModeration::apiIsOffWithoutAToken()
{
    server::ServerConfig c = config();
    c.adminToken.clear();
    QVERIFY(start(c));
    QCOMPARE(request("GET", "/admin/api/reports").status, 404);
    QCOMPARE(request("POST", "/admin/api/bans", R"({"report_id":1,"hours":1})").status, 404);
    QCOMPARE(request("GET", "/healthz").status, 200);
}

void TestModeration::apiRefusesWithoutTheToken()
{
    const HttpReply none = request("GET", "/admin/api/reports", {}, {});
    QCOMPARE(none.status, 401);
    QCOMPARE(none.header("www-authenticate"), QByteArray("Bearer"));
    QCOMPARE(request("GET", "/admin/api/reports", {}, kToken + "x").status, 401);
    QCOMPARE(request("GET", "/admin/api/reports", {}, kToken.left(kToken.size() - 1)).status, 401);
    QCOMPARE(request("DELETE", "/admin/api/bans/1", {}, "wrong").status, 401);
    const HttpReply ok = request("GET", "/admin/api/reports");
    QCOMPARE(ok.status, 200);
    QCOMPARE(json(ok).value(QLatin1String("reports")).toArray().size(), 0);
}

void TestModeration::apiRefusesBadRequests()
{
    QCOMPARE(request("POST", "/admin/api/bans", "{not json").status, 400);
    QCOMPARE(request("POST", "/admin/api/bans", R"([1,2])").status, 400);
    QCOMPARE(request("POST", "/admin/api/bans", R"({"report_id":"1","hours":1})").status, 400);
    QCOMPARE(request("POST", "/admin/api/bans", R"({"report_id":1,"hours":0})").status, 400);
    QCOMPARE(request("POST", "/admin/api/bans", R"({"report_id":1,"hours":1.5})").status, 400);
    QCOMPARE(request("POST", "/admin/api/bans", R"({"report_id":1,"hours":1,"note":7})").status,
             400);
    QCOMPARE(request("POST", "/admin/api/bans", R"({"report_id":99,"hours":1})").status, 404);
    QCOMPARE(request("POST", "/admin/api/reports/99/dismiss").status, 404);
    QCOMPARE(request("DELETE", "/admin/api/bans/99").status, 404);
    QCOMPARE(request("GET", "/admin/api/reports?status=closed").status, 400);
    QCOMPARE(request("GET", "/admin/api/reports?limit=0").status, 400);
    QCOMPARE(request("GET", "/admin/api/reports?before=x").status, 400);
    QCOMPARE(request("GET", "/admin/api/nothing").status, 404);
    const HttpReply method = request("PUT", "/admin/api/bans", "{}");
    QCOMPARE(method.status, 405);
    QCOMPARE(method.header("allow"), QByteArray("GET, POST"));
    QCOMPARE(request("POST", "/admin/api/bans", QByteArray(8 * 1024, ' ')).status, 413);
    // Nothing was made by any of them.
    QCOMPARE(json(request("GET", "/admin/api/bans")).value(QLatin1String("bans")).toArray().size(),
             0);
}

void TestModeration::reportThenBanClosesAndRefusesTheAddress()
{
    RawWebSocket reporter, reported;
    QVERIFY(reporter.open(port(), loopback(3)));
    QVERIFY(reported.open(port(), loopback(2)));
    QVERIFY(test::pairAndReport(reporter, reported, "buy my stuff"));

    const QJsonArray reports = json(request("GET", "/admin/api/reports?status=open"))
                                   .value(QLatin1String("reports"))
                                   .toArray();
    QCOMPARE(reports.size(), 1);
    const QJsonObject report = reports.first().toObject();
    QCOMPARE(report.value(QLatin1String("status")).toString(), QStringLiteral("open"));
    QCOMPARE(report.value(QLatin1String("reason")).toString(), QStringLiteral("spam"));
    const QJsonArray messages = report.value(QLatin1String("messages")).toArray();
    QCOMPARE(messages.size(), 1);
    QCOMPARE(messages.first().toObject().value(QLatin1String("content")).toString(),
             QStringLiteral("buy my stuff"));
    QCOMPARE(messages.first().toObject().value(QLatin1String("sender_id")),
             report.value(QLatin1String("reported_id")));

    const qint64 id = report.value(QLatin1String("id")).toInteger();
    const HttpReply made =
        request("POST", "/admin/api/bans",
                QStringLiteral(R"({"report_id":%1,"hours":2,"note":"spam"})").arg(id).toUtf8());
    QCOMPARE(made.status, 201);
    const QDateTime until = QDateTime::fromString(
        json(made).value(QLatin1String("until")).toString(), Qt::ISODateWithMs);
    const qint64 inSeconds = QDateTime::currentDateTimeUtc().secsTo(until);
    QVERIFY2(inSeconds > 2 * 3600 - 60 && inSeconds <= 2 * 3600, qPrintable(until.toString()));

    expectBanned(reported); // live: closed at once
    if (QTest::currentTestFailed())
        return;
    RawWebSocket again; // and refused when it comes back
    QVERIFY(again.connectTo(port(), loopback(2)));
    QCOMPARE(again.upgrade(), 101);
    expectBanned(again);
    if (QTest::currentTestFailed())
        return;
    // The reporter stays; the page and /healthz still answer the banned address.
    QVERIFY(reporter.takeEvent(QStringLiteral("partner_away"), kWait) ||
            reporter.takeEvent(QStringLiteral("partner_left"), kWait));
    QCOMPARE(request("GET", "/healthz", {}, {}, loopback(2)).status, 200);
    QCOMPARE(request("GET", "/", {}, {}, loopback(2)).status, 200);
    const QJsonArray actioned = json(request("GET", "/admin/api/reports?status=actioned"))
                                    .value(QLatin1String("reports"))
                                    .toArray();
    QCOMPARE(actioned.size(), 1);
    QCOMPARE(json(request("GET", "/admin/api/bans")).value(QLatin1String("bans")).toArray().size(),
             1);
}

void TestModeration::liftingABanLetsTheAddressBackIn()
{
    RawWebSocket reporter, reported;
    QVERIFY(reporter.open(port(), loopback(3)));
    QVERIFY(reported.open(port(), loopback(2)));
    QVERIFY(test::pairAndReport(reporter, reported, "hello"));
    const qint64 reportId = newestReportId();
    const HttpReply made =
        request("POST", "/admin/api/bans",
                QStringLiteral(R"({"report_id":%1,"hours":1})").arg(reportId).toUtf8());
    QCOMPARE(made.status, 201);
    const qint64 banId = json(made).value(QLatin1String("id")).toInteger();
    expectBanned(reported);
    if (QTest::currentTestFailed())
        return;

    const HttpReply lifted = request("DELETE", "/admin/api/bans/" + QByteArray::number(banId));
    QCOMPARE(lifted.status, 204);
    QVERIFY(lifted.body.isEmpty());
    QCOMPARE(request("DELETE", "/admin/api/bans/" + QByteArray::number(banId)).status, 404);
    QCOMPARE(json(request("GET", "/admin/api/bans")).value(QLatin1String("bans")).toArray().size(),
             0);
    RawWebSocket back;
    QVERIFY(back.open(port(), loopback(2)));
}

void TestModeration::dismissMovesAReportOutOfTheOpenList()
{
    RawWebSocket reporter, reported;
    QVERIFY(reporter.open(port(), loopback(3)));
    QVERIFY(reported.open(port(), loopback(2)));
    QVERIFY(test::pairAndReport(reporter, reported, "hi"));
    const QJsonObject report = json(request("GET", "/admin/api/reports"))
                                   .value(QLatin1String("reports"))
                                   .toArray()
                                   .first()
                                   .toObject();
    const QByteArray id = QByteArray::number(report.value(QLatin1String("id")).toInteger());
    QCOMPARE(request("POST", "/admin/api/reports/" + id + "/dismiss").status, 200);
    QCOMPARE(json(request("GET", "/admin/api/reports")).value(QLatin1String("reports")).toArray(),
             QJsonArray());
    QCOMPARE(json(request("GET", "/admin/api/reports?status=dismissed"))
                 .value(QLatin1String("reports"))
                 .toArray()
                 .size(),
             1);
    QVERIFY(!reported.takeError(QStringLiteral("banned"), 300)); // nobody banned
    QVERIFY(!reported.ended());
}

void TestModeration::distinctReporterAddressesBanAutomatically()
{
    // Threshold 3 (the default). Two reports from one address and one from another: two
    // addresses, no ban. A third address: banned for an hour.
    RawWebSocket target;
    QVERIFY(target.open(port(), loopback(9)));
    const int addresses[] = {2, 2, 3, 4};
    for (int i = 0; i < 4; ++i) {
        RawWebSocket reporter;
        QVERIFY(reporter.open(port(), loopback(addresses[i])));
        QVERIFY2(test::pairAndReport(reporter, target, "spam"), qPrintable(QString::number(i)));
        if (i < 3) {
            reporter.sendEvent("leave_room_event");
            QVERIFY(target.takeEvent(QStringLiteral("partner_left"), kWait));
            QVERIFY(reporter.takeEvent(QStringLiteral("room_left"), kWait));
            QTest::qWait(200); // the automatic check runs after the report is stored
            QVERIFY2(json(request("GET", "/admin/api/bans"))
                         .value(QLatin1String("bans"))
                         .toArray()
                         .isEmpty(),
                     qPrintable(QString::number(i)));
        }
    }
    expectBanned(target);
    if (QTest::currentTestFailed())
        return;
    const QJsonArray bans =
        json(request("GET", "/admin/api/bans")).value(QLatin1String("bans")).toArray();
    QCOMPARE(bans.size(), 1);
    const QDateTime until = QDateTime::fromString(
        bans.first().toObject().value(QLatin1String("until")).toString(), Qt::ISODateWithMs);
    const qint64 inSeconds = QDateTime::currentDateTimeUtc().secsTo(until);
    QVERIFY(inSeconds > 3600 - 60 && inSeconds <= 3600);
}

void TestModeration::aBanReachesAnotherServerOnTheSameDatabase()
{
    // A second server on the same database (as servers of a cluster share one): a ban made
    // through the first closes the address's session on the second. On PostgreSQL
    // (tst_moderation_pg) the two are a cluster on the fixture's real Redis too.
    server::ServerConfig second = config(QStringLiteral("mod-other"));
    if (test::storage::kPostgres) {
        const QUrl redis(test::readUrlFile(QStringLiteral(ANONCHAT_REDIS_URL_FILE)));
        QVERIFY2(redis.isValid() && !redis.isEmpty(), ANONCHAT_REDIS_URL_FILE);
        server::ServerConfig first = config();
        first.redis = redis;
        second.redis = redis;
        QVERIFY(start(first));
    }
    std::unique_ptr<server::ChatServer> other;
    QVERIFY(test::startChatServer(other, second));
    RawWebSocket reporter, reported, elsewhere;
    QVERIFY(reporter.open(port(), loopback(3)));
    QVERIFY(reported.open(port(), loopback(2)));
    QVERIFY(elsewhere.open(other->port(), loopback(2)));
    QVERIFY(test::pairAndReport(reporter, reported, "hi"));
    const qint64 reportId = newestReportId();
    QCOMPARE(request("POST", "/admin/api/bans",
                     QStringLiteral(R"({"report_id":%1,"hours":1})").arg(reportId).toUtf8())
                 .status,
             201);
    expectBanned(reported);
    if (QTest::currentTestFailed())
        return;
    expectBanned(elsewhere);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(json(request("GET", "/admin/api/bans", {}, kToken, {}, other->port()))
                 .value(QLatin1String("bans"))
                 .toArray()
                 .size(),
             1);
}

void TestModeration::theDatabaseNeverHoldsTheAddress()
{
    RawWebSocket reporter, reported;
    QVERIFY(reporter.open(port(), loopback(3)));
    QVERIFY(reported.open(port(), loopback(2)));
    QVERIFY(test::pairAndReport(reporter, reported, "hi"));
    m_server.reset(); // everything written and the files closed

    if (!test::storage::kPostgres) { // the file itself, every byte of it
        QByteArray bytes;
        for (const QString &file : {m_database, m_database + QLatin1String("-wal")}) {
            QFile f(file);
            if (f.open(QIODevice::ReadOnly))
                bytes += f.readAll();
        }
        QVERIFY(bytes.size() > 0);
        for (const char *text : {"127.0.0.2", "127.0.0.3", "::ffff:127.0.0.2"})
            QVERIFY2(!bytes.contains(text), text);
        QVERIFY(!bytes.contains(QByteArray::fromHex("7f000002")));
    }

    // What is there is the keyed hash PROTOCOL.md describes: HMAC-SHA-256(secret, prefix).
    {
        test::storage::Check check(m_database);
        QSqlQuery q(check.db());
        QVERIFY(q.exec(QStringLiteral("SELECT value FROM server_secrets "
                                      "WHERE name = 'address_hmac'")) &&
                q.next());
        const QByteArray secret = QByteArray::fromHex(q.value(0).toByteArray());
        QCOMPARE(secret.size(), 32);
        QVERIFY(q.exec(QStringLiteral("SELECT reported_hash, reporter_hash FROM reports")) &&
                q.next());
        const auto expected = [&secret](const char *hex) {
            return QString::fromLatin1(QMessageAuthenticationCode::hash(QByteArray::fromHex(hex),
                                                                        secret,
                                                                        QCryptographicHash::Sha256)
                                           .toHex());
        };
        QCOMPARE(q.value(0).toString(), expected("7f000002"));
        QCOMPARE(q.value(1).toString(), expected("7f000003"));
    }
}

QTEST_MAIN(TestModeration)
#include "tst_moderation.moc"
