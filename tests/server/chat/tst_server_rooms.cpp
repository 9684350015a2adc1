// tst_server, in a room: messages (stored, nonce dedupe, validation), typing, leaving, `next`
// (requeued, both at once, the previous partner not again) and `report`.

#include "tests/server/chat/chatsuite.h"

using namespace anonchat::test::chat;

class TstServerRooms : public ChatSuite
{
    Q_OBJECT

private slots:
    void sendMessage();
    void nonceDedupe();
    void messageValidation();
    void typing();
    void messageBeforePartnerLeavesIsDelivered();
    void leaveRoom();
    void nextRequeues();
    void bothPressNext();
    void previousPartnerNotRematched();
    void report();
};

void TstServerRooms::sendMessage()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    Db db(m_dbPath);
    QVERIFY2(db.ok(), qPrintable(db.error()));

    const QDateTime before = QDateTime::currentDateTimeUtc().addSecs(-1);
    // A claimed sender_id is ignored; content is trimmed, not escaped.
    a.sendRaw(QStringLiteral(
        R"({"event":"send_message","data":{"content":"  héllo <b>你好</b> 👋\n ","nonce":"n-1","sender_id":"deadbeef"},"extra":1})"));
    const QString content = QStringLiteral("héllo <b>你好</b> 👋");
    QJsonObject ma;
    QJsonObject mb;
    TAKE_NEXT(a, "new_message", &ma);
    TAKE_NEXT(b, "new_message", &mb);
    const qint64 id = ma.value(QLatin1String("id")).toInteger(-1);
    QVERIFY(id > 0);
    QCOMPARE(mb.value(QLatin1String("id")).toInteger(-1), id);
    QCOMPARE(roomIdOf(ma), room);
    QCOMPARE(roomIdOf(mb), room);
    QCOMPARE(str(ma, "sender_id"), a.userId());
    QCOMPARE(str(mb, "sender_id"), a.userId());
    QCOMPARE(str(ma, "content"), content);
    QCOMPARE(str(mb, "content"), content);
    const QString ts = str(ma, "timestamp");
    QVERIFY2(kTimestampPattern.match(ts).hasMatch(), qPrintable(ts));
    QCOMPARE(str(mb, "timestamp"), ts);
    const QDateTime when = QDateTime::fromString(ts, Qt::ISODateWithMs);
    QVERIFY(when.isValid());
    QVERIFY(when >= before && when <= QDateTime::currentDateTimeUtc().addSecs(1));
    QCOMPARE(str(ma, "nonce"), QStringLiteral("n-1"));
    QVERIFY2(!mb.contains(QLatin1String("nonce")), "the nonce goes to the sender only");

    // Relayed only after the commit: the row is there already.
    const QVariantList row = db.row(
        QStringLiteral("SELECT room_id, sender_id, content FROM messages WHERE id = ?"), {id});
    QVERIFY2(!row.isEmpty(), qPrintable(db.error()));
    QCOMPARE(row[0].toLongLong(), room);
    QCOMPARE(row[1].toString(), a.userId());
    QCOMPARE(row[2].toString(), content);

    // The other way, without a nonce: no nonce in either copy.
    b.sendText(QStringLiteral("reply"));
    TAKE_NEXT(b, "new_message", &mb);
    TAKE_NEXT(a, "new_message", &ma);
    QVERIFY(ma.value(QLatin1String("id")).toInteger() > id);
    QCOMPARE(ma.value(QLatin1String("id")).toInteger(), mb.value(QLatin1String("id")).toInteger());
    QCOMPARE(str(ma, "sender_id"), b.userId());
    QVERIFY(!ma.contains(QLatin1String("nonce")));
    QVERIFY(!mb.contains(QLatin1String("nonce")));
    QCOMPARE(
        db.value(QStringLiteral("SELECT COUNT(*) FROM messages WHERE room_id = ?"), {room}).toInt(),
        2);
    QUIET(a);
    QUIET(b);
}

