#pragma once

#include "shared/events.h"

#include <QByteArray>
#include <array>
#include <atomic>
#include <vector>

namespace anonchat::server {

/// Gauges read at scrape time.
struct MetricsGauges {
    qint64 connections = 0;
    qint64 queuedUsers = 0;
    qint64 activeRooms = 0;
    qint64 awayUsers = 0;
};

/// The counters and histogram of PROTOCOL.md's `/metrics`, rendered in Prometheus text format.
class Metrics
{
public:
    Metrics();

    // The counters may be bumped from any thread (the nodes of `--threads` share one Metrics).
    void addStored(qint64 rows) { m_messagesStored.fetch_add(rows, std::memory_order_relaxed); }
    void countError(protocol::ErrorCode code)
    {
        m_errors[size_t(code)].fetch_add(1, std::memory_order_relaxed);
    }
    void countConnection() { m_connectionsTotal.fetch_add(1, std::memory_order_relaxed); }
    /// The commit histogram: from the thread that renders only.
    void recordCommit(double seconds);

    qint64 messagesStored() const { return m_messagesStored.load(std::memory_order_relaxed); }
    qint64 errors(protocol::ErrorCode code) const
    {
        return m_errors[size_t(code)].load(std::memory_order_relaxed);
    }

    QByteArray render(const MetricsGauges &gauges) const;

private:
    std::atomic<qint64> m_messagesStored{0};
    std::atomic<qint64> m_connectionsTotal{0};
    std::array<std::atomic<qint64>, protocol::kErrorCodeCount> m_errors{};
    std::vector<double> m_bounds;
    std::vector<qint64> m_bucketCounts; ///< per bound, not cumulative
    qint64 m_commitCount = 0;
    double m_commitSum = 0;
};

} // namespace anonchat::server
