// EpollEventDispatcher: timers, socket notifiers, posted events, wake-ups and real sockets, with
// the dispatcher installed for the whole process (see main() at the bottom). Modelled on what
// Qt's own tst_qeventdispatcher, tst_qtimer and tst_qsocketnotifier check.
#include "server/net/epolldispatcher.h"

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

using anonchat::server::EpollEventDispatcher;

namespace {

/// A socketpair closed on destruction.
struct SocketPair {
    int fds[2] = {-1, -1};
    SocketPair() { QVERIFY2(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, ""); }
    ~SocketPair()
    {
        for (int fd : fds) {
            if (fd >= 0)
                ::close(fd);
        }
    }
    void send(char byte = 'x') const { QCOMPARE(::write(fds[1], &byte, 1), ssize_t(1)); }
    void drain() const
    {
        char buffer[64];
        [[maybe_unused]] const ssize_t n = ::recv(fds[0], buffer, sizeof buffer, MSG_DONTWAIT);
    }
};

/// Records its timer events; optionally kills or restarts the timer from the handler.
class TimerObject : public QObject
{
public:
    enum class Action { None, Kill, Restart };
    Action action = Action::None;
    QList<int> fired;
    QList<qint64> firedAt;
    QList<int> remainingInHandler;
    QElapsedTimer clock;
    int restartedId = 0;

    TimerObject() { clock.start(); }

protected:
    void timerEvent(QTimerEvent *event) override
    {
        fired.append(event->timerId());
        firedAt.append(clock.elapsed());
        remainingInHandler.append(
            QAbstractEventDispatcher::instance()->remainingTime(event->timerId()));
        if (action == Action::Kill) {
            killTimer(event->timerId());
        } else if (action == Action::Restart) {
            killTimer(event->timerId());
            action = Action::None;
            restartedId = startTimer(30, Qt::PreciseTimer);
        }
    }
};

EpollEventDispatcher *dispatcher()
{
    return qobject_cast<EpollEventDispatcher *>(QAbstractEventDispatcher::instance());
}

/// Spins the event loop for `ms` milliseconds.
void spin(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, Qt::PreciseTimer, &loop, &QEventLoop::quit);
    loop.exec();
}

} // namespace

