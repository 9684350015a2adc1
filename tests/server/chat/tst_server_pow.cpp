// tst_server, admission by proof of work (`--pow-bits`): the challenge in `welcome`, join_queue
// and next refused without a proof or with a wrong one, admitted for the connection's life, and
// the admission carried by a resume (across nodes in the _threads run).

#include "shared/proofofwork.h"
#include "tests/server/chat/chatsuite.h"

using namespace anonchat::test::chat;

namespace {

constexpr int kBits = 12;

/// The raw challenge of a client's `welcome.pow`; empty when it has none.
QByteArray challengeOf(const TestClient &c)
{
    const QJsonObject pow = c.welcome().value(QLatin1String("pow")).toObject();
    return QByteArray::fromHex(pow.value(QLatin1String("challenge")).toString().toLatin1());
}

/// A nonce that solves `challenge` (and not `other`, so that it proves nothing there).
QString solve(const QByteArray &challenge, const QByteArray &other = {})
{
    for (int n = 0;; ++n) {
        const QString nonce = QString::number(n);
        if (proto::powSolves(challenge, nonce, kBits) &&
            (other.isEmpty() || !proto::powSolves(other, nonce, kBits)))
            return nonce;
    }
}

/// A nonce that does not solve `challenge`.
QString wrongNonce(const QByteArray &challenge)
{
    for (int i = 0;; ++i) {
        const QString nonce = QStringLiteral("wrong-%1").arg(i);
        if (!proto::powSolves(challenge, nonce, kBits))
            return nonce;
    }
}

} // namespace

class TstServerPow : public ChatSuite
{
    Q_OBJECT

private slots:
    void offByDefault();
    void welcomeCarriesChallenge();
    void refusedWithoutOrWithWrongProof();
    void admittedForTheConnectionsLife();
    void solvedPairsMatch();
    void admissionSurvivesResume();
    void unadmittedResumeSolvesNewChallenge();
};

void TstServerPow::offByDefault()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A"));
    OPEN(a);
    QVERIFY(!a.welcome().contains(QLatin1String("pow")));
    a.send(proto::JoinQueue{});
    TAKE_NEXT(a, "waiting", nullptr);
}

