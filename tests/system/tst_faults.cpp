// Faults, with the real `anonchat-server` executable and real QWebSocket clients ("Prove it
// survives"): SIGKILL at a random moment under steady traffic, five times on one database file;
// SIGTERM with traffic in flight; the database's filesystem filling up while serving (a real
// ENOSPC on a tmpfs the test mounts); connection churn and leaks (the server's RSS); hostile JSON;
// the per-address connection limit; privacy (no addresses stored, no message text logged, no
// reading or acting in another room).
//
// The random moments come from one seed, printed first; ANONCHAT_FAULTS_SEED=N repeats a run.

#include "shared/codec.h"
#include "tests/support/metrics.h"
#include "tests/support/rawhttp.h"
#include "tests/support/rawwebsocket.h"
#include "tests/support/serverprocess.h"
#include "tests/support/sqlquery.h"

#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QHash>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QUuid>
#include <QWebSocket>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <optional>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

namespace protocol = anonchat::protocol;
using namespace anonchat::test;

// A sanitizer build of the server reports to its stderr (and ASan ends it): fail on either.
#define CHECK_NO_SANITIZER_REPORT(server)                                                          \
    do {                                                                                           \
        const QByteArray report = (server).sanitizerReport();                                      \
        QVERIFY2(report.isEmpty(), report.constData());                                            \
    } while (false)

namespace {

/// Runs the event loop (sockets are served as their data arrives) until `done` or the timeout.
bool waitUntil(const std::function<bool()> &done, int timeoutMs = kWaitMs)
{
    if (done())
        return true;
    QEventLoop loop;
    QTimer poll;
    QElapsedTimer timer;
    timer.start();
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (done() || timer.elapsed() >= timeoutMs)
            loop.quit();
    });
    poll.start(5);
    loop.exec();
    return done();
}

