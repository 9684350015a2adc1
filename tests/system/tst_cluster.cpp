// Several real `anonchat-server` processes on one real Redis (`--redis`) and one real PostgreSQL
// (`--db postgresql://...`), both started by the ctest fixtures (scripts/redis.sh, scripts/pg.sh):
// users on different servers match (shared interests, then languages), chat both ways, see
// typing, leave, next and report; a server
// killed with SIGKILL mid-chat leaves its users' partners with partner_away, then partner_left
// when the resume window ends, or partner_back when the user resumes on another server; every
// acknowledged message is stored exactly once; Redis going away gives clear errors, not a crash.

#include "server/cluster/redisclient.h"
#include "shared/proofofwork.h"
#include "tests/support/engines.h"
#include "tests/system/clustersuite.h"

#include <QElapsedTimer>
#include <QFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QUuid>
#include <memory>

using namespace anonchat::test;
using anonchat::server::RedisClient;
using anonchat::server::RedisReply;

namespace {

constexpr int kResumeWindowS = 4;
constexpr int kDeathMs = 5000 + 1000; // node timeout + heartbeat period

} // namespace

class TestCluster : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void matchAndChatAcrossServers();
    void manyUsersPairedOnce();
    void sharedInterestFirst();
    void languageFirstAcrossServers();
    void reportBlocksAcrossServers();
    void statsAreClusterWide();
    void resumeOnAnotherServer();
    void powAdmissionResumesOnAnotherServer();
    void killedServerPartnerAwayThenLeft();
    void killedServerUserResumesElsewhere();
    void everyAckedMessageStoredOnce();
    void redisAway();

private:
    bool startServers(int count, const QStringList &extra = {});
    ServerProcess &server(int i) { return *m_servers[size_t(i)]; }
    quint16 port(int i) { return m_servers[size_t(i)]->port(); }
    using Room = ClusterRoom;
    /// A on server a and B on server b, in one room.
    std::optional<Room> pair(int a, int b) { return pairAcross(port(a), port(b)); }
    void chatBothWays(const Room &r, int messages);
    void expectServingWithoutRedis(OwnRedis &redis, Client &c, const Room &r, qint64 *duringId);
    void expectRoomBackWithRedis(OwnRedis &redis, const Room &r, qint64 duringId);
    void expectQueueingAgain(Client &c, const QString &cId);

    QString m_redisUrl;
    QString m_pgUrl;
    QStringList m_nonces; ///< acked messages, for the storage check
    std::vector<std::unique_ptr<ServerProcess>> m_servers;
};

void TestCluster::initTestCase()
{
    m_redisUrl = readUrlFile(QStringLiteral(ANONCHAT_REDIS_URL_FILE));
    QVERIFY2(!m_redisUrl.isEmpty(), "no Redis: the ctest fixture redis_start did not run");
    // A database of its own on the shared fixture: FLUSHDB between cases disturbs no other suite.
    m_redisUrl += QStringLiteral("/7");
    m_pgUrl = readUrlFile(qEnvironmentVariable("ANONCHAT_PG_URL_FILE"));
    QVERIFY2(!m_pgUrl.isEmpty(), "no PostgreSQL: the ctest fixture postgres_start did not run");
}

void TestCluster::init()
{
    QVERIFY(flushRedis(m_redisUrl));
}

void TestCluster::cleanup()
{
    m_servers.clear();
}

bool TestCluster::startServers(int count, const QStringList &extra)
{
    for (int i = 0; i < count; ++i) {
        auto s = std::make_unique<ServerProcess>();
        QString why;
        const QStringList args = QStringList{"--port",
                                             "0",
                                             "--db",
                                             m_pgUrl,
                                             "--redis",
                                             m_redisUrl,
                                             "--resume-window",
                                             QString::number(kResumeWindowS),
                                             "--interest-wait",
                                             "1",
                                             "--rate-limit",
                                             "0",
                                             "--max-connections-per-address",
                                             "0"} +
                                 extra;
        if (!s->start(args, &why)) {
            qWarning().noquote() << "server" << i << "did not start:" << why;
            return false;
        }
        m_servers.push_back(std::move(s));
    }
    return true;
}

