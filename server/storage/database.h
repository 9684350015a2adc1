#pragma once
// The writer thread's own connection: open, tune, plain statements and transactions.

#include "server/storage/dialect.h"

#include <QSqlDatabase>
#include <QString>
#include <memory>

class QSqlError;
class QSqlQuery;

namespace anonchat::server {

/**
 * One QSqlDatabase connection, made and used on one thread only (a connection is usable only on
 * the thread that made it), registered under a name no other connection in the process has.
 * It knows how to open itself for its Dialect and how to begin, commit and roll back; what is
 * written is the business of Schema and RowWriter, which work through it.
 */
class Database
{
public:
    /// Registers the connection as `baseName` (or `baseName-2`, ...); does not open it.
    Database(const QString &database, const QString &baseName);
    ~Database(); ///< closes and unregisters; every QSqlQuery on it must be gone by then
    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;

    const Dialect &dialect() const { return m_dialect; }
    QSqlDatabase &connection() { return m_db; }
    /// The database as it may be logged: without a PostgreSQL password.
    QString displayName() const;

    /// Opens the connection and applies the dialect's session settings.
    bool open(QString *error);
    /// The journal mode and durability settings, once at start (nothing on PostgreSQL).
    bool tune(QString *error);
    /// Closes and opens again. The caller's prepared statements must be dropped before.
    bool reconnect(QString *error);

    bool exec(const QString &sql, QString *error);
    /// Runs `sql`; `value` (if given) gets the first column of its first row, or null.
    bool queryValue(const QString &sql, QVariant *value, QString *error);

    /// Prepares what the dialect prepares of transaction control (call after migrating).
    bool prepareTransactions(QString *error);
    bool begin(QString *error);
    bool commit(QString *error);
    void rollback(); ///< its error is of no use: the transaction is over either way

    /// One line: libpq's messages span several ("connection to server ... failed: FATAL: ...").
    static QString describe(const QSqlError &error);

private:
    enum class Control { Begin, Commit, Rollback };
    bool control(Control step, QString *error);

    const QString m_database;
    const Dialect m_dialect;
    QString m_name;
    QSqlDatabase m_db;
    struct Prepared;
    std::unique_ptr<Prepared> m_prepared; ///< SQLite's BEGIN, COMMIT, ROLLBACK
};

} // namespace anonchat::server
