// EpollEventDispatcher's timers: precise, coarse and very coarse, killed or restarted in their
// own handler, listed, removed with their object, never re-entered from a nested loop; with the
// dispatcher installed for the whole process (epollsuite.h). Modelled on Qt's own tst_qtimer.
#include "tests/server/net/epollsuite.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QSocketNotifier>
#include <QTest>
#include <QTimer>

#include <algorithm>

using namespace anonchat::test::epoll;

class TestEpollDispatcherTimers : public QObject
{
    Q_OBJECT

private slots:
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
};

void TestEpollDispatcherTimers::singleShotPrecise()
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

void TestEpollDispatcherTimers::repeatingPreciseNoDrift()
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

void TestEpollDispatcherTimers::coarseAndVeryCoarse()
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

void TestEpollDispatcherTimers::zeroTimerDoesNotStarve()
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

void TestEpollDispatcherTimers::killTimerInOwnHandler()
{
    TimerObject object;
    object.action = TimerObject::Action::Kill;
    const int id = object.startTimer(10, Qt::PreciseTimer);
    spin(100);
    QCOMPARE(object.fired, QList<int>{id});
    QCOMPARE(dispatcher()->remainingTime(id), -1);
    QVERIFY(dispatcher()->registeredTimers(&object).isEmpty());
}

void TestEpollDispatcherTimers::restartTimerInOwnHandler()
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

void TestEpollDispatcherTimers::manyTimersFireInOrder()
{
    QList<int> order;
    const QList<int> intervals = {50, 10, 40, 20, 30, 20, 0, 45, 5};
    for (int i = 0; i < intervals.size(); ++i)
        QTimer::singleShot(intervals.at(i), Qt::PreciseTimer, this, [&order, i] { order << i; });
    QTRY_COMPARE_WITH_TIMEOUT(order.size(), intervals.size(), 2000);
    // Sorted by interval; equal intervals in the order they were started.
    QCOMPARE(order, (QList<int>{6, 8, 1, 3, 5, 4, 2, 7, 0}));
}

void TestEpollDispatcherTimers::remainingTime()
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

void TestEpollDispatcherTimers::registeredTimers()
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

void TestEpollDispatcherTimers::unregisterTimersOfObject()
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

void TestEpollDispatcherTimers::deleteObjectWithTimers()
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

void TestEpollDispatcherTimers::timerNotReenteredFromNestedLoop()
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

int main(int argc, char *argv[])
{
    return runOnEpoll<TestEpollDispatcherTimers>(argc, argv);
}

#include "tst_epolldispatcher_timers.moc"
