// The desktop app's command line: parsing, and what the app runs at start.
#pragma once

#include "client/app/serverbackend.h"
#include "server/app/serverconfig.h"

#include <QString>
#include <QStringList>
#include <QUrl>

namespace anonchat::client {

class AppSettings;

/// The desktop app's command line (PROTOCOL.md, "Desktop app command line").
struct LaunchOptions {
    /// The local server's configuration: the server flags over the app's defaults (the
    /// database in the user's data folder).
    server::ServerConfig serverConfig;
    bool hostGiven = false;       ///< --host was given
    bool portGiven = false;       ///< --port was given
    bool serverFlagGiven = false; ///< any server flag was given: host, whatever the settings say
    QUrl connectUrl;              ///< --connect: join this server, host nothing
    QString language;             ///< --lang: "zh_CN", "en" or empty (the settings decide)
};

/// What parseCommandLine() found.
enum class ParseOutcome {
    Run,   ///< start the app with the options
    Exit,  ///< --help or --version: `message` is for stdout, exit code 0
    Error, ///< a bad flag: `message` is one line for stderr, exit code 2
};

/// The database the app uses by default: chat.db in the user's data folder
/// (QStandardPaths::AppDataLocation, e.g. ~/.local/share/anonchat; created).
QString defaultDatabasePath();

/// Parses `arguments` (argv, the program name first). Needs a QCoreApplication.
ParseOutcome parseCommandLine(const QStringList &arguments, LaunchOptions &options,
                              QString *message);

/// The value of --lang in `arguments` if given (read before the full parse, so that --help is
/// already in the chosen language); else empty.
QString languageArgument(const QStringList &arguments);

/// What the app runs at start: --connect wins; then any server flag means hosting; else the
/// saved settings (host locally with their port and sharing, or their remote URL).
ServerBackend::Target startTarget(const LaunchOptions &options, const AppSettings &settings);

/// What the settings alone ask for, keeping the command line's server configuration (database,
/// limits) for a local server.
ServerBackend::Target settingsTarget(const server::ServerConfig &base, const AppSettings &settings);

} // namespace anonchat::client
