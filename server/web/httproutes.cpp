#include "server/web/httproutes.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcServer)

namespace anonchat::server {

namespace {

/// The Host header as it may appear in our CSP: host name or address and port, nothing else.
QByteArray sanitisedHost(const QByteArray &host)
{
    QByteArray out;
    for (char c : host) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == ':' || c == '-' || c == '[' || c == ']')
            out += c;
        else
            return {};
    }
    return out;
}

} // namespace

HttpRoutes::HttpRoutes(const ServerStatus &status, std::shared_ptr<Metrics> metrics,
                       QStringList allowedOrigins, qint64 refusalLogIntervalMs)
    : m_status(status)
    , m_metrics(std::move(metrics))
    , m_originLog(refusalLogIntervalMs)
{
    for (QString allowed : allowedOrigins) {
        allowed = allowed.toLower();
        while (allowed.endsWith(QLatin1Char('/')))
            allowed.chop(1);
        m_allowedOrigins.append(allowed);
    }
    m_clock.start();
}

HttpResponse HttpRoutes::handle(const HttpRequest &request) const
{
    if (request.path == "/healthz")
        return health();
    if (request.path == "/metrics")
        return metrics();
    HttpResponse r = staticResource(request.path);
    if (r.status == 200 && r.contentType.startsWith("text/html")) {
        QByteArray host = sanitisedHost(request.header("host"));
        if (host.isEmpty())
            host = m_status.url().authority().toLatin1();
        r.headers.emplace_back(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; "
            "img-src 'self' data:; connect-src 'self' ws://" +
                host + " wss://" + host +
                "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    }
    return r;
}

HttpResponse HttpRoutes::health() const
{
    const bool healthy = m_status.isHealthy() && !m_status.isStopping();
    HttpResponse r;
    r.status = healthy ? 200 : 503;
    r.contentType = "application/json";
    r.headers.emplace_back("Cache-Control", "no-store");
    r.body = QJsonDocument(QJsonObject{{"status", healthy ? "ok" : "unavailable"},
                                       {"database", healthy ? "ok" : "unavailable"},
                                       {"connections", m_status.connectionCount()},
                                       {"queued", m_status.queuedCount()},
                                       {"active_rooms", m_status.activeRoomCount()}})
                 .toJson(QJsonDocument::Compact);
    return r;
}

HttpResponse HttpRoutes::metrics() const
{
    MetricsGauges gauges;
    gauges.connections = m_status.connectionCount();
    gauges.queuedUsers = m_status.queuedCount();
    gauges.activeRooms = m_status.activeRoomCount();
    gauges.awayUsers = m_status.awayUsers();
    HttpResponse r;
    r.contentType = "text/plain; version=0.0.4; charset=utf-8";
    r.headers.emplace_back("Cache-Control", "no-store");
    r.body = m_metrics->render(gauges);
    return r;
}

int HttpRoutes::checkUpgrade(const HttpRequest &request)
{
    if (m_status.isStopping())
        return 503;
    if (originAllowed(request))
        return 0;
    int suppressed = 0;
    if (m_originLog.shouldLog(request.peer, m_clock.elapsed(), &suppressed))
        qCInfo(lcServer).nospace() << "refused a WebSocket from a foreign origin; " << suppressed
                                   << " more from that address were refused unlogged since";
    return 403;
}

bool HttpRoutes::originAllowed(const HttpRequest &request) const
{
    const QByteArray origin = request.header("origin");
    if (origin.isEmpty())
        return true; // native clients send none
    const QString o = QString::fromLatin1(origin).toLower();
    const QString host = QString::fromLatin1(request.header("host")).toLower();
    if (!host.isEmpty() &&
        (o == QLatin1String("http://") + host || o == QLatin1String("https://") + host))
        return true;
    return m_allowedOrigins.contains(o);
}

} // namespace anonchat::server
