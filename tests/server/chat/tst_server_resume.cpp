// tst_server, resume: the resume window, its token and `last_id`, missed messages replayed, a
// dropped queued user removed, and away sessions capped per address.

#include "tests/server/chat/chatsuite.h"

using namespace anonchat::test::chat;

class TstServerResume : public ChatSuite
{
    Q_OBJECT

private slots:
    void resume();
    void resumeNotFirstEvent();
    void resumeUnknownToken();
    void resumeWindowExpires();
    void resumeAfterPartnerLeft();
    void queuedUserDropIsRemoved();
    void resumeReplaysEveryMissedMessage();
    void awaySessionsCappedPerAddress_data();
    void awaySessionsCappedPerAddress();

private:
    // The steps of resume().
    void exchangeTwoMessages(TestClient &a, TestClient &b);
    /// A drops; B sends two messages while A is away.
    void dropAndMissTwo(TestClient &a, TestClient &b, qint64 room, QJsonObject *missed1,
                        QJsonObject *missed2);
    /// A2 resumes as A and is given the two missed messages, and a fresh token.
    void resumeWithTheMissedTwo(TestClient &a, TestClient &a2, TestClient &b, qint64 room,
                                const QJsonObject &missed1, const QJsonObject &missed2,
                                QString *newToken);
    /// The conversation goes on, as A.
    void conversationGoesOn(TestClient &a, TestClient &a2, TestClient &b);
    /// A3 offers A's used token: refused, and it is matched with C as itself.
    void usedTokenRefused(TestClient &a, TestClient &a3, TestClient &c);
};

