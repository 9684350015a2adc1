// Tests of the one-port HTTP front (server/httplistener.*, PROTOCOL.md "HTTP on the same port"):
// the request-head parser on its own, then a real in-process ChatServer driven by raw QTcpSocket
// clients that write their bytes by hand, so that every malformed, slow or hostile request can be
// sent exactly as an attacker would.

#include "server/chat/chatserver.h"
#include "server/net/addresskey.h"
#include "server/net/connectionbudget.h"
#include "server/net/httplistener.h"
#include "server/web/hostguard.h"
#include "shared/codec.h"
#include "shared/events.h"
#include "tests/support/inprocessserver.h"
#include "tests/support/rawhttp.h"
#include "tests/support/rawwebsocket.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>
#include <QWebSocket>
#include <algorithm>
#include <functional>
#include <memory>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

using namespace anonchat::server;
namespace protocol = anonchat::protocol;
using anonchat::test::HttpReply;
using anonchat::test::parseReply;
using anonchat::test::RawHttpClient;
using anonchat::test::wire::upgradeRequestFor;

namespace {

constexpr int kRequestTimeoutMs = 500;
constexpr int kWaitMs = 5000;

QByteArray sourceFile(const char *relative)
{
    QFile file(QStringLiteral(ANONCHAT_SOURCE_DIR "/") + QLatin1String(relative));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

/// A literal with its embedded NULs.
template <size_t N>
QByteArray bytes(const char (&literal)[N])
{
    return QByteArray(literal, qsizetype(N - 1));
}

QByteArray randomBytes(int size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (char &c : bytes)
        c = char(QRandomGenerator::global()->bounded(256));
    return bytes;
}

/// The value of an unlabelled sample (`name 42`) in a Prometheus text page; -1 if absent.
qint64 sample(const QByteArray &page, const QByteArray &name)
{
    for (const QByteArray &line : page.split('\n')) {
        if (line.startsWith(name + ' '))
            return line.mid(name.size() + 1).toLongLong();
    }
    return -1;
}

/// Keeps every log line written while it lives (a Qt message handler), then passes it on.
class LogLines
{
public:
    LogLines()
    {
        s_lines.clear();
        s_previous = qInstallMessageHandler(&LogLines::handle);
    }
    ~LogLines() { qInstallMessageHandler(s_previous); }
    LogLines(const LogLines &) = delete;
    LogLines &operator=(const LogLines &) = delete;

    /// The lines containing `needle`.
    QStringList matching(const QString &needle) const { return s_lines.filter(needle); }

private:
    static void handle(QtMsgType type, const QMessageLogContext &context, const QString &message)
    {
        s_lines.append(message);
        if (s_previous)
            s_previous(type, context, message);
    }
    static inline QStringList s_lines;
    static inline QtMessageHandler s_previous = nullptr;
};

/// Sends `request` from `from` and waits for the head of the answer (or the close).
HttpReply exchange(quint16 port, const QHostAddress &from, const QByteArray &request,
                   const QHostAddress &to = QHostAddress(QHostAddress::LocalHost))
{
    RawHttpClient client(port, from, to);
    if (!client.waitConnected())
        return {};
    client.write(request);
    client.waitForHead();
    const HttpReply r = client.reply();
    client.socket().abort();
    return r;
}

/// Lowers this process's soft open-file limit while it lives, and takes every descriptor below it
/// but one: the next socket made takes that one, and the accept() after it fails with EMFILE.
class DescriptorsExhausted
{
public:
    DescriptorsExhausted()
    {
        // Sockets deleted later would free descriptors meanwhile: delete them now.
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
        ::getrlimit(RLIMIT_NOFILE, &m_saved);
        const int lowest = ::dup(0);
        ::close(lowest);
        rlimit lowered = m_saved;
        lowered.rlim_cur = rlim_t(lowest + 16);
        m_ok = ::setrlimit(RLIMIT_NOFILE, &lowered) == 0;
        for (int fd = ::dup(0); fd >= 0; fd = ::dup(0))
            m_taken.push_back(fd);
        m_ok = m_ok && errno == EMFILE && !m_taken.empty();
        if (!m_taken.empty()) {
            ::close(m_taken.back());
            m_taken.pop_back();
        }
    }
    ~DescriptorsExhausted()
    {
        for (int fd : m_taken)
            ::close(fd);
        ::setrlimit(RLIMIT_NOFILE, &m_saved);
    }
    DescriptorsExhausted(const DescriptorsExhausted &) = delete;
    DescriptorsExhausted &operator=(const DescriptorsExhausted &) = delete;
    bool ok() const { return m_ok; }

private:
    rlimit m_saved{};
    std::vector<int> m_taken;
    bool m_ok = false;
};

} // namespace

class TestHttp : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();

    // parseHttpRequestHead
    void parseValidGet();
    void parseVariants();
    void parseInvalid_data();
    void parseInvalid();
    void serialiseCarriesSecurityHeaders();

    // the page and its assets
    void indexPage();
    void contentSecurityPolicyHost();
    void staticAssets_data();
    void staticAssets();
    void headRequest();
    void notFound_data();
    void notFound();
    void methodNotAllowed_data();
    void methodNotAllowed();
    void onlyOneRequestPerConnection();

    // health and metrics
    void healthz();
    void metricsFormat();
    void metricsGauges();

    // hostile and broken clients
    void garbage_data();
    void garbage();
    void headersJustUnderLimit();
    void headersOverLimit();
    void absurdlyLongPath();
    void idleClientDropped();
    void halfRequestDropped();
    void drippingClientDropped();

    // the WebSocket endpoint
    void webSocketWithoutUpgrade();
    void webSocketWrongMethod();
    void webSocketOrigin_data();
    void webSocketOrigin();
    void webSocketBadHandshake();

    // hostile clients (issue 11)
    void repeatedHost_data();
    void repeatedHost();
    void hostGuard_data();
    void hostGuard();
    void dnsRebinding_data();
    void dnsRebinding();
    void refusalsLoggedOncePerInterval();
    void addressKeyIsSlash64();
    void budgetCountsSlash64();
    void pendingConnectionsPerAddress();
    void browserPageLoadWithinLimit();
    void ipv6Loopback();
    void acceptFailureDoesNotStopServing();

    void manyParallelConnections();
    void noPendingRequestsLeft(); // last: after everything above

private:
    HttpReply get(const QByteArray &request);
    HttpReply getPath(const QByteArray &path, const QByteArray &method = "GET");
    bool serverStillAnswers();
    QByteArray host() const { return "127.0.0.1:" + QByteArray::number(m_port); }
    QByteArray upgradeRequest(const QByteArray &extraHeaders) const;
    /// Another in-process server (port 0, its own database), changed by `tweak`.
    std::unique_ptr<ChatServer> extraServer(const std::function<void(ServerConfig &)> &tweak);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<ChatServer> m_server;
    const HttpListener *m_listener = nullptr;
    quint16 m_port = 0;
};

void TestHttp::initTestCase()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    ServerConfig config = anonchat::test::testServerConfig(
        m_dir->filePath(QStringLiteral("chat.db")),
        QStringLiteral("tst_http_") + QUuid::createUuid().toString(QUuid::Id128));
    config.requestTimeoutMs = kRequestTimeoutMs;
    config.allowedOrigins = {QStringLiteral("https://chat.example.org")};
    config.rateLimit = 0;
    QString error;
    QVERIFY2(anonchat::test::startChatServer(m_server, config, &error), qPrintable(error));
    m_port = m_server->port();
    QVERIFY(m_port != 0);
    m_listener = m_server->findChild<HttpListener *>();
    QVERIFY(m_listener);
}

void TestHttp::cleanupTestCase()
{
    if (m_listener) {
        // Every connection of every test has been answered or dropped: nothing is left reading.
        QTRY_COMPARE_WITH_TIMEOUT(m_listener->pendingRequests(), 0, kWaitMs);
    }
    m_listener = nullptr;
    m_server.reset();
}

HttpReply TestHttp::get(const QByteArray &request)
{
    RawHttpClient client(m_port);
    if (!client.waitConnected())
        return {};
    client.write(request);
    client.waitClosed();
    return client.reply();
}

