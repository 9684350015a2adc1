#include "server/storage/storagewriter.h"

#include "server/storage/database.h"
#include "server/storage/idallocator.h"
#include "server/storage/postgresurl.h"
#include "server/storage/rowwriter.h"
#include "server/storage/schema.h"

#include <QLoggingCategory>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>
#ifdef Q_OS_LINUX
#include <pthread.h>
#endif

namespace anonchat::server {

namespace {

Q_LOGGING_CATEGORY(lcStorage, "anonchat.storage", QtInfoMsg)

constexpr auto kProbeInterval = std::chrono::seconds(1);
constexpr auto kPurgeInterval = std::chrono::hours(1);
/// A group of at least this many rows says others are writing too: the next commit may wait
/// commitDelayUs for more (one writer alone, e.g. a single chat, never waits).
constexpr size_t kCommitSiblings = 2;

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point started)
{
    return std::chrono::duration<double>(Clock::now() - started).count();
}

} // namespace

class StorageWriter::Private
{
public:
    struct Pending {
        quint64 ticket = 0;
        WriteOp op;
    };
    enum class State { Idle, Running, Stopped };

    Private(StorageWriter *owner, StorageConfig config)
        : m_owner(owner)
        , m_config(std::move(config))
        , m_ids(Dialect(m_config.database), [this] { wakeForIds(); })
        , m_maxBatchRows(size_t(std::max(1, m_config.maxBatchRows)))
    {}

    // Any thread.
    /// Emits the result for `tickets` (in order) and wakes flush().
    void report(const QVector<quint64> &tickets, bool ok, double seconds, const QString &error);
    void setHealthy(bool healthy, const QString &why);
    void wakeForIds();

    // The writer thread.
    void threadMain();
    bool initialize(QString *error);
    bool purgeAll(QString *error);
    void run();
    bool takeWork(Clock::time_point deadline, std::vector<Pending> &group, bool *stopping,
                  bool *refill);
    void linger(std::unique_lock<std::mutex> &lock);
    void writeGroup(const std::vector<Pending> &rows, size_t first, size_t last);
    void writeRowByRow(const std::vector<Pending> &rows, size_t first, size_t last);
    void probe();
    bool reconnect(QString *error);
    static QVector<quint64> tickets(const std::vector<Pending> &rows, size_t first, size_t last);

    StorageWriter *const m_owner;
    const StorageConfig m_config;
    IdAllocator m_ids;
    const size_t m_maxBatchRows;

    std::mutex m_lifecycleMutex; // serialises start() and stop()
    std::thread m_thread;
    std::atomic<std::thread::id> m_writerThreadId{};

    std::mutex m_mutex;                 // guards everything below up to the atomics
    std::condition_variable m_wake;     // the writer waits for work, a refill or stop
    std::condition_variable m_reported; // flush() waits for reports
    std::condition_variable m_started;  // start() waits for the writer's verdict
    std::deque<Pending> m_queue;
    quint64 m_nextTicket = 1;
    quint64 m_reportedUpTo = 0;
    State m_state = State::Idle;
    bool m_stopRequested = false;
    bool m_refillWanted = false;
    bool m_startDone = false;
    bool m_startOk = false;
    QString m_startError;
    bool m_writerWaiting = false; ///< the writer waits for work: submit() wakes it
    size_t m_lastGroupRows = 0;

    std::atomic<bool> m_healthy{false};

    // The writer thread's own, while it runs.
    Database *m_db = nullptr;
    RowWriter *m_rows = nullptr;
};

// ---- start-up -------------------------------------------------------------------------------

void StorageWriter::Private::threadMain()
{
    m_writerThreadId = std::this_thread::get_id();
#ifdef Q_OS_LINUX
    pthread_setname_np(pthread_self(), "anonchat-store"); // for top and gdb
#endif
    {
        Database db(m_config.database, m_config.connectionName + QLatin1String("-writer"));
        RowWriter rows(db);
        m_db = &db;
        m_rows = &rows;
        QString error;
        const bool ok = initialize(&error);
        m_healthy = ok;
        m_ids.setRunning(ok); // before m_mutex: IdAllocator takes its lock, then ours
        {
            std::lock_guard lock(m_mutex);
            m_startDone = true;
            m_startOk = ok;
            m_startError = error;
            if (ok)
                m_state = State::Running;
        }
        m_started.notify_all();
        if (ok)
            run();
        m_rows = nullptr;
        m_db = nullptr;
    }
    m_healthy = false;
    m_writerThreadId = std::thread::id();
}