void TstServerRooms::nonceDedupe()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    Db db(m_dbPath);
    QVERIFY2(db.ok(), qPrintable(db.error()));

    a.sendText(QStringLiteral("only once"), QStringLiteral("abc"));
    QJsonObject first;
    TAKE_NEXT(a, "new_message", &first);
    TAKE_NEXT(b, "new_message", nullptr);
    const qint64 id = first.value(QLatin1String("id")).toInteger();

    // Resent (the client did not see the ack): the same message again, the partner nothing.
    a.sendText(QStringLiteral("only once"), QStringLiteral("abc"));
    QJsonObject again;
    TAKE_NEXT(a, "new_message", &again);
    QCOMPARE(again, first);
    QUIET(b);
    QCOMPARE(db.value(QStringLiteral("SELECT COUNT(*) FROM messages WHERE content = ?"),
                      {QStringLiteral("only once")})
                 .toInt(),
             1);

    // A nonce belongs to its sender: B's "abc" is a new message.
    b.sendText(QStringLiteral("mine"), QStringLiteral("abc"));
    QJsonObject mb;
    TAKE_NEXT(b, "new_message", &mb);
    TAKE_NEXT(a, "new_message", nullptr);
    QVERIFY(mb.value(QLatin1String("id")).toInteger() != id);
    QCOMPARE(str(mb, "content"), QStringLiteral("mine"));
    QCOMPARE(str(mb, "nonce"), QStringLiteral("abc"));
    QCOMPARE(
        db.value(QStringLiteral("SELECT COUNT(*) FROM messages WHERE room_id = ?"), {room}).toInt(),
        2);
    QUIET(a);
    QUIET(b);
}

void TstServerRooms::messageValidation()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C"));
    qint64 room = 0;
    PAIR(a, b, room);
    OPEN(c);
    QJsonObject e;

    a.sendText(QString());
    TAKE_ERROR(a, "message_empty", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("send_message"));
    a.sendText(QStringLiteral(" \n\t  "));
    TAKE_ERROR(a, "message_empty", nullptr);

    a.sendText(QString(501, QLatin1Char('a')));
    TAKE_ERROR(a, "message_too_long", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("send_message"));
    const QString emoji = QString::fromUtf8("\xF0\x9F\x98\x80"); // one code point, two QChars
    a.sendText(emoji.repeated(501));
    TAKE_ERROR(a, "message_too_long", nullptr);
    a.sendText(QString::fromUtf8("你").repeated(501));
    TAKE_ERROR(a, "message_too_long", nullptr);

    a.sendRaw(QStringLiteral(R"({"event":"send_message","data":{"content":42}})"));
    TAKE_ERROR(a, "invalid_data", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("send_message"));
    a.sendRaw(QStringLiteral(R"({"event":"send_message","data":{}})"));
    TAKE_ERROR(a, "invalid_data", nullptr);
    a.sendRaw(QStringLiteral(R"({"event":"send_message","data":{"content":["x"]}})"));
    TAKE_ERROR(a, "invalid_data", nullptr);
    a.sendText(QStringLiteral("x"), QString(65, QLatin1Char('n'))); // nonce over 64
    TAKE_ERROR(a, "invalid_data", nullptr);
    // None of them reached B.
    QUIET(b);

    // Exactly at the limits: accepted.
    a.sendText(emoji.repeated(500));
    QJsonObject m;
    TAKE_NEXT(b, "new_message", &m);
    QCOMPARE(str(m, "content"), emoji.repeated(500));
    TAKE_NEXT(a, "new_message", nullptr);
    a.sendText(QStringLiteral("  ") + QString(500, QLatin1Char('a')) + QStringLiteral("  "));
    TAKE_NEXT(b, "new_message", &m);
    QCOMPARE(str(m, "content"), QString(500, QLatin1Char('a')));
    TAKE_NEXT(a, "new_message", nullptr);

    // Outside a room.
    c.sendText(QStringLiteral("hello?"));
    TAKE_ERROR(c, "not_in_room", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("send_message"));
    QUIET(a);
    QUIET(b);
    QUIET(c);
}

