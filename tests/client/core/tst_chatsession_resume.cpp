// ChatSession and Connection against a real in-process ChatServer (chatsessionsuite.h) when a
// connection drops: the partner away and back or gone, reconnect with resume and the outbox sent
// once, a search that survives a drop, the server gone and back.

#include "tests/client/core/chatsessionsuite.h"

using namespace anonchat;
using namespace anonchat::test::chatsession;

class TestChatSessionResume : public ChatSessionSuite
{
    Q_OBJECT
private slots:
    void partnerAwayAndBack();
    void partnerAwayExpires();
    void ownDropResendsOutboxOnce();
    void searchingSurvivesDrop();
    void serverGoneAndBack();

private:
    /// Resending an acked nonce (what an outbox does after a lost ack) is answered with the
    /// stored message: no new row at `a`, nothing new for the partner `b` (`arrivedB` so far: 2).
    void resentNonceGetsTheStoredMessage(ChatSession &a, ChatSession &b,
                                         const QSignalSpy &arrivedB);
};

void TestChatSessionResume::partnerAwayAndBack()
{
    auto a = connectSession();
    auto b = connectSession();
    QVERIFY(a && b);
    QVERIFY(pair(*a, *b));
    QCOMPARE(b->sendMessage(QStringLiteral("before")), ChatSession::SendResult::Accepted);
    QTRY_COMPARE(countRows(a->model(), Kind::Theirs), 1);
    const QString aId = a->userId();
    const qint64 room = a->roomId();

    a->connection()->setReconnectDelays(600, 1200);
    QSignalSpy bStates(b.get(), &ChatSession::stateChanged);
    QSignalSpy aStates(a.get(), &ChatSession::stateChanged);
    dropConnection(*a);
    QCOMPARE(a->state(), State::Connecting);
    QCOMPARE(a->connection()->state(), Connection::State::Reconnecting);
    QCOMPARE(a->roomId(), room); // kept while reconnecting
    QTRY_COMPARE(b->state(), State::PartnerAway);
    QCOMPARE(lastText(b->model()),
             QStringLiteral("The stranger's connection dropped. Waiting for them to come back…"));
    QVERIFY(!b->partnerTyping());

    // Written while the partner is away: stored, and given to it on resume.
    QCOMPARE(b->sendMessage(QStringLiteral("while you were away")),
             ChatSession::SendResult::Accepted);
    QTRY_COMPARE(countDelivery(b->model(), Delivery::Pending), 0);

    QSignalSpy arrivedA(a.get(), &ChatSession::messageArrived);
    QTRY_COMPARE_WITH_TIMEOUT(a->state(), State::Chatting, 5000);
    QTRY_COMPARE(b->state(), State::Chatting);
    QCOMPARE(states(bStates), (QList<State>{State::PartnerAway, State::Chatting}));
    QCOMPARE(states(aStates), (QList<State>{State::Connecting, State::Chatting}));
    QCOMPARE(lastText(b->model()), QStringLiteral("The stranger is back."));
    QCOMPARE(a->userId(), aId);
    QCOMPARE(a->roomId(), room);
    QCOMPARE(a->partnerId(), b->userId());
    QTRY_COMPARE(countRows(a->model(), Kind::Theirs, QStringLiteral("while you were away")), 1);
    QCOMPARE(arrivedA.count(), 1);
    QCOMPARE(countRows(a->model(), Kind::Theirs, QStringLiteral("before")), 1);
    QCOMPARE(countRows(a->model(), Kind::Theirs), 2);

    // And the chat goes on both ways.
    QCOMPARE(a->sendMessage(QStringLiteral("back")), ChatSession::SendResult::Accepted);
    QTRY_COMPARE(countRows(b->model(), Kind::Theirs, QStringLiteral("back")), 1);
}