HttpReply TestHttp::getPath(const QByteArray &path, const QByteArray &method)
{
    return get(method + ' ' + path + " HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
}

bool TestHttp::serverStillAnswers()
{
    const HttpReply r = getPath("/healthz");
    return r.status == 200 && r.body.contains("\"ok\"");
}

QByteArray TestHttp::upgradeRequest(const QByteArray &extraHeaders) const
{
    return upgradeRequestFor(host(), extraHeaders);
}

// ---- parseHttpRequestHead ---------------------------------------------------------------------

void TestHttp::parseValidGet()
{
    HttpRequest r;
    QVERIFY(parseHttpRequestHead("GET /static/app.js?v=3&x=/y HTTP/1.1\r\n"
                                 "Host: 127.0.0.1:5000\r\n"
                                 "User-Agent: tst_http/1.0\r\n"
                                 "ACCEPT:text/html \r\n"
                                 "X-Dup: first\r\n"
                                 "x-dup: second\r\n"
                                 "X-Empty:\r\n"
                                 "X-Spaced: \t a b \t\r\n"
                                 "\r\n",
                                 r));
    QCOMPARE(r.method, QByteArray("GET"));
    QCOMPARE(r.target, QByteArray("/static/app.js?v=3&x=/y"));
    QCOMPARE(r.path, QByteArray("/static/app.js"));
    QCOMPARE(r.header("host"), QByteArray("127.0.0.1:5000"));
    QCOMPARE(r.header("user-agent"), QByteArray("tst_http/1.0"));
    QCOMPARE(r.header("accept"), QByteArray("text/html")); // no space after the colon, OWS trimmed
    QCOMPARE(r.header("x-dup"), QByteArray("first"));      // the first of duplicates is kept
    QVERIFY(r.headers.contains("x-empty"));
    QCOMPARE(r.header("x-empty"), QByteArray());
    QCOMPARE(r.header("x-spaced"), QByteArray("a b"));
    QCOMPARE(r.headers.size(), 6);
    // Names are stored lower case only.
    QVERIFY(!r.headers.contains("Host"));
    QVERIFY(!r.headers.contains("ACCEPT"));
}

void TestHttp::parseVariants()
{
    {
        HttpRequest r;
        QVERIFY(parseHttpRequestHead("HEAD / HTTP/1.0\r\n\r\n", r));
        QCOMPARE(r.method, QByteArray("HEAD"));
        QCOMPARE(r.path, QByteArray("/"));
        QVERIFY(r.headers.isEmpty());
    }
    {
        HttpRequest r;
        QVERIFY(parseHttpRequestHead("GET /?only-a-query HTTP/1.1\r\nHost: x\r\n\r\n", r));
        QCOMPARE(r.path, QByteArray("/"));
        QCOMPARE(r.target, QByteArray("/?only-a-query"));
    }
    {
        // Everything before the blank line, as the header documents, is accepted too.
        HttpRequest r;
        QVERIFY(parseHttpRequestHead("GET /healthz HTTP/1.1\r\nHost: x\r\n", r));
        QCOMPARE(r.path, QByteArray("/healthz"));
        QCOMPARE(r.header("host"), QByteArray("x"));
    }
    {
        // A method is any token; whether it is allowed is the listener's business.
        HttpRequest r;
        QVERIFY(parseHttpRequestHead("M-SEARCH /%2e%2e/x HTTP/1.1\r\n\r\n", r));
        QCOMPARE(r.method, QByteArray("M-SEARCH"));
        QCOMPARE(r.path, QByteArray("/%2e%2e/x")); // no decoding: nothing is a file path
    }
    {
        // obs-text (bytes >= 0x80) is allowed in a value.
        HttpRequest r;
        QVERIFY(parseHttpRequestHead("GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9\r\n\r\n", r));
        QCOMPARE(r.header("x-name"), QByteArray("caf\xc3\xa9"));
    }
}

void TestHttp::parseInvalid_data()
{
    QTest::addColumn<QByteArray>("head");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("only a blank line") << QByteArray("\r\n\r\n");
    QTest::newRow("bare LF") << QByteArray("GET / HTTP/1.1\n\n");
    QTest::newRow("bare LF after request line") << QByteArray("GET / HTTP/1.1\nHost: x\r\n\r\n");
    QTest::newRow("bare LF after a header") << QByteArray("GET / HTTP/1.1\r\nHost: x\n\r\n");
    QTest::newRow("no line end") << QByteArray("GET / HTTP/1.1");
    QTest::newRow("missing version") << QByteArray("GET /\r\n\r\n");
    QTest::newRow("missing target") << QByteArray("GET HTTP/1.1\r\n\r\n");
    QTest::newRow("HTTP/2.0") << QByteArray("GET / HTTP/2.0\r\n\r\n");
    QTest::newRow("HTTP/0.9") << QByteArray("GET / HTTP/0.9\r\n\r\n");
    QTest::newRow("lower-case version") << QByteArray("GET / http/1.1\r\n\r\n");
    QTest::newRow("junk version") << QByteArray("GET / HTTP/1.1x\r\n\r\n");
    QTest::newRow("four words") << QByteArray("GET / HTTP/1.1 extra\r\n\r\n");
    QTest::newRow("double space") << QByteArray("GET  / HTTP/1.1\r\n\r\n");
    QTest::newRow("leading space") << QByteArray(" GET / HTTP/1.1\r\n\r\n");
    QTest::newRow("space in target") << QByteArray("GET /a b HTTP/1.1\r\n\r\n");
    QTest::newRow("tab in target") << QByteArray("GET /a\tb HTTP/1.1\r\n\r\n");
    QTest::newRow("control char in target") << QByteArray("GET /a\x01z HTTP/1.1\r\n\r\n");
    QTest::newRow("NUL in target") << bytes("GET /a\0z HTTP/1.1\r\n\r\n");
    QTest::newRow("DEL in target") << QByteArray("GET /a\x7f HTTP/1.1\r\n\r\n");
    QTest::newRow("non-ASCII in target") << QByteArray("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n");
    QTest::newRow("absolute form") << QByteArray("GET http://example.org/ HTTP/1.1\r\n\r\n");
    QTest::newRow("asterisk form") << QByteArray("OPTIONS * HTTP/1.1\r\n\r\n");
    QTest::newRow("non-token method") << QByteArray("G(T / HTTP/1.1\r\n\r\n");
    QTest::newRow("method with slash") << QByteArray("GE/T / HTTP/1.1\r\n\r\n");
    QTest::newRow("binary method") << QByteArray("\x16\x03\x01 / HTTP/1.1\r\n\r\n");
    QTest::newRow("header without colon") << QByteArray("GET / HTTP/1.1\r\nHost x\r\n\r\n");
    QTest::newRow("empty header name") << QByteArray("GET / HTTP/1.1\r\n: x\r\n\r\n");
    QTest::newRow("space before colon") << QByteArray("GET / HTTP/1.1\r\nHost : x\r\n\r\n");
    QTest::newRow("obsolete line folding")
        << QByteArray("GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n");
    QTest::newRow("control char in name") << QByteArray("GET / HTTP/1.1\r\nX\x01Y: v\r\n\r\n");
    QTest::newRow("non-ASCII name") << QByteArray("GET / HTTP/1.1\r\nX\xc3\xa9: v\r\n\r\n");
    QTest::newRow("NUL in value") << bytes("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n");
    QTest::newRow("bare CR in value") << QByteArray("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n");
    QTest::newRow("escape in value") << QByteArray("GET / HTTP/1.1\r\nX: a\x1b[2Jb\r\n\r\n");
    QTest::newRow("blank line inside") << QByteArray("GET / HTTP/1.1\r\n\r\nHost: x\r\n\r\n");
    // RFC 9112 3.2: one Host, with a valid value.
    QTest::newRow("repeated Host") << QByteArray("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n");
    QTest::newRow("repeated Host, other case")
        << QByteArray("GET / HTTP/1.1\r\nHOST: a\r\nhost: b\r\n\r\n");
    QTest::newRow("Host with a space") << QByteArray("GET / HTTP/1.1\r\nHost: a b\r\n\r\n");
    QTest::newRow("Host with a slash") << QByteArray("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n");
    QTest::newRow("Host with userinfo") << QByteArray("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n");
}

void TestHttp::parseInvalid()
{
    QFETCH(QByteArray, head);
    HttpRequest r;
    QVERIFY(!parseHttpRequestHead(head, r));
}

void TestHttp::serialiseCarriesSecurityHeaders()
{
    HttpResponse response;
    response.status = 404;
    response.contentType = "text/plain; charset=utf-8";
    response.body = "nope\n";
    response.headers.emplace_back("Allow", "GET");
    const HttpReply full = parseReply(serialiseHttpResponse(response, false));
    QCOMPARE(full.status, 404);
    QVERIFY(full.raw.startsWith("HTTP/1.1 404 Not Found\r\n"));
    QCOMPARE(full.header("content-length"), QByteArray("5"));
    QCOMPARE(full.header("x-content-type-options"), QByteArray("nosniff"));
    QCOMPARE(full.header("referrer-policy"), QByteArray("no-referrer"));
    QCOMPARE(full.header("connection"), QByteArray("close"));
    QCOMPARE(full.header("allow"), QByteArray("GET"));
    QCOMPARE(full.body, QByteArray("nope\n"));
    const HttpReply head = parseReply(serialiseHttpResponse(response, true));
    QCOMPARE(head.header("content-length"), QByteArray("5"));
    QVERIFY(head.body.isEmpty());
}

// ---- the page and its assets ------------------------------------------------------------------

void TestHttp::indexPage()
{
    const QByteArray expected = sourceFile("resources/web/index.html");
    QVERIFY(!expected.isEmpty());
    const HttpReply r = getPath("/");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("content-type"), QByteArray("text/html; charset=utf-8"));
    QCOMPARE(r.header("x-content-type-options"), QByteArray("nosniff"));
    QCOMPARE(r.header("referrer-policy"), QByteArray("no-referrer"));
    QCOMPARE(r.header("content-length").toLongLong(), qint64(r.body.size()));
    // Byte for byte the embedded file (rebuild if resources/web/index.html changed since).
    QCOMPARE(r.body, expected);

    const QByteArray csp = r.header("content-security-policy");
    QVERIFY2(!csp.isEmpty(), r.raw.left(1000).constData());
    QVERIFY2(csp.contains("script-src 'self'"), csp.constData());
    QVERIFY2(csp.contains("connect-src"), csp.constData());
    QVERIFY2(csp.contains("ws://" + host()), csp.constData());
    QVERIFY2(csp.contains("wss://" + host()), csp.constData());
    QVERIFY2(!csp.contains("unsafe-inline"), csp.constData());
    QVERIFY2(!csp.contains("unsafe-eval"), csp.constData());
    QVERIFY2(!csp.contains('*'), csp.constData());
}

