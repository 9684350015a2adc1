// The schema: a fresh database, each numbered upgrade step, the Flask app's, a newer one.
#include "server/storage/database.h"
#include "server/storage/schema.h"
#include "tests/server/storage/storagetest.h"

#include <QTest>
#include <QThread>
#include <algorithm>
#include <memory>
#include <set>
#include <thread>
#include <vector>

using namespace anonchat::server;
using namespace anonchat::test::storage;

namespace {

const QStringList kRoomColumns1{"id", "user1_id", "user2_id", "created_at", "is_active"};
const QStringList kMessageColumns1{"id", "room_id", "sender_id", "content", "timestamp"};

/// The database's version as Schema reads it; -1 if it cannot.
int versionOf(Schema &schema)
{
    int version = -1;
    QString error;
    if (!schema.readVersion(&version, &error))
        qWarning() << "cannot read the schema version:" << error;
    return version;
}

QStringList indexNames(const Check &check)
{
    return check.strings(
        check.isPostgres()
            ? QStringLiteral("SELECT indexname FROM pg_indexes WHERE schemaname = "
                             "current_schema() AND indexname LIKE 'idx%' ORDER BY indexname")
            : QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                             "name LIKE 'idx%' ORDER BY name"));
}

// The parts of freshDatabaseGetsLatestSchema() that differ between the two databases.
void postgresDetailsAreRight(const Check &check)
{
    // BIGINT ids with a sequence each, ISO-8601 text times; the same indexes.
    QCOMPARE(check.strings(QStringLiteral(
                 "SELECT table_name || '.' || column_name || ':' || data_type || ':' || "
                 "COALESCE(column_default, '') FROM information_schema.columns WHERE "
                 "table_schema = current_schema() AND column_name IN ('id', 'room_id', "
                 "'timestamp') ORDER BY 1")),
             (QStringList{"bans.id:bigint:nextval('bans_id_seq'::regclass)",
                          "chat_rooms.id:bigint:nextval('chat_rooms_id_seq'::regclass)",
                          "messages.id:bigint:nextval('messages_id_seq'::regclass)",
                          "messages.room_id:bigint:", "messages.timestamp:text:",
                          "reports.id:bigint:nextval('reports_id_seq'::regclass)",
                          "reports.room_id:bigint:"}));
    QCOMPARE(check
                 .scalar(QStringLiteral("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                        "WHERE conrelid = 'messages'::regclass AND contype = 'f'"))
                 .toString(),
             QStringLiteral("FOREIGN KEY (room_id) REFERENCES chat_rooms(id)"));
    const QStringList indexes = check.strings(
        QStringLiteral("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                       "AND indexname LIKE 'idx_%' ORDER BY indexname"));
    QCOMPARE(indexes,
             (QStringList{"CREATE INDEX idx_chat_rooms_active ON public.chat_rooms USING "
                          "btree (id) WHERE (is_active = 1)",
                          "CREATE UNIQUE INDEX idx_messages_room ON public.messages USING "
                          "btree (room_id, sender_id, nonce)",
                          "CREATE INDEX idx_reports_reported ON public.reports USING btree "
                          "(reported_hash, created_at)"}));
}

void sqliteDetailsAreRight(const Check &check)
{
    QCOMPARE(check
                 .scalar(QStringLiteral("SELECT \"table\" || '.' || \"to\" || ' <- ' || \"from\" "
                                        "FROM pragma_foreign_key_list('messages')"))
                 .toString(),
             QStringLiteral("chat_rooms.id <- room_id"));

    // One index per message: a room's rows and the nonce dedupe (schema version 4).
    const QList<Check::Index> messageIndexes = check.indexes(QStringLiteral("messages"));
    QCOMPARE(messageIndexes.size(), 1);
    QCOMPARE(messageIndexes.first().columns, (QStringList{"room_id", "sender_id", "nonce"}));
    QVERIFY(messageIndexes.first().unique);
    QVERIFY(!messageIndexes.first().partial);

    const QList<Check::Index> roomIndexes = check.indexes(QStringLiteral("chat_rooms"));
    const auto active =
        std::find_if(roomIndexes.begin(), roomIndexes.end(), [](auto &i) { return i.partial; });
    QVERIFY2(active != roomIndexes.end(), "no partial index for active rooms");
    QVERIFY(
        check
            .scalar(
                QStringLiteral("SELECT sql FROM sqlite_master WHERE name = '%1'").arg(active->name))
            .toString()
            .contains(QLatin1String("is_active = 1")));
}

/// What Flask-SQLAlchemy made for the original app, with a few rows.
bool makeFlaskDatabase(const QString &file)
{
    Check flask(file);
    return flask.exec(QStringLiteral(
               "CREATE TABLE chat_rooms (id INTEGER NOT NULL, user1_id VARCHAR(36) NOT NULL, "
               "user2_id VARCHAR(36) NOT NULL, created_at DATETIME, is_active BOOLEAN, "
               "PRIMARY KEY (id))")) &&
           flask.exec(QStringLiteral(
               "CREATE TABLE messages (id INTEGER NOT NULL, room_id INTEGER NOT NULL, "
               "sender_id VARCHAR(36) NOT NULL, content TEXT NOT NULL, timestamp DATETIME, "
               "PRIMARY KEY (id), FOREIGN KEY(room_id) REFERENCES chat_rooms (id))")) &&
           flask.exec(QStringLiteral(
               "INSERT INTO chat_rooms VALUES (1, 'u-a', 'u-b', '2024-05-01 10:00:00.000000', 0), "
               "(2, 'u-c', 'u-d', '2024-05-02 11:00:00.000000', 1)")) &&
           flask.exec(QStringLiteral(
               "INSERT INTO messages VALUES (1, 1, 'u-a', 'hello', '2024-05-01 10:00:01.000000'), "
               "(2, 1, 'u-b', 'hi there', '2024-05-01 10:00:02.000000'), "
               "(7, 2, 'u-c', 'yo', '2024-05-02 11:00:03.000000')"));
}

} // namespace

class TestSchema : public StorageSuite
{
    Q_OBJECT

private slots:
    void freshDatabaseGetsLatestSchema();
    void flaskDatabaseIsMigrated();
    void newerSchemaIsRefused();

    // One test per upgrade step (Schema::upgradeToN), through Schema on a bare Database.
    void upgradeTo1MakesTheFlaskTables();
    void upgradeTo2AddsEndingsNoncesReportsAndIndexes();
    void upgradeTo2KeepsColumnsAddedByHand();
    void upgradeTo3AddsModeration();
    void upgradeTo4KeepsOneIndexPerMessage();
    void failedStepKeepsThePreviousVersion();
    void latestVersionIsTheLastStep();

    // PostgreSQL only.
    void pgWritersStartingTogetherMigrateOnce();
};

void TestSchema::freshDatabaseGetsLatestSchema()
{
    const QString file = m_databases.database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    QVERIFY(kPostgres || QFile::exists(file));
    QCOMPARE(StorageWriter::latestSchemaVersion(), 4);

    Check check(file);
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM schema_version")).toInt(), 1);
    QCOMPARE(check.scalar(QStringLiteral("SELECT version FROM schema_version")).toInt(),
             StorageWriter::latestSchemaVersion());

    const QStringList tables = check.strings(
        kPostgres ? QStringLiteral("SELECT table_name FROM information_schema.tables WHERE "
                                   "table_schema = current_schema() ORDER BY table_name")
                  : QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'table' "
                                   "ORDER BY name"));
    QCOMPARE(tables, (QStringList{"bans", "chat_rooms", "messages", "reports", "schema_version",
                                  "server_secrets"}));
    QCOMPARE(check.columns(QStringLiteral("chat_rooms")),
             (QStringList{"id", "user1_id", "user2_id", "created_at", "is_active", "ended_at",
                          "end_reason"}));
    QCOMPARE(check.columns(QStringLiteral("messages")),
             (QStringList{"id", "room_id", "sender_id", "content", "timestamp", "nonce"}));
    QCOMPARE(check.columns(QStringLiteral("reports")),
             (QStringList{"id", "room_id", "reporter_id", "reported_id", "reason", "created_at",
                          "status", "reporter_hash", "reported_hash"}));
    if (kPostgres)
        postgresDetailsAreRight(check);
    else
        sqliteDetailsAreRight(check);
}

void TestSchema::flaskDatabaseIsMigrated()
{
    SQLITE_ONLY();
    const QString file = m_databases.path(QStringLiteral("flask.db"));
    QVERIFY(makeFlaskDatabase(file));

    StorageWriter writer(configFor(file));
    Recorder recorder(&writer);
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));

    {
        Check check(file);
        QCOMPARE(check.scalar(QStringLiteral("SELECT version FROM schema_version")).toInt(),
                 StorageWriter::latestSchemaVersion());
        QCOMPARE(check.strings(QStringLiteral("SELECT id || ':' || sender_id || ':' || content "
                                              "FROM messages ORDER BY id")),
                 (QStringList{"1:u-a:hello", "2:u-b:hi there", "7:u-c:yo"}));
        QCOMPARE(check.strings(QStringLiteral("SELECT user1_id || '/' || user2_id || '/' || "
                                              "created_at FROM chat_rooms ORDER BY id")),
                 (QStringList{"u-a/u-b/2024-05-01 10:00:00.000000",
                              "u-c/u-d/2024-05-02 11:00:00.000000"}));
        QVERIFY(check.columns(QStringLiteral("chat_rooms")).contains(QStringLiteral("ended_at")));
        QVERIFY(check.columns(QStringLiteral("chat_rooms")).contains(QStringLiteral("end_reason")));
        QVERIFY(check.columns(QStringLiteral("messages")).contains(QStringLiteral("nonce")));
        QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM reports")).toInt(), 0);
        // The room the Flask app left active is closed; the one it had ended is left alone.
        QCOMPARE(check
                     .scalar(QStringLiteral("SELECT is_active || ':' || end_reason "
                                            "FROM chat_rooms WHERE id = 2"))
                     .toString(),
                 QStringLiteral("0:server_restart"));
        QVERIFY(check.scalar(QStringLiteral("SELECT end_reason FROM chat_rooms WHERE id = 1"))
                    .isNull());
    }
    QCOMPARE(writer.nextRoomId(), 3);
    QCOMPARE(writer.nextMessageId(), 8);

    // The migrated file takes our writes, nonces included.
    const quint64 ticket = writer.submit(
        message(8, 1, QStringLiteral("u-a"), QStringLiteral("again"), QStringLiteral("n-1")));
    settle(writer);
    QVERIFY(recorder.isCommitted(ticket));
    Check check(file);
    QCOMPARE(check.scalar(QStringLiteral("SELECT nonce FROM messages WHERE id = 8")).toString(),
             QStringLiteral("n-1"));
}

