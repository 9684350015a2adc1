// anonchat-bench: a load generator for anonchat-server and any server that speaks PROTOCOL.md.
// Opens N idle connections and P chatting pairs on loopback, measures connects/s, pairing time,
// delivered messages/s and latency, and the server's RSS and CPU time per delivered message
// (from /proc/<pid>). Bounded in count and time; stops by itself. See scripts/bench.sh.
#include "benchcommon.h"
#include "loadworker.h"
#include "procstats.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>
#include <algorithm>
#include <cstdio>
#include <functional>

using namespace anonchat::bench;

namespace {

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
    int concurrency = 256;
    double phaseTimeout = 60;
    double idleMeasure = 0;
};

// Bounds: a benchmark of this machine, never a flood.
constexpr int kMaxIdle = 100000;
constexpr int kMaxPairs = 50000;
constexpr double kMaxDuration = 600;
constexpr double kMaxWarmup = 120;
constexpr double kMaxRate = 1000;

Options parseOptions(const QCoreApplication &app)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Load generator for anonchat (PROTOCOL.md): idle connections, matching, ping-pong or "
        "fixed-rate chat; reports throughput, latency and the server's RSS and CPU per message."));
    parser.addHelpOption();
    parser.addOptions({
        {"url",
         "WebSocket URL on loopback (default ws://127.0.0.1:5000/ws). Several servers of one "
         "cluster: repeat --url or give a comma list; connections are spread over them in turn "
         "and the pairs cross servers (each pair's two users join with an interest of their own; "
         "run the servers with an --interest-wait longer than the matching takes).",
         "URL", "ws://127.0.0.1:5000/ws"},
        {"idle", "Idle connections held open (default 0, max 100000).", "N", "0"},
        {"pairs", "Pairs that join the queue, match and chat (default 100, max 50000).", "P",
         "100"},
        {"duration", "Seconds of measured chat (default 10; 0: stop after matching).", "S", "10"},
        {"warmup", "Seconds of chat before measuring (default 2).", "S", "2"},
        {"rate", "Messages per second per user (default 0 = ping-pong).", "R", "0"},
        {"server-pid",
         "The server's pid, for its RSS and CPU time from /proc (several: repeat it or give a "
         "comma list; their CPU time and RSS are summed).",
         "PID", "0"},
        {"json", "Print one JSON object instead of text."},
        {"threads", "Client threads for the chatting connections (default 2).", "T", "2"},
        {"idle-threads", "Client threads for the idle connections (default 1).", "T", "1"},
        {"concurrency", "Handshakes in flight at most, all threads together (default 256).", "N",
         "256"},
        {"phase-timeout", "Seconds each of connecting and matching may take (default 60).", "S",
         "60"},
        {"idle-measure",
         "Seconds of server CPU measured with only the idle connections (default 0).", "S", "0"},
    });
    parser.process(app);
    if (!parser.positionalArguments().isEmpty())
        fail(QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first()));

    const auto number = [&](const char *name, double low, double high) {
        return numberOption(parser, name, low, high);
    };
    Options o;
    for (const QString &value : parser.values(QStringLiteral("url"))) {
        for (const QString &text : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            const QUrl url(text.trimmed());
            if (!url.isValid() || (url.scheme() != QLatin1String("ws")) || url.host().isEmpty())
                fail(QStringLiteral("--url must be ws://HOST:PORT/ws"));
            if (!isLoopback(url.host()))
                fail(QStringLiteral("--url must be on loopback (127.0.0.0/8, ::1, localhost): "
                                    "this tool loads only servers on this machine"));
            o.urls.append(url);
        }
    }
    if (o.urls.isEmpty() || o.urls.size() > 16)
        fail(QStringLiteral("--url: from 1 to 16 servers"));
    for (const QString &value : parser.values(QStringLiteral("server-pid"))) {
        for (const QString &text : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool ok = false;
            const qint64 pid = text.trimmed().toLongLong(&ok);
            if (!ok || pid < 0 || pid > (1 << 30))
                fail(QStringLiteral("--server-pid must be a number from 0 to %1").arg(1 << 30));
            if (pid > 0)
                o.serverPids.append(pid);
        }
    }
    o.idle = int(number("idle", 0, kMaxIdle));
    o.pairs = int(number("pairs", 0, kMaxPairs));
    o.duration = number("duration", 0, kMaxDuration);
    o.warmup = number("warmup", 0, kMaxWarmup);
    o.rate = number("rate", 0, kMaxRate);
    o.json = parser.isSet(QStringLiteral("json"));
    o.threads = int(number("threads", 1, 16));
    o.idleThreads = int(number("idle-threads", 1, 16));
    o.concurrency = int(number("concurrency", 1, 10000));
    o.phaseTimeout = number("phase-timeout", 1, 600);
    o.idleMeasure = number("idle-measure", 0, 60);
    if (o.idle + o.pairs == 0)
        fail(QStringLiteral("nothing to do: --idle and --pairs are both 0"));
    return o;
}

