// ChatSession and Connection against a real in-process ChatServer (chatsessionsuite.h): the
// Connection's URLs and reconnect delays, and a session's states and rows in a chat; dropped
// connections, resume and the outbox: tst_chatsession_resume.

#include "tests/client/core/chatsessionsuite.h"

#include <QTcpServer>

using namespace anonchat;
using namespace anonchat::test::chatsession;

class TestChatSession : public ChatSessionSuite
{
    Q_OBJECT
private slots:
    void webSocketUrl_data();
    void webSocketUrl();
    void backoffGrowsAndIsCapped();
    void reconnectDelaysLive();

    void matchAndChat();
    void sendRefusals();
    void typing();
    void partnerLeaves();
    void partnerClosesAppAndNext();
    void everyErrorIsANotice();
    void reportAndStats();
};

// ---- Connection -----------------------------------------------------------------------------

void TestChatSession::webSocketUrl_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("expected"); // empty: refused

    QTest::newRow("http root") << "http://127.0.0.1:5000/"
                               << "ws://127.0.0.1:5000/ws";
    QTest::newRow("http no path") << "http://example.org"
                                  << "ws://example.org/ws";
    QTest::newRow("https") << "https://chat.example.org/"
                           << "wss://chat.example.org/ws";
    QTest::newRow("https base path") << "https://chat.example.org/anon/"
                                     << "wss://chat.example.org/anon/ws";
    QTest::newRow("http path without slash") << "http://example.org/anon"
                                             << "ws://example.org/anon/ws";
    QTest::newRow("http already /ws") << "http://example.org:8080/ws"
                                      << "ws://example.org:8080/ws";
    QTest::newRow("upper case") << "HTTP://Example.ORG:80/"
                                << "ws://example.org:80/ws";
    QTest::newRow("ipv6") << "http://[::1]:5000/"
                          << "ws://[::1]:5000/ws";
    QTest::newRow("fragment dropped") << "http://example.org/#x"
                                      << "ws://example.org/ws";
    QTest::newRow("ws") << "ws://127.0.0.1:5000/ws"
                        << "ws://127.0.0.1:5000/ws";
    QTest::newRow("wss") << "wss://chat.example.org/ws"
                         << "wss://chat.example.org/ws";
    QTest::newRow("ws no path") << "ws://example.org:5000"
                                << "ws://example.org:5000/ws";
    QTest::newRow("ws root") << "ws://example.org/"
                             << "ws://example.org/ws";
    QTest::newRow("empty") << ""
                           << "";
    QTest::newRow("no scheme") << "example.org:5000"
                               << "";
    QTest::newRow("ftp") << "ftp://example.org/"
                         << "";
    QTest::newRow("file") << "file:///tmp/chat"
                          << "";
    QTest::newRow("mailto") << "mailto:a@example.org"
                            << "";
    QTest::newRow("no host") << "http://"
                             << "";
    QTest::newRow("words") << "not a url"
                           << "";
}

void TestChatSession::webSocketUrl()
{
    QFETCH(QString, input);
    QFETCH(QString, expected);
    const QUrl url = Connection::webSocketUrl(QUrl(input));
    if (expected.isEmpty()) {
        QVERIFY2(!url.isValid(), qPrintable(url.toString()));
        Connection c;
        QVERIFY(!c.open(QUrl(input)));
        QCOMPARE(c.state(), Connection::State::Disconnected);
    } else {
        QCOMPARE(url.toString(), expected);
    }
}

