// Faults, with the real `anonchat-server` executable and real QWebSocket clients ("Prove it
// survives"): SIGKILL at a random moment under steady traffic, five times on one database file;
// SIGTERM with traffic in flight; the database's filesystem filling up while serving (a real
// ENOSPC on a tmpfs the test mounts). Churn: tst_faults_churn; hostile clients and privacy:
// tst_faults_clients. The fixture: tests/system/faultsuite.h.

#include "tests/system/faultsuite.h"

using namespace anonchat::test;
using namespace anonchat::test::faults;

class TestFaults : public FaultSuite
{
    Q_OBJECT

private slots:
    void sigkillUnderTraffic();
    void sigtermWithTrafficInFlight();
    void diskFull();
};

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

QTEST_GUILESS_MAIN(TestFaults)
#include "tst_faults.moc"
