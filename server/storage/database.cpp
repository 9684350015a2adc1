#include "server/storage/database.h"

#include "server/storage/postgresurl.h"

#include <QLoggingCategory>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>
#include <mutex>

namespace anonchat::server {

namespace {

Q_LOGGING_CATEGORY(lcDatabase, "anonchat.storage", QtInfoMsg)

// QSqlDatabase's connection registry is process-wide: several writers (a server in the desktop
// app next to tests) must not take each other's connection name.
std::mutex &connectionNamesMutex()
{
    static std::mutex mutex;
    return mutex;
}

} // namespace

struct Database::Prepared {
    explicit Prepared(const QSqlDatabase &db)
        : begin(db)
        , commit(db)
        , rollback(db)
    {}
    QSqlQuery begin, commit, rollback;
};

Database::Database(const QString &database, const QString &baseName)
    : m_database(database)
    , m_dialect(database)
{
    std::lock_guard lock(connectionNamesMutex());
    m_name = baseName;
    for (int n = 2; QSqlDatabase::contains(m_name); ++n)
        m_name = baseName + QLatin1Char('-') + QString::number(n);
    m_db = QSqlDatabase::addDatabase(m_dialect.driverName(), m_name);
}

Database::~Database()
{
    m_prepared.reset(); // no query may outlive the connection
    m_db.close();
    m_db = QSqlDatabase(); // removeDatabase() wants no copy left
    QSqlDatabase::removeDatabase(m_name);
}

QString Database::displayName() const
{
    return PostgresUrl::displayName(m_database);
}

bool Database::open(QString *error)
{
    if (!m_db.isValid()) {
        *error =
            QStringLiteral("the %1 driver is not available").arg(m_dialect.driverDescription());
        return false;
    }
    if (!m_dialect.configure(m_db, m_database, error))
        return false;
    if (!m_db.open()) {
        *error = describe(m_db.lastError());
        return false;
    }
    for (const QString &sql : m_dialect.sessionSettings()) {
        if (!exec(sql, error))
            return false;
    }
    return true;
}

bool Database::tune(QString *error)
{
    const QString journal = m_dialect.journalModeSetting();
    if (!journal.isEmpty()) {
        QVariant mode;
        if (!queryValue(journal, &mode, error))
            return false;
        const QString obtained = mode.toString();
        if (obtained.compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0 &&
            obtained.compare(QLatin1String("memory"), Qt::CaseInsensitive) != 0) {
            qCWarning(lcDatabase) << "database" << m_database << "could not use WAL; journal mode"
                                  << obtained;
        }
    }
    for (const QString &sql : m_dialect.tuningSettings()) {
        if (!exec(sql, error))
            return false;
    }
    return true;
}

bool Database::reconnect(QString *error)
{
    m_prepared.reset();
    m_db.close();
    return open(error) && prepareTransactions(error);
}

bool Database::exec(const QString &sql, QString *error)
{
    QSqlQuery query(m_db);
    if (query.exec(sql))
        return true;
    *error = describe(query.lastError());
    return false;
}

bool Database::queryValue(const QString &sql, QVariant *value, QString *error)
{
    QSqlQuery query(m_db);
    if (!query.exec(sql)) {
        *error = describe(query.lastError());
        return false;
    }
    if (value)
        *value = query.next() ? query.value(0) : QVariant();
    return true;
}

bool Database::prepareTransactions(QString *error)
{
    if (!m_dialect.preparesTransactionControl())
        return true;
    m_prepared = std::make_unique<Prepared>(m_db);
    for (QSqlQuery *query : {&m_prepared->begin, &m_prepared->commit, &m_prepared->rollback}) {
        const QString sql = query == &m_prepared->begin    ? m_dialect.beginWriteSql()
                            : query == &m_prepared->commit ? QStringLiteral("COMMIT")
                                                           : QStringLiteral("ROLLBACK");
        query->setForwardOnly(true);
        if (!query->prepare(sql)) {
            *error =
                QStringLiteral("cannot prepare \"%1\": %2").arg(sql, describe(query->lastError()));
            return false;
        }
    }
    return true;
}

bool Database::begin(QString *error)
{
    return control(Control::Begin, error);
}

bool Database::commit(QString *error)
{
    return control(Control::Commit, error);
}

void Database::rollback()
{
    QString ignored;
    control(Control::Rollback, &ignored);
}

bool Database::control(Control step, QString *error)
{
    if (m_prepared) {
        QSqlQuery &query = step == Control::Begin    ? m_prepared->begin
                           : step == Control::Commit ? m_prepared->commit
                                                     : m_prepared->rollback;
        if (query.exec())
            return true;
        *error = describe(query.lastError());
        return false;
    }
    return exec(step == Control::Begin    ? m_dialect.beginWriteSql()
                : step == Control::Commit ? QStringLiteral("COMMIT")
                                          : QStringLiteral("ROLLBACK"),
                error);
}

QString Database::describe(const QSqlError &error)
{
    const QString text = error.databaseText();
    return (text.isEmpty() ? error.text() : text).simplified();
}

} // namespace anonchat::server