void TestChatSession::backoffGrowsAndIsCapped()
{
    const int initial = 500, cap = 15000;
    int previousHigh = 0;
    for (int attempt = 0; attempt < 12; ++attempt) {
        const int low = Connection::backoffDelayMs(attempt, initial, cap, 0.0);
        const int high = Connection::backoffDelayMs(attempt, initial, cap, 1.0);
        const int mid = Connection::backoffDelayMs(attempt, initial, cap, 0.5);
        const int base = std::min(cap, initial << attempt);
        QCOMPARE(high, base);    // no jitter above the exponential
        QCOMPARE(low, base / 2); // at least half: it keeps growing
        QVERIFY(low <= mid && mid <= high);
        QVERIFY(high >= previousHigh);
        if (base < cap)
            QVERIFY(high > previousHigh);
        previousHigh = high;
    }
    QCOMPARE(Connection::backoffDelayMs(0, initial, cap, 1.0), 500);
    QCOMPARE(Connection::backoffDelayMs(1, initial, cap, 1.0), 1000);
    QCOMPARE(Connection::backoffDelayMs(5, initial, cap, 1.0), 15000); // 16000, capped
    QCOMPARE(Connection::backoffDelayMs(30, initial, cap, 1.0), 15000);
    QCOMPARE(Connection::backoffDelayMs(1000000, initial, cap, 1.0), 15000); // no overflow
    QCOMPARE(Connection::backoffDelayMs(-3, initial, cap, 1.0), 500);
    QCOMPARE(Connection::backoffDelayMs(3, initial, cap, 7.0), 4000); // jitter clamped
    QCOMPARE(Connection::backoffDelayMs(3, initial, cap, -1.0), 2000);
}

void TestChatSession::reconnectDelaysLive()
{
    // A port nobody listens on: every attempt is refused, the delays double up to the cap.
    quint16 port = 0;
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        port = probe.serverPort();
    }
    Connection c;
    c.setReconnectDelays(10, 80);
    QVERIFY(c.open(QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(port))));
    QCOMPARE(c.state(), Connection::State::Connecting);
    QMap<int, int> delays; // attempt (1-based) -> delay chosen for it
    QVERIFY(QTest::qWaitFor(
        [&] {
            if (c.lastReconnectDelayMs() >= 0)
                delays.insert(c.reconnectAttempt(), c.lastReconnectDelayMs());
            return c.reconnectAttempt() >= 7;
        },
        10000));
    QVERIFY(delays.size() >= 4);
    for (auto it = delays.cbegin(); it != delays.cend(); ++it) {
        const int base = std::min(80, 10 << (it.key() - 1));
        QVERIFY2(it.value() >= base / 2 && it.value() <= base,
                 qPrintable(QStringLiteral("attempt %1: %2 ms").arg(it.key()).arg(it.value())));
    }
    QCOMPARE(c.state(), Connection::State::Connecting); // never had an identity
    c.close();
    QCOMPARE(c.state(), Connection::State::Disconnected);
}

// ---- chat -----------------------------------------------------------------------------------