void spin(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

/// GET over a fresh connection, with the event loop running meanwhile.
HttpReply httpGet(quint16 port, const QByteArray &path)
{
    RawHttpClient client(port);
    if (!client.waitConnected(kWaitMs))
        return {};
    client.write("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    client.waitClosed(kWaitMs);
    return client.reply();
}

/// `/metrics` as name{labels} -> value.
QHash<QString, double> metrics(quint16 port)
{
    return parseMetrics(httpGet(port, "/metrics").body);
}

/// A look at a database file (the server may be running: SQLite in WAL mode allows it).
class Database : public SqlProbe
{
public:
    explicit Database(const QString &path)
        : SqlProbe(addSqlite(QStringLiteral("tst_faults_"), path))
    {}
};

QString idList(const QSet<qint64> &ids)
{
    QStringList out;
    for (qint64 id : ids)
        out << QString::number(id);
    return out.isEmpty() ? QStringLiteral("-1") : out.join(QLatin1Char(','));
}

/// Joins every client to the queue and waits until all of them are matched in pairs.
bool matchAll(const std::vector<std::unique_ptr<Client>> &clients)
{
    for (const auto &c : clients) {
        if (!c->waitFor<protocol::Welcome>())
            return false;
    }
    for (const auto &c : clients)
        c->send(protocol::JoinQueue{});
    return waitUntil([&] {
        for (const auto &c : clients) {
            if (!c->find<protocol::Matched>())
                return false;
        }
        return true;
    });
}

/// Messages with nonces, sent by a set of clients at a steady rate; what each one sent.
class Streamer
{
public:
    Streamer(const std::vector<std::unique_ptr<Client>> &clients, const QString &tag,
             int intervalMs)
        : m_clients(clients)
        , m_tag(tag)
    {
        // One tick every 5 ms sends for a slice of the clients: each client every intervalMs.
        const int slices = std::max(1, intervalMs / 5);
        QObject::connect(&m_timer, &QTimer::timeout, &m_timer, [this, slices] {
            for (size_t i = size_t(m_tick % slices); i < m_clients.size(); i += size_t(slices))
                sendOne(i);
            ++m_tick;
        });
        m_sent.resize(clients.size());
    }
    void start() { m_timer.start(5); }
    void stop() { m_timer.stop(); }
    /// (sender id, nonce) -> content, for every message sent.
    const QHash<QString, QString> &sent() const { return m_byKey; }
    int sentCount() const { return int(m_byKey.size()); }
    static QString key(const QString &sender, const QString &nonce)
    {
        return sender + QLatin1Char('/') + nonce;
    }

private:
    void sendOne(size_t i)
    {
        Client &c = *m_clients[i];
        if (c.isDisconnected())
            return;
        const int n = ++m_sent[i];
        const QString nonce = QStringLiteral("%1-%2-%3").arg(m_tag).arg(i).arg(n);
        const QString content =
            QStringLiteral("%1 client %2 message %3 ✓ 你好").arg(m_tag).arg(i).arg(n);
        m_byKey.insert(key(c.userId(), nonce), content);
        c.send(protocol::SendMessage{content, nonce});
    }

    const std::vector<std::unique_ptr<Client>> &m_clients;
    QString m_tag;
    QTimer m_timer;
    qint64 m_tick = 0;
    std::vector<int> m_sent;
    QHash<QString, QString> m_byKey;
};

/// What was received and stored, compared. Fills `failure` and returns false on a mismatch.
struct Verified {
    int acked = 0;            ///< sender's copies (with the nonce)
    int copiesVerified = 0;   ///< every new_message received, either side
    int stored = 0;           ///< rows of these rooms
    int storedNotAcked = 0;   ///< in flight when the server went
    int storedNotRelayed = 0; ///< stored, and the partner never got it
};

bool verifyAgainstDatabase(const QString &path, const std::vector<std::unique_ptr<Client>> &clients,
                           const QHash<QString, QString> &sent, Verified *v, QString *failure)
{
    Database db(path);
    if (!db.isOpen()) {
        *failure = QStringLiteral("cannot open %1").arg(path);
        return false;
    }
    QSet<qint64> rooms;
    for (const auto &c : clients) {
        if (const auto m = c->find<protocol::Matched>())
            rooms.insert(m->roomId);
    }
    struct Row {
        qint64 roomId;
        QString sender;
        QString content;
        QString nonce;
    };
    QHash<qint64, Row> stored;
    for (const QVariantList &r :
         db.rows(QStringLiteral("SELECT id, room_id, sender_id, content, nonce FROM messages "
                                "WHERE room_id IN (%1)")
                     .arg(idList(rooms)))) {
        stored.insert(r[0].toLongLong(),
                      {r[1].toLongLong(), r[2].toString(), r[3].toString(), r[4].toString()});
    }
    v->stored += int(stored.size());
    QSet<qint64> acked;
    QSet<qint64> relayed;
    for (const auto &c : clients) {
        const QString me = c->userId();
        for (const protocol::NewMessage &m : c->all<protocol::NewMessage>()) {
            const auto row = stored.constFind(m.id);
            if (row == stored.cend()) {
                *failure = QStringLiteral("message %1 ('%2') was received but is not stored")
                               .arg(m.id)
                               .arg(m.content);
                return false;
            }
            if (row->roomId != m.roomId || row->sender != m.senderId || row->content != m.content) {
                *failure = QStringLiteral("message %1 differs from its row").arg(m.id);
                return false;
            }
            if (!m.nonce.isEmpty()) {
                if (m.senderId != me || row->nonce != m.nonce) {
                    *failure = QStringLiteral("ack %1 has nonce %2, row %3")
                                   .arg(m.id)
                                   .arg(m.nonce, row->nonce);
                    return false;
                }
                if (acked.contains(m.id)) {
                    *failure = QStringLiteral("message %1 acked twice").arg(m.id);
                    return false;
                }
                acked.insert(m.id);
            } else {
                if (m.senderId == me) {
                    *failure = QStringLiteral("own message %1 without its nonce").arg(m.id);
                    return false;
                }
                relayed.insert(m.id);
            }
            ++v->copiesVerified;
        }
    }
    // Every stored row is a message that was sent, with the content sent under its nonce.
    for (auto it = stored.cbegin(); it != stored.cend(); ++it) {
        const QString expected = sent.value(Streamer::key(it->sender, it->nonce));
        if (it->nonce.isEmpty() || expected != it->content) {
            *failure = QStringLiteral("row %1 ('%2', nonce '%3') was never sent like that")
                           .arg(it.key())
                           .arg(it->content, it->nonce);
            return false;
        }
        if (!acked.contains(it.key()))
            ++v->storedNotAcked;
        if (!relayed.contains(it.key()))
            ++v->storedNotRelayed;
    }
    v->acked += int(acked.size());
    // Exactly once, over the whole file: by (room, sender, nonce), and by content (all unique).
    const auto twice = db.rows(QStringLiteral(
        "SELECT room_id, sender_id, nonce, COUNT(*) FROM messages WHERE nonce IS NOT NULL "
        "GROUP BY room_id, sender_id, nonce HAVING COUNT(*) > 1"));
    if (!twice.isEmpty()) {
        *failure = QStringLiteral("stored twice: room %1 sender %2 nonce %3")
                       .arg(twice[0][0].toLongLong())
                       .arg(twice[0][1].toString(), twice[0][2].toString());
        return false;
    }
    const auto sameContent = db.rows(QStringLiteral(
        "SELECT content, COUNT(*) FROM messages GROUP BY content HAVING COUNT(*) > 1"));
    if (!sameContent.isEmpty()) {
        *failure = QStringLiteral("stored twice: '%1'").arg(sameContent[0][0].toString());
        return false;
    }
    return true;
}

} // namespace

class TestFaults : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();

    void sigkillUnderTraffic();
    void sigtermWithTrafficInFlight();
    void diskFull();
    void churnLeavesNothingBehind();
    void hostileJson();
    void perAddressLimit();
    void descriptorLimit();
    void privacy();

private:
    QString freshDbPath()
    {
        return m_dir->filePath(QStringLiteral("chat-%1.db").arg(++m_databases));
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    int m_databases = 0;
    quint32 m_seed = 0;
    QRandomGenerator m_random;
};

void TestFaults::initTestCase()
{
    QVERIFY2(QFile::exists(QStringLiteral(ANONCHAT_SERVER_BINARY)), ANONCHAT_SERVER_BINARY);
    QVERIFY(QSqlDatabase::isDriverAvailable(QStringLiteral("QSQLITE")));
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    bool ok = false;
    m_seed = qEnvironmentVariable("ANONCHAT_FAULTS_SEED").toUInt(&ok);
    if (!ok)
        m_seed = QRandomGenerator::system()->generate();
    m_random.seed(m_seed);
    qInfo("seed %u (repeat with ANONCHAT_FAULTS_SEED=%u)", m_seed, m_seed);
}

// 20 rooms stream messages; the server is SIGKILLed at a random moment, five times on one file.
// After each kill every new_message any client got (ack or relay) is stored exactly once, every
// stored row is a message that was sent, and the restarted server closes the old rooms with
// `server_restart` and serves again.
void TestFaults::sigkillUnderTraffic()
{
    constexpr int kRounds = 5;
    constexpr int kClients = 40;
    constexpr int kIntervalMs = 50; // per client: 20 messages/s, 800/s in all
    const QString path = freshDbPath();
    Verified total;
    int sentTotal = 0;
    int kills = 0;
    QSet<qint64> previousRooms;
    for (int round = 0; round <= kRounds; ++round) {
        ServerProcess server;
        QString why;
        QVERIFY2(
            server.start(
                {"--port", "0", "--db", path, "--rate-limit", "0", "--log-level", "warning"}, &why),
            qPrintable(why));
        if (!previousRooms.isEmpty()) {
            // Closed by the restart, before the URL was printed.
            Database db(path);
            QVERIFY(db.isOpen());
            const auto rooms = db.rows(
                QStringLiteral("SELECT id, is_active, end_reason FROM chat_rooms WHERE id IN (%1)")
                    .arg(idList(previousRooms)));
            QCOMPARE(rooms.size(), previousRooms.size());
            for (const QVariantList &r : rooms) {
                QCOMPARE(r[1].toInt(), 0);
                QCOMPARE(r[2].toString(), QStringLiteral("server_restart"));
            }
            QCOMPARE(db.value(QStringLiteral("SELECT COUNT(*) FROM chat_rooms WHERE is_active = 1"))
                         .toInt(),
                     0);
        }
        if (round == kRounds) {
            // The last restart: it serves.
            std::vector<std::unique_ptr<Client>> pair;
            pair.push_back(std::make_unique<Client>(server.port()));
            pair.push_back(std::make_unique<Client>(server.port()));
            QVERIFY(matchAll(pair));
            pair[0]->send(
                protocol::SendMessage{QStringLiteral("after five kills"), QStringLiteral("last")});
            QVERIFY(pair[1]->waitFor<protocol::NewMessage>());
            QVERIFY(pair[0]->waitFor<protocol::NewMessage>(
                [](const protocol::NewMessage &m) { return m.nonce == QLatin1String("last"); }));
            server.signal(SIGTERM);
            QVERIFY(server.waitFinished());
            CHECK_NO_SANITIZER_REPORT(server);
            QVERIFY2(server.process().exitCode() == 0, server.standardError().constData());
            break;
        }

        std::vector<std::unique_ptr<Client>> clients;
        for (int i = 0; i < kClients; ++i)
            clients.push_back(std::make_unique<Client>(server.port()));
        QVERIFY(matchAll(clients));
        previousRooms.clear();
        for (const auto &c : clients)
            previousRooms.insert(c->find<protocol::Matched>()->roomId);
        QCOMPARE(previousRooms.size(), kClients / 2);

        const QString tag = QStringLiteral("s%1r%2").arg(m_seed).arg(round);
        Streamer streamer(clients, tag, kIntervalMs);
        streamer.start();
        const int killAfterMs = 300 + int(m_random.bounded(1200));
        spin(killAfterMs);
        server.signal(SIGKILL);
        streamer.stop();
        ++kills;
        QVERIFY(server.waitFinished());
        CHECK_NO_SANITIZER_REPORT(server);
        QCOMPARE(server.process().exitStatus(), QProcess::CrashExit);
        // Read everything the clients were sent before the connections went.
        QVERIFY(waitUntil([&] {
            for (const auto &c : clients) {
                if (!c->isDisconnected())
                    return false;
            }
            return true;
        }));

        Verified v;
        QString failure;
        QVERIFY2(verifyAgainstDatabase(path, clients, streamer.sent(), &v, &failure),
                 qPrintable(QStringLiteral("round %1: %2").arg(round).arg(failure)));
        QVERIFY2(v.acked > 0, "no message was acknowledged before the kill");
        qInfo("round %d: SIGKILL after %d ms; %d sent, %d acked, %d copies received and found, "
              "%d stored (%d stored but never acked, %d never relayed)",
              round + 1, killAfterMs, streamer.sentCount(), v.acked, v.copiesVerified, v.stored,
              v.storedNotAcked, v.storedNotRelayed);
        sentTotal += streamer.sentCount();
        total.acked += v.acked;
        total.copiesVerified += v.copiesVerified;
        total.stored += v.stored;
        total.storedNotAcked += v.storedNotAcked;
    }
    qInfo("durability: %d rounds, %d SIGKILLs at random moments, %d messages sent, %d acked, "
          "%d received copies verified in the database exactly once, %d rows stored "
          "(%d stored but unacked at the kill, none twice)",
          kRounds, kills, sentTotal, total.acked, total.copiesVerified, total.stored,
          total.storedNotAcked);
}

// SIGTERM while 10 rooms stream: exit 0, every client closed with 1001, every acked message
// stored, and every stored message acked and relayed (pending commits are finished and their
// acks sent before the clients are told to go).
void TestFaults::sigtermWithTrafficInFlight()
{
    const QString path = freshDbPath();
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", path, "--rate-limit", "0"}, &why),
             qPrintable(why));
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 20; ++i)
        clients.push_back(std::make_unique<Client>(server.port()));
    QVERIFY(matchAll(clients));
    Streamer streamer(clients, QStringLiteral("term%1").arg(m_seed), 20);
    streamer.start();
    const int after = 200 + int(m_random.bounded(600));
    spin(after);
    server.signal(SIGTERM);
    // Keep sending while it stops: frames that arrive now are not taken in.
    QVERIFY(waitUntil([&] {
        for (const auto &c : clients) {
            if (!c->isDisconnected())
                return false;
        }
        return true;
    }));
    streamer.stop();
    QVERIFY(server.waitFinished());
    CHECK_NO_SANITIZER_REPORT(server);
    QCOMPARE(server.process().exitStatus(), QProcess::NormalExit);
    QVERIFY2(server.process().exitCode() == 0, server.standardError().constData());
    for (const auto &c : clients)
        QCOMPARE(int(c->socket().closeCode()), 1001);

    Verified v;
    QString failure;
    QVERIFY2(verifyAgainstDatabase(path, clients, streamer.sent(), &v, &failure),
             qPrintable(failure));
    QVERIFY(v.acked > 0);
    QCOMPARE(v.storedNotAcked, 0);
    QCOMPARE(v.storedNotRelayed, 0);
    Database db(path);
    QCOMPARE(
        db.value(QStringLiteral("SELECT COUNT(*) FROM chat_rooms WHERE is_active = 1")).toInt(), 0);
    QCOMPARE(db.value(QStringLiteral("SELECT COUNT(*) FROM chat_rooms WHERE end_reason = "
                                     "'server_shutdown'"))
                 .toInt(),
             10);
    qInfo("SIGTERM after %d ms of traffic: %d sent, %d acked and stored, %d copies verified; "
          "exit 0, 20 clients closed with 1001",
          after, streamer.sentCount(), v.acked, v.copiesVerified);
}

