// EpollEventDispatcher: socket notifiers, posted events, wake-ups and real sockets, with the
// dispatcher installed for the whole process (epollsuite.h); its timers:
// tst_epolldispatcher_timers. Modelled on what Qt's own tst_qeventdispatcher, tst_qtimer and
// tst_qsocketnotifier check.
#include "tests/server/net/epollsuite.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QPointer>
#include <QSignalSpy>
#include <QSocketNotifier>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QThread>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <atomic>
#include <memory>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace anonchat::test::epoll;

class TestEpollDispatcher : public QObject
{
    Q_OBJECT

private slots:
    void installed();
    // socket notifiers
    void readNotifier();
    void writeNotifier();
    void enableDisable();
    void deleteNotifierInOwnActivation();
    void deleteOtherPendingNotifier();
    void multipleNotifiersOnOneFd();
    void descriptorNumberReused();
    void hangUpWakesReader();
    // posted events, wake-ups, flags
    void postedEventsAndDeleteLater();
    void wakeUpFromAnotherThread();
    void interruptFromAnotherThread();
    void interruptBeforeBlocking();
    void noWaitReturnsPromptly();
    void excludeSocketNotifiers();
    void excludeTimers();
    void eventLoopExecExit();
    void nestedEventLoops();
    void dispatcherInWorkerThread();
    void wakeUpRacingTheDrain();
    void postedBeforeSocketsOfTheSameWait();
    // real sockets
    void tcpEcho();
    void webSocketRoundTrip();
};

void TestEpollDispatcher::installed()
{
    QVERIFY(dispatcher());
}

void TestEpollDispatcher::readNotifier()
{
    SocketPair pair;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    QSignalSpy spy(&notifier, &QSocketNotifier::activated);
    spin(20);
    QCOMPARE(spy.count(), 0);
    pair.send();
    QTRY_COMPARE_WITH_TIMEOUT(spy.count() > 0, true, 2000);
    QCOMPARE(spy.first().at(0).value<QSocketDescriptor>(), QSocketDescriptor(pair.fds[0]));
    QCOMPARE(spy.first().at(1).value<QSocketNotifier::Type>(), QSocketNotifier::Read);
    // Level-triggered: still readable, so activated again until drained.
    const int before = int(spy.count());
    spin(20);
    QVERIFY(spy.count() > before);
    pair.drain();
    spin(10);
    const int drained = int(spy.count());
    spin(30);
    QCOMPARE(int(spy.count()), drained);
}

void TestEpollDispatcher::writeNotifier()
{
    SocketPair pair;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Write);
    int count = 0;
    connect(&notifier, &QSocketNotifier::activated, this, [&] {
        if (++count == 3)
            notifier.setEnabled(false);
    });
    QTRY_COMPARE_WITH_TIMEOUT(count, 3, 2000);
    spin(30);
    QCOMPARE(count, 3);
}

void TestEpollDispatcher::enableDisable()
{
    SocketPair pair;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    QSignalSpy spy(&notifier, &QSocketNotifier::activated);
    notifier.setEnabled(false);
    pair.send();
    spin(30);
    QCOMPARE(spy.count(), 0);
    notifier.setEnabled(true);
    QTRY_VERIFY_WITH_TIMEOUT(spy.count() > 0, 2000);
    pair.drain();
}

void TestEpollDispatcher::deleteNotifierInOwnActivation()
{
    SocketPair pair;
    auto *notifier = new QSocketNotifier(pair.fds[0], QSocketNotifier::Read);
    int count = 0;
    connect(notifier, &QSocketNotifier::activated, this, [&] {
        ++count;
        delete notifier;
        notifier = nullptr;
    });
    pair.send();
    QTRY_COMPARE_WITH_TIMEOUT(count, 1, 2000);
    spin(30);
    QCOMPARE(count, 1);
    // A new notifier on the same descriptor still works.
    QSocketNotifier again(pair.fds[0], QSocketNotifier::Read);
    QSignalSpy spy(&again, &QSocketNotifier::activated);
    QTRY_VERIFY_WITH_TIMEOUT(spy.count() > 0, 2000);
}

