#include "client/app/commandline.h"

#include "client/app/appsettings.h"
#include "client/core/connection.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QStandardPaths>

namespace anonchat::client {

QString defaultDatabasePath()
{
    QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    if (dir.isEmpty())
        dir = QDir::homePath() + QStringLiteral("/.anonchat");
    QDir().mkpath(dir);
    return QDir(dir).filePath(QStringLiteral("chat.db"));
}

QString languageArgument(const QStringList &arguments)
{
    for (int i = 1; i < arguments.size(); ++i) {
        const QString &arg = arguments.at(i);
        if ((arg == QLatin1String("--lang") || arg == QLatin1String("-lang")) &&
            i + 1 < arguments.size())
            return arguments.at(i + 1);
        if (arg.startsWith(QLatin1String("--lang=")))
            return arg.mid(7);
    }
    return {};
}

namespace {

/// What the command line says beyond the server's own flags: which flags were given, --lang and
/// --connect. False with a one-line `message` for a bad value.
bool readAppOptions(const QCommandLineParser &parser, LaunchOptions &options, QString *message)
{
    options.hostGiven = parser.isSet(QStringLiteral("host"));
    options.portGiven = parser.isSet(QStringLiteral("port"));
    const QStringList given = parser.optionNames();
    for (const QString &name : given) {
        if (name != QLatin1String("connect") && name != QLatin1String("lang"))
            options.serverFlagGiven = true;
    }

    if (parser.isSet(QStringLiteral("lang"))) {
        const QString value = parser.value(QStringLiteral("lang"));
        if (value != QLatin1String("zh_CN") && value != QLatin1String("en")) {
            *message = QCoreApplication::translate("CommandLine",
                                                   "invalid value for --lang: '%1' (expected "
                                                   "zh_CN or en)")
                           .arg(value);
            return false;
        }
        options.language = value;
    }
    if (parser.isSet(QStringLiteral("connect"))) {
        const QUrl url(parser.value(QStringLiteral("connect")));
        if (!Connection::webSocketUrl(url).isValid()) {
            *message = QCoreApplication::translate("CommandLine",
                                                   "invalid value for --connect: '%1' (expected "
                                                   "http://, https://, ws://…/ws or wss://…/ws)")
                           .arg(parser.value(QStringLiteral("connect")));
            return false;
        }
        options.connectUrl = url;
    }
    return true;
}

} // namespace

ParseOutcome parseCommandLine(const QStringList &arguments, LaunchOptions &options,
                              QString *message)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QCoreApplication::translate(
        "CommandLine", "anonchat: talk to a stranger. With no flags it hosts a "
                       "server on this computer and opens its chat window."));
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    const QCommandLineOption connect(
        QStringLiteral("connect"),
        QCoreApplication::translate("CommandLine",
                                    "Join the server at URL (http://, https://, ws://…/ws or "
                                    "wss://…/ws) instead of hosting one."),
        QCoreApplication::translate("CommandLine", "URL"));
    const QCommandLineOption lang(
        QStringLiteral("lang"),
        QCoreApplication::translate("CommandLine",
                                    "The language of the window: zh_CN or en (default: the "
                                    "system's)."),
        QCoreApplication::translate("CommandLine", "LANG"));
    parser.addOption(connect);
    parser.addOption(lang);
    server::addServerOptions(parser);

    if (!parser.parse(arguments)) {
        *message = parser.errorText();
        return ParseOutcome::Error;
    }
    if (parser.isSet(help) || parser.isSet(QStringLiteral("help-all"))) {
        *message = parser.helpText();
        return ParseOutcome::Exit;
    }
    if (parser.isSet(version)) {
        *message = QCoreApplication::applicationName() + QLatin1Char(' ') +
                   QCoreApplication::applicationVersion() + QLatin1Char('\n');
        return ParseOutcome::Exit;
    }
    if (!parser.positionalArguments().isEmpty()) {
        *message = QCoreApplication::translate("CommandLine", "unexpected argument '%1'")
                       .arg(parser.positionalArguments().constFirst());
        return ParseOutcome::Error;
    }

    options = LaunchOptions();
    options.serverConfig.database = defaultDatabasePath();
    QString error;
    if (!server::readServerOptions(parser, options.serverConfig, &error)) {
        *message = error;
        return ParseOutcome::Error;
    }
    return readAppOptions(parser, options, message) ? ParseOutcome::Run : ParseOutcome::Error;
}

ServerBackend::Target settingsTarget(const server::ServerConfig &base, const AppSettings &settings)
{
    ServerBackend::Target target;
    target.config = base;
    target.host =
        settings.hostLocally() || !Connection::webSocketUrl(settings.remoteUrl()).isValid();
    target.remoteUrl = settings.remoteUrl();
    target.config.port = quint16(settings.port());
    target.config.host = settings.shareOnNetwork() ? QHostAddress(QHostAddress::AnyIPv4)
                                                   : QHostAddress(QHostAddress::LocalHost);
    return target;
}

ServerBackend::Target startTarget(const LaunchOptions &options, const AppSettings &settings)
{
    ServerBackend::Target target = settingsTarget(options.serverConfig, settings);
    if (options.connectUrl.isValid()) {
        target.host = false;
        target.remoteUrl = options.connectUrl;
        return target;
    }
    if (options.serverFlagGiven)
        target.host = true;
    if (options.hostGiven)
        target.config.host = options.serverConfig.host;
    if (options.portGiven)
        target.config.port = options.serverConfig.port;
    return target;
}

} // namespace anonchat::client
