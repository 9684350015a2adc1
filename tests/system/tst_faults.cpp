// Faults, with the real `anonchat-server` executable and real QWebSocket clients ("Prove it
// survives"): SIGKILL at a random moment under steady traffic, five times on one database file;
// SIGTERM with traffic in flight; the database's filesystem filling up while serving (a real
// ENOSPC on a tmpfs the test mounts). Churn: tst_faults_churn; hostile clients and privacy:
// tst_faults_clients. The fixture: tests/system/faultsuite.h.

#include "tests/system/faultsuite.h"

using namespace anonchat::test;
using namespace anonchat::test::faults;

namespace {

constexpr int kKillRounds = 5;
constexpr int kKillClients = 40;
constexpr int kKillIntervalMs = 50; // per client: 20 messages/s, 800/s in all

/// The figures of the SIGKILL rounds, added up.
struct KillTotals {
    Verified verified;
    int sent = 0;
    int kills = 0;
};

/// Unmounts the test's small filesystem at the end, once the server is gone.
struct Unmount {
    QByteArray mountPoint;
    std::unique_ptr<ServerProcess> *server;
    ~Unmount()
    {
        server->reset(); // no open file may keep the mount busy
        if (::umount(mountPoint.constData()) != 0)
            ::umount2(mountPoint.constData(), MNT_DETACH);
    }
};

} // namespace

class TestFaults : public FaultSuite
{
    Q_OBJECT

private slots:
    void sigkillUnderTraffic();
    void sigtermWithTrafficInFlight();
    void diskFull();

private:
    void expectClosedByRestart(const QString &path, const QSet<qint64> &rooms);
    void expectServesAndStops(ServerProcess &server);
    void killUnderTraffic(ServerProcess &server, const QString &path, int round,
                          QSet<qint64> *rooms, KillTotals *total);
    void fillFilesystem(const QString &fillerPath, qint64 *filled);
    void expectRefusedOnFullDisk(ServerProcess &server, Client &a, Client &b, const QString &lost);
    void expectBackWithSpace(quint16 port, Client &a, Client &b, const QString &fillerPath,
                             const QString &lost, qint64 *recoveredMs);
    void expectStoredOnce(ServerProcess &server, const QString &path, const QString &lost);
};

// 20 rooms stream messages; the server is SIGKILLed at a random moment, five times on one file.
// After each kill every new_message any client got (ack or relay) is stored exactly once, every
// stored row is a message that was sent, and the restarted server closes the old rooms with
// `server_restart` and serves again.
void TestFaults::sigkillUnderTraffic()
{
    const QString path = freshDbPath();
    KillTotals total;
    QSet<qint64> previousRooms;
    for (int round = 0; round <= kKillRounds; ++round) {
        ServerProcess server;
        QString why;
        QVERIFY2(
            server.start(
                {"--port", "0", "--db", path, "--rate-limit", "0", "--log-level", "warning"}, &why),
            qPrintable(why));
        if (!previousRooms.isEmpty()) {
            // Closed by the restart, before the URL was printed.
            expectClosedByRestart(path, previousRooms);
            if (QTest::currentTestFailed())
                return;
        }
        if (round == kKillRounds) {
            // The last restart: it serves.
            expectServesAndStops(server);
            if (QTest::currentTestFailed())
                return;
            break;
        }
        killUnderTraffic(server, path, round, &previousRooms, &total);
        if (QTest::currentTestFailed())
            return;
    }
    qInfo("durability: %d rounds, %d SIGKILLs at random moments, %d messages sent, %d acked, "
          "%d received copies verified in the database exactly once, %d rows stored "
          "(%d stored but unacked at the kill, none twice)",
          kKillRounds, total.kills, total.sent, total.verified.acked, total.verified.copiesVerified,
          total.verified.stored, total.verified.storedNotAcked);
}

// Every room of the previous round is closed with `server_restart`, and no room is active.
void TestFaults::expectClosedByRestart(const QString &path, const QSet<qint64> &rooms)
{
    Database db(path);
    QVERIFY(db.isOpen());
    const auto rows =
        db.rows(QStringLiteral("SELECT id, is_active, end_reason FROM chat_rooms WHERE id IN (%1)")
                    .arg(idList(rooms)));
    QCOMPARE(rows.size(), rooms.size());
    for (const QVariantList &r : rows) {
        QCOMPARE(r[1].toInt(), 0);
        QCOMPARE(r[2].toString(), QStringLiteral("server_restart"));
    }
    QCOMPARE(
        db.value(QStringLiteral("SELECT COUNT(*) FROM chat_rooms WHERE is_active = 1")).toInt(), 0);
}

// Two clients match and chat both ways; then SIGTERM, exit 0.
void TestFaults::expectServesAndStops(ServerProcess &server)
{
    const auto pair = newClients(server.port(), 2);
    QVERIFY(matchAll(pair));
    pair[0]->send(
        protocol::SendMessage{QStringLiteral("after five kills"), QStringLiteral("last")});
    QVERIFY(pair[1]->waitFor<protocol::NewMessage>());
    QVERIFY(pair[0]->waitFor<protocol::NewMessage>(
        [](const protocol::NewMessage &m) { return m.nonce == QLatin1String("last"); }));
    expectCleanStop(server);
}

