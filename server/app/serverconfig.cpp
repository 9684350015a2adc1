#include "server/app/serverconfig.h"

#include "server/cluster/redisclient.h"
#include "server/storage/storagewriter.h"
#include "shared/limits.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QLoggingCategory>
#include <QSslSocket>
#include <QTcpServer>

namespace anonchat::server {

namespace {

// The translation context of the flags' help and errors (lupdate sees ServerOptions::tr()).
struct ServerOptions {
    Q_DECLARE_TR_FUNCTIONS(ServerOptions)
};

/// Reads --name into `out` (an int field of ServerConfig) when it is given.
template <typename Int>
bool readInt(const QCommandLineParser &parser, const QString &name, qint64 min, qint64 max,
             Int &out, QString *error)
{
    if (!parser.isSet(name))
        return true;
    bool ok = false;
    const qint64 value = parser.value(name).toLongLong(&ok);
    if (!ok || value < min || value > max) {
        *error = ServerOptions::tr(
                     "invalid value for --%1: '%2' (expected a whole number from %3 to %4)")
                     .arg(name, parser.value(name))
                     .arg(min)
                     .arg(max);
        return false;
    }
    out = Int(value);
    return true;
}

bool readSeconds(const QCommandLineParser &parser, const QString &name, double max, qint64 &outMs,
                 QString *error)
{
    if (!parser.isSet(name))
        return true;
    bool ok = false;
    const double value = parser.value(name).toDouble(&ok);
    if (!ok || value < 0 || value > max) {
        *error = ServerOptions::tr("invalid value for --%1: '%2' (expected seconds from 0 to %3)")
                     .arg(name, parser.value(name))
                     .arg(max);
        return false;
    }
    outMs = qint64(value * 1000.0);
    return true;
}

/// Remembers the one connection it accepts instead of wrapping it.
class ProbeListener : public QTcpServer
{
public:
    qintptr descriptor = -1;

protected:
    void incomingConnection(qintptr d) override { descriptor = d; }
};

/// Qt cannot tell whether a key belongs to a certificate, but OpenSSL checks it, synchronously,
/// when a server-side socket starts encryption: try that once on a loopback connection. Empty
/// when it matches (or cannot be tried here; then each connection would report it).
QString keyMismatch(const ServerConfig &config)
{
    ProbeListener listener;
    if (!listener.listen(QHostAddress::LocalHost))
        return {};
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, listener.serverPort());
    if (!listener.waitForNewConnection(2000) || listener.descriptor < 0)
        return {};
    QSslSocket server;
    if (!server.setSocketDescriptor(listener.descriptor))
        return {};
    QString why; // the first error says it; a generic one follows
    QObject::connect(&server, &QSslSocket::errorOccurred, &server,
                     [&why, &server](QAbstractSocket::SocketError error) {
                         if (why.isEmpty() && error == QAbstractSocket::SslInvalidUserDataError)
                             why = server.errorString();
                     });
    server.setSslConfiguration(serverSslConfiguration(config));
    server.startServerEncryption();
    server.abort();
    return why;
}

bool readFile(const QString &flag, const QString &path, QByteArray &out, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error =
            ServerOptions::tr("cannot read --%1 file '%2': %3").arg(flag, path, file.errorString());
        return false;
    }
    out = file.read(1024 * 1024); // a certificate chain or a key is a few KiB
    return true;
}