class TestEpollDispatcher : public QObject
{
    Q_OBJECT

private slots:
    void installed();
    // timers
    void singleShotPrecise();
    void repeatingPreciseNoDrift();
    void coarseAndVeryCoarse();
    void zeroTimerDoesNotStarve();
    void killTimerInOwnHandler();
    void restartTimerInOwnHandler();
    void manyTimersFireInOrder();
    void remainingTime();
    void registeredTimers();
    void unregisterTimersOfObject();
    void deleteObjectWithTimers();
    void timerNotReenteredFromNestedLoop();
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

void TestEpollDispatcher::singleShotPrecise()
{
    for (const int interval : {0, 10, 100}) {
        QElapsedTimer clock;
        clock.start();
        qint64 firedAt = -1;
        QTimer::singleShot(interval, Qt::PreciseTimer, this, [&] { firedAt = clock.elapsed(); });
        QTRY_VERIFY_WITH_TIMEOUT(firedAt >= 0, 2000);
        QVERIFY2(firedAt >= interval, qPrintable(QString::number(firedAt)));
        QVERIFY2(firedAt <= interval + 20, qPrintable(QString::number(firedAt)));
        spin(interval + 30);
    }
}

void TestEpollDispatcher::repeatingPreciseNoDrift()
{
    TimerObject object;
    const int id = object.startTimer(20, Qt::PreciseTimer);
    QVERIFY(id > 0);
    QTRY_VERIFY_WITH_TIMEOUT(object.fired.size() >= 10, 2000);
    object.killTimer(id);
    for (int i = 0; i < 10; ++i) {
        QCOMPARE(object.fired.at(i), id);
        // Deadlines advance by the interval from the previous deadline, so no drift builds up.
        QVERIFY2(object.firedAt.at(i) >= 20 * (i + 1), qPrintable(QString::number(i)));
        QVERIFY2(object.firedAt.at(i) <= 20 * (i + 1) + 20, qPrintable(QString::number(i)));
    }
}

void TestEpollDispatcher::coarseAndVeryCoarse()
{
    QElapsedTimer clock;
    clock.start();
    qint64 coarseAt = -1;
    qint64 veryCoarseAt = -1;
    QTimer::singleShot(100, Qt::CoarseTimer, this, [&] { coarseAt = clock.elapsed(); });
    QTimer::singleShot(1000, Qt::VeryCoarseTimer, this, [&] { veryCoarseAt = clock.elapsed(); });
    QTRY_VERIFY_WITH_TIMEOUT(coarseAt >= 0 && veryCoarseAt >= 0, 3000);
    QVERIFY2(coarseAt >= 95 && coarseAt <= 140, qPrintable(QString::number(coarseAt)));
    // Whole seconds of the monotonic clock: one second, rounded to the nearest second.
    QVERIFY2(veryCoarseAt >= 499 && veryCoarseAt <= 1600,
             qPrintable(QString::number(veryCoarseAt)));
}

void TestEpollDispatcher::zeroTimerDoesNotStarve()
{
    int zeroCount = 0;
    QTimer zero;
    zero.setInterval(0);
    connect(&zero, &QTimer::timeout, this, [&] { ++zeroCount; });
    zero.start();
    bool posted = false;
    bool timed = false;
    QMetaObject::invokeMethod(
        this, [&] { posted = true; }, Qt::QueuedConnection);
    QTimer::singleShot(30, Qt::PreciseTimer, this, [&] { timed = true; });
    SocketPair pair;
    bool socket = false;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    connect(&notifier, &QSocketNotifier::activated, this, [&] {
        socket = true;
        pair.drain();
    });
    pair.send();
    QTRY_VERIFY_WITH_TIMEOUT(posted && timed && socket, 2000);
    QVERIFY(zeroCount > 10);
}

void TestEpollDispatcher::killTimerInOwnHandler()
{
    TimerObject object;
    object.action = TimerObject::Action::Kill;
    const int id = object.startTimer(10, Qt::PreciseTimer);
    spin(100);
    QCOMPARE(object.fired, QList<int>{id});
    QCOMPARE(dispatcher()->remainingTime(id), -1);
    QVERIFY(dispatcher()->registeredTimers(&object).isEmpty());
}

void TestEpollDispatcher::restartTimerInOwnHandler()
{
    TimerObject object;
    object.action = TimerObject::Action::Restart;
    const int first = object.startTimer(10, Qt::PreciseTimer);
    QTRY_VERIFY_WITH_TIMEOUT(object.fired.size() >= 3, 2000);
    QCOMPARE(object.fired.first(), first);
    QVERIFY(object.restartedId > 0);
    for (int i = 1; i < object.fired.size(); ++i)
        QCOMPARE(object.fired.at(i), object.restartedId);
    // The restarted timer runs at its own 30 ms interval from the restart (deadlines advance
    // from the previous deadline, so only the distance from the restart is exact).
    QVERIFY(object.firedAt.at(1) - object.firedAt.at(0) >= 30);
    QVERIFY(object.firedAt.at(2) - object.firedAt.at(0) >= 60);
}

void TestEpollDispatcher::manyTimersFireInOrder()
{
    QList<int> order;
    const QList<int> intervals = {50, 10, 40, 20, 30, 20, 0, 45, 5};
    for (int i = 0; i < intervals.size(); ++i)
        QTimer::singleShot(intervals.at(i), Qt::PreciseTimer, this, [&order, i] { order << i; });
    QTRY_COMPARE_WITH_TIMEOUT(order.size(), intervals.size(), 2000);
    // Sorted by interval; equal intervals in the order they were started.
    QCOMPARE(order, (QList<int>{6, 8, 1, 3, 5, 4, 2, 7, 0}));
}

void TestEpollDispatcher::remainingTime()
{
    QTimer timer;
    timer.setTimerType(Qt::PreciseTimer);
    timer.start(200);
    QTest::qWait(50);
    const int left = timer.remainingTime();
    QVERIFY2(left > 50 && left <= 150, qPrintable(QString::number(left)));
    QCOMPARE(dispatcher()->remainingTime(123456), -1);

    // Inside a repeating timer's handler, the next activation is already a full interval away.
    TimerObject object;
    const int id = object.startTimer(50, Qt::PreciseTimer);
    QTRY_VERIFY_WITH_TIMEOUT(object.fired.size() >= 2, 2000);
    object.killTimer(id);
    for (int inHandler : object.remainingInHandler)
        QVERIFY2(inHandler > 20 && inHandler <= 50, qPrintable(QString::number(inHandler)));
}

void TestEpollDispatcher::registeredTimers()
{
    QObject object;
    const int precise = object.startTimer(10, Qt::PreciseTimer);
    const int coarse = object.startTimer(300, Qt::CoarseTimer);
    const int veryCoarse = object.startTimer(1400, Qt::VeryCoarseTimer);
    const int longCoarse = object.startTimer(25000, Qt::CoarseTimer);
    const auto timers = dispatcher()->registeredTimers(&object);
    QCOMPARE(timers.size(), 4);
    auto find = [&](int id) {
        for (const auto &info : timers) {
            if (info.timerId == id)
                return info;
        }
        return QAbstractEventDispatcher::TimerInfo(-1, -1, Qt::PreciseTimer);
    };
    QCOMPARE(find(precise).interval, 10);
    QCOMPARE(find(precise).timerType, Qt::PreciseTimer);
    QCOMPARE(find(coarse).interval, 300);
    QCOMPARE(find(coarse).timerType, Qt::CoarseTimer);
    QCOMPARE(find(veryCoarse).interval, 1000); // whole seconds
    QCOMPARE(find(veryCoarse).timerType, Qt::VeryCoarseTimer);
    QCOMPARE(find(longCoarse).interval, 25000);
    QCOMPARE(find(longCoarse).timerType, Qt::VeryCoarseTimer); // 5% of 25 s exceeds a second
    QObject other;
    QVERIFY(dispatcher()->registeredTimers(&other).isEmpty());
    object.killTimer(precise);
    QCOMPARE(dispatcher()->registeredTimers(&object).size(), 3);
}

void TestEpollDispatcher::unregisterTimersOfObject()
{
    TimerObject object;
    TimerObject bystander;
    object.startTimer(5, Qt::PreciseTimer);
    object.startTimer(10, Qt::PreciseTimer);
    bystander.startTimer(5, Qt::PreciseTimer);
    QVERIFY(dispatcher()->unregisterTimers(&object));
    QVERIFY(!dispatcher()->unregisterTimers(&object));
    QVERIFY(dispatcher()->registeredTimers(&object).isEmpty());
    spin(60);
    QVERIFY(object.fired.isEmpty());
    QVERIFY(!bystander.fired.isEmpty());
    QCOMPARE(dispatcher()->registeredTimers(&bystander).size(), 1);
}

void TestEpollDispatcher::deleteObjectWithTimers()
{
    // An object deleted by another timer's handler while its own timer is due in the same pass.
    auto *victim = new TimerObject;
    victim->startTimer(5, Qt::PreciseTimer);
    bool killerRan = false;
    QTimer::singleShot(5, Qt::PreciseTimer, this, [&] {
        killerRan = true;
        delete victim;
        victim = nullptr;
    });
    QTest::qSleep(20); // both are due when the loop next runs
    spin(30);
    QVERIFY(killerRan);
}

void TestEpollDispatcher::timerNotReenteredFromNestedLoop()
{
    int depth = 0;
    int maxDepth = 0;
    int count = 0;
    QTimer timer;
    timer.setTimerType(Qt::PreciseTimer);
    timer.setInterval(5);
    connect(&timer, &QTimer::timeout, this, [&] {
        ++depth;
        maxDepth = std::max(maxDepth, depth);
        if (++count == 1)
            spin(50); // a nested loop in the handler: this timer must not fire inside it
        --depth;
    });
    timer.start();
    QTRY_VERIFY_WITH_TIMEOUT(count >= 3, 2000);
    timer.stop();
    QCOMPARE(maxDepth, 1);
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
    auto *dispatcher = new EpollEventDispatcher;
    bool raced = false;
    dispatcher->setWakeUpRaceHookForTesting([dispatcher, &raced] {
        if (raced)
            return;
        raced = true;
        dispatcher->wakeUp(); // as if from another thread, right here
    });
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
    // Installed before the application exists, as anonchat-server's main() does.
    QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    TestEpollDispatcher test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_epolldispatcher.moc"
