// Hostile clients against the real `anonchat-server`: hostile JSON, the per-address connection
// limit, the open-file limit, and privacy (no addresses stored, no message text logged, no
// reading or acting in another room).

#include "tests/system/faultsuite.h"

using namespace anonchat::test;
using namespace anonchat::test::faults;

namespace {

/// The start of a member whose value is an object: 3,000 of them, never closed, below.
constexpr char kObjectMember[] = R"({"a":)";
constexpr char kObjectsCaseName[] = R"(3,000 levels of {"a":)";

/// `count` members with short unique keys, each with `value`.
QByteArray keys(int count, const QByteArray &value)
{
    // Short unique keys: a minimal member ("k":0,) is 5+ bytes, so 16 KiB holds at most
    // ~3,200 of them (5,000 keys cannot fit in one frame; that frame gets 1009 below).
    static const QByteArray alphabet =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    QByteArray out;
    for (int i = 0; i < count; ++i) {
        if (i)
            out += ',';
        out += '"';
        out += alphabet[i % alphabet.size()];
        if (i >= alphabet.size())
            out += alphabet[i / alphabet.size() % alphabet.size()];
        out += "\":" + value;
    }
    return out;
}

struct HostileCase {
    const char *name;
    QByteArray frame;
    std::optional<protocol::ErrorCode> error; ///< none: the event is answered
};

/// JSON built to hurt a parser, each within the 16 KiB frame limit, and the answer it gets.
std::vector<HostileCase> hostileCases()
{
    const QByteArray deepOpen(10000, '[');
    const QByteArray deep8k = QByteArray(8000, '[') + QByteArray(8000, ']');
    const QByteArray deepObjects = QByteArray(kObjectMember).repeated(3000);
    QByteArray sameKey = "\"\":0";
    for (int i = 1; i < 3200; ++i)
        sameKey += ",\"\":0";
    return {
        {"10,000 levels of [ (unterminated)", deepOpen, protocol::ErrorCode::BadJson},
        {"10,000 levels of [ in data", R"({"event":"get_stats","data":{"x":)" + deepOpen + "}}",
         protocol::ErrorCode::BadJson},
        {"8,000 levels of [[...]] (well formed)",
         R"({"event":"get_stats","data":{"x":)" + deep8k + "}}", protocol::ErrorCode::BadJson},
        {kObjectsCaseName, deepObjects, protocol::ErrorCode::BadJson},
        {"2,300 keys in send_message data",
         R"({"event":"send_message","data":{)" + keys(2300, "0") + "}}",
         protocol::ErrorCode::InvalidData},
        {"2,300 keys at the top, no event", "{" + keys(2300, "0") + "}",
         protocol::ErrorCode::UnknownEvent},
        {"1,700 unknown keys in get_stats data (ignored)",
         R"({"event":"get_stats","data":{)" + keys(1700, "[]") + "}}", std::nullopt},
        {"3,200 identical keys in get_stats data (ignored)",
         R"({"event":"get_stats","data":{)" + sameKey + "}}", std::nullopt},
    };
}

/// Sends the case's frame: its answer (the error expected, or stats) comes, the connection stays.
void expectAnswered(Client &a, const HostileCase &c)
{
    QVERIFY2(c.frame.size() <= 16 * 1024, c.name);
    const int before = int(a.frames().size());
    QElapsedTimer timer;
    timer.start();
    a.sendRaw(QString::fromUtf8(c.frame));
    QVERIFY2(waitUntil([&] { return a.frames().size() > before; }), c.name);
    const protocol::ServerMessage &answer = a.frames().at(before);
    if (c.error) {
        const auto *e = std::get_if<protocol::Error>(&answer);
        QVERIFY2(e && e->code == *c.error,
                 qPrintable(QStringLiteral("%1: %2").arg(QLatin1String(c.name),
                                                         e ? protocol::errorCodeName(e->code)
                                                           : QStringLiteral("not an error"))));
    } else {
        QVERIFY2(std::holds_alternative<protocol::Stats>(answer), c.name);
    }
    qInfo("%s (%lld bytes): answered in %lld ms", c.name, qint64(c.frame.size()), timer.elapsed());
    QVERIFY2(!a.isDisconnected(), c.name);
}

/// 5,000 keys do not fit in 16 KiB: that frame closes the connection with 1009, nothing more.
void expectTooBigClosed(quint16 port)
{
    Client big(port);
    QVERIFY(big.waitFor<protocol::Welcome>());
    big.sendRaw(QString::fromUtf8(R"({"event":"get_stats","data":{)" + keys(5000, "0") + "}}"));
    QVERIFY(big.waitDisconnected());
    QCOMPARE(int(big.socket().closeCode()), 1009);
}

/// `socket` (one connection too many from its address) is upgraded, then gets `server_busy` and
/// close 1013, and the connection ends.
void expectBusyAndClosed(RawWebSocket &socket, quint16 port)
{
    QVERIFY(socket.connectTo(port, {}, kWaitMs));
    QCOMPARE(socket.upgrade({}, {}, kWaitMs), 101);
    const auto error = socket.next(kWaitMs);
    QVERIFY(error);
    QCOMPARE(error->opcode, 0x1);
    const protocol::ServerDecodeResult decoded = protocol::decodeServerFrame(error->payload);
    const auto *message = std::get_if<protocol::ServerMessage>(&decoded);
    QVERIFY(message);
    const auto *e = std::get_if<protocol::Error>(message);
    QVERIFY2(e, error->payload.constData());
    QCOMPARE(protocol::errorCodeName(e->code), QStringLiteral("server_busy"));
    const auto close = socket.next(kWaitMs);
    QVERIFY(close);
    QCOMPARE(close->opcode, 0x8);
    QVERIFY(close->payload.size() >= 2);
    QCOMPARE(close->closeCode(), 1013);
    QVERIFY(socket.waitEnded(kWaitMs));
}

/// A port number standing alone in a text (not part of a longer number or word).
QRegularExpression portPattern(quint16 port)
{
    return QRegularExpression(QStringLiteral("(?<![0-9A-Za-z])%1(?![0-9A-Za-z])").arg(port));
}

/// What a resume token must be: url-safe base64.
const QRegularExpression &base64url()
{
    static const QRegularExpression pattern(QStringLiteral("^[A-Za-z0-9_-]+$"));
    return pattern;
}

/// The welcome's tokens: url-safe base64 of at least 128 bits, all different.
void expectStrongTokens(const QList<Client *> &clients)
{
    QSet<QString> tokens;
    for (Client *client : clients) {
        const QString token = client->find<protocol::Welcome>()->resumeToken;
        QVERIFY2(base64url().match(token).hasMatch(), qPrintable(token));
        QVERIFY2(token.size() * 6 >= 128, qPrintable(token));
        tokens.insert(token);
    }
    QCOMPARE(tokens.size(), clients.size());
}

} // namespace

