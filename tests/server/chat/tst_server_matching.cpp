// tst_server, identity and matching: `welcome`, the queue, interests (common, priority, fallback),
// languages (`lang`, `common_language`, the language phase, a bad tag), joining twice or from a
// room, leaving the queue, and `stats`.

#include "tests/server/chat/chatsuite.h"

using namespace anonchat::test::chat;

class TstServerMatching : public ChatSuite
{
    Q_OBJECT

private slots:
    void welcome();
    void joinQueueAndMatch();
    void commonInterests();
    void interestPriority();
    void interestFallback();
    void commonLanguage();
    void languagePhase();
    void invalidLanguage();
    void joinTwiceIsIdempotent();
    void joinWhileInRoom();
    void leaveQueue();
    void stats();
};

void TstServerMatching::welcome()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C"));
    OPEN(a);
    OPEN(b);
    OPEN(c);
    int online = 0;
    QSet<QString> ids;
    QSet<QString> tokens;
    for (TestClient *client : {&a, &b, &c}) {
        const QJsonObject &w = client->welcome();
        QVERIFY2(kUserIdPattern.match(client->userId()).hasMatch(), qPrintable(client->userId()));
        QVERIFY2(kTokenPattern.match(client->token()).hasMatch(), qPrintable(client->token()));
        QCOMPARE(w.value(QLatin1String("protocol")).toInt(), 1);
        QCOMPARE(w.value(QLatin1String("online")).toInt(), ++online);
        const QJsonObject limits = w.value(QLatin1String("limits")).toObject();
        QCOMPARE(limits.value(QLatin1String("max_message_chars")).toInt(), 500);
        QCOMPARE(limits.value(QLatin1String("max_interests")).toInt(), 5);
        QCOMPARE(limits.value(QLatin1String("max_interest_chars")).toInt(), 32);
        ids.insert(client->userId());
        tokens.insert(client->token());
    }
    QCOMPARE(ids.size(), 3);
    QCOMPARE(tokens.size(), 3);
    // Nothing is sent unasked after the welcome.
    QUIET(a);
    QUIET(b);
    QUIET(c);
}

void TstServerMatching::joinQueueAndMatch()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    OPEN(a);
    OPEN(b);
    a.send(proto::JoinQueue{});
    QJsonObject waiting;
    TAKE_NEXT(a, "waiting", &waiting);
    QCOMPARE(waiting.value(QLatin1String("online")).toInt(), 2);
    QCOMPARE(waiting.value(QLatin1String("queued")).toInt(), 1);

    b.send(proto::JoinQueue{});
    QJsonObject ma;
    QJsonObject mb;
    TAKE_NEXT(a, "matched", &ma);
    TAKE_NEXT(b, "matched", &mb);
    const qint64 room = roomIdOf(ma);
    QVERIFY(room > 0);
    QCOMPARE(roomIdOf(mb), room);
    QCOMPARE(str(ma, "partner_id"), b.userId());
    QCOMPARE(str(mb, "partner_id"), a.userId());
    QVERIFY(ma.value(QLatin1String("common_interests")).isArray());
    QCOMPARE(ma.value(QLatin1String("common_interests")).toArray().size(), 0);
    QCOMPARE(mb.value(QLatin1String("common_interests")).toArray().size(), 0);

    QJsonObject s;
    STATS(b, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 0);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 1);

    // The room row: both users, active, not ended.
    Db db(m_dbPath);
    QVERIFY2(db.ok(), qPrintable(db.error()));
    const QString sql = QStringLiteral(
        "SELECT user1_id, user2_id, is_active, ended_at, created_at FROM chat_rooms WHERE id = ?");
    QTRY_VERIFY_WITH_TIMEOUT(!db.row(sql, {room}).isEmpty(), kWait);
    const QVariantList row = db.row(sql, {room});
    QCOMPARE((QSet<QString>{row[0].toString(), row[1].toString()}),
             (QSet<QString>{a.userId(), b.userId()}));
    QCOMPARE(row[2].toInt(), 1);
    QVERIFY(row[3].isNull());
    QVERIFY(!row[4].toString().isEmpty());
    QUIET(a);
    QUIET(b);
}

