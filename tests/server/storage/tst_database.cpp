// The writer's connection: WAL, unusable paths and URLs, connection names, reconnecting.
#include "tests/server/storage/storagetest.h"

#include <QDir>
#include <QElapsedTimer>
#include <QTest>
#include <thread>

using namespace anonchat::server;
using namespace anonchat::test::storage;

class TestDatabase : public StorageSuite
{
    Q_OBJECT

private slots:
    void journalModeIsWal();
    void walDataSurvivesStop();
    void unusablePathFails_data();
    void unusablePathFails();
    void twoWritersInOneProcess();
    void connectionRemovedOnStop();

    // PostgreSQL only.
    void pgUnusableUrlFails_data();
    void pgUnusableUrlFails();
    void pgHealthFollowsTheConnection();
};

void TestDatabase::journalModeIsWal()
{
    SQLITE_ONLY();
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    Check check(file);
    // WAL is persistent: another connection sees it in the file header.
    QCOMPARE(check.scalar(QStringLiteral("PRAGMA journal_mode")).toString(), QStringLiteral("wal"));
}

void TestDatabase::walDataSurvivesStop()
{
    SQLITE_ONLY();
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    writer.submit(room(1));
    for (int i = 1; i <= 100; ++i)
        writer.submit(message(i, 1, QStringLiteral("a"), QStringLiteral("m%1").arg(i)));
    writer.flush();
    QVERIFY(QFile::exists(file + QLatin1String("-wal")));

    // What a crash right now would leave: the main file and the WAL, no shared memory.
    const QString crashed = m_databases.path(QStringLiteral("crashed.db"));
    QVERIFY(QFile::copy(file, crashed));
    QVERIFY(QFile::copy(file + QLatin1String("-wal"), crashed + QLatin1String("-wal")));
    {
        Check check(crashed);
        QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), 100);
    }

    writer.stop();
    // A clean close checkpoints the WAL into the main file and removes it.
    QVERIFY(!QFile::exists(file + QLatin1String("-wal")));
    Check check(file);
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), 100);
    QCOMPARE(check.scalar(QStringLiteral("SELECT content FROM messages WHERE id = 100")).toString(),
             QStringLiteral("m100"));
}

void TestDatabase::unusablePathFails_data()
{
    QTest::addColumn<QString>("relative");
    QTest::addColumn<bool>("isDirectory");
    QTest::addColumn<QByteArray>("contents");
    QTest::newRow("a directory") << QStringLiteral("adir") << true << QByteArray();
    QTest::newRow("missing parent")
        << QStringLiteral("no/such/dir/chat.db") << false << QByteArray();
    QTest::newRow("not a database")
        << QStringLiteral("notes.txt") << false << QByteArray(4096, 'x');
}

void TestDatabase::unusablePathFails()
{
    SQLITE_ONLY();
    QFETCH(QString, relative);
    QFETCH(bool, isDirectory);
    QFETCH(QByteArray, contents);
    const QString file = m_databases.path(relative);
    if (isDirectory)
        QVERIFY(QDir().mkpath(file));
    if (!contents.isEmpty()) {
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(contents);
    }

    StorageWriter writer(configFor(file));
    QString error;
    QVERIFY(!writer.start(&error));
    QVERIFY2(error.contains(file), qPrintable(error));
    QVERIFY(!writer.isHealthy());
    if (!isDirectory && contents.isEmpty())
        QVERIFY(!QFile::exists(file));
    if (!contents.isEmpty()) {
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), contents);
    }
}

void TestDatabase::twoWritersInOneProcess()
{
    // Same connectionName on purpose: the desktop app's server may run next to another one.
    const QString fileA = m_databases.database(QStringLiteral("a.db"));
    const QString fileB = m_databases.database(QStringLiteral("b.db"));
    StorageWriter a(configFor(fileA));
    StorageWriter b(configFor(fileB));
    Recorder recorderA(&a);
    Recorder recorderB(&b);
    QString error;
    QVERIFY2(a.start(&error), qPrintable(error));
    QVERIFY2(b.start(&error), qPrintable(error));

    constexpr int kEach = 1000;
    const auto feed = [](StorageWriter *writer, const QString &who) {
        const qint64 roomId = writer->nextRoomId();
        writer->submit(room(roomId));
        for (int i = 0; i < kEach; ++i)
            writer->submit(message(writer->nextMessageId(), roomId, who, who));
    };
    std::thread ta(feed, &a, QStringLiteral("A"));
    std::thread tb(feed, &b, QStringLiteral("B"));
    ta.join();
    tb.join();
    settle(a);
    settle(b);
    QCOMPARE(recorderA.tickets(), range(1, kEach + 1));
    QCOMPARE(recorderB.tickets(), range(1, kEach + 1));
    QVERIFY(recorderA.failedTickets().isEmpty());
    QVERIFY(recorderB.failedTickets().isEmpty());

    // Stopping one leaves the other working.
    a.stop();
    const quint64 more =
        b.submit(message(b.nextMessageId(), 1, QStringLiteral("B"), QStringLiteral("B")));
    settle(b);
    QVERIFY(recorderB.isCommitted(more));
    QVERIFY(b.isHealthy());
    b.stop();

    Check checkA(fileA);
    Check checkB(fileB);
    QCOMPARE(checkA.strings(QStringLiteral("SELECT DISTINCT sender_id FROM messages")),
             QStringList{"A"});
    QCOMPARE(checkA.scalar(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), kEach);
    QCOMPARE(checkB.strings(QStringLiteral("SELECT DISTINCT sender_id FROM messages")),
             QStringList{"B"});
    QCOMPARE(checkB.scalar(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), kEach + 1);
}