// The real binary with its database on a 1 MiB tmpfs; the test fills the filesystem until
// write() fails with ENOSPC. A message then gets `error internal`, is neither acked nor relayed,
// /healthz says 503 and the server goes on serving; with the space back, /healthz is 200 again
// and the same message (same nonce) goes through, once.
void TestFaults::diskFull()
{
    const QString mountPoint = m_dir->filePath(QStringLiteral("small-fs"));
    QVERIFY(QDir().mkpath(mountPoint));
    const QByteArray mp = QFile::encodeName(mountPoint);
    if (::mount("tmpfs", mp.constData(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0) {
        const QByteArray why = std::strerror(errno);
        QSKIP(qPrintable(QStringLiteral("cannot mount a tmpfs to fill (%1): this test needs root "
                                        "or CAP_SYS_ADMIN")
                             .arg(QString::fromLocal8Bit(why))));
    }
    const QString path = mountPoint + QStringLiteral("/chat.db");
    const QString fillerPath = mountPoint + QStringLiteral("/filler");
    auto server = std::make_unique<ServerProcess>();
    struct Unmount {
        QByteArray mountPoint;
        std::unique_ptr<ServerProcess> *server;
        ~Unmount()
        {
            server->reset(); // no open file may keep the mount busy
            if (::umount(mountPoint.constData()) != 0)
                ::umount2(mountPoint.constData(), MNT_DETACH);
        }
    } unmount{mp, &server};

    QString why;
    QVERIFY2(server->start({"--port", "0", "--db", path}, &why), qPrintable(why));
    const quint16 port = server->port();
    std::vector<std::unique_ptr<Client>> pair;
    pair.push_back(std::make_unique<Client>(port));
    pair.push_back(std::make_unique<Client>(port));
    QVERIFY(matchAll(pair));
    Client &a = *pair[0];
    Client &b = *pair[1];
    const auto ackOf = [&a](const QString &nonce) {
        return a.waitFor<protocol::NewMessage>(
            [&nonce](const protocol::NewMessage &m) { return m.nonce == nonce; });
    };
    a.send(protocol::SendMessage{QStringLiteral("before the disk fills"), QStringLiteral("d1")});
    QVERIFY(ackOf(QStringLiteral("d1")));
    QVERIFY(b.waitFor<protocol::NewMessage>());
    QCOMPARE(httpGet(port, "/healthz").status, 200);

    // Fill it up: a real ENOSPC for every write that needs a new page.
    qint64 filled = 0;
    {
        const int fd = ::open(QFile::encodeName(fillerPath).constData(), O_WRONLY | O_CREAT, 0600);
        QVERIFY(fd >= 0);
        const QByteArray chunk(64 * 1024, 'x');
        int lastErrno = 0;
        for (;;) {
            const ssize_t n = ::write(fd, chunk.constData(), size_t(chunk.size()));
            if (n <= 0) {
                lastErrno = errno;
                break;
            }
            filled += n;
        }
        ::close(fd);
        QCOMPARE(lastErrno, ENOSPC);
    }

    const int bFramesBefore = int(b.frames().size());
    const QString lost = QStringLiteral("written to a full disk");
    a.send(protocol::SendMessage{lost, QStringLiteral("d2")});
    const auto error = a.waitForError(protocol::ErrorCode::Internal);
    QVERIFY2(error, "no `error internal` for a message the disk could not take");
    QCOMPARE(error->event, QStringLiteral("send_message"));
    spin(300);
    QVERIFY(!a.find<protocol::NewMessage>(
        [](const protocol::NewMessage &m) { return m.nonce == QLatin1String("d2"); }));
    QCOMPARE(int(b.frames().size()), bFramesBefore); // the partner got nothing
    // Still serving.
    a.send(protocol::GetStats{});
    const auto stats = a.waitFor<protocol::Stats>();
    QVERIFY(stats);
    QCOMPARE(stats->activeRooms, 1);
    QCOMPARE(httpGet(port, "/healthz").status, 503);
    QVERIFY(server->running());
    Client c(port); // new connections are served
    QVERIFY(c.waitFor<protocol::Welcome>());

    QVERIFY(QFile::remove(fillerPath));
    QElapsedTimer recovery;
    recovery.start();
    QVERIFY2(waitUntil([&] { return httpGet(port, "/healthz").status == 200; }),
             "/healthz did not come back after the space was freed");
    const qint64 recoveredMs = recovery.elapsed();
    a.send(protocol::SendMessage{lost, QStringLiteral("d2")}); // the client's resend
    QVERIFY(ackOf(QStringLiteral("d2")));
    QVERIFY(b.waitFor<protocol::NewMessage>(
        [&lost](const protocol::NewMessage &m) { return m.content == lost; }));
    a.send(protocol::SendMessage{QStringLiteral("and more"), QStringLiteral("d3")});
    QVERIFY(ackOf(QStringLiteral("d3")));
    QCOMPARE(metrics(port).value(QStringLiteral("anonchat_errors_total{code=\"internal\"}")), 1.0);

    server->signal(SIGTERM);
    QVERIFY(server->waitFinished());
    CHECK_NO_SANITIZER_REPORT(*server);
    QVERIFY2(server->process().exitCode() == 0, server->standardError().constData());
    Database db(path);
    QVERIFY(db.isOpen());
    QCOMPARE(
        db.value(QStringLiteral("SELECT COUNT(*) FROM messages WHERE content = ?"), {lost}).toInt(),
        1);
    QCOMPARE(db.value(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), 3);
    qInfo("disk full (tmpfs 1 MiB, %lld KiB of filler until ENOSPC): error internal, /healthz 503, "
          "still serving; %lld ms from freeing the space to /healthz 200",
          filled / 1024, recoveredMs);
}

namespace {

/// One connect-and-go cycle of the churn test.
class ChurnClient
{
public:
    enum class Kind {
        PartialRequest,  ///< half an HTTP request, then EOF
        UnreadHandshake, ///< a full upgrade request, then a reset before the answer
        AfterWelcome,    ///< welcome, then close or abort
        AfterJoin,       ///< join_queue, waiting or matched, then abort
        AfterMessage,    ///< matched, a message acked, then abort
        MessageInFlight, ///< matched, a message sent, abort at once
    };

    ChurnClient(Kind kind, quint16 port, int serial)
        : m_kind(kind)
        , m_serial(serial)
    {
        if (kind == Kind::PartialRequest || kind == Kind::UnreadHandshake) {
            m_tcp = std::make_unique<QTcpSocket>();
            QObject::connect(m_tcp.get(), &QTcpSocket::connected, m_tcp.get(), [this, port] {
                const QByteArray head =
                    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port) +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
                if (m_kind == Kind::PartialRequest) {
                    m_tcp->write(head.left(head.size() / 2 + m_serial % 17));
                    m_tcp->flush();
                    m_tcp->disconnectFromHost();
                } else {
                    m_tcp->write(head + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                        "Sec-WebSocket-Version: 13\r\n\r\n");
                    m_tcp->flush();
                    m_tcp->abort();
                    m_done = true;
                }
            });
            QObject::connect(m_tcp.get(), &QTcpSocket::disconnected, m_tcp.get(),
                             [this] { m_done = true; });
            QObject::connect(m_tcp.get(), &QTcpSocket::errorOccurred, m_tcp.get(),
                             [this](QAbstractSocket::SocketError e) {
                                 if (e != QAbstractSocket::RemoteHostClosedError && !m_done)
                                     m_failed = true;
                                 m_done = true;
                             });
            m_tcp->connectToHost(QHostAddress(QHostAddress::LocalHost), port);
            return;
        }
        m_ws = std::make_unique<QWebSocket>();
        QObject::connect(m_ws.get(), &QWebSocket::textMessageReceived, m_ws.get(),
                         [this](const QString &text) { onText(text); });
        QObject::connect(m_ws.get(),
                         QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error),
                         m_ws.get(), [this] {
                             if (!m_leaving)
                                 m_failed = true;
                         });
        QObject::connect(m_ws.get(), &QWebSocket::disconnected, m_ws.get(), [this] {
            if (!m_leaving)
                m_failed = true; // the server must not drop us
            m_done = true;
        });
        m_ws->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws").arg(port)));
    }

    bool done() const { return m_done; }
    bool failed() const { return m_failed; }
    bool busy() const { return m_busy; }
    /// Still waiting for a partner when everyone else is gone: leave as a queued user.
    void giveUp()
    {
        if (m_done)
            return;
        m_gaveUp = true;
        leave(true);
    }
    bool gaveUp() const { return m_gaveUp; }

private:
    void onText(const QString &text)
    {
        protocol::ServerDecodeResult r = protocol::decodeServerFrame(text);
        auto *message = std::get_if<protocol::ServerMessage>(&r);
        if (!message)
            return;
        if (const auto *e = std::get_if<protocol::Error>(message)) {
            if (e->code == protocol::ErrorCode::ServerBusy)
                m_busy = true;
            return;
        }
        if (std::holds_alternative<protocol::Welcome>(*message)) {
            if (m_kind == Kind::AfterWelcome)
                leave(m_serial % 2 == 0);
            else
                m_ws->sendTextMessage(protocol::encodeText(protocol::JoinQueue{}));
        } else if (std::holds_alternative<protocol::Waiting>(*message)) {
            if (m_kind == Kind::AfterJoin)
                leave(true);
        } else if (std::holds_alternative<protocol::Matched>(*message)) {
            if (m_kind == Kind::AfterJoin) {
                leave(true);
            } else {
                m_ws->sendTextMessage(protocol::encodeText(
                    protocol::SendMessage{QStringLiteral("churn %1").arg(m_serial),
                                          QStringLiteral("n%1").arg(m_serial)}));
                if (m_kind == Kind::MessageInFlight) {
                    m_ws->flush();
                    leave(true);
                }
            }
        } else if (const auto *m = std::get_if<protocol::NewMessage>(message)) {
            if (m_kind == Kind::AfterMessage && !m->nonce.isEmpty())
                leave(true);
        }
    }
    void leave(bool abort)
    {
        if (m_leaving)
            return;
        m_leaving = true;
        if (abort) {
            m_ws->abort();
            m_done = true;
        } else {
            m_ws->close(); // done when the close handshake ends
        }
    }

    Kind m_kind;
    int m_serial;
    std::unique_ptr<QTcpSocket> m_tcp;
    std::unique_ptr<QWebSocket> m_ws;
    bool m_done = false;
    bool m_failed = false;
    bool m_leaving = false;
    bool m_busy = false;
    bool m_gaveUp = false;
};

struct ChurnTotals {
    int cycles = 0;
    int failed = 0;
    int busy = 0;
    int gaveUp = 0;
};

/// Runs `clients` to the end; false if some never finished.
bool runChurn(std::vector<std::unique_ptr<ChurnClient>> &clients, ChurnTotals &totals)
{
    const auto allDone = [&] {
        for (const auto &c : clients) {
            if (!c->done())
                return false;
        }
        return true;
    };
    bool finished = waitUntil(allDone, 20000);
    if (!finished) {
        // A lone client left in the queue (its partner-to-be was an earlier client's
        // disconnection in flight): it leaves as a queued user.
        for (const auto &c : clients)
            c->giveUp();
        finished = waitUntil(allDone, 5000);
    }
    for (const auto &c : clients) {
        ++totals.cycles;
        totals.failed += c->failed() ? 1 : 0;
        totals.busy += c->busy() ? 1 : 0;
        totals.gaveUp += c->gaveUp() ? 1 : 0;
    }
    clients.clear();
    return finished;
}

/// One batch of 100 cycles: 20 raw half-handshakes, 25 after welcome, 25 after join_queue, then
/// 30 users who are matched and send a message (15 wait for its ack, 15 drop at once).
bool churnBatch(quint16 port, int &serial, ChurnTotals &totals)
{
    using Kind = ChurnClient::Kind;
    std::vector<std::unique_ptr<ChurnClient>> clients;
    for (int i = 0; i < 70; ++i) {
        const Kind kind = i < 10   ? Kind::PartialRequest
                          : i < 20 ? Kind::UnreadHandshake
                          : i < 45 ? Kind::AfterWelcome
                                   : Kind::AfterJoin;
        clients.push_back(std::make_unique<ChurnClient>(kind, port, serial++));
    }
    if (!runChurn(clients, totals))
        return false;
    // The queue empty first, so that the next 30 are matched among themselves.
    if (!waitUntil([port] {
            return metrics(port).value(QStringLiteral("anonchat_queued_users"), -1) == 0;
        }))
        return false;
    for (int i = 0; i < 30; ++i) {
        clients.push_back(std::make_unique<ChurnClient>(
            i % 2 ? Kind::AfterMessage : Kind::MessageInFlight, port, serial++));
    }
    return runChurn(clients, totals);
}

/// Waits until the server holds nothing: no connection, queue, room or away user.
bool settled(quint16 port, QHash<QString, double> *last)
{
    return waitUntil(
        [&] {
            *last = metrics(port);
            return last->value(QStringLiteral("anonchat_connections"), -1) == 0 &&
                   last->value(QStringLiteral("anonchat_queued_users"), -1) == 0 &&
                   last->value(QStringLiteral("anonchat_active_rooms"), -1) == 0 &&
                   last->value(QStringLiteral("anonchat_away_users"), 0) == 0;
        },
        15000);
}

} // namespace

