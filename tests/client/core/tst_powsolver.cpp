// PowSolver and ChatSession's admission by proof of work (client/core) against a real
// in-process ChatServer with `--pow-bits`: the search runs off the GUI thread with progress,
// can be cancelled, and two sessions solve, queue and match; the admission holds across a
// reconnect with resume (no second search).

#include "client/core/chatsession.h"
#include "client/core/powsolver.h"
#include "server/app/chatserver.h"
#include "shared/proofofwork.h"
#include "tests/client/core/connectedsession.h"
#include "tests/support/inprocessserver.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QWebSocket>
#include <memory>

using namespace anonchat;
using namespace anonchat::client;
using State = ChatSession::State;

namespace {

const QByteArray kChallenge = QByteArray::fromHex("000102030405060708090a0b0c0d0e0f");

/// The network fails under `session`: its socket is aborted (as in tst_chatsession).
void dropConnection(ChatSession &session)
{
    const auto sockets = session.connection()->findChildren<QWebSocket *>();
    for (QWebSocket *ws : sockets) {
        if (ws->state() == QAbstractSocket::ConnectedState) {
            ws->flush();
            ws->abort();
        }
    }
}

QList<int> ints(const QSignalSpy &spy)
{
    QList<int> out;
    for (const QList<QVariant> &args : spy)
        out.append(args.at(0).toInt());
    return out;
}

} // namespace

class TestPowSolver : public QObject
{
    Q_OBJECT
private slots:
    void init();
    void cleanup();

    void solvesOffTheCallingThread();
    void cancelAndRestart();
    void sessionsSolveThenMatch();
    void leaveWhileSolving();
    void admissionSurvivesReconnect();

private:
    bool startServer(int powBits);
    std::unique_ptr<ChatSession> connectSession();

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<server::ChatServer> m_server;
    int m_instances = 0;
};

void TestPowSolver::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestPowSolver::cleanup()
{
    if (m_server) {
        QSignalSpy stopped(m_server.get(), &server::ChatServer::stopped);
        m_server->shutdown();
        QVERIFY(stopped.count() > 0 || stopped.wait(5000));
        m_server.reset();
    }
    m_dir.reset();
}

bool TestPowSolver::startServer(int powBits)
{
    server::ServerConfig config;
    config.port = 0;
    config.database = m_dir->filePath(QStringLiteral("chat.db"));
    config.resumeWindowMs = 5000;
    config.powBits = powBits;
    config.instanceName = QStringLiteral("tst-powsolver-%1").arg(++m_instances);
    return test::startChatServer(m_server, config);
}

std::unique_ptr<ChatSession> TestPowSolver::connectSession()
{
    return test::connectedSession(m_server->url());
}

void TestPowSolver::solvesOffTheCallingThread()
{
    PowSolver solver;
    QSignalSpy progress(&solver, &PowSolver::progress);
    QSignalSpy solved(&solver, &PowSolver::solved);
    QElapsedTimer t;
    t.start();
    solver.start({kChallenge, 18});
    QVERIFY2(t.elapsed() < 100, "start() returns at once");
    QVERIFY(solver.isRunning());
    // The calling thread's event loop keeps running meanwhile (it delivers the signals).
    QVERIFY(solved.wait(30000));
    QVERIFY(!solver.isRunning());
    QCOMPARE(solved.at(0).at(0).toByteArray(), kChallenge);
    const QString nonce = solved.at(0).at(1).toString();
    QVERIFY(protocol::powSolves(kChallenge, nonce, 18));
    QVERIFY(!protocol::powSolves(kChallenge, QString::number(nonce.toULongLong() - 1), 18) ||
            nonce == QLatin1String("0")); // the first solution, so the search was complete
    const QList<int> percents = ints(progress);
    QVERIFY(std::is_sorted(percents.begin(), percents.end()));
    for (int p : percents)
        QVERIFY(p >= 0 && p <= 99);
}