void TestEpollDispatcher::deleteOtherPendingNotifier()
{
    // Two notifiers ready in the same wait; whichever runs first deletes the other, which must
    // then not be activated (it would be a dangling pointer).
    SocketPair pair;
    auto *reader = new QSocketNotifier(pair.fds[0], QSocketNotifier::Read);
    auto *writer = new QSocketNotifier(pair.fds[0], QSocketNotifier::Write);
    int readerCount = 0;
    int writerCount = 0;
    connect(reader, &QSocketNotifier::activated, this, [&] {
        ++readerCount;
        delete writer;
        writer = nullptr;
        reader->setEnabled(false);
    });
    connect(writer, &QSocketNotifier::activated, this, [&] {
        ++writerCount;
        delete reader;
        reader = nullptr;
        writer->setEnabled(false);
    });
    pair.send();
    QTest::qWait(50);
    QCOMPARE(readerCount + writerCount, 1);
    delete reader;
    delete writer;
}

void TestEpollDispatcher::multipleNotifiersOnOneFd()
{
    SocketPair pair;
    QSocketNotifier reader(pair.fds[0], QSocketNotifier::Read);
    QSocketNotifier writer(pair.fds[0], QSocketNotifier::Write);
    QSocketNotifier exception(pair.fds[0], QSocketNotifier::Exception);
    QSignalSpy readSpy(&reader, &QSocketNotifier::activated);
    QSignalSpy writeSpy(&writer, &QSocketNotifier::activated);
    QSignalSpy exceptionSpy(&exception, &QSocketNotifier::activated);
    QTRY_VERIFY_WITH_TIMEOUT(writeSpy.count() > 0, 2000);
    QCOMPARE(readSpy.count(), 0);
    // Turning the writer off keeps the reader: the masks are combined per descriptor.
    writer.setEnabled(false);
    spin(10);
    const int writes = int(writeSpy.count());
    pair.send();
    QTRY_VERIFY_WITH_TIMEOUT(readSpy.count() > 0, 2000);
    QCOMPARE(int(writeSpy.count()), writes);
    pair.drain();
    // And the other way round.
    reader.setEnabled(false);
    writer.setEnabled(true);
    spin(10);
    const int reads = int(readSpy.count());
    pair.send();
    spin(30);
    QCOMPARE(int(readSpy.count()), reads);
    QVERIFY(writeSpy.count() > writes);
    // Out-of-band data is not possible on a Unix socket: the exception notifier stays quiet.
    QCOMPARE(exceptionSpy.count(), 0);
    pair.drain();
}

void TestEpollDispatcher::descriptorNumberReused()
{
    // The descriptor is closed before its notifier goes away (close() silently leaves the epoll
    // set); a new descriptor gets the same number and must still be watched.
    auto first = std::make_unique<SocketPair>();
    const int number = first->fds[0];
    auto notifier = std::make_unique<QSocketNotifier>(number, QSocketNotifier::Read);
    spin(5);
    first.reset();
    notifier.reset();
    SocketPair second;
    QCOMPARE(second.fds[0], number);
    QSocketNotifier again(second.fds[0], QSocketNotifier::Read);
    QSignalSpy spy(&again, &QSocketNotifier::activated);
    second.send();
    QTRY_VERIFY_WITH_TIMEOUT(spy.count() > 0, 2000);
}

void TestEpollDispatcher::hangUpWakesReader()
{
    SocketPair pair;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    QSignalSpy spy(&notifier, &QSocketNotifier::activated);
    ::close(pair.fds[1]);
    pair.fds[1] = -1;
    QTRY_VERIFY_WITH_TIMEOUT(spy.count() > 0, 2000);
    notifier.setEnabled(false);
}