void TestCluster::matchAndChatAcrossServers()
{
    QVERIFY(startServers(2));
    auto r = pair(0, 1);
    QVERIFY(r);
    QVERIFY(r->a->waitFor<protocol::Matched>()->commonInterests.isEmpty());

    // Both ways, with acks carrying the nonce and the partner's copy without it.
    chatBothWays(*r, 20);
    if (QTest::currentTestFailed())
        return;
    // Typing crosses too.
    r->a->send(protocol::Typing{true});
    QVERIFY(r->b->waitFor<protocol::PartnerTyping>(
        [](const protocol::PartnerTyping &t) { return t.typing; }));

    // next: B's partner hears `next`, both can be paired again (with each other: nobody else).
    r->b->send(protocol::Next{});
    QVERIFY(r->b->waitFor<protocol::RoomLeft>());
    const auto left = r->a->waitFor<protocol::PartnerLeft>();
    QVERIFY(left);
    QCOMPARE(left->roomId, r->roomId);
    QCOMPARE(left->reason, protocol::LeaveReason::Next);
    // A queues again: the previous partners are paired as nobody else waits.
    r->a->send(protocol::JoinQueue{});
    const auto again = r->a->waitFor<protocol::Matched>(
        [&](const protocol::Matched &m) { return m.roomId != r->roomId; });
    QVERIFY(again);
    QCOMPARE(again->partnerId, r->bId);
    const auto againB = r->b->waitFor<protocol::Matched>(
        [&](const protocol::Matched &m) { return m.roomId != r->roomId; });
    QVERIFY(againB);
    QCOMPARE(againB->roomId, again->roomId);

    // leave_room: the partner hears `left`.
    r->a->send(protocol::LeaveRoom{});
    QVERIFY(r->a->waitFor<protocol::RoomLeft>(
        [&](const protocol::RoomLeft &m) { return m.roomId == again->roomId; }));
    const auto left2 = r->b->waitFor<protocol::PartnerLeft>(
        [&](const protocol::PartnerLeft &m) { return m.roomId == again->roomId; });
    QVERIFY(left2);
    QCOMPARE(left2->reason, protocol::LeaveReason::Left);
    // Messages after that are refused.
    r->b->send(protocol::SendMessage{QStringLiteral("anyone?"), {}});
    QVERIFY(r->b->waitFor<protocol::Error>(
        [](const protocol::Error &e) { return e.code == protocol::ErrorCode::NotInRoom; }));
}

// `messages` messages, A and B in turn: acks carry the nonce, the partner's copy does not.
void TestCluster::chatBothWays(const Room &r, int messages)
{
    for (int i = 0; i < messages; ++i) {
        Client &from = i % 2 ? *r.b : *r.a;
        Client &to = i % 2 ? *r.a : *r.b;
        const QString nonce = QUuid::createUuid().toString(QUuid::WithoutBraces);
        const QString text = QStringLiteral("hello %1 ✓").arg(i);
        from.send(protocol::SendMessage{text, nonce});
        const auto ack = from.waitFor<protocol::NewMessage>(
            [&](const protocol::NewMessage &m) { return m.nonce == nonce; });
        QVERIFY(ack);
        QCOMPARE(ack->roomId, r.roomId);
        const auto got = to.waitFor<protocol::NewMessage>(
            [&](const protocol::NewMessage &m) { return m.id == ack->id; });
        QVERIFY(got);
        QCOMPARE(got->content, text);
        QVERIFY(got->nonce.isEmpty());
        QCOMPARE(got->senderId, i % 2 ? r.bId : r.aId);
        m_nonces.append(nonce);
    }
}

