// The rows as stored: each kind of write, values as given, one bad row, purge, stale rooms.
#include "tests/server/storage/storagetest.h"

#include <QTest>
#include <QThread>
#include <QTimeZone>

using namespace anonchat::server;
using namespace anonchat::test::storage;

class TestRowWriter : public StorageSuite
{
    Q_OBJECT

private slots:
    void foreignKeyFailureFailsOnlyItself();
    void duplicateNonceFailsOnlyItself();
    void roomEndStored();
    void roomEndOfUnknownRoomFails();
    void reportStored();
    void messageTextStoredAsGiven();
    void timesStoredAsUtcIsoWithMs();
    void retentionPurgesOldMessages();
    void staleActiveRoomsClosedAtStart();

    // PostgreSQL only.
    void pgSharedDatabaseLeavesActiveRoomsOpen();
};

void TestRowWriter::foreignKeyFailureFailsOnlyItself()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    {
        Check locker(file); // one group for all four
        QVERIFY(locker.lockWrites());
        writer.submit(room(1));
        writer.submit(message(1, 1, QStringLiteral("alice"), QStringLiteral("before")));
        writer.submit(message(2, 999, QStringLiteral("alice"), QStringLiteral("nowhere")));
        writer.submit(message(3, 1, QStringLiteral("bob"), QStringLiteral("after")));
        QThread::msleep(100);
        QVERIFY(locker.exec(QStringLiteral("ROLLBACK")));
    }
    settle(writer);

    QCOMPARE(recorder.tickets(), range(1, 4));
    QCOMPARE(recorder.failedTickets(), QVector<quint64>{3});
    QVERIFY2(recorder.failure(3).contains(QLatin1String("FOREIGN KEY"), Qt::CaseInsensitive),
             qPrintable(recorder.failure(3)));
    QVERIFY(recorder.isCommitted(1));
    QVERIFY(recorder.isCommitted(2));
    QVERIFY(recorder.isCommitted(4));
    QVERIFY(writer.isHealthy()); // a bad row is not a bad database

    Check check(file);
    QCOMPARE(check.column(QStringLiteral("SELECT id FROM messages ORDER BY id")),
             (QVariantList{1, 3}));
}

void TestRowWriter::duplicateNonceFailsOnlyItself()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    const QString alice = QStringLiteral("alice");
    {
        Check locker(file);
        QVERIFY(locker.lockWrites());
        writer.submit(room(1));
        writer.submit(message(1, 1, alice, QStringLiteral("hi"), QStringLiteral("n1")));
        writer.submit(message(2, 1, alice, QStringLiteral("hi"), QStringLiteral("n1"))); // dup
        writer.submit(message(3, 1, QStringLiteral("bob"), QStringLiteral("hi"),
                              QStringLiteral("n1"))); // another sender may use it
        writer.submit(message(4, 1, alice, QStringLiteral("no nonce")));
        writer.submit(message(5, 1, alice, QStringLiteral("no nonce either")));
        writer.submit(message(6, 1, alice, QStringLiteral("next"), QStringLiteral("n2")));
        QThread::msleep(100);
        QVERIFY(locker.exec(QStringLiteral("ROLLBACK")));
    }
    settle(writer);

    QCOMPARE(recorder.tickets(), range(1, 7));
    QCOMPARE(recorder.failedTickets(), QVector<quint64>{3});
    QVERIFY2(recorder.failure(3).contains(QLatin1String("UNIQUE"), Qt::CaseInsensitive),
             qPrintable(recorder.failure(3)));
    QVERIFY(writer.isHealthy());

    Check check(file);
    QCOMPARE(check.column(QStringLiteral("SELECT id FROM messages ORDER BY id")),
             (QVariantList{1, 3, 4, 5, 6}));
    QCOMPARE(
        check.scalar(QStringLiteral("SELECT COUNT(*) FROM messages WHERE nonce IS NULL")).toInt(),
        2);
}

void TestRowWriter::roomEndStored()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    const QDateTime ended(QDate(2026, 11, 23), QTime(22, 45, 1, 250), QTimeZone::utc());
    writer.submit(room(5));
    const quint64 ticket = writer.submit(RoomEnd{5, ended, QStringLiteral("next")});
    settle(writer);
    QVERIFY(recorder.isCommitted(ticket));

    Check check(file);
    QCOMPARE(check
                 .scalar(QStringLiteral("SELECT is_active || '|' || ended_at || '|' || "
                                        "end_reason FROM chat_rooms WHERE id = 5"))
                 .toString(),
             QStringLiteral("0|2026-11-23T22:45:01.250Z|next"));
}

