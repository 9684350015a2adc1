// Connection churn and leaks against the real `anonchat-server`: 2,000 connect-and-go cycles, then
// the gauges back at 0 and the server's RSS back near its level after a warm-up round.

#include "tests/system/faultsuite.h"

using namespace anonchat::test;
using namespace anonchat::test::faults;

class TestFaultsChurn : public FaultSuite
{
    Q_OBJECT

private slots:
    void churnLeavesNothingBehind();
};

namespace {

/// One connect-and-go cycle of the churn test.
class ChurnClient
{
public:
    enum class Kind {
        PartialRequest,  ///< half an HTTP request, then EOF
        UnreadHandshake, ///< a full upgrade request, then a reset before the answer
        AfterWelcome,    ///< welcome, then close or abort
        AfterJoin,       ///< join_queue, waiting or matched, then abort
        AfterMessage,    ///< matched, a message acked, then abort
        MessageInFlight, ///< matched, a message sent, abort at once
    };

    ChurnClient(Kind kind, quint16 port, int serial)
        : m_kind(kind)
        , m_serial(serial)
    {
        if (kind == Kind::PartialRequest || kind == Kind::UnreadHandshake) {
            m_tcp = std::make_unique<QTcpSocket>();
            QObject::connect(m_tcp.get(), &QTcpSocket::connected, m_tcp.get(), [this, port] {
                const QByteArray head =
                    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port) +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
                if (m_kind == Kind::PartialRequest) {
                    m_tcp->write(head.left(head.size() / 2 + m_serial % 17));
                    m_tcp->flush();
                    m_tcp->disconnectFromHost();
                } else {
                    m_tcp->write(head + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                        "Sec-WebSocket-Version: 13\r\n\r\n");
                    m_tcp->flush();
                    m_tcp->abort();
                    m_done = true;
                }
            });
            QObject::connect(m_tcp.get(), &QTcpSocket::disconnected, m_tcp.get(),
                             [this] { m_done = true; });
            QObject::connect(m_tcp.get(), &QTcpSocket::errorOccurred, m_tcp.get(),
                             [this](QAbstractSocket::SocketError e) {
                                 if (e != QAbstractSocket::RemoteHostClosedError && !m_done)
                                     m_failed = true;
                                 m_done = true;
                             });
            m_tcp->connectToHost(QHostAddress(QHostAddress::LocalHost), port);
            return;
        }
        m_ws = std::make_unique<QWebSocket>();
        QObject::connect(m_ws.get(), &QWebSocket::textMessageReceived, m_ws.get(),
                         [this](const QString &text) { onText(text); });
        QObject::connect(m_ws.get(),
                         QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error),
                         m_ws.get(), [this] {
                             if (!m_leaving)
                                 m_failed = true;
                         });
        QObject::connect(m_ws.get(), &QWebSocket::disconnected, m_ws.get(), [this] {
            if (!m_leaving)
                m_failed = true; // the server must not drop us
            m_done = true;
        });
        m_ws->open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws").arg(port)));
    }

    bool done() const { return m_done; }
    bool failed() const { return m_failed; }
    bool busy() const { return m_busy; }
    /// Still waiting for a partner when everyone else is gone: leave as a queued user.
    void giveUp()
    {
        if (m_done)
            return;
        m_gaveUp = true;
        leave(true);
    }
    bool gaveUp() const { return m_gaveUp; }

