// The one-port HTTP front (server/net/httplistener.*, PROTOCOL.md "HTTP on the same port"): the
// request-head parser on its own, the page and its assets, health and metrics, and the WebSocket
// endpoint's handshake. Hostile and broken clients: tst_http_hostile.

#include "tests/server/web/httpsuite.h"

using namespace anonchat::test::http;

class TestHttp : public HttpSuite
{
    Q_OBJECT

private slots:
    void parseValidGet();
    void parseVariants();
    void parseInvalid_data();
    void parseInvalid();
    void serialiseCarriesSecurityHeaders();
    void indexPage();
    void contentSecurityPolicyHost();
    void staticAssets_data();
    void staticAssets();
    void everyStaticFileServed();
    void headRequest();
    void notFound_data();
    void notFound();
    void methodNotAllowed_data();
    void methodNotAllowed();
    void onlyOneRequestPerConnection();
    void healthz();
    void metricsFormat();
    void metricsGauges();
    void webSocketWithoutUpgrade();
    void webSocketWrongMethod();
    void webSocketOrigin_data();
    void webSocketOrigin();
    void webSocketBadHandshake();
    void noPendingRequestsLeft(); // last: after everything above
};

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
    // The page's entry module, the modules it imports and the proof-of-work worker.
    for (const char *script :
         {"app.js", "i18n.js", "state.js", "connection.js", "events.js", "queue.js", "screens.js",
          "messages.js", "outbox.js", "composer.js", "interests.js", "pow.js"}) {
        QTest::newRow(script) << QByteArray("/static/") + script
                              << QByteArray("resources/web/static/") + script
                              << QByteArray("text/javascript; charset=utf-8");
    }
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

// Every file under resources/web/static is embedded and routed (a module added to the page but
// not to server/CMakeLists.txt or the route table would 404 here), and every script the page
// names is one of them.
void TestHttp::everyStaticFileServed()
{
    const QDir dir(QStringLiteral(ANONCHAT_SOURCE_DIR "/resources/web/static"));
    const QStringList names = dir.entryList(QDir::Files);
    QVERIFY(names.contains(QStringLiteral("app.js")));
    for (const QString &name : names) {
        const QByteArray file = "resources/web/static/" + name.toUtf8();
        const HttpReply r = getPath("/static/" + name.toUtf8());
        QVERIFY2(r.status == 200, file.constData());
        QCOMPARE(r.body, sourceFile(file.constData()));
        if (name.endsWith(QLatin1String(".js")))
            QCOMPARE(r.header("content-type"), QByteArray("text/javascript; charset=utf-8"));
    }
    const QByteArray page = sourceFile("resources/web/index.html");
    const QRegularExpression script(QStringLiteral("\"/static/([^\"]+\\.js)\""));
    QStringList used;
    for (auto it = script.globalMatch(QString::fromUtf8(page)); it.hasNext();) {
        used.append(it.next().captured(1));
        QVERIFY2(names.contains(used.last()), qPrintable(used.last()));
    }
    for (const QString &name : names) {
        if (name.endsWith(QLatin1String(".js")) && name != QLatin1String("pow.js")) // the worker
            QVERIFY2(used.contains(name), qPrintable(name + QLatin1String(" not in index.html")));
    }
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

void TestHttp::noPendingRequestsLeft()
{
    // Every connection of every test above has been answered, upgraded or dropped.
    QTRY_COMPARE_WITH_TIMEOUT(m_listener->pendingRequests(), 0, kWaitMs);
    QVERIFY(serverStillAnswers());
    QTRY_COMPARE_WITH_TIMEOUT(m_listener->pendingRequests(), 0, kWaitMs);
}

QTEST_GUILESS_MAIN(TestHttp)
#include "tst_http.moc"