class TestFaultsClients : public FaultSuite
{
    Q_OBJECT

private slots:
    void hostileJson();
    void perAddressLimit();
    void descriptorLimit();
    void privacy();

private:
    void expectNegativeLimitRefused();
    void openIdle(quint16 port, int count, std::vector<std::unique_ptr<QTcpSocket>> *idle,
                  int *connected, int *closed);
    void expectForgedIdsIgnored(Client &a, Client &b, Client &c, Client &d, const QString &marker,
                                const QString &forged, qint64 roomAB, qint64 roomCD);
    void expectOutsiderRefused(Client &e, qint64 roomAB, const QString &aId);
    void expectLeavingOwnRoomOnly(Client &a, Client &b, Client &c, Client &d, qint64 roomAB,
                                  qint64 roomCD);
    void resumeWithFreshToken(quint16 port, Client &a, Client &b, std::unique_ptr<Client> *a2);
    void expectNothingReached(const QList<Client *> &outsiders, Client &e, qint64 roomAB);
    void expectStoppedWithCleanLog(ServerProcess &server, const QString &marker,
                                   const QList<quint16> &ports);
    void expectNoAddressStored(const QString &path, const QString &forged, const QString &aId,
                               const QList<quint16> &ports, int *values);
};

// JSON built to hurt a parser, within the 16 KiB frame limit: an error frame, the connection
// stays open, the server goes on.
void TestFaultsClients::hostileJson()
{
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", freshDbPath()}, &why), qPrintable(why));
    Client a(server.port());
    QVERIFY(a.waitFor<protocol::Welcome>());
    for (const HostileCase &c : hostileCases()) {
        expectAnswered(a, c);
        if (QTest::currentTestFailed())
            return;
    }
    expectTooBigClosed(server.port());
    if (QTest::currentTestFailed())
        return;
    a.send(protocol::GetStats{});
    QVERIFY(a.waitFor<protocol::Stats>());
    QCOMPARE(httpGet(server.port(), "/healthz").status, 200);
    QVERIFY(server.running());
    expectCleanStop(server);
}

