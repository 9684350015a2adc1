#include "server/net/epolldispatcher.h"

#include <QCoreApplication>
#include <QSocketNotifier>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace anonchat::server {

namespace {

constexpr qint64 NsPerMs = 1000 * 1000;
constexpr qint64 NsPerSecond = 1000 * NsPerMs;

// QSocketNotifier::Type (Read, Write, Exception) -> the epoll event that makes it ready.
constexpr std::array<uint32_t, 3> InterestMask = {EPOLLIN, EPOLLOUT, EPOLLPRI};
// The events that activate each type, as QEventDispatcherUNIX maps poll()'s revents: a hang-up
// or an error wakes a reader (it then reads 0 or the error), an error wakes a writer.
constexpr std::array<uint32_t, 3> ActivatingMask = {EPOLLIN | EPOLLHUP | EPOLLERR,
                                                    EPOLLOUT | EPOLLERR, EPOLLPRI};

} // namespace

EpollEventDispatcher::EpollEventDispatcher(QObject *parent)
    : QAbstractEventDispatcher(parent)
{
    m_epollFd = ::epoll_create1(EPOLL_CLOEXEC);
    if (m_epollFd < 0)
        qFatal("EpollEventDispatcher: epoll_create1 failed: %s", strerror(errno));
    m_wakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_wakeFd < 0)
        qFatal("EpollEventDispatcher: eventfd failed: %s", strerror(errno));
    epoll_event event = {};
    event.events = EPOLLIN;
    event.data.fd = m_wakeFd;
    if (::epoll_ctl(m_epollFd, EPOLL_CTL_ADD, m_wakeFd, &event) != 0)
        qFatal("EpollEventDispatcher: epoll_ctl failed: %s", strerror(errno));
}

EpollEventDispatcher::~EpollEventDispatcher()
{
    ::close(m_wakeFd);
    ::close(m_epollFd);
}

qint64 EpollEventDispatcher::now()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

bool EpollEventDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags)
{
    m_interrupted.store(false, std::memory_order_relaxed);
    emit awake();
    QCoreApplication::sendPostedEvents();

    const bool includeTimers = !(flags & QEventLoop::X11ExcludeTimers);
    const bool includeNotifiers = !(flags & QEventLoop::ExcludeSocketNotifiers);
    // Every postEvent() calls wakeUp(), so an event posted from here on makes the eventfd
    // readable and the wait below returns at once: no need to look at the posted-event list.
    const bool canWait =
        (flags & QEventLoop::WaitForMoreEvents) && !m_interrupted.load(std::memory_order_relaxed);
    if (canWait)
        emit aboutToBlock();
    if (m_interrupted.load(std::memory_order_relaxed))
        return false;

    int timeout = -1;
    if (!canWait)
        timeout = 0;
    else if (includeTimers)
        timeout = waitTimeout();
    if (includeNotifiers && !m_unpollable.empty())
        timeout = 0;

    int handled = 0;
    if (includeNotifiers)
        handled += pollSockets(timeout);
    else
        waitForWakeUp(timeout);
    if (includeTimers)
        handled += activateTimers();
    return handled > 0;
}

int EpollEventDispatcher::pollSockets(int timeout)
{
    applyDirtyDescriptors();
    const int n = ::epoll_wait(m_epollFd, m_events.data(), int(m_events.size()), timeout);
    if (n < 0 && errno != EINTR)
        qErrnoWarning("EpollEventDispatcher: epoll_wait failed");
    for (int i = 0; i < n; ++i) {
        const int fd = m_events[size_t(i)].data.fd;
        if (fd == m_wakeFd) {
            drainWakeUps();
            continue;
        }
        const auto it = m_descriptors.find(fd);
        if (it != m_descriptors.end())
            markPending(fd, it->second, m_events[size_t(i)].events);
    }
    for (const int fd : m_unpollable) {
        const auto it = m_descriptors.find(fd);
        if (it != m_descriptors.end())
            markPending(fd, it->second, EPOLLIN | EPOLLOUT);
    }
    // What was posted while we waited goes before the sockets that woke us with it: a thread
    // that posts (a message relayed to a user here) and then writes to a socket (the ack to
    // the sender) must not have the answer to that write (the partner leaving) handled here
    // before what it posted. Not only when the wake-up descriptor is in this batch: a full
    // batch may leave it for the next wait.
    if (n > 0)
        QCoreApplication::sendPostedEvents();
    return activateSocketNotifiers();
}

