// Tests of the real `anonchat-server` executable (PROTOCOL.md, "Server command line"): the URL
// line, --help, every refused flag (exit 2, one line naming it), unusable databases and ports,
// graceful shutdown on SIGTERM/SIGINT (close 1001, acked messages stored), recovery after SIGKILL
// (rooms closed with server_restart, acked messages kept), --retention-days, and --db with a
// real PostgreSQL (ctest's postgres fixture: scripts/pg.sh; ANONCHAT_PG_URL_FILE names its URL).

#include "shared/codec.h"
#include "tests/support/engines.h"
#include "tests/support/serverprocess.h"
#include "tests/support/sqlquery.h"

#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>
#include <QUuid>
#include <QWebSocket>
#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <sys/types.h>

namespace protocol = anonchat::protocol;
using namespace anonchat::test;

namespace {

/// Two clients matched in a room.
struct Pair {
    std::unique_ptr<Client> a;
    std::unique_ptr<Client> b;
    QString aId;
    QString bId;
    qint64 roomId = 0;
};

std::optional<Pair> matchedPair(quint16 port)
{
    Pair p;
    p.a = std::make_unique<Client>(port);
    const auto welcomeA = p.a->waitFor<protocol::Welcome>();
    if (!welcomeA)
        return std::nullopt;
    p.aId = welcomeA->userId;
    p.a->send(protocol::JoinQueue{});
    if (!p.a->waitFor<protocol::Waiting>())
        return std::nullopt;
    p.b = std::make_unique<Client>(port);
    const auto welcomeB = p.b->waitFor<protocol::Welcome>();
    if (!welcomeB)
        return std::nullopt;
    p.bId = welcomeB->userId;
    p.b->send(protocol::JoinQueue{});
    const auto matchedA = p.a->waitFor<protocol::Matched>();
    const auto matchedB = p.b->waitFor<protocol::Matched>();
    if (!matchedA || !matchedB || matchedA->roomId != matchedB->roomId)
        return std::nullopt;
    p.roomId = matchedA->roomId;
    return p;
}

/// A look at a database file the server has closed, or at a postgresql:// database.
class Database : public SqlProbe
{
public:
    explicit Database(const QString &path)
        : SqlProbe(path.startsWith(QLatin1String("postgresql://"))
                       ? addPostgres(QStringLiteral("tst_cli_") +
                                         QUuid::createUuid().toString(QUuid::Id128),
                                     path)
                       : addSqlite(QStringLiteral("tst_cli_"), path))
    {}
};

/// `stored` moved `secondsBack` into the past, written the way the server writes times
/// (ISO-8601 text of some shape, or seconds / milliseconds since the epoch).
QVariant shiftedTime(const QVariant &stored, qint64 secondsBack)
{
    bool isNumber = false;
    const qint64 number = stored.toString().toLongLong(&isNumber);
    if (isNumber) {
        const bool millis = number > 100000000000LL;
        return QVariant(number - secondsBack * (millis ? 1000 : 1));
    }
    const QString text = stored.toString();
    QString normalised = text;
    normalised.replace(QLatin1Char(' '), QLatin1Char('T'));
    QDateTime time = QDateTime::fromString(normalised, Qt::ISODateWithMs);
    if (!time.isValid())
        return {};
    if (!text.endsWith(QLatin1Char('Z')) && !text.contains(QLatin1Char('+')))
        time.setTimeSpec(Qt::UTC);
    time = time.toUTC().addSecs(-secondsBack);
    QString format = QStringLiteral("yyyy-MM-dd");
    format += text.contains(QLatin1Char('T')) ? QStringLiteral("'T'") : QStringLiteral(" ");
    format += QStringLiteral("HH:mm:ss");
    if (text.contains(QLatin1Char('.')))
        format += QStringLiteral(".zzz");
    QString out = time.toString(format);
    if (text.endsWith(QLatin1Char('Z')))
        out += QLatin1Char('Z');
    else if (text.endsWith(QLatin1String("+00:00")))
        out += QLatin1String("+00:00");
    return out;
}

} // namespace

class TestCli : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();

    void startsAndPrintsUrl();
    void help();
    void badFlags_data();
    void badFlags();
    void unusableDatabase_data();
    void unusableDatabase();
    void portTaken();
    void shutdownSignals_data();
    void shutdownSignals();
    void ackedMessageSurvivesSigterm();
    void sigkillThenRestart();
    void retention();
    void postgresql();

