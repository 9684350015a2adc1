// Ids: continuing after a restart, unique across threads and across servers on one database.
#include "tests/server/storage/storagetest.h"

#include <QTest>
#include <set>
#include <thread>
#include <vector>

using namespace anonchat::server;
using namespace anonchat::test::storage;

namespace {

constexpr int kRooms = 20;
constexpr int kEach = 2500; // messages per writer: the reserves are refilled a few times

struct Taken {
    std::vector<qint64> rooms, messages;
};

/// kRooms rooms with kEach messages in all, from `who`, on ids the writer gives.
void feed(StorageWriter *writer, const QString &who, Taken *taken)
{
    for (int r = 0; r < kRooms; ++r) {
        const qint64 roomId = writer->nextRoomId();
        taken->rooms.push_back(roomId);
        writer->submit(room(roomId));
        for (int i = 0; i < kEach / kRooms; ++i) {
            const qint64 id = writer->nextMessageId();
            taken->messages.push_back(id);
            writer->submit(message(id, roomId, who, who));
        }
    }
}

} // namespace

class TestIdAllocator : public StorageSuite
{
    Q_OBJECT

private slots:
    void idsContinueAfterRestart();
    void idsAreUniqueAcrossThreads();

    // PostgreSQL only.
    void pgWritersOnOneDatabaseGetDisjointIds();
};

void TestIdAllocator::idsContinueAfterRestart()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    {
        StorageWriter first(configFor(file));
        QString error;
        QVERIFY2(first.start(&error), qPrintable(error));
        // A fresh database starts at 1 (PostgreSQL: the sequences' first block).
        QCOMPARE(first.nextRoomId(), 1);
        QCOMPARE(first.nextRoomId(), 2);
        QCOMPARE(first.nextMessageId(), 1);
        first.submit(room(1));
        first.submit(room(2));
        first.submit(message(1, 1, QStringLiteral("alice"), QStringLiteral("one")));
        first.submit(message(41, 2, QStringLiteral("bob"), QStringLiteral("forty-one")));
        first.stop();
    }
    if (kPostgres) {
        // A row whose id did not come from the sequence (written by hand, or copied in).
        Check check(file);
        QVERIFY(check.exec(QStringLiteral("INSERT INTO messages (id, room_id, sender_id, "
                                          "content, timestamp) VALUES (50000, 1, 'x', 'y', 'z')")));
    }
    StorageWriter second(configFor(file));
    QString error;
    QVERIFY2(second.start(&error), qPrintable(error));
    if (kPostgres) {
        // After what the first one reserved (its unused ids are skipped, never reused), and past
        // the id written from elsewhere.
        const qint64 roomId = second.nextRoomId();
        QVERIFY2(roomId > 2, qPrintable(QString::number(roomId)));
        const qint64 messageId = second.nextMessageId();
        QVERIFY2(messageId > 50000, qPrintable(QString::number(messageId)));
        QCOMPARE(second.nextMessageId(), messageId + 1);
        return;
    }
    QCOMPARE(second.nextRoomId(), 3);
    QCOMPARE(second.nextMessageId(), 42);
    QCOMPARE(second.nextMessageId(), 43);
}

void TestIdAllocator::idsAreUniqueAcrossThreads()
{
    StorageWriter writer(configFor(m_databases.database(QStringLiteral("chat.db"))));
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    constexpr int kThreads = 4;
    constexpr int kEach = 5000;
    std::vector<std::vector<qint64>> taken(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&writer, &ids = taken[size_t(t)]] {
            for (int i = 0; i < kEach; ++i)
                ids.push_back(writer.nextMessageId());
        });
    }
    for (std::thread &t : threads)
        t.join();
    std::set<qint64> all;
    for (const auto &ids : taken)
        all.insert(ids.begin(), ids.end());
    QCOMPARE(int(all.size()), kThreads * kEach);
    QCOMPARE(*all.begin(), 1);
    QCOMPARE(*all.rbegin(), qint64(kThreads * kEach));
}

// Two servers on one database (two writers, two connection names): ids taken concurrently from
// the sequences never collide, and every row is stored exactly once.
void TestIdAllocator::pgWritersOnOneDatabaseGetDisjointIds()
{
    POSTGRES_ONLY();
    const QString url = m_databases.database(QStringLiteral("shared"));
    StorageConfig configA = configFor(url);
    configA.connectionName = QStringLiteral("server-a");
    configA.sharedDatabase = true;
    StorageConfig configB = configA;
    configB.connectionName = QStringLiteral("server-b");
    StorageWriter a(configA);
    StorageWriter b(configB);
    Recorder recorderA(&a);
    Recorder recorderB(&b);
    QString error;
    QVERIFY2(a.start(&error), qPrintable(error));
    QVERIFY2(b.start(&error), qPrintable(error));

    Taken takenA, takenB;
    std::thread ta(feed, &a, QStringLiteral("A"), &takenA);
    std::thread tb(feed, &b, QStringLiteral("B"), &takenB);
    ta.join();
    tb.join();
    settle(a);
    settle(b);
    QVERIFY(recorderA.failedTickets().isEmpty());
    QVERIFY(recorderB.failedTickets().isEmpty());
    QCOMPARE(recorderA.tickets(), range(1, kRooms + kEach));
    QCOMPARE(recorderB.tickets(), range(1, kRooms + kEach));

    std::set<qint64> rooms(takenA.rooms.begin(), takenA.rooms.end());
    rooms.insert(takenB.rooms.begin(), takenB.rooms.end());
    std::set<qint64> messages(takenA.messages.begin(), takenA.messages.end());
    messages.insert(takenB.messages.begin(), takenB.messages.end());
    QCOMPARE(int(rooms.size()), 2 * kRooms);
    QCOMPARE(int(messages.size()), 2 * kEach);
    QVERIFY(!rooms.count(0) && !messages.count(0));

    Check check(url);
    QVariantList expected;
    for (qint64 id : messages)
        expected.append(id);
    QCOMPARE(check.column(QStringLiteral("SELECT id FROM messages ORDER BY id")), expected);
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM chat_rooms")).toInt(), 2 * kRooms);
    QCOMPARE(
        check.scalar(QStringLiteral("SELECT COUNT(*) FROM messages WHERE sender_id = 'A'")).toInt(),
        kEach);
}

QTEST_GUILESS_MAIN(TestIdAllocator)
#include "tst_idallocator.moc"