void TestCluster::manyUsersPairedOnce()
{
    QVERIFY(startServers(3));
    constexpr int kUsers = 30;
    std::vector<std::unique_ptr<Client>> clients;
    QStringList ids;
    for (int i = 0; i < kUsers; ++i) {
        QString id;
        clients.push_back(welcomed(port(i % 3), &id));
        QVERIFY(clients.back());
        ids.append(id);
    }
    for (auto &c : clients)
        c->send(protocol::JoinQueue{});
    QHash<QString, QString> partnerOf;
    QHash<qint64, int> roomSize;
    for (int i = 0; i < kUsers; ++i) {
        const auto m = clients[size_t(i)]->waitFor<protocol::Matched>();
        QVERIFY2(m, qPrintable(QStringLiteral("user %1 was not matched").arg(i)));
        QVERIFY(m->partnerId != ids[i]);
        QCOMPARE(clients[size_t(i)]->all<protocol::Matched>().size(), 1);
        partnerOf.insert(ids[i], m->partnerId);
        ++roomSize[m->roomId];
    }
    for (const QString &id : std::as_const(ids))
        QCOMPARE(partnerOf.value(partnerOf.value(id)), id); // symmetric: nobody paired twice
    QCOMPARE(roomSize.size(), kUsers / 2);
    for (int n : std::as_const(roomSize))
        QCOMPARE(n, 2);
}

void TestCluster::sharedInterestFirst()
{
    QVERIFY(startServers(3));
    QString aId, cId, bId;
    auto a = welcomed(port(0), &aId);
    auto c = welcomed(port(1), &cId);
    auto b = welcomed(port(2), &bId);
    QVERIFY(a && b && c);
    a->send(protocol::JoinQueue{{QStringLiteral("music"), QStringLiteral("go")}});
    QVERIFY(a->waitFor<protocol::Waiting>());
    c->send(protocol::JoinQueue{{QStringLiteral("chess")}});
    QVERIFY(c->waitFor<protocol::Waiting>());
    b->send(protocol::JoinQueue{{QStringLiteral("go")}});
    const auto mb = b->waitFor<protocol::Matched>();
    QVERIFY(mb);
    QCOMPARE(mb->partnerId, aId);
    QCOMPARE(mb->commonInterests, QStringList{QStringLiteral("go")});
    QCOMPARE(a->waitFor<protocol::Matched>()->partnerId, bId);
    // C waits out its interest wait (1 s), then anyone open may come: D without interests.
    QString dId;
    auto d = welcomed(port(0), &dId);
    QVERIFY(d);
    QTest::qWait(1200);
    d->send(protocol::JoinQueue{});
    const auto md = d->waitFor<protocol::Matched>();
    QVERIFY(md);
    QCOMPARE(md->partnerId, cId);
    QVERIFY(md->commonInterests.isEmpty());
}

