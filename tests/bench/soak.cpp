// anonchat-soak: the churn driver of scripts/soak.sh. About a thousand simulated users on loopback,
// each looping through a randomised life (connect, join_queue, matched, a few messages at a human
// pace, then leave, next, an abrupt drop and a resume, or leaving for good while a new user takes
// its place), for a given time. Counts what happened and checks that every acknowledged message
// reached a partner still in the room (see ledger.h). Exit 0 when nothing failed, 1 otherwise.
#include "benchcommon.h"
#include "churnworker.h"
#include "ledger.h"
#include "procstats.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>
#include <cstdio>

using namespace anonchat::bench;

namespace {

struct Options {
    ChurnConfig churn;
    int users = 1000;
    double duration = 60;
    double ramp = 10;
    double progress = 0;
    int threads = 2;
    bool json = false;
};

constexpr double kGraceS = 3;       ///< after the stop: messages in flight arrive
constexpr double kSweepGraceS = 15; ///< a room is judged this long after both members left it
constexpr double kCloseS = 2;       ///< after the polite close, before the rest is aborted

/// `error` codes that come of races any client meets (a partner leaving while one types).
const QStringList &benignErrors()
{
    static const QStringList codes = {QStringLiteral("not_in_room"),
                                      QStringLiteral("already_in_room"),
                                      QStringLiteral("not_in_queue")};
    return codes;
}

Range parseRange(const QCommandLineParser &parser, const char *name, double low, double high)
{
    const QStringList parts = parser.value(QLatin1String(name)).split(QLatin1Char('-'));
    bool ok1 = false;
    bool ok2 = false;
    const Range r{parts.value(0).toDouble(&ok1), parts.value(parts.size() - 1).toDouble(&ok2)};
    if (parts.size() > 2 || !ok1 || !ok2 || r.low < low || r.high > high || r.low > r.high)
        fail(QStringLiteral("--%1 must be MIN-MAX (or one number) within %2 to %3")
                 .arg(QLatin1String(name))
                 .arg(low)
                 .arg(high));
    return r;
}

void addOptions(QCommandLineParser &parser)
{
    parser.setApplicationDescription(QStringLiteral(
        "Churn driver for anonchat soak tests: simulated users connect, match, chat, leave, "
        "drop and resume, or go for good, on loopback, for a given time."));
    parser.addHelpOption();
    parser.addOptions({
        {"url",
         "WebSocket URL on loopback (default ws://127.0.0.1:5000/ws). Several servers of one "
         "cluster: repeat --url or give a comma list; each user keeps to one of them (its "
         "resumes too), and rooms cross servers.",
         "URL", "ws://127.0.0.1:5000/ws"},
        {"users", "Simulated users at any time (default 1000, max 20000).", "N", "1000"},
        {"duration", "Seconds of churn (default 60).", "S", "60"},
        {"ramp", "Seconds over which the first connections are spread (default 10).", "S", "10"},
        {"message-interval", "Seconds between two messages of a user (default 1-3).", "MIN-MAX",
         "1-3"},
        {"messages", "Messages a user sends in a room (default 2-8).", "MIN-MAX", "2-8"},
        {"reconnect", "Seconds a dropped user stays away before it resumes (default 1-5).",
         "MIN-MAX", "1-5"},
        {"think", "Seconds between a room's end and joining again (default 0.5-3).", "MIN-MAX",
         "0.5-3"},
        {"interests", "Share of users joining with interests (default 0.3).", "F", "0.3"},
        {"seed", "Random seed (default: from the clock; printed).", "N", "0"},
        {"threads", "Client threads (default 2).", "T", "2"},
        {"progress", "Print the counts to stderr every S seconds (default 0: never).", "S", "0"},
        {"json", "Print one JSON object instead of text."},
    });
}

Options parseOptions(const QCoreApplication &app)
{
    QCommandLineParser parser;
    addOptions(parser);
    processCommandLine(parser, app);
    Options o;
    o.churn.urls = loopbackUrls(parser);
    o.users = int(numberOption(parser, "users", 2, 20000));
    o.duration = numberOption(parser, "duration", 1, 7 * 86400);
    o.ramp = numberOption(parser, "ramp", 0, 600);
    o.churn.messageInterval = parseRange(parser, "message-interval", 0.01, 600);
    o.churn.messages = parseRange(parser, "messages", 0, 1000);
    o.churn.reconnect = parseRange(parser, "reconnect", 0, 3600);
    o.churn.think = parseRange(parser, "think", 0, 3600);
    o.churn.interestShare = numberOption(parser, "interests", 0, 1);
    o.churn.seed = quint32(numberOption(parser, "seed", 0, 4294967295.0));
    if (o.churn.seed == 0)
        o.churn.seed = quint32(nowNs() % 4294967291LL) | 1u;
    o.threads = int(numberOption(parser, "threads", 1, 16));
    o.progress = numberOption(parser, "progress", 0, 86400);
    o.json = parser.isSet(QStringLiteral("json"));
    return o;
}

using ChurnThread = ThreadedWorker<ChurnWorker>;

template <typename F>
void onEach(std::vector<ChurnThread> &workers, F f,
            Qt::ConnectionType type = Qt::BlockingQueuedConnection)
{
    for (ChurnThread &w : workers)
        QMetaObject::invokeMethod(
            w.worker, [&f, worker = w.worker] { f(worker); }, type);
}

ChurnCounts collect(std::vector<ChurnThread> &workers)
{
    ChurnCounts total;
    onEach(workers, [&total](ChurnWorker *w) { total.add(w->counts()); });
    return total;
}

QJsonObject toJson(const QMap<QString, qint64> &map)
{
    QJsonObject object;
    for (auto it = map.cbegin(); it != map.cend(); ++it)
        object[it.key()] = double(it.value());
    return object;
}

/// What makes the run fail.
QStringList problemsOf(const ChurnCounts &c, const LedgerTotals &t)
{
    QStringList problems;
    for (auto it = c.errors.cbegin(); it != c.errors.cend(); ++it) {
        if (!benignErrors().contains(it.key()))
            problems << QStringLiteral("%1 error frames %2").arg(it.value()).arg(it.key());
    }
    for (const char *event : {"resumes_failed", "connect_failures", "connect_timeouts",
                              "server_closes", "ack_timeouts", "matched_while_in_room"}) {
        if (const qint64 n = c.events.value(QLatin1String(event)))
            problems << QStringLiteral("%1 %2").arg(n).arg(QLatin1String(event));
    }
    if (t.lost > 0)
        problems << QStringLiteral("%1 of %2 owed messages lost: %3")
                        .arg(t.lost)
                        .arg(t.owed)
                        .arg(t.lostSamples.join(QStringLiteral("; ")));
    if (c.events.value(QStringLiteral("received")) == 0)
        problems << QStringLiteral("no message delivered");
    return problems;
}

void printProgress(double elapsedS, const ChurnCounts &c, const Ledger &ledger)
{
    const auto n = [&c](const char *key) { return c.events.value(QLatin1String(key)); };
    std::fprintf(stderr,
                 "anonchat-soak: %.0f s: %lld welcomes, %lld matched, %lld sent, %lld received, "
                 "%lld resumes, %lld quits, %d open rooms in the ledger\n",
                 elapsedS, n("welcome"), n("matched"), n("sent"), n("received"), n("resumed"),
                 n("quits"), ledger.openRooms());
}

} // namespace

