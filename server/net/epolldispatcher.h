#pragma once

#include <QAbstractEventDispatcher>

#include <array>
#include <atomic>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <sys/epoll.h>

class QSocketNotifier;

namespace anonchat::server {

/**
 * An event dispatcher for Linux whose cost per wake-up does not grow with the number of open
 * sockets: socket notifiers live in an epoll set, timers in an ordered set keyed by deadline, and
 * wakeUp()/interrupt() write to an eventfd. Qt's default (glib) dispatcher polls every descriptor
 * on every iteration, which with thousands of idle WebSockets costs milliseconds per message.
 *
 * Semantics follow QEventDispatcherUNIX: posted events are sent at the start of processEvents(),
 * socket notifiers are level-triggered, timers repeat until unregistered, a timer is not
 * re-entered from a nested loop inside its own handler, PreciseTimer fires on the millisecond,
 * CoarseTimer fires on time (under 20 s; longer ones become VeryCoarseTimer, as in Qt) and
 * VeryCoarseTimer works in whole seconds. Install it with QCoreApplication::setEventDispatcher()
 * before the application object exists, or QThread::setEventDispatcher() before start().
 */
class EpollEventDispatcher : public QAbstractEventDispatcher
{
    Q_OBJECT

public:
    explicit EpollEventDispatcher(QObject *parent = nullptr);
    ~EpollEventDispatcher() override;

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;

    void registerSocketNotifier(QSocketNotifier *notifier) override;
    void unregisterSocketNotifier(QSocketNotifier *notifier) override;

    using QAbstractEventDispatcher::registerTimer;
    void registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                       QObject *object) override;
    bool unregisterTimer(int timerId) override;
    bool unregisterTimers(QObject *object) override;
    QList<TimerInfo> registeredTimers(QObject *object) const override;
    int remainingTime(int timerId) override;

    void wakeUp() override;
    void interrupt() override;

protected:
    /// Runs in the middle of taking the wake-ups (on the dispatcher's thread), where another
    /// thread's wakeUp() may land: tst_epolldispatcher races one there.
    virtual void wakeUpsTaken() {}

private:
    struct Timer {
        QObject *object = nullptr;
        qint64 interval = 0; // milliseconds; whole seconds for VeryCoarseTimer
        Qt::TimerType type = Qt::CoarseTimer;
        qint64 deadline = 0; // steady clock, nanoseconds
        quint64 serial = 0;  // position among equal deadlines; changes on every reschedule
        bool inHandler = false;
    };
    // (deadline, serial, timer id): the first element is the next timer due.
    using TimerKey = std::tuple<qint64, quint64, int>;

    struct Descriptor {
        std::array<QSocketNotifier *, 3> notifiers = {}; // Read, Write, Exception
        std::array<bool, 3> pending = {};                // in m_pendingNotifiers, to activate
        uint32_t events = 0;                             // the mask given to epoll
        bool pollable = true; // false for regular files: epoll refuses them, poll says "ready"
        bool dirty = false;   // in m_dirty: the mask may differ from the notifiers'
    };

    static qint64 now();
    void schedule(int timerId, Timer &timer, qint64 currentTime, bool first);
    int waitTimeout() const;
    int activateTimers();
    void updateDescriptor(int fd, Descriptor &descriptor);
    void applyDirtyDescriptors();
    void watch(int fd, Descriptor &descriptor, uint32_t events);
    void markPending(int fd, Descriptor &descriptor, uint32_t revents);
    int activateSocketNotifiers();
    /// Waits on the epoll set, then activates the ready notifiers; returns how many.
    int pollSockets(int timeout);
    /// Waits on the wake-up descriptor alone (ExcludeSocketNotifiers).
    void waitForWakeUp(int timeout);
    void drainWakeUps();

    int m_epollFd = -1;
    int m_wakeFd = -1;
    std::atomic<bool> m_wakeUpPending{false};
    std::atomic<bool> m_interrupted{false};

    std::unordered_map<int, Timer> m_timers;
    std::set<TimerKey> m_timerQueue;
    std::unordered_multimap<QObject *, int> m_timersByObject;
    quint64 m_nextSerial = 0;

    std::unordered_map<int, Descriptor> m_descriptors;
    std::vector<int> m_unpollable; // descriptors epoll refused; always reported ready
    std::vector<int> m_dirty;      // descriptors whose epoll mask is to be brought up to date
    // (descriptor, notifier type) ready to be activated, in the order epoll reported them.
    std::vector<std::pair<int, int>> m_pendingNotifiers;
    std::array<epoll_event, 256> m_events{};
};

} // namespace anonchat::server
