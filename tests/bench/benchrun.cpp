#include "benchrun.h"

#include "metricsprobe.h"

#include <QThread>
#include <algorithm>

namespace anonchat::bench {

namespace {

template <typename F>
void runOn(QObject *worker, F &&f, Qt::ConnectionType type = Qt::QueuedConnection)
{
    QMetaObject::invokeMethod(worker, std::forward<F>(f), type);
}

/// Closes a worker's connections, then ends its thread.
template <typename Worker>
void closeAndFinish(ThreadedWorker<Worker> &w)
{
    runOn(
        w.worker, [worker = w.worker] { worker->closeAll(); }, Qt::BlockingQueuedConnection);
    w.finish();
}

/// The servers together: CPU ticks, RSS and threads summed; ok if every one was sampled.
ProcSample sampleServers(const QList<qint64> &pids)
{
    ProcSample sum;
    sum.ok = !pids.isEmpty();
    for (qint64 pid : pids) {
        const ProcSample one = sampleProcess(pid);
        sum.ok = sum.ok && one.ok;
        sum.cpuTicks += one.cpuTicks;
        sum.rssKb += one.rssKb;
        sum.threads += one.threads;
    }
    return sum;
}

bool serversAlive(const QList<qint64> &pids)
{
    return std::all_of(pids.cbegin(), pids.cend(),
                       [](qint64 pid) { return sampleProcess(pid).ok; });
}

/// The difference of two metric readings, or -1 when either is missing.
double delta(double before, double after)
{
    return before < 0 || after < 0 ? -1 : after - before;
}

} // namespace

BenchRun::BenchRun(const Options &options)
    : m_o(options)
{
    for (int i = 0; i < std::min(m_o.idleThreads, m_o.idle); ++i)
        m_idleWorkers.push_back(IdleThread::start(QStringLiteral("idle-%1").arg(i), m_o.urls,
                                                  m_o.sources, i, &m_shared));
    for (int i = 0; i < std::min(m_o.threads, 2 * m_o.pairs); ++i)
        m_chatWorkers.push_back(
            ChatThread::start(QStringLiteral("chat-%1").arg(i), m_o.urls, i, &m_shared, m_o.rate));
}

BenchRun::~BenchRun()
{
    for (IdleThread &w : m_idleWorkers) {
        if (w.worker)
            w.finish();
    }
    for (ChatThread &w : m_chatWorkers) {
        if (w.worker)
            w.finish();
    }
}

template <typename Worker>
void BenchRun::openOn(std::vector<ThreadedWorker<Worker>> &workers, int total)
{
    const int n = int(workers.size());
    const int workerCount = int(m_idleWorkers.size() + m_chatWorkers.size());
    const int perWorkerInFlight = std::max(1, m_o.concurrency / std::max(1, workerCount));
    for (int i = 0; i < n; ++i) {
        const int count = total / n + (i < total % n ? 1 : 0);
        runOn(workers[size_t(i)].worker, [w = workers[size_t(i)].worker, count, perWorkerInFlight] {
            w->open(count, perWorkerInFlight);
        });
    }
}

bool BenchRun::waitFor(const std::function<bool()> &done, double timeoutS)
{
    QElapsedTimer timer;
    timer.start();
    int polls = 0;
    while (!done()) {
        if (timer.elapsed() > qint64(timeoutS * 1000))
            return false;
        if (++polls % 100 == 0 && !serversAlive(m_o.serverPids)) {
            m_m.serverGone = true;
            return false;
        }
        QThread::msleep(1);
    }
    return true;
}

void BenchRun::sleepFor(double s)
{
    waitFor([] { return false; }, s);
}

Measurements BenchRun::run()
{
    m_m.start = sampleServers(m_o.serverPids);
    m_m.afterIdle = m_m.windowStart = m_m.windowEnd = m_m.start;
    holdIdle();
    connectAndMatch();
    chat();
    m_m.end = sampleServers(m_o.serverPids);
    m_m.held = m_shared.welcomed - m_shared.dropped;
    collect();
    judge();
    return m_m;
}

// 1. Idle connections, and what holding them costs with no traffic (timers, keep-alive, polling).
void BenchRun::holdIdle()
{
    if (m_o.idle == 0)
        return;
    const qint64 t0 = nowNs();
    openOn(m_idleWorkers, m_o.idle);
    if (!waitFor([&] { return m_shared.welcomed + m_shared.failed >= m_o.idle; }, m_o.phaseTimeout))
        m_m.problems << QStringLiteral("idle connections: timeout");
    m_m.idleConnectNs = std::max<qint64>(0, m_shared.lastWelcomeNs - t0);
    m_m.afterIdle = sampleServers(m_o.serverPids);
    if (m_o.idleMeasure > 0) {
        sleepFor(0.5);
        const ProcSample a = sampleServers(m_o.serverPids);
        const qint64 t = nowNs();
        sleepFor(m_o.idleMeasure);
        const ProcSample b = sampleServers(m_o.serverPids);
        m_m.idleCpuPercent =
            100.0 * double(b.cpuTicks - a.cpuTicks) / ticksPerSecond() / seconds(nowNs() - t);
    }
}

// 2. The chat connections, then all of them join the queue at once.
void BenchRun::connectAndMatch()
{
    const int idleHeld = m_shared.welcomed;
    const int chatters = 2 * m_o.pairs;
    if (m_o.pairs > 0 && !m_m.serverGone) {
        const qint64 t0 = nowNs();
        openOn(m_chatWorkers, chatters);
        if (!waitFor([&] { return m_shared.welcomed + m_shared.failed >= m_o.idle + chatters; },
                     m_o.phaseTimeout))
            m_m.problems << QStringLiteral("chat connections: timeout");
        m_m.chatConnectNs = std::max<qint64>(0, m_shared.lastWelcomeNs - t0);

        const int toMatch = m_shared.welcomed - idleHeld;
        const qint64 t1 = nowNs();
        for (ChatThread &w : m_chatWorkers)
            runOn(w.worker, [worker = w.worker] { worker->joinQueue(); });
        if (!waitFor([&] { return m_shared.matched >= toMatch - toMatch % 2; }, m_o.phaseTimeout))
            m_m.problems << QStringLiteral("matching: timeout");
        m_m.pairingNs = std::max<qint64>(0, m_shared.lastMatchedNs - t1);
    }
    m_m.matchedPairs = m_shared.matched / 2;
}

// 3. Chat: warm up, then measure a window (the servers' CPU and commits, this process's CPU).
void BenchRun::chat()
{
    if (m_o.pairs == 0 || m_o.duration <= 0 || m_m.matchedPairs == 0 || m_m.serverGone)
        return;
    m_shared.chatting = true;
    for (ChatThread &w : m_chatWorkers)
        runOn(w.worker, [worker = w.worker] { worker->startChat(); });
    sleepFor(m_o.warmup);
    const double commits0 = sumMetric(m_o.urls, "anonchat_commit_seconds_count");
    const double rows0 = sumMetric(m_o.urls, "anonchat_messages_stored_total");
    m_m.windowStart = sampleServers(m_o.serverPids);
    const double benchCpu0 = selfCpuSeconds();
    const qint64 w0 = nowNs();
    m_shared.windowStartNs = w0;
    sleepFor(m_o.duration);
    const qint64 w1 = nowNs();
    m_shared.windowEndNs = w1;
    m_m.windowEnd = sampleServers(m_o.serverPids);
    m_m.benchCpuSeconds = selfCpuSeconds() - benchCpu0;
    m_m.commits = delta(commits0, sumMetric(m_o.urls, "anonchat_commit_seconds_count"));
    m_m.rowsStored = delta(rows0, sumMetric(m_o.urls, "anonchat_messages_stored_total"));
    m_m.windowNs = w1 - w0;
    m_shared.chatting = false;
    for (ChatThread &w : m_chatWorkers)
        runOn(w.worker, [worker = w.worker] { worker->stopChat(); });
}

// 4. Every worker's result, then close everything.
void BenchRun::collect()
{
    WorkerResult &total = m_m.total;
    for (IdleThread &w : m_idleWorkers)
        closeAndFinish(w);
    for (ChatThread &w : m_chatWorkers) {
        WorkerResult r;
        runOn(
            w.worker, [&r, worker = w.worker] { r = worker->takeResult(); },
            Qt::BlockingQueuedConnection);
        total.sent += r.sent;
        total.delivered += r.delivered;
        total.acked += r.acked;
        total.otherFrames += r.otherFrames;
        for (auto it = r.errors.cbegin(); it != r.errors.cend(); ++it)
            total.errors[it.key()] += it.value();
        total.latencyNs.insert(total.latencyNs.end(), r.latencyNs.begin(), r.latencyNs.end());
        total.partners.insert(total.partners.end(), r.partners.begin(), r.partners.end());
        closeAndFinish(w);
    }
    std::sort(total.latencyNs.begin(), total.latencyNs.end());
    for (const auto &[server, partnerId] : total.partners) {
        const auto partner = m_shared.serverOfUser.constFind(partnerId);
        m_m.acrossServers += partner != m_shared.serverOfUser.cend() && *partner != server;
    }
    m_m.clientThreads = int(m_chatWorkers.size());
    m_m.idleThreads = int(m_idleWorkers.size());
}

void BenchRun::judge()
{
    QStringList &problems = m_m.problems;
    m_m.failed = m_shared.failed;
    m_m.dropped = m_shared.dropped;
    if (m_m.serverGone)
        problems << QStringLiteral("the server process is gone");
    if (m_m.failed > 0)
        problems << QStringLiteral("%1 connections failed").arg(m_m.failed);
    if (m_m.dropped > 0)
        problems << QStringLiteral("%1 connections dropped by the server").arg(m_m.dropped);
    if (m_m.matchedPairs < m_o.pairs)
        problems << QStringLiteral("%1 of %2 pairs matched").arg(m_m.matchedPairs).arg(m_o.pairs);
    if (m_o.pairs > 0 && m_o.duration > 0 && m_m.total.delivered == 0)
        problems << QStringLiteral("no message delivered");
    if (!m_m.total.errors.isEmpty())
        problems << QStringLiteral("error frames received");
}

} // namespace anonchat::bench
