#include "client/app/localserverhost.h"

#include "server/app/chatserver.h"

#include <QAtomicInt>
#include <QNetworkInterface>
#include <QRandomGenerator>
#include <QTcpServer>
#include <array>

namespace anonchat::client {

namespace {

QAtomicInt s_instances;

/// Whether `port` on `host` can be bound right now (SO_REUSEADDR, as the server binds).
bool portIsFree(const QHostAddress &host, quint16 port)
{
    QTcpServer probe;
    const bool ok = probe.listen(host, port);
    probe.close();
    return ok;
}

} // namespace

QByteArray LocalServerHost::randomAdminToken()
{
    // 32 bytes from the system's generator as 43 base64url characters: 256 bits.
    std::array<quint32, 8> words{};
    QRandomGenerator::system()->fillRange(words.data(), qsizetype(words.size()));
    return QByteArray(reinterpret_cast<const char *>(words.data()), sizeof(words))
        .toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

LocalServerHost::LocalServerHost(QObject *parent)
    : QObject(parent)
    , m_instanceName(QStringLiteral("anonchat-local-%1").arg(s_instances.fetchAndAddRelaxed(1) + 1))
{}

LocalServerHost::~LocalServerHost() = default;

bool LocalServerHost::start(server::ServerConfig config, QString *error)
{
    if (m_server) {
        *error = tr("the local server is already running");
        return false;
    }
    config.instanceName = m_instanceName;
    if (config.adminToken.isEmpty())
        config.adminToken = randomAdminToken();
    QVector<quint16> ports;
    if (config.port != 0) {
        for (int i = 0; i <= kPortAttempts && int(config.port) + i <= 65535; ++i)
            ports.append(quint16(config.port + i));
    }
    ports.append(0);

    QString lastError;
    for (const quint16 port : std::as_const(ports)) {
        // Probe first: a failed ChatServer::start() opens (and closes) the database each time.
        if (port != 0 && !portIsFree(config.host, port))
            continue;
        server::ServerConfig attempt = config;
        attempt.port = port;
        auto *server = new server::ChatServer(attempt, this);
        if (server->start(&lastError)) {
            attempt.port = server->port();
            m_config = attempt;
            m_server = server;
            connect(server, &server::ChatServer::stopped, this, [this, server] {
                // stopped() is emitted from inside the server: delete it later.
                if (m_server == server)
                    m_server = nullptr;
                server->deleteLater();
                emit stopped();
            });
            return true;
        }
        delete server;
        // Taken between the probe and the bind: try the next one; anything else is final.
        if (port == 0 || portIsFree(config.host, port))
            break;
    }
    *error = lastError;
    return false;
}

void LocalServerHost::shutdown()
{
    if (m_server)
        m_server->shutdown();
}

quint16 LocalServerHost::port() const
{
    return m_server ? m_server->port() : 0;
}

QUrl LocalServerHost::url() const
{
    return m_server ? m_server->url() : QUrl();
}

QUrl LocalServerHost::lanUrl() const
{
    if (!m_server)
        return {};
    const QHostAddress host = m_config.host;
    if (host != QHostAddress(QHostAddress::AnyIPv4) && host != QHostAddress(QHostAddress::Any))
        return {};
    const QHostAddress lan = firstLanAddress();
    if (lan.isNull())
        return {};
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(lan.toString());
    url.setPort(port());
    url.setPath(QStringLiteral("/"));
    return url;
}

QHostAddress LocalServerHost::firstLanAddress()
{
    const QList<QNetworkInterface> interfaces = QNetworkInterface::allInterfaces();
    for (const QNetworkInterface &iface : interfaces) {
        const auto flags = iface.flags();
        if (!(flags & QNetworkInterface::IsUp) || !(flags & QNetworkInterface::IsRunning) ||
            (flags & QNetworkInterface::IsLoopBack))
            continue;
        for (const QNetworkAddressEntry &entry : iface.addressEntries()) {
            const QHostAddress ip = entry.ip();
            if (ip.protocol() == QAbstractSocket::IPv4Protocol && !ip.isLoopback())
                return ip;
        }
    }
    return {};
}

} // namespace anonchat::client