// 2,000 connect-and-go cycles in batches (half handshakes, after welcome, after join_queue,
// after matching and a message); then the gauges are back at 0 (after the 1 s resume window)
// and the server's RSS is back near its level after a warm-up round.
void TestFaults::churnLeavesNothingBehind()
{
    constexpr int kWarmupBatches = 2;
    constexpr int kBatches = 20; // 100 cycles each
    ServerProcess server;
    // The bound is for real leaks: the server's own heap does not grow with churn (measured with
    // heaptrack: what stays is SQLite's page cache, at most 2 MiB by default, as the file grows).
    qint64 boundKiB = 8 * 1024;
#ifdef ANONCHAT_TEST_ASAN
    // Under AddressSanitizer freed memory sits in its quarantine (256 MiB by default) and would
    // read as growth: a small quarantine keeps RSS meaningful, and redzones and the allocator's
    // caches add their share; LeakSanitizer checks at the server's exit (exit code 0 below).
    boundKiB += 8 * 1024 + 4 * 1024;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    QString asan = env.value(QStringLiteral("ASAN_OPTIONS"));
    if (!asan.isEmpty())
        asan += QLatin1Char(':');
    env.insert(QStringLiteral("ASAN_OPTIONS"), asan + QStringLiteral("quarantine_size_mb=8"));
    server.setEnvironment(env);
#endif
    QString why;
    // Per-address limit off: a batch holds up to 70 connections from 127.0.0.1 at once.
    QVERIFY2(server.start({"--port", "0", "--db", freshDbPath(), "--resume-window", "1",
                           "--max-connections-per-address", "0", "--log-level", "warning"},
                          &why),
             qPrintable(why));
    const quint16 port = server.port();
    int serial = 0;
    ChurnTotals warmup;
    for (int i = 0; i < kWarmupBatches; ++i)
        QVERIFY(churnBatch(port, serial, warmup));
    QHash<QString, double> gauges;
    QVERIFY2(settled(port, &gauges),
             qPrintable(QStringLiteral("the warm-up left something behind: connections %1, "
                                       "queued %2, rooms %3, away %4")
                            .arg(gauges.value(QStringLiteral("anonchat_connections")))
                            .arg(gauges.value(QStringLiteral("anonchat_queued_users")))
                            .arg(gauges.value(QStringLiteral("anonchat_active_rooms")))
                            .arg(gauges.value(QStringLiteral("anonchat_away_users")))));
    const qint64 rssBefore = server.rssKiB();
    QVERIFY(rssBefore > 0);

    QElapsedTimer timer;
    timer.start();
    ChurnTotals totals;
    for (int i = 0; i < kBatches; ++i)
        QVERIFY2(churnBatch(port, serial, totals), qPrintable(QStringLiteral("batch %1").arg(i)));
    const qint64 churnMs = timer.elapsed();
    QVERIFY2(settled(port, &gauges),
             qPrintable(QStringLiteral("connections %1 queued %2 rooms %3 away %4")
                            .arg(gauges.value(QStringLiteral("anonchat_connections")))
                            .arg(gauges.value(QStringLiteral("anonchat_queued_users")))
                            .arg(gauges.value(QStringLiteral("anonchat_active_rooms")))
                            .arg(gauges.value(QStringLiteral("anonchat_away_users")))));
    const qint64 rssAfter = server.rssKiB();
    QCOMPARE(totals.cycles, kBatches * 100);
    QCOMPARE(totals.failed, 0);
    QCOMPARE(totals.busy, 0);
    qInfo("churn: %d connect/disconnect cycles in %lld ms (%d left from the queue at the end); "
          "afterwards connections 0, queued 0, active rooms 0; server RSS %lld KiB after the "
          "warm-up, %lld KiB after the churn (%+lld KiB, bound %lld KiB)",
          totals.cycles, churnMs, totals.gaveUp, rssBefore, rssAfter, rssAfter - rssBefore,
          boundKiB);
    QVERIFY2(rssAfter - rssBefore < boundKiB,
             qPrintable(QStringLiteral("RSS grew from %1 to %2 KiB").arg(rssBefore).arg(rssAfter)));

    // Still serving, and it stops cleanly (LeakSanitizer checks at exit in sanitizer builds).
    std::vector<std::unique_ptr<Client>> pair;
    pair.push_back(std::make_unique<Client>(port));
    pair.push_back(std::make_unique<Client>(port));
    QVERIFY(matchAll(pair));
    server.signal(SIGTERM);
    QVERIFY(server.waitFinished(20000));
    CHECK_NO_SANITIZER_REPORT(server);
    QVERIFY2(server.process().exitCode() == 0, server.standardError().constData());
}

