#pragma once
// Room and message ids, handed out to any thread before the row is written.

#include <QtGlobal>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

class QString;

namespace anonchat::server {

class Dialect;
class RowWriter;

/**
 * The server gives a room or message its id before storing it, so ids come from here, not from
 * the insert. SQLite: a counter per table, seeded from MAX(id) + 1. PostgreSQL: blocks reserved
 * from the tables' sequences by the writer thread (servers sharing the database never get the
 * same id), topped up when fewer than half are left; a caller waits only while a reserve is
 * empty, and gets 0 (never an id) if it cannot be refilled.
 */
class IdAllocator
{
public:
    enum class Table { Rooms, Messages };

    /// `wakeWriter` asks the writer thread to call refill() soon (thread-safe).
    IdAllocator(const Dialect &dialect, std::function<void()> wakeWriter);

    /// Thread-safe. 0 if no id can be had.
    qint64 next(Table table);

    // The writer thread's side.
    /// At start: the counters from the tables (SQLite) or the first blocks (PostgreSQL).
    bool seed(RowWriter &rows, QString *error);
    /// Tops up the reserves that are below half; wakes the callers waiting.
    bool refill(RowWriter &rows, QString *error);
    /// While not running, callers get what is reserved and then 0, without waiting.
    void setRunning(bool running);

private:
    qint64 take(std::deque<qint64> &reserve);

    const bool m_reserves;
    const std::function<void()> m_wakeWriter;
    std::atomic<qint64> m_nextRoomId{1};
    std::atomic<qint64> m_nextMessageId{1};

    std::mutex m_mutex; // guards everything below
    std::condition_variable m_changed;
    std::deque<qint64> m_roomIds;
    std::deque<qint64> m_messageIds;
    bool m_running = false;
    bool m_refillRequested = false;
    bool m_unavailable = false; ///< a wait for ids timed out; cleared by the next attempt
    bool m_lastRefillOk = true;
    quint64 m_refillAttempts = 0;
};

} // namespace anonchat::server