void TstServerRooms::typing()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C"));
    qint64 room = 0;
    PAIR(a, b, room);
    OPEN(c);
    QJsonObject t;

    a.send(proto::Typing{true});
    TAKE_NEXT(b, "partner_typing", &t);
    QCOMPARE(t.value(QLatin1String("typing")), QJsonValue(true));
    // A message ends the typing: the partner hears false first, then the message.
    a.sendText(QStringLiteral("done typing"));
    TAKE_NEXT(b, "partner_typing", &t);
    QCOMPARE(t.value(QLatin1String("typing")), QJsonValue(false));
    TAKE_NEXT(b, "new_message", nullptr);
    TAKE_NEXT(a, "new_message", nullptr);

    b.send(proto::Typing{true});
    TAKE_NEXT(a, "partner_typing", &t);
    QCOMPARE(t.value(QLatin1String("typing")), QJsonValue(true));
    b.send(proto::Typing{false});
    TAKE_NEXT(a, "partner_typing", &t);
    QCOMPARE(t.value(QLatin1String("typing")), QJsonValue(false));
    // The typist itself hears nothing.
    QUIET(a);
    QUIET(b);

    a.sendRaw(QStringLiteral(R"({"event":"typing","data":{"typing":"yes"}})"));
    TAKE_ERROR(a, "invalid_data", nullptr);
    c.send(proto::Typing{true});
    QJsonObject e;
    TAKE_ERROR(c, "not_in_room", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("typing"));

    // The typist leaves: false, then partner_left.
    a.send(proto::Typing{true});
    TAKE_NEXT(b, "partner_typing", &t);
    a.send(proto::LeaveRoom{});
    TAKE_NEXT(a, "room_left", nullptr);
    TAKE_NEXT(b, "partner_typing", &t);
    QCOMPARE(t.value(QLatin1String("typing")), QJsonValue(false));
    TAKE_NEXT(b, "partner_left", nullptr);

    // The typist drops: false, then partner_away.
    TestClient d(QStringLiteral("D")), f(QStringLiteral("F"));
    PAIR(d, f, room);
    d.send(proto::Typing{true});
    TAKE_NEXT(f, "partner_typing", &t);
    QCOMPARE(t.value(QLatin1String("typing")), QJsonValue(true));
    d.drop();
    TAKE_NEXT(f, "partner_typing", &t);
    QCOMPARE(t.value(QLatin1String("typing")), QJsonValue(false));
    TAKE_NEXT(f, "partner_away", &t);
    QCOMPARE(roomIdOf(t), room);
    QUIET(a);
    QUIET(b);
    QUIET(c);
}

void TstServerRooms::messageBeforePartnerLeavesIsDelivered()
{
    // A sends, B leaves at once: A's message is stored, so A gets its ack before partner_left
    // (never "partner left" and then an ack for a message it had given up on).
    QVERIFY(startServer());
    for (int round = 0; round < 10; ++round) {
        TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
        qint64 room = 0;
        PAIR(a, b, room);
        a.sendText(QStringLiteral("last words"), QStringLiteral("n%1").arg(round));
        b.send(proto::LeaveRoom{});
        QJsonObject ack;
        QJsonObject left;
        if (m_server->threadCount() > 1 && a.waitForAny() == QLatin1String("partner_left")) {
            // On two threads, B's leave may be handled before A's message is (they arrive on
            // different threads, and nothing orders two users' frames). Then the message is
            // refused, not stored, and never acknowledged.
            TAKE_NEXT(a, "partner_left", &left);
            TAKE_ERROR(a, "not_in_room", nullptr);
            QTest::qWait(50);
            QCOMPARE(a.count(QStringLiteral("new_message")), 0);
        } else {
            TAKE_NEXT(a, "new_message", &ack);
            QCOMPARE(str(ack, "content"), QStringLiteral("last words"));
            TAKE_NEXT(a, "partner_left", &left);
        }
        QCOMPARE(str(left, "reason"), QStringLiteral("left"));
        b.takeAll(QStringLiteral("new_message"));
        TAKE(b, "room_left", nullptr);
    }
}

void TstServerRooms::leaveRoom()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    Db db(m_dbPath);
    QVERIFY2(db.ok(), qPrintable(db.error()));

    a.send(proto::LeaveRoom{});
    QJsonObject left;
    TAKE_NEXT(a, "room_left", &left);
    QCOMPARE(roomIdOf(left), room);
    TAKE_NEXT(b, "partner_left", &left);
    QCOMPARE(roomIdOf(left), room);
    QCOMPARE(str(left, "reason"), QStringLiteral("left"));

    const QString sql =
        QStringLiteral("SELECT is_active, ended_at, end_reason FROM chat_rooms WHERE id = ?");
    QTRY_COMPARE_WITH_TIMEOUT(db.row(sql, {room}).value(0).toInt(), 0, kWait);
    const QVariantList row = db.row(sql, {room});
    QVERIFY(!row[1].isNull() && !row[1].toString().isEmpty());
    QCOMPARE(row[2].toString(), QStringLiteral("left"));

    // Both are out of the room now.
    QJsonObject e;
    for (TestClient *client : {&a, &b}) {
        client->sendText(QStringLiteral("anyone?"));
        TAKE_ERROR(*client, "not_in_room", nullptr);
        client->send(proto::LeaveRoom{});
        TAKE_ERROR(*client, "not_in_room", &e);
        QCOMPARE(str(e, "event"), QStringLiteral("leave_room_event"));
    }
    QJsonObject s;
    STATS(a, &s);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 0);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 0);
    QUIET(a);
    QUIET(b);
}

