// A leave that crosses a message in flight between two real `anonchat-server` processes (one real
// PostgreSQL from the ctest fixture, a Redis of the test's own): the message is acknowledged to
// its sender on one server while its relay to the partner's server is held up (Redis paused with
// SIGSTOP), and the partner leaves meanwhile. The partner gets the message before `room_left`
// (or `next`'s `room_left`), its own events meanwhile are out of the room, and a partner server
// that never answers holds the leave for a second at most.

#include "tests/system/clustersuite.h"

#include <QElapsedTimer>

using namespace anonchat::test;

namespace {

/// Where the first frame of type T (accepted by `accept`) is in what `client` received; -1: none.
template <typename T>
int indexOf(const Client &client, const std::function<bool(const T &)> &accept = {})
{
    const QList<protocol::ServerMessage> &frames = client.frames();
    for (int i = 0; i < frames.size(); ++i) {
        const T *t = std::get_if<T>(&frames[i]);
        if (t && (!accept || accept(*t)))
            return i;
    }
    return -1;
}

} // namespace

class TestClusterLeave : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanup();

    void leaveAfterTheMessageInFlight();
    void nextAfterTheMessageInFlight();
    void eventsWhileTheLeaveIsHeld();
    void silentPartnerServerHoldsTheLeaveASecond();

private:
    /// Two servers on the test's Redis, with A on the first and B on the second in one room.
    void startPair();
    /// Redis paused, A's message acknowledged (stored) with its relay held up: its id.
    qint64 messageInFlight();
    /// B's `new_message` `id` came before its `room_left`.
    void expectMessageBeforeRoomLeft(qint64 id);

    QString m_pgUrl;
    std::unique_ptr<OwnRedis> m_redis;
    std::vector<std::unique_ptr<ServerProcess>> m_servers;
    std::optional<ClusterRoom> m_room;
};

void TestClusterLeave::initTestCase()
{
    m_pgUrl = readUrlFile(qEnvironmentVariable("ANONCHAT_PG_URL_FILE"));
    QVERIFY2(!m_pgUrl.isEmpty(), "no PostgreSQL: the ctest fixture postgres_start did not run");
}

void TestClusterLeave::cleanup()
{
    m_room.reset();
    if (m_redis)
        m_redis->resume();
    m_servers.clear();
    m_redis.reset();
}

void TestClusterLeave::startPair()
{
    m_redis = std::make_unique<OwnRedis>();
    QVERIFY(m_redis->start());
    for (int i = 0; i < 2; ++i) {
        auto s = std::make_unique<ServerProcess>();
        QString why;
        QVERIFY2(s->start({"--port", "0", "--db", m_pgUrl, "--redis", m_redis->url(),
                           "--rate-limit", "0", "--interest-wait", "1"},
                          &why),
                 qPrintable(why));
        m_servers.push_back(std::move(s));
    }
    QTest::qWait(1200); // both have beaten once
    m_room = pairAcross(m_servers[0]->port(), m_servers[1]->port());
    QVERIFY(m_room);
}

qint64 TestClusterLeave::messageInFlight()
{
    m_redis->pause();
    const auto acked = sendAcked(*m_room->a, QStringLiteral("crossing the leave"));
    if (!acked)
        return -1;
    QTest::qWait(100);
    // Held up: B has not got it.
    if (m_room->b->find<protocol::NewMessage>(
            [&](const protocol::NewMessage &m) { return m.id == acked->id; }))
        return -1;
    return acked->id;
}

void TestClusterLeave::expectMessageBeforeRoomLeft(qint64 id)
{
    Client &b = *m_room->b;
    QVERIFY(b.waitFor<protocol::RoomLeft>());
    const int message =
        indexOf<protocol::NewMessage>(b, [&](const protocol::NewMessage &m) { return m.id == id; });
    QVERIFY2(message >= 0, "the message acknowledged before the leave never reached the leaver");
    QVERIFY(message < indexOf<protocol::RoomLeft>(b));
}

