#include "server/storage/storage.h"

#include "shared/codec.h"

#include <QLoggingCategory>
#include <QSqlDatabase>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QUrl>
#include <QUrlQuery>
#include <QVariant>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>
#ifdef Q_OS_LINUX
#include <pthread.h>
#endif
#ifdef ANONCHAT_SQLITE_DIRECT
#include <sqlite3.h>
#endif

namespace anonchat::server {

namespace {

Q_LOGGING_CATEGORY(lcStorage, "anonchat.storage", QtInfoMsg)

constexpr int kLatestSchemaVersion = 2;
constexpr auto kProbeInterval = std::chrono::seconds(1);
constexpr auto kPurgeInterval = std::chrono::hours(1);
// Purges delete in chunks so that writes are not held up for long behind a big purge.
constexpr int kPurgeChunkRows = 5000;

// SQLite primary result codes (sqlite3.h) that blame the row, not the database. Qt reports the
// extended code as the native error code; its low byte is the primary code.
constexpr int kSqliteTooBig = 18;
constexpr int kSqliteConstraint = 19;
constexpr int kSqliteMismatch = 20;
constexpr int kSqliteRange = 25;

// PostgreSQL: ids are reserved from the sequences this many at a time per table, refilled by the
// writer thread when fewer than half are left (between groups: a refill takes about a millisecond,
// and half a reserve lasts tens of milliseconds even at the relay's peak rate). A caller waits
// this long at most for a refill; after a wait in vain, callers get 0 at once until the writer
// has tried again (the server's event loop must not stall once per message).
constexpr size_t kIdReserve = 4096;
constexpr auto kIdWait = std::chrono::seconds(2);
// pg_advisory_lock() key held while migrating: "anonchat" in ASCII.
constexpr qint64 kMigrationLockKey = 0x616e6f6e63686174;
constexpr int kPostgresPort = 5432;
constexpr int kConnectTimeoutSeconds = 5;

using Clock = std::chrono::steady_clock;

/// UTC ISO-8601 with milliseconds: 2026-11-23T22:41:07.123Z. An invalid time means "now".
QString isoUtc(const QDateTime &time)
{
    return protocol::formatTimestamp(time.isValid() ? time : QDateTime::currentDateTimeUtc());
}

// A null QString binds as SQL NULL; NOT NULL text columns get '' instead.
QVariant textValue(const QString &s)
{
    return s.isNull() ? QVariant(QStringLiteral("")) : QVariant(s);
}

QVariant nullableText(const QString &s)
{
    return s.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(s);
}

// An id of 0 (not allocated) lets SQLite choose one rather than storing row 0.
QVariant idValue(qint64 id)
{
    return id > 0 ? QVariant(id) : QVariant(QMetaType::fromType<qlonglong>());
}

// One line: libpq's messages span several ("connection to server ... failed: FATAL: ...").
QString describe(const QSqlError &error)
{
    const QString text = error.databaseText();
    return (text.isEmpty() ? error.text() : text).simplified();
}

bool isRowFault(const QSqlError &error, bool postgres)
{
    if (postgres) {
        // SQLSTATE classes that blame the row: 22 data exception (a NUL in text, a value out of
        // range), 23 integrity constraint violation; 54000 a value too big.
        const QString state = error.nativeErrorCode();
        return state.startsWith(QLatin1String("22")) || state.startsWith(QLatin1String("23")) ||
               state == QLatin1String("54000");
    }
    bool ok = false;
    const int code = error.nativeErrorCode().toInt(&ok);
    if (!ok)
        return false;
    switch (code & 0xff) {
    case kSqliteTooBig:
    case kSqliteConstraint:
    case kSqliteMismatch:
    case kSqliteRange: return true;
    default: return false;
    }
}

/// The parts of a `postgresql://user:pass@host:port/dbname?option=value` URL.
struct PostgresUrl {
    QString user;
    QString password;
    QString host;
    int port = kPostgresPort;
    QString databaseName;
    QString options; ///< QSqlDatabase::setConnectOptions() form: name=value;name=value
};

/// Empty when `url` is a usable PostgreSQL URL (then `out` holds its parts), else why not.
QString parsePostgresUrl(const QString &text, PostgresUrl *out)
{
    const QUrl url(text, QUrl::StrictMode);
    if (!url.isValid())
        return QStringLiteral("not a valid URL"); // errorString() would quote the password
    if (url.scheme() != QLatin1String("postgresql") && url.scheme() != QLatin1String("postgres"))
        return QStringLiteral("the scheme must be postgresql:// or postgres://");
    if (url.host().isEmpty())
        return QStringLiteral("no host");
    const QString name = url.path(QUrl::FullyDecoded).mid(1);
    if (name.isEmpty() || name.contains(QLatin1Char('/')))
        return QStringLiteral("no database name (…/dbname)");
    if (url.userName().isEmpty())
        return QStringLiteral("no user name (user:pass@…)");
    PostgresUrl parts;
    parts.user = url.userName(QUrl::FullyDecoded);
    parts.password = url.password(QUrl::FullyDecoded);
    parts.host = url.host();
    parts.port = url.port(kPostgresPort);
    parts.databaseName = name;
    QStringList options{QStringLiteral("connect_timeout=%1").arg(kConnectTimeoutSeconds)};
    for (const auto &[key, value] : QUrlQuery(url).queryItems(QUrl::FullyDecoded)) {
        if (key.isEmpty() || value.contains(QLatin1Char(';')))
            return QStringLiteral("invalid option '%1'").arg(key);
        options.append(key + QLatin1Char('=') + value);
    }
    parts.options = options.join(QLatin1Char(';'));
    if (out)
        *out = parts;
    return {};
}

// QSqlDatabase's connection registry is process-wide: several writers (a server in the desktop
// app next to tests) must not take each other's connection name.
std::mutex &connectionNamesMutex()
{
    static std::mutex mutex;
    return mutex;
}

} // namespace

class StorageWriter::Private
{
public:
    struct Pending {
        quint64 ticket = 0;
        WriteOp op;
    };
    enum class State { Idle, Running, Stopped };
    class Writer;

    Private(StorageWriter *owner, StorageConfig config)
        : m_owner(owner)
        , m_config(std::move(config))
    {}

    /// Ids reserved from a PostgreSQL sequence (guarded by m_mutex).
    struct IdReserve {
        std::deque<qint64> ids;
    };

    void threadMain();
    qint64 takeId(IdReserve &reserve);
    /// Emits the result for `tickets` (in order) and wakes flush().
    void report(const QVector<quint64> &tickets, bool ok, double seconds, const QString &error);
    void setHealthy(bool healthy, const QString &why);