// JSON built to hurt a parser, within the 16 KiB frame limit: an error frame, the connection
// stays open, the server goes on.
void TestFaults::hostileJson()
{
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", freshDbPath()}, &why), qPrintable(why));
    Client a(server.port());
    QVERIFY(a.waitFor<protocol::Welcome>());

    const auto keys = [](int count, const QByteArray &value) {
        // Short unique keys: a minimal member ("k":0,) is 5+ bytes, so 16 KiB holds at most
        // ~3,200 of them (5,000 keys cannot fit in one frame; that frame gets 1009 below).
        static const QByteArray alphabet =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        QByteArray out;
        for (int i = 0; i < count; ++i) {
            if (i)
                out += ',';
            out += '"';
            out += alphabet[i % alphabet.size()];
            if (i >= alphabet.size())
                out += alphabet[i / alphabet.size() % alphabet.size()];
            out += "\":" + value;
        }
        return out;
    };
    struct Case {
        const char *name;
        QByteArray frame;
        std::optional<protocol::ErrorCode> error; ///< none: the event is answered
    };
    const QByteArray deepOpen(10000, '[');
    const QByteArray deep8k = QByteArray(8000, '[') + QByteArray(8000, ']');
    QByteArray deepObjects;
    for (int i = 0; i < 3000; ++i)
        deepObjects += "{\"a\":";
    QByteArray sameKey = "\"\":0";
    for (int i = 1; i < 3200; ++i)
        sameKey += ",\"\":0";
    const std::vector<Case> cases = {
        {"10,000 levels of [ (unterminated)", deepOpen, protocol::ErrorCode::BadJson},
        {"10,000 levels of [ in data", R"({"event":"get_stats","data":{"x":)" + deepOpen + "}}",
         protocol::ErrorCode::BadJson},
        {"8,000 levels of [[...]] (well formed)",
         R"({"event":"get_stats","data":{"x":)" + deep8k + "}}", protocol::ErrorCode::BadJson},
        {"3,000 levels of {\"a\":", deepObjects, protocol::ErrorCode::BadJson},
        {"2,300 keys in send_message data",
         R"({"event":"send_message","data":{)" + keys(2300, "0") + "}}",
         protocol::ErrorCode::InvalidData},
        {"2,300 keys at the top, no event", "{" + keys(2300, "0") + "}",
         protocol::ErrorCode::UnknownEvent},
        {"1,700 unknown keys in get_stats data (ignored)",
         R"({"event":"get_stats","data":{)" + keys(1700, "[]") + "}}", std::nullopt},
        {"3,200 identical keys in get_stats data (ignored)",
         R"({"event":"get_stats","data":{)" + sameKey + "}}", std::nullopt},
    };
    for (const Case &c : cases) {
        QVERIFY2(c.frame.size() <= 16 * 1024, c.name);
        const int before = int(a.frames().size());
        QElapsedTimer timer;
        timer.start();
        a.sendRaw(QString::fromUtf8(c.frame));
        QVERIFY2(waitUntil([&] { return a.frames().size() > before; }), c.name);
        const protocol::ServerMessage &answer = a.frames().at(before);
        if (c.error) {
            const auto *e = std::get_if<protocol::Error>(&answer);
            QVERIFY2(e && e->code == *c.error,
                     qPrintable(QStringLiteral("%1: %2").arg(QLatin1String(c.name),
                                                             e ? protocol::errorCodeName(e->code)
                                                               : QStringLiteral("not an error"))));
        } else {
            QVERIFY2(std::holds_alternative<protocol::Stats>(answer), c.name);
        }
        qInfo("%s (%lld bytes): answered in %lld ms", c.name, qint64(c.frame.size()),
              timer.elapsed());
        QVERIFY2(!a.isDisconnected(), c.name);
    }
    // 5,000 keys do not fit in 16 KiB: that frame closes the connection with 1009, nothing more.
    {
        Client big(server.port());
        QVERIFY(big.waitFor<protocol::Welcome>());
        big.sendRaw(QString::fromUtf8(R"({"event":"get_stats","data":{)" + keys(5000, "0") + "}}"));
        QVERIFY(big.waitDisconnected());
        QCOMPARE(int(big.socket().closeCode()), 1009);
    }
    a.send(protocol::GetStats{});
    QVERIFY(a.waitFor<protocol::Stats>());
    QCOMPARE(httpGet(server.port(), "/healthz").status, 200);
    QVERIFY(server.running());
    server.signal(SIGTERM);
    QVERIFY(server.waitFinished());
    CHECK_NO_SANITIZER_REPORT(server);
    QVERIFY2(server.process().exitCode() == 0, server.standardError().constData());
}