void TestHttp::contentSecurityPolicyHost()
{
    // A Host header is copied into the policy only when it is a plain host[:port] ...
    HttpReply r = get("GET / HTTP/1.1\r\nHost: chat.example.org:8080\r\n\r\n");
    QCOMPARE(r.status, 200);
    QByteArray csp = r.header("content-security-policy");
    QVERIFY2(csp.contains("ws://chat.example.org:8080 wss://chat.example.org:8080"),
             csp.constData());

    // ... never with anything that could add a directive or a source: such a Host is not a
    // valid one (RFC 9112 3.2: 400).
    r = get("GET / HTTP/1.1\r\nHost: evil.example; script-src * 'unsafe-inline'\r\n\r\n");
    QCOMPARE(r.status, 400);
    QVERIFY(r.header("content-security-policy").isEmpty());

    // HTTP/1.0 without Host: our own address.
    r = get("GET / HTTP/1.0\r\n\r\n");
    QCOMPARE(r.status, 200);
    csp = r.header("content-security-policy");
    QVERIFY2(csp.contains("ws://" + host()) && csp.contains("wss://" + host()), csp.constData());
}

void TestHttp::staticAssets_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<QByteArray>("contentType");
    QTest::newRow("app.js") << QByteArray("/static/app.js")
                            << QByteArray("resources/web/static/app.js")
                            << QByteArray("text/javascript; charset=utf-8");
    QTest::newRow("style.css") << QByteArray("/static/style.css")
                               << QByteArray("resources/web/static/style.css")
                               << QByteArray("text/css; charset=utf-8");
    QTest::newRow("favicon.svg") << QByteArray("/static/favicon.svg")
                                 << QByteArray("resources/web/static/favicon.svg")
                                 << QByteArray("image/svg+xml");
    QTest::newRow("with a query") << QByteArray("/static/style.css?v=123")
                                  << QByteArray("resources/web/static/style.css")
                                  << QByteArray("text/css; charset=utf-8");
}

void TestHttp::staticAssets()
{
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, file);
    QFETCH(QByteArray, contentType);
    const QByteArray expected = sourceFile(file.constData());
    QVERIFY(!expected.isEmpty());
    const HttpReply r = getPath(path);
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("content-type"), contentType);
    QCOMPARE(r.header("x-content-type-options"), QByteArray("nosniff"));
    QCOMPARE(r.header("referrer-policy"), QByteArray("no-referrer"));
    QCOMPARE(r.header("content-length").toLongLong(), qint64(expected.size()));
    QCOMPARE(r.body, expected);
}

void TestHttp::headRequest()
{
    const qint64 size = sourceFile("resources/web/index.html").size();
    RawHttpClient client(m_port);
    QVERIFY(client.waitConnected());
    client.write("HEAD / HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
    QVERIFY(client.waitClosed());
    const HttpReply r = client.reply();
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("content-type"), QByteArray("text/html; charset=utf-8"));
    QCOMPARE(r.header("content-length").toLongLong(), size);
    QVERIFY(!r.header("content-security-policy").isEmpty());
    QCOMPARE(r.header("x-content-type-options"), QByteArray("nosniff"));
    QVERIFY2(r.body.isEmpty(), r.body.left(200).constData());

    const HttpReply missing = getPath("/static/nope.js", "HEAD");
    QCOMPARE(missing.status, 404);
    QVERIFY(missing.body.isEmpty());
}

void TestHttp::notFound_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::newRow("dot-dot") << QByteArray("/static/../index.html");
    QTest::newRow("encoded dot-dot") << QByteArray("/static/%2e%2e/x");
    QTest::newRow("encoded dot-dot to a source file")
        << QByteArray("/static/%2e%2e/%2e%2e/%2e%2e/server/main.cpp");
    QTest::newRow("dot-dot to /etc") << QByteArray("/static/../../../../../etc/passwd");
    QTest::newRow("etc passwd") << QByteArray("/etc/passwd");
    QTest::newRow("missing asset") << QByteArray("/static/nope.js");
    QTest::newRow("double slash") << QByteArray("//");
    QTest::newRow("double slash asset") << QByteArray("//static/app.js");
    QTest::newRow("static dir") << QByteArray("/static/");
    QTest::newRow("static no slash") << QByteArray("/static");
    QTest::newRow("trailing slash") << QByteArray("/static/app.js/");
    QTest::newRow("upper case") << QByteArray("/STATIC/app.js");
    QTest::newRow("dot segment") << QByteArray("/static/./app.js");
    QTest::newRow("encoded NUL") << QByteArray("/static/app.js%00");
    QTest::newRow("encoded slash") << QByteArray("/static%2fapp.js");
    QTest::newRow("backslash") << QByteArray("/static\\app.js");
    QTest::newRow("qt resource path") << QByteArray("/:/web/index.html");
    QTest::newRow("qrc url") << QByteArray("/qrc:/web/index.html");
    QTest::newRow("resource root") << QByteArray("/web/index.html");
    QTest::newRow("long path") << ("/static/" + QByteArray(4000, 'a') + ".js");
    QTest::newRow("long dot-dot chain") << ("/static/" + QByteArray("../").repeated(1000) + "x");
}

void TestHttp::notFound()
{
    QFETCH(QByteArray, path);
    const HttpReply r = getPath(path);
    QCOMPARE(r.status, 404);
    QCOMPARE(r.header("x-content-type-options"), QByteArray("nosniff"));
    QVERIFY2(r.body.size() < 100, r.body.left(200).constData()); // a short text, never a file
    QVERIFY(!r.body.contains("root:"));
    QVERIFY(!r.body.contains("<html"));
}

void TestHttp::methodNotAllowed_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::newRow("POST /") << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                          "Content-Type: text/plain\r\n\r\nhello");
    QTest::newRow("DELETE /x") << QByteArray("DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n");
    QTest::newRow("PUT /static/app.js")
        << QByteArray("PUT /static/app.js HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    QTest::newRow("OPTIONS /") << QByteArray("OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n");
    QTest::newRow("TRACE /") << QByteArray("TRACE / HTTP/1.1\r\nHost: x\r\n\r\n");
    QTest::newRow("CONNECT-like") << QByteArray("CONNECT /a HTTP/1.1\r\nHost: x\r\n\r\n");
    QTest::newRow("lower-case get") << QByteArray("get / HTTP/1.1\r\nHost: x\r\n\r\n");
}

void TestHttp::methodNotAllowed()
{
    QFETCH(QByteArray, request);
    const HttpReply r = get(request);
    QCOMPARE(r.status, 405);
    QVERIFY2(!r.header("allow").isEmpty(), r.raw.constData());
    QVERIFY(r.header("allow").contains("GET"));
    QVERIFY(!r.body.contains("<html"));
    QVERIFY(serverStillAnswers());
}

void TestHttp::onlyOneRequestPerConnection()
{
    // Connection: close on every answer; a pipelined second request is not answered.
    const HttpReply r = get("GET /healthz HTTP/1.1\r\nHost: " + host() +
                            "\r\n\r\n"
                            "GET /metrics HTTP/1.1\r\nHost: " +
                            host() + "\r\n\r\n");
    QCOMPARE(r.status, 200);
    QCOMPARE(r.header("connection"), QByteArray("close"));
    QCOMPARE(r.raw.count("HTTP/1.1 "), 1);
}