void EpollEventDispatcher::waitForWakeUp(int timeout)
{
    // Sockets stay in the epoll set (level-triggered, they would wake it at once): wait for
    // the wake-up descriptor alone.
    pollfd wake = {m_wakeFd, POLLIN, 0};
    if (::poll(&wake, 1, timeout) > 0)
        drainWakeUps();
}

void EpollEventDispatcher::drainWakeUps()
{
    // Read first, then clear the flag. The other order loses wake-ups: a wakeUp() between the
    // two would write after the flag was cleared, the read would take its write, and the flag,
    // set again by it, would keep every later wakeUp() from writing while nothing wakes us.
    // This way a wakeUp() between the two at worst writes once more (a spurious wake-up), and
    // one that sees the flag still set posted its event before we look at the posted events.
    eventfd_t value = 0;
    [[maybe_unused]] const int r = ::eventfd_read(m_wakeFd, &value);
    wakeUpsTaken();
    m_wakeUpPending.store(false, std::memory_order_release);
}

void EpollEventDispatcher::wakeUp()
{
    // Called from any thread, on every postEvent(): one write per wait is enough.
    if (!m_wakeUpPending.exchange(true, std::memory_order_acq_rel))
        ::eventfd_write(m_wakeFd, 1);
}

void EpollEventDispatcher::interrupt()
{
    m_interrupted.store(true, std::memory_order_relaxed);
    m_wakeUpPending.store(true, std::memory_order_release);
    ::eventfd_write(m_wakeFd, 1);
}

// --- socket notifiers ---

void EpollEventDispatcher::registerSocketNotifier(QSocketNotifier *notifier)
{
    Q_ASSERT(notifier);
    const int fd = int(notifier->socket());
    const int type = int(notifier->type());
    if (fd < 0 || type < 0 || type > 2)
        return;
    Descriptor &descriptor = m_descriptors[fd];
    QSocketNotifier *&slot = descriptor.notifiers[size_t(type)];
    if (slot && slot != notifier)
        qWarning("EpollEventDispatcher: multiple socket notifiers of type %d for socket %d", type,
                 fd);
    slot = notifier;
    updateDescriptor(fd, descriptor);
}

void EpollEventDispatcher::unregisterSocketNotifier(QSocketNotifier *notifier)
{
    Q_ASSERT(notifier);
    const int fd = int(notifier->socket());
    const int type = int(notifier->type());
    const auto it = m_descriptors.find(fd);
    if (it == m_descriptors.end() || type < 0 || type > 2 ||
        it->second.notifiers[size_t(type)] != notifier)
        return;
    it->second.notifiers[size_t(type)] = nullptr;
    it->second.pending[size_t(type)] = false; // never activated once disabled or deleted
    updateDescriptor(fd, it->second);
}

void EpollEventDispatcher::updateDescriptor(int fd, Descriptor &descriptor)
{
    uint32_t events = 0;
    for (size_t type = 0; type < 3; ++type) {
        if (descriptor.notifiers[type])
            events |= InterestMask[type];
    }
    if (!descriptor.pollable) {
        if (events == 0) {
            m_unpollable.erase(std::remove(m_unpollable.begin(), m_unpollable.end(), fd),
                               m_unpollable.end());
            m_descriptors.erase(fd);
        }
        return;
    }
    if (events == 0) {
        // At once, before the descriptor can be closed and its number reused. Fails harmlessly if
        // it was closed first (close() leaves the epoll set).
        if (descriptor.events)
            ::epoll_ctl(m_epollFd, EPOLL_CTL_DEL, fd, nullptr);
        m_descriptors.erase(fd);
        return;
    }
    if (descriptor.events == 0) {
        watch(fd, descriptor, events);
        return;
    }
    // A change of interest on a watched descriptor waits until the next epoll_wait(): a socket
    // enables its write notifier for every frame and disables it once the frame is written,
    // which, when the write happens before the loop waits again, costs no system call at all.
    if (!descriptor.dirty) {
        descriptor.dirty = true;
        m_dirty.push_back(fd);
    }
}

void EpollEventDispatcher::applyDirtyDescriptors()
{
    for (const int fd : m_dirty) {
        const auto it = m_descriptors.find(fd);
        if (it == m_descriptors.end() || !it->second.dirty)
            continue;
        Descriptor &descriptor = it->second;
        descriptor.dirty = false;
        uint32_t events = 0;
        for (size_t type = 0; type < 3; ++type) {
            if (descriptor.notifiers[type])
                events |= InterestMask[type];
        }
        if (events != descriptor.events)
            watch(fd, descriptor, events);
    }
    m_dirty.clear();
}

