// The writer: group commits, the commit delay, tickets in order, flush, stop, submit before and
// after, health.
#include "tests/server/storage/storagetest.h"

#include <QElapsedTimer>
#include <QTest>
#include <QThread>
#include <algorithm>
#include <csignal>
#include <sys/resource.h>

using namespace anonchat::server;
using namespace anonchat::test::storage;

class TestStorageWriter : public StorageSuite
{
    Q_OBJECT

private slots:
    void groupCommit();
    void commitDelayWaitsOnlyWhileOthersWrite();
    void flushWaitsForEarlierWrites();
    void stopCommitsPendingAndIsIdempotent();
    void submitAfterStopFails();
    void submitBeforeStartIsWrittenAtStart();
    void healthFollowsTheDisk();
};

void TestStorageWriter::groupCommit()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageConfig config = configFor(file);
    config.maxBatchRows = 400;
    StorageWriter writer(config);
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));

    constexpr int kMessages = 2500;
    {
        // Hold the write lock while everything is submitted, so the writer has to group.
        Check locker(file);
        QVERIFY(locker.lockWrites());
        const qint64 roomId = writer.nextRoomId();
        writer.submit(room(roomId));
        for (int i = 0; i < kMessages; ++i) {
            writer.submit(message(writer.nextMessageId(), roomId, QStringLiteral("alice"),
                                  QStringLiteral("message %1").arg(i),
                                  QStringLiteral("n%1").arg(i)));
        }
        QThread::msleep(200);
        QVERIFY(locker.exec(QStringLiteral("ROLLBACK")));
    }
    settle(writer);

    QCOMPARE(recorder.tickets(), range(1, kMessages + 1)); // each once, in order
    QVERIFY(recorder.failedTickets().isEmpty());
    const int commits = int(recorder.reports.size());
    QVERIFY2(commits <= (kMessages + 1) / 100, qPrintable(QString::number(commits)));
    int largest = 0;
    for (const Recorder::Report &r : recorder.reports) {
        largest = std::max(largest, int(r.tickets.size()));
        QVERIFY(r.seconds >= 0 && r.seconds < 60);
    }
    QVERIFY2(largest <= config.maxBatchRows, qPrintable(QString::number(largest)));
    QCOMPARE(largest, config.maxBatchRows); // the lock made full groups
    QVERIFY(writer.isHealthy());

    Check check(file);
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), kMessages);
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(DISTINCT content) FROM messages")).toInt(),
             kMessages);
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM chat_rooms")).toInt(), 1);
}

void TestStorageWriter::commitDelayWaitsOnlyWhileOthersWrite()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageConfig config = configFor(file);
    config.commitDelayUs = 1000 * 1000; // a second: far longer than a commit, even under ASan
    StorageWriter writer(config);
    Recorder recorder(&writer);
    // Submitted before start: one group of three, so the writer has seen others writing.
    writer.submit(room(1));
    writer.submit(message(1, 1, QStringLiteral("alice"), QStringLiteral("a")));
    writer.submit(message(2, 1, QStringLiteral("bob"), QStringLiteral("b")));
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    settle(writer);
    QCOMPARE(recorder.reports.size(), size_t(1));
    QCOMPARE(recorder.reports[0].tickets, range(1, 3));

    // Now a row waits for company, and one submitted meanwhile shares its commit.
    QElapsedTimer timer;
    timer.start();
    writer.submit(message(3, 1, QStringLiteral("alice"), QStringLiteral("c")));
    QThread::msleep(100);
    writer.submit(message(4, 1, QStringLiteral("bob"), QStringLiteral("d")));
    settle(writer);
    QCOMPARE(recorder.reports.size(), size_t(2));
    QCOMPARE(recorder.reports[1].tickets, range(4, 5));
    QVERIFY2(timer.elapsed() >= 900, qPrintable(QString::number(timer.elapsed())));

    // After that group of two a lone row still waits, and is committed alone at the end...
    writer.submit(message(5, 1, QStringLiteral("alice"), QStringLiteral("e")));
    settle(writer);
    QCOMPARE(recorder.reports.size(), size_t(3));
    QCOMPARE(recorder.reports[2].tickets, range(6, 6));
    // ...after which nobody else is writing: the next row is committed at once.
    timer.restart();
    writer.submit(message(6, 1, QStringLiteral("bob"), QStringLiteral("f")));
    settle(writer);
    QVERIFY2(timer.elapsed() < 900, qPrintable(QString::number(timer.elapsed())));
    QCOMPARE(recorder.reports.size(), size_t(4));
    QCOMPARE(recorder.reports[3].tickets, range(7, 7));
    QVERIFY(recorder.failedTickets().isEmpty());
    Check check(file);
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), 6);
}

