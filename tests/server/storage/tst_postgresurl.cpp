// PostgreSQL URLs: which strings are URLs, their parts, every problem named, the password hidden.
#include "server/storage/postgresurl.h"

#include <QTest>

using namespace anonchat::server;

class TestPostgresUrl : public QObject
{
    Q_OBJECT

private slots:
    void isPostgresUrl_data();
    void isPostgresUrl();
    void partsOfAUrl();
    void problems_data();
    void problems();
    void displayNameHidesThePassword_data();
    void displayNameHidesThePassword();
};

void TestPostgresUrl::isPostgresUrl_data()
{
    QTest::addColumn<QString>("database");
    QTest::addColumn<bool>("isUrl");
    QTest::newRow("postgresql") << QStringLiteral("postgresql://u:p@host/chat") << true;
    QTest::newRow("postgres") << QStringLiteral("postgres://u@host/chat") << true;
    QTest::newRow("upper case") << QStringLiteral("PostgreSQL://u@host/chat") << true;
    QTest::newRow("a file") << QStringLiteral("chat.db") << false;
    QTest::newRow("a path naming postgresql")
        << QStringLiteral("/var/lib/postgresql/chat.db") << false;
    QTest::newRow("another scheme") << QStringLiteral("mysql://u:p@host/chat") << false;
}

void TestPostgresUrl::isPostgresUrl()
{
    QFETCH(QString, database);
    QFETCH(bool, isUrl);
    QCOMPARE(PostgresUrl::isPostgresUrl(database), isUrl);
}

void TestPostgresUrl::partsOfAUrl()
{
    PostgresUrl url;
    QCOMPARE(PostgresUrl::parse(QStringLiteral("postgresql://chat%40app:s%3Acret@db.example:6543/"
                                               "anon_chat?sslmode=require&application_name=x"),
                                &url),
             QString());
    QCOMPARE(url.user, QStringLiteral("chat@app"));
    QCOMPARE(url.password, QStringLiteral("s:cret"));
    QCOMPARE(url.host, QStringLiteral("db.example"));
    QCOMPARE(url.port, 6543);
    QCOMPARE(url.databaseName, QStringLiteral("anon_chat"));
    QCOMPARE(url.options, QStringLiteral("connect_timeout=5;sslmode=require;application_name=x"));

    QCOMPARE(PostgresUrl::parse(QStringLiteral("postgres://chat@127.0.0.1/db"), &url), QString());
    QCOMPARE(url.port, 5432); // the default
    QCOMPARE(url.password, QString());
    QCOMPARE(url.options, QStringLiteral("connect_timeout=5"));
}

void TestPostgresUrl::problems_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("problem");
    QTest::newRow("not a URL") << QStringLiteral("postgresql://u:secret@host:port/chat")
                               << QStringLiteral("not a valid URL");
    QTest::newRow("another scheme")
        << QStringLiteral("mysql://u:secret@host/chat") << QStringLiteral("the scheme must be");
    QTest::newRow("no host") << QStringLiteral("postgresql://user:secret@/chat")
                             << QStringLiteral("no host");
    QTest::newRow("no database name") << QStringLiteral("postgres://user:secret@127.0.0.1:5432")
                                      << QStringLiteral("no database name");
    QTest::newRow("a path, not a name")
        << QStringLiteral("postgres://user:secret@host/a/b") << QStringLiteral("no database name");
    QTest::newRow("no user") << QStringLiteral("postgresql://host/chat")
                             << QStringLiteral("no user name");
    QTest::newRow("a ; in an option") << QStringLiteral("postgresql://u:secret@host/chat?a=b;c")
                                      << QStringLiteral("invalid option 'a'");
}

void TestPostgresUrl::problems()
{
    QFETCH(QString, url);
    QFETCH(QString, problem);
    PostgresUrl parts;
    parts.host = QStringLiteral("untouched");
    const QString why = PostgresUrl::parse(url, &parts);
    QVERIFY2(why.startsWith(problem), qPrintable(why));
    QVERIFY2(!why.contains(QLatin1String("secret")), qPrintable(why));
    QCOMPARE(parts.host, QStringLiteral("untouched"));
}

void TestPostgresUrl::displayNameHidesThePassword_data()
{
    QTest::addColumn<QString>("database");
    QTest::addColumn<QString>("shown");
    QTest::newRow("a file") << QStringLiteral("/srv/chat.db") << QStringLiteral("/srv/chat.db");
    QTest::newRow("a URL") << QStringLiteral("postgresql://chat:secret@db:5432/anon")
                           << QStringLiteral("postgresql://chat@db:5432/anon");
    QTest::newRow("an invalid URL") << QStringLiteral("postgresql://chat:secret@db:port/anon")
                                    << QStringLiteral("db:port/anon");
}

void TestPostgresUrl::displayNameHidesThePassword()
{
    QFETCH(QString, database);
    QFETCH(QString, shown);
    QCOMPARE(PostgresUrl::displayName(database), shown);
}

QTEST_APPLESS_MAIN(TestPostgresUrl)
#include "tst_postgresurl.moc"
