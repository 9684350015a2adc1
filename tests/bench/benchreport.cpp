#include "benchreport.h"

#include <QJsonArray>
#include <cstdio>

namespace anonchat::bench {

namespace {

double percentile(const std::vector<qint64> &sorted, double p)
{
    if (sorted.empty())
        return 0;
    const size_t i = size_t(p * double(sorted.size() - 1) + 0.5);
    return double(sorted[std::min(i, sorted.size() - 1)]) / 1e6;
}

QJsonObject serverReport(const Options &o, const Measurements &m)
{
    const double windowS = seconds(m.windowNs);
    const double cpuS = double(m.windowEnd.cpuTicks - m.windowStart.cpuTicks) / ticksPerSecond();
    const double delivered = double(m.total.delivered);
    QJsonObject server;
    server[QStringLiteral("pid")] = double(o.serverPids.first());
    server[QStringLiteral("processes")] = int(o.serverPids.size());
    server[QStringLiteral("threads")] = m.end.threads;
    server[QStringLiteral("rss_start_kb")] = double(m.start.rssKb);
    server[QStringLiteral("rss_idle_kb")] = double(m.afterIdle.rssKb);
    server[QStringLiteral("rss_end_kb")] = double(m.end.rssKb);
    server[QStringLiteral("rss_per_idle_connection_bytes")] =
        o.idle > 0 ? 1024.0 * double(m.afterIdle.rssKb - m.start.rssKb) / o.idle : 0.0;
    if (m.idleCpuPercent >= 0)
        server[QStringLiteral("idle_cpu_percent")] = m.idleCpuPercent;
    server[QStringLiteral("cpu_s")] = cpuS;
    server[QStringLiteral("cpu_percent")] = windowS > 0 ? 100.0 * cpuS / windowS : 0.0;
    server[QStringLiteral("cpu_us_per_message")] = delivered > 0 ? 1e6 * cpuS / delivered : 0.0;
    if (m.commits >= 0 && windowS > 0) {
        server[QStringLiteral("commits_per_s")] = m.commits / windowS;
        server[QStringLiteral("rows_per_commit")] = m.commits > 0 ? m.rowsStored / m.commits : 0.0;
    }
    return server;
}

} // namespace

QJsonObject benchReport(const Options &o, const Measurements &m)
{
    const double windowS = seconds(m.windowNs);
    const double connectS = seconds(m.idleConnectNs + m.chatConnectNs);
    const int connections = o.idle + 2 * o.pairs;
    const WorkerResult &total = m.total;
    QStringList urls;
    for (const QUrl &url : o.urls)
        urls.append(url.toString());
    QJsonObject report{
        {QStringLiteral("ok"), m.problems.isEmpty()},
        {QStringLiteral("problems"), QJsonArray::fromStringList(m.problems)},
        {QStringLiteral("url"), urls.join(QLatin1Char(','))},
        {QStringLiteral("servers"), int(o.urls.size())},
        {QStringLiteral("idle"), o.idle},
        {QStringLiteral("pairs"), o.pairs},
        {QStringLiteral("duration_s"), o.duration},
        {QStringLiteral("warmup_s"), o.warmup},
        {QStringLiteral("rate"), o.rate},
        {QStringLiteral("mode"), o.rate > 0 ? QStringLiteral("rate") : QStringLiteral("ping-pong")},
        {QStringLiteral("client_threads"), m.clientThreads},
        {QStringLiteral("idle_threads"), m.idleThreads},
        {QStringLiteral("connections_held"), m.held},
        {QStringLiteral("connections_failed"), m.failed},
        {QStringLiteral("connections_dropped"), m.dropped},
        {QStringLiteral("connect_s"), connectS},
        {QStringLiteral("connects_per_s"), connectS > 0 ? connections / connectS : 0.0},
        {QStringLiteral("pairs_matched"), m.matchedPairs},
        {QStringLiteral("pairs_across_servers"), m.acrossServers / 2},
        {QStringLiteral("pairing_s"), seconds(m.pairingNs)},
        {QStringLiteral("pairs_per_s"),
         m.pairingNs > 0 ? m.matchedPairs / seconds(m.pairingNs) : 0.0},
        {QStringLiteral("measured_s"), windowS},
        {QStringLiteral("messages_sent"), double(total.sent)},
        {QStringLiteral("messages_delivered"), double(total.delivered)},
        {QStringLiteral("messages_acked"), double(total.acked)},
        {QStringLiteral("messages_per_s"), windowS > 0 ? total.delivered / windowS : 0.0},
        {QStringLiteral("bench_cpu_percent"),
         windowS > 0 ? 100.0 * m.benchCpuSeconds / windowS : 0.0},
    };
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
    if (!o.serverPids.isEmpty())
        report[QStringLiteral("server")] = serverReport(o, m);
    return report;
}

namespace {

void line(const char *label, const QString &value)
{
    std::printf("%-26s %s\n", label, qPrintable(value));
}

void printChat(const Measurements &m, const QJsonObject &report)
{
    const std::vector<qint64> &latency = m.total.latencyNs;
    line("messages/s delivered",
         QStringLiteral("%1 (%2 in %3 s, %4)")
             .arg(report.value(QLatin1String("messages_per_s")).toDouble(), 0, 'f', 0)
             .arg(m.total.delivered)
             .arg(seconds(m.windowNs), 0, 'f', 2)
             .arg(report.value(QLatin1String("mode")).toString()));
    line("latency ms p50/p90/p99/max", QStringLiteral("%1 / %2 / %3 / %4")
                                           .arg(percentile(latency, 0.5), 0, 'f', 3)
                                           .arg(percentile(latency, 0.9), 0, 'f', 3)
                                           .arg(percentile(latency, 0.99), 0, 'f', 3)
                                           .arg(percentile(latency, 1.0), 0, 'f', 3));
    line("bench CPU", QStringLiteral("%1 %").arg(
                          report.value(QLatin1String("bench_cpu_percent")).toDouble(), 0, 'f', 1));
}

void printServer(const Options &o, const Measurements &m, const QJsonObject &s)
{
    const auto value = [&](const char *key) { return s.value(QLatin1String(key)).toDouble(); };
    line("server RSS start/idle/end", QStringLiteral("%1 / %2 / %3 KiB")
                                          .arg(m.start.rssKb)
                                          .arg(m.afterIdle.rssKb)
                                          .arg(m.end.rssKb));
    if (o.idle > 0)
        line("server RSS per idle conn",
             QStringLiteral("%1 bytes").arg(value("rss_per_idle_connection_bytes"), 0, 'f', 0));
    if (m.idleCpuPercent >= 0)
        line("server CPU, idle only", QStringLiteral("%1 %").arg(m.idleCpuPercent, 0, 'f', 1));
    if (m.windowNs <= 0)
        return;
    line("server CPU", QStringLiteral("%1 % (%2 us per delivered message)")
                           .arg(value("cpu_percent"), 0, 'f', 1)
                           .arg(value("cpu_us_per_message"), 0, 'f', 2));
    if (s.contains(QLatin1String("commits_per_s")))
        line("server commits/s", QStringLiteral("%1 (%2 rows per commit)")
                                     .arg(value("commits_per_s"), 0, 'f', 0)
                                     .arg(value("rows_per_commit"), 0, 'f', 2));
}

} // namespace

void printBenchReport(const Options &o, const Measurements &m, const QJsonObject &report)
{
    line("connections held",
         QStringLiteral("%1 (%2 failed, %3 dropped)").arg(m.held).arg(m.failed).arg(m.dropped));
    line("connects/s",
         QString::number(report.value(QLatin1String("connects_per_s")).toDouble(), 'f', 0));
    if (o.urls.size() > 1)
        line("pairs across servers", QStringLiteral("%1 of %2 (%3 servers)")
                                         .arg(m.acrossServers / 2)
                                         .arg(m.matchedPairs)
                                         .arg(o.urls.size()));
    if (o.pairs > 0)
        line("pairs/s", QStringLiteral("%1 (%2 pairs in %3 ms)")
                            .arg(report.value(QLatin1String("pairs_per_s")).toDouble(), 0, 'f', 0)
                            .arg(m.matchedPairs)
                            .arg(seconds(m.pairingNs) * 1000, 0, 'f', 1));
    if (m.windowNs > 0)
        printChat(m, report);
    if (!o.serverPids.isEmpty())
        printServer(o, m, report.value(QLatin1String("server")).toObject());
    for (auto it = m.total.errors.cbegin(); it != m.total.errors.cend(); ++it)
        line("error frames", QStringLiteral("%1: %2").arg(it.key()).arg(it.value()));
    for (const QString &p : m.problems)
        line("PROBLEM", p);
}

} // namespace anonchat::bench