private:
    void onText(const QString &text)
    {
        protocol::ServerDecodeResult r = protocol::decodeServerFrame(text);
        auto *message = std::get_if<protocol::ServerMessage>(&r);
        if (!message)
            return;
        if (const auto *e = std::get_if<protocol::Error>(message)) {
            if (e->code == protocol::ErrorCode::ServerBusy)
                m_busy = true;
            return;
        }
        if (std::holds_alternative<protocol::Welcome>(*message)) {
            if (m_kind == Kind::AfterWelcome)
                leave(m_serial % 2 == 0);
            else
                m_ws->sendTextMessage(protocol::encodeText(protocol::JoinQueue{}));
        } else if (std::holds_alternative<protocol::Waiting>(*message)) {
            if (m_kind == Kind::AfterJoin)
                leave(true);
        } else if (std::holds_alternative<protocol::Matched>(*message)) {
            if (m_kind == Kind::AfterJoin) {
                leave(true);
            } else {
                m_ws->sendTextMessage(protocol::encodeText(
                    protocol::SendMessage{QStringLiteral("churn %1").arg(m_serial),
                                          QStringLiteral("n%1").arg(m_serial)}));
                if (m_kind == Kind::MessageInFlight) {
                    m_ws->flush();
                    leave(true);
                }
            }
        } else if (const auto *m = std::get_if<protocol::NewMessage>(message)) {
            if (m_kind == Kind::AfterMessage && !m->nonce.isEmpty())
                leave(true);
        }
    }
    void leave(bool abort)
    {
        if (m_leaving)
            return;
        m_leaving = true;
        if (abort) {
            m_ws->abort();
            m_done = true;
        } else {
            m_ws->close(); // done when the close handshake ends
        }
    }

    Kind m_kind;
    int m_serial;
    std::unique_ptr<QTcpSocket> m_tcp;
    std::unique_ptr<QWebSocket> m_ws;
    bool m_done = false;
    bool m_failed = false;
    bool m_leaving = false;
    bool m_busy = false;
    bool m_gaveUp = false;
};

struct ChurnTotals {
    int cycles = 0;
    int failed = 0;
    int busy = 0;
    int gaveUp = 0;
};

/// Runs `clients` to the end; false if some never finished.
bool runChurn(std::vector<std::unique_ptr<ChurnClient>> &clients, ChurnTotals &totals)
{
    const auto allDone = [&] {
        for (const auto &c : clients) {
            if (!c->done())
                return false;
        }
        return true;
    };
    bool finished = waitUntil(allDone, 20000);
    if (!finished) {
        // A lone client left in the queue (its partner-to-be was an earlier client's
        // disconnection in flight): it leaves as a queued user.
        for (const auto &c : clients)
            c->giveUp();
        finished = waitUntil(allDone, 5000);
    }
    for (const auto &c : clients) {
        ++totals.cycles;
        totals.failed += c->failed() ? 1 : 0;
        totals.busy += c->busy() ? 1 : 0;
        totals.gaveUp += c->gaveUp() ? 1 : 0;
    }
    clients.clear();
    return finished;
}

/// One batch of 100 cycles: 20 raw half-handshakes, 25 after welcome, 25 after join_queue, then
/// 30 users who are matched and send a message (15 wait for its ack, 15 drop at once).
bool churnBatch(quint16 port, int &serial, ChurnTotals &totals)
{
    using Kind = ChurnClient::Kind;
    std::vector<std::unique_ptr<ChurnClient>> clients;
    for (int i = 0; i < 70; ++i) {
        const Kind kind = i < 10   ? Kind::PartialRequest
                          : i < 20 ? Kind::UnreadHandshake
                          : i < 45 ? Kind::AfterWelcome
                                   : Kind::AfterJoin;
        clients.push_back(std::make_unique<ChurnClient>(kind, port, serial++));
    }
    if (!runChurn(clients, totals))
        return false;
    // The queue empty first, so that the next 30 are matched among themselves.
    if (!waitUntil([port] {
            return metrics(port).value(QStringLiteral("anonchat_queued_users"), -1) == 0;
        }))
        return false;
    for (int i = 0; i < 30; ++i) {
        clients.push_back(std::make_unique<ChurnClient>(
            i % 2 ? Kind::AfterMessage : Kind::MessageInFlight, port, serial++));
    }
    return runChurn(clients, totals);
}

/// Waits until the server holds nothing: no connection, queue, room or away user.
bool settled(quint16 port, QHash<QString, double> *last)
{
    return waitUntil(
        [&] {
            *last = metrics(port);
            return last->value(QStringLiteral("anonchat_connections"), -1) == 0 &&
                   last->value(QStringLiteral("anonchat_queued_users"), -1) == 0 &&
                   last->value(QStringLiteral("anonchat_active_rooms"), -1) == 0 &&
                   last->value(QStringLiteral("anonchat_away_users"), 0) == 0;
        },
        15000);
}

/// The gauges of settled(), in `format` (%1 connections, %2 queued, %3 rooms, %4 away).
QString gaugeText(const QString &format, const QHash<QString, double> &gauges)
{
    return format.arg(gauges.value(QStringLiteral("anonchat_connections")))
        .arg(gauges.value(QStringLiteral("anonchat_queued_users")))
        .arg(gauges.value(QStringLiteral("anonchat_active_rooms")))
        .arg(gauges.value(QStringLiteral("anonchat_away_users")));
}