void TestChatSessionResume::partnerAwayExpires()
{
    auto a = connectSession();
    auto b = connectSession();
    QVERIFY(a && b);
    QVERIFY(pair(*a, *b));
    // The app killed without a word: the partner waits the resume window, then the room ends.
    a->connection()->close();
    QTRY_COMPARE(b->state(), State::PartnerAway);
    QTRY_COMPARE_WITH_TIMEOUT(b->state(), State::Ended, int(kResumeWindowMs) + 3000);
    QCOMPARE(lastText(b->model()),
             ChatSession::partnerLeftText(protocol::LeaveReason::Disconnected));
}

void TestChatSessionResume::ownDropResendsOutboxOnce()
{
    auto a = connectSession();
    auto b = connectSession();
    QVERIFY(a && b);
    QVERIFY(pair(*a, *b));
    QSignalSpy arrivedB(b.get(), &ChatSession::messageArrived);
    a->connection()->setReconnectDelays(400, 800);

    // Sent, then the link fails before the ack can come back.
    QCOMPARE(a->sendMessage(QStringLiteral("before drop")), ChatSession::SendResult::Accepted);
    dropConnection(*a);
    QCOMPARE(a->state(), State::Connecting);
    // Written while reconnecting: queued in the outbox, shown as pending.
    QCOMPARE(a->sendMessage(QStringLiteral("while reconnecting")),
             ChatSession::SendResult::Accepted);
    QCOMPARE(countDelivery(a->model(), Delivery::Pending), 2);
    QCOMPARE(a->connection()->outbox().size(), 2);
    QCOMPARE(a->connection()->outbox().last().content, QStringLiteral("while reconnecting"));
    // And the partner writes meanwhile.
    QCOMPARE(b->sendMessage(QStringLiteral("from b")), ChatSession::SendResult::Accepted);

    QTRY_COMPARE_WITH_TIMEOUT(a->state(), State::Chatting, 5000);
    QTRY_COMPARE(countDelivery(a->model(), Delivery::Pending), 0);
    QVERIFY(a->connection()->outbox().isEmpty());
    QTRY_COMPARE(countRows(b->model(), Kind::Theirs), 2);
    QTRY_COMPARE(countRows(a->model(), Kind::Theirs), 1);
    QTest::qWait(300); // anything duplicated would have arrived by now

    QCOMPARE(countRows(b->model(), Kind::Theirs, QStringLiteral("before drop")), 1);
    QCOMPARE(countRows(b->model(), Kind::Theirs, QStringLiteral("while reconnecting")), 1);
    QCOMPARE(countRows(b->model(), Kind::Mine), 1);
    QCOMPARE(arrivedB.count(), 2);
    QCOMPARE(countRows(a->model(), Kind::Mine), 2);
    QCOMPARE(countDelivery(a->model(), Delivery::Sent), 2);
    QCOMPARE(countRows(a->model(), Kind::Theirs, QStringLiteral("from b")), 1);
    QCOMPARE(countDelivery(a->model(), Delivery::Failed), 0);

    resentNonceGetsTheStoredMessage(*a, *b, arrivedB);
}

void TestChatSessionResume::resentNonceGetsTheStoredMessage(ChatSession &a, ChatSession &b,
                                                            const QSignalSpy &arrivedB)
{
    int mineRow = -1;
    for (int r = 0; r < a.model()->count() && mineRow < 0; ++r) {
        if (a.model()->entry(r).kind == Kind::Mine)
            mineRow = r;
    }
    QVERIFY(mineRow >= 0);
    const MessageListModel::Entry first = a.model()->entry(mineRow);
    QSignalSpy framesA(a.connection(), &Connection::received);
    const int rowsA = a.model()->count();
    QVERIFY(a.connection()->send(protocol::SendMessage{first.text, first.nonce}));
    const auto reacked = [&] {
        const QList<protocol::NewMessage> frames = framesOf<protocol::NewMessage>(framesA);
        return std::any_of(frames.cbegin(), frames.cend(), [&](const protocol::NewMessage &m) {
            return m.nonce == first.nonce && m.id == first.id;
        });
    };
    QTRY_VERIFY(reacked());
    QCOMPARE(a.model()->count(), rowsA);
    QCOMPARE(a.sendMessage(QStringLiteral("after")), ChatSession::SendResult::Accepted);
    QTRY_COMPARE(countRows(b.model(), Kind::Theirs, QStringLiteral("after")), 1);
    QCOMPARE(countRows(b.model(), Kind::Theirs, first.text), 1);
    QCOMPARE(arrivedB.count(), 3);
}

