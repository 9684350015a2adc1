// tst_server, bad input and limits: malformed frames, invalid UTF-8, unfinished frames, rate
// limits, frame size, `server_busy`, keep-alive pings and the Origin check.

#include "tests/server/chat/chatsuite.h"

using namespace anonchat::test::chat;

class TstServerLimits : public ChatSuite
{
    Q_OBJECT

private slots:
    void malformedFrames();
    void invalidUtf8();
    void unfinishedFrameCloses();
    void rateLimitBurst();
    void rateLimitFloodCloses();
    void rateLimitZero();
    void frameTooLarge();
    void serverBusy();
    void keepAlive();
    void origin();
};

void TstServerLimits::malformedFrames()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A"));
    OPEN(a);
    const struct {
        const char *frame;
        const char *code;
    } cases[] = {
        {"not json", "bad_json"},
        {"", "bad_json"},
        {"[1,2,3]", "bad_json"},
        {"\"a string\"", "bad_json"},
        {"null", "bad_json"},
        {"{\"event\":\"get_stats\"} trailing", "bad_json"},
        {"{\"data\":{}}", "unknown_event"},
        {"{}", "unknown_event"},
        {"{\"event\":42}", "unknown_event"},
        {"{\"event\":null}", "unknown_event"},
        {"{\"event\":\"fly_to_the_moon\"}", "unknown_event"},
        {"{\"event\":\"welcome\"}", "unknown_event"}, // a server event is not a client event
        {"{\"event\":\"get_stats\",\"data\":[1]}", "invalid_data"},
        {"{\"event\":\"get_stats\",\"data\":\"x\"}", "invalid_data"},
        {"{\"event\":\"join_queue\",\"data\":{\"interests\":\"music\"}}", "invalid_data"},
        {"{\"event\":\"join_queue\",\"data\":{\"interests\":[1]}}", "invalid_data"},
        {"{\"event\":\"join_queue\",\"data\":{\"interests\":[\"a\",\"b\",\"c\",\"d\",\"e\","
         "\"f\"]}}",
         "invalid_data"},
        {"{\"event\":\"join_queue\",\"data\":{\"interests\":[\"abcdefghijabcdefghijabcdefghijabc\"]"
         "}}",
         "invalid_data"},
        {"{\"event\":\"resume\",\"data\":{}}", "invalid_data"},
    };
    for (const auto &c : cases) {
        a.sendRaw(QString::fromUtf8(c.frame));
        QVERIFY2(
            a.takeError(QString::fromLatin1(c.code)),
            qPrintable(QStringLiteral("%1 -> %2").arg(QString::fromUtf8(c.frame), a.failure())));
        QVERIFY2(a.isConnected(), c.frame);
    }
    a.sendBinary(QByteArray("\x01\x02\x03", 3));
    TAKE_ERROR(a, "bad_frame", nullptr);
    a.sendBinary(QByteArray(R"({"event":"get_stats"})"));
    TAKE_ERROR(a, "bad_frame", nullptr);
    QVERIFY(a.isConnected());
    QUIET(a);

    // Still open and working; unknown keys are ignored, `data` may be left out.
    a.sendRaw(QStringLiteral(R"({"event":"get_stats","data":{"x":1},"future":[true]})"));
    TAKE_NEXT(a, "stats", nullptr);
    a.sendRaw(QStringLiteral(R"({"event":"get_stats"})"));
    TAKE_NEXT(a, "stats", nullptr);
    a.sendRaw(QStringLiteral(R"({"event":"join_queue","data":null})"));
    TAKE_NEXT(a, "waiting", nullptr);
    QVERIFY(a.isConnected());
    QUIET(a);
}

void TstServerLimits::invalidUtf8()
{
    // A text frame that is not UTF-8 breaks RFC 6455 (8.1), and the server's WebSocket layer fails
    // the connection with 1007 before the frame reaches the chat: PROTOCOL.md's `bad_json` covers
    // invalid JSON and non-objects; invalid UTF-8 gets close 1007 (noted in the issue). The
    // server must stay up and keep its state: the partner sees the user go away, others go on.
    QVERIFY(startServer());
    RawWebSocket raw;
    QVERIFY(raw.connectTo(port()));
    QCOMPARE(raw.upgrade(), 101);
    QVERIFY(raw.takeEvent(QStringLiteral("welcome")));
    raw.sendText(QByteArray("{\"event\":\"get_stats\",\"x\":\"\xff\xfe\"}"));
    const auto close = raw.take(wire::Close, kWait);
    QVERIFY2(close, "a close frame");
    QVERIFY(close->payload.size() >= 2);
    QCOMPARE(close->closeCode(), 1007);

    TestClient other(QStringLiteral("other"));
    OPEN(other);
    other.send(proto::GetStats{});
    TAKE_NEXT(other, "stats", nullptr);
}