void TestChatSession::matchAndChat()
{
    auto a = connectSession();
    auto b = connectSession();
    QVERIFY(a && b);
    QCOMPARE(a->userId().size(), 8);
    QVERIFY(a->userId() != b->userId());
    QVERIFY(a->onlineCount() >= 1);
    QVERIFY(a->isConnected());

    QSignalSpy aStates(a.get(), &ChatSession::stateChanged);
    QVERIFY(pair(*a, *b, {QStringLiteral("Music"), QStringLiteral(" cats ")},
                 {QStringLiteral("cats"), QStringLiteral("dogs")}));
    QCOMPARE(states(aStates).last(), State::Chatting);
    QCOMPARE(a->partnerId(), b->userId());
    QCOMPARE(b->partnerId(), a->userId());
    QVERIFY(a->roomId() > 0);
    QCOMPARE(a->roomId(), b->roomId());
    QCOMPARE(a->commonInterests(), QStringList{QStringLiteral("cats")});
    QCOMPARE(a->interests(), (QStringList{QStringLiteral("music"), QStringLiteral("cats")}));
    QCOMPARE(a->model()->count(), 1); // the "matched" notice
    QCOMPARE(a->model()->entry(0).kind, Kind::System);
    QVERIFY(a->model()->entry(0).text.contains(QStringLiteral("cats")));

    QSignalSpy arrivedB(b.get(), &ChatSession::messageArrived);
    QSignalSpy changedA(a->model(), &QAbstractItemModel::dataChanged);
    QCOMPARE(a->sendMessage(QStringLiteral("  hello  ")), ChatSession::SendResult::Accepted);
    QCOMPARE(a->model()->count(), 2);
    const MessageListModel::Entry pending = a->model()->entry(1);
    QCOMPARE(pending.kind, Kind::Mine);
    QCOMPARE(pending.text, QStringLiteral("hello"));
    QCOMPARE(pending.delivery, Delivery::Pending);
    QVERIFY(!pending.nonce.isEmpty());
    QTRY_COMPARE(a->model()->entry(1).delivery, Delivery::Sent);
    QVERIFY(changedA.count() >= 1);
    const qint64 id = a->model()->entry(1).id;
    QVERIFY(id > 0);

    QTRY_COMPARE(arrivedB.count(), 1);
    QCOMPARE(arrivedB.at(0).at(0).toString(), QStringLiteral("hello"));
    const int rowB = b->model()->rowOfId(id);
    QVERIFY(rowB >= 0);
    QCOMPARE(b->model()->entry(rowB).kind, Kind::Theirs);
    QCOMPARE(b->model()->entry(rowB).text, QStringLiteral("hello"));
    QCOMPARE(b->model()->entry(rowB).delivery, Delivery::None);
    QCOMPARE(b->model()->entry(rowB).time, a->model()->entry(1).time);

    QSignalSpy arrivedA(a.get(), &ChatSession::messageArrived);
    QCOMPARE(b->sendMessage(QStringLiteral("hi 👋 你好")), ChatSession::SendResult::Accepted);
    QTRY_COMPARE(arrivedA.count(), 1);
    QCOMPARE(lastText(a->model()), QStringLiteral("hi 👋 你好"));
    QTRY_COMPARE(countDelivery(b->model(), Delivery::Pending), 0);

    QCOMPARE(countRows(a->model(), Kind::Mine), 1);
    QCOMPARE(countRows(a->model(), Kind::Theirs), 1);
    QCOMPARE(countRows(b->model(), Kind::Mine), 1);
    QCOMPARE(countRows(b->model(), Kind::Theirs), 1);
    QVERIFY(a->connection()->outbox().isEmpty());
    QVERIFY(b->connection()->outbox().isEmpty());
}

void TestChatSession::sendRefusals()
{
    auto a = connectSession();
    auto b = connectSession();
    QVERIFY(a && b);
    QCOMPARE(a->sendMessage(QStringLiteral("nobody there")), ChatSession::SendResult::NotInRoom);
    QCOMPARE(a->model()->count(), 0);
    // Too many interests: refused with a notice, state unchanged.
    QStringList many;
    for (int i = 0; i < 6; ++i)
        many << QStringLiteral("i%1").arg(i);
    QVERIFY(!a->start(many));
    QCOMPARE(a->state(), State::Idle);
    QCOMPARE(countRows(a->model(), Kind::System), 1);

    QVERIFY(pair(*a, *b));
    QVERIFY(!a->start()); // in a room: use next()
    const int rows = a->model()->count();
    QCOMPARE(a->sendMessage(QString()), ChatSession::SendResult::Empty);
    QCOMPARE(a->sendMessage(QStringLiteral(" \t\n ")), ChatSession::SendResult::Empty);
    QString emoji501;
    for (int i = 0; i < 501; ++i)
        emoji501 += QStringLiteral("😀");
    QCOMPARE(a->sendMessage(emoji501), ChatSession::SendResult::TooLong);
    QCOMPARE(a->model()->count(), rows);

    // 500 code points (1000 UTF-16 units) is the limit, not over it.
    const QString emoji500 = emoji501.left(1000);
    QSignalSpy arrived(b.get(), &ChatSession::messageArrived);
    QCOMPARE(a->sendMessage(emoji500), ChatSession::SendResult::Accepted);
    QTRY_COMPARE(arrived.count(), 1);
    QCOMPARE(arrived.at(0).at(0).toString(), emoji500);
    QTRY_COMPARE(countDelivery(a->model(), Delivery::Sent), 1);
    QCOMPARE(countRows(a->model(), Kind::System), 1); // no error notice
}