void EpollEventDispatcher::watch(int fd, Descriptor &descriptor, uint32_t events)
{
    epoll_event event = {};
    event.events = events;
    event.data.fd = fd;
    // The descriptor may have been closed and its number reused since we last told epoll about
    // it, so MOD and ADD each fall back on the other.
    int result =
        ::epoll_ctl(m_epollFd, descriptor.events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
    if (result != 0 && errno == ENOENT)
        result = ::epoll_ctl(m_epollFd, EPOLL_CTL_ADD, fd, &event);
    else if (result != 0 && errno == EEXIST)
        result = ::epoll_ctl(m_epollFd, EPOLL_CTL_MOD, fd, &event);
    if (result == 0) {
        descriptor.events = events;
    } else if (errno == EPERM) {
        // A regular file or a directory: poll() would call it always ready, so do the same.
        descriptor.pollable = false;
        descriptor.events = events;
        m_unpollable.push_back(fd);
    } else {
        qErrnoWarning("EpollEventDispatcher: cannot watch socket %d", fd);
        descriptor.events = 0;
    }
}

void EpollEventDispatcher::markPending(int fd, Descriptor &descriptor, uint32_t revents)
{
    for (size_t type = 0; type < 3; ++type) {
        if (descriptor.notifiers[type] && (revents & ActivatingMask[type]) &&
            !descriptor.pending[type]) {
            descriptor.pending[type] = true;
            m_pendingNotifiers.emplace_back(fd, int(type));
        }
    }
}

int EpollEventDispatcher::activateSocketNotifiers()
{
    // unregisterSocketNotifier() clears a notifier's pending flag, so one disabled or deleted by
    // an earlier activation is never sent an event. The list is taken first: a nested event loop
    // inside an activation fills and activates its own.
    std::vector<std::pair<int, int>> pending;
    pending.swap(m_pendingNotifiers);
    int activated = 0;
    QEvent event(QEvent::SockAct);
    for (const auto &[fd, type] : pending) {
        const auto it = m_descriptors.find(fd);
        if (it == m_descriptors.end() || !it->second.pending[size_t(type)])
            continue;
        it->second.pending[size_t(type)] = false;
        QSocketNotifier *notifier = it->second.notifiers[size_t(type)];
        if (!notifier)
            continue;
        QCoreApplication::sendEvent(notifier, &event);
        ++activated;
    }
    if (m_pendingNotifiers.empty()) {
        pending.clear();
        pending.swap(m_pendingNotifiers); // keep the capacity
    }
    return activated;
}

// --- timers ---

void EpollEventDispatcher::schedule(int timerId, Timer &timer, qint64 currentTime, bool first)
{
    if (!first)
        m_timerQueue.erase(TimerKey{timer.deadline, timer.serial, timerId});
    if (timer.type == Qt::VeryCoarseTimer) {
        const qint64 step = timer.interval * NsPerSecond;
        qint64 deadline = first ? currentTime : timer.deadline + step;
        if (first || deadline < currentTime) {
            // Whole seconds of the monotonic clock, rounded to the nearest, as Qt does.
            deadline = (currentTime / NsPerSecond + timer.interval) * NsPerSecond;
            if (currentTime % NsPerSecond > NsPerSecond / 2)
                deadline += NsPerSecond;
        }
        timer.deadline = deadline;
    } else {
        const qint64 step = timer.interval * NsPerMs;
        qint64 deadline = first ? currentTime + step : timer.deadline + step;
        if (deadline < currentTime)
            deadline = currentTime + step; // fell behind: skip the missed activations
        timer.deadline = deadline;
    }
    timer.serial = m_nextSerial++;
    m_timerQueue.emplace(timer.deadline, timer.serial, timerId);
}

void EpollEventDispatcher::registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                                         QObject *object)
{
    if (timerId < 1 || interval < 0 || !object) {
        qWarning("EpollEventDispatcher::registerTimer: invalid arguments");
        return;
    }
    unregisterTimer(timerId); // a stale registration of the same id must not linger
    Timer timer;
    timer.object = object;
    timer.type = timerType;
    timer.interval = interval;
    // Qt's thresholds: under 20 ms 5% is under 1 ms, so coarse is precise; at 20 s and over,
    // 5% is over a second, so coarse is very coarse.
    if (timerType == Qt::CoarseTimer && interval >= 20000)
        timer.type = Qt::VeryCoarseTimer;
    if (timer.type == Qt::VeryCoarseTimer)
        timer.interval = (interval + 500) / 1000;
    Timer &stored = m_timers.emplace(timerId, timer).first->second;
    m_timersByObject.emplace(object, timerId);
    schedule(timerId, stored, now(), true);
}