// Opens the database, refuses a newer schema before touching the file at all (even the journal
// mode), migrates, closes the rooms a previous run left active, purges and seeds the ids.
bool StorageWriter::Private::initialize(QString *error)
{
    const auto fail = [&](const QString &why) {
        *error = QStringLiteral("database %1: %2").arg(m_db->displayName(), why);
        return false;
    };
    Schema schema(*m_db);
    QString why;
    if (!m_db->open(&why) || !schema.refuseNewer(&why) || !m_db->tune(&why) ||
        !schema.migrate(&why) || !m_db->prepareTransactions(&why) || !m_rows->prepare(&why)) {
        return fail(why);
    }
    // Shared: the active rooms may be other live servers' rooms.
    if (!m_config.sharedDatabase && !m_rows->closeStaleRooms(&why))
        return fail(why);
    if (m_config.retentionDays > 0 && !purgeAll(&why))
        return fail(QStringLiteral("purging old messages failed: %1").arg(why));
    return m_ids.seed(*m_rows, &why) || fail(why);
}

bool StorageWriter::Private::purgeAll(QString *error)
{
    int purged = 0;
    for (;;) {
        const std::optional<int> n = m_rows->purgeChunk(m_config.retentionDays, error);
        if (!n)
            return false;
        purged += *n;
        if (*n < RowWriter::kPurgeChunkRows)
            break;
    }
    if (purged > 0) {
        qCInfo(lcStorage) << "purged" << purged << "messages older than" << m_config.retentionDays
                          << "days";
    }
    return true;
}

// ---- the writer's loop ----------------------------------------------------------------------

void StorageWriter::Private::run()
{
    const bool purging = m_config.retentionDays > 0;
    auto nextProbe = Clock::now() + kProbeInterval;
    auto nextPurge = Clock::now() + kPurgeInterval;
    bool purgeUnfinished = false;
    std::vector<Pending> group;
    group.reserve(std::min<size_t>(m_maxBatchRows, 4096));
    for (;;) {
        auto deadline = nextProbe;
        if (purging)
            deadline = std::min(deadline, purgeUnfinished ? Clock::now() : nextPurge);
        bool stopping = false;
        bool refill = false;
        if (!takeWork(deadline, group, &stopping, &refill))
            break;
        QString error;
        if (refill && !m_ids.refill(*m_rows, &error)) { // before the group: a caller may wait
            qCWarning(lcStorage) << "reserving ids failed:" << error;
            setHealthy(false, error);
        }
        if (!group.empty()) {
            writeGroup(group, 0, group.size());
            nextProbe = Clock::now() + kProbeInterval;
        }
        if (stopping)
            continue;
        if (purging && (purgeUnfinished || Clock::now() >= nextPurge)) {
            const std::optional<int> n = m_rows->purgeChunk(m_config.retentionDays, &error);
            if (!n) {
                qCWarning(lcStorage) << "purging old messages failed:" << error;
                setHealthy(false, error);
            }
            purgeUnfinished = n && *n == RowWriter::kPurgeChunkRows;
            if (!purgeUnfinished)
                nextPurge = Clock::now() + kPurgeInterval;
            continue;
        }
        if (group.empty() && Clock::now() >= nextProbe) {
            probe();
            nextProbe = Clock::now() + kProbeInterval;
        }
    }
}

// Waits for writes, a refill request, stop() or `deadline`; moves up to maxBatchRows writes into
// `group`. False once stop() was called and nothing is left to write.
bool StorageWriter::Private::takeWork(Clock::time_point deadline, std::vector<Pending> &group,
                                      bool *stopping, bool *refill)
{
    group.clear();
    std::unique_lock lock(m_mutex);
    m_writerWaiting = true;
    m_wake.wait_until(lock, deadline,
                      [&] { return !m_queue.empty() || m_stopRequested || m_refillWanted; });
    m_writerWaiting = false;
    if (!m_queue.empty() && m_lastGroupRows >= kCommitSiblings)
        linger(lock);
    *stopping = m_stopRequested;
    *refill = std::exchange(m_refillWanted, false);
    if (*stopping && m_queue.empty()) {
        m_state = State::Stopped; // from now on submit() fails at once
        lock.unlock();
        m_ids.setRunning(false); // nobody waits for ids any more
        return false;
    }
    const size_t n = std::min(m_queue.size(), m_maxBatchRows);
    for (size_t i = 0; i < n; ++i) {
        group.push_back(std::move(m_queue.front()));
        m_queue.pop_front();
    }
    m_lastGroupRows = n;
    return true;
}