// --max-connections-per-address 3: the 4th WebSocket from 127.0.0.1 gets server_busy and close
// 1013 while the global limit is far away; 127.0.0.2 still gets in; after one of the three
// closes, 127.0.0.1 gets in again.
void TestFaultsClients::perAddressLimit()
{
    expectNegativeLimitRefused();
    if (QTest::currentTestFailed())
        return;
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", freshDbPath(), "--max-connections", "1000",
                           "--max-connections-per-address", "3"},
                          &why),
             qPrintable(why));
    const quint16 port = server.port();
    std::vector<std::unique_ptr<Client>> three;
    for (int i = 0; i < 3; ++i) {
        three.push_back(std::make_unique<Client>(port));
        QVERIFY(three.back()->waitFor<protocol::Welcome>());
    }

    RawWebSocket fourth;
    expectBusyAndClosed(fourth, port);
    if (QTest::currentTestFailed())
        return;

    // Another address is not affected.
    RawWebSocket other;
    QVERIFY(other.connectTo(port, QHostAddress(QStringLiteral("127.0.0.2")), kWaitMs));
    QVERIFY(other.upgrade({}, {}, kWaitMs) != 0);
    QCOMPARE(other.socket().localAddress(), QHostAddress(QStringLiteral("127.0.0.2")));
    const auto welcome = other.next(kWaitMs);
    QVERIFY(welcome);
    QVERIFY2(welcome->payload.contains("\"welcome\""), welcome->payload.constData());

    // One of the three goes: room for one more from 127.0.0.1, and only one.
    three[0]->socket().close();
    QVERIFY(three[0]->waitDisconnected());
    Client again(port);
    QVERIFY(again.waitFor<protocol::Welcome>());
    Client over(port);
    QVERIFY(over.waitForError(protocol::ErrorCode::ServerBusy));
    QVERIFY(over.waitDisconnected());
    QVERIFY(!over.find<protocol::Welcome>());
    const auto m = metrics(port);
    QCOMPARE(m.value(QStringLiteral("anonchat_errors_total{code=\"server_busy\"}")), 2.0);
    QCOMPARE(m.value(QStringLiteral("anonchat_connections")), 4.0); // 2 + again + 127.0.0.2
    server.signal(SIGTERM);
    QVERIFY(server.waitFinished());
    CHECK_NO_SANITIZER_REPORT(server);
    QCOMPARE(server.process().exitCode(), 0);
}

// A negative --max-connections-per-address is refused: exit 2, the flag named.
void TestFaultsClients::expectNegativeLimitRefused()
{
    ServerProcess bad;
    QVERIFY(bad.run({"--db", freshDbPath(), "--max-connections-per-address", "-1"}));
    QCOMPARE(bad.process().exitCode(), 2);
    QVERIFY2(bad.standardError().contains("max-connections-per-address"),
             bad.standardError().constData());
}