private:
    void crashMidChat(const QString &path, QHash<qint64, QString> *acked, qint64 *roomId,
                      qint64 *lastId);
    void restartAndChat(const QString &path, qint64 oldRoomId, qint64 lastId,
                        QHash<qint64, QString> *acked);
    void createPostgresDatabase(QUrl *url);
    void chatThroughPostgres(const Pair &pair, const QString &db, const QString &content,
                             qint64 *firstId, qint64 *replyId);
    void expectStoredInPostgres(const QString &db, const Pair &pair, const QString &content,
                                qint64 firstId, qint64 replyId);
    QString dbPath() const { return m_dir->filePath(QStringLiteral("chat.db")); }
    /// A token file `name` holding `token`, with `permissions`.
    QString tokenFile(const QString &name, const QByteArray &token,
                      QFileDevice::Permissions permissions)
    {
        const QString path = m_dir->filePath(name);
        QFile file(path);
        if (file.open(QIODevice::WriteOnly))
            file.write(token);
        file.close();
        file.setPermissions(permissions);
        return path;
    }
    QString freshDbPath()
    {
        return m_dir->filePath(QStringLiteral("chat-%1.db").arg(++m_databases));
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    int m_databases = 0;
};

void TestCli::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(ANONCHAT_SERVER_BINARY)), ANONCHAT_SERVER_BINARY);
    QVERIFY(QSqlDatabase::isDriverAvailable(QStringLiteral("QSQLITE")));
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestCli::startsAndPrintsUrl()
{
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", freshDbPath()}, &why), qPrintable(why));
    qInfo("anonchat-server: %lld ms from start to the printed URL", server.startupMs());

    QTcpSocket socket;
    socket.connectToHost(QHostAddress(QHostAddress::LocalHost), server.port());
    QVERIFY(socket.waitForConnected(kWaitMs));
    socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    QByteArray reply;
    (void)QTest::qWaitFor(
        [&] {
            reply += socket.readAll();
            return socket.state() == QAbstractSocket::UnconnectedState;
        },
        kWaitMs);
    reply += socket.readAll();
    QVERIFY2(reply.startsWith("HTTP/1.1 200 "), reply.constData());
    QVERIFY2(reply.contains("\"status\":\"ok\""), reply.constData());

    // Exactly one line on stdout, ever.
    QTest::qWait(100);
    QCOMPARE(server.standardOutput().count('\n'), 1);
    server.signal(SIGTERM);
    QVERIFY(server.waitFinished());
    QCOMPARE(server.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(server.process().exitCode(), 0);
    QCOMPARE(server.standardOutput().count('\n'), 1);
}

void TestCli::help()
{
    ServerProcess server;
    QVERIFY(server.run({"--help"}));
    QCOMPARE(server.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(server.process().exitCode(), 0);
    const QString text = QString::fromUtf8(server.standardOutput());

    // The flags --help offers are exactly those of docs/PROTOCOL.md's command-line table.
    QSet<QString> offered;
    static const QRegularExpression option(QStringLiteral("^\\s+(?:-\\w, )?--([a-z-]+)"),
                                           QRegularExpression::MultilineOption);
    for (auto it = option.globalMatch(text); it.hasNext();)
        offered.insert(it.next().captured(1));
    offered.remove(QStringLiteral("help"));
    offered.remove(QStringLiteral("help-all"));
    offered.remove(QStringLiteral("version"));

    QFile doc(QStringLiteral(ANONCHAT_SOURCE_DIR "/docs/PROTOCOL.md"));
    QVERIFY(doc.open(QIODevice::ReadOnly | QIODevice::Text));
    const QString protocol = QString::fromUtf8(doc.readAll());
    const qsizetype from = protocol.indexOf(QStringLiteral("## Server command line"));
    QVERIFY(from >= 0);
    const QString section =
        protocol.mid(from, protocol.indexOf(QStringLiteral("\n## "), from + 1) - from);
    QSet<QString> documented;
    static const QRegularExpression row(QStringLiteral("^\\| `--([a-z-]+)"),
                                        QRegularExpression::MultilineOption);
    for (auto it = row.globalMatch(section); it.hasNext();)
        documented.insert(it.next().captured(1));
    QVERIFY(documented.size() >= 10);
    QStringList offeredList = offered.values();
    QStringList documentedList = documented.values();
    offeredList.sort();
    documentedList.sort();
    QCOMPARE(offeredList, documentedList);
}

void TestCli::badFlags_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("named");
    QTest::newRow("--port 70000") << QStringList{"--port", "70000"} << "port";
    QTest::newRow("--port abc") << QStringList{"--port", "abc"} << "port";
    QTest::newRow("--port -1") << QStringList{"--port", "-1"} << "port";
    QTest::newRow("--port missing value") << QStringList{"--port"} << "port";
    QTest::newRow("--rate-limit -1") << QStringList{"--rate-limit", "-1"} << "rate-limit";
    QTest::newRow("--pow-bits 25") << QStringList{"--pow-bits", "25"} << "pow-bits";
    QTest::newRow("--pow-bits -1") << QStringList{"--pow-bits", "-1"} << "pow-bits";
    QTest::newRow("--pow-bits x") << QStringList{"--pow-bits", "x"} << "pow-bits";
    QTest::newRow("--max-connections 0")
        << QStringList{"--max-connections", "0"} << "max-connections";
    QTest::newRow("--resume-window -5") << QStringList{"--resume-window", "-5"} << "resume-window";
    QTest::newRow("--interest-wait x") << QStringList{"--interest-wait", "x"} << "interest-wait";
    QTest::newRow("--retention-days 1.5")
        << QStringList{"--retention-days", "1.5"} << "retention-days";
    QTest::newRow("--commit-delay-us 5001")
        << QStringList{"--commit-delay-us", "5001"} << "commit-delay-us";
    QTest::newRow("--commit-delay-us -1")
        << QStringList{"--commit-delay-us", "-1"} << "commit-delay-us";
    QTest::newRow("--log-level loud") << QStringList{"--log-level", "loud"} << "log-level";
    QTest::newRow("--host not-an-ip") << QStringList{"--host", "not-an-ip"} << "host";
    QTest::newRow("--db empty") << QStringList{"--db", ""} << "db";
    QTest::newRow("--db postgresql URL without a host")
        << QStringList{"--db", "postgresql://anon:s3cr3t@/chat"} << "no host";
    QTest::newRow("--db postgres URL without a user")
        << QStringList{"--db", "postgres://127.0.0.1:5432/chat"} << "no user name";
    QTest::newRow("--db postgresql URL without a database")
        << QStringList{"--db", "postgresql://anon:s3cr3t@127.0.0.1"} << "no database name";
    QTest::newRow("--db postgresql URL with a bad port")
        << QStringList{"--db", "postgresql://anon:s3cr3t@127.0.0.1:port/chat"} << "not a valid URL";
    QTest::newRow("--frobnicate") << QStringList{"--frobnicate"} << "frobnicate";
    QTest::newRow("positional") << QStringList{"stray"} << "stray";
    QTest::newRow("--redis") << QStringList{"--redis", "redis://127.0.0.1:6379"} << "redis";
    QTest::newRow("--tls-cert missing file")
        << QStringList{"--tls-cert", "no-such-cert.pem", "--tls-key", "no-such-key.pem"}
        << "no-such-cert.pem";
    QTest::newRow("--tls-cert alone") << QStringList{"--tls-cert", "cert.pem"} << "--tls-key";
    const QFileDevice::Permissions owner = QFileDevice::ReadOwner | QFileDevice::WriteOwner;
    const QByteArray token = "a-token-of-enough-length-0123";
    QTest::newRow("--admin-token-file readable by others")
        << QStringList{"--admin-token-file",
                       tokenFile("open.token", token, owner | QFileDevice::ReadOther)}
        << "chmod 600";
    QTest::newRow("--admin-token-file readable by the group")
        << QStringList{"--admin-token-file",
                       tokenFile("group.token", token, owner | QFileDevice::ReadGroup)}
        << "chmod 600";
    QTest::newRow("--admin-token-file too short")
        << QStringList{"--admin-token-file", tokenFile("short.token", "short\n", owner)}
        << "16 or more";
    QTest::newRow("--admin-token-file two words")
        << QStringList{"--admin-token-file", tokenFile("words.token", token + " " + token, owner)}
        << "one word";
    QTest::newRow("--admin-token-file missing")
        << QStringList{"--admin-token-file", "no-such.token"} << "no-such.token";
    QTest::newRow("--auto-ban-reports -1")
        << QStringList{"--auto-ban-reports", "-1"} << "auto-ban-reports";
}

void TestCli::badFlags()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, named);
    ServerProcess server;
    // The flag under test comes last: a later value wins, and a missing value is at the end.
    QVERIFY(server.run(QStringList{"--db", freshDbPath()} + arguments));
    QCOMPARE(server.process().exitStatus(), QProcess::NormalExit);
    const QByteArray err = server.standardError();
    QVERIFY2(server.process().exitCode() == 2, err.constData());
    QVERIFY2(server.standardOutput().isEmpty(), server.standardOutput().constData());
    QCOMPARE(err.trimmed().count('\n'), 0); // one line
    QVERIFY2(err.contains(named.toUtf8()), err.constData());
    QVERIFY2(!err.contains("s3cr3t"), err.constData());
    qInfo("%s", err.trimmed().constData());
}