void TstServerMatching::commonInterests()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    OPEN(a);
    OPEN(b);
    // Interests are compared trimmed and case-folded.
    a.sendRaw(QStringLiteral(R"({"event":"join_queue","data":{"interests":["Music","chess"]}})"));
    TAKE_NEXT(a, "waiting", nullptr);
    b.sendRaw(QStringLiteral(
        R"({"event":"join_queue","data":{"interests":["go"," CHESS ","music","cooking"]}})"));
    QJsonObject ma;
    QJsonObject mb;
    TAKE_NEXT(a, "matched", &ma);
    TAKE_NEXT(b, "matched", &mb);
    QCOMPARE(roomIdOf(ma), roomIdOf(mb));
    QStringList common;
    for (const QJsonValue &v : ma.value(QLatin1String("common_interests")).toArray())
        common.append(v.toString());
    common.sort();
    QCOMPARE(common, (QStringList{QStringLiteral("chess"), QStringLiteral("music")}));
    QCOMPARE(mb.value(QLatin1String("common_interests")).toArray().size(), 2);
    QUIET(a);
    QUIET(b);
}

void TstServerMatching::interestPriority()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C"));
    OPEN(a);
    OPEN(b);
    OPEN(c);
    a.send(proto::JoinQueue{{QStringLiteral("music")}});
    TAKE_NEXT(a, "waiting", nullptr);
    // B is open to anyone, but A waits for a shared interest first.
    b.send(proto::JoinQueue{});
    TAKE_NEXT(b, "waiting", nullptr);
    c.send(proto::JoinQueue{{QStringLiteral("music")}});
    QJsonObject ma;
    QJsonObject mc;
    TAKE_NEXT(a, "matched", &ma);
    TAKE_NEXT(c, "matched", &mc);
    QCOMPARE(str(ma, "partner_id"), c.userId());
    QCOMPARE(str(mc, "partner_id"), a.userId());
    QCOMPARE(ma.value(QLatin1String("common_interests")).toArray(),
             QJsonArray{QStringLiteral("music")});
    // B stays waiting alone, also after the interest wait.
    QTest::qWait(kInterestMs + 100);
    QCOMPARE(b.pendingEvents(), QStringList());
    QJsonObject s;
    STATS(b, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 1);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 1);
    QUIET(a);
    QUIET(c);
}

void TstServerMatching::interestFallback()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    OPEN(a);
    OPEN(b);
    QElapsedTimer clock;
    clock.start();
    a.send(proto::JoinQueue{{QStringLiteral("music")}});
    TAKE_NEXT(a, "waiting", nullptr);
    b.send(proto::JoinQueue{});
    TAKE_NEXT(b, "waiting", nullptr);
    QJsonObject ma;
    QJsonObject mb;
    TAKE_NEXT(a, "matched", &ma);
    const qint64 elapsed = clock.elapsed();
    TAKE_NEXT(b, "matched", &mb);
    QVERIFY2(elapsed >= kInterestMs - 20, qPrintable(QString::number(elapsed)));
    QVERIFY2(elapsed < kInterestMs + 1500, qPrintable(QString::number(elapsed)));
    QCOMPARE(str(ma, "partner_id"), b.userId());
    QCOMPARE(str(mb, "partner_id"), a.userId());
    QCOMPARE(roomIdOf(ma), roomIdOf(mb));
    QCOMPARE(ma.value(QLatin1String("common_interests")).toArray().size(), 0);
    QUIET(a);
    QUIET(b);
}

