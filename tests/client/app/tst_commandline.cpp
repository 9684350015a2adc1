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
        AppSettings settings(m_dir.filePath(QStringLiteral("cli.ini")));
        defaultsFollowTheSettings(options, settings);
        if (QTest::currentTestFailed())
            return;
        serverFlagsMeanHosting(options, settings);
        if (QTest::currentTestFailed())
            return;
        connectAndLanguage(options, settings);
        if (QTest::currentTestFailed())
            return;
        badArgumentsAndHelp(options);
    }

private:
    /// No flags: the app hosts on the data folder's database, where and how the settings say.
    static void defaultsFollowTheSettings(LaunchOptions &options, AppSettings &settings)
    {
        QString message;
        QCOMPARE(parseCommandLine({QStringLiteral("anonchat")}, options, &message),
                 ParseOutcome::Run);
        QVERIFY(options.serverConfig.database.endsWith(QStringLiteral("/chat.db")));
        QVERIFY(options.serverConfig.database.startsWith(
            QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)));
        QVERIFY(!options.serverFlagGiven);
        QVERIFY(!options.connectUrl.isValid());

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
    }

    /// Server flags mean hosting, whatever the settings say.
    static void serverFlagsMeanHosting(LaunchOptions &options, AppSettings &settings)
    {
        QString message;
        QCOMPARE(parseCommandLine({"anonchat", "--port", "0", "--db", "/tmp/x.db", "--host",
                                   "0.0.0.0", "--rate-limit", "0"},
                                  options, &message),
                 ParseOutcome::Run);
        QVERIFY(options.serverFlagGiven && options.portGiven && options.hostGiven);
        QCOMPARE(options.serverConfig.database, QStringLiteral("/tmp/x.db"));
        QCOMPARE(options.serverConfig.rateLimit, 0);
        const ServerBackend::Target target = startTarget(options, settings);
        QVERIFY(target.host);
        QCOMPARE(target.config.port, quint16(0));
        QCOMPARE(target.config.host, QHostAddress(QHostAddress::AnyIPv4));
    }

    /// --connect means a remote server, whatever the settings say; --lang picks the language.
    static void connectAndLanguage(LaunchOptions &options, AppSettings &settings)
    {
        QString message;
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
    }

    /// Bad arguments get a one-line message; --help and --help-all print the same help and exit.
    static void badArgumentsAndHelp(LaunchOptions &options)
    {
        QString message;
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

    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestCommandLine)
#include "tst_commandline.moc"