void TestCli::unusableDatabase_data()
{
    QTest::addColumn<QString>("kind");
    QTest::newRow("a directory") << "directory";
    QTest::newRow("under a missing directory") << "missing";
    QTest::newRow("not a database") << "garbage";
    QTest::newRow("postgresql (password never printed)") << "postgresql";
}

void TestCli::unusableDatabase()
{
    QFETCH(QString, kind);
    QString path;
    QString named;
    if (kind == QLatin1String("directory")) {
        path = m_dir->filePath(QStringLiteral("a-directory"));
        QVERIFY(QDir().mkpath(path));
        named = path;
    } else if (kind == QLatin1String("missing")) {
        path = m_dir->filePath(QStringLiteral("no/such/dir/chat.db"));
        named = path;
    } else if (kind == QLatin1String("garbage")) {
        path = m_dir->filePath(QStringLiteral("garbage.db"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QByteArray(8192, 'x'));
        named = path;
    } else {
        path = QStringLiteral("postgresql://anon:s3cr3t-pw@127.0.0.1:1/chat");
        named = QStringLiteral("127.0.0.1:1/chat");
    }
    ServerProcess server;
    QVERIFY(server.run({"--port", "0", "--db", path}));
    const QByteArray err = server.standardError();
    QCOMPARE(server.process().exitStatus(), QProcess::NormalExit);
    QVERIFY2(server.process().exitCode() == 2, err.constData());
    QVERIFY2(!server.standardOutput().contains("listening"), server.standardOutput().constData());
    QCOMPARE(err.trimmed().count('\n'), 0);
    QVERIFY2(err.contains(named.toUtf8()), err.constData());
    QVERIFY2(!err.contains("s3cr3t"), err.constData());
    qInfo("%s", err.trimmed().constData());
}

void TestCli::portTaken()
{
    QTcpServer taken;
    QVERIFY(taken.listen(QHostAddress(QHostAddress::LocalHost), 0));
    const QString port = QString::number(taken.serverPort());
    ServerProcess server;
    // --log-level warning: only the error, without the info lines of a fresh database.
    QVERIFY(server.run({"--port", port, "--db", freshDbPath(), "--log-level", "warning"}));
    const QByteArray err = server.standardError();
    QCOMPARE(server.process().exitStatus(), QProcess::NormalExit);
    QVERIFY2(server.process().exitCode() == 2, err.constData());
    QVERIFY(!server.standardOutput().contains("listening"));
    QCOMPARE(err.trimmed().count('\n'), 0);
    QVERIFY2(err.contains(port.toUtf8()), err.constData());
    qInfo("%s", err.trimmed().constData());
}

void TestCli::shutdownSignals_data()
{
    QTest::addColumn<int>("signal");
    QTest::newRow("SIGTERM") << int(SIGTERM);
    QTest::newRow("SIGINT") << int(SIGINT);
}

void TestCli::shutdownSignals()
{
    QFETCH(int, signal);
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", freshDbPath()}, &why), qPrintable(why));
    Client client(server.port());
    QVERIFY(client.waitFor<protocol::Welcome>());

    QElapsedTimer timer;
    timer.start();
    server.signal(signal);
    QVERIFY(client.waitDisconnected());
    QCOMPARE(int(client.socket().closeCode()), 1001);
    QVERIFY(server.waitFinished());
    qInfo("shutdown took %lld ms", timer.elapsed());
    QVERIFY2(timer.elapsed() < 5000, QByteArray::number(timer.elapsed())); // promptly
    QCOMPARE(server.process().exitStatus(), QProcess::NormalExit);
    QVERIFY2(server.process().exitCode() == 0, server.standardError().constData());
}

void TestCli::ackedMessageSurvivesSigterm()
{
    const QString path = freshDbPath();
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", path}, &why), qPrintable(why));
    std::optional<Pair> pair = matchedPair(server.port());
    QVERIFY(pair);
    const QString content = QStringLiteral("durable ✓ 你好 ") + QUuid::createUuid().toString();
    const auto ack = sendAcked(*pair->a, content, QStringLiteral("n-1"));
    QVERIFY(ack);
    QCOMPARE(ack->content, content);
    QVERIFY(pair->b->waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == ack->id; }));

    server.signal(SIGTERM);
    QVERIFY(pair->a->waitDisconnected());
    QCOMPARE(int(pair->a->socket().closeCode()), 1001);
    QVERIFY(server.waitFinished());
    QVERIFY2(server.process().exitCode() == 0, server.standardError().constData());

    Database db(path);
    QVERIFY(db.isOpen());
    const auto rows = db.rows(
        QStringLiteral("SELECT content, room_id, sender_id FROM messages WHERE id = ?"), {ack->id});
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows[0][0].toString(), content);
    QCOMPARE(rows[0][1].toLongLong(), pair->roomId);
    QCOMPARE(rows[0][2].toString(), pair->aId);
    const auto room = db.rows(
        QStringLiteral("SELECT is_active, end_reason, ended_at FROM chat_rooms WHERE id = ?"),
        {pair->roomId});
    QCOMPARE(room.size(), 1);
    QCOMPARE(room[0][0].toInt(), 0);
    QCOMPARE(room[0][1].toString(), QStringLiteral("server_shutdown"));
    QVERIFY(!room[0][2].isNull());
}