void TstServerLimits::unfinishedFrameCloses()
{
    // PROTOCOL.md: a frame not completed within 10 s closes the connection with 1008 (a client
    // holding the server's buffer open). The deadline is the request timeout, short here. A
    // frame sent in pieces that completes in time is served.
    QVERIFY(startServer([](ServerConfig &c) { c.requestTimeoutMs = 800; }));
    RawWebSocket raw;
    QVERIFY(raw.connectTo(port()));
    QVERIFY(raw.upgrade() != 0);
    QVERIFY(raw.takeEvent(QStringLiteral("welcome")));
    const QByteArray stats = proto::encode(proto::ClientMessage(proto::GetStats{}));
    const QByteArray frame = wire::frame(wire::kFin | wire::Text, stats);
    raw.sendBytes(frame.left(7));
    QTest::qWait(400);
    raw.sendBytes(frame.mid(7));
    QVERIFY(raw.takeEvent(QStringLiteral("stats")));

    QElapsedTimer clock;
    clock.start();
    raw.sendBytes(frame.left(frame.size() - 1)); // the last byte never comes
    const auto close = raw.take(wire::Close, 5000);
    QVERIFY2(close, "a close frame");
    QVERIFY(close->payload.size() >= 2);
    QCOMPARE(close->closeCode(), 1008);
    QVERIFY2(clock.elapsed() >= 700, qPrintable(QString::number(clock.elapsed())));
}

