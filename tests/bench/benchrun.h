#pragma once

#include "benchcommon.h"
#include "idleworker.h"
#include "loadworker.h"
#include "procstats.h"

#include <QHostAddress>
#include <QList>
#include <QStringList>
#include <QUrl>
#include <functional>
#include <vector>

namespace anonchat::bench {

/// What one run of anonchat-bench is asked to do (its command line).
struct Options {
    QList<QUrl> urls;
    int idle = 0;
    int pairs = 0;
    double duration = 10;
    double warmup = 2;
    double rate = 0;
    QList<qint64> serverPids;
    bool json = false;
    int threads = 2;
    int idleThreads = 1;
    QList<QHostAddress> sources; ///< the idle connections' source addresses, in turn
    int concurrency = 256;
    double phaseTimeout = 60;
    double idleMeasure = 0;
};

/// What one run measured, for BenchReport.
struct Measurements {
    ProcSample start, afterIdle, windowStart, windowEnd, end;
    qint64 idleConnectNs = 0;
    qint64 chatConnectNs = 0;
    qint64 pairingNs = 0;
    qint64 windowNs = 0;
    double idleCpuPercent = -1; ///< -1: not measured
    double benchCpuSeconds = 0; ///< this process, over the window
    /// The servers' commits (anonchat_commit_seconds_count) and stored rows over the window; -1
    /// when a server has no such metric (the Node relay).
    double commits = -1;
    double rowsStored = -1;
    int held = 0;
    int matchedPairs = 0;
    int clientThreads = 0;
    int idleThreads = 0;
    int acrossServers = 0; ///< matched users whose partner is on another of the --url servers
    int failed = 0;
    int dropped = 0;
    bool serverGone = false;
    WorkerResult total; ///< latencyNs sorted
    QStringList problems;
};

/// One run: idle connections, then the chatting pairs connect, join the queue at once and chat
/// (ping-pong or a fixed rate) through a warm-up and a measured window. The main thread drives
/// the phases and samples the servers; LoadWorker threads own the connections.
class BenchRun
{
public:
    explicit BenchRun(const Options &options);
    ~BenchRun();
    BenchRun(const BenchRun &) = delete;
    BenchRun &operator=(const BenchRun &) = delete;

    Measurements run();

private:
    using IdleThread = ThreadedWorker<IdleWorker>;
    using ChatThread = ThreadedWorker<LoadWorker>;

    /// Spreads `total` new connections over `workers`.
    template <typename Worker>
    void openOn(std::vector<ThreadedWorker<Worker>> &workers, int total);
    /// Polls until done() or the timeout; false on timeout or when a server is gone.
    bool waitFor(const std::function<bool()> &done, double timeoutS);
    void sleepFor(double s);
    void holdIdle();
    void connectAndMatch();
    void chat();
    void collect();
    void judge();

    const Options &m_o;
    SharedState m_shared;
    std::vector<IdleThread> m_idleWorkers;
    std::vector<ChatThread> m_chatWorkers;
    Measurements m_m;
};

} // namespace anonchat::bench
