#include "server/storage/idallocator.h"

#include "server/storage/dialect.h"
#include "server/storage/rowwriter.h"

#include <QLoggingCategory>
#include <QString>
#include <chrono>
#include <vector>

namespace anonchat::server {

namespace {

Q_LOGGING_CATEGORY(lcIds, "anonchat.storage", QtInfoMsg)

// PostgreSQL: ids are reserved from the sequences this many at a time per table, refilled by the
// writer thread when fewer than half are left (between groups: a refill takes about a millisecond,
// and half a reserve lasts tens of milliseconds even at the relay's peak rate). A caller waits
// this long at most for a refill; after a wait in vain, callers get 0 at once until the writer
// has tried again (the server's event loop must not stall once per message).
constexpr size_t kIdReserve = 4096;
constexpr auto kIdWait = std::chrono::seconds(2);

} // namespace

IdAllocator::IdAllocator(const Dialect &dialect, std::function<void()> wakeWriter)
    : m_reserves(dialect.reservesIds())
    , m_wakeWriter(std::move(wakeWriter))
{}

qint64 IdAllocator::next(Table table)
{
    if (m_reserves)
        return take(table == Table::Rooms ? m_roomIds : m_messageIds);
    return (table == Table::Rooms ? m_nextRoomId : m_nextMessageId).fetch_add(1);
}

qint64 IdAllocator::take(std::deque<qint64> &reserve)
{
    std::unique_lock lock(m_mutex);
    // Other callers may drain a refill before this one wakes: ask again until one fails.
    while (reserve.empty() && m_running && !m_unavailable) {
        m_refillRequested = true;
        m_wakeWriter();
        const quint64 attempts = m_refillAttempts;
        if (!m_changed.wait_for(lock, kIdWait, [&] {
                return !reserve.empty() || m_refillAttempts != attempts || !m_running;
            })) {
            m_unavailable = true;
        } else if (reserve.empty() && m_refillAttempts != attempts && !m_lastRefillOk) {
            break;
        }
    }
    if (reserve.empty()) {
        lock.unlock();
        qCWarning(lcIds) << "no id available: the storage writer cannot reserve ids";
        return 0;
    }
    const qint64 id = reserve.front();
    reserve.pop_front();
    if (reserve.size() < kIdReserve / 2 && !m_refillRequested && m_running) {
        m_refillRequested = true;
        lock.unlock();
        m_wakeWriter();
    }
    return id;
}

bool IdAllocator::seed(RowWriter &rows, QString *error)
{
    if (m_reserves)
        return refill(rows, error);
    const std::pair<const char *, std::atomic<qint64> *> counters[] = {
        {"chat_rooms", &m_nextRoomId},
        {"messages", &m_nextMessageId},
    };
    for (const auto &[table, counter] : counters) {
        qint64 seed = 0;
        if (!rows.nextFreeId(QLatin1String(table), &seed, error))
            return false;
        // Never hand out an id twice, even if some were taken before start().
        qint64 current = counter->load();
        while (current < seed && !counter->compare_exchange_weak(current, seed)) {
        }
    }
    return true;
}

bool IdAllocator::refill(RowWriter &rows, QString *error)
{
    const std::pair<bool, std::deque<qint64> *> reserves[] = {
        {true, &m_roomIds},
        {false, &m_messageIds},
    };
    {
        std::lock_guard lock(m_mutex);
        m_refillRequested = false;
    }
    bool ok = true;
    for (const auto &[isRooms, reserve] : reserves) {
        size_t have = 0;
        {
            std::lock_guard lock(m_mutex);
            have = reserve->size();
        }
        if (have >= kIdReserve / 2)
            continue;
        std::vector<qint64> ids;
        if (!rows.reserveIds(isRooms, qint64(kIdReserve - have), &ids, error)) {
            ok = false;
            break;
        }
        std::lock_guard lock(m_mutex);
        reserve->insert(reserve->end(), ids.begin(), ids.end());
    }
    {
        std::lock_guard lock(m_mutex);
        ++m_refillAttempts;
        m_unavailable = false;
        m_lastRefillOk = ok;
    }
    m_changed.notify_all();
    return ok;
}

void IdAllocator::setRunning(bool running)
{
    {
        std::lock_guard lock(m_mutex);
        m_running = running;
    }
    m_changed.notify_all(); // nobody waits for ids once it stops
}

} // namespace anonchat::server