void TstServerPow::welcomeCarriesChallenge()
{
    QVERIFY(startServer([](ServerConfig &c) { c.powBits = kBits; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    OPEN(a);
    OPEN(b);
    const QJsonObject pow = a.welcome().value(QLatin1String("pow")).toObject();
    QCOMPARE(pow.value(QLatin1String("bits")).toInt(), kBits);
    static const QRegularExpression hex(QStringLiteral("^[0-9a-f]{32}$"));
    QVERIFY2(hex.match(pow.value(QLatin1String("challenge")).toString()).hasMatch(),
             qPrintable(pow.value(QLatin1String("challenge")).toString()));
    QCOMPARE(challengeOf(a).size(), proto::kPowChallengeBytes);
    QVERIFY(challengeOf(a) != challengeOf(b)); // one per connection
}

void TstServerPow::refusedWithoutOrWithWrongProof()
{
    QVERIFY(startServer([](ServerConfig &c) { c.powBits = kBits; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    OPEN(a);
    OPEN(b);
    QJsonObject e;
    a.send(proto::JoinQueue{});
    TAKE_NEXT(a, "error", &e);
    QCOMPARE(str(e, "code"), QStringLiteral("pow_required"));
    QCOMPARE(str(e, "event"), QStringLiteral("join_queue"));
    a.send(proto::Next{});
    TAKE_NEXT(a, "error", &e);
    QCOMPARE(str(e, "code"), QStringLiteral("pow_required"));
    QCOMPARE(str(e, "event"), QStringLiteral("next"));
    a.send(proto::JoinQueue{{}, {}, wrongNonce(challengeOf(a))});
    TAKE_NEXT(a, "error", &e);
    QCOMPARE(str(e, "code"), QStringLiteral("pow_invalid"));
    // Another connection's solution is no solution here.
    a.send(proto::JoinQueue{{}, {}, solve(challengeOf(b), challengeOf(a))});
    TAKE_NEXT(a, "error", &e);
    QCOMPARE(str(e, "code"), QStringLiteral("pow_invalid"));
    // Too long: the field rule first.
    a.sendRaw(QStringLiteral(R"({"event":"join_queue","data":{"pow_nonce":"%1"}})")
                  .arg(QString(proto::kMaxPowNonceChars + 1, QLatin1Char('7'))));
    TAKE_ERROR(a, "invalid_data", nullptr);
    // Other events are not refused.
    QJsonObject s;
    STATS(a, &s);
    QCOMPARE(s.value(QLatin1String("queued")).toInt(), 0); // nobody was queued
    a.send(proto::LeaveQueue{});
    TAKE_ERROR(a, "not_in_queue", nullptr);
    QUIET(a);
}

void TstServerPow::admittedForTheConnectionsLife()
{
    QVERIFY(startServer([](ServerConfig &c) { c.powBits = kBits; }));
    TestClient a(QStringLiteral("A"));
    OPEN(a);
    a.send(proto::JoinQueue{{}, {}, solve(challengeOf(a))});
    TAKE_NEXT(a, "waiting", nullptr);
    a.send(proto::LeaveQueue{});
    TAKE_NEXT(a, "queue_left", nullptr);
    a.send(proto::JoinQueue{}); // admitted: no nonce needed
    TAKE_NEXT(a, "waiting", nullptr);
    a.send(proto::LeaveQueue{});
    TAKE_NEXT(a, "queue_left", nullptr);
    a.send(proto::Next{{}, {}, QStringLiteral("ignored")}); // later nonces are not checked
    TAKE_NEXT(a, "waiting", nullptr);
    QUIET(a);
}

void TstServerPow::solvedPairsMatch()
{
    QVERIFY(startServer([](ServerConfig &c) { c.powBits = kBits; }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    OPEN(a);
    OPEN(b);
    a.send(proto::JoinQueue{{}, {}, solve(challengeOf(a))});
    TAKE_NEXT(a, "waiting", nullptr);
    b.send(proto::Next{{}, {}, solve(challengeOf(b))}); // next admits as well
    QJsonObject m;
    TAKE_NEXT(b, "matched", &m);
    QCOMPARE(str(m, "partner_id"), a.userId());
    TAKE_NEXT(a, "matched", nullptr);
}

void TstServerPow::admissionSurvivesResume()
{
    QVERIFY(startServer([](ServerConfig &c) {
        c.powBits = kBits;
        c.resumeWindowMs = 10 * 1000;
    }));
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    OPEN(a);
    OPEN(b);
    a.send(proto::JoinQueue{{}, {}, solve(challengeOf(a))});
    TAKE_NEXT(a, "waiting", nullptr);
    // Dropped while queued (no room), then resumed: still admitted. With two nodes connections
    // alternate between them: X makes A2 land on the other node than A (and A3 than A2).
    a.drop();
    TestClient x(QStringLiteral("X")), a2(QStringLiteral("A2"));
    OPEN(x);
    OPEN(a2);
    a2.send(proto::Resume{a.token()});
    QJsonObject resumed;
    TAKE_NEXT(a2, "resumed", &resumed);
    QCOMPARE(str(resumed, "user_id"), a.userId());
    a2.send(proto::JoinQueue{});
    TAKE_NEXT(a2, "waiting", nullptr);
    b.send(proto::JoinQueue{{}, {}, solve(challengeOf(b))});
    TAKE_NEXT(b, "matched", nullptr);
    TAKE_NEXT(a2, "matched", nullptr);
    // Dropped in a room, resumed, then next: still admitted.
    a2.drop();
    TAKE_NEXT(b, "partner_away", nullptr);
    TestClient a3(QStringLiteral("A3"));
    OPEN(a3);
    a3.send(proto::Resume{str(resumed, "resume_token")});
    TAKE_NEXT(a3, "resumed", nullptr);
    a3.send(proto::Next{});
    TAKE_NEXT(a3, "room_left", nullptr);
    TAKE_NEXT(a3, "waiting", nullptr);
    QUIET(a3);
}

void TstServerPow::unadmittedResumeSolvesNewChallenge()
{
    QVERIFY(startServer([](ServerConfig &c) {
        c.powBits = kBits;
        c.resumeWindowMs = 10 * 1000;
    }));
    TestClient a(QStringLiteral("A"));
    OPEN(a);
    QJsonObject s;
    STATS(a, &s); // an event: the identity can be resumed
    a.drop();
    TestClient a2(QStringLiteral("A2"));
    OPEN(a2);
    a2.send(proto::Resume{a.token()});
    TAKE_NEXT(a2, "resumed", nullptr);
    QJsonObject e;
    a2.send(proto::JoinQueue{});
    TAKE_NEXT(a2, "error", &e);
    QCOMPARE(str(e, "code"), QStringLiteral("pow_required"));
    // The challenge is the one of the welcome this connection got, not the old one's.
    a2.send(proto::JoinQueue{{}, {}, solve(challengeOf(a), challengeOf(a2))});
    TAKE_NEXT(a2, "error", &e);
    QCOMPARE(str(e, "code"), QStringLiteral("pow_invalid"));
    a2.send(proto::JoinQueue{{}, {}, solve(challengeOf(a2))});
    TAKE_NEXT(a2, "waiting", nullptr);
}

QTEST_GUILESS_MAIN(TstServerPow)
#include "tst_server_pow.moc"
