#include "server/storage/storagewriter.h"
#include "tests/support/engines.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <QTimeZone>
#include <QUrl>
#include <algorithm>
#include <csignal>
#include <memory>
#include <numeric>
#include <set>
#include <sys/resource.h>
#include <thread>
#include <vector>

using namespace anonchat::server;

namespace {

const QRegularExpression kIsoUtcMs(QStringLiteral(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\d\dZ$)"));

// The same cases run against SQLite files (ctest: tst_storage) and against a real PostgreSQL
// (tst_storage_pg: ANONCHAT_TEST_DB=postgresql, and ANONCHAT_PG_URL_FILE names the file where
// scripts/pg.sh wrote the server's URL; each case gets fresh databases there).
const bool kPostgres = qEnvironmentVariable("ANONCHAT_TEST_DB") == QLatin1String("postgresql");

/// Opens a QPSQL connection called `name` to a postgresql:// URL.
bool openPostgres(const QString &name, const QString &text, QString *error)
{
    QSqlDatabase db = anonchat::test::addPostgres(name, text);
    if (db.open() && QSqlQuery(db).exec(QStringLiteral("SET client_min_messages = warning")))
        return true;
    *error = db.lastError().text();
    return false;
}

/// Every committed/failed report, in the order the test thread received them (queued, as the
/// server connects them).
class Recorder : public QObject
{
public:
    struct Report {
        bool ok = false;
        QVector<quint64> tickets;
        double seconds = 0;
        QString error;
    };

    explicit Recorder(StorageWriter *writer)
    {
        connect(
            writer, &StorageWriter::committed, this,
            [this](const QVector<quint64> &t, double s) {
                reports.push_back({true, t, s, {}});
            },
            Qt::QueuedConnection);
        connect(
            writer, &StorageWriter::failed, this,
            [this](const QVector<quint64> &t, const QString &e) {
                reports.push_back({false, t, 0, e});
            },
            Qt::QueuedConnection);
    }

    QVector<quint64> tickets() const
    {
        QVector<quint64> all;
        for (const Report &r : reports)
            all += r.tickets;
        return all;
    }
    const Report *find(quint64 ticket) const
    {
        for (const Report &r : reports) {
            if (r.tickets.contains(ticket))
                return &r;
        }
        return nullptr;
    }
    bool isCommitted(quint64 ticket) const
    {
        const Report *r = find(ticket);
        return r && r->ok;
    }
    QString failure(quint64 ticket) const
    {
        const Report *r = find(ticket);
        return r && !r->ok ? r->error : QString();
    }
    QVector<quint64> failedTickets() const
    {
        QVector<quint64> all;
        for (const Report &r : reports) {
            if (!r.ok)
                all += r.tickets;
        }
        return all;
    }

    std::vector<Report> reports;
};

/// A separate connection to the file, in the test thread, to see what really is on disk.
class Check
{
public:
    explicit Check(const QString &path)
        : m_name(QStringLiteral("check-%1").arg(++s_count))
    {
        QString error;
        if (StorageWriter::isPostgresUrl(path)) {
            if (!openPostgres(m_name, path, &error))
                qWarning() << "cannot open" << path << error;
            return;
        }
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_name);
        db.setDatabaseName(path);
        if (!db.open())
            qWarning() << "cannot open" << path << db.lastError().text();
    }
    ~Check()
    {
        QSqlDatabase::database(m_name, false).close();
        QSqlDatabase::removeDatabase(m_name);
    }
    Check(const Check &) = delete;
    Check &operator=(const Check &) = delete;

    QSqlDatabase db() const { return QSqlDatabase::database(m_name, false); }

    bool exec(const QString &sql) const
    {
        QSqlQuery q(db());
        if (q.exec(sql))
            return true;
        qWarning() << sql << q.lastError().text();
        return false;
    }
    QVariant scalar(const QString &sql) const
    {
        QSqlQuery q(db());
        if (!q.exec(sql) || !q.next()) {
            qWarning() << sql << q.lastError().text();
            return {};
        }
        return q.value(0);
    }
    QVariantList column(const QString &sql) const
    {
        QSqlQuery q(db());
        QVariantList values;
        if (!q.exec(sql))
            qWarning() << sql << q.lastError().text();
        while (q.next())
            values.append(q.value(0));
        return values;
    }
    QStringList strings(const QString &sql) const
    {
        QStringList values;
        for (const QVariant &v : column(sql))
            values.append(v.toString());
        return values;
    }
    bool isPostgres() const { return db().driverName() == QLatin1String("QPSQL"); }

    /// Holds the write lock of the tables until ROLLBACK, so that the writer has to wait.
    bool lockWrites() const
    {
        if (!isPostgres())
            return exec(QStringLiteral("BEGIN IMMEDIATE"));
        return exec(QStringLiteral("BEGIN")) &&
               exec(QStringLiteral("LOCK TABLE chat_rooms, messages, reports IN EXCLUSIVE MODE"));
    }

    QStringList columns(const QString &table) const
    {
        if (isPostgres()) {
            return strings(QStringLiteral("SELECT column_name FROM information_schema.columns "
                                          "WHERE table_schema = current_schema() AND "
                                          "table_name = '%1' ORDER BY ordinal_position")
                               .arg(table));
        }
        QSqlQuery q(db());
        QStringList names;
        q.exec(QStringLiteral("PRAGMA table_info(%1)").arg(table));
        while (q.next())
            names.append(q.value(1).toString());
        return names;
    }

    struct Index {
        QString name;
        bool unique = false;
        bool partial = false;
        QStringList columns;
    };
    QList<Index> indexes(const QString &table) const
    {
        QList<Index> result;
        {
            QSqlQuery q(db());
            q.exec(QStringLiteral("PRAGMA index_list(%1)").arg(table));
            while (q.next()) {
                result.append(
                    {q.value(1).toString(), q.value(2).toBool(), q.value(4).toBool(), {}});
            }
        }
        for (Index &index : result) {
            QSqlQuery q(db());
            q.exec(QStringLiteral("PRAGMA index_info(%1)").arg(index.name));
            while (q.next())
                index.columns.append(q.value(2).toString());
        }
        return result;
    }

private:
    static inline int s_count = 0;
    QString m_name;
};

/// flush() guarantees the reports are posted; deliver them to the recorder.
void settle(StorageWriter &writer)
{
    writer.flush();
    QCoreApplication::sendPostedEvents();
}

QVector<quint64> range(quint64 first, quint64 last)
{
    QVector<quint64> v(qsizetype(last - first + 1));
    std::iota(v.begin(), v.end(), first);
    return v;
}

StorageConfig configFor(const QString &path)
{
    StorageConfig config;
    config.database = path;
    return config;
}

MessageRow message(qint64 id, qint64 roomId, const QString &sender, const QString &content,
                   const QString &nonce = {}, QDateTime at = QDateTime::currentDateTimeUtc())
{
    return MessageRow{id, roomId, sender, content, at, nonce};
}

RoomRow room(qint64 id)
{
    return RoomRow{id, QStringLiteral("alice"), QStringLiteral("bob"),
                   QDateTime::currentDateTimeUtc()};
}

} // namespace