using WorkerThread = ThreadedWorker<LoadWorker>;

template <typename F>
void runOn(LoadWorker *worker, F &&f, Qt::ConnectionType type = Qt::QueuedConnection)
{
    QMetaObject::invokeMethod(worker, std::forward<F>(f), type);
}

double seconds(qint64 ns)
{
    return double(ns) / 1e9;
}

double percentile(const std::vector<qint64> &sorted, double p)
{
    if (sorted.empty())
        return 0;
    const size_t i = size_t(p * double(sorted.size() - 1) + 0.5);
    return double(sorted[std::min(i, sorted.size() - 1)]) / 1e6;
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
    for (qint64 pid : pids) {
        if (!sampleProcess(pid).ok)
            return false;
    }
    return true;
}

} // namespace

int main(int argc, char *argv[])
{
    preferQtEventDispatcher();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("anonchat-bench"));
    const Options o = parseOptions(app);

    const qint64 fileLimit = raiseFileLimit();
    const qint64 needed = qint64(o.idle) + 2 * qint64(o.pairs) + 64;
    if (fileLimit >= 0 && needed > fileLimit)
        fail(QStringLiteral("%1 connections need %2 file descriptors; the hard limit is %3")
                 .arg(o.idle + 2 * o.pairs)
                 .arg(needed)
                 .arg(fileLimit));
    for (qint64 pid : o.serverPids) {
        if (!sampleProcess(pid).ok)
            fail(QStringLiteral("no process %1 in /proc").arg(pid));
    }

    SharedState shared;
    std::vector<WorkerThread> idleWorkers;
    std::vector<WorkerThread> chatWorkers;
    const auto startWorkers = [&](std::vector<WorkerThread> &into, int count, const char *name) {
        for (int i = 0; i < count; ++i)
            into.push_back(
                WorkerThread::start(QStringLiteral("%1-%2").arg(QLatin1String(name)).arg(i), o.urls,
                                    i, &shared, o.rate));
    };
    if (o.idle > 0)
        startWorkers(idleWorkers, std::min(o.idleThreads, o.idle), "idle");
    if (o.pairs > 0)
        startWorkers(chatWorkers, std::min(o.threads, 2 * o.pairs), "chat");
    const int workerCount = int(idleWorkers.size() + chatWorkers.size());

    bool serverGone = false;
    // Polls until done() or the phase timeout; the precise times come from the workers.
    const auto waitFor = [&](const std::function<bool()> &done, double timeoutS) {
        QElapsedTimer timer;
        timer.start();
        int polls = 0;
        while (!done()) {
            if (timer.elapsed() > qint64(timeoutS * 1000))
                return false;
            if (++polls % 100 == 0 && !serversAlive(o.serverPids)) {
                serverGone = true;
                return false;
            }
            QThread::msleep(1);
        }
        return true;
    };
    const auto sleepFor = [&](double s) { waitFor([] { return false; }, s); };
    const auto openOn = [&](std::vector<WorkerThread> &workers, int total) {
        const int n = int(workers.size());
        const int perWorkerInFlight = std::max(1, o.concurrency / std::max(1, workerCount));
        for (int i = 0; i < n; ++i) {
            const int count = total / n + (i < total % n ? 1 : 0);
            runOn(workers[size_t(i)].worker,
                  [w = workers[size_t(i)].worker, count, perWorkerInFlight] {
                      w->open(count, perWorkerInFlight);
                  });
        }
    };

    const ProcSample start = sampleServers(o.serverPids);
    QJsonObject report;
    QStringList problems;

    // 1. Idle connections.
    qint64 idleConnectNs = 0;
    ProcSample afterIdle = start;
    double idleCpuPercent = -1;
    if (o.idle > 0) {
        const qint64 t0 = nowNs();
        openOn(idleWorkers, o.idle);
        if (!waitFor([&] { return shared.welcomed + shared.failed >= o.idle; }, o.phaseTimeout))
            problems << QStringLiteral("idle connections: timeout");
        idleConnectNs = std::max<qint64>(0, shared.lastWelcomeNs - t0);
        afterIdle = sampleServers(o.serverPids);
        if (o.idleMeasure > 0) {
            // What holding the connections costs with no traffic (timers, keep-alive, polling).
            sleepFor(0.5);
            const ProcSample a = sampleServers(o.serverPids);
            const qint64 t = nowNs();
            sleepFor(o.idleMeasure);
            const ProcSample b = sampleServers(o.serverPids);
            idleCpuPercent =
                100.0 * double(b.cpuTicks - a.cpuTicks) / ticksPerSecond() / seconds(nowNs() - t);
        }
    }
    const int idleHeld = shared.welcomed;

    // 2. Chat connections, then all of them join the queue at once.
    qint64 chatConnectNs = 0;
    qint64 pairingNs = 0;
    const int chatters = 2 * o.pairs;
    if (o.pairs > 0 && !serverGone) {
        const qint64 t0 = nowNs();
        openOn(chatWorkers, chatters);
        if (!waitFor([&] { return shared.welcomed + shared.failed >= o.idle + chatters; },
                     o.phaseTimeout))
            problems << QStringLiteral("chat connections: timeout");
        chatConnectNs = std::max<qint64>(0, shared.lastWelcomeNs - t0);

        const int toMatch = shared.welcomed - idleHeld;
        const qint64 t1 = nowNs();
        for (WorkerThread &w : chatWorkers)
            runOn(w.worker, [worker = w.worker] { worker->joinQueue(); });
        if (!waitFor([&] { return shared.matched >= toMatch - toMatch % 2; }, o.phaseTimeout))
            problems << QStringLiteral("matching: timeout");
        pairingNs = std::max<qint64>(0, shared.lastMatchedNs - t1);
    }
    const int matchedPairs = shared.matched / 2;

    // 3. Chat: warm up, then measure.
    ProcSample windowStart = start;
    ProcSample windowEnd = start;
    double benchCpu0 = 0;
    double benchCpu1 = 0;
    qint64 windowNs = 0;
    if (o.pairs > 0 && o.duration > 0 && matchedPairs > 0 && !serverGone) {
        shared.chatting = true;
        for (WorkerThread &w : chatWorkers)
            runOn(w.worker, [worker = w.worker] { worker->startChat(); });
        sleepFor(o.warmup);
        windowStart = sampleServers(o.serverPids);
        benchCpu0 = selfCpuSeconds();
        const qint64 w0 = nowNs();
        shared.windowStartNs = w0;
        sleepFor(o.duration);
        const qint64 w1 = nowNs();
        shared.windowEndNs = w1;
        windowEnd = sampleServers(o.serverPids);
        benchCpu1 = selfCpuSeconds();
        windowNs = w1 - w0;
        shared.chatting = false;
        for (WorkerThread &w : chatWorkers)
            runOn(w.worker, [worker = w.worker] { worker->stopChat(); });
    }
    const ProcSample end = sampleServers(o.serverPids);
    const int held = shared.welcomed - shared.dropped;

    // 4. Collect, close, report.
    WorkerResult total;
    for (std::vector<WorkerThread> *set : {&idleWorkers, &chatWorkers}) {
        for (WorkerThread &w : *set) {
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
            runOn(
                w.worker, [worker = w.worker] { worker->closeAll(); },
                Qt::BlockingQueuedConnection);
            w.finish();
        }
    }
    std::sort(total.latencyNs.begin(), total.latencyNs.end());
    int acrossServers = 0; // matched connections whose partner is on another of the --url servers
    for (const auto &[server, partnerId] : total.partners) {
        const auto partner = shared.serverOfUser.constFind(partnerId);
        acrossServers += partner != shared.serverOfUser.cend() && *partner != server;
    }

    if (serverGone)
        problems << QStringLiteral("the server process is gone");
    if (shared.failed > 0)
        problems << QStringLiteral("%1 connections failed").arg(int(shared.failed));
    if (shared.dropped > 0)
        problems << QStringLiteral("%1 connections dropped by the server").arg(int(shared.dropped));
    if (matchedPairs < o.pairs)
        problems << QStringLiteral("%1 of %2 pairs matched").arg(matchedPairs).arg(o.pairs);
    if (o.pairs > 0 && o.duration > 0 && total.delivered == 0)
        problems << QStringLiteral("no message delivered");
    if (!total.errors.isEmpty())
        problems << QStringLiteral("error frames received");

    const double tps = ticksPerSecond();
    const double windowS = seconds(windowNs);
    const double connectS = seconds(idleConnectNs + chatConnectNs);
    const int connections = o.idle + chatters;
    const double serverCpuS = double(windowEnd.cpuTicks - windowStart.cpuTicks) / tps;

    report[QStringLiteral("ok")] = problems.isEmpty();
    report[QStringLiteral("problems")] = QJsonArray::fromStringList(problems);
    QStringList urls;
    for (const QUrl &url : o.urls)
        urls.append(url.toString());
    report[QStringLiteral("url")] = urls.join(QLatin1Char(','));
    report[QStringLiteral("servers")] = int(o.urls.size());
    report[QStringLiteral("idle")] = o.idle;
    report[QStringLiteral("pairs")] = o.pairs;
    report[QStringLiteral("duration_s")] = o.duration;
    report[QStringLiteral("warmup_s")] = o.warmup;
    report[QStringLiteral("rate")] = o.rate;
    report[QStringLiteral("mode")] =
        o.rate > 0 ? QStringLiteral("rate") : QStringLiteral("ping-pong");
    report[QStringLiteral("client_threads")] = int(chatWorkers.size());
    report[QStringLiteral("idle_threads")] = int(idleWorkers.size());
    report[QStringLiteral("connections_held")] = held;
    report[QStringLiteral("connections_failed")] = int(shared.failed);
    report[QStringLiteral("connections_dropped")] = int(shared.dropped);
    report[QStringLiteral("connect_s")] = connectS;
    report[QStringLiteral("connects_per_s")] = connectS > 0 ? connections / connectS : 0.0;
    report[QStringLiteral("pairs_matched")] = matchedPairs;
    report[QStringLiteral("pairs_across_servers")] = acrossServers / 2;
    report[QStringLiteral("pairing_s")] = seconds(pairingNs);
    report[QStringLiteral("pairs_per_s")] = pairingNs > 0 ? matchedPairs / seconds(pairingNs) : 0.0;
    report[QStringLiteral("measured_s")] = windowS;
    report[QStringLiteral("messages_sent")] = double(total.sent);
    report[QStringLiteral("messages_delivered")] = double(total.delivered);
    report[QStringLiteral("messages_acked")] = double(total.acked);
    report[QStringLiteral("messages_per_s")] = windowS > 0 ? total.delivered / windowS : 0.0;
    report[QStringLiteral("latency_ms")] = QJsonObject{
        {QStringLiteral("p50"), percentile(total.latencyNs, 0.50)},
        {QStringLiteral("p90"), percentile(total.latencyNs, 0.90)},
        {QStringLiteral("p99"), percentile(total.latencyNs, 0.99)},
        {QStringLiteral("max"), percentile(total.latencyNs, 1.0)},
    };
    QJsonObject errors;
    for (auto it = total.errors.cbegin(); it != total.errors.cend(); ++it)
        errors[it.key()] = double(it.value());
    report[QStringLiteral("errors")] = errors;
    report[QStringLiteral("bench_cpu_percent")] =
        windowS > 0 ? 100.0 * (benchCpu1 - benchCpu0) / windowS : 0.0;
    if (!o.serverPids.isEmpty()) {
        QJsonObject server;
        server[QStringLiteral("pid")] = double(o.serverPids.first());
        server[QStringLiteral("processes")] = int(o.serverPids.size());
        server[QStringLiteral("threads")] = end.threads;
        server[QStringLiteral("rss_start_kb")] = double(start.rssKb);
        server[QStringLiteral("rss_idle_kb")] = double(afterIdle.rssKb);
        server[QStringLiteral("rss_end_kb")] = double(end.rssKb);
        server[QStringLiteral("rss_per_idle_connection_bytes")] =
            o.idle > 0 ? 1024.0 * double(afterIdle.rssKb - start.rssKb) / o.idle : 0.0;
        if (idleCpuPercent >= 0)
            server[QStringLiteral("idle_cpu_percent")] = idleCpuPercent;
        server[QStringLiteral("cpu_s")] = serverCpuS;
        server[QStringLiteral("cpu_percent")] = windowS > 0 ? 100.0 * serverCpuS / windowS : 0.0;
        server[QStringLiteral("cpu_us_per_message")] =
            total.delivered > 0 ? 1e6 * serverCpuS / double(total.delivered) : 0.0;
        report[QStringLiteral("server")] = server;
    }

    if (o.json) {
        std::printf("%s\n", QJsonDocument(report).toJson(QJsonDocument::Compact).constData());
    } else {
        const auto line = [](const char *label, const QString &value) {
            std::printf("%-26s %s\n", label, qPrintable(value));
        };
        const auto num = [&](const char *key, int decimals = 0) {
            return QString::number(report.value(QLatin1String(key)).toDouble(), 'f', decimals);
        };
        line("connections held", QStringLiteral("%1 (%2 failed, %3 dropped)")
                                     .arg(held)
                                     .arg(int(shared.failed))
                                     .arg(int(shared.dropped)));
        line("connects/s", num("connects_per_s"));
        if (o.urls.size() > 1)
            line("pairs across servers", QStringLiteral("%1 of %2 (%3 servers)")
                                             .arg(acrossServers / 2)
                                             .arg(matchedPairs)
                                             .arg(o.urls.size()));
        if (o.pairs > 0)
            line("pairs/s", QStringLiteral("%1 (%2 pairs in %3 ms)")
                                .arg(num("pairs_per_s"))
                                .arg(matchedPairs)
                                .arg(seconds(pairingNs) * 1000, 0, 'f', 1));
        if (windowS > 0) {
            line("messages/s delivered", QStringLiteral("%1 (%2 in %3 s, %4)")
                                             .arg(num("messages_per_s"))
                                             .arg(total.delivered)
                                             .arg(windowS, 0, 'f', 2)
                                             .arg(report.value(QLatin1String("mode")).toString()));
            line("latency ms p50/p90/p99/max",
                 QStringLiteral("%1 / %2 / %3 / %4")
                     .arg(percentile(total.latencyNs, 0.5), 0, 'f', 3)
                     .arg(percentile(total.latencyNs, 0.9), 0, 'f', 3)
                     .arg(percentile(total.latencyNs, 0.99), 0, 'f', 3)
                     .arg(percentile(total.latencyNs, 1.0), 0, 'f', 3));
            line("bench CPU", QStringLiteral("%1 %").arg(num("bench_cpu_percent", 1)));
        }
        if (!o.serverPids.isEmpty()) {
            const QJsonObject s = report.value(QLatin1String("server")).toObject();
            line("server RSS start/idle/end", QStringLiteral("%1 / %2 / %3 KiB")
                                                  .arg(start.rssKb)
                                                  .arg(afterIdle.rssKb)
                                                  .arg(end.rssKb));
            if (o.idle > 0)
                line("server RSS per idle conn",
                     QStringLiteral("%1 bytes")
                         .arg(s.value(QLatin1String("rss_per_idle_connection_bytes")).toDouble(), 0,
                              'f', 0));
            if (idleCpuPercent >= 0)
                line("server CPU, idle only",
                     QStringLiteral("%1 %").arg(idleCpuPercent, 0, 'f', 1));
            if (windowS > 0)
                line("server CPU",
                     QStringLiteral("%1 % (%2 us per delivered message)")
                         .arg(s.value(QLatin1String("cpu_percent")).toDouble(), 0, 'f', 1)
                         .arg(s.value(QLatin1String("cpu_us_per_message")).toDouble(), 0, 'f', 2));
        }
        for (auto it = total.errors.cbegin(); it != total.errors.cend(); ++it)
            line("error frames", QStringLiteral("%1: %2").arg(it.key()).arg(it.value()));
        for (const QString &p : problems)
            line("PROBLEM", p);
    }
    std::fflush(stdout);
    return problems.isEmpty() ? 0 : 1;
}