// ---- health and metrics -------------------------------------------------------------------------

void TestHttp::healthz()
{
    const HttpReply r = getPath("/healthz");
    QCOMPARE(r.status, 200);
    QVERIFY2(r.header("content-type").startsWith("application/json"),
             r.header("content-type").constData());
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(r.body, &error);
    QVERIFY2(error.error == QJsonParseError::NoError, r.body.constData());
    QVERIFY(doc.isObject());
    QCOMPARE(doc.object().value(QLatin1String("status")).toString(), QStringLiteral("ok"));

    const HttpReply withQuery = getPath("/healthz?probe=1");
    QCOMPARE(withQuery.status, 200);
    const HttpReply head = getPath("/healthz", "HEAD");
    QCOMPARE(head.status, 200);
    QVERIFY(head.body.isEmpty());
}

void TestHttp::metricsFormat()
{
    const HttpReply r = getPath("/metrics");
    QCOMPARE(r.status, 200);
    QVERIFY2(r.header("content-type").startsWith("text/plain"),
             r.header("content-type").constData());
    const QByteArray page = r.body;
    QVERIFY(page.endsWith('\n'));

    const QList<QByteArray> types = {
        "# TYPE anonchat_connections gauge",        "# TYPE anonchat_queued_users gauge",
        "# TYPE anonchat_active_rooms gauge",       "# TYPE anonchat_messages_stored_total counter",
        "# TYPE anonchat_commit_seconds histogram", "# TYPE anonchat_errors_total counter",
    };
    for (const QByteArray &type : types)
        QVERIFY2(page.contains(type + '\n'), type.constData());
    for (const char *name : {"anonchat_connections", "anonchat_queued_users",
                             "anonchat_active_rooms", "anonchat_messages_stored_total",
                             "anonchat_commit_seconds_sum", "anonchat_commit_seconds_count"})
        QVERIFY2(sample(page, name) >= 0 || page.contains(QByteArray(name) + ' '), name);
    QVERIFY(page.contains("anonchat_commit_seconds_bucket{le=\"+Inf\"} "));
    QVERIFY(page.contains("anonchat_commit_seconds_bucket{le=\"0.001\"} "));
    for (int i = 0; i < protocol::kErrorCodeCount; ++i) {
        const QByteArray line =
            "anonchat_errors_total{code=\"" +
            protocol::errorCodeName(static_cast<protocol::ErrorCode>(i)).toLatin1() + "\"} ";
        QVERIFY2(page.contains('\n' + line), line.constData());
    }

    // Every line is a comment or a well-formed sample; buckets are cumulative and end at _count.
    static const QRegularExpression sampleLine(
        QStringLiteral(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_]+="[^"\\\n]*"\})? )"
                       R"((-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[+-]Inf)$)"));
    qint64 previousBucket = -1;
    for (const QByteArray &line : page.split('\n')) {
        if (line.isEmpty() || line.startsWith("# HELP ") || line.startsWith("# TYPE "))
            continue;
        QVERIFY2(sampleLine.match(QString::fromLatin1(line)).hasMatch(), line.constData());
        if (line.startsWith("anonchat_commit_seconds_bucket")) {
            const qint64 count = line.mid(line.lastIndexOf(' ') + 1).toLongLong();
            QVERIFY2(count >= previousBucket, line.constData());
            previousBucket = count;
        }
    }
    QCOMPARE(previousBucket, sample(page, "anonchat_commit_seconds_count"));
}

void TestHttp::metricsGauges()
{
    // Raw upgrades of other tests have gone away by now.
    QTRY_COMPARE_WITH_TIMEOUT(m_server->connectionCount(), 0, kWaitMs);
    const QByteArray before = getPath("/metrics").body;
    QCOMPARE(sample(before, "anonchat_connections"), qint64(0));
    const qint64 roomsBefore = sample(before, "anonchat_active_rooms");
    const QByteArray badJsonLine = "anonchat_errors_total{code=\"bad_json\"} ";
    auto errorCount = [&badJsonLine](const QByteArray &page) {
        const qsizetype at = page.indexOf(badJsonLine);
        return at < 0 ? qint64(-1)
                      : page.mid(at + badJsonLine.size(),
                                 page.indexOf('\n', at) - at - badJsonLine.size())
                            .toLongLong();
    };
    const qint64 badJsonBefore = errorCount(before);
    QVERIFY(badJsonBefore >= 0);

    const QUrl url(QStringLiteral("ws://127.0.0.1:%1/ws").arg(m_port));
    QWebSocket a;
    QWebSocket b;
    QList<QString> framesA;
    QList<QString> framesB;
    connect(&a, &QWebSocket::textMessageReceived, this,
            [&framesA](const QString &t) { framesA << t; });
    connect(&b, &QWebSocket::textMessageReceived, this,
            [&framesB](const QString &t) { framesB << t; });
    a.open(url);
    QTRY_COMPARE_WITH_TIMEOUT(framesA.size(), 1, kWaitMs); // welcome
    QCOMPARE(sample(getPath("/metrics").body, "anonchat_connections"), qint64(1));
    b.open(url);
    QTRY_COMPARE_WITH_TIMEOUT(framesB.size(), 1, kWaitMs);
    QCOMPARE(sample(getPath("/metrics").body, "anonchat_connections"), qint64(2));

    a.sendTextMessage(protocol::encodeText(protocol::JoinQueue{}));
    QTRY_COMPARE_WITH_TIMEOUT(framesA.size(), 2, kWaitMs); // waiting
    QByteArray page = getPath("/metrics").body;
    QCOMPARE(sample(page, "anonchat_queued_users"), qint64(1));
    QCOMPARE(sample(page, "anonchat_active_rooms"), roomsBefore);

    b.sendTextMessage(protocol::encodeText(protocol::JoinQueue{}));
    QTRY_COMPARE_WITH_TIMEOUT(framesB.size(), 2, kWaitMs); // matched
    page = getPath("/metrics").body;
    QCOMPARE(sample(page, "anonchat_queued_users"), qint64(0));
    QCOMPARE(sample(page, "anonchat_active_rooms"), roomsBefore + 1);

    // An error frame is counted by its code.
    a.sendTextMessage(QStringLiteral("{not json"));
    QTRY_COMPARE_WITH_TIMEOUT(errorCount(getPath("/metrics").body), badJsonBefore + 1, kWaitMs);

    a.close();
    b.close();
    QTRY_COMPARE_WITH_TIMEOUT(sample(getPath("/metrics").body, "anonchat_connections"), qint64(0),
                              kWaitMs);
}

// ---- hostile and broken clients ----------------------------------------------------------------

void TestHttp::garbage_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("text then blank line") << QByteArray("hello\r\n\r\n");
    QTest::newRow("NULs then blank line") << (QByteArray(16, '\0') + "\r\n\r\n");
    QTest::newRow("random head") << (randomBytes(4096).replace("\r\n\r\n", "xxxx") + "\r\n\r\n");
    QTest::newRow("binary blob 64 KiB") << randomBytes(64 * 1024);
    QTest::newRow("TLS client hello")
        << QByteArray::fromHex("16030100a5010000a103035c1a3b2f0000000000000000000000000000");
    QTest::newRow("request line without CRLF") << QByteArray("GET / HTTP/1.1");
    QTest::newRow("LF only") << QByteArray("GET / HTTP/1.1\nHost: x\n\n");
    QTest::newRow("bare LF then CRLF") << QByteArray("GET / HTTP/1.1\nHost: x\r\n\r\n");
    QTest::newRow("HTTP/2 preface") << QByteArray("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    QTest::newRow("space in path") << QByteArray("GET /a b HTTP/1.1\r\n\r\n");
    QTest::newRow("many headers without colon")
        << ("GET / HTTP/1.1\r\n" + QByteArray("nocolon\r\n").repeated(500) + "\r\n");
    QTest::newRow("only CRLFs") << QByteArray("\r\n").repeated(100);
}

void TestHttp::garbage()
{
    QFETCH(QByteArray, bytes);
    RawHttpClient client(m_port);
    QVERIFY(client.waitConnected());
    client.write(bytes);
    QVERIFY2(client.waitClosed(kRequestTimeoutMs + kWaitMs), "the server never closed");
    const HttpReply r = client.reply();
    // A 400 (or 431 when over the limit), or just closed: never anything else.
    QVERIFY2(r.status == 0 || r.status == 400 || r.status == 431, r.raw.left(200).constData());
    if (r.status == 0)
        QVERIFY2(r.raw.isEmpty(), r.raw.left(200).constData());
    QVERIFY(serverStillAnswers());
}