/// `--tls-cert` and `--tls-key`, PEM or DER; the key unencrypted (RSA, EC or DSA).
bool readTls(const QCommandLineParser &parser, ServerConfig &config, QString *error)
{
    const bool hasCert = parser.isSet("tls-cert");
    if (!hasCert && !parser.isSet("tls-key"))
        return true;
    if (!hasCert || !parser.isSet("tls-key")) {
        *error = ServerOptions::tr("--tls-cert and --tls-key must be given together");
        return false;
    }
    if (!QSslSocket::supportsSsl()) {
        *error = ServerOptions::tr("--tls-cert: TLS is not available (no OpenSSL 3 library found)");
        return false;
    }
    const QString certPath = parser.value("tls-cert");
    const QString keyPath = parser.value("tls-key");
    QByteArray data;
    if (!readFile(QStringLiteral("tls-cert"), certPath, data, error))
        return false;
    QList<QSslCertificate> chain = QSslCertificate::fromData(data, QSsl::Pem);
    if (chain.isEmpty())
        chain = QSslCertificate::fromData(data, QSsl::Der);
    if (chain.isEmpty() || chain.first().isNull()) {
        *error = ServerOptions::tr("invalid --tls-cert file '%1': no PEM or DER certificate in it")
                     .arg(certPath);
        return false;
    }
    if (!readFile(QStringLiteral("tls-key"), keyPath, data, error))
        return false;
    // Qt needs the key's algorithm up front: the certificate's, when it is one Qt knows.
    QList<QSsl::KeyAlgorithm> algorithms{QSsl::Rsa, QSsl::Ec, QSsl::Dsa};
    if (algorithms.contains(chain.first().publicKey().algorithm()))
        algorithms = {chain.first().publicKey().algorithm()};
    QSslKey key;
    for (const QSsl::EncodingFormat format : {QSsl::Pem, QSsl::Der}) {
        for (const QSsl::KeyAlgorithm algorithm : std::as_const(algorithms)) {
            if (key.isNull())
                key = QSslKey(data, algorithm, format, QSsl::PrivateKey);
        }
    }
    if (key.isNull()) {
        *error = ServerOptions::tr("invalid --tls-key file '%1': no unencrypted private key of the "
                                   "certificate's kind (RSA, EC or DSA) in it")
                     .arg(keyPath);
        return false;
    }
    ServerConfig tls;
    tls.tlsCertificateChain = chain;
    tls.tlsKey = key;
    const QString mismatch = keyMismatch(tls);
    if (!mismatch.isEmpty()) {
        *error = ServerOptions::tr("invalid --tls-key file '%1': not the key of the certificate "
                                   "in '%2' (%3)")
                     .arg(keyPath, certPath, mismatch);
        return false;
    }
    config.tlsCertificateChain = chain;
    config.tlsKey = key;
    return true;
}

bool readAdminToken(const QString &path, QByteArray *token, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = ServerOptions::tr("cannot read --admin-token-file '%1': %2")
                     .arg(path, file.errorString());
        return false;
    }
    // Like ssh with a private key: a secret others can read is no secret.
    const QFileDevice::Permissions open = QFileDevice::ReadGroup | QFileDevice::WriteGroup |
                                          QFileDevice::ExeGroup | QFileDevice::ReadOther |
                                          QFileDevice::WriteOther | QFileDevice::ExeOther;
    if (file.permissions() & open) {
        *error = ServerOptions::tr("--admin-token-file '%1' is open to group or others: "
                                   "chmod 600 it")
                     .arg(path);
        return false;
    }
    const QByteArray text = file.read(4096).trimmed();
    const bool printable =
        std::all_of(text.cbegin(), text.cend(), [](char c) { return c > ' ' && c < 127; });
    if (text.size() < 16 || !printable) {
        *error = ServerOptions::tr("--admin-token-file '%1': the token must be one word of 16 "
                                   "or more printable ASCII characters")
                     .arg(path);
        return false;
    }
    *token = text;
    return true;
}

bool readModeration(const QCommandLineParser &parser, ServerConfig &config, QString *error)
{
    if (parser.isSet("admin-token-file") &&
        !readAdminToken(parser.value("admin-token-file"), &config.adminToken, error))
        return false;
    qint64 autoBan = config.autoBanReports;
    if (!readInt(parser, "auto-ban-reports", 0, 1000, autoBan, error))
        return false;
    config.autoBanReports = int(autoBan);
    return true;
}