class TestStorage : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void freshDatabaseGetsLatestSchema();
    void journalModeIsWal();
    void flaskDatabaseIsMigrated();
    void newerSchemaIsRefused();
    void unusablePathFails_data();
    void unusablePathFails();
    void staleActiveRoomsClosedAtStart();
    void idsContinueAfterRestart();
    void idsAreUniqueAcrossThreads();
    void groupCommit();
    void foreignKeyFailureFailsOnlyItself();
    void duplicateNonceFailsOnlyItself();
    void roomEndStored();
    void roomEndOfUnknownRoomFails();
    void reportStored();
    void messageTextStoredAsGiven();
    void timesStoredAsUtcIsoWithMs();
    void retentionPurgesOldMessages();
    void walDataSurvivesStop();
    void flushWaitsForEarlierWrites();
    void stopCommitsPendingAndIsIdempotent();
    void submitAfterStopFails();
    void submitBeforeStartIsWrittenAtStart();
    void healthFollowsTheDisk();
    void twoWritersInOneProcess();
    void connectionRemovedOnStop();

    // PostgreSQL only: several servers on one database, connection failures.
    void pgWritersOnOneDatabaseGetDisjointIds();
    void pgWritersStartingTogetherMigrateOnce();
    void pgSharedDatabaseLeavesActiveRoomsOpen();
    void pgUnusableUrlFails_data();
    void pgUnusableUrlFails();
    void pgHealthFollowsTheConnection();

private:
    QString path(const QString &name) const { return m_dir->filePath(name); }
    /// A new, empty database: a file in the test's directory, or a fresh PostgreSQL database.
    QString database(const QString &name);

    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_postgresUrl; ///< the server's own database: where fresh ones are made
};