    StorageWriter *const m_owner;
    const StorageConfig m_config;

    std::mutex m_lifecycleMutex; // serialises start() and stop()
    std::thread m_thread;
    std::atomic<std::thread::id> m_writerThreadId{};

    std::mutex m_mutex;                 // guards everything below up to the atomics
    std::condition_variable m_wake;     // the writer waits for work or stop
    std::condition_variable m_reported; // flush() waits for reports
    std::condition_variable m_started;  // start() waits for the writer's verdict
    std::deque<Pending> m_queue;
    quint64 m_nextTicket = 1;
    quint64 m_reportedUpTo = 0;
    State m_state = State::Idle;
    bool m_stopRequested = false;
    bool m_startDone = false;
    bool m_startOk = false;
    QString m_startError;

    // PostgreSQL ids: callers ask the writer for a refill and wait on m_idsChanged.
    std::condition_variable m_idsChanged;
    IdReserve m_roomIds;
    IdReserve m_messageIds;
    bool m_refillWanted = false;
    bool m_idsUnavailable = false; ///< a wait for ids timed out; cleared by the next attempt
    bool m_lastRefillOk = true;
    quint64 m_refillAttempts = 0;

    const bool m_postgres = StorageWriter::isPostgresUrl(m_config.database);
    std::atomic<bool> m_healthy{false};
    std::atomic<qint64> m_nextRoomId{1};
    std::atomic<qint64> m_nextMessageId{1};
};

/// Everything that touches the database; lives on the writer thread only.
class StorageWriter::Private::Writer
{
public:
    Writer(Private &p, const QString &connectionName)
        : m_p(p)
        , m_db(QSqlDatabase::database(connectionName, false))
        , m_maxBatchRows(size_t(std::max(1, p.m_config.maxBatchRows)))
        , m_postgres(p.m_postgres)
    {}

    ~Writer()
    {
#ifdef ANONCHAT_SQLITE_DIRECT
        if (m_insertMessage)
            sqlite3_finalize(m_insertMessage);
#endif
        m_statements.reset(); // no query may outlive the connection
        m_db.close();
    }

    Writer(const Writer &) = delete;
    Writer &operator=(const Writer &) = delete;

    bool initialize(QString *error);
    void run();
    /// Tops up the PostgreSQL id reserves that are below half; wakes the callers waiting.
    bool refillIds(QString *error);

private:
    struct Outcome {
        bool ok = true;
        bool rowFault = false; ///< the row is to blame (constraint), not the database
        QString error;
    };

    struct Statements {
        explicit Statements(const QSqlDatabase &db)
            : begin(db)
            , commit(db)
            , rollback(db)
            , insertRoom(db)
            , endRoom(db)
            , insertMessage(db)
            , insertReport(db)
            , probeRead(db)
            , probeWrite(db)
            , purge(db)
            , roomIds(db)
            , messageIds(db)
        {}
        QSqlQuery begin, commit, rollback;
        QSqlQuery insertRoom, endRoom, insertMessage, insertReport;
        QSqlQuery probeRead, probeWrite, purge;
        QSqlQuery roomIds, messageIds; ///< PostgreSQL: a block of nextval()s
    };
    enum class Control { Begin, Commit, Rollback };

    bool exec(const QString &sql, QString *error);
    bool pragma(const QString &sql, QString *value, QString *error);
    bool open(QString *error);
    bool readSchemaVersion(int *version, QString *error);
    bool hasColumn(const QString &table, const QString &column, bool *has, QString *error);
    bool addColumnIfMissing(const QString &table, const QString &column, QString *error);
    bool migrate(QString *error);
    bool migrateTo(int version, QString *error);
    bool setSchemaVersion(int version, QString *error);
    bool prepareStatements(QString *error);
    bool closeStaleRooms(QString *error);
    std::optional<int> purgeChunk(QString *error);
    bool seedIds(QString *error);
    bool syncSequences(QString *error);
    bool reconnect(QString *error);

    bool control(Control step, QString *error);
    void rollback();
    bool runControl(QSqlQuery &query, QString *error);
    Outcome execute(const WriteOp &op);
    Outcome execute(const RoomRow &row);
    Outcome execute(const RoomEnd &row);
    Outcome execute(const MessageRow &row);
    Outcome execute(const ReportRow &row);
    Outcome finish(QSqlQuery &query);

    void writeGroup(const std::vector<Pending> &rows, size_t first, size_t last);
    void writeRowByRow(const std::vector<Pending> &rows, size_t first, size_t last);
    void probe();
    static QVector<quint64> tickets(const std::vector<Pending> &rows, size_t first, size_t last);