void TstServerRooms::nextRequeues()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C"));
    qint64 room = 0;
    PAIR(a, b, room);
    OPEN(c);
    Db db(m_dbPath);
    QVERIFY2(db.ok(), qPrintable(db.error()));

    a.send(proto::Next{});
    QJsonObject d;
    TAKE_NEXT(a, "room_left", &d);
    QCOMPARE(roomIdOf(d), room);
    TAKE_NEXT(a, "waiting", nullptr);
    TAKE_NEXT(b, "partner_left", &d);
    QCOMPARE(roomIdOf(d), room);
    QCOMPARE(str(d, "reason"), QStringLiteral("next"));
    QTRY_COMPARE_WITH_TIMEOUT(
        db.value(QStringLiteral("SELECT end_reason FROM chat_rooms WHERE id = ?"), {room})
            .toString(),
        QStringLiteral("next"), kWait);

    // A is queued: the next user meets A; B (not re-queued) stays out.
    c.send(proto::JoinQueue{});
    QJsonObject ma;
    QJsonObject mc;
    TAKE_NEXT(a, "matched", &ma);
    TAKE_NEXT(c, "matched", &mc);
    QCOMPARE(str(ma, "partner_id"), c.userId());
    QVERIFY(roomIdOf(ma) != room);
    b.sendText(QStringLiteral("hello?"));
    TAKE_ERROR(b, "not_in_room", nullptr);

    // next outside a room is join_queue.
    b.send(proto::Next{});
    TAKE_NEXT(b, "waiting", nullptr);
    QJsonObject s;
    STATS(b, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 1);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 1);
    QUIET(a);
    QUIET(b);
    QUIET(c);
}

void TstServerRooms::bothPressNext()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    // Both at once, before either hears of the other's.
    a.send(proto::Next{});
    b.send(proto::Next{});

    QJsonObject ma;
    QJsonObject mb;
    TAKE(a, "matched", &ma);
    TAKE(b, "matched", &mb);
    // Nobody else waits, so the two may (and must) meet again, in a new room.
    QCOMPARE(str(ma, "partner_id"), b.userId());
    QCOMPARE(str(mb, "partner_id"), a.userId());
    QCOMPARE(roomIdOf(ma), roomIdOf(mb));
    QVERIFY(roomIdOf(ma) != room);

    // The old room ended once for each: on one node one got room_left, the other partner_left
    // (next). With the two on two nodes (ANONCHAT_TEST_THREADS=2) each node ends its side of
    // the room at once, so when both presses reach their nodes before either end is stored,
    // both hear room_left; never both partner_left, never neither.
    const QList<QJsonObject> leftA = a.takeAll(QStringLiteral("room_left"));
    const QList<QJsonObject> leftB = b.takeAll(QStringLiteral("room_left"));
    const QList<QJsonObject> partnerA = a.takeAll(QStringLiteral("partner_left"));
    const QList<QJsonObject> partnerB = b.takeAll(QStringLiteral("partner_left"));
    QCOMPARE(leftA.size() + partnerA.size(), 1);
    QCOMPARE(leftB.size() + partnerB.size(), 1);
    QVERIFY(leftA.size() + leftB.size() >= 1);
    if (m_server->threadCount() == 1)
        QCOMPARE(leftA.size() + leftB.size(), 1);
    for (const QJsonObject &left : leftA + leftB)
        QCOMPARE(roomIdOf(left), room);
    for (const QJsonObject &partnerLeft : partnerA + partnerB) {
        QCOMPARE(roomIdOf(partnerLeft), room);
        QCOMPARE(str(partnerLeft, "reason"), QStringLiteral("next"));
    }
    a.takeAll(QStringLiteral("waiting"));
    b.takeAll(QStringLiteral("waiting"));

    QJsonObject s;
    STATS(a, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 0);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 1);
    // And the new room works.
    a.sendText(QStringLiteral("again"));
    QJsonObject m;
    TAKE(b, "new_message", &m);
    QCOMPARE(roomIdOf(m), roomIdOf(ma));
    TAKE(a, "new_message", nullptr);
    QUIET(a);
    QUIET(b);
}

