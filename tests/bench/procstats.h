#pragma once

#include <QtGlobal>

namespace anonchat::bench {

/// One look at a process through /proc/<pid>/stat and /proc/<pid>/status (the server under test).
struct ProcSample {
    bool ok = false;
    qint64 cpuTicks = 0; ///< utime + stime of all its threads, in clock ticks
    qint64 rssKb = 0;    ///< VmRSS
    int threads = 0;
};

ProcSample sampleProcess(qint64 pid);

/// Clock ticks per second of /proc/<pid>/stat (sysconf(_SC_CLK_TCK)).
double ticksPerSecond();

/// CPU time (user + system) of this process, all threads, in seconds.
double selfCpuSeconds();

/// A monotonic clock shared by every thread of this process, in nanoseconds.
qint64 nowNs();

/// `ns` nanoseconds in seconds.
inline double seconds(qint64 ns)
{
    return double(ns) / 1e9;
}

/// Raises RLIMIT_NOFILE to its hard limit; returns the soft limit in force afterwards.
qint64 raiseFileLimit();

} // namespace anonchat::bench
