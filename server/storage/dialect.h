#pragma once
// Every difference between SQLite and PostgreSQL, side by side: the rest of storage asks here.

#include <QString>
#include <QStringList>

class QSqlDatabase;
class QSqlError;

namespace anonchat::server {

/**
 * What differs between the two databases the server can use: the Qt driver, how a connection is
 * set up and tuned, a few SQL texts (catalog queries, id columns, how a write transaction
 * begins), how the writer's transactions and migrations are locked, where ids come from, and
 * which errors blame the row rather than the database. The tables, columns and queries are
 * otherwise the same on both (times are ISO-8601 UTC text, is_active an integer).
 */
class Dialect
{
public:
    /// SQLite for a file path, PostgreSQL for a `postgresql://` URL.
    explicit Dialect(const QString &database);

    bool isPostgres() const { return m_postgres; }

    QString driverName() const;
    /// The driver with the Debian package that has it, for the error when it is missing.
    QString driverDescription() const;
    /// Points `db` at `database` (a file, or a URL's parts). False with why if the URL is bad.
    bool configure(QSqlDatabase &db, const QString &database, QString *error) const;
    /// Run on every new connection.
    QStringList sessionSettings() const;
    /// SQLite: the journal mode pragma (its result is the mode obtained); PostgreSQL: empty.
    QString journalModeSetting() const;
    /// Run once at start, after the journal mode: durability and cache settings.
    QStringList tuningSettings() const;

    /// One row with a count: 1 if `table` exists.
    QString tableExistsQuery(const QString &table) const;
    /// The columns of `table`, one row each; the name is in column columnNameIndex().
    QString columnsQuery(const QString &table) const;
    int columnNameIndex() const;
    QString idColumnType() const;    ///< an id primary key
    QString idReferenceType() const; ///< a column holding another table's id
    QString beginWriteSql() const;   ///< begins a transaction that will write
    /// SQLite prepares BEGIN, COMMIT and ROLLBACK once; PostgreSQL cannot PREPARE them.
    bool preparesTransactionControl() const;
    /// Held around migrations so that servers starting together migrate once (empty: SQLite's
    /// BEGIN IMMEDIATE is enough).
    QString migrationLockSql() const;
    QString migrationUnlockSql() const;

    /// PostgreSQL: ids come from the tables' sequences, reserved in blocks, so servers sharing
    /// the database never get the same one. SQLite: a counter per table from MAX(id) + 1.
    bool reservesIds() const;
    /// PostgreSQL: `?` ids from `table`'s sequence, one row each.
    QString idBlockQuery(const QString &table) const;
    /// PostgreSQL: one row, the name of `table`'s id sequence and the table's largest id.
    QString sequenceAndLargestIdQuery(const QString &table) const;
    /// PostgreSQL: one row, the sequence's last value and whether it was handed out.
    QString sequenceStateQuery(const QString &sequence) const;
    /// PostgreSQL: moves the sequence so that the next id it gives is `largest` + 1.
    QString moveSequenceSql(const QString &sequence, qint64 largest) const;
    /// SQLite: messages are inserted through the connection's own sqlite3 handle (see
    /// RowWriter); PostgreSQL: through QSqlQuery.
    bool insertsMessagesNatively() const;
    /// PostgreSQL: a lost connection stays lost in QPSQL, so an unhealthy writer reconnects.
    bool reconnectsWhenFailing() const;

    /// The error blames the row (a constraint, a bad value), not the database.
    bool isRowFault(const QSqlError &error) const;
    /// The same for a SQLite extended result code, as sqlite3_extended_errcode() gives it.
    static bool isSqliteRowFault(int extendedCode);

private:
    bool m_postgres = false;
};

} // namespace anonchat::server
