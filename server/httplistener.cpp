#include "server/httplistener.h"

#include "server/websocketconnection.h"

#include <QFile>
#include <QLoggingCategory>
#include <QPointer>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTimer>

Q_LOGGING_CATEGORY(lcHttp, "anonchat.http", QtInfoMsg)

namespace anonchat::server {

namespace {

const char *reasonPhrase(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

bool isTokenChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           QByteArrayView("!#$%&'*+-.^_`|~").contains(c);
}

bool isToken(const QByteArray &s)
{
    if (s.isEmpty())
        return false;
    for (char c : s) {
        if (!isTokenChar(c))
            return false;
    }
    return true;
}

HttpResponse plain(int status, const QByteArray &text)
{
    HttpResponse r;
    r.status = status;
    r.contentType = "text/plain; charset=utf-8";
    r.body = text + '\n';
    return r;
}

} // namespace

bool parseHttpRequestHead(const QByteArray &head, HttpRequest &request)
{
    QList<QByteArray> lines = head.split('\n');
    // split() leaves an empty piece after the last LF; the head may end with or without the
    // blank line.
    if (lines.size() > 1 && lines.last().isEmpty())
        lines.removeLast();
    if (lines.isEmpty())
        return false;
    QByteArray requestLine = lines.first();
    if (!requestLine.endsWith('\r'))
        return false;
    requestLine.chop(1);
    const QList<QByteArray> parts = requestLine.split(' ');
    if (parts.size() != 3 || !isToken(parts[0]) || !parts[1].startsWith('/') ||
        (parts[2] != "HTTP/1.1" && parts[2] != "HTTP/1.0"))
        return false;
    for (char c : parts[1]) {
        if (uchar(c) <= 0x20 || uchar(c) >= 0x7f)
            return false;
    }
    request.method = parts[0];
    request.target = parts[1];
    const qsizetype query = request.target.indexOf('?');
    request.path = query < 0 ? request.target : request.target.left(query);
    for (qsizetype i = 1; i < lines.size(); ++i) {
        QByteArray line = lines[i];
        if (!line.endsWith('\r'))
            return false;
        line.chop(1);
        if (line.isEmpty()) {
            if (i != lines.size() - 1)
                return false; // a blank line ends the head
            continue;
        }
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            return false;
        const QByteArray name = line.left(colon).toLower();
        if (!isToken(name))
            return false;
        const QByteArray value = line.mid(colon + 1).trimmed();
        for (char c : value) {
            if ((uchar(c) < 0x20 && c != '\t') || uchar(c) == 0x7f)
                return false; // no control characters in a field value (RFC 9110 5.5)
        }
        if (!request.headers.contains(name))
            request.headers.insert(name, value);
    }
    return true;
}

QByteArray serialiseHttpResponse(const HttpResponse &response, bool headOnly)
{
    QByteArray out = "HTTP/1.1 " + QByteArray::number(response.status) + ' ' +
                     reasonPhrase(response.status) + "\r\n";
    if (!response.contentType.isEmpty())
        out += "Content-Type: " + response.contentType + "\r\n";
    out += "Content-Length: " + QByteArray::number(response.body.size()) + "\r\n";
    out += "X-Content-Type-Options: nosniff\r\n"
           "Referrer-Policy: no-referrer\r\n"
           "Connection: close\r\n";
    for (const auto &[name, value] : response.headers)
        out += name + ": " + value + "\r\n";
    out += "\r\n";
    if (!headOnly)
        out += response.body;
    return out;
}

HttpResponse staticResource(const QByteArray &path)
{
    static const struct {
        const char *path;
        const char *file;
        const char *type;
    } files[] = {
        {"/", ":/web/index.html", "text/html; charset=utf-8"},
        {"/index.html", ":/web/index.html", "text/html; charset=utf-8"},
        {"/static/app.js", ":/web/static/app.js", "text/javascript; charset=utf-8"},
        {"/static/style.css", ":/web/static/style.css", "text/css; charset=utf-8"},
        {"/static/favicon.svg", ":/web/static/favicon.svg", "image/svg+xml"},
        {"/favicon.ico", ":/web/static/favicon.svg", "image/svg+xml"},
    };
    for (const auto &f : files) {
        if (path == f.path) {
            QFile file(QLatin1String(f.file));
            if (!file.open(QIODevice::ReadOnly))
                break;
            HttpResponse r;
            r.contentType = f.type;
            r.body = file.readAll();
            r.headers.emplace_back("Cache-Control", "no-cache");
            return r;
        }
    }
    return plain(404, "not found");
}

HttpListener::HttpListener(Limits limits, QObject *parent)
    : QTcpServer(parent)
    , m_limits(limits)
{
    setListenBacklogSize(1024);
}

void HttpListener::incomingConnection(qintptr descriptor)
{
    QSslSocket *tls = m_tls ? new QSslSocket(this) : nullptr;
    QTcpSocket *socket = tls ? tls : new QTcpSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        delete socket;
        return;
    }
    // Small frames go out at once: without this, a second frame to the same client (the
    // partner's copy after an ack) waits for the first one's delayed ACK (~40 ms).
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    ++m_pending;
    auto *timer = new QTimer(socket);
    timer->setObjectName(QStringLiteral("requestTimer"));
    timer->setSingleShot(true);
    connect(timer, &QTimer::timeout, socket, [this, socket] {
        qCDebug(lcHttp) << "request head not finished in time, dropped";
        finish(socket);
        socket->abort();
        socket->deleteLater();
    });
    timer->start(int(m_limits.timeoutMs));
    connect(socket, &QTcpSocket::readyRead, this, [this, socket] { readRequest(socket); });
    connect(socket, &QTcpSocket::disconnected, this, [this, socket] {
        finish(socket);
        socket->deleteLater();
    });
    if (tls) {
        // A failed handshake (plain HTTP, TLS older than 1.2, garbage): drop the connection.
        // Queued: the error may come from inside startServerEncryption().
        connect(
            tls, &QSslSocket::errorOccurred, this,
            [this, guard = QPointer<QSslSocket>(tls)](QAbstractSocket::SocketError error) {
                if (!guard || !guard->findChild<QTimer *>(QStringLiteral("requestTimer")))
                    return; // gone, answered or handed on
                if (error == QAbstractSocket::SslInvalidUserDataError ||
                    error == QAbstractSocket::SslInternalError) // our certificate or key
                    qCWarning(lcHttp) << "TLS is not usable:" << guard->errorString();
                else
                    qCDebug(lcHttp) << "TLS connection dropped:" << guard->errorString();
                finish(guard);
                guard->abort();
                guard->deleteLater();
            },
            Qt::QueuedConnection);
        tls->setSslConfiguration(m_sslConfiguration);
        tls->startServerEncryption();
    }
}