void TestSchema::newerSchemaIsRefused()
{
    const QString file = m_databases.database(QStringLiteral("future.db"));
    {
        Check future(file);
        QVERIFY(
            future.exec(QStringLiteral("CREATE TABLE schema_version (version INTEGER NOT NULL)")));
        QVERIFY(future.exec(QStringLiteral("INSERT INTO schema_version VALUES (99)")));
    }
    StorageWriter writer(configFor(file));
    QString error;
    QVERIFY(!writer.start(&error));
    QVERIFY2(error.contains(StorageWriter::displayName(file)), qPrintable(error));
    QVERIFY2(error.contains(QLatin1String("99")), qPrintable(error));
    QVERIFY2(error.contains(QLatin1String("newer")), qPrintable(error));
    QVERIFY(!writer.isHealthy());

    // Refused without touching it.
    Check check(file);
    QCOMPARE(check.scalar(QStringLiteral("SELECT version FROM schema_version")).toInt(), 99);
    if (kPostgres) {
        QVERIFY(check.scalar(QStringLiteral("SELECT to_regclass('chat_rooms')")).isNull());
        return;
    }
    QCOMPARE(check.scalar(QStringLiteral("PRAGMA journal_mode")).toString(),
             QStringLiteral("delete"));
    QCOMPARE(check
                 .scalar(QStringLiteral("SELECT COUNT(*) FROM sqlite_master "
                                        "WHERE name = 'chat_rooms'"))
                 .toInt(),
             0);
}