void TestRowWriter::roomEndOfUnknownRoomFails()
{
    StorageWriter writer(configFor(m_databases.database(QStringLiteral("chat.db"))));
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    const quint64 ticket =
        writer.submit(RoomEnd{77, QDateTime::currentDateTimeUtc(), QStringLiteral("left")});
    settle(writer);
    QCOMPARE(recorder.failedTickets(), QVector<quint64>{ticket});
    QVERIFY2(recorder.failure(ticket).contains(QLatin1String("77")),
             qPrintable(recorder.failure(ticket)));
    QVERIFY(writer.isHealthy());
}

void TestRowWriter::reportStored()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    const QDateTime at(QDate(2026, 1, 2), QTime(3, 4, 5, 6), QTimeZone::utc());
    writer.submit(room(1));
    const quint64 first = writer.submit(
        ReportRow{1, QStringLiteral("alice"), QStringLiteral("bob"), QStringLiteral("spam"), at});
    const quint64 second =
        writer.submit(ReportRow{1, QStringLiteral("bob"), QStringLiteral("alice"), {}, at});
    settle(writer);
    QVERIFY(recorder.isCommitted(first));
    QVERIFY(recorder.isCommitted(second));

    Check check(file);
    QCOMPARE(check.strings(QStringLiteral("SELECT room_id || '|' || reporter_id || '|' || "
                                          "reported_id || '|' || COALESCE(reason, 'NULL') || '|' "
                                          "|| created_at FROM reports ORDER BY id")),
             (QStringList{"1|alice|bob|spam|2026-01-02T03:04:05.006Z",
                          "1|bob|alice|NULL|2026-01-02T03:04:05.006Z"}));
}

void TestRowWriter::messageTextStoredAsGiven()
{
    // The message insert binds on SQLite's own handle when it can: every value must be stored as
    // QSqlQuery stored it (text as given, '' for a null QString, NULL for no nonce, an id of 0
    // left to SQLite).
    const QString file = m_databases.path(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    const QDateTime at(QDate(2024, 2, 29), QTime(23, 59, 59, 999), QTimeZone::utc());
    const QStringList contents{
        QStringLiteral("hello"), QStringLiteral("你好 😀 \"quoted\" \\ back'slash"),
        QStringLiteral("line\nbreak\ttab \u2028 \ufeff"), QString(500, QChar(0x5b57))};
    writer.submit(room(1));
    QVector<quint64> tickets;
    for (int i = 0; i < contents.size(); ++i)
        tickets << writer.submit(message(10 + i, 1, QStringLiteral("3f2a9c1b"), contents[i],
                                         i % 2 ? QStringLiteral("n-%1").arg(i) : QString(), at));
    tickets << writer.submit(message(0, 1, QString(), QStringLiteral("auto id"), {}, at));
    settle(writer);
    for (quint64 t : tickets)
        QVERIFY(recorder.isCommitted(t));

    Check check(file);
    for (int i = 0; i < contents.size(); ++i) {
        const QString where = QStringLiteral(" FROM messages WHERE id = %1").arg(10 + i);
        QCOMPARE(check.scalar(QStringLiteral("SELECT content") + where).toString(), contents[i]);
        QCOMPARE(check.scalar(QStringLiteral("SELECT typeof(content)") + where).toString(),
                 QStringLiteral("text"));
        QCOMPARE(check.scalar(QStringLiteral("SELECT IFNULL(nonce, 'NULL')") + where).toString(),
                 i % 2 ? QStringLiteral("n-%1").arg(i) : QStringLiteral("NULL"));
        QCOMPARE(check.scalar(QStringLiteral("SELECT timestamp") + where).toString(),
                 QStringLiteral("2024-02-29T23:59:59.999Z"));
        QCOMPARE(
            check.scalar(QStringLiteral("SELECT room_id || '|' || sender_id") + where).toString(),
            QStringLiteral("1|3f2a9c1b"));
    }
    QCOMPARE(check
                 .scalar(QStringLiteral("SELECT id > 13 AND sender_id = '' AND nonce IS NULL "
                                        "FROM messages WHERE content = 'auto id'"))
                 .toInt(),
             1);
}

void TestRowWriter::timesStoredAsUtcIsoWithMs()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    // 06:41:07.123 at UTC+8 is 22:41:07.123 the day before in UTC.
    const QDateTime shanghai(QDate(2026, 11, 24), QTime(6, 41, 7, 123), QTimeZone(8 * 3600));
    writer.submit(RoomRow{1, QStringLiteral("a"), QStringLiteral("b"), shanghai});
    writer.submit(message(1, 1, QStringLiteral("a"), QStringLiteral("x"), {},
                          QDateTime(QDate(2026, 11, 23), QTime(22, 41, 8), QTimeZone::utc())));
    settle(writer);

    Check check(file);
    QCOMPARE(check.scalar(QStringLiteral("SELECT created_at FROM chat_rooms")).toString(),
             QStringLiteral("2026-11-23T22:41:07.123Z"));
    QCOMPARE(check.scalar(QStringLiteral("SELECT timestamp FROM messages")).toString(),
             QStringLiteral("2026-11-23T22:41:08.000Z"));
}