void TestEpollDispatcher::postedEventsAndDeleteLater()
{
    QList<int> order;
    for (int i = 0; i < 5; ++i)
        QMetaObject::invokeMethod(
            this, [&order, i] { order << i; }, Qt::QueuedConnection);
    QPointer<QObject> doomed = new QObject;
    doomed->deleteLater();
    QEventLoop loop;
    QMetaObject::invokeMethod(&loop, &QEventLoop::quit, Qt::QueuedConnection);
    loop.exec();
    QCOMPARE(order, (QList<int>{0, 1, 2, 3, 4}));
    QTRY_VERIFY_WITH_TIMEOUT(doomed.isNull(), 2000);
    // Events posted from a posted event's handler are delivered too.
    bool second = false;
    QMetaObject::invokeMethod(
        this,
        [&] {
            QMetaObject::invokeMethod(
                this, [&] { second = true; }, Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
    QTRY_VERIFY_WITH_TIMEOUT(second, 2000);
}

void TestEpollDispatcher::wakeUpFromAnotherThread()
{
    QEventLoop loop;
    QTimer watchdog;
    watchdog.setSingleShot(true);
    connect(&watchdog, &QTimer::timeout, &loop, [&] { loop.exit(1); });
    watchdog.start(5000);
    QElapsedTimer clock;
    clock.start();
    std::thread thread([&loop] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        // Runs on the loop's thread once it is woken; the timer it starts then ends the loop.
        QMetaObject::invokeMethod(
            &loop, [&loop] { QTimer::singleShot(0, &loop, [&loop] { loop.exit(0); }); },
            Qt::QueuedConnection);
    });
    const int result = loop.exec();
    thread.join();
    QCOMPARE(result, 0);
    QVERIFY2(clock.elapsed() >= 95 && clock.elapsed() < 1000,
             qPrintable(QString::number(clock.elapsed())));
}

void TestEpollDispatcher::interruptFromAnotherThread()
{
    spin(1); // nothing left over
    QElapsedTimer clock;
    clock.start();
    EpollEventDispatcher *d = dispatcher();
    QTimer watchdog; // ensures the test ends even if interrupt() does not work
    watchdog.setSingleShot(true);
    watchdog.start(5000);
    std::thread thread([d] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        d->interrupt();
    });
    d->processEvents(QEventLoop::WaitForMoreEvents);
    thread.join();
    QVERIFY2(clock.elapsed() >= 95 && clock.elapsed() < 1000,
             qPrintable(QString::number(clock.elapsed())));
}

void TestEpollDispatcher::interruptBeforeBlocking()
{
    // A posted event interrupts: processEvents() must not then block.
    EpollEventDispatcher *d = dispatcher();
    QMetaObject::invokeMethod(
        this, [d] { d->interrupt(); }, Qt::QueuedConnection);
    QTimer watchdog;
    watchdog.setSingleShot(true);
    watchdog.start(5000);
    QElapsedTimer clock;
    clock.start();
    QSignalSpy aboutToBlock(d, &QAbstractEventDispatcher::aboutToBlock);
    d->processEvents(QEventLoop::WaitForMoreEvents);
    QVERIFY2(clock.elapsed() < 100, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(aboutToBlock.count(), 0);
}

void TestEpollDispatcher::noWaitReturnsPromptly()
{
    QTimer far;
    far.start(10000);
    EpollEventDispatcher *d = dispatcher();
    QSignalSpy awake(d, &QAbstractEventDispatcher::awake);
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < 100; ++i)
        d->processEvents(QEventLoop::AllEvents);
    QVERIFY2(clock.elapsed() < 100, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(awake.count(), 100);
    // With nothing to do, it reports that nothing was done.
    QVERIFY(!d->processEvents(QEventLoop::AllEvents));
}

void TestEpollDispatcher::excludeSocketNotifiers()
{
    SocketPair pair;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    QSignalSpy spy(&notifier, &QSocketNotifier::activated);
    pair.send();
    bool timed = false;
    QTimer::singleShot(50, Qt::PreciseTimer, this, [&] { timed = true; });
    QElapsedTimer clock;
    clock.start();
    int calls = 0;
    while (!timed && clock.elapsed() < 2000) {
        dispatcher()->processEvents(QEventLoop::WaitForMoreEvents |
                                    QEventLoop::ExcludeSocketNotifiers);
        ++calls;
    }
    QVERIFY(timed);
    QCOMPARE(spy.count(), 0);
    QVERIFY2(calls < 10, qPrintable(QString::number(calls))); // it waited; it did not spin
    dispatcher()->processEvents(QEventLoop::AllEvents);
    QVERIFY(spy.count() > 0);
    pair.drain();
}

void TestEpollDispatcher::excludeTimers()
{
    TimerObject object; // a real timer: QTimer::singleShot(0) would be a posted call
    object.startTimer(1, Qt::PreciseTimer);
    QTest::qSleep(5);
    dispatcher()->processEvents(QEventLoop::X11ExcludeTimers);
    QVERIFY(object.fired.isEmpty());
    dispatcher()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(object.fired.size(), 1);
}

void TestEpollDispatcher::eventLoopExecExit()
{
    QEventLoop loop;
    QTimer::singleShot(30, &loop, [&loop] { loop.exit(7); });
    QElapsedTimer clock;
    clock.start();
    QCOMPARE(loop.exec(), 7);
    QVERIFY(clock.elapsed() >= 29 && clock.elapsed() < 1000);
}

void TestEpollDispatcher::nestedEventLoops()
{
    QEventLoop outer;
    QList<QString> trace;
    QTimer::singleShot(10, &outer, [&] {
        trace << QStringLiteral("outer timer");
        QEventLoop inner;
        QTimer::singleShot(10, &inner, [&] {
            trace << QStringLiteral("inner timer");
            inner.exit(3);
        });
        trace << QStringLiteral("inner %1").arg(inner.exec());
        outer.exit(4);
    });
    QCOMPARE(outer.exec(), 4);
    QCOMPARE(trace, (QList<QString>{QStringLiteral("outer timer"), QStringLiteral("inner timer"),
                                    QStringLiteral("inner 3")}));
}

void TestEpollDispatcher::dispatcherInWorkerThread()
{
    QThread thread;
    thread.setEventDispatcher(new EpollEventDispatcher);
    thread.start();
    QObject worker;
    worker.moveToThread(&thread);
    std::atomic<int> ticks{0};
    std::atomic<bool> rightDispatcher{false};
    QMetaObject::invokeMethod(
        &worker,
        [&] {
            rightDispatcher = qobject_cast<EpollEventDispatcher *>(
                                  QAbstractEventDispatcher::instance()) != nullptr;
            auto *timer = new QTimer(&worker);
            connect(timer, &QTimer::timeout, timer, [&ticks, timer] {
                if (++ticks == 3)
                    timer->stop();
            });
            timer->start(10);
        },
        Qt::QueuedConnection);
    QTRY_COMPARE_WITH_TIMEOUT(ticks.load(), 3, 2000);
    QVERIFY(rightDispatcher.load());
    QObject *mainObject = this;
    QMetaObject::invokeMethod(
        &worker,
        [&worker, mainObject] {
            qDeleteAll(worker.children());
            worker.moveToThread(mainObject->thread());
        },
        Qt::BlockingQueuedConnection);
    thread.quit();
    QVERIFY(thread.wait(2000));
}

// The race: another thread's wakeUp() lands while the worker takes its wake-ups. An event
// posted after that must still wake the worker. (Taking them in the other order once kept a
// worker of anonchat-server asleep with events posted, which hung a shutdown.)
void TestEpollDispatcher::wakeUpRacingTheDrain()
{
    QThread thread;
    // Another thread's wakeUp(), as if right between taking the wake-ups and clearing their flag.
    struct RacingDispatcher : EpollEventDispatcher {
        std::atomic<bool> raced{false};
        void wakeUpsTaken() override
        {
            if (!raced.exchange(true))
                wakeUp();
        }
    };
    auto *dispatcher = new RacingDispatcher;
    const std::atomic<bool> &raced = dispatcher->raced;
    thread.setEventDispatcher(dispatcher);
    thread.start();
    QObject worker;
    worker.moveToThread(&thread);
    std::atomic<int> ran{0};
    QMetaObject::invokeMethod(
        &worker, [&ran] { ran.fetch_add(1); }, Qt::QueuedConnection);
    QTRY_COMPARE_WITH_TIMEOUT(ran.load(), 1, 2000);
    QTRY_VERIFY_WITH_TIMEOUT(raced, 2000);
    QTest::qWait(50); // the worker is asleep again
    QMetaObject::invokeMethod(
        &worker, [&ran] { ran.fetch_add(1); }, Qt::QueuedConnection);
    QElapsedTimer waited;
    waited.start();
    while (ran.load() < 2 && waited.elapsed() < 2000)
        QTest::qWait(5);
    const int ranCount = ran.load();
    if (ranCount < 2)
        dispatcher->interrupt(); // wakes it unconditionally, to take the worker back
    QObject *mainObject = this;
    QMetaObject::invokeMethod(
        &worker, [&worker, mainObject] { worker.moveToThread(mainObject->thread()); },
        Qt::BlockingQueuedConnection);
    thread.quit();
    QVERIFY(thread.wait(2000));
    QVERIFY2(ranCount == 2, "an event posted after the race did not wake the worker");
}

void TestEpollDispatcher::postedBeforeSocketsOfTheSameWait()
{
    // An event posted, then a socket made readable, both while the dispatcher is about to wait:
    // one wait sees both, and the posted event is delivered first (a relayed message before the
    // partner's leave that followed its sender's ack).
    SocketPair pair;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    QStringList order;
    QEventLoop loop; // exec() waits (aboutToBlock); QTest::qWait() only polls
    const auto record = [&](const QString &what) {
        order.append(what);
        if (order.size() == 2)
            loop.quit();
    };
    connect(&notifier, &QSocketNotifier::activated, this, [&] {
        pair.drain();
        record(QStringLiteral("socket"));
    });
    bool armed = true;
    connect(QAbstractEventDispatcher::instance(), &QAbstractEventDispatcher::aboutToBlock, &loop,
            [&] {
                if (!std::exchange(armed, false))
                    return;
                QMetaObject::invokeMethod(
                    &loop, [&] { record(QStringLiteral("posted")); }, Qt::QueuedConnection);
                pair.send();
            });
    QTimer::singleShot(2000, &loop, &QEventLoop::quit);
    loop.exec();
    QVERIFY2(!armed, "the dispatcher waited");
    QCOMPARE(order, (QStringList{QStringLiteral("posted"), QStringLiteral("socket")}));
}

void TestEpollDispatcher::tcpEcho()
{
    QTcpServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    connect(&server, &QTcpServer::newConnection, this, [&server] {
        while (QTcpSocket *peer = server.nextPendingConnection()) {
            connect(peer, &QTcpSocket::readyRead, peer, [peer] { peer->write(peer->readAll()); });
            connect(peer, &QTcpSocket::disconnected, peer, &QObject::deleteLater);
        }
    });
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QVERIFY(client.waitForConnected(5000) || client.state() == QAbstractSocket::ConnectedState);
    QByteArray payload(4 * 1024 * 1024, Qt::Uninitialized);
    for (int i = 0; i < payload.size(); ++i)
        payload[i] = char(i * 7 + i / 251);
    QByteArray received;
    connect(&client, &QTcpSocket::readyRead, this, [&] { received += client.readAll(); });
    client.write(payload); // large enough to need several write-ready activations
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), payload.size(), 20000);
    QVERIFY(received == payload);
    client.disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), QAbstractSocket::UnconnectedState, 5000);
}

