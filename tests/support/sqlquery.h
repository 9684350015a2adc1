// A test's own connection to the server's database, and SQL run on it with failures logged.
#pragma once

#include <QDebug>
#include <QList>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QUuid>
#include <QVariant>

namespace anonchat::test {

/// Prepares `sql` in `query` and runs it with the positional `bindings`; false (logged) on failure.
inline bool runQuery(QSqlQuery &query, const QString &sql, const QVariantList &bindings)
{
    if (!query.prepare(sql)) {
        qWarning() << "prepare failed:" << sql << query.lastError().text();
        return false;
    }
    for (const QVariant &v : bindings)
        query.addBindValue(v);
    if (!query.exec()) {
        qWarning() << "exec failed:" << sql << query.lastError().text();
        return false;
    }
    return true;
}

/// The rows of a query with positional bindings, each as a list of values; none on failure.
inline QList<QVariantList> queryRows(const QSqlDatabase &db, const QString &sql,
                                     const QVariantList &bindings = {})
{
    QSqlQuery query(db);
    QList<QVariantList> out;
    if (!runQuery(query, sql, bindings))
        return out;
    while (query.next()) {
        QVariantList row;
        for (int i = 0; i < query.record().count(); ++i)
            row << query.value(i);
        out << row;
    }
    return out;
}

/// Runs a statement with positional bindings; false (logged) on failure.
inline bool execQuery(const QSqlDatabase &db, const QString &sql, const QVariantList &bindings = {})
{
    QSqlQuery query(db);
    return runQuery(query, sql, bindings);
}

/// A new SQLite connection to the file `path`, under a name of its own beginning with `prefix`.
inline QSqlDatabase addSqlite(const QString &prefix, const QString &path)
{
    QSqlDatabase db = QSqlDatabase::addDatabase(
        QStringLiteral("QSQLITE"), prefix + QUuid::createUuid().toString(QUuid::Id128));
    db.setDatabaseName(path);
    return db;
}

/// A look at the server's database through a connection of the test's own (SQLite in WAL mode
/// allows it while the server runs): opened when made, closed and removed when it goes.
class SqlProbe
{
public:
    /// Opens `db`, a connection added under a name of its own (addSqlite(), addPostgres()).
    explicit SqlProbe(QSqlDatabase db)
        : m_name(db.connectionName())
    {
        m_open = db.open();
        if (!m_open)
            qWarning() << "cannot open" << db.hostName() << db.lastError().text();
    }
    ~SqlProbe()
    {
        {
            QSqlDatabase db = QSqlDatabase::database(m_name, false);
            db.close();
        }
        QSqlDatabase::removeDatabase(m_name);
    }
    SqlProbe(const SqlProbe &) = delete;
    SqlProbe &operator=(const SqlProbe &) = delete;

    bool isOpen() const { return m_open; }
    QSqlDatabase db() const { return QSqlDatabase::database(m_name, false); }

    /// The rows of a query with positional bindings, each as a list of values.
    QList<QVariantList> rows(const QString &sql, const QVariantList &bindings = {}) const
    {
        return queryRows(db(), sql, bindings);
    }
    /// The first column of the first row; invalid when there is none.
    QVariant value(const QString &sql, const QVariantList &bindings = {}) const
    {
        return rows(sql, bindings).value(0).value(0);
    }
    bool exec(const QString &sql, const QVariantList &bindings = {}) const
    {
        return execQuery(db(), sql, bindings);
    }

private:
    QString m_name;
    bool m_open = false;
};

} // namespace anonchat::test
