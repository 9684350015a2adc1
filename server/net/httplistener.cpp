#include "server/net/httplistener.h"

#include "server/net/connectionbudget.h"

#include <QFile>
#include <QLoggingCategory>
#include <QPointer>
#include <QSocketNotifier>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTimer>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

Q_LOGGING_CATEGORY(lcHttp, "anonchat.http", QtInfoMsg)

namespace anonchat::server {

namespace {

const char *reasonPhrase(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
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

/// A Host value's characters (RFC 3986 host and port: reg-name, IP literal, ":" port).
bool isHostValue(const QByteArray &value)
{
    for (char c : value) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || QByteArrayView("-._~%!$&'()*+,;=:[]").contains(c);
        if (!ok)
            return false;
    }
    return true;
}

/// The peer of an accepted descriptor; null if it cannot be had.
QHostAddress peerOf(qintptr descriptor)
{
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (::getpeername(int(descriptor), reinterpret_cast<sockaddr *>(&address), &length) != 0)
        return {};
    return QHostAddress(reinterpret_cast<const sockaddr *>(&address));
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
    request.version = parts[2];
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
        if (name == "host" && (request.headers.contains(name) || !isHostValue(value)))
            return false; // one Host, and a valid one (RFC 9112 3.2: else 400)
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
    if (response.status != 204)
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

/// The resource behind a page path: `/` and `/index.html` the page, `/favicon.ico` its icon,
/// `/static/NAME` any file embedded under resources/web/static whose type is known. Empty: none.
std::pair<QString, const char *> staticFileOf(const QByteArray &path)
{
    static const QByteArray prefix("/static/");
    static const struct {
        const char *extension;
        const char *type;
    } types[] = {
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
    };
    if (path == "/" || path == "/index.html")
        return {QStringLiteral(":/web/index.html"), "text/html; charset=utf-8"};
    if (path == "/favicon.ico")
        return {QStringLiteral(":/web/static/favicon.svg"), "image/svg+xml"};
    const QByteArray name = path.startsWith(prefix) ? path.mid(prefix.size()) : QByteArray();
    // One plain file name: no directories, no dot files.
    if (name.isEmpty() || name.startsWith('.') || name.contains('/') || name.contains('\\'))
        return {};
    for (const auto &t : types) {
        if (name.endsWith(t.extension))
            return {QStringLiteral(":/web/static/") + QString::fromLatin1(name), t.type};
    }
    return {};
}

HttpResponse staticResource(const QByteArray &path)
{
    const auto [resource, type] = staticFileOf(path);
    QFile file(resource);
    if (resource.isEmpty() || !file.open(QIODevice::ReadOnly))
        return plain(404, "not found");
    HttpResponse r;
    r.contentType = type;
    r.body = file.readAll();
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
}

HttpListener::HttpListener(Limits limits, QObject *parent)
    : QTcpServer(parent)
    , m_limits(limits)
{
    setListenBacklogSize(1024);
    m_clock.start();
    m_reserveFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

HttpListener::~HttpListener()
{
    stop();
    // The sockets still here go with the QObject children, their places with us.
    for (QTcpSocket *socket : m_places.keys())
        releasePlace(socket);
    if (m_reserveFd >= 0)
        ::close(m_reserveFd);
}

void HttpListener::refuse(qintptr descriptor, const QHostAddress &peer, bool addressFull)
{
    if (!m_tls) {
        // One write, never waited for: what does not fit in the socket's buffer is lost.
        HttpResponse r =
            plain(503, addressFull ? "too many connections from your address" : "server busy");
        r.headers.emplace_back("Retry-After", "5");
        const QByteArray bytes = serialiseHttpResponse(r, false);
        (void)!::send(int(descriptor), bytes.constData(), size_t(bytes.size()),
                      MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    ::close(int(descriptor));
    int suppressed = 0;
    // The process-wide refusal is logged under the null address: once per interval in all.
    if (!m_refusalLog.shouldLog(addressFull ? peer : QHostAddress(), m_clock.elapsed(),
                                &suppressed))
        return;
    if (addressFull) {
        qCInfo(lcHttp).nospace() << "refused a connection: its address already has "
                                 << (m_budget ? m_budget->maxPerAddress() : 0)
                                 << " connections sending a request "
                                    "(--max-connections-per-address); "
                                 << suppressed << " more from it were refused unlogged";
    } else {
        qCWarning(lcHttp).nospace()
            << "refused a connection: " << (m_budget ? m_budget->maxOpen() : 0)
            << " sockets open, the most the open-file limit allows, and all of them WebSockets; "
            << suppressed << " more were refused unlogged";
    }
}

void HttpListener::takePlace(QTcpSocket *socket, const QHostAddress &peer)
{
    if (!m_budget)
        return;
    const quint64 serial = m_nextSerial++;
    m_places.insert(socket, Place{peer, serial});
    m_placesInOrder.emplace(serial, socket);
    connect(socket, &QObject::destroyed, this, [this, socket] { releasePlace(socket); });
}

void HttpListener::releasePlace(QTcpSocket *socket)
{
    const auto it = m_places.find(socket);
    if (it == m_places.end())
        return;
    m_placesInOrder.erase(it->serial);
    m_budget->releasePending(it->peer);
    m_places.erase(it);
}

bool HttpListener::dropOldest()
{
    if (m_placesInOrder.empty())
        return false;
    QTcpSocket *socket = m_placesInOrder.begin()->second;
    qCDebug(lcHttp) << "out of sockets: dropping the oldest connection that is no WebSocket";
    releasePlace(socket);
    finish(socket);
    disconnect(socket, nullptr, this, nullptr);
    socket->abort();
    socket->deleteLater();
    return true;
}

void HttpListener::refuseBacklog()
{
    if (m_reserveFd < 0)
        return;
    ::close(m_reserveFd);
    // The descriptor freed takes each waiting connection in turn, to close it at once: its client
    // hears a close instead of waiting in the backlog.
    const int listening = int(socketDescriptor());
    for (int i = 0; i < 1024; ++i) {
        const int fd = ::accept4(listening, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            break;
        ::close(fd);
    }
    m_reserveFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

bool HttpListener::start(const QHostAddress &address, quint16 port)
{
    if (!listen(address, port))
        return false;
    pauseAccepting(); // for good: acceptWaiting() does it
    m_acceptNotifier = new QSocketNotifier(socketDescriptor(), QSocketNotifier::Read, this);
    connect(m_acceptNotifier, &QSocketNotifier::activated, this, &HttpListener::acceptWaiting);
    return true;
}

void HttpListener::stop()
{
    delete m_acceptNotifier; // before its descriptor is closed
    m_acceptNotifier = nullptr;
    close();
}

void HttpListener::acceptWaiting()
{
    const int listening = int(socketDescriptor());
    // Bounded: a flood of connections does not starve the rest of the event loop.
    for (int i = 0; i < 256 && m_acceptNotifier; ++i) {
        const int fd = ::accept4(listening, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            incomingConnection(fd);
            continue;
        }
        const int error = errno;
        if (error == EINTR || error == ECONNABORTED || error == EPROTO)
            continue; // that one connection is gone; others may wait
        if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
            // Linux reserves the new descriptor before it looks at the queue: EMFILE also when
            // nothing waits, and then nothing is to be done.
            pollfd waiting{listening, POLLIN, 0};
            if (::poll(&waiting, 1, 0) <= 0 || !(waiting.revents & POLLIN))
                return;
            if (outOfDescriptors(error))
                continue;
            m_acceptNotifier->setEnabled(false);
            QTimer::singleShot(100, this, [this] {
                if (m_acceptNotifier)
                    m_acceptNotifier->setEnabled(true);
            });
        }
        return; // EAGAIN: nothing more waits
    }
}

bool HttpListener::outOfDescriptors(int error)
{
    const bool freed = dropOldest();
    if (!freed)
        refuseBacklog();
    if (m_lastAcceptErrorLogMs < 0 || m_clock.elapsed() - m_lastAcceptErrorLogMs >= 60000) {
        m_lastAcceptErrorLogMs = m_clock.elapsed();
        qCWarning(lcHttp).nospace() << "cannot accept connections: " << strerror(error) << "; "
                                    << (freed ? "dropped the oldest connection sending a request"
                                              : "closed the waiting connections")
                                    << " (logged at most once a minute)";
    }
    return freed;
}

void HttpListener::incomingConnection(qintptr descriptor)
{
    const QHostAddress peer = peerOf(descriptor);
    if (!admit(descriptor, peer))
        return;
    QSslSocket *tls = m_tls ? new QSslSocket(this) : nullptr;
    QTcpSocket *socket = tls ? tls : new QTcpSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        delete socket;
        if (m_budget)
            m_budget->releasePending(peer);
        return;
    }
    takePlace(socket, peer);
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
    if (tls)
        startHandshake(tls);
}

bool HttpListener::admit(qintptr descriptor, const QHostAddress &peer)
{
    if (!m_budget)
        return true;
    using Verdict = ConnectionBudget::Verdict;
    Verdict verdict = m_budget->admitPending(peer);
    if (verdict == Verdict::ProcessFull && dropOldest())
        verdict = m_budget->admitPending(peer);
    if (verdict != Verdict::Admitted) {
        refuse(descriptor, peer, verdict == Verdict::AddressFull);
        return false;
    }
    return true;
}

void HttpListener::startHandshake(QSslSocket *tls)
{
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
    // A client that does not read its answer holds the connection no longer than a request may
    // take (the timer goes with the socket).
    QTimer::singleShot(int(m_limits.timeoutMs), socket, [socket] { socket->abort(); });
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
    request.peer = socket->peerAddress();
    const bool isGet = request.method == "GET";
    const bool isHead = request.method == "HEAD";

    if (request.path == "/ws") {
        takeWebSocket(socket, request);
        return;
    }
    if (m_api.handler && request.path.startsWith(m_api.prefix)) {
        takeApiRequest(socket, request, end + 4);
        return;
    }
    if (!isGet && !isHead) {
        HttpResponse r = plain(405, "method not allowed");
        r.headers.emplace_back("Allow", "GET, HEAD");
        respond(socket, r, false);
        return;
    }
    if (refuseHost(socket, request))
        return;
    socket->read(end + 4);
    respond(socket, m_handler ? m_handler(request) : staticResource(request.path), isHead);
}

void HttpListener::takeApiRequest(QTcpSocket *socket, HttpRequest &request, qint64 headBytes)
{
    if (refuseHost(socket, request))
        return;
    if (!request.header("transfer-encoding").isEmpty()) {
        respond(socket, plain(411, "send the body with a Content-Length"), false);
        return;
    }
    const QByteArray lengthText = request.header("content-length");
    bool ok = true;
    const qint64 length = lengthText.isEmpty() ? 0 : lengthText.toLongLong(&ok);
    if (!ok || length < 0) {
        respond(socket, plain(400, "bad request"), false);
        return;
    }
    if (length > m_api.maxBodyBytes) {
        respond(socket, plain(413, "request body too large"), false);
        return;
    }
    if (socket->bytesAvailable() < headBytes + length)
        return; // wait for the rest of the body (within the time limit)
    socket->read(headBytes);
    request.body = socket->read(length);
    // Answered later, once: nothing more is read from it meanwhile.
    disconnect(socket, &QTcpSocket::readyRead, this, nullptr);
    const bool isHead = request.method == "HEAD";
    m_api.handler(request, [this, guard = QPointer<QTcpSocket>(socket),
                            isHead](const HttpResponse &response) {
        if (guard)
            respond(guard, response, isHead);
    });
}

void HttpListener::takeWebSocket(QTcpSocket *socket, const HttpRequest &request)
{
    if (request.method != "GET") {
        HttpResponse r = plain(405, "method not allowed");
        r.headers.emplace_back("Allow", "GET");
        respond(socket, r, request.method == "HEAD");
        return;
    }
    if (refuseHost(socket, request))
        return;
    if (const std::optional<HttpResponse> refusal = upgradeRefusal(request)) {
        respond(socket, *refusal, false);
        return;
    }
    finish(socket);
    releasePlace(socket); // a WebSocket now: its place is the node's to take
    disconnect(socket, nullptr, this, nullptr);
    emit webSocketRequest(socket); // the head unread: Qt's QWebSocketServer reads it
}

std::optional<HttpResponse> HttpListener::upgradeRefusal(const HttpRequest &request)
{
    if (request.header("upgrade").trimmed().toLower() != "websocket") {
        HttpResponse r = plain(426, "this is the WebSocket endpoint");
        r.headers.emplace_back("Upgrade", "websocket");
        return r;
    }
    if (const int refused = m_upgradeCheck ? m_upgradeCheck(request) : 0)
        return plain(refused, refused == 403 ? "origin not allowed" : "refused");
    // The handshake (RFC 6455 4.2.1); no subprotocol or extension is offered.
    if (request.header("sec-websocket-version") != "13") {
        HttpResponse r = plain(426, "unsupported WebSocket version");
        r.headers.emplace_back("Sec-WebSocket-Version", "13");
        return r;
    }
    const auto decodedKey = QByteArray::fromBase64Encoding(request.header("sec-websocket-key"),
                                                           QByteArray::AbortOnBase64DecodingErrors);
    bool upgradeToken = false;
    for (const QByteArray &token : request.header("connection").split(','))
        upgradeToken = upgradeToken || token.trimmed().toLower() == "upgrade";
    if (!decodedKey || decodedKey.decoded.size() != 16 || !upgradeToken ||
        !request.header("host").size() || request.version != "HTTP/1.1")
        return plain(400, "bad WebSocket handshake");
    return std::nullopt;
}

bool HttpListener::refuseHost(QTcpSocket *socket, const HttpRequest &request)
{
    if (m_hostGuard.allows(request.header("host")))
        return false;
    int suppressed = 0;
    if (m_hostLog.shouldLog(request.peer, m_clock.elapsed(), &suppressed))
        qCInfo(lcHttp).nospace() << "refused a request for a host that is not this loopback "
                                    "server's (DNS rebinding?); "
                                 << suppressed << " more from that address were refused unlogged";
    respond(socket, plain(403, "host not allowed"), request.method == "HEAD");
    return true;
}

} // namespace anonchat::server