void TestSchema::pgWritersStartingTogetherMigrateOnce()
{
    POSTGRES_ONLY();
    const QString url = m_databases.database(QStringLiteral("together"));
    constexpr int kWriters = 4;
    std::vector<std::unique_ptr<StorageWriter>> writers;
    for (int i = 0; i < kWriters; ++i) {
        StorageConfig config = configFor(url);
        config.connectionName = QStringLiteral("server-%1").arg(i);
        config.sharedDatabase = true;
        writers.push_back(std::make_unique<StorageWriter>(config));
    }
    std::vector<QString> errors(kWriters);
    std::vector<char> started(kWriters, 0);
    std::vector<std::thread> threads;
    for (int i = 0; i < kWriters; ++i) {
        threads.emplace_back(
            [&, i] { started[size_t(i)] = writers[size_t(i)]->start(&errors[size_t(i)]); });
    }
    for (std::thread &t : threads)
        t.join();
    for (int i = 0; i < kWriters; ++i)
        QVERIFY2(started[size_t(i)], qPrintable(errors[size_t(i)]));

    Check check(url);
    QCOMPARE(check.column(QStringLiteral("SELECT version FROM schema_version")),
             (QVariantList{StorageWriter::latestSchemaVersion()}));
    QCOMPARE(check.columns(QStringLiteral("messages")),
             (QStringList{"id", "room_id", "sender_id", "content", "timestamp", "nonce"}));
    // All of them write.
    std::set<qint64> ids;
    for (auto &writer : writers) {
        const qint64 roomId = writer->nextRoomId();
        QVERIFY(ids.insert(roomId).second);
        writer->submit(room(roomId));
        writer->flush();
    }
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM chat_rooms")).toInt(), kWriters);
}