void TestCluster::languageFirstAcrossServers()
{
    QVERIFY(startServers(3));
    QString aId, bId, cId, dId;
    auto a = welcomed(port(0), &aId);
    auto b = welcomed(port(1), &bId);
    auto c = welcomed(port(2), &cId);
    auto d = welcomed(port(0), &dId);
    QVERIFY(a && b && c && d);
    QElapsedTimer clock;
    clock.start();
    // B shares A's interest in another language; C shares only A's language.
    a->send(protocol::JoinQueue{{QStringLiteral("go")}, QStringLiteral("zh")});
    QVERIFY(a->waitFor<protocol::Waiting>());
    b->send(protocol::JoinQueue{{QStringLiteral("go")}, QStringLiteral("en")});
    QVERIFY(b->waitFor<protocol::Waiting>());
    c->send(protocol::JoinQueue{{QStringLiteral("chess")}, QStringLiteral("zh")});
    QVERIFY(c->waitFor<protocol::Waiting>());
    // A and C, once both are in their language phase (half of the 1 s wait), across servers.
    const auto ma = a->waitFor<protocol::Matched>();
    QVERIFY(ma);
    QVERIFY2(clock.elapsed() >= 450, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(ma->partnerId, cId);
    QCOMPARE(ma->commonLanguage, QStringLiteral("zh"));
    QVERIFY(ma->commonInterests.isEmpty());
    const auto mc = c->waitFor<protocol::Matched>();
    QVERIFY(mc);
    QCOMPARE(mc->partnerId, aId);
    QCOMPARE(mc->commonLanguage, QStringLiteral("zh"));
    // D, with only a language, is paired at once with B, who speaks it.
    d->send(protocol::JoinQueue{{}, QStringLiteral("en-GB")});
    const auto md = d->waitFor<protocol::Matched>();
    QVERIFY(md);
    QCOMPARE(md->partnerId, bId);
    QCOMPARE(md->commonLanguage, QStringLiteral("en"));
    const auto mb = b->waitFor<protocol::Matched>();
    QVERIFY(mb);
    QCOMPARE(mb->commonLanguage, QStringLiteral("en"));
}

void TestCluster::reportBlocksAcrossServers()
{
    QVERIFY(startServers(2));
    auto r = pair(0, 1);
    QVERIFY(r);
    r->a->send(protocol::Report{QStringLiteral("spam")});
    QVERIFY(r->a->waitFor<protocol::Reported>());
    r->a->send(protocol::Next{});
    QVERIFY(r->b->waitFor<protocol::PartnerLeft>());
    r->b->send(protocol::JoinQueue{});
    QVERIFY(r->b->waitFor<protocol::Waiting>());
    // Only the two of them wait, on different servers: never paired again.
    QTest::qWait(1500);
    QCOMPARE(r->a->all<protocol::Matched>().size(), 1);
    QCOMPARE(r->b->all<protocol::Matched>().size(), 1);
    // A third user on the other server is paired with one of them.
    QString cId;
    auto c = welcomed(port(1), &cId);
    QVERIFY(c);
    c->send(protocol::JoinQueue{});
    const auto mc = c->waitFor<protocol::Matched>();
    QVERIFY(mc);
    QVERIFY(mc->partnerId == r->aId || mc->partnerId == r->bId);
    // The report row names both users.
    QSqlDatabase db = addPostgres(QStringLiteral("report"), m_pgUrl);
    QVERIFY2(db.open(), qPrintable(db.lastError().text()));
    {
        QSqlQuery q(db);
        QVERIFY(q.prepare(QStringLiteral(
            "SELECT reported_id FROM reports WHERE room_id = ? AND reporter_id = ?")));
        q.addBindValue(r->roomId);
        q.addBindValue(r->aId);
        QVERIFY2(q.exec(), qPrintable(q.lastError().text()));
        QVERIFY(q.next());
        QCOMPARE(q.value(0).toString(), r->bId);
    }
    db.close();
    db = {};
    QSqlDatabase::removeDatabase(QStringLiteral("report"));
}

void TestCluster::statsAreClusterWide()
{
    QVERIFY(startServers(3));
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 6; ++i) {
        QString id;
        clients.push_back(welcomed(port(i % 3), &id));
        QVERIFY(clients.back());
    }
    clients[0]->send(protocol::JoinQueue{{QStringLiteral("x")}});
    auto r = pair(1, 2); // 8 users online, one queued, one room
    QVERIFY(r);
    QVERIFY(QTest::qWaitFor(
        [&] {
            clients[5]->send(protocol::GetStats{});
            return bool(clients[5]->waitFor<protocol::Stats>(
                [](const protocol::Stats &s) {
                    return s.online == 8 && s.queued == 1 && s.activeRooms == 1;
                },
                500));
        },
        kWaitMs));
}

