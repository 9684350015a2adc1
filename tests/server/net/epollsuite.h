// The helpers of the tst_epolldispatcher suites: a socketpair, an object that records its timer
// events, and main() with EpollEventDispatcher installed for the whole process.
#pragma once

#include "server/net/epolldispatcher.h"

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTest>
#include <QTimer>

#include <sys/socket.h>
#include <unistd.h>

namespace anonchat::test::epoll {

using server::EpollEventDispatcher;

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

inline EpollEventDispatcher *dispatcher()
{
    return qobject_cast<EpollEventDispatcher *>(QAbstractEventDispatcher::instance());
}

/// Spins the event loop for `ms` milliseconds.
inline void spin(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, Qt::PreciseTimer, &loop, &QEventLoop::quit);
    loop.exec();
}

/// main(): the dispatcher installed before the application exists, as anonchat-server's main()
/// does.
template <typename Suite>
int runOnEpoll(int argc, char *argv[])
{
    QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    Suite suite;
    return QTest::qExec(&suite, argc, argv);
}

} // namespace anonchat::test::epoll
