// anonchat-server: the headless server. Everything but the command line is in anonchat_server_core.
#include "server/app/chatserver.h"
#include "server/app/serverconfig.h"
#include "server/app/shutdownsignals.h"
#include "server/net/epolldispatcher.h"
#include "server/net/filelimit.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QLoggingCategory>
#include <QThread>
#include <cstdio>

using namespace anonchat::server;

Q_LOGGING_CATEGORY(lcMain, "anonchat.server", QtInfoMsg)

int main(int argc, char *argv[])
{
    // Every connection is a descriptor: take all the system allows (before any thread starts).
    const OpenFileLimit files = raiseOpenFileLimit();
    // epoll keeps a wake-up O(ready sockets), not O(open sockets); ANONCHAT_DISPATCHER=qt
    // falls back on Qt's own dispatcher.
    if (qEnvironmentVariable("ANONCHAT_DISPATCHER") != QLatin1String("qt"))
        QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("anonchat-server"));
    QCoreApplication::setApplicationVersion(QStringLiteral(ANONCHAT_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QCoreApplication::translate("main", "anonchat: talk to a stranger. The headless server."));
    parser.addHelpOption();
    parser.addVersionOption();
    addServerOptions(parser);
    if (!parser.parse(QCoreApplication::arguments())) {
        std::fprintf(stderr, "anonchat-server: %s\n", qPrintable(parser.errorText()));
        return 2;
    }
    if (parser.isSet(QStringLiteral("help")))
        parser.showHelp(0);
    if (parser.isSet(QStringLiteral("version")))
        parser.showVersion();
    if (!parser.positionalArguments().isEmpty()) {
        std::fprintf(stderr, "anonchat-server: %s\n",
                     qPrintable(QCoreApplication::translate("main", "unexpected argument '%1'")
                                    .arg(parser.positionalArguments().first())));
        return 2;
    }

    ServerConfig config;
    config.threads = QThread::idealThreadCount();
    if (qEnvironmentVariable("ANONCHAT_DISPATCHER") != QLatin1String("qt"))
        config.dispatcherFactory = [] { return new EpollEventDispatcher; };
    applyLogLevel(config.logLevel);
    QString error;
    if (!readServerOptions(parser, config, &error)) {
        std::fprintf(stderr, "anonchat-server: %s\n", qPrintable(error));
        return 2;
    }

    ChatServer server(config);
    if (!server.start(&error)) {
        std::fprintf(stderr, "anonchat-server: %s\n", qPrintable(error));
        return 2; // with that one line only
    }
    // (The server has logged the limit in force and what it allows.)
    if (files.now != files.before)
        qCInfo(lcMain) << "open-file limit raised from" << files.before << "to" << files.now;
    ShutdownSignals shutdownSignals;
    QObject::connect(&shutdownSignals, &ShutdownSignals::received, &server, &ChatServer::shutdown);
    QObject::connect(&server, &ChatServer::stopped, &app, [] { QCoreApplication::exit(0); });

    std::printf("anonchat-server listening on %s\n", qPrintable(server.url().toString()));
    std::fflush(stdout);
    return QCoreApplication::exec();
}