// Waits up to commitDelayUs for more rows to join the group. submit() does not wake the writer
// meanwhile (a wake-up per row would cost more than the wait saves) unless the group is full;
// stop() and a refill request do.
void StorageWriter::Private::linger(std::unique_lock<std::mutex> &lock)
{
    if (m_config.commitDelayUs <= 0 || m_queue.size() >= m_maxBatchRows)
        return;
    const auto until = Clock::now() + std::chrono::microseconds(m_config.commitDelayUs);
    m_wake.wait_until(lock, until, [&] {
        return m_queue.size() >= m_maxBatchRows || m_stopRequested || m_refillWanted;
    });
}

QVector<quint64> StorageWriter::Private::tickets(const std::vector<Pending> &rows, size_t first,
                                                 size_t last)
{
    QVector<quint64> result;
    result.reserve(qsizetype(last - first));
    for (size_t i = first; i < last; ++i)
        result.append(rows[i].ticket);
    return result;
}

// One transaction for rows [first, last). A row the database refuses (a constraint) splits the
// group: the rows before it are committed together, it is retried alone (and fails alone), and
// the rows after it form the next group. Any other failure retries the group row by row.
void StorageWriter::Private::writeGroup(const std::vector<Pending> &rows, size_t first, size_t last)
{
    while (first < last) {
        const auto started = Clock::now();
        QString error;
        if (!m_db->begin(&error)) {
            writeRowByRow(rows, first, last);
            return;
        }
        size_t i = first;
        RowWriter::Outcome outcome;
        for (; i < last; ++i) {
            outcome = m_rows->write(rows[i].op);
            if (!outcome.ok)
                break;
        }
        if (i == last) {
            if (m_db->commit(&error)) {
                setHealthy(true, QString());
                report(tickets(rows, first, last), true, secondsSince(started), QString());
                return;
            }
            m_db->rollback();
            qCWarning(lcStorage) << "group commit failed, retrying row by row:" << error;
            writeRowByRow(rows, first, last);
            return;
        }
        m_db->rollback();
        if (!outcome.rowFault) {
            writeRowByRow(rows, first, last);
            return;
        }
        if (i > first)
            writeGroup(rows, first, i); // they went through a moment ago
        writeRowByRow(rows, i, i + 1);
        first = i + 1;
    }
}

// Each row in its own transaction. When the database itself fails (I/O, full, locked beyond the
// busy timeout), the remaining rows fail with it rather than each waiting for its own failure.
void StorageWriter::Private::writeRowByRow(const std::vector<Pending> &rows, size_t first,
                                           size_t last)
{
    for (size_t i = first; i < last; ++i) {
        const auto started = Clock::now();
        RowWriter::Outcome outcome;
        if (!m_db->begin(&outcome.error)) {
            outcome.ok = false;
        } else {
            outcome = m_rows->write(rows[i].op);
            if (outcome.ok && !m_db->commit(&outcome.error))
                outcome.ok = false;
            if (!outcome.ok)
                m_db->rollback();
        }
        if (outcome.ok) {
            setHealthy(true, QString());
            report({rows[i].ticket}, true, secondsSince(started), QString());
        } else if (outcome.rowFault) {
            report({rows[i].ticket}, false, 0, outcome.error);
        } else {
            setHealthy(false, outcome.error);
            report(tickets(rows, i, last), false, 0, outcome.error);
            return;
        }
    }
}

void StorageWriter::Private::probe()
{
    QString error;
    bool ok = false;
    if (m_healthy.load()) {
        ok = m_rows->probeRead(&error);
    } else {
        // Only a real write shows that writes work again.
        ok = m_rows->probeWrite(&error);
        if (!ok && m_db->dialect().reconnectsWhenFailing()) {
            ok = reconnect(&error) && m_rows->probeWrite(&error) && m_ids.refill(*m_rows, &error);
        }
    }
    setHealthy(ok, error);
}

// A new connection, statements prepared again. After a failure the statements stay unprepared:
// they fail, cleanly, until the next probe reconnects.
bool StorageWriter::Private::reconnect(QString *error)
{
    m_rows->release(); // no statement may outlive the connection it was prepared on
    const bool connected = m_db->reconnect(error);
    QString ignored;
    return m_rows->prepare(connected ? error : &ignored) && connected;
}

// ---- the owner's side -----------------------------------------------------------------------

void StorageWriter::Private::report(const QVector<quint64> &tickets, bool ok, double seconds,
                                    const QString &error)
{
    if (tickets.isEmpty())
        return;
    if (ok)
        emit m_owner->committed(tickets, seconds);
    else
        emit m_owner->failed(tickets, error);
    {
        std::lock_guard lock(m_mutex);
        m_reportedUpTo = std::max(m_reportedUpTo, tickets.constLast());
    }
    m_reported.notify_all();
}