void TestSchema::upgradeTo1MakesTheFlaskTables()
{
    const QString file = m_databases.database(QStringLiteral("step1.db"));
    Database db(file, QStringLiteral("tst-schema"));
    QString error;
    QVERIFY2(db.open(&error), qPrintable(error));
    Schema schema(db);
    QCOMPARE(versionOf(schema), 0);
    QVERIFY2(schema.migrate(&error, 1), qPrintable(error));
    QCOMPARE(versionOf(schema), 1);

    Check check(file);
    QCOMPARE(check.column(QStringLiteral("SELECT version FROM schema_version")), (QVariantList{1}));
    QCOMPARE(check.columns(QStringLiteral("chat_rooms")), kRoomColumns1);
    QCOMPARE(check.columns(QStringLiteral("messages")), kMessageColumns1);
    QVERIFY(check.columns(QStringLiteral("reports")).isEmpty()); // step 2's
    QVERIFY(indexNames(check).isEmpty());
    // A room is active unless said otherwise, and a message needs its room.
    QVERIFY(check.exec(QStringLiteral("INSERT INTO chat_rooms (id, user1_id, user2_id, "
                                      "created_at) VALUES (1, 'a', 'b', 't')")));
    QCOMPARE(check.scalar(QStringLiteral("SELECT is_active FROM chat_rooms")).toInt(), 1);
    if (check.isPostgres() ||
        check.exec(QStringLiteral("PRAGMA foreign_keys = ON"))) { // SQLite: per connection
        QVERIFY(!check.exec(QStringLiteral("INSERT INTO messages (id, room_id, sender_id, "
                                           "content, timestamp) VALUES (1, 9, 'a', 'x', 't')")));
    }
}

void TestSchema::upgradeTo2AddsEndingsNoncesReportsAndIndexes()
{
    const QString file = m_databases.database(QStringLiteral("step2.db"));
    Database db(file, QStringLiteral("tst-schema"));
    QString error;
    QVERIFY2(db.open(&error), qPrintable(error));
    Schema schema(db);
    QVERIFY2(schema.migrate(&error, 1), qPrintable(error));
    {
        Check check(file); // rows written at version 1 must come through
        QVERIFY(check.exec(QStringLiteral("INSERT INTO chat_rooms (id, user1_id, user2_id, "
                                          "created_at) VALUES (1, 'a', 'b', 't0')")));
        QVERIFY(check.exec(QStringLiteral("INSERT INTO messages (id, room_id, sender_id, "
                                          "content, timestamp) VALUES (1, 1, 'a', 'hi', 't1')")));
    }
    QVERIFY2(schema.migrate(&error, 2), qPrintable(error));
    QCOMPARE(versionOf(schema), 2);

    Check check(file);
    QCOMPARE(check.column(QStringLiteral("SELECT version FROM schema_version")), (QVariantList{2}));
    QCOMPARE(check.columns(QStringLiteral("chat_rooms")),
             (kRoomColumns1 + QStringList{"ended_at", "end_reason"}));
    QCOMPARE(check.columns(QStringLiteral("messages")), (kMessageColumns1 + QStringList{"nonce"}));
    QCOMPARE(check.columns(QStringLiteral("reports")),
             (QStringList{"id", "room_id", "reporter_id", "reported_id", "reason", "created_at"}));
    QCOMPARE(indexNames(check),
             (QStringList{"idx_chat_rooms_active", "idx_messages_nonce", "idx_messages_room_id"}));
    QCOMPARE(check.strings(QStringLiteral("SELECT is_active || ':' || COALESCE(ended_at, '-') || "
                                          "':' || COALESCE(end_reason, '-') FROM chat_rooms")),
             QStringList{"1:-:-"});
    QCOMPARE(check.strings(QStringLiteral("SELECT content || ':' || COALESCE(nonce, '-') "
                                          "FROM messages")),
             QStringList{"hi:-"});
}