void TestChatSession::typing()
{
    auto a = connectSession();
    auto b = connectSession();
    QVERIFY(a && b);
    QVERIFY(pair(*a, *b));
    a->setTypingTimings(1000, 600, 6000);
    b->setTypingTimings(1000, 600, 6000);
    QSignalSpy framesB(b->connection(), &Connection::received);

    // Many keystrokes within the repeat interval: one `typing true`.
    for (int i = 0; i < 5; ++i)
        a->setTyping(true);
    QTRY_VERIFY(b->partnerTyping());
    QTest::qWait(100);
    QCOMPARE(framesOf<protocol::PartnerTyping>(framesB).size(), 1);
    // No more edits: `typing false` after the idle time.
    QTRY_VERIFY_WITH_TIMEOUT(!b->partnerTyping(), 2000);
    {
        const auto frames = framesOf<protocol::PartnerTyping>(framesB);
        QCOMPARE(frames.size(), 2);
        QCOMPARE(frames.last().typing, false);
    }

    // Sending ends typing: the server tells the partner; the message clears it too.
    a->setTyping(true);
    QTRY_VERIFY(b->partnerTyping());
    QSignalSpy arrived(b.get(), &ChatSession::messageArrived);
    QCOMPARE(a->sendMessage(QStringLiteral("typed")), ChatSession::SendResult::Accepted);
    QTRY_COMPARE(arrived.count(), 1);
    QVERIFY(!b->partnerTyping());

    // A `true` that is never followed by `false` expires on the receiving side.
    framesB.clear();
    b->setTypingTimings(1000, 600, 500);
    QVERIFY(a->connection()->send(protocol::Typing{true}));
    QTRY_VERIFY(b->partnerTyping());
    QTRY_VERIFY_WITH_TIMEOUT(!b->partnerTyping(), 2000);
    QCOMPARE(framesOf<protocol::PartnerTyping>(framesB).size(), 1); // expired, not told

    // Outside a room typing sends nothing.
    a->leave();
    QTRY_COMPARE(a->state(), State::Ended);
    framesB.clear();
    a->setTyping(true);
    QTest::qWait(100);
    QCOMPARE(framesOf<protocol::PartnerTyping>(framesB).size(), 0);
}

void TestChatSession::partnerLeaves()
{
    auto a = connectSession();
    auto b = connectSession();
    QVERIFY(a && b);
    QVERIFY(pair(*a, *b));
    QSignalSpy bNotices(b.get(), &ChatSession::notice);
    a->leave();
    QTRY_COMPARE(a->state(), State::Ended);
    QTRY_COMPARE(b->state(), State::Ended);
    QCOMPARE(lastText(a->model()), QStringLiteral("You left the chat."));
    QCOMPARE(lastText(b->model()), ChatSession::partnerLeftText(protocol::LeaveReason::Left));
    QCOMPARE(bNotices.count(), 1);
    QCOMPARE(a->roomId(), 0);
    QCOMPARE(b->roomId(), 0);
    QVERIFY(b->partnerId().isEmpty());
    QCOMPARE(b->sendMessage(QStringLiteral("anyone?")), ChatSession::SendResult::NotInRoom);
    // The conversation stays visible until the next one.
    QCOMPARE(a->model()->entry(0).kind, Kind::System);
    b->leave(); // Ended -> Idle
    QCOMPARE(b->state(), State::Idle);

    // next() from a room: we search again, the partner is told "next".
    QVERIFY(pair(*a, *b));
    QVERIFY(b->next());
    QCOMPARE(b->state(), State::Searching);
    QTRY_COMPARE(a->state(), State::Ended);
    QCOMPARE(lastText(a->model()), ChatSession::partnerLeftText(protocol::LeaveReason::Next));
    // Only these two are online: the previous partner is allowed again.
    QVERIFY(a->start());
    QTRY_COMPARE(a->state(), State::Chatting);
    QTRY_COMPARE(b->state(), State::Chatting);
    QCOMPARE(a->model()->count(), 1); // a new conversation: only its notice

    // Searching and leaving the queue.
    a->leave();
    QTRY_COMPARE(a->state(), State::Ended);
    QTRY_COMPARE(b->state(), State::Ended);
    QVERIFY(a->start());
    QCOMPARE(a->state(), State::Searching);
    a->leave();
    QTRY_COMPARE(a->state(), State::Idle);
}