#define SQLITE_ONLY()                                                                              \
    if (kPostgres)                                                                                 \
    QSKIP("SQLite only (the file, its journal, or the original Flask schema)")
#define POSTGRES_ONLY()                                                                            \
    if (!kPostgres)                                                                                \
    QSKIP("PostgreSQL only (tst_storage_pg)")

void TestStorage::initTestCase()
{
    QVERIFY2(QSqlDatabase::isDriverAvailable(QStringLiteral("QSQLITE")),
             "the Qt SQLite driver (libqt6sql6-sqlite) is needed");
    if (!kPostgres)
        return;
    QVERIFY2(QSqlDatabase::isDriverAvailable(QStringLiteral("QPSQL")),
             "the Qt PostgreSQL driver (libqt6sql6-psql) is needed");
    const QString urlFile = qEnvironmentVariable("ANONCHAT_PG_URL_FILE");
    QFile file(urlFile);
    QVERIFY2(!urlFile.isEmpty() && file.open(QIODevice::ReadOnly),
             qPrintable(QStringLiteral("no PostgreSQL URL: ANONCHAT_PG_URL_FILE='%1' (ctest's "
                                       "postgres_start fixture writes it: scripts/pg.sh)")
                            .arg(urlFile)));
    m_postgresUrl = QString::fromUtf8(file.readAll()).trimmed();
    QVERIFY2(StorageWriter::isPostgresUrl(m_postgresUrl), qPrintable(m_postgresUrl));
}

QString TestStorage::database(const QString &name)
{
    if (!kPostgres)
        return path(name);
    // tst_storage_<name>, made anew by the server's own user (it may create databases).
    QString dbName = QStringLiteral("tst_storage_") + name;
    dbName.replace(QLatin1Char('.'), QLatin1Char('_'));
    const QString connection = QStringLiteral("admin");
    QString error;
    {
        if (!openPostgres(connection, m_postgresUrl, &error))
            qFatal("cannot connect to %s: %s", qPrintable(m_postgresUrl), qPrintable(error));
        QSqlQuery q(QSqlDatabase::database(connection, false));
        for (const QString &sql : {QStringLiteral("DROP DATABASE IF EXISTS %1 WITH (FORCE)"),
                                   QStringLiteral("CREATE DATABASE %1")}) {
            if (!q.exec(sql.arg(dbName)))
                qFatal("%s: %s", qPrintable(sql.arg(dbName)), qPrintable(q.lastError().text()));
        }
    }
    QSqlDatabase::database(connection, false).close();
    QSqlDatabase::removeDatabase(connection);
    QUrl url(m_postgresUrl);
    url.setPath(QLatin1Char('/') + dbName);
    return url.toString();
}

void TestStorage::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestStorage::cleanup()
{
    m_dir.reset();
}