    Private &m_p;
    QSqlDatabase m_db;
    const size_t m_maxBatchRows;
    const bool m_postgres;
    std::unique_ptr<Statements> m_statements;
#ifdef ANONCHAT_SQLITE_DIRECT
    /// The message insert on the connection's own handle, when it is SQLite's (see execute()).
    sqlite3 *m_sqlite = nullptr;
    sqlite3_stmt *m_insertMessage = nullptr;
    void prepareDirectInsert();
    Outcome insertMessageDirect(const MessageRow &row);
#endif
};

// ---- start-up -------------------------------------------------------------------------------

bool StorageWriter::Private::Writer::exec(const QString &sql, QString *error)
{
    QSqlQuery query(m_db);
    if (query.exec(sql))
        return true;
    *error = describe(query.lastError());
    return false;
}

bool StorageWriter::Private::Writer::pragma(const QString &sql, QString *value, QString *error)
{
    QSqlQuery query(m_db);
    if (!query.exec(sql)) {
        *error = describe(query.lastError());
        return false;
    }
    if (value)
        *value = query.next() ? query.value(0).toString() : QString();
    return true;
}

bool StorageWriter::Private::Writer::readSchemaVersion(int *version, QString *error)
{
    QSqlQuery query(m_db);
    const QString exists = m_postgres
                               ? QStringLiteral("SELECT COUNT(*) FROM information_schema.tables "
                                                "WHERE table_schema = current_schema() "
                                                "AND table_name = 'schema_version'")
                               : QStringLiteral("SELECT COUNT(*) FROM sqlite_master "
                                                "WHERE type = 'table' AND name = 'schema_version'");
    if (!query.exec(exists)) {
        *error = describe(query.lastError());
        return false;
    }
    if (!query.next() || query.value(0).toInt() == 0) {
        *version = 0; // a new file, or one made by the original Flask app
        return true;
    }
    if (!query.exec(QStringLiteral("SELECT MAX(version) FROM schema_version"))) {
        *error = describe(query.lastError());
        return false;
    }
    *version = query.next() ? query.value(0).toInt() : 0;
    return true;
}

bool StorageWriter::Private::Writer::hasColumn(const QString &table, const QString &column,
                                               bool *has, QString *error)
{
    QSqlQuery query(m_db);
    const bool ok =
        m_postgres ? query.exec(QStringLiteral("SELECT column_name FROM information_schema.columns "
                                               "WHERE table_schema = current_schema() "
                                               "AND table_name = '%1'")
                                    .arg(table))
                   : query.exec(QStringLiteral("PRAGMA table_info(%1)").arg(table));
    if (!ok) {
        *error = describe(query.lastError());
        return false;
    }
    const int nameColumn = m_postgres ? 0 : 1;
    *has = false;
    while (query.next()) {
        if (query.value(nameColumn).toString().compare(column, Qt::CaseInsensitive) == 0)
            *has = true;
    }
    return true;
}

bool StorageWriter::Private::Writer::addColumnIfMissing(const QString &table, const QString &column,
                                                        QString *error)
{
    bool has = false;
    if (!hasColumn(table, column, &has, error))
        return false;
    // A hand-upgraded Flask database may already have it.
    return has ||
           exec(QStringLiteral("ALTER TABLE %1 ADD COLUMN %2 TEXT").arg(table, column), error);
}

// The same tables, columns and meanings on both: times are ISO-8601 UTC text and is_active an
// integer everywhere, so every query is shared. PostgreSQL's ids are BIGSERIAL (a BIGINT with a
// sequence the writer reserves ids from, see refillIds()).
bool StorageWriter::Private::Writer::migrateTo(int version, QString *error)
{
    const QString id = m_postgres ? QStringLiteral("BIGSERIAL PRIMARY KEY")
                                  : QStringLiteral("INTEGER PRIMARY KEY");
    const QString reference = m_postgres ? QStringLiteral("BIGINT") : QStringLiteral("INTEGER");
    switch (version) {
    case 1: // the original Flask app's tables, kept by name and meaning
        return exec(QStringLiteral("CREATE TABLE IF NOT EXISTS chat_rooms ("
                                   "id %1, "
                                   "user1_id TEXT NOT NULL, "
                                   "user2_id TEXT NOT NULL, "
                                   "created_at TEXT NOT NULL, "
                                   "is_active INTEGER NOT NULL DEFAULT 1)")
                        .arg(id),
                    error) &&
               exec(QStringLiteral("CREATE TABLE IF NOT EXISTS messages ("
                                   "id %1, "
                                   "room_id %2 NOT NULL REFERENCES chat_rooms(id), "
                                   "sender_id TEXT NOT NULL, "
                                   "content TEXT NOT NULL, "
                                   "timestamp TEXT NOT NULL)")
                        .arg(id, reference),
                    error);
    case 2: // ours: room endings, message nonces, reports, indexes
        return addColumnIfMissing(QStringLiteral("chat_rooms"), QStringLiteral("ended_at"),
                                  error) &&
               addColumnIfMissing(QStringLiteral("chat_rooms"), QStringLiteral("end_reason"),
                                  error) &&
               addColumnIfMissing(QStringLiteral("messages"), QStringLiteral("nonce"), error) &&
               exec(QStringLiteral("CREATE INDEX IF NOT EXISTS idx_messages_room_id "
                                   "ON messages(room_id, id)"),
                    error) &&
               exec(QStringLiteral("CREATE UNIQUE INDEX IF NOT EXISTS idx_messages_nonce "
                                   "ON messages(room_id, sender_id, nonce) "
                                   "WHERE nonce IS NOT NULL"),
                    error) &&
               exec(QStringLiteral("CREATE INDEX IF NOT EXISTS idx_chat_rooms_active "
                                   "ON chat_rooms(id) WHERE is_active = 1"),
                    error) &&
               exec(QStringLiteral("CREATE TABLE IF NOT EXISTS reports ("
                                   "id %1, "
                                   "room_id %2 NOT NULL, "
                                   "reporter_id TEXT NOT NULL, "
                                   "reported_id TEXT NOT NULL, "
                                   "reason TEXT, "
                                   "created_at TEXT NOT NULL)")
                        .arg(id, reference),
                    error);
    default:
        *error = QStringLiteral("no migration to schema version %1").arg(version);
        return false;
    }
}

bool StorageWriter::Private::Writer::setSchemaVersion(int version, QString *error)
{
    QSqlQuery query(m_db);
    if (query.exec(QStringLiteral("DELETE FROM schema_version")) &&
        query.prepare(QStringLiteral("INSERT INTO schema_version (version) VALUES (?)"))) {
        query.addBindValue(version);
        if (query.exec())
            return true;
    }
    *error = describe(query.lastError());
    return false;
}

bool StorageWriter::Private::Writer::migrate(QString *error)
{
    for (;;) {
        // IMMEDIATE: two servers starting on one file must not both migrate it. PostgreSQL: the
        // caller holds an advisory lock instead.
        if (!exec(m_postgres ? QStringLiteral("BEGIN") : QStringLiteral("BEGIN IMMEDIATE"), error))
            return false;
        int version = 0;
        QString why;
        const bool ok = exec(QStringLiteral("CREATE TABLE IF NOT EXISTS schema_version ("
                                            "version INTEGER NOT NULL)"),
                             &why) &&
                        readSchemaVersion(&version, &why);
        if (!ok || version >= kLatestSchemaVersion) {
            QString ignored;
            exec(QStringLiteral("ROLLBACK"), &ignored);
            if (!ok) {
                *error = why;
                return false;
            }
            if (version > kLatestSchemaVersion) {
                *error = QStringLiteral("schema version %1 is newer than this build supports (%2)")
                             .arg(version)
                             .arg(kLatestSchemaVersion);
                return false;
            }
            return true;
        }
        const int next = version + 1;
        if (!migrateTo(next, &why) || !setSchemaVersion(next, &why) ||
            !exec(QStringLiteral("COMMIT"), &why)) {
            QString ignored;
            exec(QStringLiteral("ROLLBACK"), &ignored);
            *error = QStringLiteral("migration to schema version %1 failed: %2").arg(next).arg(why);
            return false;
        }
        qCInfo(lcStorage) << "database" << displayName(m_p.m_config.database)
                          << "migrated to schema version" << next;
    }
}

bool StorageWriter::Private::Writer::prepareStatements(QString *error)
{
    m_statements = std::make_unique<Statements>(m_db);
    Statements &s = *m_statements;
    std::vector<std::pair<QSqlQuery *, QString>> all = {
        {&s.insertRoom, QStringLiteral("INSERT INTO chat_rooms "
                                       "(id, user1_id, user2_id, created_at, is_active) "
                                       "VALUES (?, ?, ?, ?, 1)")},
        {&s.endRoom, QStringLiteral("UPDATE chat_rooms SET is_active = 0, ended_at = ?, "
                                    "end_reason = ? WHERE id = ?")},
        {&s.insertMessage, QStringLiteral("INSERT INTO messages "
                                          "(id, room_id, sender_id, content, timestamp, nonce) "
                                          "VALUES (?, ?, ?, ?, ?, ?)")},
        {&s.insertReport, QStringLiteral("INSERT INTO reports "
                                         "(room_id, reporter_id, reported_id, reason, created_at) "
                                         "VALUES (?, ?, ?, ?, ?)")},
        {&s.probeRead, QStringLiteral("SELECT version FROM schema_version")},
        // Run twice in one transaction: the row ends as it was, but its page has been changed,
        // so the commit really writes (SQLite skips a write that changes no byte).
        {&s.probeWrite, QStringLiteral("UPDATE schema_version SET version = -version")},
        {&s.purge, QStringLiteral("DELETE FROM messages WHERE id IN "
                                  "(SELECT id FROM messages WHERE timestamp < ? LIMIT ?)")},
    };
    if (m_postgres) {
        // PostgreSQL cannot PREPARE transaction control; control() runs it as plain text.
        all.push_back(
            {&s.roomIds, QStringLiteral("SELECT nextval(pg_get_serial_sequence("
                                        "'chat_rooms', 'id')) FROM generate_series(1, ?)")});
        all.push_back(
            {&s.messageIds, QStringLiteral("SELECT nextval(pg_get_serial_sequence("
                                           "'messages', 'id')) FROM generate_series(1, ?)")});
    } else {
        all.push_back({&s.begin, QStringLiteral("BEGIN IMMEDIATE")});
        all.push_back({&s.commit, QStringLiteral("COMMIT")});
        all.push_back({&s.rollback, QStringLiteral("ROLLBACK")});
    }
    for (const auto &[query, sql] : all) {
        query->setForwardOnly(true);
        if (!query->prepare(sql)) {
            *error =
                QStringLiteral("cannot prepare \"%1\": %2").arg(sql, describe(query->lastError()));
            return false;
        }
    }
#ifdef ANONCHAT_SQLITE_DIRECT
    prepareDirectInsert();
#endif
    return true;
}

#ifdef ANONCHAT_SQLITE_DIRECT
// Every message is one insert, and through QSqlQuery its six bindValue() calls cost a third of
// it (Qt 6.4 formats a placeholder name with QString::arg for each positional value, and wraps
// each in a QVariant). The same statement on the connection's own sqlite3 handle binds the
// QStrings' UTF-16 in place. Any other driver, or a handle of another type, keeps QSqlQuery.
void StorageWriter::Private::Writer::prepareDirectInsert()
{
    const QVariant handle = m_db.driver()->handle();
    if (!handle.isValid() || qstrcmp(handle.typeName(), "sqlite3*") != 0)
        return;
    sqlite3 *db = *static_cast<sqlite3 *const *>(handle.constData());
    if (!db)
        return;
    sqlite3_stmt *statement = nullptr;
    if (sqlite3_prepare_v3(
            db,
            "INSERT INTO messages (id, room_id, sender_id, content, timestamp, nonce) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) != SQLITE_OK) {
        sqlite3_finalize(statement);
        return; // QSqlQuery it is
    }
    m_sqlite = db;
    m_insertMessage = statement;
}

StorageWriter::Private::Writer::Outcome
StorageWriter::Private::Writer::insertMessageDirect(const MessageRow &row)
{
    sqlite3_stmt *q = m_insertMessage;
    // The same values as the QSqlQuery path: an id of 0 lets SQLite choose, a null QString is ''
    // in the NOT NULL columns, an empty nonce is NULL. QString::utf16() is never null.
    const auto text = [q](int index, const QString &s) {
        return sqlite3_bind_text16(q, index, s.utf16(), int(s.size() * 2), SQLITE_STATIC);
    };
    const QString timestamp = isoUtc(row.timestamp);
    int rc = row.id > 0 ? sqlite3_bind_int64(q, 1, row.id) : sqlite3_bind_null(q, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 2, row.roomId);
    if (rc == SQLITE_OK)
        rc = text(3, row.senderId);
    if (rc == SQLITE_OK)
        rc = text(4, row.content);
    if (rc == SQLITE_OK)
        rc = text(5, timestamp);
    if (rc == SQLITE_OK)
        rc = row.nonce.isEmpty() ? sqlite3_bind_null(q, 6) : text(6, row.nonce);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    Outcome outcome;
    if (rc != SQLITE_DONE) {
        const int code = sqlite3_extended_errcode(m_sqlite);
        outcome.ok = false;
        switch (code & 0xff) {
        case kSqliteTooBig:
        case kSqliteConstraint:
        case kSqliteMismatch:
        case kSqliteRange: outcome.rowFault = true; break;
        default: break;
        }
        outcome.error = QString::fromUtf8(sqlite3_errmsg(m_sqlite));
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q); // the bound strings are gone once this returns
    return outcome;
}
#endif

bool StorageWriter::Private::Writer::closeStaleRooms(QString *error)
{
    if (m_p.m_config.sharedDatabase)
        return true; // the active rooms may be other live servers' rooms
    QSqlQuery query(m_db);
    if (!query.prepare(QStringLiteral("UPDATE chat_rooms SET is_active = 0, ended_at = ?, "
                                      "end_reason = 'server_restart' WHERE is_active = 1"))) {
        *error = describe(query.lastError());
        return false;
    }
    query.addBindValue(isoUtc(QDateTime::currentDateTimeUtc()));
    if (!query.exec()) {
        *error = describe(query.lastError());
        return false;
    }
    if (const int closed = query.numRowsAffected(); closed > 0)
        qCInfo(lcStorage) << "closed" << closed << "rooms left active by the previous run";
    return true;
}

std::optional<int> StorageWriter::Private::Writer::purgeChunk(QString *error)
{
    QSqlQuery &purge = m_statements->purge;
    const QDateTime cutoff =
        QDateTime::currentDateTimeUtc().addDays(-qint64(m_p.m_config.retentionDays));
    purge.bindValue(0, isoUtc(cutoff));
    purge.bindValue(1, kPurgeChunkRows);
    if (!purge.exec()) {
        *error = describe(purge.lastError());
        return std::nullopt;
    }
    return purge.numRowsAffected();
}

bool StorageWriter::Private::Writer::seedIds(QString *error)
{
    const std::pair<const char *, std::atomic<qint64> *> counters[] = {
        {"chat_rooms", &m_p.m_nextRoomId},
        {"messages", &m_p.m_nextMessageId},
    };
    for (const auto &[table, counter] : counters) {
        QSqlQuery query(m_db);
        if (!query.exec(QStringLiteral("SELECT COALESCE(MAX(id), 0) + 1 FROM %1")
                            .arg(QLatin1String(table))) ||
            !query.next()) {
            *error = describe(query.lastError());
            return false;
        }
        const qint64 seed = query.value(0).toLongLong();
        // Never hand out an id twice, even if some were taken before start().
        qint64 current = counter->load();
        while (current < seed && !counter->compare_exchange_weak(current, seed)) {
        }
    }
    return true;
}

// A sequence behind the table's largest id (rows written with ids from elsewhere: by hand, or
// copied from another database) would hand out ids that exist: move it past them. Ids we write
// all come from the sequence, so this never moves it back under another server.
bool StorageWriter::Private::Writer::syncSequences(QString *error)
{
    for (const char *table : {"chat_rooms", "messages", "reports"}) {
        QSqlQuery query(m_db);
        if (!query.exec(QStringLiteral("SELECT pg_get_serial_sequence('%1', 'id'), "
                                       "(SELECT MAX(id) FROM %1)")
                            .arg(QLatin1String(table))) ||
            !query.next()) {
            *error = describe(query.lastError());
            return false;
        }
        const QString sequence = query.value(0).toString();
        if (sequence.isEmpty() || query.value(1).isNull())
            continue; // no sequence (made by hand), or no rows
        const qint64 largest = query.value(1).toLongLong();
        if (!query.exec(QStringLiteral("SELECT last_value, is_called FROM %1").arg(sequence)) ||
            !query.next()) {
            *error = describe(query.lastError());
            return false;
        }
        const qint64 next = query.value(0).toLongLong() + (query.value(1).toBool() ? 1 : 0);
        if (largest < next)
            continue;
        if (!query.exec(QStringLiteral("SELECT setval('%1', %2)").arg(sequence).arg(largest))) {
            *error = describe(query.lastError());
            return false;
        }
        qCInfo(lcStorage) << "sequence" << sequence << "moved past id" << largest;
    }
    return true;
}

bool StorageWriter::Private::Writer::refillIds(QString *error)
{
    const std::pair<QSqlQuery *, IdReserve *> reserves[] = {
        {&m_statements->roomIds, &m_p.m_roomIds},
        {&m_statements->messageIds, &m_p.m_messageIds},
    };
    bool ok = true;
    for (const auto &[query, reserve] : reserves) {
        size_t have = 0;
        {
            std::lock_guard lock(m_p.m_mutex);
            have = reserve->ids.size();
        }
        if (have >= kIdReserve / 2)
            continue;
        query->bindValue(0, qint64(kIdReserve - have));
        if (!query->exec()) {
            *error = describe(query->lastError());
            ok = false;
            break;
        }
        std::vector<qint64> ids;
        ids.reserve(kIdReserve - have);
        while (query->next())
            ids.push_back(query->value(0).toLongLong());
        query->finish();
        std::lock_guard lock(m_p.m_mutex);
        reserve->ids.insert(reserve->ids.end(), ids.begin(), ids.end());
    }
    {
        std::lock_guard lock(m_p.m_mutex);
        ++m_p.m_refillAttempts;
        m_p.m_idsUnavailable = false;
        m_p.m_lastRefillOk = ok;
    }
    m_p.m_idsChanged.notify_all();
    return ok;
}

bool StorageWriter::Private::Writer::open(QString *error)
{
    const StorageConfig &config = m_p.m_config;
    if (!m_db.isValid()) {
        *error = QStringLiteral("the %1 driver is not available")
                     .arg(m_postgres ? QStringLiteral("QPSQL (libqt6sql6-psql)")
                                     : QStringLiteral("QSQLITE (libqt6sql6-sqlite)"));
        return false;
    }
    if (m_postgres) {
        PostgresUrl url;
        const QString problem = parsePostgresUrl(config.database, &url);
        if (!problem.isEmpty()) {
            *error = QStringLiteral("invalid PostgreSQL URL: %1").arg(problem);
            return false;
        }
        m_db.setHostName(url.host);
        m_db.setPort(url.port);
        m_db.setUserName(url.user);
        m_db.setPassword(url.password);
        m_db.setDatabaseName(url.databaseName);
        m_db.setConnectOptions(url.options);
    } else {
        m_db.setDatabaseName(config.database);
    }
    if (!m_db.open()) {
        *error = describe(m_db.lastError());
        return false;
    }
    // libpq prints notices ("relation ... already exists, skipping") on stderr by default.
    return !m_postgres || exec(QStringLiteral("SET client_min_messages = warning"), error);
}

// PostgreSQL: a lost connection (the server restarted, or ended our backend) stays lost in
// QPSQL. The probe calls this while unhealthy: a new connection, statements prepared again.
bool StorageWriter::Private::Writer::reconnect(QString *error)
{
    m_statements.reset();
    m_db.close();
    if (open(error) && prepareStatements(error))
        return true;
    m_statements = std::make_unique<Statements>(m_db); // unprepared: they fail, cleanly
    return false;
}

bool StorageWriter::Private::Writer::initialize(QString *error)
{
    const StorageConfig &config = m_p.m_config;
    const auto fail = [&](const QString &why) {
        *error = QStringLiteral("database %1: %2").arg(displayName(config.database), why);
        return false;
    };
    QString why;
    if (!open(&why))
        return fail(why);
    if (!m_postgres && (!pragma(QStringLiteral("PRAGMA busy_timeout = 5000"), nullptr, &why) ||
                        !pragma(QStringLiteral("PRAGMA foreign_keys = ON"), nullptr, &why)))
        return fail(why);
    // Refuse a newer schema before touching the file at all (even the journal mode).
    int version = 0;
    if (!readSchemaVersion(&version, &why))
        return fail(why);
    if (version > kLatestSchemaVersion) {
        return fail(QStringLiteral("schema version %1 is newer than this build supports (%2); "
                                   "use a newer anonchat")
                        .arg(version)
                        .arg(kLatestSchemaVersion));
    }
    if (m_postgres) {
        // Servers starting together on one database: one migrates, the others wait for it. The
        // lock is the session's: closing the connection (a failed start) releases it too.
        const QString key = QString::number(kMigrationLockKey);
        if (!exec(QStringLiteral("SELECT pg_advisory_lock(%1)").arg(key), &why))
            return fail(why);
        const bool ok = migrate(&why) && syncSequences(&why);
        QString ignored;
        exec(QStringLiteral("SELECT pg_advisory_unlock(%1)").arg(key), &ignored);
        if (!ok)
            return fail(why);
    } else {
        QString mode;
        if (!pragma(QStringLiteral("PRAGMA journal_mode = WAL"), &mode, &why) ||
            !pragma(QStringLiteral("PRAGMA synchronous = FULL"), nullptr, &why) ||
            // Every message dirties a leaf of each messages index in its own room: with many
            // rooms chatting, those pages outgrow SQLite's default 2 MiB page cache and each
            // insert reads them back from the file (~3 preads per message at 200 rooms). Up to
            // 32 MiB, filled only as the database is used.
            !pragma(QStringLiteral("PRAGMA cache_size = -32768"), nullptr, &why) ||
            // A checkpoint copies every page changed since the last one into the database and
            // syncs it; the hot index pages change with every group, so checkpointing every
            // 8,192 WAL pages instead of 1,000 copies them ~8 times less often (the WAL may
            // reach 32 MiB).
            !pragma(QStringLiteral("PRAGMA wal_autocheckpoint = 8192"), nullptr, &why))
            return fail(why);
        if (mode.compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0 &&
            mode.compare(QLatin1String("memory"), Qt::CaseInsensitive) != 0) {
            qCWarning(lcStorage) << "database" << config.database
                                 << "could not use WAL; journal mode" << mode;
        }
        if (!migrate(&why))
            return fail(why);
    }
    if (!prepareStatements(&why) || !closeStaleRooms(&why))
        return fail(why);
    if (config.retentionDays > 0) {
        int purged = 0;
        for (;;) {
            const std::optional<int> n = purgeChunk(&why);
            if (!n)
                return fail(QStringLiteral("purging old messages failed: %1").arg(why));
            purged += *n;
            if (*n < kPurgeChunkRows)
                break;
        }
        if (purged > 0)
            qCInfo(lcStorage) << "purged" << purged << "messages older than" << config.retentionDays
                              << "days";
    }
    if (m_postgres ? !refillIds(&why) : !seedIds(&why))
        return fail(why);
    return true;
}

// ---- writing --------------------------------------------------------------------------------

bool StorageWriter::Private::Writer::control(Control step, QString *error)
{
    if (!m_postgres) {
        Statements &s = *m_statements;
        return runControl(step == Control::Begin    ? s.begin
                          : step == Control::Commit ? s.commit
                                                    : s.rollback,
                          error);
    }
    QSqlQuery query(m_db);
    const QString sql = step == Control::Begin    ? QStringLiteral("BEGIN")
                        : step == Control::Commit ? QStringLiteral("COMMIT")
                                                  : QStringLiteral("ROLLBACK");
    if (query.exec(sql))
        return true;
    *error = describe(query.lastError());
    return false;
}

void StorageWriter::Private::Writer::rollback()
{
    QString ignored;
    control(Control::Rollback, &ignored);
}

bool StorageWriter::Private::Writer::runControl(QSqlQuery &query, QString *error)
{
    if (query.exec())
        return true;
    *error = describe(query.lastError());
    return false;
}

StorageWriter::Private::Writer::Outcome StorageWriter::Private::Writer::finish(QSqlQuery &query)
{
    if (query.exec())
        return {};
    const QSqlError error = query.lastError();
    return {false, isRowFault(error, m_postgres), describe(error)};
}

StorageWriter::Private::Writer::Outcome StorageWriter::Private::Writer::execute(const RoomRow &row)
{
    QSqlQuery &q = m_statements->insertRoom;
    q.bindValue(0, idValue(row.id));
    q.bindValue(1, textValue(row.user1Id));
    q.bindValue(2, textValue(row.user2Id));
    q.bindValue(3, isoUtc(row.createdAt));
    return finish(q);
}

StorageWriter::Private::Writer::Outcome StorageWriter::Private::Writer::execute(const RoomEnd &row)
{
    QSqlQuery &q = m_statements->endRoom;
    q.bindValue(0, isoUtc(row.endedAt));
    q.bindValue(1, textValue(row.reason));
    q.bindValue(2, row.id);
    Outcome outcome = finish(q);
    if (outcome.ok && q.numRowsAffected() == 0)
        outcome = {false, true, QStringLiteral("room %1 does not exist").arg(row.id)};
    return outcome;
}

StorageWriter::Private::Writer::Outcome
StorageWriter::Private::Writer::execute(const MessageRow &row)
{
#ifdef ANONCHAT_SQLITE_DIRECT
    if (m_insertMessage)
        return insertMessageDirect(row);
#endif
    QSqlQuery &q = m_statements->insertMessage;
    q.bindValue(0, idValue(row.id));
    q.bindValue(1, row.roomId);
    q.bindValue(2, textValue(row.senderId));
    q.bindValue(3, textValue(row.content));
    q.bindValue(4, isoUtc(row.timestamp));
    q.bindValue(5, nullableText(row.nonce));
    return finish(q);
}

StorageWriter::Private::Writer::Outcome
StorageWriter::Private::Writer::execute(const ReportRow &row)
{
    QSqlQuery &q = m_statements->insertReport;
    q.bindValue(0, row.roomId);
    q.bindValue(1, textValue(row.reporterId));
    q.bindValue(2, textValue(row.reportedId));
    q.bindValue(3, nullableText(row.reason));
    q.bindValue(4, isoUtc(row.createdAt));
    return finish(q);
}

StorageWriter::Private::Writer::Outcome StorageWriter::Private::Writer::execute(const WriteOp &op)
{
    return std::visit([this](const auto &row) { return execute(row); }, op);
}

QVector<quint64> StorageWriter::Private::Writer::tickets(const std::vector<Pending> &rows,
                                                         size_t first, size_t last)
{
    QVector<quint64> result;
    result.reserve(qsizetype(last - first));
    for (size_t i = first; i < last; ++i)
        result.append(rows[i].ticket);
    return result;
}

// One transaction for rows [first, last). A row the database refuses (a constraint) splits the
// group: the rows before it are committed together, it is retried alone (and fails alone), and
// the rows after it form the next group. Any other failure retries the group row by row.
void StorageWriter::Private::Writer::writeGroup(const std::vector<Pending> &rows, size_t first,
                                                size_t last)
{
    while (first < last) {
        const auto started = Clock::now();
        QString error;
        if (!control(Control::Begin, &error)) {
            writeRowByRow(rows, first, last);
            return;
        }
        size_t i = first;
        Outcome outcome;
        for (; i < last; ++i) {
            outcome = execute(rows[i].op);
            if (!outcome.ok)
                break;
        }
        if (i == last) {
            if (control(Control::Commit, &error)) {
                const double seconds =
                    std::chrono::duration<double>(Clock::now() - started).count();
                m_p.setHealthy(true, QString());
                m_p.report(tickets(rows, first, last), true, seconds, QString());
                return;
            }
            rollback();
            qCWarning(lcStorage) << "group commit failed, retrying row by row:" << error;
            writeRowByRow(rows, first, last);
            return;
        }
        rollback();
        if (!outcome.rowFault) {
            writeRowByRow(rows, first, last);
            return;
        }
        if (i > first)
            writeGroup(rows, first, i); // they went through a moment ago
        writeRowByRow(rows, i, i + 1);
        first = i + 1;
    }
}

// Each row in its own transaction. When the database itself fails (I/O, full, locked beyond the
// busy timeout), the remaining rows fail with it rather than each waiting for its own failure.
void StorageWriter::Private::Writer::writeRowByRow(const std::vector<Pending> &rows, size_t first,
                                                   size_t last)
{
    for (size_t i = first; i < last; ++i) {
        const auto started = Clock::now();
        Outcome outcome;
        if (!control(Control::Begin, &outcome.error)) {
            outcome.ok = false;
        } else {
            outcome = execute(rows[i].op);
            if (outcome.ok && !control(Control::Commit, &outcome.error))
                outcome.ok = false;
            if (!outcome.ok)
                rollback();
        }
        if (outcome.ok) {
            const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
            m_p.setHealthy(true, QString());
            m_p.report({rows[i].ticket}, true, seconds, QString());
        } else if (outcome.rowFault) {
            m_p.report({rows[i].ticket}, false, 0, outcome.error);
        } else {
            m_p.setHealthy(false, outcome.error);
            m_p.report(tickets(rows, i, last), false, 0, outcome.error);
            return;
        }
    }
}

void StorageWriter::Private::Writer::probe()
{
    QString error;
    bool ok = false;
    if (m_p.m_healthy.load()) {
        ok = runControl(m_statements->probeRead, &error);
        m_statements->probeRead.finish(); // a SELECT left open would pin the WAL
    } else {
        // Only a real write shows that writes work again.
        const auto writeProbe = [this](QString *why) {
            QSqlQuery &q = m_statements->probeWrite;
            const bool written = control(Control::Begin, why) && runControl(q, why) &&
                                 runControl(q, why) && control(Control::Commit, why);
            if (!written)
                rollback();
            return written;
        };
        ok = writeProbe(&error);
        if (!ok && m_postgres)
            ok = reconnect(&error) && writeProbe(&error) && refillIds(&error);
    }
    m_p.setHealthy(ok, error);
}

void StorageWriter::Private::Writer::run()
{
    const bool purging = m_p.m_config.retentionDays > 0;
    auto nextProbe = Clock::now() + kProbeInterval;
    auto nextPurge = Clock::now() + kPurgeInterval;
    bool purgeUnfinished = false;
    std::vector<Pending> group;
    group.reserve(std::min<size_t>(m_maxBatchRows, 4096));
    for (;;) {
        group.clear();
        bool stopping = false;
        bool refill = false;
        {
            std::unique_lock lock(m_p.m_mutex);
            auto deadline = nextProbe;
            if (purging)
                deadline = std::min(deadline, purgeUnfinished ? Clock::now() : nextPurge);
            m_p.m_wake.wait_until(lock, deadline, [&] {
                return !m_p.m_queue.empty() || m_p.m_stopRequested || m_p.m_refillWanted;
            });
            stopping = m_p.m_stopRequested;
            refill = std::exchange(m_p.m_refillWanted, false);
            if (stopping && m_p.m_queue.empty()) {
                m_p.m_state = State::Stopped; // from now on submit() fails at once
                lock.unlock();
                m_p.m_idsChanged.notify_all(); // nobody waits for ids any more
                break;
            }
            const size_t n = std::min(m_p.m_queue.size(), m_maxBatchRows);
            for (size_t i = 0; i < n; ++i) {
                group.push_back(std::move(m_p.m_queue.front()));
                m_p.m_queue.pop_front();
            }
        }
        if (refill) { // before the group: a caller may be waiting for an id
            QString error;
            if (!refillIds(&error)) {
                qCWarning(lcStorage) << "reserving ids failed:" << error;
                m_p.setHealthy(false, error);
            }
        }
        if (!group.empty()) {
            writeGroup(group, 0, group.size());
            nextProbe = Clock::now() + kProbeInterval;
        }
        if (stopping)
            continue;
        if (purging && (purgeUnfinished || Clock::now() >= nextPurge)) {
            QString error;
            const std::optional<int> n = purgeChunk(&error);
            if (!n) {
                qCWarning(lcStorage) << "purging old messages failed:" << error;
                m_p.setHealthy(false, error);
            }
            purgeUnfinished = n && *n == kPurgeChunkRows;
            if (!purgeUnfinished)
                nextPurge = Clock::now() + kPurgeInterval;
            continue;
        }
        if (group.empty() && Clock::now() >= nextProbe) {
            probe();
            nextProbe = Clock::now() + kProbeInterval;
        }
    }
}

// ---- the owner's side -----------------------------------------------------------------------

void StorageWriter::Private::report(const QVector<quint64> &tickets, bool ok, double seconds,
                                    const QString &error)
{
    if (tickets.isEmpty())
        return;
    if (ok)
        emit m_owner->committed(tickets, seconds);
    else
        emit m_owner->failed(tickets, error);
    {
        std::lock_guard lock(m_mutex);
        m_reportedUpTo = std::max(m_reportedUpTo, tickets.constLast());
    }
    m_reported.notify_all();
}

void StorageWriter::Private::setHealthy(bool healthy, const QString &why)
{
    const bool was = m_healthy.exchange(healthy);
    if (was && !healthy)
        qCWarning(lcStorage) << "database" << displayName(m_config.database)
                             << "is failing:" << why;
    else if (!was && healthy)
        qCInfo(lcStorage) << "database" << displayName(m_config.database) << "works again";
}

void StorageWriter::Private::threadMain()
{
    m_writerThreadId = std::this_thread::get_id();
#ifdef Q_OS_LINUX
    pthread_setname_np(pthread_self(), "anonchat-store"); // for top and gdb
#endif
    QString name;
    {
        std::lock_guard lock(connectionNamesMutex());
        const QString base = m_config.connectionName + QLatin1String("-writer");
        name = base;
        for (int n = 2; QSqlDatabase::contains(name); ++n)
            name = base + QLatin1Char('-') + QString::number(n);
        QSqlDatabase::addDatabase(m_postgres ? QStringLiteral("QPSQL") : QStringLiteral("QSQLITE"),
                                  name);
    }
    {
        Writer writer(*this, name);
        QString error;
        const bool ok = writer.initialize(&error);
        m_healthy = ok;
        {
            std::lock_guard lock(m_mutex);
            m_startDone = true;
            m_startOk = ok;
            m_startError = error;
            if (ok)
                m_state = State::Running;
        }
        m_started.notify_all();
        if (ok)
            writer.run();
    }
    QSqlDatabase::removeDatabase(name);
    m_healthy = false;
    m_writerThreadId = std::thread::id();
}

StorageWriter::StorageWriter(StorageConfig config, QObject *parent)
    : QObject(parent)
    , d(std::make_unique<Private>(this, std::move(config)))
{}

StorageWriter::~StorageWriter()
{
    stop();
}

bool StorageWriter::start(QString *error)
{
    std::lock_guard lifecycle(d->m_lifecycleMutex);
    {
        std::lock_guard lock(d->m_mutex);
        if (d->m_state == Private::State::Running)
            return true;
        if (d->m_state == Private::State::Stopped) {
            if (error)
                *error = QStringLiteral("database %1: the storage writer was stopped")
                             .arg(displayName(d->m_config.database));
            return false;
        }
        d->m_startDone = false;
        d->m_startOk = false;
        d->m_startError.clear();
    }
    d->m_thread = std::thread([this] { d->threadMain(); });

    std::unique_lock lock(d->m_mutex);
    d->m_started.wait(lock, [this] { return d->m_startDone; });
    if (d->m_startOk)
        return true;
    const QString why = d->m_startError;
    lock.unlock();
    d->m_thread.join();
    if (error)
        *error = why;
    return false;
}

qint64 StorageWriter::Private::takeId(IdReserve &reserve)
{
    std::unique_lock lock(m_mutex);
    // Other callers may drain a refill before this one wakes: ask again until one fails.
    while (reserve.ids.empty() && m_state == State::Running && !m_idsUnavailable) {
        m_refillWanted = true;
        m_wake.notify_one();
        const quint64 attempts = m_refillAttempts;
        if (!m_idsChanged.wait_for(lock, kIdWait, [&] {
                return !reserve.ids.empty() || m_refillAttempts != attempts ||
                       m_state != State::Running;
            })) {
            m_idsUnavailable = true;
        } else if (reserve.ids.empty() && m_refillAttempts != attempts && !m_lastRefillOk) {
            break;
        }
    }
    if (reserve.ids.empty()) {
        lock.unlock();
        qCWarning(lcStorage) << "no id available: the storage writer cannot reserve ids";
        return 0;
    }
    const qint64 id = reserve.ids.front();
    reserve.ids.pop_front();
    if (reserve.ids.size() < kIdReserve / 2 && !m_refillWanted && m_state == State::Running) {
        m_refillWanted = true;
        lock.unlock();
        m_wake.notify_one();
    }
    return id;
}

qint64 StorageWriter::nextRoomId()
{
    return d->m_postgres ? d->takeId(d->m_roomIds) : d->m_nextRoomId.fetch_add(1);
}

qint64 StorageWriter::nextMessageId()
{
    return d->m_postgres ? d->takeId(d->m_messageIds) : d->m_nextMessageId.fetch_add(1);
}

quint64 StorageWriter::submit(WriteOp op)
{
    std::unique_lock lock(d->m_mutex);
    const quint64 ticket = d->m_nextTicket++;
    if (d->m_state != Private::State::Stopped) {
        // Before start() it waits in the queue for the writer.
        d->m_queue.push_back({ticket, std::move(op)});
        lock.unlock();
        d->m_wake.notify_one();
        return ticket;
    }
    lock.unlock();
    d->report({ticket}, false, 0, QStringLiteral("the storage writer is stopped"));
    return ticket;
}

void StorageWriter::flush()
{
    if (std::this_thread::get_id() == d->m_writerThreadId.load())
        return; // from a slot run by the writer itself: waiting would deadlock
    std::unique_lock lock(d->m_mutex);
    const quint64 target = d->m_nextTicket - 1;
    d->m_reported.wait(
        lock, [&] { return d->m_reportedUpTo >= target || d->m_state != Private::State::Running; });
}

void StorageWriter::stop()
{
    if (std::this_thread::get_id() == d->m_writerThreadId.load()) {
        qCWarning(lcStorage) << "StorageWriter::stop() called from the writer thread; ignored";
        return;
    }
    std::lock_guard lifecycle(d->m_lifecycleMutex);
    std::deque<Private::Pending> neverStarted;
    {
        std::lock_guard lock(d->m_mutex);
        d->m_stopRequested = true;
        if (!d->m_thread.joinable()) {
            d->m_state = Private::State::Stopped;
            neverStarted.swap(d->m_queue);
        }
    }
    d->m_wake.notify_all();
    if (d->m_thread.joinable())
        d->m_thread.join(); // it commits what is pending first
    d->m_healthy = false;
    d->m_reported.notify_all();
    for (const Private::Pending &pending : neverStarted) {
        d->report({pending.ticket}, false, 0,
                  QStringLiteral("the storage writer was stopped before it started"));
    }
}

bool StorageWriter::isHealthy() const
{
    return d->m_healthy.load();
}

int StorageWriter::latestSchemaVersion()
{
    return kLatestSchemaVersion;
}

bool StorageWriter::isPostgresUrl(const QString &database)
{
    return database.startsWith(QLatin1String("postgresql://"), Qt::CaseInsensitive) ||
           database.startsWith(QLatin1String("postgres://"), Qt::CaseInsensitive);
}

QString StorageWriter::postgresUrlProblem(const QString &database)
{
    return parsePostgresUrl(database, nullptr);
}

QString StorageWriter::displayName(const QString &database)
{
    if (!isPostgresUrl(database))
        return database;
    const QUrl url(database);
    return url.isValid() ? url.toDisplayString(QUrl::RemovePassword)
                         : database.section(QLatin1Char('@'), -1);
}

} // namespace anonchat::server