bool readDatabase(const QCommandLineParser &parser, ServerConfig &config, QString *error)
{
    if (!parser.isSet("db"))
        return true;
    config.database = parser.value("db");
    if (config.database.isEmpty()) {
        *error = ServerOptions::tr("invalid value for --db: it is empty");
        return false;
    }
    // A URL-looking value is checked here (a file named postgres.db is still a file).
    if (config.database.startsWith(QLatin1String("postgres"), Qt::CaseInsensitive) &&
        config.database.contains(QLatin1Char(':'))) {
        const QString problem = StorageWriter::postgresUrlProblem(config.database);
        if (!problem.isEmpty()) {
            *error = ServerOptions::tr("invalid value for --db: '%1' (%2; expected "
                                       "postgresql://user:pass@host:port/dbname)")
                         .arg(StorageWriter::displayName(config.database), problem);
            return false;
        }
    }
    return true;
}

} // namespace

void addServerOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {"host", ServerOptions::tr("Address to listen on (0.0.0.0 to share on a LAN)."),
         ServerOptions::tr("ADDR"), QStringLiteral("127.0.0.1")},
        {"port",
         ServerOptions::tr(
             "The one port for the page, /healthz, /metrics and /ws (0 picks a free one)."),
         ServerOptions::tr("N"), QStringLiteral("5000")},
        {"db", ServerOptions::tr("SQLite file, or postgresql://user:pass@host:port/dbname."),
         ServerOptions::tr("PATH|URL"), QStringLiteral("chat.db")},
        {"redis", ServerOptions::tr("redis://host:port: share the queue with other servers."),
         ServerOptions::tr("URL")},
        {"tls-cert", ServerOptions::tr("Certificate file: serve https:// and wss://."),
         ServerOptions::tr("FILE")},
        {"tls-key", ServerOptions::tr("Private key file for --tls-cert."),
         ServerOptions::tr("FILE")},
        {"allowed-origin",
         ServerOptions::tr("An extra page origin allowed to open /ws (repeatable)."),
         ServerOptions::tr("ORIGIN")},
        {"max-connections", ServerOptions::tr("Connections beyond this get server_busy."),
         ServerOptions::tr("N"), QStringLiteral("20000")},
        {"max-connections-per-address",
         ServerOptions::tr(
             "Connections from one address beyond this get server_busy; 0 turns it off."),
         ServerOptions::tr("N"), QStringLiteral("64")},
        {"rate-limit",
         ServerOptions::tr(
             "Messages per second per user, bursts up to twice that; 0 turns limits off."),
         ServerOptions::tr("N"), QStringLiteral("10")},
        {"pow-bits",
         ServerOptions::tr("Proof of work a connection must show before queueing: leading zero "
                           "bits of SHA-256 (0 turns it off, at most 24)."),
         ServerOptions::tr("N"), QStringLiteral("0")},
        {"resume-window", ServerOptions::tr("Seconds a dropped user keeps identity and room."),
         ServerOptions::tr("S"), QStringLiteral("120")},
        {"interest-wait",
         ServerOptions::tr("Seconds a user with interests or a language waits for a shared one."),
         ServerOptions::tr("S"), QStringLiteral("5")},
        {"retention-days", ServerOptions::tr("Purge messages older than N days (0 keeps them)."),
         ServerOptions::tr("N"), QStringLiteral("0")},
        {"commit-delay-us",
         ServerOptions::tr("Microseconds a commit may wait for more messages while others are "
                           "writing (0 commits at once, at most 5000)."),
         ServerOptions::tr("US"), QStringLiteral("1000")},
        {"admin-token-file",
         ServerOptions::tr("File holding the bearer token of /admin/api (mode 600); without it "
                           "the API is off."),
         ServerOptions::tr("PATH")},
        {"auto-ban-reports",
         ServerOptions::tr("Ban an address for an hour once reporters from N addresses reported "
                           "it within 24 hours; 0 turns it off."),
         ServerOptions::tr("N"), QStringLiteral("3")},
        {"threads",
         ServerOptions::tr("Threads serving WebSockets (anonchat-server: the number of cores)."),
         ServerOptions::tr("N")},
        {"log-level", ServerOptions::tr("debug, info or warning."), ServerOptions::tr("LEVEL"),
         QStringLiteral("info")},
    });
}