void TestStorage::freshDatabaseGetsLatestSchema()
{
    const QString file = database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    QVERIFY(kPostgres || QFile::exists(file));
    QCOMPARE(StorageWriter::latestSchemaVersion(), 2);

    Check check(file);
    QCOMPARE(check.scalar(QStringLiteral("SELECT COUNT(*) FROM schema_version")).toInt(), 1);
    QCOMPARE(check.scalar(QStringLiteral("SELECT version FROM schema_version")).toInt(),
             StorageWriter::latestSchemaVersion());

    const QStringList tables = check.strings(
        kPostgres ? QStringLiteral("SELECT table_name FROM information_schema.tables WHERE "
                                   "table_schema = current_schema() ORDER BY table_name")
                  : QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'table' "
                                   "ORDER BY name"));
    QCOMPARE(tables, (QStringList{"chat_rooms", "messages", "reports", "schema_version"}));
    QCOMPARE(check.columns(QStringLiteral("chat_rooms")),
             (QStringList{"id", "user1_id", "user2_id", "created_at", "is_active", "ended_at",
                          "end_reason"}));
    QCOMPARE(check.columns(QStringLiteral("messages")),
             (QStringList{"id", "room_id", "sender_id", "content", "timestamp", "nonce"}));
    QCOMPARE(check.columns(QStringLiteral("reports")),
             (QStringList{"id", "room_id", "reporter_id", "reported_id", "reason", "created_at"}));
    if (kPostgres) {
        // BIGINT ids with a sequence each, ISO-8601 text times; the same indexes.
        QCOMPARE(check.strings(QStringLiteral(
                     "SELECT table_name || '.' || column_name || ':' || data_type || ':' || "
                     "COALESCE(column_default, '') FROM information_schema.columns WHERE "
                     "table_schema = current_schema() AND column_name IN ('id', 'room_id', "
                     "'timestamp') ORDER BY 1")),
                 (QStringList{"chat_rooms.id:bigint:nextval('chat_rooms_id_seq'::regclass)",
                              "messages.id:bigint:nextval('messages_id_seq'::regclass)",
                              "messages.room_id:bigint:", "messages.timestamp:text:",
                              "reports.id:bigint:nextval('reports_id_seq'::regclass)",
                              "reports.room_id:bigint:"}));
        QCOMPARE(
            check
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
                              "CREATE UNIQUE INDEX idx_messages_nonce ON public.messages USING "
                              "btree (room_id, sender_id, nonce) WHERE (nonce IS NOT NULL)",
                              "CREATE INDEX idx_messages_room_id ON public.messages USING btree "
                              "(room_id, id)"}));
        return;
    }
    QCOMPARE(check
                 .scalar(QStringLiteral("SELECT \"table\" || '.' || \"to\" || ' <- ' || \"from\" "
                                        "FROM pragma_foreign_key_list('messages')"))
                 .toString(),
             QStringLiteral("chat_rooms.id <- room_id"));

    const QList<Check::Index> messageIndexes = check.indexes(QStringLiteral("messages"));
    const auto byRoom = std::find_if(messageIndexes.begin(), messageIndexes.end(), [](auto &i) {
        return i.columns == QStringList{"room_id", "id"};
    });
    QVERIFY2(byRoom != messageIndexes.end(), "no index on messages(room_id, id)");
    const auto byNonce = std::find_if(messageIndexes.begin(), messageIndexes.end(), [](auto &i) {
        return i.columns == QStringList{"room_id", "sender_id", "nonce"};
    });
    QVERIFY2(byNonce != messageIndexes.end(), "no index on messages(room_id, sender_id, nonce)");
    QVERIFY(byNonce->unique);
    QVERIFY(byNonce->partial);

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

void TestStorage::journalModeIsWal()
{
    SQLITE_ONLY();
    const QString file = database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    Check check(file);
    // WAL is persistent: another connection sees it in the file header.
    QCOMPARE(check.scalar(QStringLiteral("PRAGMA journal_mode")).toString(), QStringLiteral("wal"));
}