void TstServerRooms::previousPartnerNotRematched()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), x(QStringLiteral("X"));
    qint64 room = 0;
    PAIR(a, b, room);
    OPEN(x);
    a.send(proto::LeaveRoom{});
    TAKE_NEXT(a, "room_left", nullptr);
    TAKE_NEXT(b, "partner_left", nullptr);

    // X waits (for a shared interest); B queues; then A: A must not get B back while X waits.
    x.send(proto::JoinQueue{{QStringLiteral("rare-interest")}});
    TAKE_NEXT(x, "waiting", nullptr);
    b.send(proto::JoinQueue{});
    TAKE_NEXT(b, "waiting", nullptr);
    a.send(proto::JoinQueue{});
    QJsonObject w;
    TAKE_NEXT(a, "waiting", &w);
    QCOMPARE(w.value(QLatin1String("queued")).toInt(), 3);

    // When X's wait ends it takes one of them; the other stays waiting.
    QJsonObject mx;
    TAKE_NEXT(x, "matched", &mx);
    const QString partner = str(mx, "partner_id");
    QVERIFY2(partner == a.userId() || partner == b.userId(), qPrintable(partner));
    TestClient &taken = partner == a.userId() ? a : b;
    TestClient &left = partner == a.userId() ? b : a;
    QJsonObject m;
    TAKE_NEXT(taken, "matched", &m);
    QCOMPARE(str(m, "partner_id"), x.userId());
    QUIET(left);
    QJsonObject s;
    STATS(left, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 1);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 1);
    QUIET(x);
    QUIET(taken);
}

void TstServerRooms::report()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C"));
    qint64 room = 0;
    PAIR(a, b, room);
    OPEN(c);
    Db db(m_dbPath);
    QVERIFY2(db.ok(), qPrintable(db.error()));
    QJsonObject e;

    c.send(proto::Report{QStringLiteral("nobody")});
    TAKE_ERROR(c, "not_in_room", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("report"));
    a.send(proto::Report{QString(201, QLatin1Char('r'))});
    TAKE_ERROR(a, "invalid_data", nullptr);

    a.send(proto::Report{QStringLiteral("rude")});
    QJsonObject reported;
    TAKE_NEXT(a, "reported", &reported);
    QCOMPARE(roomIdOf(reported), room);
    // Stored before it is acknowledged.
    const QVariantList row = db.row(QStringLiteral(
        "SELECT room_id, reporter_id, reported_id, reason, created_at FROM reports"));
    QVERIFY2(!row.isEmpty(), qPrintable(db.error()));
    QCOMPARE(row[0].toLongLong(), room);
    QCOMPARE(row[1].toString(), a.userId());
    QCOMPARE(row[2].toString(), b.userId());
    QCOMPARE(row[3].toString(), QStringLiteral("rude"));
    QVERIFY(!row[4].toString().isEmpty());
    QCOMPARE(db.value(QStringLiteral("SELECT COUNT(*) FROM reports")).toInt(), 1);
    // The reported user is not told; the room goes on until someone leaves.
    QUIET(b);

    a.send(proto::LeaveRoom{});
    TAKE_NEXT(a, "room_left", nullptr);
    TAKE_NEXT(b, "partner_left", nullptr);
    a.send(proto::JoinQueue{});
    TAKE_NEXT(a, "waiting", nullptr);
    b.send(proto::JoinQueue{});
    TAKE_NEXT(b, "waiting", nullptr);
    // Alone together in the queue, past the interest wait: never matched.
    QTest::qWait(kInterestMs + 200);
    QCOMPARE(a.pendingEvents(), QStringList());
    QCOMPARE(b.pendingEvents(), QStringList());
    QJsonObject s;
    STATS(c, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 2);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 0);

    // The queue itself still works: C meets the longest waiting (A).
    c.send(proto::JoinQueue{});
    QJsonObject mc;
    TAKE_NEXT(c, "matched", &mc);
    QCOMPARE(str(mc, "partner_id"), a.userId());
    TAKE_NEXT(a, "matched", nullptr);
    QUIET(b);
    QUIET(a);
}

QTEST_GUILESS_MAIN(TstServerRooms)
#include "tst_server_rooms.moc"