void TstServerMatching::commonLanguage()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C")),
        d(QStringLiteral("D"));
    OPEN(a);
    OPEN(b);
    OPEN(c);
    OPEN(d);
    // Tags are compared by their primary subtag, lower-cased.
    a.sendRaw(QStringLiteral(R"({"event":"join_queue","data":{"lang":"zh-CN"}})"));
    TAKE_NEXT(a, "waiting", nullptr);
    b.sendRaw(QStringLiteral(R"({"event":"join_queue","data":{"lang":"en_US"}})"));
    TAKE_NEXT(b, "waiting", nullptr);
    c.sendRaw(QStringLiteral(R"({"event":"join_queue","data":{"lang":"ZH"}})"));
    QJsonObject ma;
    QJsonObject mc;
    TAKE_NEXT(a, "matched", &ma);
    TAKE_NEXT(c, "matched", &mc);
    QCOMPARE(str(ma, "partner_id"), c.userId());
    QCOMPARE(str(ma, "common_language"), QStringLiteral("zh"));
    QCOMPARE(str(mc, "common_language"), QStringLiteral("zh"));
    QCOMPARE(ma.value(QLatin1String("common_interests")).toArray().size(), 0);
    // B waits for its language through the wait, then takes anyone: D, without a language.
    d.send(proto::JoinQueue{});
    TAKE_NEXT(d, "waiting", nullptr);
    QJsonObject mb;
    QJsonObject md;
    TAKE_NEXT(b, "matched", &mb);
    TAKE_NEXT(d, "matched", &md);
    QCOMPARE(str(mb, "partner_id"), d.userId());
    QVERIFY(mb.contains(QLatin1String("common_language")));
    QVERIFY(mb.value(QLatin1String("common_language")).isNull());
    QVERIFY(md.value(QLatin1String("common_language")).isNull());
    QUIET(a);
    QUIET(b);
    QUIET(c);
    QUIET(d);
}

void TstServerMatching::languagePhase()
{
    // A longer wait than the suite's: the three joins must all land within A's language phase
    // (half the wait), or A and C would be paired as anyone, even on a loaded machine.
    constexpr qint64 kWaitMs = 2000;
    QVERIFY(startServer([](ServerConfig &c) { c.interestWaitMs = kWaitMs; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C"));
    OPEN(a);
    OPEN(b);
    OPEN(c);
    QElapsedTimer clock;
    clock.start();
    // A and B share a language, not an interest; C shares A's interest in another language.
    a.send(proto::JoinQueue{{QStringLiteral("go")}, QStringLiteral("fr")});
    TAKE_NEXT(a, "waiting", nullptr);
    c.send(proto::JoinQueue{{QStringLiteral("go")}, QStringLiteral("de")});
    TAKE_NEXT(c, "waiting", nullptr);
    b.send(proto::JoinQueue{{QStringLiteral("chess")}, QStringLiteral("fr")});
    TAKE_NEXT(b, "waiting", nullptr);
    QJsonObject ma;
    QJsonObject mb;
    TAKE_NEXT(a, "matched", &ma);
    const qint64 elapsed = clock.elapsed();
    TAKE_NEXT(b, "matched", &mb);
    // Paired once both are in their language phase: half the wait after B joined.
    QVERIFY2(elapsed >= kWaitMs / 2 - 20, qPrintable(QString::number(elapsed)));
    QVERIFY2(elapsed < kWaitMs + 1500, qPrintable(QString::number(elapsed)));
    QCOMPARE(str(ma, "partner_id"), b.userId());
    QCOMPARE(str(mb, "common_language"), QStringLiteral("fr"));
    QCOMPARE(mb.value(QLatin1String("common_interests")).toArray().size(), 0);
    // C is left alone: nobody else waits.
    QTest::qWait(kWaitMs / 2 + 100);
    QCOMPARE(c.pendingEvents(), QStringList());
    QUIET(a);
    QUIET(b);
}

void TstServerMatching::invalidLanguage()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A"));
    OPEN(a);
    for (const char *data : {R"({"lang":"x-klingon"})", R"({"lang":"e"})", R"({"lang":5})",
                             R"({"lang":"english"})", R"({"lang":"zh-"})"}) {
        a.sendRaw(QStringLiteral(R"({"event":"join_queue","data":%1})").arg(QLatin1String(data)));
        QJsonObject e;
        TAKE_ERROR(a, "invalid_data", &e);
        QCOMPARE(str(e, "event"), QStringLiteral("join_queue"));
    }
    a.sendRaw(QStringLiteral(R"({"event":"next","data":{"lang":"1a"}})"));
    QJsonObject e;
    TAKE_ERROR(a, "invalid_data", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("next"));
    // Not queued by any of them.
    QJsonObject s;
    STATS(a, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 0);
    a.send(proto::LeaveQueue{});
    TAKE_ERROR(a, "not_in_queue", nullptr);
    QUIET(a);
}

void TstServerMatching::joinTwiceIsIdempotent()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C"));
    OPEN(a);
    OPEN(b);
    OPEN(c);
    QJsonObject w;
    a.send(proto::JoinQueue{});
    TAKE_NEXT(a, "waiting", &w);
    QCOMPARE(w.value(QLatin1String("queued")).toInt(), 1);
    a.send(proto::JoinQueue{});
    TAKE_NEXT(a, "waiting", &w);
    QCOMPARE(w.value(QLatin1String("queued")).toInt(), 1);
    QJsonObject s;
    STATS(c, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 1);

    b.send(proto::JoinQueue{});
    TAKE_NEXT(a, "matched", nullptr);
    TAKE_NEXT(b, "matched", nullptr);
    // No second copy of A is left in the queue.
    c.send(proto::JoinQueue{});
    TAKE_NEXT(c, "waiting", &w);
    QCOMPARE(w.value(QLatin1String("queued")).toInt(), 1);
    STATS(c, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 1);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 1);
    QUIET(a);
    QUIET(b);
    QUIET(c);
}

