// The SQLite/PostgreSQL differences: which errors blame the row, and which database does what.
#include "server/storage/dialect.h"

#include <QSqlError>
#include <QTest>

using namespace anonchat::server;

namespace {

const QString kSqlite = QStringLiteral("chat.db");
const QString kPostgres = QStringLiteral("postgresql://u:p@host/chat");

} // namespace

class TestDialect : public QObject
{
    Q_OBJECT

private slots:
    void rowFaults_data();
    void rowFaults();
    void sqliteRowFaultCodes();
    void eachDatabaseItsWay();
};

void TestDialect::rowFaults_data()
{
    QTest::addColumn<QString>("database");
    QTest::addColumn<QString>("code");
    QTest::addColumn<bool>("rowFault");
    // SQLite: Qt reports the extended result code; its low byte is the primary one.
    QTest::newRow("sqlite constraint") << kSqlite << QStringLiteral("19") << true;
    QTest::newRow("sqlite unique") << kSqlite << QStringLiteral("2067") << true;
    QTest::newRow("sqlite foreign key") << kSqlite << QStringLiteral("787") << true;
    QTest::newRow("sqlite too big") << kSqlite << QStringLiteral("18") << true;
    QTest::newRow("sqlite mismatch") << kSqlite << QStringLiteral("20") << true;
    QTest::newRow("sqlite range") << kSqlite << QStringLiteral("25") << true;
    QTest::newRow("sqlite busy") << kSqlite << QStringLiteral("5") << false;
    QTest::newRow("sqlite I/O") << kSqlite << QStringLiteral("266") << false;
    QTest::newRow("sqlite full") << kSqlite << QStringLiteral("13") << false;
    QTest::newRow("sqlite no code") << kSqlite << QString() << false;
    // PostgreSQL: SQLSTATE.
    QTest::newRow("pg unique") << kPostgres << QStringLiteral("23505") << true;
    QTest::newRow("pg foreign key") << kPostgres << QStringLiteral("23503") << true;
    QTest::newRow("pg bad text") << kPostgres << QStringLiteral("22021") << true;
    QTest::newRow("pg too big") << kPostgres << QStringLiteral("54000") << true;
    QTest::newRow("pg deadlock") << kPostgres << QStringLiteral("40P01") << false;
    QTest::newRow("pg connection") << kPostgres << QStringLiteral("08006") << false;
    QTest::newRow("pg shutdown") << kPostgres << QStringLiteral("57P01") << false;
}

void TestDialect::rowFaults()
{
    QFETCH(QString, database);
    QFETCH(QString, code);
    QFETCH(bool, rowFault);
    const QSqlError error(QStringLiteral("driver"), QStringLiteral("database"),
                          QSqlError::StatementError, code);
    QCOMPARE(Dialect(database).isRowFault(error), rowFault);
}

void TestDialect::sqliteRowFaultCodes()
{
    // The code sqlite3_extended_errcode() gives the message insert on the sqlite3 handle.
    QVERIFY(Dialect::isSqliteRowFault(2067));
    QVERIFY(!Dialect::isSqliteRowFault(1));
}

void TestDialect::eachDatabaseItsWay()
{
    const Dialect sqlite(kSqlite);
    const Dialect postgres(kPostgres);
    QVERIFY(!sqlite.isPostgres());
    QVERIFY(postgres.isPostgres());
    QCOMPARE(sqlite.driverName(), QStringLiteral("QSQLITE"));
    QCOMPARE(postgres.driverName(), QStringLiteral("QPSQL"));
    QCOMPARE(sqlite.beginWriteSql(), QStringLiteral("BEGIN IMMEDIATE"));
    QCOMPARE(postgres.beginWriteSql(), QStringLiteral("BEGIN"));
    // Ids: a counter on SQLite, sequence blocks on PostgreSQL (shared by several servers).
    QVERIFY(!sqlite.reservesIds());
    QVERIFY(postgres.reservesIds());
    QVERIFY(sqlite.migrationLockSql().isEmpty());
    QVERIFY(postgres.migrationLockSql().startsWith(QLatin1String("SELECT pg_advisory_lock(")));
    QVERIFY(sqlite.insertsMessagesNatively());
    QVERIFY(!postgres.insertsMessagesNatively());
    QVERIFY(postgres.reconnectsWhenFailing());
    QVERIFY(!sqlite.reconnectsWhenFailing());
    QVERIFY(sqlite.journalModeSetting().contains(QLatin1String("WAL")));
    QVERIFY(postgres.journalModeSetting().isEmpty());
    QVERIFY(postgres.tuningSettings().isEmpty());
}

QTEST_APPLESS_MAIN(TestDialect)
#include "tst_dialect.moc"