void TestDatabase::connectionRemovedOnStop()
{
    StorageConfig config = configFor(m_databases.database(QStringLiteral("chat.db")));
    config.connectionName = QStringLiteral("tst-conn");
    const QString name = QStringLiteral("tst-conn-writer");
    StorageWriter writer(config);
    QVERIFY(!QSqlDatabase::contains(name));
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    QVERIFY(QSqlDatabase::contains(name));
    writer.stop();
    QVERIFY(!QSqlDatabase::contains(name));
}

void TestDatabase::pgUnusableUrlFails_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("expected");
    if (!kPostgres)
        return;
    QUrl wrongPassword(m_databases.postgresUrl());
    wrongPassword.setPassword(QStringLiteral("not-the-password"));
    QUrl closedPort(m_databases.postgresUrl());
    closedPort.setPort(1);
    QUrl noDatabase(m_databases.postgresUrl());
    noDatabase.setPath(QStringLiteral("/no_such_database"));
    QTest::newRow("wrong password")
        << wrongPassword.toString() << QStringLiteral("password authentication failed");
    QTest::newRow("closed port") << closedPort.toString() << QStringLiteral("refused");
    QTest::newRow("no such database")
        << noDatabase.toString() << QStringLiteral("\"no_such_database\" does not exist");
    QTest::newRow("no host") << QStringLiteral("postgresql://user:secret@/chat")
                             << QStringLiteral("invalid PostgreSQL URL: no host");
    QTest::newRow("no database name") << QStringLiteral("postgres://user:secret@127.0.0.1:5432")
                                      << QStringLiteral("invalid PostgreSQL URL: no database");
}

void TestDatabase::pgUnusableUrlFails()
{
    POSTGRES_ONLY();
    QFETCH(QString, url);
    QFETCH(QString, expected);
    StorageWriter writer(configFor(url));
    QString error;
    QElapsedTimer timer;
    timer.start();
    QVERIFY(!writer.start(&error));
    QVERIFY2(timer.elapsed() < 10000, qPrintable(QString::number(timer.elapsed())));
    QVERIFY2(error.contains(expected), qPrintable(error));
    QVERIFY2(error.startsWith(QStringLiteral("database ") + StorageWriter::displayName(url)),
             qPrintable(error));
    QVERIFY2(!error.contains(QLatin1Char('\n')), qPrintable(error)); // one line
    const QString password = QUrl(url).password();
    QVERIFY2(password.isEmpty() || !error.contains(password), qPrintable(error));
    QVERIFY(!writer.isHealthy());
    QCOMPARE(writer.nextMessageId(), 0); // no ids from a writer that is not running
}

// The connection is lost (PostgreSQL restarted, or an administrator ended our backend): writes
// fail and the writer is unhealthy; its probe reconnects and writes work again.
void TestDatabase::pgHealthFollowsTheConnection()
{
    POSTGRES_ONLY();
    const QString url = m_databases.database(QStringLiteral("health"));
    StorageWriter writer(configFor(url));
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    const qint64 roomId = writer.nextRoomId();
    writer.submit(room(roomId));
    settle(writer);
    QVERIFY(writer.isHealthy());

    Check check(url);
    QCOMPARE(check
                 .scalar(QStringLiteral("SELECT COUNT(pg_terminate_backend(pid)) FROM "
                                        "pg_stat_activity WHERE datname = current_database() "
                                        "AND pid <> pg_backend_pid()"))
                 .toInt(),
             1);
    const quint64 lost = writer.submit(
        message(writer.nextMessageId(), roomId, QStringLiteral("a"), QStringLiteral("x")));
    settle(writer);
    QCOMPARE(recorder.failedTickets(), QVector<quint64>{lost});
    QVERIFY(!writer.isHealthy());

    QTRY_VERIFY_WITH_TIMEOUT(writer.isHealthy(), 5000); // the probe reconnected
    const quint64 kept = writer.submit(
        message(writer.nextMessageId(), roomId, QStringLiteral("a"), QStringLiteral("kept")));
    settle(writer);
    QVERIFY(recorder.isCommitted(kept));
    QCOMPARE(check.strings(QStringLiteral("SELECT content FROM messages")), QStringList{"kept"});
}

QTEST_GUILESS_MAIN(TestDatabase)
#include "tst_database.moc"