// Started under an open-file limit of 256 (soft and hard: it cannot raise it), the server logs the
// figure and lowers --max-connections to fit. 300 idle TCP connections from three addresses (the
// per-address limit off) then hold more sockets than it may open: the oldest unfinished ones
// make room, so /healthz answers from a fresh connection meanwhile and a WebSocket client gets
// its welcome; once the idle ones close the server is whole. It used to run out of descriptors
// and spin on EMFILE (Qt 6.4's QTcpServer retries at once), serving no new client until idle
// connections timed out one by one.
void TestFaultsClients::descriptorLimit()
{
    constexpr int kLimit = 256;
    constexpr int kIdle = 300;
    ServerProcess server;
    server.process().setChildProcessModifier([] {
        const rlimit limit{kLimit, kLimit};
        ::setrlimit(RLIMIT_NOFILE, &limit);
    });
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", freshDbPath(), "--max-connections-per-address",
                           "0", "--threads", "2"},
                          &why),
             qPrintable(why));
    const quint16 port = server.port();
    QVERIFY2(waitUntil([&] { return server.standardError().contains("open-file limit 256"); }),
             server.standardError().constData());
    QVERIFY2(server.standardError().contains("--max-connections 20000 lowered to "),
             server.standardError().constData());

    int connected = 0;
    int closed = 0;
    QElapsedTimer sinceIdle; // all of this well within the 10 s an unfinished request may take
    sinceIdle.start();
    std::vector<std::unique_ptr<QTcpSocket>> idle;
    openIdle(port, kIdle, &idle, &connected, &closed);
    if (QTest::currentTestFailed())
        return;
    // The server holds what it may (256 - 72 kept for its own files), and closed the oldest of
    // the others to make room for the newer, at once (not when their request time ran out).
    QVERIFY2(waitUntil([&] { return connected == kIdle && closed >= kIdle - (kLimit - 72); }, 3000),
             qPrintable(QStringLiteral("%1 connected, %2 closed").arg(connected).arg(closed)));

    QElapsedTimer timer;
    timer.start();
    const HttpReply health = httpGet(port, "/healthz");
    const qint64 healthMs = timer.elapsed();
    QCOMPARE(health.status, 200);
    QVERIFY2(healthMs < 2000, QByteArray::number(healthMs));
    Client client(port);
    QVERIFY(client.waitFor<protocol::Welcome>({}, 2000));
    QVERIFY2(sinceIdle.elapsed() < 8000, QByteArray::number(sinceIdle.elapsed()));
    QVERIFY(server.running());
    qInfo("open-file limit %d: %d idle connections, %d of them closed by the server; /healthz "
          "answered in %lld ms meanwhile",
          kLimit, kIdle, closed, healthMs);

    idle.clear();
    QVERIFY(waitUntil([&] {
        const auto m = metrics(port);
        return m.value(QStringLiteral("anonchat_connections"), -1) == 1;
    }));
    QCOMPARE(httpGet(port, "/healthz").status, 200);
    server.signal(SIGTERM);
    QVERIFY(server.waitFinished());
    CHECK_NO_SANITIZER_REPORT(server);
    QCOMPARE(server.process().exitCode(), 0);
}

// `count` TCP connections from 127.0.0.1-3 into `idle`, which never send a byte; `connected` and
// `closed` count their events.
void TestFaultsClients::openIdle(quint16 port, int count,
                                 std::vector<std::unique_ptr<QTcpSocket>> *idle, int *connected,
                                 int *closed)
{
    for (int i = 0; i < count; ++i) {
        auto socket = std::make_unique<QTcpSocket>();
        QObject::connect(socket.get(), &QTcpSocket::connected, [connected] { ++*connected; });
        QObject::connect(socket.get(), &QTcpSocket::disconnected, [closed] { ++*closed; });
        QVERIFY(socket->bind(QHostAddress(QStringLiteral("127.0.0.%1").arg(1 + i % 3))));
        socket->connectToHost(QHostAddress(QHostAddress::LocalHost), port);
        idle->push_back(std::move(socket));
    }
}

// No address in the database, no message text in the log, tokens of at least 128 bits, and no
// way into a room that is not one's own.
void TestFaultsClients::privacy()
{
    const QString path = freshDbPath();
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", path, "--log-level", "info"}, &why),
             qPrintable(why));
    const quint16 port = server.port();
    const auto ab = newClients(port, 2);
    QVERIFY(matchAll(ab));
    const auto cd = newClients(port, 2);
    QVERIFY(matchAll(cd));
    Client &a = *ab[0];
    Client &b = *ab[1];
    Client &c = *cd[0];
    Client &d = *cd[1];
    Client e(port); // in no room
    QVERIFY(e.waitFor<protocol::Welcome>());
    const qint64 roomAB = a.find<protocol::Matched>()->roomId;
    const qint64 roomCD = c.find<protocol::Matched>()->roomId;
    QVERIFY(roomAB != roomCD);
    QList<quint16> ports;
    for (Client *client : {&a, &b, &c, &d, &e})
        ports << client->socket().localPort();

    expectStrongTokens({&a, &b, &c, &d, &e});
    if (QTest::currentTestFailed())
        return;

    const QString marker = QStringLiteral("MARKER-") + QUuid::createUuid().toString(QUuid::Id128);
    const QString forged = QStringLiteral("forged ") + marker;
    expectForgedIdsIgnored(a, b, c, d, marker, forged, roomAB, roomCD);
    if (QTest::currentTestFailed())
        return;
    expectOutsiderRefused(e, roomAB, a.userId());
    if (QTest::currentTestFailed())
        return;
    expectLeavingOwnRoomOnly(a, b, c, d, roomAB, roomCD);
    if (QTest::currentTestFailed())
        return;
    std::unique_ptr<Client> a2;
    resumeWithFreshToken(port, a, b, &a2);
    if (QTest::currentTestFailed())
        return;
    ports << a2->socket().localPort();
    expectNothingReached({&c, &d, &e}, e, roomAB);
    if (QTest::currentTestFailed())
        return;
    expectStoppedWithCleanLog(server, marker, ports);
    if (QTest::currentTestFailed())
        return;
    int values = 0;
    expectNoAddressStored(path, forged, a.userId(), ports, &values);
    if (QTest::currentTestFailed())
        return;
    const qint64 tokenSize = a2->find<protocol::Resumed>()->resumeToken.size();
    qInfo("privacy: %d stored values scanned, no address or port; log without message text; "
          "tokens %lld characters of base64url (%lld bits)",
          values, tokenSize, tokenSize * 6);
}

