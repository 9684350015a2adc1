#pragma once

// The HTTP side of the one port: the page with its CSP, /healthz, /metrics, the upgrade's Origin.

#include "server/net/addresskey.h"
#include "server/net/httplistener.h"
#include "server/web/metrics.h"

#include <QElapsedTimer>
#include <QStringList>
#include <QUrl>
#include <memory>

namespace anonchat::server {

/// What the routes report about the server (ChatServer answers).
class ServerStatus
{
public:
    virtual ~ServerStatus() = default;
    virtual bool isStopping() const = 0;
    virtual bool isHealthy() const = 0; ///< the database answers
    virtual int connectionCount() const = 0;
    virtual int queuedCount() const = 0;
    virtual int activeRoomCount() const = 0;
    virtual qint64 awayUsers() const = 0;
    virtual QUrl url() const = 0;
};

/**
 * Answers the requests HttpListener has read (PROTOCOL.md, "HTTP"): the page and its assets
 * (the page with a Content-Security-Policy naming the Host it was asked for), `/healthz`,
 * `/metrics`; and decides a WebSocket upgrade's Origin (`--allowed-origin`), logging a refusal
 * at most once an interval per address. Runs on the listener's thread.
 */
class HttpRoutes
{
public:
    HttpRoutes(const ServerStatus &status, std::shared_ptr<Metrics> metrics,
               QStringList allowedOrigins, qint64 refusalLogIntervalMs);

    HttpResponse handle(const HttpRequest &request) const;
    /// 0 to go on with the upgrade, else the HTTP status to refuse it with.
    int checkUpgrade(const HttpRequest &request);

private:
    HttpResponse health() const;
    HttpResponse metrics() const;
    bool originAllowed(const HttpRequest &request) const;

    const ServerStatus &m_status;
    std::shared_ptr<Metrics> m_metrics;
    QStringList m_allowedOrigins; ///< lower case, no trailing slash
    RefusalLog m_originLog;
    QElapsedTimer m_clock;
};

} // namespace anonchat::server
