// The desktop app's command line (client/app, PROTOCOL.md "Desktop app command line"): what is
// parsed, what the app then runs (the flags over the saved settings), and the errors and help.

#include "client/app/appsettings.h"
#include "client/app/commandline.h"

#include <QCoreApplication>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace anonchat;
using namespace anonchat::client;

class TestCommandLine : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setApplicationName(QStringLiteral("anonchat-tst"));
        QVERIFY(m_dir.isValid());
    }

    void commandLine()
    {
        LaunchOptions options;
        QString message;
        QCOMPARE(parseCommandLine({QStringLiteral("anonchat")}, options, &message),
                 ParseOutcome::Run);
        QVERIFY(options.serverConfig.database.endsWith(QStringLiteral("/chat.db")));
        QVERIFY(options.serverConfig.database.startsWith(
            QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)));
        QVERIFY(!options.serverFlagGiven);
        QVERIFY(!options.connectUrl.isValid());

        AppSettings settings(m_dir.filePath(QStringLiteral("cli.ini")));
        ServerBackend::Target target = startTarget(options, settings);
        QVERIFY(target.host);
        QCOMPARE(target.config.port, quint16(5000));
        QCOMPARE(target.config.host, QHostAddress(QHostAddress::LocalHost));

        settings.setShareOnNetwork(true);
        settings.setPort(5555);
        target = startTarget(options, settings);
        QCOMPARE(target.config.host, QHostAddress(QHostAddress::AnyIPv4));
        QCOMPARE(target.config.port, quint16(5555));

        settings.setHostLocally(false);
        settings.setRemoteUrl(QUrl(QStringLiteral("https://chat.example.org/")));
        target = startTarget(options, settings);
        QVERIFY(!target.host);
        QCOMPARE(target.remoteUrl, QUrl(QStringLiteral("https://chat.example.org/")));

        // Server flags mean hosting, whatever the settings say.
        QCOMPARE(parseCommandLine({"anonchat", "--port", "0", "--db", "/tmp/x.db", "--host",
                                   "0.0.0.0", "--rate-limit", "0"},
                                  options, &message),
                 ParseOutcome::Run);
        QVERIFY(options.serverFlagGiven && options.portGiven && options.hostGiven);
        QCOMPARE(options.serverConfig.database, QStringLiteral("/tmp/x.db"));
        QCOMPARE(options.serverConfig.rateLimit, 0);
        target = startTarget(options, settings);
        QVERIFY(target.host);
        QCOMPARE(target.config.port, quint16(0));
        QCOMPARE(target.config.host, QHostAddress(QHostAddress::AnyIPv4));

        for (const char *url : {"http://127.0.0.1:5000/", "https://chat.example.org",
                                "ws://10.0.0.2:5000/ws", "wss://chat.example.org/ws"}) {
            QCOMPARE(parseCommandLine({"anonchat", "--connect", url}, options, &message),
                     ParseOutcome::Run);
            QCOMPARE(options.connectUrl, QUrl(QString::fromLatin1(url)));
            settings.setHostLocally(true);
            QVERIFY(!startTarget(options, settings).host);
        }
        QCOMPARE(parseCommandLine({"anonchat", "--lang", "zh_CN"}, options, &message),
                 ParseOutcome::Run);
        QCOMPARE(options.language, QStringLiteral("zh_CN"));
        QCOMPARE(languageArgument({"anonchat", "--lang", "en"}), QStringLiteral("en"));
        QCOMPARE(languageArgument({"anonchat", "--lang=zh_CN"}), QStringLiteral("zh_CN"));

        for (const QStringList &bad :
             {QStringList{"anonchat", "--connect", "ftp://example.org/"},
              QStringList{"anonchat", "--lang", "fr"}, QStringList{"anonchat", "--port", "x"},
              QStringList{"anonchat", "--bogus"}, QStringList{"anonchat", "extra"}}) {
            QCOMPARE(parseCommandLine(bad, options, &message), ParseOutcome::Error);
            QVERIFY(!message.isEmpty() && !message.contains('\n'));
        }
        QCOMPARE(parseCommandLine({"anonchat", "--help"}, options, &message), ParseOutcome::Exit);
        for (const char *flag : {"--connect", "--lang", "--port", "--host", "--db"})
            QVERIFY2(message.contains(QLatin1String(flag)), flag);
        // --help lists --help-all: it prints the help too, and never opens the window.
        QVERIFY(message.contains(QLatin1String("--help-all")));
        QString helpAll;
        QCOMPARE(parseCommandLine({"anonchat", "--help-all"}, options, &helpAll),
                 ParseOutcome::Exit);
        QCOMPARE(helpAll, message);
    }

private:
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestCommandLine)
#include "tst_commandline.moc"