bool EpollEventDispatcher::unregisterTimer(int timerId)
{
    const auto it = m_timers.find(timerId);
    if (it == m_timers.end())
        return false;
    m_timerQueue.erase(TimerKey{it->second.deadline, it->second.serial, timerId});
    auto range = m_timersByObject.equal_range(it->second.object);
    for (auto i = range.first; i != range.second; ++i) {
        if (i->second == timerId) {
            m_timersByObject.erase(i);
            break;
        }
    }
    m_timers.erase(it);
    return true;
}

bool EpollEventDispatcher::unregisterTimers(QObject *object)
{
    auto range = m_timersByObject.equal_range(object);
    if (range.first == range.second)
        return false;
    for (auto i = range.first; i != range.second; ++i) {
        const auto it = m_timers.find(i->second);
        if (it != m_timers.end()) {
            m_timerQueue.erase(TimerKey{it->second.deadline, it->second.serial, it->first});
            m_timers.erase(it);
        }
    }
    m_timersByObject.erase(range.first, range.second);
    return true;
}

QList<QAbstractEventDispatcher::TimerInfo>
EpollEventDispatcher::registeredTimers(QObject *object) const
{
    QList<TimerInfo> list;
    auto range = m_timersByObject.equal_range(object);
    for (auto i = range.first; i != range.second; ++i) {
        const auto it = m_timers.find(i->second);
        if (it == m_timers.end())
            continue;
        const Timer &timer = it->second;
        const qint64 ms =
            timer.type == Qt::VeryCoarseTimer ? timer.interval * 1000 : timer.interval;
        list.append(TimerInfo(it->first, int(std::min<qint64>(ms, INT_MAX)), timer.type));
    }
    std::sort(list.begin(), list.end(),
              [](const TimerInfo &a, const TimerInfo &b) { return a.timerId < b.timerId; });
    return list;
}

int EpollEventDispatcher::remainingTime(int timerId)
{
    const auto it = m_timers.find(timerId);
    if (it == m_timers.end())
        return -1;
    const qint64 left = it->second.deadline - now();
    if (left <= 0)
        return 0;
    return int(std::min<qint64>((left + NsPerMs - 1) / NsPerMs, INT_MAX));
}

int EpollEventDispatcher::waitTimeout() const
{
    // The first timer not inside its own handler (a nested loop must not spin on it).
    for (const TimerKey &key : m_timerQueue) {
        const auto it = m_timers.find(std::get<2>(key));
        if (it == m_timers.end() || it->second.inHandler)
            continue;
        const qint64 left = std::get<0>(key) - now();
        if (left <= 0)
            return 0;
        // Round up: waking a fraction of a millisecond early would mean a second wait.
        return int(std::min<qint64>((left + NsPerMs - 1) / NsPerMs, INT_MAX));
    }
    return -1;
}

int EpollEventDispatcher::activateTimers()
{
    const qint64 currentTime = now();
    // Collect first: each due timer fires at most once per call (a zero timer re-armed by its
    // handler waits for the next iteration), and a handler may stop, restart or delete any.
    std::vector<std::pair<int, quint64>> due;
    for (const TimerKey &key : m_timerQueue) {
        if (std::get<0>(key) > currentTime)
            break;
        const auto it = m_timers.find(std::get<2>(key));
        if (it != m_timers.end() && !it->second.inHandler)
            due.emplace_back(std::get<2>(key), std::get<1>(key));
    }
    int activated = 0;
    for (const auto &[timerId, serial] : due) {
        auto it = m_timers.find(timerId);
        if (it == m_timers.end() || it->second.serial != serial)
            continue; // stopped, or stopped and started again, by an earlier handler
        Timer &timer = it->second;
        schedule(timerId, timer, currentTime, false);
        timer.inHandler = true;
        QTimerEvent event(timerId);
        QCoreApplication::sendEvent(timer.object, &event); // `timer` may be gone after this
        ++activated;
        it = m_timers.find(timerId);
        if (it != m_timers.end())
            it->second.inHandler = false;
    }
    return activated;
}

} // namespace anonchat::server