// --max-connections-per-address 3: the 4th WebSocket from 127.0.0.1 gets server_busy and close
// 1013 while the global limit is far away; 127.0.0.2 still gets in; after one of the three
// closes, 127.0.0.1 gets in again.
void TestFaults::perAddressLimit()
{
    {
        ServerProcess bad;
        QVERIFY(bad.run({"--db", freshDbPath(), "--max-connections-per-address", "-1"}));
        QCOMPARE(bad.process().exitCode(), 2);
        QVERIFY2(bad.standardError().contains("max-connections-per-address"),
                 bad.standardError().constData());
    }
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", freshDbPath(), "--max-connections", "1000",
                           "--max-connections-per-address", "3"},
                          &why),
             qPrintable(why));
    const quint16 port = server.port();
    std::vector<std::unique_ptr<Client>> three;
    for (int i = 0; i < 3; ++i) {
        three.push_back(std::make_unique<Client>(port));
        QVERIFY(three.back()->waitFor<protocol::Welcome>());
    }

    RawWebSocket fourth;
    QVERIFY(fourth.connectTo(port, {}, kWaitMs));
    QCOMPARE(fourth.upgrade({}, {}, kWaitMs), 101);
    const auto error = fourth.next(kWaitMs);
    QVERIFY(error);
    QCOMPARE(error->opcode, 0x1);
    const protocol::ServerDecodeResult decoded = protocol::decodeServerFrame(error->payload);
    const auto *message = std::get_if<protocol::ServerMessage>(&decoded);
    QVERIFY(message);
    const auto *e = std::get_if<protocol::Error>(message);
    QVERIFY2(e, error->payload.constData());
    QCOMPARE(protocol::errorCodeName(e->code), QStringLiteral("server_busy"));
    const auto close = fourth.next(kWaitMs);
    QVERIFY(close);
    QCOMPARE(close->opcode, 0x8);
    QVERIFY(close->payload.size() >= 2);
    QCOMPARE(close->closeCode(), 1013);
    QVERIFY(fourth.waitEnded(kWaitMs));

    // Another address is not affected.
    RawWebSocket other;
    QVERIFY(other.connectTo(port, QHostAddress(QStringLiteral("127.0.0.2")), kWaitMs));
    QVERIFY(other.upgrade({}, {}, kWaitMs) != 0);
    QCOMPARE(other.socket().localAddress(), QHostAddress(QStringLiteral("127.0.0.2")));
    const auto welcome = other.next(kWaitMs);
    QVERIFY(welcome);
    QVERIFY2(welcome->payload.contains("\"welcome\""), welcome->payload.constData());

    // One of the three goes: room for one more from 127.0.0.1, and only one.
    three[0]->socket().close();
    QVERIFY(three[0]->waitDisconnected());
    Client again(port);
    QVERIFY(again.waitFor<protocol::Welcome>());
    Client over(port);
    QVERIFY(over.waitForError(protocol::ErrorCode::ServerBusy));
    QVERIFY(over.waitDisconnected());
    QVERIFY(!over.find<protocol::Welcome>());
    const auto m = metrics(port);
    QCOMPARE(m.value(QStringLiteral("anonchat_errors_total{code=\"server_busy\"}")), 2.0);
    QCOMPARE(m.value(QStringLiteral("anonchat_connections")), 4.0); // 2 + again + 127.0.0.2
    server.signal(SIGTERM);
    QVERIFY(server.waitFinished());
    CHECK_NO_SANITIZER_REPORT(server);
    QCOMPARE(server.process().exitCode(), 0);
}

