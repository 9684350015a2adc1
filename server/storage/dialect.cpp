#include "server/storage/dialect.h"

#include "server/storage/postgresurl.h"

#include <QSqlDatabase>
#include <QSqlError>

namespace anonchat::server {

namespace {

// SQLite primary result codes (sqlite3.h) that blame the row, not the database. Qt reports the
// extended code as the native error code; its low byte is the primary code.
constexpr int kSqliteTooBig = 18;
constexpr int kSqliteConstraint = 19;
constexpr int kSqliteMismatch = 20;
constexpr int kSqliteRange = 25;

// pg_advisory_lock() key held while migrating: "anonchat" in ASCII.
constexpr qint64 kMigrationLockKey = 0x616e6f6e63686174;

} // namespace

Dialect::Dialect(const QString &database)
    : m_postgres(PostgresUrl::isPostgresUrl(database))
{}

QString Dialect::driverName() const
{
    return m_postgres ? QStringLiteral("QPSQL") : QStringLiteral("QSQLITE");
}

QString Dialect::driverDescription() const
{
    return m_postgres ? QStringLiteral("QPSQL (libqt6sql6-psql)")
                      : QStringLiteral("QSQLITE (libqt6sql6-sqlite)");
}

bool Dialect::configure(QSqlDatabase &db, const QString &database, QString *error) const
{
    if (!m_postgres) {
        db.setDatabaseName(database);
        return true;
    }
    PostgresUrl url;
    const QString problem = PostgresUrl::parse(database, &url);
    if (!problem.isEmpty()) {
        *error = QStringLiteral("invalid PostgreSQL URL: %1").arg(problem);
        return false;
    }
    db.setHostName(url.host);
    db.setPort(url.port);
    db.setUserName(url.user);
    db.setPassword(url.password);
    db.setDatabaseName(url.databaseName);
    db.setConnectOptions(url.options);
    return true;
}

QStringList Dialect::sessionSettings() const
{
    if (m_postgres) {
        // libpq prints notices ("relation ... already exists, skipping") on stderr by default.
        return {QStringLiteral("SET client_min_messages = warning")};
    }
    return {QStringLiteral("PRAGMA busy_timeout = 5000"),
            QStringLiteral("PRAGMA foreign_keys = ON")};
}

QString Dialect::journalModeSetting() const
{
    return m_postgres ? QString() : QStringLiteral("PRAGMA journal_mode = WAL");
}

QStringList Dialect::tuningSettings() const
{
    if (m_postgres)
        return {};
    return {
        QStringLiteral("PRAGMA synchronous = FULL"),
        // Every message dirties a leaf of each messages index in its own room: with many rooms
        // chatting, those pages outgrow SQLite's default 2 MiB page cache and each insert reads
        // them back from the file (~3 preads per message at 200 rooms). Up to 32 MiB, filled
        // only as the database is used.
        QStringLiteral("PRAGMA cache_size = -32768"),
        // A checkpoint copies every page changed since the last one into the database and syncs
        // it; the hot index pages change with every group, so checkpointing every 8,192 WAL
        // pages instead of 1,000 copies them ~8 times less often (the WAL may reach 32 MiB).
        QStringLiteral("PRAGMA wal_autocheckpoint = 8192"),
    };
}

QString Dialect::tableExistsQuery(const QString &table) const
{
    if (m_postgres) {
        return QStringLiteral("SELECT COUNT(*) FROM information_schema.tables "
                              "WHERE table_schema = current_schema() AND table_name = '%1'")
            .arg(table);
    }
    return QStringLiteral("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '%1'")
        .arg(table);
}

QString Dialect::columnsQuery(const QString &table) const
{
    if (m_postgres) {
        return QStringLiteral("SELECT column_name FROM information_schema.columns "
                              "WHERE table_schema = current_schema() AND table_name = '%1'")
            .arg(table);
    }
    return QStringLiteral("PRAGMA table_info(%1)").arg(table);
}

int Dialect::columnNameIndex() const
{
    return m_postgres ? 0 : 1;
}

QString Dialect::idColumnType() const
{
    // BIGSERIAL: a BIGINT with a sequence the writer reserves ids from (see IdAllocator).
    return m_postgres ? QStringLiteral("BIGSERIAL PRIMARY KEY")
                      : QStringLiteral("INTEGER PRIMARY KEY");
}

QString Dialect::idReferenceType() const
{
    return m_postgres ? QStringLiteral("BIGINT") : QStringLiteral("INTEGER");
}

QString Dialect::beginWriteSql() const
{
    // IMMEDIATE: SQLite takes the write lock at once, so two servers starting on one file do
    // not both migrate it, and a group never fails half-way for want of the lock.
    return m_postgres ? QStringLiteral("BEGIN") : QStringLiteral("BEGIN IMMEDIATE");
}

bool Dialect::preparesTransactionControl() const
{
    return !m_postgres;
}

QString Dialect::migrationLockSql() const
{
    // The lock is the session's: closing the connection (a failed start) releases it too.
    return m_postgres ? QStringLiteral("SELECT pg_advisory_lock(%1)").arg(kMigrationLockKey)
                      : QString();
}

QString Dialect::migrationUnlockSql() const
{
    return m_postgres ? QStringLiteral("SELECT pg_advisory_unlock(%1)").arg(kMigrationLockKey)
                      : QString();
}

bool Dialect::reservesIds() const
{
    return m_postgres;
}

QString Dialect::idBlockQuery(const QString &table) const
{
    return QStringLiteral("SELECT nextval(pg_get_serial_sequence('%1', 'id')) "
                          "FROM generate_series(1, ?)")
        .arg(table);
}

QString Dialect::sequenceAndLargestIdQuery(const QString &table) const
{
    return QStringLiteral("SELECT pg_get_serial_sequence('%1', 'id'), (SELECT MAX(id) FROM %1)")
        .arg(table);
}

QString Dialect::sequenceStateQuery(const QString &sequence) const
{
    return QStringLiteral("SELECT last_value, is_called FROM %1").arg(sequence);
}

QString Dialect::moveSequenceSql(const QString &sequence, qint64 largest) const
{
    return QStringLiteral("SELECT setval('%1', %2)").arg(sequence).arg(largest);
}

bool Dialect::insertsMessagesNatively() const
{
    return !m_postgres;
}

bool Dialect::reconnectsWhenFailing() const
{
    return m_postgres;
}

bool Dialect::isRowFault(const QSqlError &error) const
{
    if (m_postgres) {
        // SQLSTATE classes that blame the row: 22 data exception (a NUL in text, a value out of
        // range), 23 integrity constraint violation; 54000 a value too big.
        const QString state = error.nativeErrorCode();
        return state.startsWith(QLatin1String("22")) || state.startsWith(QLatin1String("23")) ||
               state == QLatin1String("54000");
    }
    bool ok = false;
    const int code = error.nativeErrorCode().toInt(&ok);
    return ok && isSqliteRowFault(code);
}

bool Dialect::isSqliteRowFault(int extendedCode)
{
    switch (extendedCode & 0xff) {
    case kSqliteTooBig:
    case kSqliteConstraint:
    case kSqliteMismatch:
    case kSqliteRange: return true;
    default: return false;
    }
}

} // namespace anonchat::server