void TestCluster::resumeOnAnotherServer()
{
    QVERIFY(startServers(3));
    auto r = pair(0, 1);
    QVERIFY(r);
    const auto first = sendAcked(*r->b, QStringLiteral("before"));
    QVERIFY(first);
    QVERIFY(r->a->waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == first->id; }));
    // B drops; A is told; A writes meanwhile.
    r->b->socket().abort();
    QVERIFY(r->a->waitFor<protocol::PartnerAway>());
    const auto missed = sendAcked(*r->a, QStringLiteral("while you were away"));
    QVERIFY(missed);
    // B comes back on the third server.
    auto b2 = std::make_unique<Client>(port(2));
    QVERIFY(b2->waitFor<protocol::Welcome>());
    b2->send(protocol::Resume{r->bToken, first->id});
    const auto resumed = b2->waitFor<protocol::Resumed>();
    QVERIFY(resumed);
    QCOMPARE(resumed->userId, r->bId);
    QVERIFY(resumed->room);
    QCOMPARE(resumed->room->roomId, r->roomId);
    QCOMPARE(resumed->room->partnerId, r->aId);
    QCOMPARE(resumed->room->messages.size(), 1);
    QCOMPARE(resumed->room->messages.first().content, QStringLiteral("while you were away"));
    QVERIFY(r->a->waitFor<protocol::PartnerBack>());
    // The chat goes on both ways, through the new server.
    const auto fromB = sendAcked(*b2, QStringLiteral("back again"));
    QVERIFY(fromB);
    QCOMPARE(fromB->roomId, r->roomId);
    QVERIFY(r->a->waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == fromB->id; }));
    const auto fromA = sendAcked(*r->a, QStringLiteral("welcome back"));
    QVERIFY(fromA);
    QVERIFY(b2->waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == fromA->id; }));
    // The old token is spent.
    auto thief = std::make_unique<Client>(port(1));
    QVERIFY(thief->waitFor<protocol::Welcome>());
    thief->send(protocol::Resume{r->bToken, -1});
    QVERIFY(thief->waitFor<protocol::Error>(
        [](const protocol::Error &e) { return e.code == protocol::ErrorCode::ResumeFailed; }));
}

void TestCluster::powAdmissionResumesOnAnotherServer()
{
    QVERIFY(startServers(2, {"--pow-bits", "10"}));
    const std::atomic<bool> cancel{false};
    // A is admitted on server 0 (queued, never in a room), drops, and resumes on server 1.
    auto a = std::make_unique<Client>(port(0));
    const auto welcome = a->waitFor<protocol::Welcome>();
    QVERIFY(welcome && welcome->pow);
    a->send(protocol::JoinQueue{{}, {}, *protocol::solvePow(welcome->pow->challenge, 10, cancel)});
    QVERIFY(a->waitFor<protocol::Waiting>());
    a->socket().abort();
    auto a2 = std::make_unique<Client>(port(1));
    QVERIFY(a2->waitFor<protocol::Welcome>());
    a2->send(protocol::Resume{welcome->resumeToken, -1});
    const auto resumed = a2->waitFor<protocol::Resumed>();
    QVERIFY(resumed);
    QCOMPARE(resumed->userId, welcome->userId);
    a2->send(protocol::JoinQueue{}); // admitted: no proof needed
    QVERIFY(a2->waitFor<protocol::Waiting>());
    // C was never admitted: after its resume on the other server it must solve a challenge.
    QString cId, cToken;
    auto c = welcomed(port(0), &cId, &cToken);
    QVERIFY(c);
    c->send(protocol::GetStats{}); // an event: the identity can be resumed
    QVERIFY(c->waitFor<protocol::Stats>());
    c->socket().abort();
    auto c2 = std::make_unique<Client>(port(1));
    QVERIFY(c2->waitFor<protocol::Welcome>());
    c2->send(protocol::Resume{cToken, -1});
    QVERIFY(c2->waitFor<protocol::Resumed>());
    c2->send(protocol::JoinQueue{});
    QVERIFY(c2->waitFor<protocol::Error>(
        [](const protocol::Error &e) { return e.code == protocol::ErrorCode::PowRequired; }));
}

void TestCluster::killedServerPartnerAwayThenLeft()
{
    QVERIFY(startServers(2));
    auto r = pair(0, 1);
    QVERIFY(r);
    QVERIFY(sendAcked(*r->a, QStringLiteral("are you there?")));
    server(1).signal(SIGKILL);
    QVERIFY(server(1).waitFinished());
    const auto away = r->a->waitFor<protocol::PartnerAway>({}, kDeathMs + kWaitMs);
    QVERIFY(away);
    QCOMPARE(away->roomId, r->roomId);
    // Nobody resumes: the window ends and the room with it.
    const auto left =
        r->a->waitFor<protocol::PartnerLeft>({}, kResumeWindowS * 1000 + kDeathMs + kWaitMs);
    QVERIFY(left);
    QCOMPARE(left->reason, protocol::LeaveReason::Disconnected);
    // A can be paired again, with a user on the surviving server.
    r->a->send(protocol::JoinQueue{});
    QString cId;
    auto c = welcomed(port(0), &cId);
    QVERIFY(c);
    c->send(protocol::JoinQueue{});
    const auto m = c->waitFor<protocol::Matched>();
    QVERIFY(m);
    QCOMPARE(m->partnerId, r->aId);
}