void TestCli::sigkillThenRestart()
{
    const QString path = freshDbPath();
    QHash<qint64, QString> acked;
    qint64 roomId = 0;
    qint64 lastId = 0;
    crashMidChat(path, &acked, &roomId, &lastId);
    if (QTest::currentTestFailed())
        return;
    restartAndChat(path, roomId, lastId, &acked);
    if (QTest::currentTestFailed())
        return;
    Database db(path);
    QVERIFY(db.isOpen());
    const auto room = db.rows(
        QStringLiteral("SELECT is_active, end_reason FROM chat_rooms WHERE id = ?"), {roomId});
    QCOMPARE(room.size(), 1);
    QCOMPARE(room[0][0].toInt(), 0);
    QCOMPARE(room[0][1].toString(), QStringLiteral("server_restart"));
    for (auto it = acked.cbegin(); it != acked.cend(); ++it) {
        const auto rows =
            db.rows(QStringLiteral("SELECT content FROM messages WHERE id = ?"), {it.key()});
        QVERIFY2(rows.size() == 1, qPrintable(QStringLiteral("message %1 lost").arg(it.key())));
        QCOMPARE(rows[0][0].toString(), it.value());
    }
    // Nothing stored twice.
    const auto duplicates = db.rows(QStringLiteral(
        "SELECT content, COUNT(*) FROM messages GROUP BY room_id, sender_id, content "
        "HAVING COUNT(*) > 1"));
    QVERIFY2(duplicates.isEmpty(), qPrintable(duplicates.value(0).value(0).toString()));
}