void TestStorageWriter::flushWaitsForEarlierWrites()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));

    QElapsedTimer idle;
    idle.start();
    writer.flush(); // nothing submitted: returns at once
    QVERIFY(idle.elapsed() < 500);

    writer.submit(room(1));
    for (int i = 1; i <= 300; ++i)
        writer.submit(message(i, 1, QStringLiteral("a"), QStringLiteral("m%1").arg(i)));
    writer.flush();
    {
        Check check(file); // committed before flush() returned
        QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), 300);
    }
    QVERIFY(recorder.reports.empty()); // queued, not delivered yet...
    QCoreApplication::sendPostedEvents();
    QCOMPARE(recorder.tickets(), range(1, 301)); // ...but all already posted
}

void TestStorageWriter::stopCommitsPendingAndIsIdempotent()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    {
        StorageWriter writer(configFor(file));
        Recorder recorder(&writer);
        QString error;
        QVERIFY2(writer.start(&error), qPrintable(error));
        writer.submit(room(1));
        for (int i = 1; i <= 2000; ++i)
            writer.submit(message(i, 1, QStringLiteral("a"), QStringLiteral("m%1").arg(i)));
        writer.stop(); // no flush: stop commits what is pending
        QVERIFY(!writer.isHealthy());
        writer.stop();
        QCoreApplication::sendPostedEvents();
        QCOMPARE(recorder.tickets(), range(1, 2001));
        QVERIFY(recorder.failedTickets().isEmpty());
    } // the destructor stops once more

    Check check(file);
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), 2000);
}

void TestStorageWriter::submitAfterStopFails()
{
    StorageWriter writer(configFor(m_databases.database(QStringLiteral("chat.db"))));
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    QCOMPARE(writer.submit(room(1)), quint64(1));
    writer.stop();
    const quint64 late = writer.submit(room(2));
    QCOMPARE(late, quint64(2));
    writer.flush(); // must not hang
    QCoreApplication::sendPostedEvents();
    QCOMPARE(recorder.tickets(), range(1, 2));
    QVERIFY(recorder.isCommitted(1));
    QVERIFY2(recorder.failure(late).contains(QLatin1String("stopped")),
             qPrintable(recorder.failure(late)));
    QVERIFY(!writer.start(&error)); // a stopped writer stays stopped
}

void TestStorageWriter::submitBeforeStartIsWrittenAtStart()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    Recorder recorder(&writer);
    const quint64 ticket = writer.submit(room(1));
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    settle(writer);
    QVERIFY(recorder.isCommitted(ticket));
    Check check(file);
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM chat_rooms")).toInt(), 1);
}

// Making a file unwritable under a running writer, as root (tests run as root, where chmod stops
// nothing, and mounting a tiny filesystem needs privileges CI may lack): RLIMIT_FSIZE. With the
// soft limit at 0, every write() the process makes to a regular file fails with EFBIG (root is
// bound by it too), as writes do on a full disk; SQLite's commit then fails with an I/O error.
// The limit is process-wide, so nothing is printed while it is in force (QTest output may go to
// a file): results are kept in locals and checked after the limit is lifted.
void TestStorageWriter::healthFollowsTheDisk()
{
    SQLITE_ONLY();
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    QVERIFY(writer.isHealthy());
    writer.submit(room(1));
    settle(writer);
    QVERIFY(writer.isHealthy());

    rlimit original{};
    QCOMPARE(getrlimit(RLIMIT_FSIZE, &original), 0);
    struct sigaction ignore {};
    struct sigaction previous {};
    ignore.sa_handler = SIG_IGN;
    QCOMPARE(sigaction(SIGXFSZ, &ignore, &previous), 0);
    rlimit blocked = original;
    blocked.rlim_cur = 0;
    const bool limited = setrlimit(RLIMIT_FSIZE, &blocked) == 0;

    const quint64 lost = writer.submit(message(1, 1, QStringLiteral("a"), QStringLiteral("lost")));
    writer.flush();
    const bool healthyAfterFailedCommit = writer.isHealthy();
    QThread::msleep(1600); // the writer probes (and fails) at least once meanwhile
    const bool healthyAfterProbes = writer.isHealthy();

    setrlimit(RLIMIT_FSIZE, &original);
    sigaction(SIGXFSZ, &previous, nullptr);

    QVERIFY(limited);
    QCoreApplication::sendPostedEvents();
    QVERIFY(!healthyAfterFailedCommit);
    QVERIFY(!healthyAfterProbes);
    QCOMPARE(recorder.failedTickets(), QVector<quint64>{lost});
    QVERIFY(!recorder.failure(lost).isEmpty());

    QTRY_VERIFY_WITH_TIMEOUT(writer.isHealthy(), 5000); // the probe sees the disk work again
    const quint64 kept = writer.submit(message(2, 1, QStringLiteral("a"), QStringLiteral("kept")));
    settle(writer);
    QVERIFY(recorder.isCommitted(kept));
    QVERIFY(writer.isHealthy());
    Check check(file);
    QCOMPARE(check.column(QStringLiteral("SELECT id FROM messages")), (QVariantList{2}));
}

QTEST_GUILESS_MAIN(TestStorageWriter)
#include "tst_storagewriter.moc"