void StorageWriter::Private::setHealthy(bool healthy, const QString &why)
{
    const bool was = m_healthy.exchange(healthy);
    const QString name = PostgresUrl::displayName(m_config.database);
    if (was && !healthy)
        qCWarning(lcStorage) << "database" << name << "is failing:" << why;
    else if (!was && healthy)
        qCInfo(lcStorage) << "database" << name << "works again";
}

void StorageWriter::Private::wakeForIds()
{
    {
        std::lock_guard lock(m_mutex);
        m_refillWanted = true;
    }
    m_wake.notify_one();
}

StorageWriter::StorageWriter(StorageConfig config, QObject *parent)
    : QObject(parent)
    , d(std::make_unique<Private>(this, std::move(config)))
{}

StorageWriter::~StorageWriter()
{
    stop();
}

bool StorageWriter::start(QString *error)
{
    std::lock_guard lifecycle(d->m_lifecycleMutex);
    {
        std::lock_guard lock(d->m_mutex);
        if (d->m_state == Private::State::Running)
            return true;
        if (d->m_state == Private::State::Stopped) {
            if (error)
                *error = QStringLiteral("database %1: the storage writer was stopped")
                             .arg(displayName(d->m_config.database));
            return false;
        }
        d->m_startDone = false;
        d->m_startOk = false;
        d->m_startError.clear();
    }
    d->m_thread = std::thread([this] { d->threadMain(); });

    std::unique_lock lock(d->m_mutex);
    d->m_started.wait(lock, [this] { return d->m_startDone; });
    if (d->m_startOk)
        return true;
    const QString why = d->m_startError;
    lock.unlock();
    d->m_thread.join();
    if (error)
        *error = why;
    return false;
}

qint64 StorageWriter::nextRoomId()
{
    return d->m_ids.next(IdAllocator::Table::Rooms);
}

qint64 StorageWriter::nextMessageId()
{
    return d->m_ids.next(IdAllocator::Table::Messages);
}

quint64 StorageWriter::submit(WriteOp op)
{
    std::unique_lock lock(d->m_mutex);
    const quint64 ticket = d->m_nextTicket++;
    if (d->m_state != Private::State::Stopped) {
        // Before start() it waits in the queue for the writer.
        d->m_queue.push_back({ticket, std::move(op)});
        const bool wake = d->m_writerWaiting || d->m_queue.size() >= d->m_maxBatchRows;
        lock.unlock();
        if (wake)
            d->m_wake.notify_one();
        return ticket;
    }
    lock.unlock();
    d->report({ticket}, false, 0, QStringLiteral("the storage writer is stopped"));
    return ticket;
}

void StorageWriter::flush()
{
    if (std::this_thread::get_id() == d->m_writerThreadId.load())
        return; // from a slot run by the writer itself: waiting would deadlock
    std::unique_lock lock(d->m_mutex);
    const quint64 target = d->m_nextTicket - 1;
    d->m_reported.wait(
        lock, [&] { return d->m_reportedUpTo >= target || d->m_state != Private::State::Running; });
}

void StorageWriter::stop()
{
    if (std::this_thread::get_id() == d->m_writerThreadId.load()) {
        qCWarning(lcStorage) << "StorageWriter::stop() called from the writer thread; ignored";
        return;
    }
    std::lock_guard lifecycle(d->m_lifecycleMutex);
    std::deque<Private::Pending> neverStarted;
    {
        std::lock_guard lock(d->m_mutex);
        d->m_stopRequested = true;
        if (!d->m_thread.joinable()) {
            d->m_state = Private::State::Stopped;
            neverStarted.swap(d->m_queue);
        }
    }
    d->m_wake.notify_all();
    if (d->m_thread.joinable())
        d->m_thread.join(); // it commits what is pending first
    d->m_healthy = false;
    d->m_reported.notify_all();
    for (const Private::Pending &pending : neverStarted) {
        d->report({pending.ticket}, false, 0,
                  QStringLiteral("the storage writer was stopped before it started"));
    }
}

bool StorageWriter::isHealthy() const
{
    return d->m_healthy.load();
}

int StorageWriter::latestSchemaVersion()
{
    return Schema::latestVersion();
}

bool StorageWriter::isPostgresUrl(const QString &database)
{
    return PostgresUrl::isPostgresUrl(database);
}

QString StorageWriter::postgresUrlProblem(const QString &database)
{
    return PostgresUrl::parse(database, nullptr);
}

QString StorageWriter::displayName(const QString &database)
{
    return PostgresUrl::displayName(database);
}

} // namespace anonchat::server