// A pair chats (30 acked messages: `acked`, the last id `lastId`, in room `roomId`), 20 more are
// in flight, and the server is SIGKILLed.
void TestCli::crashMidChat(const QString &path, QHash<qint64, QString> *acked, qint64 *roomId,
                           qint64 *lastId)
{
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", path, "--rate-limit", "0"}, &why),
             qPrintable(why));
    std::optional<Pair> pair = matchedPair(server.port());
    QVERIFY(pair);
    *roomId = pair->roomId;
    for (int i = 0; i < 30; ++i) {
        Client &sender = i % 3 == 2 ? *pair->b : *pair->a;
        const QString content = QStringLiteral("before the crash %1").arg(i);
        const auto ack = sendAcked(sender, content, QStringLiteral("k-%1").arg(i));
        QVERIFY(ack);
        acked->insert(ack->id, content);
        *lastId = std::max(*lastId, ack->id);
    }
    // A few more in flight at the moment of the kill: stored or not, never half.
    for (int i = 0; i < 20; ++i)
        pair->a->send(protocol::SendMessage{QStringLiteral("in flight %1").arg(i),
                                            QStringLiteral("f-%1").arg(i)});
    server.signal(SIGKILL);
    QVERIFY(server.waitFinished());
    QCOMPARE(server.process().exitStatus(), QProcess::CrashExit);
}

