#pragma once

#include "server/net/addresskey.h"
#include "server/web/hostguard.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QSslConfiguration>
#include <QTcpServer>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

class QSocketNotifier;
class QSslSocket;
class QTcpSocket;

namespace anonchat::server {

/// One parsed HTTP/1.x request head. Header names are lower case.
struct HttpRequest {
    QByteArray method;
    QByteArray target;  ///< as sent, with the query
    QByteArray path;    ///< without the query
    QByteArray version; ///< HTTP/1.1 or HTTP/1.0
    QHash<QByteArray, QByteArray> headers;
    QHostAddress peer; ///< the client's address (set by the listener)
    QByteArray body;   ///< read only for the API (HttpListener::setApi)

    QByteArray header(const QByteArray &lowerCaseName) const
    {
        return headers.value(lowerCaseName);
    }
};

struct HttpResponse {
    int status = 200;
    QByteArray contentType;
    QByteArray body;
    std::vector<std::pair<QByteArray, QByteArray>> headers;
};

class ConnectionBudget;

/// Parses a request head (everything before the blank line). False for anything malformed,
/// including a repeated or malformed `Host` (RFC 9112 3.2).
bool parseHttpRequestHead(const QByteArray &head, HttpRequest &request);

/// Serialises a response, with the security headers every answer carries.
QByteArray serialiseHttpResponse(const HttpResponse &response, bool headOnly);

/**
 * The one listening socket (PROTOCOL.md, "HTTP on the same port"). A QTcpServer with a listen
 * backlog of 1024 (QWebSocketServer's own is fixed at 50) that reads each request head with
 * limits (size and time). A WebSocket upgrade (RFC 6455 4.2: version 13, a 16-byte key,
 * `Connection: upgrade`, HTTP/1.1) is checked here and handed on with its head unread, for the
 * node's QWebSocketServer to read and answer (QWebSocketServer::handleConnection: its own
 * listen() has a fixed backlog of 50 and no time limit on a request head). Plain requests are
 * answered by the handler and the connection closed.
 *
 * Qt 6.4 has no public HTTP request parser outside the QHttpServer preview, so the request
 * line and header fields are parsed here, strictly and with limits.
 *
 * Every connection takes a place in the ConnectionBudget from accept() until it is answered and
 * closed, or upgraded: one over `--max-connections-per-address` from its address is refused at
 * once, before anything is read (a short 503, or a plain close with TLS); one past the open
 * sockets the open-file limit allows makes room by dropping the oldest connection still sending
 * or being sent its request. The listener accepts by itself (QTcpServer's own accepting stays
 * paused): Qt 6.4's QTcpServer takes EMFILE for a temporary error and calls accept() again at
 * once, for as long as the descriptors are gone (a busy loop that lets no one in). Here, should
 * accept() fail so all the same, the oldest such connection is dropped to make room, or, with
 * none, the waiting connections are accepted and closed on a descriptor kept in reserve, and
 * accepting pauses for 100 ms.
 *
 * With an SSL configuration every connection is a QSslSocket in server mode: the time limit runs
 * from accept(), so it covers the TLS handshake too; the head is peeked decrypted, and an upgrade
 * hands the encrypted QSslSocket on. A client speaking plain HTTP fails the handshake and is
 * dropped.
 */
class HttpListener : public QTcpServer
{
    Q_OBJECT
public:
    struct Limits {
        qint64 maxHeaderBytes = 8 * 1024;
        qint64 timeoutMs = 10 * 1000;
    };
    using Handler = std::function<HttpResponse(const HttpRequest &)>;
    /// For `GET /ws` upgrades: 0 accepts, otherwise the status to refuse with (e.g. 403).
    using UpgradeCheck = std::function<int(const HttpRequest &)>;
    /// Answers an API request, once, on the listener's thread (nothing if the client is gone).
    using Reply = std::function<void(const HttpResponse &)>;
    using ApiHandler = std::function<void(const HttpRequest &, Reply)>;

    explicit HttpListener(Limits limits, QObject *parent = nullptr);
    ~HttpListener() override;

    /// Listens (QTcpServer::listen) and starts accepting. False with errorString().
    bool start(const QHostAddress &address, quint16 port);
    /// Stops listening (QTcpServer::close): use this, not close().
    void stop();