/// How much the server's RSS may grow over the churn; sets up `server` (not started yet) for it.
qint64 churnRssBoundKiB(ServerProcess &server)
{
    // The bound is for real leaks: the server's own heap does not grow with churn (measured with
    // heaptrack: what stays is SQLite's page cache, at most 2 MiB by default, as the file grows).
    qint64 boundKiB = 8 * 1024;
#ifdef ANONCHAT_TEST_ASAN
    // Under AddressSanitizer freed memory sits in its quarantine (256 MiB by default) and would
    // read as growth: a small quarantine keeps RSS meaningful, and redzones and the allocator's
    // caches add their share; LeakSanitizer checks at the server's exit (exit code 0 below).
    boundKiB += 8 * 1024 + 4 * 1024;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    QString asan = env.value(QStringLiteral("ASAN_OPTIONS"));
    if (!asan.isEmpty())
        asan += QLatin1Char(':');
    env.insert(QStringLiteral("ASAN_OPTIONS"), asan + QStringLiteral("quarantine_size_mb=8"));
    server.setEnvironment(env);
#else
    Q_UNUSED(server);
#endif
    return boundKiB;
}

} // namespace

// 2,000 connect-and-go cycles in batches (half handshakes, after welcome, after join_queue,
// after matching and a message); then the gauges are back at 0 (after the 1 s resume window)
// and the server's RSS is back near its level after a warm-up round.
void TestFaultsChurn::churnLeavesNothingBehind()
{
    constexpr int kWarmupBatches = 2;
    constexpr int kBatches = 20; // 100 cycles each
    ServerProcess server;
    const qint64 boundKiB = churnRssBoundKiB(server);
    QString why;
    // Per-address limit off: a batch holds up to 70 connections from 127.0.0.1 at once.
    QVERIFY2(server.start({"--port", "0", "--db", freshDbPath(), "--resume-window", "1",
                           "--max-connections-per-address", "0", "--log-level", "warning"},
                          &why),
             qPrintable(why));
    const quint16 port = server.port();
    int serial = 0;
    ChurnTotals warmup;
    for (int i = 0; i < kWarmupBatches; ++i)
        QVERIFY(churnBatch(port, serial, warmup));
    QHash<QString, double> gauges;
    QVERIFY2(settled(port, &gauges),
             qPrintable(gaugeText(QStringLiteral("the warm-up left something behind: connections "
                                                 "%1, queued %2, rooms %3, away %4"),
                                  gauges)));
    const qint64 rssBefore = server.rssKiB();
    QVERIFY(rssBefore > 0);

    QElapsedTimer timer;
    timer.start();
    ChurnTotals totals;
    for (int i = 0; i < kBatches; ++i)
        QVERIFY2(churnBatch(port, serial, totals), qPrintable(QStringLiteral("batch %1").arg(i)));
    const qint64 churnMs = timer.elapsed();
    QVERIFY2(
        settled(port, &gauges),
        qPrintable(gaugeText(QStringLiteral("connections %1 queued %2 rooms %3 away %4"), gauges)));
    const qint64 rssAfter = server.rssKiB();
    QCOMPARE(totals.cycles, kBatches * 100);
    QCOMPARE(totals.failed, 0);
    QCOMPARE(totals.busy, 0);
    qInfo("churn: %d connect/disconnect cycles in %lld ms (%d left from the queue at the end); "
          "afterwards connections 0, queued 0, active rooms 0; server RSS %lld KiB after the "
          "warm-up, %lld KiB after the churn (%+lld KiB, bound %lld KiB)",
          totals.cycles, churnMs, totals.gaveUp, rssBefore, rssAfter, rssAfter - rssBefore,
          boundKiB);
    QVERIFY2(rssAfter - rssBefore < boundKiB,
             qPrintable(QStringLiteral("RSS grew from %1 to %2 KiB").arg(rssBefore).arg(rssAfter)));

    // Still serving, and it stops cleanly (LeakSanitizer checks at exit in sanitizer builds).
    const auto pair = newClients(port, 2);
    QVERIFY(matchAll(pair));
    expectCleanStop(server, 20000);
}

QTEST_GUILESS_MAIN(TestFaultsChurn)
#include "tst_faults_churn.moc"