// The restarted server serves; new rooms and messages get fresh ids (the message joins `acked`).
void TestCli::restartAndChat(const QString &path, qint64 oldRoomId, qint64 lastId,
                             QHash<qint64, QString> *acked)
{
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", path}, &why), qPrintable(why));
    qInfo("restart after SIGKILL: %lld ms to the URL", server.startupMs());
    std::optional<Pair> pair = matchedPair(server.port());
    QVERIFY(pair);
    QVERIFY(pair->roomId != oldRoomId);
    const auto ack =
        sendAcked(*pair->a, QStringLiteral("after the restart"), QStringLiteral("r-1"));
    QVERIFY(ack);
    QVERIFY2(ack->id > lastId, qPrintable(QStringLiteral("%1 <= %2").arg(ack->id).arg(lastId)));
    acked->insert(ack->id, ack->content);
    server.signal(SIGTERM);
    QVERIFY(server.waitFinished());
    QVERIFY2(server.process().exitCode() == 0, server.standardError().constData());
}

void TestCli::retention()
{
    const QString path = freshDbPath();
    qint64 roomId = 0;
    qint64 freshId = 0;
    {
        ServerProcess server;
        QString why;
        QVERIFY2(server.start({"--port", "0", "--db", path}, &why), qPrintable(why));
        std::optional<Pair> pair = matchedPair(server.port());
        QVERIFY(pair);
        roomId = pair->roomId;
        const auto ack = sendAcked(*pair->a, QStringLiteral("fresh"), QStringLiteral("f"));
        QVERIFY(ack);
        freshId = ack->id;
        server.signal(SIGTERM);
        QVERIFY(server.waitFinished());
        QCOMPARE(server.process().exitCode(), 0);
    }
    qint64 oldId = 0;
    {
        Database db(path);
        QVERIFY(db.isOpen());
        const auto fresh = db.rows(
            QStringLiteral("SELECT timestamp, sender_id FROM messages WHERE id = ?"), {freshId});
        QCOMPARE(fresh.size(), 1);
        const QVariant old = shiftedTime(fresh[0][0], 2 * 86400);
        QVERIFY2(old.isValid(), qPrintable(fresh[0][0].toString()));
        qInfo() << "stored timestamp" << fresh[0][0] << "two days earlier" << old;
        oldId = freshId + 1000;
        QVERIFY(db.exec(QStringLiteral("INSERT INTO messages (id, room_id, sender_id, content, "
                                       "timestamp) VALUES (?, ?, ?, ?, ?)"),
                        {oldId, roomId, fresh[0][1], QStringLiteral("two days old"), old}));
        QCOMPARE(db.rows(QStringLiteral("SELECT id FROM messages")).size(), 2);
    }
    {
        ServerProcess server;
        QString why;
        QVERIFY2(server.start({"--port", "0", "--db", path, "--retention-days", "1"}, &why),
                 qPrintable(why));
        server.signal(SIGTERM);
        QVERIFY(server.waitFinished());
        QCOMPARE(server.process().exitCode(), 0);
    }
    Database db(path);
    QVERIFY(db.isOpen());
    QVERIFY2(db.rows(QStringLiteral("SELECT id FROM messages WHERE id = ?"), {oldId}).isEmpty(),
             "a message two days old survived --retention-days 1");
    QCOMPARE(db.rows(QStringLiteral("SELECT id FROM messages WHERE id = ?"), {freshId}).size(), 1);
}

// --db postgresql://...: two clients match and chat through the real binary, and the rows are in
// PostgreSQL, the room ended by the shutdown.
void TestCli::postgresql()
{
    QUrl url;
    createPostgresDatabase(&url);
    if (QTest::currentTestFailed())
        return;
    const QString db = url.toString();

    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", db}, &why), qPrintable(why));
    std::optional<Pair> pair = matchedPair(server.port());
    QVERIFY(pair);
    QVERIFY(pair->roomId > 0);
    const QString content = QStringLiteral("via PostgreSQL ✓ 你好");
    qint64 firstId = 0;
    qint64 replyId = 0;
    chatThroughPostgres(*pair, db, content, &firstId, &replyId);
    if (QTest::currentTestFailed())
        return;
    server.signal(SIGTERM);
    QVERIFY(server.waitFinished());
    QVERIFY2(server.process().exitCode() == 0, server.standardError().constData());
    QVERIFY2(!server.standardError().contains(url.password().toUtf8()),
             "the password reached the log");
    expectStoredInPostgres(db, *pair, content, firstId, replyId);
}

