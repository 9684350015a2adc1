#pragma once

#include <QHostAddress>
#include <QList>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QString>
#include <QStringList>
#include <QUrl>
#include <functional>

class QAbstractEventDispatcher;

class QCommandLineParser;

namespace anonchat::server {

/// Everything a ChatServer needs to know; filled from the command line (PROTOCOL.md, "Server
/// command line") or directly by tests and the desktop app.
struct ServerConfig {
    QHostAddress host = QHostAddress(QHostAddress::LocalHost);
    quint16 port = 5000;
    QString database = QStringLiteral("chat.db");
    /// `--redis`: share the queue and relay rooms with the other servers on this Redis.
    QUrl redis;
    QStringList allowedOrigins;
    int maxConnections = 20000;
    int maxConnectionsPerAddress = 64; ///< live WebSockets from one peer address; 0 = no limit
    int rateLimit = 10;                ///< messages per second per user; 0 = no limits
    int powBits = 0; ///< `--pow-bits`: leading zero bits join_queue's proof of work needs; 0 = off
    qint64 resumeWindowMs = 120 * 1000;
    qint64 interestWaitMs = 5 * 1000;
    int retentionDays = 0;
    /// `--commit-delay-us`: how long a commit may wait for more rows while others are writing
    /// (docs/performance.md: 1 ms cut CPU per message by 4-17% at 5,000 messages/s).
    int commitDelayUs = 1000;
    /// `--admin-token-file`'s token: the bearer token of `/admin/api`; empty: the API is off.
    QByteArray adminToken;
    /// `--auto-ban-reports`: distinct reporter addresses in 24 h that ban for an hour; 0: off.
    int autoBanReports = 3;
    QString logLevel = QStringLiteral("info");
    /// `--tls-cert`/`--tls-key`: the certificate first, then any intermediates. Empty: plain
    /// http:// and ws://; otherwise the one port speaks only TLS (https://, wss://).
    QList<QSslCertificate> tlsCertificateChain;
    QSslKey tlsKey;
    bool tlsEnabled() const { return !tlsCertificateChain.isEmpty(); }

    /// `--threads`: nodes (threads) serving WebSockets in this process; 1 = the calling thread.
    int threads = 1;
    /// Makes the event dispatcher of each extra thread (anonchat-server: the epoll one); none:
    /// Qt's default.
    std::function<QAbstractEventDispatcher *()> dispatcherFactory;

    // Tuning that is not on the command line (tests shorten these).
    qint64 pingIntervalMs = 20 * 1000;
    qint64 pingTimeoutMs = 60 * 1000;
    qint64 requestTimeoutMs = 10 * 1000; ///< HTTP request headers must arrive within this
    qint64 maxRequestHeaderBytes = 8 * 1024;
    qint64 maxFrameBytes = 16 * 1024;
    qint64 maxQueuedBytes = 1024 * 1024; ///< a client that does not read is closed past this
    /// A refusal (foreign Origin or Host, an address over its limits) is logged at most this
    /// often per address.
    qint64 refusalLogIntervalMs = 60 * 1000;
    /// Prefix of this instance's database connection names (several servers in one process).
    QString instanceName = QStringLiteral("anonchat");
    qint64 banPollMs = 1000; ///< how often bans made by other servers are read
};

/// Adds the server flags of PROTOCOL.md to `parser` (the desktop app adds its own next to them).
void addServerOptions(QCommandLineParser &parser);

/// Reads the flags added by addServerOptions(). False with a one-line `error` naming the flag.
bool readServerOptions(const QCommandLineParser &parser, ServerConfig &config, QString *error);

/// The TLS settings of the port when `config.tlsEnabled()`: its certificate chain and key, TLS 1.2
/// or later, no client certificates.
QSslConfiguration serverSslConfiguration(const ServerConfig &config);

/// Applies `--log-level` to the anonchat.* logging categories. False for an unknown level.
bool applyLogLevel(const QString &level);

} // namespace anonchat::server