namespace {

/// Runs the churn for the duration, then stops it, lets what is in flight arrive and judges.
std::pair<ChurnCounts, LedgerTotals> run(const Options &o, Ledger &ledger,
                                         std::vector<ChurnThread> &workers)
{
    const int n = int(workers.size());
    for (int i = 0; i < n; ++i) {
        const int users = o.users / n + (i < o.users % n ? 1 : 0);
        QMetaObject::invokeMethod(
            workers[size_t(i)].worker,
            [w = workers[size_t(i)].worker, users, ramp = o.ramp] { w->start(users, ramp); });
    }
    const qint64 t0 = nowNs();
    qint64 nextProgress = t0 + qint64(o.progress * 1e9);
    while (nowNs() - t0 < qint64(o.duration * 1e9)) {
        QThread::msleep(1000);
        ledger.sweep(nowNs(), qint64(kSweepGraceS * 1e9));
        if (o.progress > 0 && nowNs() >= nextProgress) {
            printProgress(double(nowNs() - t0) / 1e9, collect(workers), ledger);
            nextProgress += qint64(o.progress * 1e9);
        }
    }
    const qint64 stopNs = nowNs();
    onEach(workers, [stopNs](ChurnWorker *w) { w->stop(stopNs); });
    QThread::msleep(ulong(kGraceS * 1000));
    ledger.sweep(nowNs(), -1);
    const ChurnCounts counts = collect(workers);
    onEach(workers, [](ChurnWorker *w) { w->closeAll(); });
    QThread::msleep(ulong(kCloseS * 1000));
    onEach(workers, [](ChurnWorker *w) { w->destroyAll(); });
    return {counts, ledger.totals()};
}

void report(const Options &o, const ChurnCounts &c, const LedgerTotals &t,
            const QStringList &problems)
{
    QJsonObject out;
    out[QStringLiteral("ok")] = problems.isEmpty();
    out[QStringLiteral("problems")] = QJsonArray::fromStringList(problems);
    out[QStringLiteral("users")] = o.users;
    out[QStringLiteral("duration_s")] = o.duration;
    out[QStringLiteral("seed")] = double(o.churn.seed);
    out[QStringLiteral("events")] = toJson(c.events);
    out[QStringLiteral("errors")] = toJson(c.errors);
    out[QStringLiteral("messages")] = QJsonObject{
        {QStringLiteral("rooms_checked"), double(t.rooms)},
        {QStringLiteral("acked"), double(t.acked)},
        {QStringLiteral("owed"), double(t.owed)},
        {QStringLiteral("lost"), double(t.lost)},
        {QStringLiteral("duplicates"), double(t.duplicates)},
        {QStringLiteral("duplicate_samples"), QJsonArray::fromStringList(t.duplicateSamples)},
    };
    if (o.json) {
        std::printf("%s\n", QJsonDocument(out).toJson(QJsonDocument::Compact).constData());
        return;
    }
    std::printf("anonchat-soak: %d users, %.0f s, seed %u\n", o.users, o.duration, o.churn.seed);
    for (auto it = c.events.cbegin(); it != c.events.cend(); ++it)
        std::printf("  %-22s %lld\n", qPrintable(it.key()), it.value());
    for (auto it = c.errors.cbegin(); it != c.errors.cend(); ++it)
        std::printf("  error %-16s %lld\n", qPrintable(it.key()), it.value());
    std::printf("  messages: %lld rooms checked, %lld acked, %lld owed to a partner still in the "
                "room, %lld lost, %lld duplicates\n",
                t.rooms, t.acked, t.owed, t.lost, t.duplicates);
    for (const QString &d : t.duplicateSamples)
        std::printf("  duplicate: %s\n", qPrintable(d));
    for (const QString &p : problems)
        std::printf("  PROBLEM %s\n", qPrintable(p));
}

} // namespace

int main(int argc, char *argv[])
{
    preferQtEventDispatcher();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("anonchat-soak"));
    const Options o = parseOptions(app);
    if (raiseFileLimit() < o.users + 64)
        fail(
            QStringLiteral("%1 users need more file descriptors than the hard limit").arg(o.users));

    Ledger ledger;
    std::vector<ChurnThread> workers;
    for (int i = 0; i < std::min(o.threads, o.users); ++i)
        workers.push_back(
            ChurnThread::start(QStringLiteral("churn-%1").arg(i), o.churn, i, &ledger));
    const auto [counts, totals] = run(o, ledger, workers);
    for (ChurnThread &w : workers)
        w.finish();
    const QStringList problems = problemsOf(counts, totals);
    report(o, counts, totals, problems);
    std::fflush(stdout);
    return problems.isEmpty() ? 0 : 1;
}