void TestRowWriter::retentionPurgesOldMessages()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    const QDateTime now = QDateTime::currentDateTimeUtc();
    {
        StorageWriter writer(configFor(file));
        QString error;
        QVERIFY2(writer.start(&error), qPrintable(error));
        writer.submit(room(1));
        writer.submit(
            message(1, 1, QStringLiteral("a"), QStringLiteral("ten days"), {}, now.addDays(-10)));
        writer.submit(
            message(2, 1, QStringLiteral("a"), QStringLiteral("two days"), {}, now.addDays(-2)));
        writer.submit(
            message(3, 1, QStringLiteral("a"), QStringLiteral("an hour"), {}, now.addSecs(-3600)));
        writer.stop();
    }
    {
        StorageWriter keep(configFor(file)); // retention off by default: nothing goes
        QString error;
        QVERIFY2(keep.start(&error), qPrintable(error));
    }
    {
        Check check(file);
        QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), 3);
    }
    StorageConfig config = configFor(file);
    config.retentionDays = 1;
    StorageWriter writer(config);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));

    Check check(file);
    QCOMPARE(check.column(QStringLiteral("SELECT id FROM messages ORDER BY id")),
             (QVariantList{3}));
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM chat_rooms")).toInt(), 1);
    QVERIFY(writer.nextMessageId() >= 4);
    if (!kPostgres)
        QCOMPARE(writer.nextMessageId(), 5);
}

void TestRowWriter::staleActiveRoomsClosedAtStart()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    {
        StorageWriter first(configFor(file));
        QString error;
        QVERIFY2(first.start(&error), qPrintable(error));
        first.submit(room(1));
        first.submit(room(2));
        first.submit(RoomEnd{2, QDateTime::currentDateTimeUtc(), QStringLiteral("left")});
        first.stop(); // a crash, as far as room 1 is concerned: nobody ended it
    }
    {
        Check check(file);
        QCOMPARE(
            check.scalar(QStringLiteral("SELECT is_active FROM chat_rooms WHERE id = 1")).toInt(),
            1);
    }
    const QString before = QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
    StorageWriter second(configFor(file));
    QString error;
    QVERIFY2(second.start(&error), qPrintable(error));

    Check check(file);
    QCOMPARE(
        check.scalar(QStringLiteral("SELECT COUNT(*) FROM chat_rooms WHERE is_active = 1")).toInt(),
        0);
    QCOMPARE(
        check.scalar(QStringLiteral("SELECT end_reason FROM chat_rooms WHERE id = 1")).toString(),
        QStringLiteral("server_restart"));
    const QString endedAt =
        check.scalar(QStringLiteral("SELECT ended_at FROM chat_rooms WHERE id = 1")).toString();
    QVERIFY2(kIsoUtcMs.match(endedAt).hasMatch(), qPrintable(endedAt));
    QVERIFY2(endedAt >= before, qPrintable(endedAt + QLatin1String(" < ") + before));
    QCOMPARE(
        check.scalar(QStringLiteral("SELECT end_reason FROM chat_rooms WHERE id = 2")).toString(),
        QStringLiteral("left"));
}

void TestRowWriter::pgSharedDatabaseLeavesActiveRoomsOpen()
{
    POSTGRES_ONLY();
    const QString url = m_databases.database(QStringLiteral("live"));
    StorageConfig configA = configFor(url);
    configA.connectionName = QStringLiteral("server-a");
    configA.sharedDatabase = true;
    StorageWriter a(configA);
    QString error;
    QVERIFY2(a.start(&error), qPrintable(error));
    const qint64 live = a.nextRoomId();
    a.submit(room(live));
    a.flush();

    StorageConfig configB = configA;
    configB.connectionName = QStringLiteral("server-b");
    {
        StorageWriter b(configB); // a second server joining: A's room is A's business
        QVERIFY2(b.start(&error), qPrintable(error));
        Check check(url);
        QCOMPARE(check
                     .scalar(QStringLiteral("SELECT is_active || ':' || COALESCE(end_reason, '-') "
                                            "FROM chat_rooms WHERE id = %1")
                                 .arg(live))
                     .toString(),
                 QStringLiteral("1:-"));
    }
    // Without sharedDatabase a server owns the database: what is active was left by a crash.
    configB.sharedDatabase = false;
    StorageWriter alone(configB);
    QVERIFY2(alone.start(&error), qPrintable(error));
    Check check(url);
    QCOMPARE(check
                 .scalar(QStringLiteral("SELECT is_active || ':' || end_reason FROM chat_rooms "
                                        "WHERE id = %1")
                             .arg(live))
                 .toString(),
             QStringLiteral("0:server_restart"));
}

QTEST_GUILESS_MAIN(TestRowWriter)
#include "tst_rowwriter.moc"