// One round: 20 rooms (now in `rooms`) stream until a SIGKILL at a random moment; then what the
// clients got is checked against the file, and the round's figures are added to `total`.
void TestFaults::killUnderTraffic(ServerProcess &server, const QString &path, int round,
                                  QSet<qint64> *rooms, KillTotals *total)
{
    const auto clients = newClients(server.port(), kKillClients);
    QVERIFY(matchAll(clients));
    rooms->clear();
    for (const auto &c : clients)
        rooms->insert(c->find<protocol::Matched>()->roomId);
    QCOMPARE(rooms->size(), kKillClients / 2);

    const QString tag = QStringLiteral("s%1r%2").arg(m_seed).arg(round);
    Streamer streamer(clients, tag, kKillIntervalMs);
    streamer.start();
    const int killAfterMs = 300 + int(m_random.bounded(1200));
    spin(killAfterMs);
    server.signal(SIGKILL);
    streamer.stop();
    ++total->kills;
    QVERIFY(server.waitFinished());
    CHECK_NO_SANITIZER_REPORT(server);
    QCOMPARE(server.process().exitStatus(), QProcess::CrashExit);
    // Read everything the clients were sent before the connections went.
    QVERIFY(waitUntil([&] { return allDisconnected(clients); }));

    Verified v;
    QString failure;
    QVERIFY2(verifyAgainstDatabase(path, clients, streamer.sent(), &v, &failure),
             qPrintable(QStringLiteral("round %1: %2").arg(round).arg(failure)));
    QVERIFY2(v.acked > 0, "no message was acknowledged before the kill");
    qInfo("round %d: SIGKILL after %d ms; %d sent, %d acked, %d copies received and found, "
          "%d stored (%d stored but never acked, %d never relayed)",
          round + 1, killAfterMs, streamer.sentCount(), v.acked, v.copiesVerified, v.stored,
          v.storedNotAcked, v.storedNotRelayed);
    total->sent += streamer.sentCount();
    total->verified.acked += v.acked;
    total->verified.copiesVerified += v.copiesVerified;
    total->verified.stored += v.stored;
    total->verified.storedNotAcked += v.storedNotAcked;
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
    QVERIFY(waitUntil([&] { return allDisconnected(clients); }));
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
    const Unmount unmount{mp, &server};

    QString why;
    QVERIFY2(server->start({"--port", "0", "--db", path}, &why), qPrintable(why));
    const quint16 port = server->port();
    const auto pair = newClients(port, 2);
    QVERIFY(matchAll(pair));
    Client &a = *pair[0];
    Client &b = *pair[1];
    QVERIFY(sendAcked(a, QStringLiteral("before the disk fills"), QStringLiteral("d1")));
    QVERIFY(b.waitFor<protocol::NewMessage>());
    QCOMPARE(httpGet(port, "/healthz").status, 200);

    qint64 filled = 0;
    fillFilesystem(fillerPath, &filled);
    if (QTest::currentTestFailed())
        return;
    const QString lost = QStringLiteral("written to a full disk");
    expectRefusedOnFullDisk(*server, a, b, lost);
    if (QTest::currentTestFailed())
        return;
    Client c(port); // new connections are served
    QVERIFY(c.waitFor<protocol::Welcome>());

    qint64 recoveredMs = 0;
    expectBackWithSpace(port, a, b, fillerPath, lost, &recoveredMs);
    if (QTest::currentTestFailed())
        return;
    expectStoredOnce(*server, path, lost);
    if (QTest::currentTestFailed())
        return;
    qInfo("disk full (tmpfs 1 MiB, %lld KiB of filler until ENOSPC): error internal, /healthz 503, "
          "still serving; %lld ms from freeing the space to /healthz 200",
          filled / 1024, recoveredMs);
}

// Fills the filesystem up: a real ENOSPC for every write that needs a new page.
void TestFaults::fillFilesystem(const QString &fillerPath, qint64 *filled)
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
        *filled += n;
    }
    ::close(fd);
    QCOMPARE(lastErrno, ENOSPC);
}

// With the disk full, `lost` gets `error internal`, is neither acked nor relayed, /healthz says
// 503, and the server goes on serving.
void TestFaults::expectRefusedOnFullDisk(ServerProcess &server, Client &a, Client &b,
                                         const QString &lost)
{
    const int bFramesBefore = int(b.frames().size());
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
    QCOMPARE(httpGet(server.port(), "/healthz").status, 503);
    QVERIFY(server.running());
}

// With the space back, /healthz is 200 again and the same message (same nonce) goes through.
void TestFaults::expectBackWithSpace(quint16 port, Client &a, Client &b, const QString &fillerPath,
                                     const QString &lost, qint64 *recoveredMs)
{
    QVERIFY(QFile::remove(fillerPath));
    QElapsedTimer recovery;
    recovery.start();
    QVERIFY2(waitUntil([&] { return httpGet(port, "/healthz").status == 200; }),
             "/healthz did not come back after the space was freed");
    *recoveredMs = recovery.elapsed();
    QVERIFY(sendAcked(a, lost, QStringLiteral("d2"))); // the client's resend
    QVERIFY(b.waitFor<protocol::NewMessage>(
        [&lost](const protocol::NewMessage &m) { return m.content == lost; }));
    QVERIFY(sendAcked(a, QStringLiteral("and more"), QStringLiteral("d3")));
    QCOMPARE(metrics(port).value(QStringLiteral("anonchat_errors_total{code=\"internal\"}")), 1.0);
}

// After a clean stop the file holds the three messages, `lost` once.
void TestFaults::expectStoredOnce(ServerProcess &server, const QString &path, const QString &lost)
{
    expectCleanStop(server);
    if (QTest::currentTestFailed())
        return;
    Database db(path);
    QVERIFY(db.isOpen());
    QCOMPARE(
        db.value(QStringLiteral("SELECT COUNT(*) FROM messages WHERE content = ?"), {lost}).toInt(),
        1);
    QCOMPARE(db.value(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), 3);
}

QTEST_GUILESS_MAIN(TestFaults)
#include "tst_faults.moc"