void TestClusterLeave::leaveAfterTheMessageInFlight()
{
    startPair();
    if (QTest::currentTestFailed())
        return;
    const qint64 id = messageInFlight();
    QVERIFY(id > 0);
    m_room->b->send(protocol::LeaveRoom{});
    QTest::qWait(300);
    QVERIFY2(!m_room->b->find<protocol::RoomLeft>(), "left before the partner's server answered");
    m_redis->resume();
    expectMessageBeforeRoomLeft(id);
    if (QTest::currentTestFailed())
        return;
    const auto left = m_room->a->waitFor<protocol::PartnerLeft>();
    QVERIFY(left);
    QCOMPARE(left->reason, protocol::LeaveReason::Left);
}

void TestClusterLeave::nextAfterTheMessageInFlight()
{
    startPair();
    if (QTest::currentTestFailed())
        return;
    const qint64 id = messageInFlight();
    QVERIFY(id > 0);
    m_room->b->send(protocol::Next{});
    QTest::qWait(300);
    m_redis->resume();
    expectMessageBeforeRoomLeft(id);
    if (QTest::currentTestFailed())
        return;
    // Then the queue, as `next` does.
    QVERIFY(m_room->b->waitFor<protocol::Waiting>());
    QVERIFY(indexOf<protocol::RoomLeft>(*m_room->b) < indexOf<protocol::Waiting>(*m_room->b));
    const auto left = m_room->a->waitFor<protocol::PartnerLeft>();
    QVERIFY(left);
    QCOMPARE(left->reason, protocol::LeaveReason::Next);
}

void TestClusterLeave::eventsWhileTheLeaveIsHeld()
{
    startPair();
    if (QTest::currentTestFailed())
        return;
    QVERIFY(messageInFlight() > 0);
    Client &b = *m_room->b;
    b.send(protocol::LeaveRoom{});
    // Out of the room for its own events: a message is refused (not stored, not relayed), a
    // second leave too; a join_queue is kept for after the leave.
    b.send(protocol::SendMessage{QStringLiteral("after leaving"), QStringLiteral("n-after")});
    QVERIFY(b.waitForError(protocol::ErrorCode::NotInRoom));
    b.send(protocol::LeaveRoom{});
    QTRY_COMPARE(b.all<protocol::Error>().size(), 2);
    QCOMPARE(b.all<protocol::Error>().last().code, protocol::ErrorCode::NotInRoom);
    b.send(protocol::JoinQueue{});
    QTest::qWait(200);
    QVERIFY(!b.find<protocol::Waiting>());
    m_redis->resume();
    QVERIFY(b.waitFor<protocol::Waiting>());
    QVERIFY(indexOf<protocol::RoomLeft>(b) >= 0);
    QVERIFY(indexOf<protocol::RoomLeft>(b) < indexOf<protocol::Waiting>(b));
    QTest::qWait(300);
    QVERIFY(!m_room->a->find<protocol::NewMessage>(
        [](const protocol::NewMessage &m) { return m.content == QLatin1String("after leaving"); }));
}

void TestClusterLeave::silentPartnerServerHoldsTheLeaveASecond()
{
    startPair();
    if (QTest::currentTestFailed())
        return;
    m_redis->pause(); // the question to A's server cannot get there
    QElapsedTimer clock;
    clock.start();
    m_room->b->send(protocol::LeaveRoom{});
    QVERIFY(m_room->b->waitFor<protocol::RoomLeft>({}, 5000));
    const qint64 heldMs = clock.elapsed();
    QVERIFY2(heldMs >= 900 && heldMs < 3000, qPrintable(QString::number(heldMs)));
    m_redis->resume();
    QVERIFY(m_room->a->waitFor<protocol::PartnerLeft>());
}

QTEST_GUILESS_MAIN(TestClusterLeave)
#include "tst_cluster_leave.moc"