// A fresh database of this case's own (tst_cli) on the fixture's server; `url` names it.
void TestCli::createPostgresDatabase(QUrl *url)
{
    const QString urlFile = qEnvironmentVariable("ANONCHAT_PG_URL_FILE");
    QFile file(urlFile);
    QVERIFY2(!urlFile.isEmpty() && file.open(QIODevice::ReadOnly),
             qPrintable(QStringLiteral("no PostgreSQL URL: ANONCHAT_PG_URL_FILE='%1' (ctest's "
                                       "postgres_start fixture writes it: scripts/pg.sh)")
                            .arg(urlFile)));
    QVERIFY(QSqlDatabase::isDriverAvailable(QStringLiteral("QPSQL")));
    *url = QUrl(QString::fromUtf8(file.readAll()).trimmed());
    {
        Database admin(url->toString()); // a fresh database of our own for this case
        QVERIFY(admin.isOpen());
        QSqlQuery query(admin.db()); // not prepared: PostgreSQL cannot PREPARE these
        QVERIFY2(query.exec(QStringLiteral("DROP DATABASE IF EXISTS tst_cli WITH (FORCE)")),
                 qPrintable(query.lastError().text()));
        QVERIFY2(query.exec(QStringLiteral("CREATE DATABASE tst_cli")),
                 qPrintable(query.lastError().text()));
    }
    url->setPath(QStringLiteral("/tst_cli"));
}

// A message and a reply, both relayed; committed before they were relayed, so visible while the
// server runs.
void TestCli::chatThroughPostgres(const Pair &pair, const QString &db, const QString &content,
                                  qint64 *firstId, qint64 *replyId)
{
    const auto first = sendAcked(*pair.a, content, QStringLiteral("n-1"));
    QVERIFY(first);
    const auto reply = sendAcked(*pair.b, QStringLiteral("reply"), QStringLiteral("n-2"));
    QVERIFY(reply);
    QVERIFY(reply->id > first->id);
    QVERIFY(pair.b->waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == first->id; }));
    QVERIFY(pair.a->waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == reply->id; }));
    *firstId = first->id;
    *replyId = reply->id;
    Database live(db);
    QVERIFY(live.isOpen());
    QCOMPARE(live.rows(QStringLiteral("SELECT COUNT(*) FROM messages")).value(0).value(0).toInt(),
             2);
}

// The rows are in PostgreSQL, the room ended by the shutdown, the schema at its version.
void TestCli::expectStoredInPostgres(const QString &db, const Pair &pair, const QString &content,
                                     qint64 firstId, qint64 replyId)
{
    Database check(db);
    QVERIFY(check.isOpen());
    const auto rows = check.rows(QStringLiteral("SELECT id, room_id, sender_id, content, nonce "
                                                "FROM messages ORDER BY id"));
    QCOMPARE(rows.size(), 2);
    QCOMPARE(rows[0][0].toLongLong(), firstId);
    QCOMPARE(rows[0][1].toLongLong(), pair.roomId);
    QCOMPARE(rows[0][2].toString(), pair.aId);
    QCOMPARE(rows[0][3].toString(), content);
    QCOMPARE(rows[0][4].toString(), QStringLiteral("n-1"));
    QCOMPARE(rows[1][0].toLongLong(), replyId);
    QCOMPARE(rows[1][2].toString(), pair.bId);
    const auto room = check.rows(QStringLiteral("SELECT user1_id, user2_id, is_active, "
                                                "end_reason FROM chat_rooms WHERE id = ?"),
                                 {pair.roomId});
    QCOMPARE(room.size(), 1);
    QVERIFY(QStringList({room[0][0].toString(), room[0][1].toString()}).contains(pair.aId));
    QCOMPARE(room[0][2].toInt(), 0);
    QCOMPARE(room[0][3].toString(), QStringLiteral("server_shutdown"));
    QCOMPARE(
        check.rows(QStringLiteral("SELECT version FROM schema_version")).value(0).value(0).toInt(),
        4);
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