void TestHttp::headersJustUnderLimit()
{
    QByteArray request = "GET /healthz HTTP/1.1\r\nHost: " + host() + "\r\nX-Pad: ";
    request += QByteArray(8 * 1024 - request.size() - 6, 'p') + "\r\n\r\n";
    QVERIFY(request.size() <= 8 * 1024);
    const HttpReply r = get(request);
    QCOMPARE(r.status, 200);
}

void TestHttp::headersOverLimit()
{
    for (const int size : {8 * 1024 + 100, 9 * 1024, 64 * 1024}) {
        RawHttpClient client(m_port);
        QVERIFY(client.waitConnected());
        client.write("GET / HTTP/1.1\r\nHost: " + host() + "\r\nX-Big: " + QByteArray(size, 'b') +
                     "\r\n\r\n");
        QVERIFY(client.waitClosed());
        const HttpReply r = client.reply();
        // Refused with 431 as soon as the limit is passed (the request timeout would drop it
        // without an answer). A very large head may be cut off by a reset before the answer is
        // read; closed is what matters then.
        QVERIFY2(r.status == 431 || (size > 9 * 1024 && r.raw.isEmpty()),
                 r.raw.left(200).constData());
        if (size <= 9 * 1024)
            QCOMPARE(r.status, 431);
    }
    // Many small headers add up the same way.
    const HttpReply r =
        get("GET / HTTP/1.1\r\n" + QByteArray("X-Many: 0123456789\r\n").repeated(600) + "\r\n");
    QVERIFY2(r.status == 431 || r.raw.isEmpty(), r.raw.left(200).constData());
    QVERIFY(serverStillAnswers());
}

void TestHttp::absurdlyLongPath()
{
    // Within the head limit: 404; beyond it: 431. Never anything else, never a crash.
    HttpReply r = getPath("/" + QByteArray(7000, 'x'));
    QCOMPARE(r.status, 404);
    r = getPath("/static/" + QByteArray(100 * 1024, 'x'));
    QVERIFY2(r.status == 431 || r.raw.isEmpty(), r.raw.left(200).constData());
    QVERIFY(serverStillAnswers());
}

void TestHttp::idleClientDropped()
{
    RawHttpClient client(m_port);
    QVERIFY(client.waitConnected());
    QElapsedTimer timer;
    timer.start();
    QVERIFY(client.waitClosed(kRequestTimeoutMs + kWaitMs));
    const qint64 elapsed = timer.elapsed();
    qInfo() << "idle connection dropped after" << elapsed << "ms";
    QVERIFY2(elapsed >= kRequestTimeoutMs - 100, QByteArray::number(elapsed));
    QVERIFY(client.received().isEmpty() || client.reply().status == 408);
}

void TestHttp::halfRequestDropped()
{
    RawHttpClient client(m_port);
    QVERIFY(client.waitConnected());
    client.write("GET / HTTP/1.1\r\nHost: " + host() + "\r\nUser-Agent: half");
    QElapsedTimer timer;
    timer.start();
    QVERIFY(client.waitClosed(kRequestTimeoutMs + kWaitMs));
    const qint64 elapsed = timer.elapsed();
    QVERIFY2(elapsed >= kRequestTimeoutMs - 100, QByteArray::number(elapsed));
    QVERIFY(client.received().isEmpty() || client.reply().status == 408);
    QVERIFY(serverStillAnswers());
}

void TestHttp::drippingClientDropped()
{
    // One byte every 50 ms: data keeps arriving, but the head is not done within the limit.
    const QByteArray request = "GET /healthz HTTP/1.1\r\nHost: " + host() + "\r\n\r\n";
    RawHttpClient client(m_port);
    QVERIFY(client.waitConnected());
    QElapsedTimer timer;
    timer.start();
    for (qsizetype i = 0; i < request.size() - 1 && !client.isClosed(); ++i) {
        client.write(request.mid(i, 1));
        QTest::qWait(50);
    }
    QVERIFY2(client.isClosed(), "a dripping client outlived the request timeout");
    QVERIFY2(timer.elapsed() < kRequestTimeoutMs + 1000, QByteArray::number(timer.elapsed()));
}

// ---- the WebSocket endpoint
// -----------------------------------------------------------------------