void TestSchema::upgradeTo2KeepsColumnsAddedByHand()
{
    // Someone upgraded a Flask database by hand before: step 2 adds only what is missing.
    const QString file = m_databases.database(QStringLiteral("byhand.db"));
    Database db(file, QStringLiteral("tst-schema"));
    QString error;
    QVERIFY2(db.open(&error), qPrintable(error));
    Schema schema(db);
    QVERIFY2(schema.migrate(&error, 1), qPrintable(error));
    {
        Check check(file);
        QVERIFY(check.exec(QStringLiteral("ALTER TABLE chat_rooms ADD COLUMN ended_at TEXT")));
        QVERIFY(check.exec(QStringLiteral("ALTER TABLE messages ADD COLUMN nonce TEXT")));
    }
    QVERIFY2(schema.migrate(&error, 2), qPrintable(error));
    QCOMPARE(versionOf(schema), 2);
    Check check(file);
    QCOMPARE(check.columns(QStringLiteral("chat_rooms")),
             (kRoomColumns1 + QStringList{"ended_at", "end_reason"}));
    QCOMPARE(check.columns(QStringLiteral("messages")), (kMessageColumns1 + QStringList{"nonce"}));
}

void TestSchema::upgradeTo3AddsModeration()
{
    const QString file = m_databases.database(QStringLiteral("step3.db"));
    Database db(file, QStringLiteral("tst-schema"));
    QString error;
    QVERIFY2(db.open(&error), qPrintable(error));
    Schema schema(db);
    QVERIFY2(schema.migrate(&error, 2), qPrintable(error));
    {
        Check check(file); // a report written at version 2 comes through as open
        QVERIFY(check.exec(QStringLiteral("INSERT INTO reports (room_id, reporter_id, "
                                          "reported_id, reason, created_at) "
                                          "VALUES (1, 'a', 'b', 'spam', 't0')")));
    }
    QVERIFY2(schema.migrate(&error, 3), qPrintable(error));
    QCOMPARE(versionOf(schema), 3);

    Check check(file);
    QCOMPARE(check.columns(QStringLiteral("reports")),
             (QStringList{"id", "room_id", "reporter_id", "reported_id", "reason", "created_at",
                          "status", "reporter_hash", "reported_hash"}));
    QCOMPARE(check.columns(QStringLiteral("bans")),
             (QStringList{"id", "address_hash", "until", "note", "created_at", "report_id",
                          "lifted_at"}));
    QCOMPARE(check.strings(QStringLiteral("SELECT reason || ':' || status || ':' || "
                                          "COALESCE(reported_hash, '-') FROM reports")),
             QStringList{"spam:open:-"});
    QVERIFY(indexNames(check).contains(QStringLiteral("idx_reports_reported")));
    // One secret, 32 random bytes as hex: the key of the address hashes.
    const QStringList secrets = check.strings(QStringLiteral("SELECT value FROM server_secrets "
                                                             "WHERE name = 'address_hmac'"));
    QCOMPARE(secrets.size(), 1);
    QCOMPARE(QByteArray::fromHex(secrets.first().toLatin1()).size(), 32);
    QCOMPARE(secrets.first().size(), 64);
    // A ban's id comes from the database.
    QVERIFY(check.exec(QStringLiteral("INSERT INTO bans (address_hash, until, created_at) "
                                      "VALUES ('h', 'u', 'c')")));
    QCOMPARE(check.strings(QStringLiteral("SELECT id FROM bans")), QStringList{"1"});
}