void TestEpollDispatcher::webSocketRoundTrip()
{
    QWebSocketServer server(QStringLiteral("tst"), QWebSocketServer::NonSecureMode);
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    connect(&server, &QWebSocketServer::newConnection, this, [&server] {
        while (QWebSocket *peer = server.nextPendingConnection()) {
            connect(peer, &QWebSocket::textMessageReceived, peer,
                    [peer](const QString &text) { peer->sendTextMessage(text.toUpper()); });
            connect(peer, &QWebSocket::disconnected, peer, &QObject::deleteLater);
        }
    });
    QWebSocket client;
    QStringList replies;
    connect(&client, &QWebSocket::textMessageReceived, this,
            [&](const QString &text) { replies << text; });
    QSignalSpy connected(&client, &QWebSocket::connected);
    client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(server.serverPort())));
    QTRY_COMPARE_WITH_TIMEOUT(connected.count(), 1, 5000);
    for (int i = 0; i < 100; ++i)
        client.sendTextMessage(QStringLiteral("hello %1").arg(i));
    QTRY_COMPARE_WITH_TIMEOUT(replies.size(), 100, 5000);
    QCOMPARE(replies.first(), QStringLiteral("HELLO 0"));
    QCOMPARE(replies.last(), QStringLiteral("HELLO 99"));
    QSignalSpy disconnected(&client, &QWebSocket::disconnected);
    client.close();
    QTRY_COMPARE_WITH_TIMEOUT(disconnected.count(), 1, 5000);
}

int main(int argc, char *argv[])
{
    return anonchat::test::epoll::runOnEpoll<TestEpollDispatcher>(argc, argv);
}

#include "tst_epolldispatcher.moc"
