#pragma once

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QSslConfiguration>
#include <QTcpServer>
#include <functional>
#include <utility>
#include <vector>

class QTcpSocket;

namespace anonchat::server {

/// One parsed HTTP/1.x request head. Header names are lower case.
struct HttpRequest {
    QByteArray method;
    QByteArray target; ///< as sent, with the query
    QByteArray path;   ///< without the query
    QHash<QByteArray, QByteArray> headers;

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

/// Parses a request head (everything before the blank line). False for anything malformed.
bool parseHttpRequestHead(const QByteArray &head, HttpRequest &request);

/// Serialises a response, with the security headers every answer carries.
QByteArray serialiseHttpResponse(const HttpResponse &response, bool headOnly);

/**
 * The one listening socket (PROTOCOL.md, "HTTP on the same port"). A QTcpServer with a listen
 * backlog of 1024 (QWebSocketServer's own is fixed at 50) that reads each request head with
 * limits (size and time). A WebSocket upgrade (RFC 6455 4.2: version 13, a 16-byte key,
 * `Connection: upgrade`) is checked here and handed on with its 101 response
 * (WebSocketConnection writes it). Plain requests are answered by the handler and the
 * connection closed.
 *
 * Qt 6.4 has no public HTTP request parser outside the QHttpServer preview, so the request
 * line and header fields are parsed here, strictly and with limits.
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

    explicit HttpListener(Limits limits, QObject *parent = nullptr);

    void setHandler(Handler handler) { m_handler = std::move(handler); }
    void setUpgradeCheck(UpgradeCheck check) { m_upgradeCheck = std::move(check); }
    /// Serve TLS only (https://, wss://) with `configuration` (local certificate and key).
    void setSslConfiguration(const QSslConfiguration &configuration)
    {
        m_sslConfiguration = configuration;
        m_tls = true;
    }

    /// Connections still reading their request head.
    int pendingRequests() const { return m_pending; }

signals:
    /// A checked WebSocket upgrade request, its head read from `socket`; `handshake` is the
    /// 101 response to write first.
    void webSocketRequest(QTcpSocket *socket, const QByteArray &handshake);

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    void readRequest(QTcpSocket *socket);
    void finish(QTcpSocket *socket);
    void respond(QTcpSocket *socket, const HttpResponse &response, bool headOnly);

    Limits m_limits;
    Handler m_handler;
    UpgradeCheck m_upgradeCheck;
    QSslConfiguration m_sslConfiguration;
    bool m_tls = false;
    int m_pending = 0;
};

/// The embedded page and assets (`/`, `/static/...`). Null body when there is no such file.
HttpResponse staticResource(const QByteArray &path);

} // namespace anonchat::server