void TestCluster::killedServerUserResumesElsewhere()
{
    QVERIFY(startServers(3));
    auto r = pair(0, 1);
    QVERIFY(r);
    const auto before = sendAcked(*r->b, QStringLiteral("one"));
    QVERIFY(before);
    QVERIFY(r->a->waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == before->id; }));
    server(1).signal(SIGKILL);
    QVERIFY(server(1).waitFinished());
    QVERIFY(r->a->waitFor<protocol::PartnerAway>({}, kDeathMs + kWaitMs));
    auto b2 = std::make_unique<Client>(port(2));
    QVERIFY(b2->waitFor<protocol::Welcome>());
    b2->send(protocol::Resume{r->bToken, before->id});
    const auto resumed = b2->waitFor<protocol::Resumed>();
    QVERIFY(resumed);
    QVERIFY(resumed->room);
    QCOMPARE(resumed->room->roomId, r->roomId);
    QCOMPARE(resumed->room->partnerId, r->aId);
    QVERIFY(r->a->waitFor<protocol::PartnerBack>());
    const auto after = sendAcked(*b2, QStringLiteral("two"));
    QVERIFY(after);
    QVERIFY(r->a->waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == after->id; }));
    // The window passes: the room lives on (the user is back).
    QTest::qWait(kResumeWindowS * 1000 + 500);
    QVERIFY(r->a->all<protocol::PartnerLeft>().isEmpty());
}

void TestCluster::everyAckedMessageStoredOnce()
{
    QVERIFY(startServers(3));
    std::vector<Room> rooms;
    for (int i = 0; i < 6; ++i) {
        auto r = pair(i % 3, (i + 1) % 3);
        QVERIFY(r);
        rooms.push_back(std::move(*r));
    }
    QStringList nonces;
    for (int round = 0; round < 10; ++round) {
        for (Room &r : rooms) {
            for (Client *c : {r.a.get(), r.b.get()}) {
                const QString nonce = QUuid::createUuid().toString(QUuid::WithoutBraces);
                c->send(protocol::SendMessage{QStringLiteral("m%1").arg(round), nonce});
                c->send(protocol::SendMessage{QStringLiteral("m%1").arg(round), nonce}); // again
                nonces.append(nonce);
            }
        }
    }
    // Kill one server while acks are in flight; what was acked must be stored once.
    QStringList acked;
    for (Room &r : rooms) {
        for (Client *c : {r.a.get(), r.b.get()}) {
            QVERIFY(QTest::qWaitFor([&] { return c->all<protocol::NewMessage>().size() >= 10; },
                                    kWaitMs));
        }
    }
    server(2).signal(SIGKILL);
    QVERIFY(server(2).waitFinished());
    for (Room &r : rooms) {
        for (Client *c : {r.a.get(), r.b.get()}) {
            for (const protocol::NewMessage &m : c->all<protocol::NewMessage>()) {
                if (!m.nonce.isEmpty())
                    acked.append(m.nonce);
            }
        }
    }
    acked.removeDuplicates();
    QVERIFY(acked.size() >= 6 * 2 * 10 * 2 / 3); // the killed server's last acks may be lost
    QSqlDatabase db = addPostgres(QStringLiteral("once"), m_pgUrl);
    QVERIFY2(db.open(), qPrintable(db.lastError().text()));
    {
        QSqlQuery q(db);
        QVERIFY(q.prepare(QStringLiteral("SELECT COUNT(*) FROM messages WHERE nonce = ?")));
        for (const QString &nonce : std::as_const(acked)) {
            q.addBindValue(nonce);
            QVERIFY2(q.exec() && q.next(), qPrintable(q.lastError().text()));
            QCOMPARE(q.value(0).toInt(), 1);
        }
        // Ids are unique across the servers.
        QVERIFY(q.exec(QStringLiteral("SELECT COUNT(*), COUNT(DISTINCT id) FROM messages")));
        QVERIFY(q.next());
        QCOMPARE(q.value(0).toLongLong(), q.value(1).toLongLong());
    }
    db.close();
    db = {};
    QSqlDatabase::removeDatabase(QStringLiteral("once"));
}