void HttpListener::finish(QTcpSocket *socket)
{
    // Only once per socket: the request timer is the marker that it is still pending.
    if (QTimer *timer = socket->findChild<QTimer *>(QStringLiteral("requestTimer"))) {
        timer->stop();
        timer->setObjectName(QString());
        timer->deleteLater(); // may be inside its own timeout signal
        --m_pending;
    }
}

void HttpListener::respond(QTcpSocket *socket, const HttpResponse &response, bool headOnly)
{
    finish(socket);
    disconnect(socket, &QTcpSocket::readyRead, this, nullptr);
    socket->write(serialiseHttpResponse(response, headOnly));
    socket->disconnectFromHost(); // after the bytes are written
}

void HttpListener::readRequest(QTcpSocket *socket)
{
    if (!socket->findChild<QTimer *>(QStringLiteral("requestTimer")))
        return; // already answered
    const QByteArray head = socket->peek(m_limits.maxHeaderBytes + 4);
    const qsizetype end = head.indexOf("\r\n\r\n");
    if (end < 0 || end + 4 > m_limits.maxHeaderBytes) {
        if (head.size() > m_limits.maxHeaderBytes || end >= 0) {
            respond(socket, plain(431, "request header fields too large"), false);
        }
        return; // wait for the rest (within the time limit)
    }
    HttpRequest request;
    if (!parseHttpRequestHead(head.left(end + 4), request)) {
        respond(socket, plain(400, "bad request"), false);
        return;
    }
    const bool isGet = request.method == "GET";
    const bool isHead = request.method == "HEAD";

    if (request.path == "/ws") {
        if (!isGet) {
            HttpResponse r = plain(405, "method not allowed");
            r.headers.emplace_back("Allow", "GET");
            respond(socket, r, isHead);
            return;
        }
        if (!request.header("upgrade").toLower().contains("websocket")) {
            HttpResponse r = plain(426, "this is the WebSocket endpoint");
            r.headers.emplace_back("Upgrade", "websocket");
            respond(socket, r, false);
            return;
        }
        if (const int refused = m_upgradeCheck ? m_upgradeCheck(request) : 0) {
            respond(socket, plain(refused, refused == 403 ? "origin not allowed" : "refused"),
                    false);
            return;
        }
        // The handshake (RFC 6455 4.2.1); no subprotocol or extension is offered.
        if (request.header("sec-websocket-version") != "13") {
            HttpResponse r = plain(426, "unsupported WebSocket version");
            r.headers.emplace_back("Sec-WebSocket-Version", "13");
            respond(socket, r, false);
            return;
        }
        const QByteArray key = request.header("sec-websocket-key");
        const auto decodedKey =
            QByteArray::fromBase64Encoding(key, QByteArray::AbortOnBase64DecodingErrors);
        bool upgradeToken = false;
        for (const QByteArray &token : request.header("connection").split(','))
            upgradeToken = upgradeToken || token.trimmed().toLower() == "upgrade";
        if (!decodedKey || decodedKey.decoded.size() != 16 || !upgradeToken ||
            !request.header("host").size()) {
            respond(socket, plain(400, "bad WebSocket handshake"), false);
            return;
        }
        finish(socket);
        disconnect(socket, nullptr, this, nullptr);
        socket->read(end + 4);
        emit webSocketRequest(socket, "HTTP/1.1 101 Switching Protocols\r\n"
                                      "Upgrade: websocket\r\n"
                                      "Connection: Upgrade\r\n"
                                      "Sec-WebSocket-Accept: " +
                                          webSocketAccept(key) + "\r\n\r\n");
        return;
    }

    if (!isGet && !isHead) {
        HttpResponse r = plain(405, "method not allowed");
        r.headers.emplace_back("Allow", "GET, HEAD");
        respond(socket, r, false);
        return;
    }
    socket->read(end + 4);
    respond(socket, m_handler ? m_handler(request) : staticResource(request.path), isHead);
}

} // namespace anonchat::server