namespace {

/// --redis (which needs a shared PostgreSQL database) and --host.
bool readNetwork(const QCommandLineParser &parser, ServerConfig &config, QString *error)
{
    if (parser.isSet("redis")) {
        QString why;
        if (!RedisClient::parseUrl(parser.value("redis"), &config.redis, &why)) {
            *error = ServerOptions::tr("invalid value for --redis: '%1' (%2)")
                         .arg(parser.value("redis"), why);
            return false;
        }
        // Servers sharing a queue share rooms, so they must share the database the rooms and
        // their ids come from.
        if (!StorageWriter::isPostgresUrl(parser.value("db"))) {
            *error = ServerOptions::tr(
                "--redis needs --db postgresql://... (one database shared by every server)");
            return false;
        }
    }
    if (parser.isSet("host")) {
        const QHostAddress host(parser.value("host"));
        if (host.isNull()) {
            *error = ServerOptions::tr("invalid value for --host: '%1' (expected an IP address)")
                         .arg(parser.value("host"));
            return false;
        }
        config.host = host;
    }
    return true;
}

bool readNumbers(const QCommandLineParser &parser, ServerConfig &config, QString *error)
{
    return readInt(parser, "port", 0, 65535, config.port, error) &&
           readInt(parser, "threads", 1, 256, config.threads, error) &&
           readInt(parser, "max-connections", 1, 10000000, config.maxConnections, error) &&
           readInt(parser, "max-connections-per-address", 0, 10000000,
                   config.maxConnectionsPerAddress, error) &&
           readInt(parser, "rate-limit", 0, 1000000, config.rateLimit, error) &&
           readInt(parser, "pow-bits", 0, protocol::kMaxPowBits, config.powBits, error) &&
           readInt(parser, "retention-days", 0, 100000, config.retentionDays, error) &&
           readInt(parser, "commit-delay-us", 0, 5000, config.commitDelayUs, error) &&
           readSeconds(parser, "resume-window", 86400, config.resumeWindowMs, error) &&
           readSeconds(parser, "interest-wait", 3600, config.interestWaitMs, error);
}

} // namespace

bool readServerOptions(const QCommandLineParser &parser, ServerConfig &config, QString *error)
{
    if (!readNetwork(parser, config, error) || !readTls(parser, config, error) ||
        !readModeration(parser, config, error) || !readNumbers(parser, config, error) ||
        !readDatabase(parser, config, error))
        return false;
    config.allowedOrigins = parser.values("allowed-origin");
    if (parser.isSet("log-level")) {
        config.logLevel = parser.value("log-level");
        if (!applyLogLevel(config.logLevel)) {
            *error = ServerOptions::tr(
                         "invalid value for --log-level: '%1' (expected debug, info or warning)")
                         .arg(config.logLevel);
            return false;
        }
    }
    return true;
}

QSslConfiguration serverSslConfiguration(const ServerConfig &config)
{
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setLocalCertificateChain(config.tlsCertificateChain);
    tls.setPrivateKey(config.tlsKey);
    tls.setProtocol(QSsl::TlsV1_2OrLater);
    tls.setPeerVerifyMode(QSslSocket::VerifyNone); // no client certificates
    return tls;
}

bool applyLogLevel(const QString &level)
{
    if (level == QLatin1String("debug"))
        QLoggingCategory::setFilterRules(QStringLiteral("anonchat.*=true"));
    else if (level == QLatin1String("info"))
        QLoggingCategory::setFilterRules(QStringLiteral("anonchat.*.debug=false"));
    else if (level == QLatin1String("warning"))
        QLoggingCategory::setFilterRules(
            QStringLiteral("anonchat.*.debug=false\nanonchat.*.info=false"));
    else
        return false;
    return true;
}

} // namespace anonchat::server
