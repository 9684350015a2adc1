#include "procstats.h"

#include <QByteArray>
#include <QFile>
#include <QList>
#include <chrono>
#include <sys/resource.h>
#include <unistd.h>

namespace anonchat::bench {

namespace {

QByteArray readProcFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll(); // /proc files have no size: read until the end
}

} // namespace

ProcSample sampleProcess(qint64 pid)
{
    ProcSample sample;
    if (pid <= 0)
        return sample;
    const QString base = QStringLiteral("/proc/%1/").arg(pid);
    const QByteArray stat = readProcFile(base + QLatin1String("stat"));
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last
    // ')'.
    const qsizetype close = stat.lastIndexOf(')');
    if (close < 0)
        return sample;
    const QList<QByteArray> fields = stat.mid(close + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime 15, num_threads 20.
    if (fields.size() < 18)
        return sample;
    sample.cpuTicks = fields[11].toLongLong() + fields[12].toLongLong();
    sample.threads = fields[17].toInt();

    const QByteArray status = readProcFile(base + QLatin1String("status"));
    for (const QByteArray &line : status.split('\n')) {
        if (line.startsWith("VmRSS:")) {
            sample.rssKb = line.mid(6).trimmed().split(' ').value(0).toLongLong();
            break;
        }
    }
    sample.ok = true;
    return sample;
}

double ticksPerSecond()
{
    const long ticks = sysconf(_SC_CLK_TCK);
    return ticks > 0 ? double(ticks) : 100.0;
}

double selfCpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval &t) {
        return double(t.tv_sec) + double(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

qint64 nowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

qint64 raiseFileLimit()
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return -1;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur == RLIM_INFINITY ? qint64(1) << 30 : qint64(limit.rlim_cur);
}

} // namespace anonchat::bench