void TstServerResume::resume()
{
    QVERIFY(startServer([](ServerConfig &c) { c.resumeWindowMs = 10 * 1000; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    exchangeTwoMessages(a, b);
    RETURN_IF_FAILED();
    QJsonObject missed1, missed2;
    dropAndMissTwo(a, b, room, &missed1, &missed2);
    RETURN_IF_FAILED();

    TestClient a2(QStringLiteral("A2"));
    QString newToken;
    resumeWithTheMissedTwo(a, a2, b, room, missed1, missed2, &newToken);
    RETURN_IF_FAILED();
    conversationGoesOn(a, a2, b);
    RETURN_IF_FAILED();

    // The old token was used up; that connection keeps the identity of its welcome.
    TestClient a3(QStringLiteral("A3")), c(QStringLiteral("C"));
    usedTokenRefused(a, a3, c);
    RETURN_IF_FAILED();

    // The new token works, once more: after a second drop, nothing was missed.
    a2.drop();
    TAKE_NEXT(b, "partner_away", nullptr);
    TestClient a4(QStringLiteral("A4"));
    OPEN(a4);
    a4.send(proto::Resume{newToken});
    QJsonObject resumed;
    TAKE_NEXT(a4, "resumed", &resumed);
    QCOMPARE(str(resumed, "user_id"), a.userId());
    QCOMPARE(roomIdOf(resumed.value(QLatin1String("room")).toObject()), room);
    QCOMPARE(resumed.value(QLatin1String("room"))
                 .toObject()
                 .value(QLatin1String("messages"))
                 .toArray()
                 .size(),
             0);
    TAKE_NEXT(b, "partner_back", nullptr);
    QUIET(a4);
    QUIET(b);
    QUIET(a3);
    QUIET(c);
}

void TstServerResume::exchangeTwoMessages(TestClient &a, TestClient &b)
{
    a.sendText(QStringLiteral("before 1"));
    TAKE(a, "new_message", nullptr);
    TAKE(b, "new_message", nullptr);
    b.sendText(QStringLiteral("before 2"));
    TAKE(a, "new_message", nullptr);
    TAKE(b, "new_message", nullptr);
}

void TstServerResume::dropAndMissTwo(TestClient &a, TestClient &b, qint64 room,
                                     QJsonObject *missed1, QJsonObject *missed2)
{
    a.drop();
    QJsonObject d;
    TAKE_NEXT(b, "partner_away", &d);
    QCOMPARE(roomIdOf(d), room);
    b.sendText(QStringLiteral("missed 1"), QStringLiteral("b-nonce-1"));
    TAKE_NEXT(b, "new_message", missed1);
    b.sendText(QStringLiteral("missed 2"));
    TAKE_NEXT(b, "new_message", missed2);
    QJsonObject s;
    STATS(b, &s);
    QCOMPARE(s.value(QLatin1String("online")).toInt(), 1);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 1);
}

void TstServerResume::resumeWithTheMissedTwo(TestClient &a, TestClient &a2, TestClient &b,
                                             qint64 room, const QJsonObject &missed1,
                                             const QJsonObject &missed2, QString *newToken)
{
    OPEN(a2);
    QVERIFY(a2.userId() != a.userId());
    a2.send(proto::Resume{a.token()});
    QJsonObject resumed;
    TAKE_NEXT(a2, "resumed", &resumed);
    QCOMPARE(str(resumed, "user_id"), a.userId());
    *newToken = str(resumed, "resume_token");
    QVERIFY2(kTokenPattern.match(*newToken).hasMatch(), qPrintable(*newToken));
    QVERIFY(*newToken != a.token());
    QVERIFY(*newToken != a2.token());
    const QJsonObject r = resumed.value(QLatin1String("room")).toObject();
    QCOMPARE(roomIdOf(r), room);
    QCOMPARE(str(r, "partner_id"), b.userId());
    const QJsonArray messages = r.value(QLatin1String("messages")).toArray();
    QCOMPARE(messages.size(), 2); // exactly the missed ones
    QJsonObject m1 = messages[0].toObject();
    QJsonObject m2 = messages[1].toObject();
    QCOMPARE(m1.value(QLatin1String("id")), missed1.value(QLatin1String("id")));
    QCOMPARE(str(m1, "content"), QStringLiteral("missed 1"));
    QCOMPARE(str(m1, "sender_id"), b.userId());
    QCOMPARE(roomIdOf(m1), room);
    QCOMPARE(str(m1, "timestamp"), str(missed1, "timestamp"));
    QVERIFY2(!m1.contains(QLatin1String("nonce")), "the partner's nonce is not for A");
    QCOMPARE(m2.value(QLatin1String("id")), missed2.value(QLatin1String("id")));
    QCOMPARE(str(m2, "content"), QStringLiteral("missed 2"));
    QJsonObject d;
    TAKE_NEXT(b, "partner_back", &d);
    QCOMPARE(roomIdOf(d), room);
}

void TstServerResume::conversationGoesOn(TestClient &a, TestClient &a2, TestClient &b)
{
    a2.sendText(QStringLiteral("back"));
    QJsonObject m;
    TAKE_NEXT(b, "new_message", &m);
    QCOMPARE(str(m, "sender_id"), a.userId());
    TAKE_NEXT(a2, "new_message", nullptr);
    b.sendText(QStringLiteral("welcome back"));
    TAKE_NEXT(a2, "new_message", &m);
    QCOMPARE(str(m, "content"), QStringLiteral("welcome back"));
    TAKE_NEXT(b, "new_message", nullptr);
}

void TstServerResume::usedTokenRefused(TestClient &a, TestClient &a3, TestClient &c)
{
    OPEN(a3);
    a3.send(proto::Resume{a.token()});
    QJsonObject e;
    TAKE_ERROR(a3, "resume_failed", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("resume"));
    a3.send(proto::JoinQueue{});
    TAKE_NEXT(a3, "waiting", nullptr);
    OPEN(c);
    c.send(proto::JoinQueue{});
    QJsonObject mc;
    TAKE_NEXT(c, "matched", &mc);
    QCOMPARE(str(mc, "partner_id"), a3.userId());
    TAKE_NEXT(a3, "matched", nullptr);
}

void TstServerResume::resumeNotFirstEvent()
{
    QVERIFY(startServer([](ServerConfig &c) { c.resumeWindowMs = 10 * 1000; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    a.drop();
    TAKE_NEXT(b, "partner_away", nullptr);

    TestClient a2(QStringLiteral("A2"));
    OPEN(a2);
    QJsonObject s;
    STATS(a2, &s);
    a2.send(proto::Resume{a.token()});
    QJsonObject e;
    TAKE_ERROR(a2, "resume_failed", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("resume"));
    // Still its own (roomless) identity.
    a2.sendText(QStringLiteral("am I A?"));
    TAKE_ERROR(a2, "not_in_room", nullptr);
    QUIET(b);

    // The refused attempt did not use the token up.
    TestClient a3(QStringLiteral("A3"));
    OPEN(a3);
    a3.send(proto::Resume{a.token()});
    QJsonObject resumed;
    TAKE_NEXT(a3, "resumed", &resumed);
    QCOMPARE(str(resumed, "user_id"), a.userId());
    TAKE_NEXT(b, "partner_back", nullptr);
    QUIET(a2);
}

void TstServerResume::resumeUnknownToken()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    OPEN(a);
    OPEN(b);
    a.send(proto::Resume{QStringLiteral("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")});
    QJsonObject e;
    TAKE_ERROR(a, "resume_failed", &e);
    // A connection cannot "resume" its own live identity either.
    b.send(proto::Resume{b.token()});
    TAKE_ERROR(b, "resume_failed", nullptr);
    // Both go on with their welcome identities.
    a.send(proto::JoinQueue{});
    TAKE_NEXT(a, "waiting", nullptr);
    b.send(proto::JoinQueue{});
    QJsonObject mb;
    TAKE_NEXT(b, "matched", &mb);
    QCOMPARE(str(mb, "partner_id"), a.userId());
    QJsonObject ma;
    TAKE_NEXT(a, "matched", &ma);
    QCOMPARE(str(ma, "partner_id"), b.userId());
    QUIET(a);
    QUIET(b);
}

void TstServerResume::resumeWindowExpires()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    Db db(m_dbPath);
    QVERIFY2(db.ok(), qPrintable(db.error()));

    a.drop();
    QJsonObject d;
    TAKE_NEXT(b, "partner_away", &d);
    QElapsedTimer clock;
    clock.start();
    TAKE_NEXT(b, "partner_left", &d);
    QVERIFY2(clock.elapsed() >= kResumeMs - 100, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(roomIdOf(d), room);
    QCOMPARE(str(d, "reason"), QStringLiteral("disconnected"));
    QTRY_COMPARE_WITH_TIMEOUT(
        db.value(QStringLiteral("SELECT end_reason FROM chat_rooms WHERE id = ?"), {room})
            .toString(),
        QStringLiteral("disconnected"), kWait);
    QCOMPARE(
        db.value(QStringLiteral("SELECT is_active FROM chat_rooms WHERE id = ?"), {room}).toInt(),
        0);
    QVERIFY(
        !db.value(QStringLiteral("SELECT ended_at FROM chat_rooms WHERE id = ?"), {room}).isNull());

    // Too late to come back.
    TestClient a2(QStringLiteral("A2"));
    OPEN(a2);
    a2.send(proto::Resume{a.token()});
    TAKE_ERROR(a2, "resume_failed", nullptr);
    b.sendText(QStringLiteral("hello?"));
    TAKE_ERROR(b, "not_in_room", nullptr);
    QJsonObject s;
    STATS(b, &s);
    QCOMPARE(s.value(QLatin1String("online")).toInt(), 2);
    QCOMPARE(s.value(QLatin1String("active_rooms")).toInt(), 0);
    QUIET(b);
    QUIET(a2);
}

void TstServerResume::resumeAfterPartnerLeft()
{
    QVERIFY(startServer([](ServerConfig &c) { c.resumeWindowMs = 10 * 1000; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    a.drop();
    TAKE_NEXT(b, "partner_away", nullptr);
    b.send(proto::LeaveRoom{});
    TAKE_NEXT(b, "room_left", nullptr);

    TestClient a2(QStringLiteral("A2"));
    OPEN(a2);
    a2.send(proto::Resume{a.token()});
    QJsonObject resumed;
    TAKE_NEXT(a2, "resumed", &resumed);
    QCOMPARE(str(resumed, "user_id"), a.userId());
    QVERIFY(resumed.contains(QLatin1String("room")));
    QVERIFY(resumed.value(QLatin1String("room")).isNull());
    a2.sendText(QStringLiteral("hello?"));
    TAKE_ERROR(a2, "not_in_room", nullptr);
    QUIET(b);
    QUIET(a2);
}

void TstServerResume::queuedUserDropIsRemoved()
{
    QVERIFY(startServer([](ServerConfig &c) { c.resumeWindowMs = 10 * 1000; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C"));
    OPEN(a);
    OPEN(b);
    OPEN(c);
    a.send(proto::JoinQueue{});
    TAKE_NEXT(a, "waiting", nullptr);
    a.drop();
    // At once, not after the (long) resume window.
    QTRY_COMPARE_WITH_TIMEOUT(m_server->queuedCount(), 0, 500);
    QJsonObject s;
    STATS(b, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 0);
    b.send(proto::JoinQueue{});
    TAKE_NEXT(b, "waiting", nullptr);
    QUIET(b);
    c.send(proto::JoinQueue{});
    QJsonObject mc;
    TAKE_NEXT(c, "matched", &mc);
    QCOMPARE(str(mc, "partner_id"), b.userId());
    TAKE_NEXT(b, "matched", nullptr);

    // Its identity is kept for the window, but not its queue place.
    TestClient a2(QStringLiteral("A2"));
    OPEN(a2);
    a2.send(proto::Resume{a.token()});
    QJsonObject resumed;
    TAKE_NEXT(a2, "resumed", &resumed);
    QCOMPARE(str(resumed, "user_id"), a.userId());
    QVERIFY(resumed.value(QLatin1String("room")).isNull());
    STATS(a2, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 0);
    QUIET(a2);
    QUIET(b);
    QUIET(c);
}

void TstServerResume::resumeReplaysEveryMissedMessage()
{
    // However many messages arrive while a user is away (the rate limit bounds them), resume
    // sends every one: the server trims its per-room memory only below what both were sent.
    QVERIFY(startServer([](ServerConfig &c) {
        c.resumeWindowMs = 20 * 1000;
        c.rateLimit = 0;
    }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    for (int i = 0; i < 150; ++i) // more than the tail kept when everyone has everything
        b.sendText(QStringLiteral("seen %1").arg(i));
    QTRY_COMPARE_WITH_TIMEOUT(a.count(QStringLiteral("new_message")), 150, kWait);
    a.takeAll(QStringLiteral("new_message"));
    QTRY_COMPARE_WITH_TIMEOUT(b.count(QStringLiteral("new_message")), 150, kWait);
    b.takeAll(QStringLiteral("new_message"));

    a.drop();
    TAKE_NEXT(b, "partner_away", nullptr);
    constexpr int missed = 1200;
    for (int i = 0; i < missed; ++i)
        b.sendText(QStringLiteral("missed %1").arg(i));
    QTRY_COMPARE_WITH_TIMEOUT(b.count(QStringLiteral("new_message")), missed, 20 * kWait);
    const QList<QJsonObject> acks = b.takeAll(QStringLiteral("new_message"));

    TestClient a2(QStringLiteral("A2"));
    OPEN(a2);
    a2.send(proto::Resume{a.token()});
    QJsonObject resumed;
    TAKE_NEXT(a2, "resumed", &resumed);
    const QJsonArray messages =
        resumed.value(QLatin1String("room")).toObject().value(QLatin1String("messages")).toArray();
    QCOMPARE(messages.size(), missed);
    for (int i = 0; i < missed; ++i) {
        QCOMPARE(messages[i].toObject().value(QLatin1String("id")),
                 acks[i].value(QLatin1String("id")));
        QCOMPARE(str(messages[i].toObject(), "content"), QStringLiteral("missed %1").arg(i));
    }
}

// Away sessions kept for the resume window are capped per address (--max-connections-per-address,
// here 3): rounds of connect, get_stats, drop from one address used to leave one away session
// each. Over the cap the longest away without a room goes first, so a user who lost its
// connection in a chat keeps its room through the churn and resumes it.
void TstServerResume::awaySessionsCappedPerAddress_data()
{
    QTest::addColumn<int>("perAddress");
    QTest::addColumn<int>("total");
    QTest::newRow("per address") << 3 << 20000;
    // Behind a proxy every user has one address: away users are capped in all instead.
    QTest::newRow("no per-address cap: in all") << 0 << 3;
}

void TstServerResume::awaySessionsCappedPerAddress()
{
    QFETCH(int, perAddress);
    QFETCH(int, total);
    QVERIFY(startServer([&](ServerConfig &c) {
        c.resumeWindowMs = 60 * 1000;
        c.maxConnectionsPerAddress = perAddress;
        c.maxConnections = total;
    }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    a.drop();
    TAKE_NEXT(b, "partner_away", nullptr);
    QStringList churnTokens;
    for (int i = 0; i < 10; ++i) {
        TestClient churn(QStringLiteral("churn %1").arg(i));
        OPEN(churn);
        QJsonObject s;
        STATS(churn, &s); // it did something: it has an identity worth keeping
        churnTokens.append(churn.token());
        churn.drop();
        // One at a time, as a client looping would (and below the WebSocket limit of 3).
        QTRY_VERIFY_WITH_TIMEOUT(m_server->connectionCount() == 1, kWait);
    }
    const QHash<QString, double> m = metricsNow();
    QCOMPARE(m.value(QStringLiteral("anonchat_away_users"), -1), 3.0);

    // The user in a room is still there, room and all.
    TestClient a2(QStringLiteral("A2"));
    OPEN(a2);
    a2.send(proto::Resume{a.token()});
    QJsonObject resumed;
    TAKE_NEXT(a2, "resumed", &resumed);
    QCOMPARE(str(resumed, "user_id"), a.userId());
    QCOMPARE(roomIdOf(resumed.value(QLatin1String("room")).toObject()), room);
    TAKE_NEXT(b, "partner_back", nullptr);
    // The first of the churn went when the cap was passed.
    TestClient c0(QStringLiteral("C0"));
    OPEN(c0);
    c0.send(proto::Resume{churnTokens.first()});
    TAKE_ERROR(c0, "resume_failed", nullptr);
}

QTEST_GUILESS_MAIN(TstServerResume)
#include "tst_server_resume.moc"