void TestChatSessionResume::searchingSurvivesDrop()
{
    auto a = connectSession();
    QVERIFY(a);
    QVERIFY(a->start());
    QTRY_COMPARE(a->state(), State::Searching);
    QTest::qWait(50); // `waiting` arrived: queued on the server
    dropConnection(*a);
    QCOMPARE(a->state(), State::Connecting);
    // The server takes a dropped user out of the queue; the session queues again on resume.
    QTRY_COMPARE(a->state(), State::Searching);
    QTRY_COMPARE(a->connection()->state(), Connection::State::Connected);
    auto b = connectSession();
    QVERIFY(b);
    QVERIFY(b->start());
    QTRY_COMPARE(a->state(), State::Chatting);
    QTRY_COMPARE(b->state(), State::Chatting);
}

void TestChatSessionResume::serverGoneAndBack()
{
    auto a = connectSession();
    auto b = connectSession();
    QVERIFY(a && b);
    QVERIFY(pair(*a, *b));
    QCOMPARE(a->sendMessage(QStringLiteral("old world")), ChatSession::SendResult::Accepted);
    QTRY_COMPARE(countRows(b->model(), Kind::Theirs), 1);
    const qint64 oldRoom = a->roomId();
    const qint64 oldMessage = b->model()->entry(b->model()->count() - 1).id;
    const QString oldA = a->userId();
    const QString oldB = b->userId();
    const quint16 port = m_server->port();

    QSignalSpy aStates(a.get(), &ChatSession::stateChanged);
    QSignalSpy bStates(b.get(), &ChatSession::stateChanged);
    QVERIFY(stopServer());
    QTRY_COMPARE(a->state(), State::Connecting);
    QTRY_COMPARE(b->state(), State::Connecting);
    QCOMPARE(a->roomId(), oldRoom);
    QTest::qWait(300); // a few refused attempts
    QVERIFY(a->connection()->reconnectAttempt() >= 1);

    QVERIFY(startServer(port)); // same port, same database, a new process as far as anyone knows
    QTRY_COMPARE_WITH_TIMEOUT(a->state(), State::Idle, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(b->state(), State::Idle, 5000);
    const QString resumeFailed =
        ChatSession::errorText(protocol::Error{protocol::ErrorCode::ResumeFailed, {}, {}, -1});
    QVERIFY(hasNotice(a->model(), resumeFailed));
    QVERIFY(hasNotice(b->model(), resumeFailed));
    QVERIFY(endsWith(states(aStates), {State::Connecting, State::Ended, State::Idle}));
    QVERIFY(endsWith(states(bStates), {State::Connecting, State::Ended, State::Idle}));
    QVERIFY(a->userId() != oldA);
    QVERIFY(b->userId() != oldB);
    QCOMPARE(a->roomId(), 0);
    // The old conversation stays readable.
    QCOMPARE(countRows(a->model(), Kind::Mine, QStringLiteral("old world")), 1);

    // Life goes on with the new identities, on the same database (ids continue).
    QVERIFY(pair(*a, *b));
    QVERIFY(a->roomId() > oldRoom);
    QCOMPARE(a->sendMessage(QStringLiteral("new world")), ChatSession::SendResult::Accepted);
    QTRY_COMPARE(countRows(b->model(), Kind::Theirs, QStringLiteral("new world")), 1);
    QVERIFY(b->model()->entry(b->model()->count() - 1).id > oldMessage);
}

QTEST_GUILESS_MAIN(TestChatSessionResume)
#include "tst_chatsession_resume.moc"