void TstServerMatching::joinWhileInRoom()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    a.send(proto::JoinQueue{});
    QJsonObject e;
    TAKE_ERROR(a, "already_in_room", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("join_queue"));
    // Nothing changed: still in the room, not queued.
    a.sendText(QStringLiteral("still here"));
    QJsonObject m;
    TAKE(b, "new_message", &m);
    QCOMPARE(roomIdOf(m), room);
    TAKE(a, "new_message", nullptr);
    QJsonObject s;
    STATS(a, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 0);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 1);
    QUIET(a);
    QUIET(b);
}

void TstServerMatching::leaveQueue()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    OPEN(a);
    OPEN(b);
    QJsonObject e;
    a.send(proto::LeaveQueue{});
    TAKE_ERROR(a, "not_in_queue", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("leave_queue"));

    a.send(proto::JoinQueue{});
    TAKE_NEXT(a, "waiting", nullptr);
    a.send(proto::LeaveQueue{});
    TAKE_NEXT(a, "queue_left", nullptr);
    QJsonObject s;
    STATS(b, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 0);
    a.send(proto::LeaveQueue{});
    TAKE_ERROR(a, "not_in_queue", nullptr);

    // A left: B waits alone.
    b.send(proto::JoinQueue{});
    TAKE_NEXT(b, "waiting", nullptr);
    QUIET(a);
    QUIET(b);

    // In a room, leave_queue is not_in_queue too.
    a.send(proto::JoinQueue{});
    TAKE(a, "matched", nullptr);
    TAKE(b, "matched", nullptr);
    a.send(proto::LeaveQueue{});
    TAKE_ERROR(a, "not_in_queue", nullptr);
    QUIET(a);
    QUIET(b);
}

void TstServerMatching::stats()
{
    QVERIFY(startServer([](ServerConfig &c) { c.resumeWindowMs = 10 * 1000; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C")),
        d(QStringLiteral("D")), e(QStringLiteral("E"));
    qint64 room = 0;
    PAIR(a, b, room);
    OPEN(c);
    OPEN(d);
    OPEN(e);
    c.send(proto::JoinQueue{});
    TAKE_NEXT(c, "waiting", nullptr);
    QJsonObject s;
    STATS(d, &s);
    QCOMPARE(s.value(QLatin1String("online")).toInt(), 5);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 1);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 1);

    // An away user is not online, but keeps its room.
    a.drop();
    TAKE_NEXT(b, "partner_away", nullptr);
    STATS(d, &s);
    QCOMPARE(s.value(QLatin1String("online")).toInt(), 4);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 1);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 1);

    c.send(proto::LeaveQueue{});
    TAKE_NEXT(c, "queue_left", nullptr);
    b.send(proto::LeaveRoom{});
    TAKE_NEXT(b, "room_left", nullptr);
    // With two nodes (ANONCHAT_TEST_THREADS=2) the room may be counted by A's node, which hears
    // of the end once it is stored: asked again until then (2 s at most).
    for (QDeadlineTimer deadline(2000);; QTest::qWait(20)) {
        STATS(e, &s);
        if (s.value(QLatin1String("active_rooms")).toInt() == 0 || deadline.hasExpired())
            break;
    }
    QCOMPARE(s.value(QLatin1String("online")).toInt(), 4);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 0);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 0);
    QUIET(b);
    QUIET(c);
    QUIET(d);
    QUIET(e);
}

QTEST_GUILESS_MAIN(TstServerMatching)
#include "tst_server_matching.moc"