// A marker sent as a message is stored (and never logged: see below). Forged ids in data are
// ignored: `forged` lands in A's own room, under A's id, and so does typing.
void TestFaultsClients::expectForgedIdsIgnored(Client &a, Client &b, Client &c, Client &d,
                                               const QString &marker, const QString &forged,
                                               qint64 roomAB, qint64 roomCD)
{
    a.send(protocol::SendMessage{marker + QStringLiteral(" my secret"), QStringLiteral("p1")});
    QVERIFY(b.waitFor<protocol::NewMessage>());

    a.sendRaw(QStringLiteral(R"({"event":"send_message","data":{"content":"%1","nonce":"p2",)"
                             R"("room_id":%2,"sender_id":"%3","user_id":"%3","partner_id":"%4"}})")
                  .arg(forged)
                  .arg(roomCD)
                  .arg(c.userId(), d.userId()));
    const auto ack = a.waitFor<protocol::NewMessage>(
        [](const protocol::NewMessage &m) { return m.nonce == QLatin1String("p2"); });
    QVERIFY(ack);
    QCOMPARE(ack->roomId, roomAB);
    QCOMPARE(ack->senderId, a.userId());
    const auto relayed = b.waitFor<protocol::NewMessage>(
        [&forged](const protocol::NewMessage &m) { return m.content == forged; });
    QVERIFY(relayed);
    QCOMPARE(relayed->senderId, a.userId());
    a.sendRaw(
        QStringLiteral(R"({"event":"typing","data":{"typing":true,"room_id":%1}})").arg(roomCD));
    QVERIFY(b.waitFor<protocol::PartnerTyping>());
}

// E, in no room, tries to act in A and B's room: not_in_room for every event.
void TestFaultsClients::expectOutsiderRefused(Client &e, qint64 roomAB, const QString &aId)
{
    const QString roomField =
        QStringLiteral(R"("room_id":%1,"user_id":"%2","sender_id":"%2")").arg(roomAB).arg(aId);
    for (const char *event : {"send_message", "typing", "leave_room_event", "report"}) {
        const int errorsBefore = int(e.all<protocol::Error>().size());
        const QString extra = QLatin1String(event) == QLatin1String("send_message")
                                  ? QStringLiteral(R"("content":"let me in",)")
                              : QLatin1String(event) == QLatin1String("typing")
                                  ? QStringLiteral(R"("typing":true,)")
                                  : QString();
        e.sendRaw(QStringLiteral(R"({"event":"%1","data":{%2%3}})")
                      .arg(QLatin1String(event), extra, roomField));
        QVERIFY(waitUntil([&] { return e.all<protocol::Error>().size() > errorsBefore; }));
        const protocol::Error err = e.all<protocol::Error>().constLast();
        QCOMPARE(protocol::errorCodeName(err.code), QStringLiteral("not_in_room"));
        QCOMPARE(err.event, QString::fromLatin1(event));
    }
}

// C leaves "room AB": it leaves its own room; A and B go on.
void TestFaultsClients::expectLeavingOwnRoomOnly(Client &a, Client &b, Client &c, Client &d,
                                                 qint64 roomAB, qint64 roomCD)
{
    c.sendRaw(QStringLiteral(R"({"event":"leave_room_event","data":{"room_id":%1}})").arg(roomAB));
    const auto left = c.waitFor<protocol::RoomLeft>();
    QVERIFY(left);
    QCOMPARE(left->roomId, roomCD);
    QVERIFY(d.waitFor<protocol::PartnerLeft>());
    a.send(protocol::SendMessage{QStringLiteral("still here"), QStringLiteral("p3")});
    QVERIFY(b.waitFor<protocol::NewMessage>(
        [](const protocol::NewMessage &m) { return m.content == QLatin1String("still here"); }));
}