void TestSchema::upgradeTo4KeepsOneIndexPerMessage()
{
    const QString file = m_databases.database(QStringLiteral("step4.db"));
    Database db(file, QStringLiteral("tst-schema"));
    QString error;
    QVERIFY2(db.open(&error), qPrintable(error));
    Schema schema(db);
    QVERIFY2(schema.migrate(&error, 3), qPrintable(error));
    {
        Check check(file); // rows written at version 3 come through
        QVERIFY(check.exec(QStringLiteral("INSERT INTO chat_rooms (id, user1_id, user2_id, "
                                          "created_at) VALUES (1, 'a', 'b', 't0')")));
        QVERIFY(check.exec(QStringLiteral("INSERT INTO messages (id, room_id, sender_id, "
                                          "content, timestamp, nonce) VALUES "
                                          "(1, 1, 'a', 'hi', 't1', 'n1'), "
                                          "(2, 1, 'a', 'again', 't2', NULL)")));
    }
    QVERIFY2(schema.migrate(&error, 4), qPrintable(error));
    QCOMPARE(versionOf(schema), 4);

    Check check(file);
    const QStringList indexes = indexNames(check);
    QVERIFY(indexes.contains(QStringLiteral("idx_messages_room")));
    QVERIFY(!indexes.contains(QStringLiteral("idx_messages_nonce")));
    QVERIFY(!indexes.contains(QStringLiteral("idx_messages_room_id")));
    QCOMPARE(check.strings(QStringLiteral("SELECT content FROM messages ORDER BY id")),
             (QStringList{"hi", "again"}));
    // The dedupe holds: a nonce again from the same sender in the same room is refused...
    QVERIFY(!check.exec(QStringLiteral("INSERT INTO messages (id, room_id, sender_id, content, "
                                       "timestamp, nonce) VALUES (3, 1, 'a', 'x', 't3', 'n1')")));
    // ...from the other member, or without a nonce, it is not.
    QVERIFY(check.exec(QStringLiteral("INSERT INTO messages (id, room_id, sender_id, content, "
                                      "timestamp, nonce) VALUES (4, 1, 'b', 'y', 't4', 'n1'), "
                                      "(5, 1, 'a', 'z', 't5', NULL)")));
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), 4);
}

void TestSchema::failedStepKeepsThePreviousVersion()
{
    // Step 2 cannot add a column to a view: what it did before that is rolled back with it.
    const QString file = m_databases.database(QStringLiteral("failed.db"));
    Database db(file, QStringLiteral("tst-schema"));
    QString error;
    QVERIFY2(db.open(&error), qPrintable(error));
    Schema schema(db);
    QVERIFY2(schema.migrate(&error, 1), qPrintable(error));
    {
        Check check(file);
        QVERIFY(check.exec(QStringLiteral("DROP TABLE messages")));
        QVERIFY(check.exec(QStringLiteral(
            "CREATE VIEW messages AS SELECT id, id AS room_id, user1_id AS sender_id, "
            "user2_id AS content, created_at AS timestamp FROM chat_rooms")));
    }
    QVERIFY(!schema.migrate(&error));
    QVERIFY2(error.startsWith(QLatin1String("migration to schema version 2 failed: ")),
             qPrintable(error));
    QCOMPARE(versionOf(schema), 1);
    Check check(file);
    QCOMPARE(check.columns(QStringLiteral("chat_rooms")), kRoomColumns1);
    QVERIFY(check.columns(QStringLiteral("reports")).isEmpty());
}

void TestSchema::latestVersionIsTheLastStep()
{
    // A new step needs latestVersion() raised with it, or no database would get it.
    QCOMPARE(Schema::latestVersion(), StorageWriter::latestSchemaVersion());
    const QString file = m_databases.database(QStringLiteral("latest.db"));
    Database db(file, QStringLiteral("tst-schema"));
    QString error;
    QVERIFY2(db.open(&error), qPrintable(error));
    Schema schema(db);
    QVERIFY(!schema.migrate(&error, Schema::latestVersion() + 1));
    QVERIFY2(
        error.contains(
            QStringLiteral("no migration to schema version %1").arg(Schema::latestVersion() + 1)),
        qPrintable(error));
    QCOMPARE(versionOf(schema), Schema::latestVersion()); // every step before it was applied
}

QTEST_GUILESS_MAIN(TestSchema)
#include "tst_schema.moc"