// Started under an open-file limit of 256 (soft and hard: it cannot raise it), the server logs the
// figure and lowers --max-connections to fit. 300 idle TCP connections from three addresses (the
// per-address limit off) then hold more sockets than it may open: the oldest unfinished ones
// make room, so /healthz answers from a fresh connection meanwhile and a WebSocket client gets
// its welcome; once the idle ones close the server is whole. It used to run out of descriptors
// and spin on EMFILE (Qt 6.4's QTcpServer retries at once), serving no new client until idle
// connections timed out one by one.
void TestFaults::descriptorLimit()
{
    constexpr int kLimit = 256;
    constexpr int kIdle = 300;
    ServerProcess server;
    server.process().setChildProcessModifier([] {
        const rlimit limit{kLimit, kLimit};
        ::setrlimit(RLIMIT_NOFILE, &limit);
    });
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", freshDbPath(), "--max-connections-per-address",
                           "0", "--threads", "2"},
                          &why),
             qPrintable(why));
    const quint16 port = server.port();
    QVERIFY2(waitUntil([&] { return server.standardError().contains("open-file limit 256"); }),
             server.standardError().constData());
    QVERIFY2(server.standardError().contains("--max-connections 20000 lowered to "),
             server.standardError().constData());

    int connected = 0;
    int closed = 0;
    QElapsedTimer sinceIdle; // all of this well within the 10 s an unfinished request may take
    sinceIdle.start();
    std::vector<std::unique_ptr<QTcpSocket>> idle;
    for (int i = 0; i < kIdle; ++i) {
        auto socket = std::make_unique<QTcpSocket>();
        QObject::connect(socket.get(), &QTcpSocket::connected, [&connected] { ++connected; });
        QObject::connect(socket.get(), &QTcpSocket::disconnected, [&closed] { ++closed; });
        QVERIFY(socket->bind(QHostAddress(QStringLiteral("127.0.0.%1").arg(1 + i % 3))));
        socket->connectToHost(QHostAddress(QHostAddress::LocalHost), port);
        idle.push_back(std::move(socket));
    }
    // The server holds what it may (256 - 72 kept for its own files), and closed the oldest of
    // the others to make room for the newer, at once (not when their request time ran out).
    QVERIFY2(waitUntil([&] { return connected == kIdle && closed >= kIdle - (kLimit - 72); }, 3000),
             qPrintable(QStringLiteral("%1 connected, %2 closed").arg(connected).arg(closed)));

    QElapsedTimer timer;
    timer.start();
    const HttpReply health = httpGet(port, "/healthz");
    const qint64 healthMs = timer.elapsed();
    QCOMPARE(health.status, 200);
    QVERIFY2(healthMs < 2000, QByteArray::number(healthMs));
    Client client(port);
    QVERIFY(client.waitFor<protocol::Welcome>({}, 2000));
    QVERIFY2(sinceIdle.elapsed() < 8000, QByteArray::number(sinceIdle.elapsed()));
    QVERIFY(server.running());
    qInfo("open-file limit %d: %d idle connections, %d of them closed by the server; /healthz "
          "answered in %lld ms meanwhile",
          kLimit, kIdle, closed, healthMs);

    idle.clear();
    QVERIFY(waitUntil([&] {
        const auto m = metrics(port);
        return m.value(QStringLiteral("anonchat_connections"), -1) == 1;
    }));
    QCOMPARE(httpGet(port, "/healthz").status, 200);
    server.signal(SIGTERM);
    QVERIFY(server.waitFinished());
    CHECK_NO_SANITIZER_REPORT(server);
    QCOMPARE(server.process().exitCode(), 0);
}