// A drops and resumes as `a2`: the next token is as strong, and differs.
void TestFaultsClients::resumeWithFreshToken(quint16 port, Client &a, Client &b,
                                             std::unique_ptr<Client> *a2)
{
    const QString oldToken = a.find<protocol::Welcome>()->resumeToken;
    a.socket().abort();
    QVERIFY(b.waitFor<protocol::PartnerAway>());
    *a2 = std::make_unique<Client>(port);
    QVERIFY((*a2)->waitFor<protocol::Welcome>());
    (*a2)->send(protocol::Resume{oldToken, -1});
    const auto resumed = (*a2)->waitFor<protocol::Resumed>();
    QVERIFY(resumed);
    QVERIFY2(base64url().match(resumed->resumeToken).hasMatch() &&
                 resumed->resumeToken.size() * 6 >= 128 && resumed->resumeToken != oldToken,
             qPrintable(resumed->resumeToken));
}

// Nothing from A and B's room reached the outsiders; E, in no room, got only welcome and errors.
void TestFaultsClients::expectNothingReached(const QList<Client *> &outsiders, Client &e,
                                             qint64 roomAB)
{
    spin(200);
    for (Client *outsider : outsiders) {
        for (const protocol::ServerMessage &m : outsider->frames()) {
            if (const auto *nm = std::get_if<protocol::NewMessage>(&m))
                QVERIFY2(nm->roomId != roomAB, qPrintable(nm->content));
        }
        QVERIFY(!outsider->find<protocol::NewMessage>());
    }
    for (const protocol::ServerMessage &m : e.frames()) {
        QVERIFY2(std::holds_alternative<protocol::Welcome>(m) ||
                     std::holds_alternative<protocol::Error>(m),
                 "a user in no room was sent something else than welcome and errors");
    }
}

// SIGTERM, exit 0; the log at info level has no message text and no client port.
void TestFaultsClients::expectStoppedWithCleanLog(ServerProcess &server, const QString &marker,
                                                  const QList<quint16> &ports)
{
    server.signal(SIGTERM);
    QVERIFY(server.waitFinished());
    CHECK_NO_SANITIZER_REPORT(server);
    QCOMPARE(server.process().exitCode(), 0);

    const QByteArray log = server.standardError();
    QVERIFY2(!log.contains(marker.toUtf8()), log.constData());
    QVERIFY2(!log.contains("my secret"), log.constData());
    for (quint16 p : ports)
        QVERIFY2(!QString::fromUtf8(log).contains(portPattern(p)),
                 qPrintable(
                     QStringLiteral("port %1 in the log: %2").arg(p).arg(QString::fromUtf8(log))));
}

// The database: every value of every table (counted in `values`), and the raw file bytes, hold
// no address and no client port; the forged message is stored under A's id.
void TestFaultsClients::expectNoAddressStored(const QString &path, const QString &forged,
                                              const QString &aId, const QList<quint16> &ports,
                                              int *values)
{
    Database db(path);
    QVERIFY(db.isOpen());
    QCOMPARE(db.value(QStringLiteral("SELECT sender_id FROM messages WHERE content = ?"), {forged})
                 .toString(),
             aId);
    for (const QVariantList &t :
         db.rows(QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'table'"))) {
        const QString table = t[0].toString();
        for (const QVariantList &row : db.rows(QStringLiteral("SELECT * FROM \"%1\"").arg(table))) {
            for (const QVariant &value : row) {
                ++*values;
                const QString text = value.toString();
                QVERIFY2(!text.contains(QLatin1String("127.0.0.1")) &&
                             !text.contains(QLatin1String("::1")) &&
                             !text.contains(QLatin1String("localhost"), Qt::CaseInsensitive),
                         qPrintable(QStringLiteral("%1: %2").arg(table, text)));
                for (quint16 p : ports) {
                    QVERIFY2(
                        !text.contains(portPattern(p)),
                        qPrintable(
                            QStringLiteral("%1: port %2 in '%3'").arg(table).arg(p).arg(text)));
                }
            }
        }
    }
    QVERIFY(*values > 0);
    for (const QString &file : {path, path + QStringLiteral("-wal")}) {
        QFile f(file);
        if (f.open(QIODevice::ReadOnly))
            QVERIFY2(!f.readAll().contains("127.0.0.1"), qPrintable(file));
    }
}

QTEST_GUILESS_MAIN(TestFaultsClients)
#include "tst_faults_clients.moc"