void TestPowSolver::cancelAndRestart()
{
    PowSolver solver;
    QSignalSpy solved(&solver, &PowSolver::solved);
    solver.start({kChallenge, 24}); // seconds of work
    QTest::qWait(50);
    QElapsedTimer t;
    t.start();
    solver.cancel();
    QVERIFY2(t.elapsed() < 200, "the search looks at its cancel flag often");
    QVERIFY(!solver.isRunning());
    const QByteArray other = QByteArray::fromHex("ffeeddccbbaa99887766554433221100");
    solver.start({other, 10});
    QVERIFY(solved.wait(5000));
    QTest::qWait(100);
    QCOMPARE(solved.count(), 1); // only the search running now reports
    QCOMPARE(solved.at(0).at(0).toByteArray(), other);
    QVERIFY(protocol::powSolves(other, solved.at(0).at(1).toString(), 10));
}

void TestPowSolver::sessionsSolveThenMatch()
{
    QVERIFY(startServer(14));
    auto a = connectSession();
    auto b = connectSession();
    QVERIFY(a && b);
    QVERIFY(a->connection()->powChallenge());
    QCOMPARE(a->connection()->powChallenge()->bits, 14);
    QSignalSpy progressA(a.get(), &ChatSession::powProgressChanged);
    QVERIFY(a->start());
    QCOMPARE(a->state(), State::Searching);
    QCOMPARE(a->powProgress(), 0); // solving, nothing sent yet
    QVERIFY(b->start());
    QVERIFY(QTest::qWaitFor(
        [&] { return a->state() == State::Chatting && b->state() == State::Chatting; }, 10000));
    QCOMPARE(a->powProgress(), -1);
    QCOMPARE(ints(progressA).constFirst(), 0);
    QCOMPARE(ints(progressA).constLast(), -1);
    QCOMPARE(a->partnerId(), b->userId());
    // Admitted for the connection's life: next() needs no second search.
    QSignalSpy progressAgain(a.get(), &ChatSession::powProgressChanged);
    QVERIFY(a->next());
    QCOMPARE(a->powProgress(), -1);
    QVERIFY(QTest::qWaitFor([&] { return b->state() == State::Ended; }, 5000));
    QVERIFY(progressAgain.isEmpty());
}

void TestPowSolver::leaveWhileSolving()
{
    QVERIFY(startServer(24));
    auto a = connectSession();
    QVERIFY(a);
    QVERIFY(a->start());
    QVERIFY(a->powProgress() >= 0);
    a->leave();
    QCOMPARE(a->state(), State::Idle);
    QCOMPARE(a->powProgress(), -1);
    QSignalSpy stats(a.get(), &ChatSession::statsReceived);
    QVERIFY(a->requestStats());
    QVERIFY(stats.wait(3000));
    QCOMPARE(stats.at(0).at(1).toInt(), 0); // nobody queued
}

void TestPowSolver::admissionSurvivesReconnect()
{
    QVERIFY(startServer(14));
    auto a = connectSession();
    QVERIFY(a);
    QVERIFY(a->start());
    QVERIFY(QTest::qWaitFor([&] { return a->powProgress() == -1; }, 10000));
    const QString id = a->userId();
    QTest::qWait(200); // queued (`waiting` received)
    QSignalSpy progress(a.get(), &ChatSession::powProgressChanged);
    dropConnection(*a);
    QVERIFY(QTest::qWaitFor([&] { return a->state() == State::Connecting; }, 3000));
    // Resumed as the same identity and queued again with no new search: the server kept the
    // admission (a new challenge came with the new connection's welcome).
    QVERIFY(
        QTest::qWaitFor([&] { return a->isConnected() && a->state() == State::Searching; }, 5000));
    QCOMPARE(a->userId(), id);
    auto b = connectSession();
    QVERIFY(b);
    QVERIFY(b->start());
    QVERIFY(QTest::qWaitFor([&] { return a->state() == State::Chatting; }, 10000));
    QVERIFY2(progress.isEmpty(),
             qPrintable(QStringLiteral("%1 progress signals").arg(progress.count())));
}

QTEST_MAIN(TestPowSolver)
#include "tst_powsolver.moc"