    void setHandler(Handler handler) { m_handler = std::move(handler); }
    void setUpgradeCheck(UpgradeCheck check) { m_upgradeCheck = std::move(check); }
    /// Requests whose path starts with `prefix` go to `handler` with any method and their body
    /// (a Content-Length of at most `maxBodyBytes`; chunked bodies are refused with 411), to be
    /// answered when it is ready; the time limit still runs.
    void setApi(const QByteArray &prefix, qint64 maxBodyBytes, ApiHandler handler)
    {
        m_api = {prefix, maxBodyBytes, std::move(handler)};
    }
    /// Counts every connection against `budget` from accept() on (none: no limits).
    void setBudget(std::shared_ptr<ConnectionBudget> budget) { m_budget = std::move(budget); }
    /// Requests whose Host `guard` refuses are answered 403, on every path.
    void setHostGuard(const HostGuard &guard) { m_hostGuard = guard; }
    /// How often a refusal from one address is logged (default once a minute).
    void setRefusalLogInterval(qint64 ms)
    {
        m_refusalLog.setInterval(ms);
        m_hostLog.setInterval(ms);
    }
    /// Serve TLS only (https://, wss://) with `configuration` (local certificate and key).
    void setSslConfiguration(const QSslConfiguration &configuration)
    {
        m_sslConfiguration = configuration;
        m_tls = true;
    }

    /// Connections still reading their request head.
    int pendingRequests() const { return m_pending; }

signals:
    /// A checked WebSocket upgrade request, its head still unread in `socket` (which the
    /// receiver takes).
    void webSocketRequest(QTcpSocket *socket);

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    /// Refuses a connection before anything is read from it, and logs that (throttled).
    void refuse(qintptr descriptor, const QHostAddress &peer, bool addressFull);
    /// A place in the budget for a connection from `peer` (the oldest connection holding one may
    /// be dropped for it), or it is refused: false then.
    bool admit(qintptr descriptor, const QHostAddress &peer);
    /// Starts the TLS handshake of a new connection; a failed one drops it.
    void startHandshake(QSslSocket *tls);
    void takePlace(QTcpSocket *socket, const QHostAddress &peer);
    void releasePlace(QTcpSocket *socket);
    /// Drops the oldest connection holding a place. False when there is none.
    bool dropOldest();
    /// Accepts what waits (a bounded number per wake-up).
    void acceptWaiting();
    /// accept() failed for want of descriptors: makes room, or refuses what waits. False when
    /// accepting should pause.
    bool outOfDescriptors(int error);
    /// Accepts and closes what waits in the backlog, on the reserve descriptor.
    void refuseBacklog();
    void readRequest(QTcpSocket *socket);
    /// A request for /ws: refused with its HTTP answer, or handed on (webSocketRequest).
    void takeWebSocket(QTcpSocket *socket, const HttpRequest &request);
    /// A request for the API: read its body when it is all there, and hand it on.
    void takeApiRequest(QTcpSocket *socket, HttpRequest &request, qint64 headBytes);
    /// Why an upgrade request cannot be taken (its answer), or nothing.
    std::optional<HttpResponse> upgradeRefusal(const HttpRequest &request);
    /// Answers 403 when HostGuard refuses the request's Host; true then.
    bool refuseHost(QTcpSocket *socket, const HttpRequest &request);
    void finish(QTcpSocket *socket);
    void respond(QTcpSocket *socket, const HttpResponse &response, bool headOnly);

    Limits m_limits;
    Handler m_handler;
    UpgradeCheck m_upgradeCheck;
    struct Api {
        QByteArray prefix;
        qint64 maxBodyBytes = 0;
        ApiHandler handler;
    } m_api;
    QSslConfiguration m_sslConfiguration;
    bool m_tls = false;
    int m_pending = 0;
    std::shared_ptr<ConnectionBudget> m_budget;
    HostGuard m_hostGuard;
    RefusalLog m_refusalLog; ///< connections refused at accept()
    RefusalLog m_hostLog;    ///< requests refused for their Host
    QElapsedTimer m_clock;
    struct Place {
        QHostAddress peer;
        quint64 serial = 0;
    };
    QHash<QTcpSocket *, Place> m_places;
    std::map<quint64, QTcpSocket *> m_placesInOrder; ///< oldest first
    quint64 m_nextSerial = 0;
    QSocketNotifier *m_acceptNotifier = nullptr;
    int m_reserveFd = -1; ///< /dev/null, closed to accept and close when descriptors run out
    qint64 m_lastAcceptErrorLogMs = -1;
};

/// The embedded page and assets (`/`, `/static/...`). Null body when there is no such file.
HttpResponse staticResource(const QByteArray &path);

} // namespace anonchat::server