// No address in the database, no message text in the log, tokens of at least 128 bits, and no
// way into a room that is not one's own.
void TestFaults::privacy()
{
    const QString path = freshDbPath();
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", path, "--log-level", "info"}, &why),
             qPrintable(why));
    const quint16 port = server.port();
    std::vector<std::unique_ptr<Client>> ab;
    ab.push_back(std::make_unique<Client>(port));
    ab.push_back(std::make_unique<Client>(port));
    QVERIFY(matchAll(ab));
    std::vector<std::unique_ptr<Client>> cd;
    cd.push_back(std::make_unique<Client>(port));
    cd.push_back(std::make_unique<Client>(port));
    QVERIFY(matchAll(cd));
    Client &a = *ab[0];
    Client &b = *ab[1];
    Client &c = *cd[0];
    Client &d = *cd[1];
    Client e(port); // in no room
    QVERIFY(e.waitFor<protocol::Welcome>());
    const qint64 roomAB = a.find<protocol::Matched>()->roomId;
    const qint64 roomCD = c.find<protocol::Matched>()->roomId;
    QVERIFY(roomAB != roomCD);
    QList<quint16> ports;
    for (Client *client : {&a, &b, &c, &d, &e})
        ports << client->socket().localPort();

    // Tokens: url-safe base64 of at least 128 bits, all different.
    static const QRegularExpression base64url(QStringLiteral("^[A-Za-z0-9_-]+$"));
    QSet<QString> tokens;
    for (Client *client : {&a, &b, &c, &d, &e}) {
        const QString token = client->find<protocol::Welcome>()->resumeToken;
        QVERIFY2(base64url.match(token).hasMatch(), qPrintable(token));
        QVERIFY2(token.size() * 6 >= 128, qPrintable(token));
        tokens.insert(token);
    }
    QCOMPARE(tokens.size(), 5);

    // A marker sent as a message: stored, never logged.
    const QString marker = QStringLiteral("MARKER-") + QUuid::createUuid().toString(QUuid::Id128);
    a.send(protocol::SendMessage{marker + QStringLiteral(" my secret"), QStringLiteral("p1")});
    QVERIFY(b.waitFor<protocol::NewMessage>());

    // Forged ids in data are ignored: it lands in A's own room, under A's id.
    const QString forged = QStringLiteral("forged ") + marker;
    a.sendRaw(QStringLiteral(R"({"event":"send_message","data":{"content":"%1","nonce":"p2",)"
                             R"("room_id":%2,"sender_id":"%3","user_id":"%3","partner_id":"%4"}})")
                  .arg(forged)
                  .arg(roomCD)
                  .arg(c.userId(), d.userId()));
    const auto ack = a.waitFor<protocol::NewMessage>(
        [](const protocol::NewMessage &m) { return m.nonce == QLatin1String("p2"); });
    QVERIFY(ack);
    QCOMPARE(ack->roomId, roomAB);
    QCOMPARE(ack->senderId, a.userId());
    const auto relayed = b.waitFor<protocol::NewMessage>(
        [&forged](const protocol::NewMessage &m) { return m.content == forged; });
    QVERIFY(relayed);
    QCOMPARE(relayed->senderId, a.userId());
    a.sendRaw(
        QStringLiteral(R"({"event":"typing","data":{"typing":true,"room_id":%1}})").arg(roomCD));
    QVERIFY(b.waitFor<protocol::PartnerTyping>());

    // E, in no room, tries to act in A and B's room.
    const QString roomField = QStringLiteral(R"("room_id":%1,"user_id":"%2","sender_id":"%2")")
                                  .arg(roomAB)
                                  .arg(a.userId());
    for (const char *event : {"send_message", "typing", "leave_room_event", "report"}) {
        const int errorsBefore = int(e.all<protocol::Error>().size());
        const QString extra = QLatin1String(event) == QLatin1String("send_message")
                                  ? QStringLiteral(R"("content":"let me in",)")
                              : QLatin1String(event) == QLatin1String("typing")
                                  ? QStringLiteral(R"("typing":true,)")
                                  : QString();
        e.sendRaw(QStringLiteral(R"({"event":"%1","data":{%2%3}})")
                      .arg(QLatin1String(event), extra, roomField));
        QVERIFY(waitUntil([&] { return e.all<protocol::Error>().size() > errorsBefore; }));
        const protocol::Error err = e.all<protocol::Error>().constLast();
        QCOMPARE(protocol::errorCodeName(err.code), QStringLiteral("not_in_room"));
        QCOMPARE(err.event, QString::fromLatin1(event));
    }
    // C leaves "room AB": it leaves its own room; A and B go on.
    c.sendRaw(QStringLiteral(R"({"event":"leave_room_event","data":{"room_id":%1}})").arg(roomAB));
    const auto left = c.waitFor<protocol::RoomLeft>();
    QVERIFY(left);
    QCOMPARE(left->roomId, roomCD);
    QVERIFY(d.waitFor<protocol::PartnerLeft>());
    a.send(protocol::SendMessage{QStringLiteral("still here"), QStringLiteral("p3")});
    QVERIFY(b.waitFor<protocol::NewMessage>(
        [](const protocol::NewMessage &m) { return m.content == QLatin1String("still here"); }));

    // A drops and resumes: the next token is as strong, and differs.
    const QString oldToken = a.find<protocol::Welcome>()->resumeToken;
    a.socket().abort();
    QVERIFY(b.waitFor<protocol::PartnerAway>());
    Client a2(port);
    QVERIFY(a2.waitFor<protocol::Welcome>());
    a2.send(protocol::Resume{oldToken, -1});
    const auto resumed = a2.waitFor<protocol::Resumed>();
    QVERIFY(resumed);
    QVERIFY2(base64url.match(resumed->resumeToken).hasMatch() &&
                 resumed->resumeToken.size() * 6 >= 128 && resumed->resumeToken != oldToken,
             qPrintable(resumed->resumeToken));
    ports << a2.socket().localPort();

    // Nothing from A and B's room reached C, D or E.
    spin(200);
    for (Client *outsider : {&c, &d, &e}) {
        for (const protocol::ServerMessage &m : outsider->frames()) {
            if (const auto *nm = std::get_if<protocol::NewMessage>(&m))
                QVERIFY2(nm->roomId != roomAB, qPrintable(nm->content));
        }
        QVERIFY(!outsider->find<protocol::NewMessage>());
    }
    for (const protocol::ServerMessage &m : e.frames()) {
        QVERIFY2(std::holds_alternative<protocol::Welcome>(m) ||
                     std::holds_alternative<protocol::Error>(m),
                 "a user in no room was sent something else than welcome and errors");
    }

    server.signal(SIGTERM);
    QVERIFY(server.waitFinished());
    CHECK_NO_SANITIZER_REPORT(server);
    QCOMPARE(server.process().exitCode(), 0);

    // The log at info level: no message text, no client port.
    const QByteArray log = server.standardError();
    QVERIFY2(!log.contains(marker.toUtf8()), log.constData());
    QVERIFY2(!log.contains("my secret"), log.constData());
    for (quint16 p : ports)
        QVERIFY2(!QString::fromUtf8(log).contains(QRegularExpression(
                     QStringLiteral("(?<![0-9A-Za-z])%1(?![0-9A-Za-z])").arg(p))),
                 qPrintable(
                     QStringLiteral("port %1 in the log: %2").arg(p).arg(QString::fromUtf8(log))));

    // The database: every value of every table, and the raw file bytes.
    Database db(path);
    QVERIFY(db.isOpen());
    QCOMPARE(db.value(QStringLiteral("SELECT sender_id FROM messages WHERE content = ?"), {forged})
                 .toString(),
             a.userId());
    int values = 0;
    for (const QVariantList &t :
         db.rows(QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'table'"))) {
        const QString table = t[0].toString();
        for (const QVariantList &row : db.rows(QStringLiteral("SELECT * FROM \"%1\"").arg(table))) {
            for (const QVariant &value : row) {
                ++values;
                const QString text = value.toString();
                QVERIFY2(!text.contains(QLatin1String("127.0.0.1")) &&
                             !text.contains(QLatin1String("::1")) &&
                             !text.contains(QLatin1String("localhost"), Qt::CaseInsensitive),
                         qPrintable(QStringLiteral("%1: %2").arg(table, text)));
                for (quint16 p : ports) {
                    QVERIFY2(
                        !text.contains(QRegularExpression(
                            QStringLiteral("(?<![0-9A-Za-z])%1(?![0-9A-Za-z])").arg(p))),
                        qPrintable(
                            QStringLiteral("%1: port %2 in '%3'").arg(table).arg(p).arg(text)));
                }
            }
        }
    }
    QVERIFY(values > 0);
    for (const QString &file : {path, path + QStringLiteral("-wal")}) {
        QFile f(file);
        if (f.open(QIODevice::ReadOnly))
            QVERIFY2(!f.readAll().contains("127.0.0.1"), qPrintable(file));
    }
    qInfo("privacy: %d stored values scanned, no address or port; log without message text; "
          "tokens %lld characters of base64url (%lld bits)",
          values, qint64(resumed->resumeToken.size()), qint64(resumed->resumeToken.size()) * 6);
}

QTEST_GUILESS_MAIN(TestFaults)
#include "tst_faults.moc"
