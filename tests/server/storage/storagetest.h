#pragma once
// What the storage tests share: fresh databases (SQLite files or PostgreSQL), a recorder of the
// writer's reports and a second connection to look at what really was stored.

#include "server/storage/storagewriter.h"
#include "tests/support/engines.h"

#include <QCoreApplication>
#include <QFile>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>
#include <memory>
#include <numeric>

namespace anonchat::test::storage {

using namespace anonchat::server;

inline const QRegularExpression
    kIsoUtcMs(QStringLiteral(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\d\dZ$)"));

// Every storage test runs against SQLite files (ctest: tst_<unit>) and, where it says so in
// tests/CMakeLists.txt, against a real PostgreSQL (tst_<unit>_pg: ANONCHAT_TEST_DB=postgresql,
// and ANONCHAT_PG_URL_FILE names the file where scripts/pg.sh wrote the server's URL; each case
// gets fresh databases there).
inline const bool kPostgres =
    qEnvironmentVariable("ANONCHAT_TEST_DB") == QLatin1String("postgresql");

/// Opens a QPSQL connection called `name` to a postgresql:// URL.
inline bool openPostgres(const QString &name, const QString &text, QString *error)
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
inline void settle(StorageWriter &writer)
{
    writer.flush();
    QCoreApplication::sendPostedEvents();
}

inline QVector<quint64> range(quint64 first, quint64 last)
{
    QVector<quint64> v(qsizetype(last - first + 1));
    std::iota(v.begin(), v.end(), first);
    return v;
}

inline StorageConfig configFor(const QString &path)
{
    StorageConfig config;
    config.database = path;
    return config;
}

inline MessageRow message(qint64 id, qint64 roomId, const QString &sender, const QString &content,
                          const QString &nonce = {}, QDateTime at = QDateTime::currentDateTimeUtc())
{
    return MessageRow{id, roomId, sender, content, at, nonce};
}

inline RoomRow room(qint64 id)
{
    return RoomRow{id, QStringLiteral("alice"), QStringLiteral("bob"),
                   QDateTime::currentDateTimeUtc()};
}

/**
 * Where a test case's databases live: a temporary directory for SQLite files, and with
 * ANONCHAT_TEST_DB=postgresql fresh databases on the fixture's PostgreSQL, named after the test
 * binary (the binaries may run in parallel on one server).
 */
class Databases
{
public:
    /// For initTestCase(): empty, or why the databases cannot be had.
    QString setUp()
    {
        if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QSQLITE")))
            return QStringLiteral("the Qt SQLite driver (libqt6sql6-sqlite) is needed");
        if (!kPostgres)
            return {};
        if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QPSQL")))
            return QStringLiteral("the Qt PostgreSQL driver (libqt6sql6-psql) is needed");
        const QString urlFile = qEnvironmentVariable("ANONCHAT_PG_URL_FILE");
        m_postgresUrl = readUrlFile(urlFile);
        if (m_postgresUrl.isEmpty()) {
            return QStringLiteral("no PostgreSQL URL: ANONCHAT_PG_URL_FILE='%1' (ctest's "
                                  "postgres_start fixture writes it: scripts/pg.sh)")
                .arg(urlFile);
        }
        if (!StorageWriter::isPostgresUrl(m_postgresUrl))
            return m_postgresUrl;
        return {};
    }
    /// For init() and cleanup(): a new temporary directory per case.
    bool init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        return m_dir->isValid();
    }
    void cleanup() { m_dir.reset(); }

    /// A SQLite file in the case's directory (whatever ANONCHAT_TEST_DB says).
    QString path(const QString &name) const { return m_dir->filePath(name); }
    /// The fixture's own PostgreSQL database: where fresh ones are made.
    QString postgresUrl() const { return m_postgresUrl; }

    /// A new, empty database: a file in the case's directory, or a fresh PostgreSQL database.
    QString database(const QString &name) const
    {
        if (!kPostgres)
            return path(name);
        // <binary>_<name>, made anew by the server's own user (it may create databases).
        QString dbName = QCoreApplication::applicationName() + QLatin1Char('_') + name;
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

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_postgresUrl;
};

/// The base of the storage suites that use databases: sets up Databases around every case.
class StorageSuite : public QObject
{
    Q_OBJECT

protected:
    Databases m_databases;

private slots:
    void initTestCase()
    {
        const QString problem = m_databases.setUp();
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }
    void init() { QVERIFY(m_databases.init()); }
    void cleanup() { m_databases.cleanup(); }
};

} // namespace anonchat::test::storage

#define SQLITE_ONLY()                                                                              \
    if (anonchat::test::storage::kPostgres)                                                        \
    QSKIP("SQLite only (the file, its journal, or the original Flask schema)")
#define POSTGRES_ONLY()                                                                            \
    if (!anonchat::test::storage::kPostgres)                                                       \
    QSKIP("PostgreSQL only (tst_<unit>_pg)")
