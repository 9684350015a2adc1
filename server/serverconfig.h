#pragma once

#include <QHostAddress>
#include <QString>
#include <QStringList>

class QCommandLineParser;

namespace anonchat::server {

/// Everything a ChatServer needs to know; filled from the command line (PROTOCOL.md, "Server
/// command line") or directly by tests and the desktop app.
struct ServerConfig {
    QHostAddress host = QHostAddress(QHostAddress::LocalHost);
    quint16 port = 5000;
    QString database = QStringLiteral("chat.db");
    QStringList allowedOrigins;
    int maxConnections = 20000;
    int rateLimit = 10; ///< messages per second per user; 0 = no limits
    qint64 resumeWindowMs = 120 * 1000;
    qint64 interestWaitMs = 5 * 1000;
    int retentionDays = 0;
    QString logLevel = QStringLiteral("info");

    // Tuning that is not on the command line (tests shorten these).
    qint64 pingIntervalMs = 20 * 1000;
    qint64 pingTimeoutMs = 60 * 1000;
    qint64 requestTimeoutMs = 10 * 1000;  ///< HTTP request headers must arrive within this
    qint64 maxRequestHeaderBytes = 8 * 1024;
    qint64 maxFrameBytes = 16 * 1024;
    qint64 maxQueuedBytes = 1024 * 1024; ///< a client that does not read is closed past this
    /// Prefix of this instance's database connection names (several servers in one process).
    QString instanceName = QStringLiteral("anonchat");
};

/// Adds the server flags of PROTOCOL.md to `parser` (the desktop app adds its own next to them).
void addServerOptions(QCommandLineParser &parser);

/// Reads the flags added by addServerOptions(). False with a one-line `error` naming the flag.
bool readServerOptions(const QCommandLineParser &parser, ServerConfig &config, QString *error);

/// Applies `--log-level` to the anonchat.* logging categories. False for an unknown level.
bool applyLogLevel(const QString &level);

} // namespace anonchat::server