void TestChatSession::partnerClosesAppAndNext()
{
    auto a = connectSession();
    auto b = connectSession();
    QVERIFY(a && b);
    QVERIFY(pair(*a, *b));
    // Closing the app leaves politely: the partner is told at once, not after the window.
    a->close();
    QCOMPARE(a->state(), State::Offline);
    QVERIFY(a->userId().isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(b->state(), State::Ended, 1000);
    QCOMPARE(lastText(b->model()), ChatSession::partnerLeftText(protocol::LeaveReason::Left));
    QVERIFY(b->next());
    QCOMPARE(b->state(), State::Searching);
}

void TestChatSession::everyErrorIsANotice()
{
    auto a = connectSession();
    QVERIFY(a);
    QSet<QString> texts;
    for (int i = 0; i < protocol::kErrorCodeCount; ++i) {
        const auto code = protocol::ErrorCode(i);
        protocol::Error error{code,
                              QStringLiteral("detail"),
                              {},
                              code == protocol::ErrorCode::RateLimited ? 1500 : -1};
        const int rows = a->model()->count();
        a->handleServerMessage(error);
        QCOMPARE(a->model()->count(), rows + 1);
        const MessageListModel::Entry e = a->model()->entry(rows);
        QCOMPARE(e.kind, Kind::System);
        QVERIFY2(!e.text.isEmpty(), qPrintable(protocol::errorCodeName(code)));
        QCOMPARE(e.text, ChatSession::errorText(error));
        texts.insert(e.text);
        QCOMPARE(a->state(), State::Idle); // none of them changes an idle session
    }
    QCOMPARE(texts.size(), protocol::kErrorCodeCount);
    QVERIFY(ChatSession::errorText({protocol::ErrorCode::RateLimited, {}, {}, 1500})
                .contains(QLatin1Char('2')));

    // Real ones from the server.
    QVERIFY(a->connection()->send(protocol::LeaveQueue{}));
    QTRY_COMPARE(lastText(a->model()),
                 ChatSession::errorText({protocol::ErrorCode::NotInQueue, {}, {}, -1}));
    auto b = connectSession();
    QVERIFY(b);
    QVERIFY(pair(*a, *b));
    QVERIFY(a->connection()->send(protocol::JoinQueue{}));
    QTRY_COMPARE(lastText(a->model()),
                 ChatSession::errorText({protocol::ErrorCode::AlreadyInRoom, {}, {}, -1}));
    QCOMPARE(a->state(), State::Chatting);
    // A refused typing event is not worth a notice.
    b->leave();
    QTRY_COMPARE(a->state(), State::Ended);
    const int rows = a->model()->count();
    QVERIFY(a->connection()->send(protocol::Typing{true}));
    QVERIFY(a->requestStats());
    QSignalSpy stats(a.get(), &ChatSession::statsReceived);
    QVERIFY(stats.wait(2000));
    QCOMPARE(a->model()->count(), rows);
}

void TestChatSession::reportAndStats()
{
    auto a = connectSession();
    auto b = connectSession();
    QVERIFY(a && b);
    QVERIFY(!a->report()); // not in a room
    QSignalSpy stats(a.get(), &ChatSession::statsReceived);
    QVERIFY(a->requestStats());
    QVERIFY(stats.wait(2000));
    QCOMPARE(stats.at(0).at(0).toInt(), 2);
    QCOMPARE(a->onlineCount(), 2);

    QVERIFY(pair(*a, *b));
    QVERIFY(a->report(QString(300, QLatin1Char('x')))); // over-long reasons are cut, not refused
    QTRY_VERIFY(lastText(a->model()).startsWith(QStringLiteral("Thank you.")));
    QVERIFY(a->requestStats());
    QTRY_COMPARE(stats.count(), 2);
    QCOMPARE(stats.at(1).at(2).toInt(), 1); // one active room
}

QTEST_GUILESS_MAIN(TestChatSession)
#include "tst_chatsession.moc"