void TstServerLimits::rateLimitBurst()
{
    QVERIFY(startServer([](ServerConfig &c) { c.rateLimit = 2; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    constexpr int burst = 8;
    for (int i = 0; i < burst; ++i)
        a.sendText(QStringLiteral("burst %1").arg(i), QStringLiteral("r%1").arg(i));
    QTRY_VERIFY_WITH_TIMEOUT(
        a.count(QStringLiteral("new_message")) + a.count(QStringLiteral("error")) >= burst, kWait);
    const QList<QJsonObject> accepted = a.takeAll(QStringLiteral("new_message"));
    const QList<QJsonObject> errors = a.takeAll(QStringLiteral("error"));
    // A burst of 2N = 4 passes (a fifth if a token refilled meanwhile); the rest is refused.
    QVERIFY2(accepted.size() >= 4 && accepted.size() <= 5,
             qPrintable(QString::number(accepted.size())));
    QCOMPARE(accepted.size() + errors.size(), burst);
    qint64 retryAfter = 0;
    for (const QJsonObject &e : errors) {
        QCOMPARE(str(e, "code"), QStringLiteral("rate_limited"));
        QCOMPARE(str(e, "event"), QStringLiteral("send_message"));
        const qint64 retry = e.value(QLatin1String("retry_after_ms")).toInteger(-1);
        QVERIFY2(retry > 0 && retry <= 1000, qPrintable(QString::number(retry)));
        retryAfter = std::max(retryAfter, retry);
    }
    // The partner got exactly the accepted ones.
    QTRY_COMPARE_WITH_TIMEOUT(b.count(QStringLiteral("new_message")), int(accepted.size()), kWait);
    QTest::qWait(kQuietMs);
    const QList<QJsonObject> relayed = b.takeAll(QStringLiteral("new_message"));
    QCOMPARE(relayed.size(), accepted.size());
    for (qsizetype i = 0; i < relayed.size(); ++i)
        QCOMPARE(relayed[i].value(QLatin1String("id")), accepted[i].value(QLatin1String("id")));
    QCOMPARE(b.pendingEvents(), QStringList());

    // Typing has its own bucket.
    a.send(proto::Typing{true});
    TAKE_NEXT(b, "partner_typing", nullptr);

    // After retry_after_ms, a message passes again.
    QTest::qWait(int(retryAfter) + 50);
    a.sendText(QStringLiteral("later"));
    TAKE_NEXT(a, "new_message", nullptr);
    TAKE_NEXT(b, "partner_typing", nullptr); // the message ends A's typing
    TAKE_NEXT(b, "new_message", nullptr);

    const QHash<QString, double> m = metricsNow();
    QCOMPARE(m.value(QStringLiteral("anonchat_errors_total{code=\"rate_limited\"}"), -1),
             double(errors.size()));
    QCOMPARE(m.value(QStringLiteral("anonchat_messages_stored_total"), -1),
             double(accepted.size() + 1));
    QUIET(a);
    QUIET(b);
}

void TstServerLimits::rateLimitFloodCloses()
{
    QVERIFY(startServer([](ServerConfig &c) { c.rateLimit = 2; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C"));
    qint64 room = 0;
    PAIR(a, b, room);
    OPEN(c);
    for (int i = 0; i < 100; ++i)
        a.sendText(QStringLiteral("flood %1").arg(i));
    QVERIFY2(a.waitDisconnected(), "a flooding client is closed");
    QCOMPARE(a.closeCode(), 1008);
    QVERIFY(a.count(QStringLiteral("error")) > 0);
    // To the rest of the server it is a dropped user.
    TAKE(b, "partner_away", nullptr);
    QVERIFY(b.isConnected());
    QVERIFY(c.isConnected());
    QJsonObject s;
    STATS(c, &s);
    QCOMPARE(s.value(QLatin1String("online")).toInt(), 2);
    // B got the few flood messages that passed the limit, nothing more. They are relayed when
    // their commit comes back, which may be after A was closed (and B told it is away).
    QTRY_VERIFY_WITH_TIMEOUT(b.count(QStringLiteral("new_message")) >= 4, kWait);
    QTest::qWait(100);
    const QList<QJsonObject> passed = b.takeAll(QStringLiteral("new_message"));
    QVERIFY2(passed.size() >= 4 && passed.size() <= 5, qPrintable(QString::number(passed.size())));
    b.sendText(QStringLiteral("B is fine"));
    QJsonObject m;
    TAKE(b, "new_message", &m);
    QCOMPARE(str(m, "content"), QStringLiteral("B is fine"));
    QCOMPARE(b.count(QStringLiteral("error")), 0);
    QCOMPARE(c.pendingEvents(), QStringList());
}

void TstServerLimits::rateLimitZero()
{
    QVERIFY(startServer([](ServerConfig &c) { c.rateLimit = 0; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    constexpr int n = 60;
    for (int i = 0; i < n; ++i) {
        a.sendText(QStringLiteral("m%1").arg(i));
        a.send(proto::GetStats{});
        a.send(proto::Typing{i % 2 == 0});
    }
    QTRY_COMPARE_WITH_TIMEOUT(b.count(QStringLiteral("new_message")), n, kWait * 2);
    QTRY_COMPARE_WITH_TIMEOUT(a.count(QStringLiteral("new_message")), n, kWait);
    QTRY_COMPARE_WITH_TIMEOUT(a.count(QStringLiteral("stats")), n, kWait);
    QCOMPARE(a.count(QStringLiteral("error")), 0);
    QCOMPARE(b.count(QStringLiteral("error")), 0);
    QVERIFY(a.isConnected());
    // In order, all of them.
    const QList<QJsonObject> got = b.takeAll(QStringLiteral("new_message"));
    for (int i = 0; i < n; ++i)
        QCOMPARE(str(got[i], "content"), QStringLiteral("m%1").arg(i));
}

void TstServerLimits::frameTooLarge()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    OPEN(a);
    OPEN(b);
    // Under the frame limit, the message rules apply.
    a.sendText(QString(15 * 1024, QLatin1Char('x')));
    TAKE_ERROR(a, "message_too_long", nullptr);
    QVERIFY(a.isConnected());
    // Over it: closed with 1009.
    a.sendText(QString(17 * 1024, QLatin1Char('x')));
    QVERIFY2(a.waitDisconnected(), "an oversized frame closes the connection");
    QCOMPARE(a.closeCode(), 1009);
    // Gone from the count once its close handshake is done (on another thread, with
    // ANONCHAT_TEST_THREADS=2, a moment later).
    int online = -1;
    for (int i = 0; i < 50 && online != 1; ++i) {
        if (i > 0)
            QTest::qWait(20);
        QJsonObject s;
        STATS(b, &s);
        online = s.value(QLatin1String("online")).toInt();
    }
    QCOMPARE(online, 1);
    QUIET(b);
}

void TstServerLimits::serverBusy()
{
    QVERIFY(startServer([](ServerConfig &c) { c.maxConnections = 2; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    OPEN(a);
    OPEN(b);

    // On the wire: the error frame, then a close frame with 1013.
    RawWebSocket raw;
    QVERIFY(raw.connectTo(port()));
    QCOMPARE(raw.upgrade(), 101);
    const auto error = raw.takeEvent(QStringLiteral("error"));
    QVERIFY2(error, "server_busy error frame");
    const QJsonObject e = error->value(QLatin1String("data")).toObject();
    QCOMPARE(str(e, "code"), QStringLiteral("server_busy"));
    QVERIFY(!str(e, "message").isEmpty());
    const auto close = raw.take(wire::Close, kWait);
    QVERIFY2(close, "close frame");
    QVERIFY(close->payload.size() >= 2);
    QCOMPARE(close->closeCode(), 1013);
    QCOMPARE(raw.received(wire::Text), 1); // no welcome
    raw.sendFrame(wire::kFin | wire::Close, close->payload.left(2));
    QVERIFY(raw.waitEnded(kWait));

    // A Qt client sees the error and the disconnection (Qt 6.4 misreads 1013 itself).
    TestClient c(QStringLiteral("C"));
    QVERIFY2(c.connectSocket(port()), qPrintable(c.failure()));
    TAKE_ERROR(c, "server_busy", nullptr);
    QVERIFY(c.waitDisconnected());
    QCOMPARE(c.count(QStringLiteral("welcome")), 0);

    // The limit counts live connections: once one leaves, there is room again.
    a.drop();
    TestClient d(QStringLiteral("D"));
    QTRY_VERIFY_WITH_TIMEOUT(m_server->connectionCount() == 1, kWait);
    OPEN(d);
    QJsonObject s;
    STATS(b, &s);
    QCOMPARE(s.value(QLatin1String("online")).toInt(), 2);
    const QHash<QString, double> m = metricsNow();
    QCOMPARE(m.value(QStringLiteral("anonchat_errors_total{code=\"server_busy\"}"), -1), 2.0);
    QUIET(b);
    QUIET(d);
}

void TstServerLimits::keepAlive()
{
    QVERIFY(startServer([](ServerConfig &c) {
        c.pingIntervalMs = 200;
        c.pingTimeoutMs = 600;
        c.resumeWindowMs = 10 * 1000;
    }));
    // A raw client that completes the handshake and then never answers a ping.
    RawWebSocket raw; // it answers no ping
    QVERIFY(raw.connectTo(port()));
    QCOMPARE(raw.upgrade(), 101);
    const auto welcomeFrame = raw.takeEvent(QStringLiteral("welcome"), kWait);
    QVERIFY(welcomeFrame);
    const QJsonObject welcome = welcomeFrame->value(QLatin1String("data")).toObject();
    raw.sendText(proto::encode(proto::ClientMessage(proto::JoinQueue{})));
    QElapsedTimer silence;
    silence.start();
    QVERIFY(raw.takeEvent(QStringLiteral("waiting")));
    TestClient b(QStringLiteral("B"));
    OPEN(b);
    b.send(proto::JoinQueue{});
    QJsonObject mb;
    TAKE_NEXT(b, "matched", &mb);
    QCOMPARE(str(mb, "partner_id"), str(welcome, "user_id"));
    QVERIFY(raw.takeEvent(QStringLiteral("matched")));

    // Dropped after the ping timeout, exactly as if it had disconnected.
    QJsonObject away;
    TAKE_NEXT(b, "partner_away", &away);
    QVERIFY2(silence.elapsed() >= 600 - 50, qPrintable(QString::number(silence.elapsed())));
    QCOMPARE(roomIdOf(away), roomIdOf(mb));
    QVERIFY2(raw.pingsReceived() >= 1, "the server pings an idle connection");
    QVERIFY(raw.waitEnded(kWait));

    // B answers pings (Qt does): it stays, silent, across several intervals and timeouts.
    QTest::qWait(3 * 600);
    QVERIFY(b.isConnected());
    QJsonObject s;
    STATS(b, &s);
    QCOMPARE(s.value(QLatin1String("online")).toInt(), 1);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 1);
    QUIET(b);
}

void TstServerLimits::origin()
{
    QVERIFY(startServer(
        [](ServerConfig &c) { c.allowedOrigins = {QStringLiteral("https://chat.example.org/")}; }));
    const QByteArray own = "http://127.0.0.1:" + QByteArray::number(port());

    for (const QByteArray &bad :
         {QByteArray("http://evil.example"), own + ".evil.example",
          QByteArray("https://chat.example.org.evil.example"), QByteArray("null")}) {
        TestClient evil(QStringLiteral("evil"));
        QVERIFY2(!evil.connectSocket(port(), bad), bad.constData());
        QCOMPARE(evil.count(QStringLiteral("welcome")), 0);
        RawWebSocket raw;
        QVERIFY(raw.connectTo(port()));
        QCOMPARE(raw.upgrade(wire::upgradeRequest(port(), "Origin: " + bad + "\r\n")), 403);
        QVERIFY(raw.waitEnded(kWait));
    }

    TestClient same(QStringLiteral("same-origin"));
    QVERIFY2(same.open(port(), own), qPrintable(same.failure()));
    TestClient listed(QStringLiteral("allowed-origin"));
    QVERIFY2(listed.open(port(), "https://chat.example.org"), qPrintable(listed.failure()));
    TestClient native(QStringLiteral("no-origin"));
    QVERIFY2(native.open(port()), qPrintable(native.failure()));
    QJsonObject s;
    STATS(native, &s);
    QCOMPARE(s.value(QLatin1String("online")).toInt(), 3);
}

QTEST_GUILESS_MAIN(TstServerLimits)
#include "tst_server_limits.moc"