void TestCluster::redisAway()
{
    // A Redis of the test's own, killed (its data gone) and restarted on the same port, under
    // two servers with a room across them.
    OwnRedis redis;
    QVERIFY(redis.start());
    const QString url = redis.url();
    for (int i = 0; i < 2; ++i) {
        auto s = std::make_unique<ServerProcess>();
        QString why;
        QVERIFY2(s->start({"--port", "0", "--db", m_pgUrl, "--redis", url, "--rate-limit", "0",
                           "--resume-window", QString::number(kResumeWindowS)},
                          &why),
                 qPrintable(why));
        m_servers.push_back(std::move(s));
    }
    QTest::qWait(1200); // both have beaten once
    auto r = pair(0, 1);
    QVERIFY(r);
    QString cId;
    auto c = welcomed(port(0), &cId);
    QVERIFY(c);

    qint64 duringId = 0;
    expectServingWithoutRedis(redis, *c, *r, &duringId);
    if (QTest::currentTestFailed())
        return;
    expectRoomBackWithRedis(redis, *r, duringId);
    if (QTest::currentTestFailed())
        return;
    expectQueueingAgain(*c, cId);
}

// Redis killed: queueing (it needs Redis) gets a clear error; a message in the room is stored and
// acknowledged (its relay waits for Redis); the servers are still there after a heartbeat lapse.
void TestCluster::expectServingWithoutRedis(OwnRedis &redis, Client &c, const Room &r,
                                            qint64 *duringId)
{
    redis.kill();
    QTest::qWait(300);
    c.send(protocol::JoinQueue{});
    const auto error = c.waitFor<protocol::Error>();
    QVERIFY(error);
    QCOMPARE(error->code, protocol::ErrorCode::Internal);
    const auto during = sendAcked(*r.a, QStringLiteral("while redis is away"));
    QVERIFY(during);
    *duringId = during->id;
    QTest::qWait(kDeathMs + 500); // longer than a heartbeat lapse
    QCOMPARE(server(0).process().state(), QProcess::Running);
    QCOMPARE(server(1).process().state(), QProcess::Running);
}

// Redis is back, empty: the relay arrives, the room goes on both ways, nobody has left.
void TestCluster::expectRoomBackWithRedis(OwnRedis &redis, const Room &r, qint64 duringId)
{
    QVERIFY(redis.start());
    const auto relayed = r.b->waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == duringId; }, 15000);
    QVERIFY(relayed);
    QCOMPARE(relayed->content, QStringLiteral("while redis is away"));
    QTest::qWait(2000); // heartbeats again
    const auto fromB = sendAcked(*r.b, QStringLiteral("and back"));
    QVERIFY(fromB);
    QVERIFY(r.a->waitFor<protocol::NewMessage>(
        [&](const protocol::NewMessage &m) { return m.id == fromB->id; }));
    QTest::qWait(kResumeWindowS * 1000 + 500);
    QVERIFY(r.a->all<protocol::PartnerLeft>().isEmpty());
    QVERIFY(r.b->all<protocol::PartnerLeft>().isEmpty());
}

// Queueing works again, across the servers: C (on server 0) is paired with D (on server 1).
void TestCluster::expectQueueingAgain(Client &c, const QString &cId)
{
    QVERIFY(QTest::qWaitFor(
        [&] {
            c.send(protocol::JoinQueue{});
            return bool(c.waitFor<protocol::Waiting>({}, 500));
        },
        15000));
    QString dId;
    auto d = welcomed(port(1), &dId);
    QVERIFY(d);
    d->send(protocol::JoinQueue{});
    const auto md = d->waitFor<protocol::Matched>();
    QVERIFY(md);
    QCOMPARE(md->partnerId, cId);
}

QTEST_GUILESS_MAIN(TestCluster)
#include "tst_cluster.moc"