void TestStorage::flaskDatabaseIsMigrated()
{
    SQLITE_ONLY();
    const QString file = path(QStringLiteral("flask.db"));
    {
        // What Flask-SQLAlchemy made for the original app.
        Check flask(file);
        QVERIFY(flask.exec(QStringLiteral(
            "CREATE TABLE chat_rooms (id INTEGER NOT NULL, user1_id VARCHAR(36) NOT NULL, "
            "user2_id VARCHAR(36) NOT NULL, created_at DATETIME, is_active BOOLEAN, "
            "PRIMARY KEY (id))")));
        QVERIFY(flask.exec(QStringLiteral(
            "CREATE TABLE messages (id INTEGER NOT NULL, room_id INTEGER NOT NULL, "
            "sender_id VARCHAR(36) NOT NULL, content TEXT NOT NULL, timestamp DATETIME, "
            "PRIMARY KEY (id), FOREIGN KEY(room_id) REFERENCES chat_rooms (id))")));
        QVERIFY(flask.exec(QStringLiteral(
            "INSERT INTO chat_rooms VALUES (1, 'u-a', 'u-b', '2024-05-01 10:00:00.000000', 0), "
            "(2, 'u-c', 'u-d', '2024-05-02 11:00:00.000000', 1)")));
        QVERIFY(flask.exec(QStringLiteral(
            "INSERT INTO messages VALUES (1, 1, 'u-a', 'hello', '2024-05-01 10:00:01.000000'), "
            "(2, 1, 'u-b', 'hi there', '2024-05-01 10:00:02.000000'), "
            "(7, 2, 'u-c', 'yo', '2024-05-02 11:00:03.000000')")));
    }

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

void TestStorage::newerSchemaIsRefused()
{
    const QString file = database(QStringLiteral("future.db"));
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

void TestStorage::unusablePathFails_data()
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

void TestStorage::unusablePathFails()
{
    SQLITE_ONLY();
    QFETCH(QString, relative);
    QFETCH(bool, isDirectory);
    QFETCH(QByteArray, contents);
    const QString file = path(relative);
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

void TestStorage::staleActiveRoomsClosedAtStart()
{
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::idsContinueAfterRestart()
{
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::idsAreUniqueAcrossThreads()
{
    StorageWriter writer(configFor(database(QStringLiteral("chat.db"))));
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

void TestStorage::groupCommit()
{
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::foreignKeyFailureFailsOnlyItself()
{
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::duplicateNonceFailsOnlyItself()
{
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::roomEndStored()
{
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::roomEndOfUnknownRoomFails()
{
    StorageWriter writer(configFor(database(QStringLiteral("chat.db"))));
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

void TestStorage::reportStored()
{
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::messageTextStoredAsGiven()
{
    // The message insert binds on SQLite's own handle when it can: every value must be stored as
    // QSqlQuery stored it (text as given, '' for a null QString, NULL for no nonce, an id of 0
    // left to SQLite).
    const QString file = path(QStringLiteral("chat.db"));
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

void TestStorage::timesStoredAsUtcIsoWithMs()
{
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::retentionPurgesOldMessages()
{
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::walDataSurvivesStop()
{
    SQLITE_ONLY();
    const QString file = database(QStringLiteral("chat.db"));
    StorageWriter writer(configFor(file));
    QString error;
    QVERIFY2(writer.start(&error), qPrintable(error));
    writer.submit(room(1));
    for (int i = 1; i <= 100; ++i)
        writer.submit(message(i, 1, QStringLiteral("a"), QStringLiteral("m%1").arg(i)));
    writer.flush();
    QVERIFY(QFile::exists(file + QLatin1String("-wal")));

    // What a crash right now would leave: the main file and the WAL, no shared memory.
    const QString crashed = path(QStringLiteral("crashed.db"));
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

void TestStorage::flushWaitsForEarlierWrites()
{
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::stopCommitsPendingAndIsIdempotent()
{
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::submitAfterStopFails()
{
    StorageWriter writer(configFor(database(QStringLiteral("chat.db"))));
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

void TestStorage::submitBeforeStartIsWrittenAtStart()
{
    const QString file = database(QStringLiteral("chat.db"));
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
void TestStorage::healthFollowsTheDisk()
{
    SQLITE_ONLY();
    const QString file = database(QStringLiteral("chat.db"));
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

void TestStorage::twoWritersInOneProcess()
{
    // Same connectionName on purpose: the desktop app's server may run next to another one.
    const QString fileA = database(QStringLiteral("a.db"));
    const QString fileB = database(QStringLiteral("b.db"));
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

void TestStorage::connectionRemovedOnStop()
{
    StorageConfig config = configFor(database(QStringLiteral("chat.db")));
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

// Two servers on one database (two writers, two connection names): ids taken concurrently from
// the sequences never collide, and every row is stored exactly once.
void TestStorage::pgWritersOnOneDatabaseGetDisjointIds()
{
    POSTGRES_ONLY();
    const QString url = database(QStringLiteral("shared"));
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

    constexpr int kRooms = 20;
    constexpr int kEach = 2500; // messages per writer: the reserves are refilled a few times
    struct Taken {
        std::vector<qint64> rooms, messages;
    };
    const auto feed = [](StorageWriter *writer, const QString &who, Taken *taken) {
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
    };
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

void TestStorage::pgWritersStartingTogetherMigrateOnce()
{
    POSTGRES_ONLY();
    const QString url = database(QStringLiteral("together"));
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

void TestStorage::pgSharedDatabaseLeavesActiveRoomsOpen()
{
    POSTGRES_ONLY();
    const QString url = database(QStringLiteral("live"));
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

void TestStorage::pgUnusableUrlFails_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("expected");
    if (!kPostgres)
        return;
    QUrl wrongPassword(m_postgresUrl);
    wrongPassword.setPassword(QStringLiteral("not-the-password"));
    QUrl closedPort(m_postgresUrl);
    closedPort.setPort(1);
    QUrl noDatabase(m_postgresUrl);
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

void TestStorage::pgUnusableUrlFails()
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
void TestStorage::pgHealthFollowsTheConnection()
{
    POSTGRES_ONLY();
    const QString url = database(QStringLiteral("health"));
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

QTEST_GUILESS_MAIN(TestStorage)
#include "tst_storage.moc"
