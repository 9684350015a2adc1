// anonchat-bench: a load generator for anonchat-server and any server that speaks PROTOCOL.md.
// Opens N idle connections and P chatting pairs on loopback, measures connects/s, pairing time,
// delivered messages/s and latency, and the server's RSS and CPU time per delivered message
// (from /proc/<pid>). Bounded in count and time; stops by itself. See scripts/bench.sh.
#include "benchcommon.h"
#include "benchreport.h"
#include "benchrun.h"
#include "procstats.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonDocument>
#include <QJsonObject>
#include <cstdio>

using namespace anonchat::bench;

namespace {

// Bounds: a benchmark of this machine, never a flood.
constexpr int kMaxIdle = 100000;
constexpr int kMaxPairs = 50000;
constexpr double kMaxDuration = 600;
constexpr double kMaxWarmup = 120;
constexpr double kMaxRate = 1000;

/// The command line: the description, --help and every option.
void addOptions(QCommandLineParser &parser)
{
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
        {"sources",
         "Loopback source addresses of the idle connections, 127.0.0.1 to 127.0.0.N in turn "
         "(default 1): each has ~28,000 ephemeral ports towards one server port.",
         "N", "1"},
        {"concurrency", "Handshakes in flight at most, all threads together (default 256).", "N",
         "256"},
        {"phase-timeout", "Seconds each of connecting and matching may take (default 60).", "S",
         "60"},
        {"idle-measure",
         "Seconds of server CPU measured with only the idle connections (default 0).", "S", "0"},
    });
}

/// --server-pid, repeated or a comma list; 0 (the default) is none.
QList<qint64> serverPids(const QCommandLineParser &parser)
{
    QList<qint64> pids;
    for (const QString &value : parser.values(QStringLiteral("server-pid"))) {
        for (const QString &text : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool ok = false;
            const qint64 pid = text.trimmed().toLongLong(&ok);
            if (!ok || pid < 0 || pid > (1 << 30))
                fail(QStringLiteral("--server-pid must be a number from 0 to %1").arg(1 << 30));
            if (pid > 0)
                pids.append(pid);
        }
    }
    return pids;
}

Options parseOptions(const QCoreApplication &app)
{
    QCommandLineParser parser;
    addOptions(parser);
    processCommandLine(parser, app);

    const auto number = [&](const char *name, double low, double high) {
        return numberOption(parser, name, low, high);
    };
    Options o;
    o.urls = loopbackUrls(parser);
    o.serverPids = serverPids(parser);
    o.idle = int(number("idle", 0, kMaxIdle));
    o.pairs = int(number("pairs", 0, kMaxPairs));
    o.duration = number("duration", 0, kMaxDuration);
    o.warmup = number("warmup", 0, kMaxWarmup);
    o.rate = number("rate", 0, kMaxRate);
    o.json = parser.isSet(QStringLiteral("json"));
    o.threads = int(number("threads", 1, 16));
    o.idleThreads = int(number("idle-threads", 1, 16));
    for (int i = 1, n = int(number("sources", 1, 254)); i <= n; ++i)
        o.sources.append(QHostAddress(QStringLiteral("127.0.0.%1").arg(i)));
    o.concurrency = int(number("concurrency", 1, 10000));
    o.phaseTimeout = number("phase-timeout", 1, 600);
    o.idleMeasure = number("idle-measure", 0, 60);
    if (o.idle + o.pairs == 0)
        fail(QStringLiteral("nothing to do: --idle and --pairs are both 0"));
    return o;
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

    BenchRun run(o);
    const Measurements m = run.run();
    const QJsonObject report = benchReport(o, m);
    if (o.json)
        std::printf("%s\n", QJsonDocument(report).toJson(QJsonDocument::Compact).constData());
    else
        printBenchReport(o, m, report);
    std::fflush(stdout);
    return m.problems.isEmpty() ? 0 : 1;
}