void TestHttp::webSocketWithoutUpgrade()
{
    const HttpReply r = get("GET /ws HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
    QCOMPARE(r.status, 426);
    QCOMPARE(r.header("upgrade").toLower(), QByteArray("websocket"));
}

void TestHttp::webSocketWrongMethod()
{
    const HttpReply r = get("POST /ws HTTP/1.1\r\nHost: " + host() +
                            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    QCOMPARE(r.status, 405);
    QVERIFY(r.header("allow").contains("GET"));
}

void TestHttp::webSocketOrigin_data()
{
    QTest::addColumn<QByteArray>("originHeader");
    QTest::addColumn<int>("status");
    const QByteArray own = "http://127.0.0.1:" + QByteArray::number(m_port);
    QTest::newRow("no Origin (native client)") << QByteArray() << 101;
    QTest::newRow("own origin") << ("Origin: " + own + "\r\n") << 101;
    QTest::newRow("own origin, Firefox's Connection header")
        << ("Origin: " + own + "\r\nConnection: keep-alive, Upgrade\r\n") << 101;
    QTest::newRow("own origin, upper case") << ("Origin: " + own.toUpper() + "\r\n") << 101;
    QTest::newRow("allowed origin") << QByteArray("Origin: https://chat.example.org\r\n") << 101;
    QTest::newRow("foreign origin") << QByteArray("Origin: http://evil.example\r\n") << 403;
    QTest::newRow("foreign origin, same port")
        << ("Origin: http://evil.example:" + QByteArray::number(m_port) + "\r\n") << 403;
    QTest::newRow("own host as a prefix") << ("Origin: " + own + ".evil.example\r\n") << 403;
    QTest::newRow("own host other port") << QByteArray("Origin: http://127.0.0.1:1\r\n") << 403;
    QTest::newRow("allowed origin other scheme")
        << QByteArray("Origin: http://chat.example.org\r\n") << 403;
    QTest::newRow("null origin") << QByteArray("Origin: null\r\n") << 403;
}

void TestHttp::webSocketOrigin()
{
    QFETCH(QByteArray, originHeader);
    QFETCH(int, status);
    RawHttpClient client(m_port);
    QVERIFY(client.waitConnected());
    QByteArray request = upgradeRequest(originHeader);
    if (originHeader.contains("Connection:"))
        request.replace("Connection: Upgrade\r\n", ""); // the row brings its own
    client.write(request);
    QVERIFY(client.waitForHead());
    const HttpReply r = client.reply();
    QCOMPARE(r.status, status);
    if (status == 101) {
        // RFC 6455's own example key and answer.
        QCOMPARE(r.header("sec-websocket-accept"), QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        // Then the server speaks first: a text frame (welcome).
        QVERIFY(QTest::qWaitFor([&client] { return client.reply().body.size() >= 2; }, kWaitMs));
        QCOMPARE(quint8(client.reply().body.at(0)), quint8(0x81));
    } else {
        QVERIFY(client.waitClosed());
    }
    client.socket().abort();
}

void TestHttp::webSocketBadHandshake()
{
    // Upgrade asked for, but not a valid RFC 6455 handshake (4.2.1): refused, not crashed. Another
    // version is told which one we speak (426 + Sec-WebSocket-Version: 13, 4.4); a missing or
    // malformed key, no `upgrade` token in Connection, or HTTP/1.0, is a bad request; an Upgrade
    // other than `websocket` is not this endpoint's.
    const QByteArray start = "GET /ws HTTP/1.1\r\nHost: " + host() + "\r\nUpgrade: websocket\r\n";
    const QByteArray key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    const struct {
        QByteArray request;
        int status;
    } cases[] = {
        {start + "Connection: Upgrade\r\n\r\n", 426},
        {start + "Connection: Upgrade\r\n" + key + "Sec-WebSocket-Version: 7\r\n\r\n", 426},
        {start + "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
        {start + "Connection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n",
         400},
        {start + "Connection: keep-alive\r\n" + key + "Sec-WebSocket-Version: 13\r\n\r\n", 400},
        // What Qt's QWebSocketServer, which reads the request after us, would refuse silently:
        {"GET /ws HTTP/1.0\r\nHost: " + host() + "\r\nUpgrade: websocket\r\n" +
             "Connection: Upgrade\r\n" + key + "Sec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET /ws HTTP/1.1\r\nHost: " + host() + "\r\nUpgrade: websocket, h2c\r\n" +
             "Connection: Upgrade\r\n" + key + "Sec-WebSocket-Version: 13\r\n\r\n",
         426},
    };
    for (const auto &c : cases) {
        RawHttpClient client(m_port);
        QVERIFY(client.waitConnected());
        client.write(c.request);
        QVERIFY(client.waitClosed(kRequestTimeoutMs + kWaitMs));
        QCOMPARE(client.reply().status, c.status);
        if (c.request.contains("Sec-WebSocket-Version: 7")) // told the version we speak
            QCOMPARE(client.reply().header("sec-websocket-version"), QByteArray("13"));
    }
    // The same with everything right is accepted, with the key's answer.
    RawHttpClient client(m_port);
    QVERIFY(client.waitConnected());
    client.write(start + "Connection: keep-alive, Upgrade\r\n" + key +
                 "Sec-WebSocket-Version: 13\r\n\r\n");
    QTRY_VERIFY(client.received().contains("\r\n\r\n"));
    QVERIFY2(client.received().startsWith("HTTP/1.1 101 "),
             client.received().left(200).constData());
    QVERIFY(client.received().contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    client.socket().abort();
    QVERIFY(serverStillAnswers());
}

// ---- hostile clients (issue 11) -----------------------------------------------------------------

std::unique_ptr<ChatServer> TestHttp::extraServer(const std::function<void(ServerConfig &)> &tweak)
{
    static int instance = 0;
    ++instance;
    ServerConfig config = anonchat::test::testServerConfig(
        m_dir->filePath(QStringLiteral("extra-%1.db").arg(instance)),
        QStringLiteral("tst_http_extra_%1_").arg(instance) +
            QUuid::createUuid().toString(QUuid::Id128));
    config.rateLimit = 0;
    tweak(config);
    std::unique_ptr<ChatServer> server;
    if (!anonchat::test::startChatServer(server, config))
        return nullptr;
    return server;
}

void TestHttp::repeatedHost_data()
{
    QTest::addColumn<QByteArray>("request");
    const QByteArray own = host();
    QTest::newRow("/healthz, the same Host twice")
        << ("GET /healthz HTTP/1.1\r\nHost: " + own + "\r\nHost: " + own + "\r\n\r\n");
    QTest::newRow("/, ours then a foreign one")
        << ("GET / HTTP/1.1\r\nHost: " + own + "\r\nHost: evil.example\r\n\r\n");
    QTest::newRow("/metrics, other case")
        << ("GET /metrics HTTP/1.1\r\nHOST: " + own + "\r\nhost: " + own + "\r\n\r\n");
    QTest::newRow("/ws, a foreign one after ours, its Origin")
        << upgradeRequest("Host: rebind.example\r\nOrigin: http://rebind.example\r\n");
}

// RFC 9112 3.2: a request with more than one Host is answered 400 (it was: the first one won).
void TestHttp::repeatedHost()
{
    QFETCH(QByteArray, request);
    const HttpReply r = get(request);
    QCOMPARE(r.status, 400);
    QVERIFY2(!r.raw.contains("\"welcome\""), r.raw.constData());
}

void TestHttp::hostGuard_data()
{
    QTest::addColumn<QString>("listen");
    QTest::addColumn<QString>("allowedOrigin");
    QTest::addColumn<QByteArray>("host");
    QTest::addColumn<bool>("allowed");
    const QString v4 = QStringLiteral("127.0.0.1");
    QTest::newRow("own address") << v4 << QString() << QByteArray("127.0.0.1:5000") << true;
    QTest::newRow("no port") << v4 << QString() << QByteArray("127.0.0.1") << true;
    QTest::newRow("localhost") << v4 << QString() << QByteArray("localhost:5000") << true;
    QTest::newRow("LocalHost") << v4 << QString() << QByteArray("LocalHost") << true;
    QTest::newRow("localhost.") << v4 << QString() << QByteArray("localhost.:5000") << true;
    QTest::newRow("other 127/8") << v4 << QString() << QByteArray("127.8.9.10:1") << true;
    QTest::newRow("[::1]") << v4 << QString() << QByteArray("[::1]:5000") << true;
    QTest::newRow("[::1] no port") << v4 << QString() << QByteArray("[::1]") << true;
    QTest::newRow("no Host (HTTP/1.0)") << v4 << QString() << QByteArray() << true;
    QTest::newRow("rebound name") << v4 << QString() << QByteArray("rebind.example:5000") << false;
    QTest::newRow("loopback-looking name")
        << v4 << QString() << QByteArray("127.0.0.1.rebind.example") << false;
    QTest::newRow("localhost subdomain of a foreign name")
        << v4 << QString() << QByteArray("localhost.rebind.example") << false;
    QTest::newRow("[::2]") << v4 << QString() << QByteArray("[::2]:5000") << false;
    QTest::newRow("0.0.0.0") << v4 << QString() << QByteArray("0.0.0.0:5000") << false;
    QTest::newRow("LAN address") << v4 << QString() << QByteArray("192.168.1.10:5000") << false;
    QTest::newRow("IPv6 without brackets") << v4 << QString() << QByteArray("::1") << false;
    QTest::newRow("unclosed bracket") << v4 << QString() << QByteArray("[::1") << false;
    QTest::newRow("bad port") << v4 << QString() << QByteArray("localhost:50x") << false;
    const QString allowed = QStringLiteral("https://chat.example.org");
    QTest::newRow("allowed origin's host")
        << v4 << allowed << QByteArray("chat.example.org") << true;
    QTest::newRow("allowed origin's host, a port")
        << v4 << allowed << QByteArray("chat.example.org:443") << true;
    QTest::newRow("allowed origin's host, upper case")
        << v4 << allowed << QByteArray("CHAT.Example.org") << true;
    QTest::newRow("allowed origin's subdomain")
        << v4 << allowed << QByteArray("evil.chat.example.org") << false;
    QTest::newRow("allowed IPv6 origin") << v4 << QStringLiteral("http://[2001:db8::1]:8080")
                                         << QByteArray("[2001:db8::1]:8080") << true;
    QTest::newRow("listening on ::1, rebound")
        << QStringLiteral("::1") << QString() << QByteArray("rebind.example") << false;
    QTest::newRow("listening on ::1, [::1]")
        << QStringLiteral("::1") << QString() << QByteArray("[::1]:1") << true;
    QTest::newRow("listening on ::ffff:127.0.0.1, rebound")
        << QStringLiteral("::ffff:127.0.0.1") << QString() << QByteArray("rebind.example") << false;
    QTest::newRow("listening on 127.0.0.2, rebound")
        << QStringLiteral("127.0.0.2") << QString() << QByteArray("rebind.example") << false;
    // Not loopback only: reachable under names we cannot know, so every Host goes.
    QTest::newRow("listening on 0.0.0.0")
        << QStringLiteral("0.0.0.0") << QString() << QByteArray("rebind.example:5000") << true;
    QTest::newRow("listening on ::")
        << QStringLiteral("::") << QString() << QByteArray("rebind.example") << true;
    QTest::newRow("listening on a LAN address")
        << QStringLiteral("192.0.2.1") << QString() << QByteArray("chat.example.net") << true;
}

void TestHttp::hostGuard()
{
    QFETCH(QString, listen);
    QFETCH(QString, allowedOrigin);
    QFETCH(QByteArray, host);
    QFETCH(bool, allowed);
    const QStringList origins =
        allowedOrigin.isEmpty() ? QStringList() : QStringList{allowedOrigin};
    const HostGuard guard(QHostAddress(listen), origins);
    QCOMPARE(guard.allows(host), allowed);
}

void TestHttp::dnsRebinding_data()
{
    QTest::addColumn<QByteArray>("hostHeader");
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<int>("status");
    const QByteArray port = QByteArray::number(m_port);
    const QByteArray rebound = "rebind.example:" + port;
    for (const char *path : {"/", "/static/app.js", "/healthz", "/metrics", "/ws"})
        QTest::addRow("rebind.example %s", path) << rebound << QByteArray(path) << 403;
    QTest::newRow("127.0.0.1.rebind.example /ws")
        << ("127.0.0.1.rebind.example:" + port) << QByteArray("/ws") << 403;
    QTest::newRow("localhost /healthz") << ("localhost:" + port) << QByteArray("/healthz") << 200;
    QTest::newRow("localhost /ws") << ("localhost:" + port) << QByteArray("/ws") << 101;
    QTest::newRow("[::1] /healthz") << ("[::1]:" + port) << QByteArray("/healthz") << 200;
    QTest::newRow("127.0.0.2 /") << ("127.0.0.2:" + port) << QByteArray("/") << 200;
    // The host of an --allowed-origin (https://chat.example.org): a reverse proxy's public name.
    QTest::newRow("allowed origin's host /")
        << QByteArray("chat.example.org") << QByteArray("/") << 200;
}

// The server listens on 127.0.0.1 only: a page of rebind.example whose name was made to resolve
// to 127.0.0.1 sends `Host: rebind.example:P` (and, for /ws, the matching Origin, which passed the
// Origin check: 101 and `welcome`). Every route now answers it 403.
void TestHttp::dnsRebinding()
{
    QFETCH(QByteArray, hostHeader);
    QFETCH(QByteArray, path);
    QFETCH(int, status);
    const QByteArray request =
        path == "/ws" ? upgradeRequestFor(hostHeader, "Origin: http://" + hostHeader + "\r\n")
                      : "GET " + path + " HTTP/1.1\r\nHost: " + hostHeader + "\r\n\r\n";
    RawHttpClient client(m_port);
    QVERIFY(client.waitConnected());
    client.write(request);
    QVERIFY(client.waitForHead());
    const HttpReply r = client.reply();
    QCOMPARE(r.status, status);
    if (status == 403) {
        QVERIFY(client.waitClosed());
        QVERIFY2(!client.received().contains("welcome"), client.received().constData());
    }
    client.socket().abort();
}

// A client refused over and over is logged once per interval per address, not once per refusal:
// refused Origins, refused Hosts.
void TestHttp::refusalsLoggedOncePerInterval()
{
    LogLines log;
    const QHostAddress first(QStringLiteral("127.0.0.30"));
    const QHostAddress second(QStringLiteral("127.0.0.31"));
    const QByteArray foreignOrigin = "Origin: http://evil.example\r\n";
    for (int i = 0; i < 5; ++i)
        QCOMPARE(exchange(m_port, first, upgradeRequest(foreignOrigin)).status, 403);
    QCOMPARE(log.matching(QStringLiteral("foreign origin")).size(), 1);
    for (int i = 0; i < 2; ++i)
        QCOMPARE(exchange(m_port, second, upgradeRequest(foreignOrigin)).status, 403);
    QCOMPARE(log.matching(QStringLiteral("foreign origin")).size(), 2);
    const QByteArray rebound = "GET / HTTP/1.1\r\nHost: rebind.example\r\n\r\n";
    for (int i = 0; i < 5; ++i)
        QCOMPARE(exchange(m_port, first, rebound).status, 403);
    QCOMPARE(log.matching(QStringLiteral("DNS rebinding")).size(), 1);

    // Once the interval is over, the next refusal is logged again, with the count of the others.
    auto server = extraServer([](ServerConfig &c) { c.refusalLogIntervalMs = 400; });
    QVERIFY(server);
    const quint16 port = server->port();
    const QByteArray request =
        upgradeRequestFor("127.0.0.1:" + QByteArray::number(port), foreignOrigin);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(exchange(port, first, request).status, 403);
    QCOMPARE(log.matching(QStringLiteral("foreign origin")).size(), 3);
    QTest::qWait(450);
    QCOMPARE(exchange(port, first, request).status, 403);
    const QStringList lines = log.matching(QStringLiteral("foreign origin"));
    QCOMPARE(lines.size(), 4);
    QVERIFY2(lines.last().contains(QLatin1String("2 more")), qPrintable(lines.last()));
}

void TestHttp::addressKeyIsSlash64()
{
    const auto key = [](const char *a) { return addressKey(QHostAddress(QLatin1String(a))); };
    QCOMPARE(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), key("2001:db8:1:2::1"));
    QCOMPARE(key("2001:db8:1:2::1"), QHostAddress(QStringLiteral("2001:db8:1:2::")));
    QVERIFY(key("2001:db8:1:2::1") != key("2001:db8:1:3::1"));
    QVERIFY(key("2001:db8:1:2::1") != key("2001:db9:1:2::1"));
    QCOMPARE(key("::1"), QHostAddress(QStringLiteral("::")));
    QCOMPARE(key("fe80::1%1"), key("fe80::2"));
    // IPv4, plain or mapped, is one address each.
    QCOMPARE(key("::ffff:192.0.2.1"), QHostAddress(QStringLiteral("192.0.2.1")));
    QCOMPARE(key("192.0.2.1"), QHostAddress(QStringLiteral("192.0.2.1")));
    QVERIFY(key("192.0.2.1") != key("192.0.2.2"));
}

void TestHttp::budgetCountsSlash64()
{
    const auto a = [](const char *s) { return QHostAddress(QLatin1String(s)); };
    ConnectionBudget budget(100, 2);
    QVERIFY(budget.admit(a("2001:db8:0:1::1")));
    QVERIFY(budget.admit(a("2001:db8:0:1:ffff:ffff:ffff:fffe")));
    QVERIFY(!budget.admit(a("2001:db8:0:1::3"))); // the same /64: full
    QVERIFY(budget.admit(a("2001:db8:0:2::1")));  // another /64
    budget.release(a("2001:db8:0:1::77"));        // any address of the /64 gives its place back
    QVERIFY(budget.admit(a("2001:db8:0:1::3")));
    QVERIFY(budget.admit(a("::ffff:192.0.2.1")));
    QVERIFY(budget.admit(a("192.0.2.1")));
    QVERIFY(!budget.admit(a("192.0.2.1")));
    QVERIFY(budget.admit(a("192.0.2.2")));

    using Verdict = ConnectionBudget::Verdict;
    QCOMPARE(budget.admitPending(a("2001:db8:0:1::1")), Verdict::Admitted);
    QCOMPARE(budget.admitPending(a("2001:db8:0:1::2")), Verdict::Admitted);
    QCOMPARE(budget.admitPending(a("2001:db8:0:1::3")), Verdict::AddressFull);
    QCOMPARE(budget.admitPending(a("2001:db8:0:3::1")), Verdict::Admitted);
    QCOMPARE(budget.pendingCount(), 3);
    QCOMPARE(budget.addAway(a("2001:db8:0:1::1")), 1);
    QCOMPARE(budget.addAway(a("2001:db8:0:1::2")), 2);
    QCOMPARE(budget.addAway(a("2001:db8:0:4::2")), 1);

    ConnectionBudget sockets(100, 0, 3); // 3 sockets open at most, WebSockets included
    QVERIFY(sockets.admit(a("192.0.2.1")));
    QCOMPARE(sockets.admitPending(a("192.0.2.1")), Verdict::Admitted);
    QCOMPARE(sockets.admitPending(a("192.0.2.2")), Verdict::Admitted);
    QCOMPARE(sockets.admitPending(a("192.0.2.3")), Verdict::ProcessFull);
    sockets.releasePending(a("192.0.2.2"));
    QCOMPARE(sockets.admitPending(a("192.0.2.3")), Verdict::Admitted);
}

// --max-connections-per-address counts the connections still sending their request too: past it
// a new connection from that address is answered 503 and closed at once, before anything is read
// (it used to be held until the 10 s request timeout, and as many as the client liked). The
// WebSockets of an address are counted apart, so a page with its WebSocket open still loads.
void TestHttp::pendingConnectionsPerAddress()
{
    auto server = extraServer([](ServerConfig &c) {
        c.maxConnectionsPerAddress = 3;
        c.requestTimeoutMs = 5000;
    });
    QVERIFY(server);
    const quint16 port = server->port();
    const auto *listener = server->findChild<HttpListener *>();
    const QHostAddress a(QStringLiteral("127.0.0.40"));
    const QHostAddress b(QStringLiteral("127.0.0.41"));
    const QByteArray healthz =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port) + "\r\n\r\n";
    std::vector<std::unique_ptr<RawHttpClient>> idle;
    for (int i = 0; i < 3; ++i) {
        idle.push_back(std::make_unique<RawHttpClient>(port, a));
        QVERIFY(idle.back()->waitConnected());
    }
    QTRY_COMPARE_WITH_TIMEOUT(listener->pendingRequests(), 3, kWaitMs);

    RawHttpClient fourth(port, a);
    QElapsedTimer timer;
    timer.start();
    QVERIFY(fourth.waitConnected());
    QVERIFY(fourth.waitClosed(2000));
    qInfo() << "the 4th connection from one address was closed after" << timer.elapsed() << "ms";
    QVERIFY2(timer.elapsed() < 1000, QByteArray::number(timer.elapsed()));
    QCOMPARE(fourth.reply().status, 503);
    QCOMPARE(fourth.reply().header("retry-after"), QByteArray("5"));
    QCOMPARE(listener->pendingRequests(), 3);

    // A request sent at once is refused just the same, unread: never answered 200.
    const HttpReply refused = exchange(port, a, healthz);
    QVERIFY2(refused.status == 503 || refused.status == 0, refused.raw.constData());
    // Other addresses are served.
    QCOMPARE(exchange(port, b, healthz).status, 200);
    // One of the three goes: room for one more from `a`.
    idle.front()->socket().abort();
    idle.erase(idle.begin());
    QTRY_COMPARE_WITH_TIMEOUT(listener->pendingRequests(), 2, kWaitMs);
    QCOMPARE(exchange(port, a, healthz).status, 200);

    // Three WebSockets from `c` (its WebSocket limit) and still its page loads; a fourth
    // WebSocket is told server_busy, as before.
    const QHostAddress c(QStringLiteral("127.0.0.42"));
    const QByteArray upgrade = upgradeRequestFor("127.0.0.1:" + QByteArray::number(port), {});
    std::vector<std::unique_ptr<RawHttpClient>> sockets;
    for (int i = 0; i < 3; ++i) {
        sockets.push_back(std::make_unique<RawHttpClient>(port, c));
        QVERIFY(sockets.back()->waitConnected());
        sockets.back()->write(upgrade);
        QVERIFY(sockets.back()->waitForHead());
        QCOMPARE(sockets.back()->reply().status, 101);
    }
    QCOMPARE(exchange(port, c, healthz).status, 200);
    RawHttpClient over(port, c);
    QVERIFY(over.waitConnected());
    over.write(upgrade);
    QVERIFY(over.waitClosed());
    QCOMPARE(over.reply().status, 101);
    QVERIFY2(over.received().contains("server_busy"), over.received().constData());
}

// A browser loading the page opens several connections at once from one address, and its
// WebSocket: all well within the default limit (64).
void TestHttp::browserPageLoadWithinLimit()
{
    const QHostAddress from(QStringLiteral("127.0.0.43"));
    std::vector<std::unique_ptr<RawHttpClient>> clients;
    for (const char *path : {"/", "/static/app.js", "/static/style.css", "/static/favicon.svg",
                             "/favicon.ico", "/healthz"}) {
        auto client = std::make_unique<RawHttpClient>(m_port, from);
        RawHttpClient *raw = client.get();
        const QByteArray request =
            "GET " + QByteArray(path) + " HTTP/1.1\r\nHost: " + host() + "\r\n\r\n";
        connect(&raw->socket(), &QTcpSocket::connected, this,
                [raw, request] { raw->write(request); });
        clients.push_back(std::move(client));
    }
    RawHttpClient ws(m_port, from);
    QVERIFY(ws.waitConnected());
    ws.write(upgradeRequest("Origin: http://" + host() + "\r\n"));
    for (const auto &client : clients) {
        QVERIFY(client->waitClosed());
        QCOMPARE(client->reply().status, 200);
    }
    QVERIFY(ws.waitForHead());
    QCOMPARE(ws.reply().status, 101);
    ws.socket().abort();
}

// Over IPv6 loopback: the Host guard (the server listens on ::1 only) and the per-address limits,
// which count ::1 as its /64.
void TestHttp::ipv6Loopback()
{
    auto server = extraServer([](ServerConfig &c) {
        c.host = QHostAddress(QHostAddress::LocalHostIPv6);
        c.maxConnectionsPerAddress = 2;
        c.requestTimeoutMs = 5000;
    });
    if (!server)
        QSKIP("no IPv6 loopback here");
    const quint16 port = server->port();
    const QHostAddress v6(QHostAddress::LocalHostIPv6);
    const QByteArray own = "[::1]:" + QByteArray::number(port);
    const QByteArray healthz = "GET /healthz HTTP/1.1\r\nHost: " + own + "\r\n\r\n";
    QCOMPARE(exchange(port, {}, healthz, v6).status, 200);
    QCOMPARE(exchange(port, {}, "GET / HTTP/1.1\r\nHost: rebind.example\r\n\r\n", v6).status, 403);

    std::vector<std::unique_ptr<RawHttpClient>> idle;
    for (int i = 0; i < 2; ++i) {
        idle.push_back(std::make_unique<RawHttpClient>(port, QHostAddress(), v6));
        QVERIFY(idle.back()->waitConnected());
    }
    const auto *listener = server->findChild<HttpListener *>();
    QTRY_COMPARE_WITH_TIMEOUT(listener->pendingRequests(), 2, kWaitMs);
    RawHttpClient third(port, QHostAddress(), v6);
    QVERIFY(third.waitClosed(2000));
    QCOMPARE(third.reply().status, 503);
    idle.clear();
    QTRY_COMPARE_WITH_TIMEOUT(listener->pendingRequests(), 0, kWaitMs);

    const QByteArray upgrade = upgradeRequestFor(own, "Origin: http://" + own + "\r\n");
    std::vector<std::unique_ptr<RawHttpClient>> sockets;
    for (int i = 0; i < 3; ++i) {
        sockets.push_back(std::make_unique<RawHttpClient>(port, QHostAddress(), v6));
        QVERIFY(sockets.back()->waitConnected());
        sockets.back()->write(upgrade);
        QVERIFY(sockets.back()->waitForHead());
        QCOMPARE(sockets.back()->reply().status, 101);
    }
    QTRY_VERIFY_WITH_TIMEOUT(sockets[2]->received().contains("server_busy"), kWaitMs);
    QVERIFY(sockets[0]->received().contains("welcome"));
}

// accept() failing with EMFILE: Qt 6.4's QTcpServer takes it for a temporary error and calls
// accept() again at once, for as long as the descriptors are gone (a busy loop; nobody else gets
// in until some connection closes by itself). The listener accepts by itself: it drops its oldest
// unfinished connection to make room, or, with none, closes the waiting connections on its
// reserve descriptor (they hear a close at once) and tries again 100 ms later.
void TestHttp::acceptFailureDoesNotStopServing()
{
    LogLines log;
    RawHttpClient idle(m_port, QHostAddress(QStringLiteral("127.0.0.50")));
    QVERIFY(idle.waitConnected());
    QTRY_VERIFY_WITH_TIMEOUT(m_listener->pendingRequests() >= 1, kWaitMs);
    const QByteArray healthz = "GET /healthz HTTP/1.1\r\nHost: " + host() + "\r\n\r\n";
    {
        // The client's socket takes the last descriptor: the server's accept() fails.
        DescriptorsExhausted exhausted;
        QVERIFY(exhausted.ok());
        QElapsedTimer timer;
        timer.start();
        RawHttpClient client(m_port, QHostAddress(QStringLiteral("127.0.0.51")));
        connect(&client.socket(), &QTcpSocket::connected, this,
                [&client, healthz] { client.write(healthz); });
        QVERIFY(client.waitClosed());
        // Served at once, not when the idle connection's request timeout (500 ms) freed a
        // descriptor.
        QVERIFY2(timer.elapsed() < kRequestTimeoutMs / 2, QByteArray::number(timer.elapsed()));
        QVERIFY2(client.reply().status == 200, client.received().constData());
        QVERIFY(idle.waitClosed()); // dropped to make room
    }
    QCOMPARE(log.matching(QStringLiteral("cannot accept connections")).size(), 1);
    // With nothing to drop: the client is closed at once, not left waiting in the backlog.
    QTRY_COMPARE_WITH_TIMEOUT(m_listener->pendingRequests(), 0, kWaitMs);
    QTest::qWait(100); // answered connections are gone too
    {
        DescriptorsExhausted exhausted;
        QVERIFY(exhausted.ok());
        RawHttpClient client(m_port, QHostAddress(QStringLiteral("127.0.0.52")));
        QVERIFY(client.waitClosed(2000));
    }
    QTRY_VERIFY_WITH_TIMEOUT(serverStillAnswers(), kWaitMs);
}

void TestHttp::manyParallelConnections()
{
    constexpr int kClients = 300;
    std::vector<std::unique_ptr<RawHttpClient>> clients;
    clients.reserve(kClients);
    const QByteArray request = "GET /healthz HTTP/1.1\r\nHost: " + host() + "\r\n\r\n";
    for (int i = 0; i < kClients; ++i) {
        // From five addresses: at most 64 connections sending a request from one address
        // (--max-connections-per-address).
        auto client = std::make_unique<RawHttpClient>(
            m_port, QHostAddress(QStringLiteral("127.0.0.%1").arg(20 + i % 5)));
        RawHttpClient *raw = client.get();
        connect(&raw->socket(), &QTcpSocket::connected, this,
                [raw, request] { raw->write(request); });
        clients.push_back(std::move(client));
    }
    const bool allClosed = QTest::qWaitFor(
        [&clients] {
            return std::all_of(clients.begin(), clients.end(),
                               [](const auto &c) { return c->isClosed(); });
        },
        30000);
    int ok = 0;
    for (const auto &client : clients)
        ok += client->reply().status == 200 ? 1 : 0;
    QVERIFY(allClosed);
    QCOMPARE(ok, kClients);
}

void TestHttp::noPendingRequestsLeft()
{
    // Every connection of every test above has been answered, upgraded or dropped.
    QTRY_COMPARE_WITH_TIMEOUT(m_listener->pendingRequests(), 0, kWaitMs);
    QVERIFY(serverStillAnswers());
    QTRY_COMPARE_WITH_TIMEOUT(m_listener->pendingRequests(), 0, kWaitMs);
}

QTEST_GUILESS_MAIN(TestHttp)
#include "tst_http.moc"
