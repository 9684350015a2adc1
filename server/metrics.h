#pragma once

#include "shared/events.h"

#include <QByteArray>
#include <array>
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

    void addStored(qint64 rows) { m_messagesStored += rows; }
    void recordCommit(double seconds);
    void countError(protocol::ErrorCode code) { ++m_errors[static_cast<int>(code)]; }
    void countConnection() { ++m_connectionsTotal; }

    qint64 messagesStored() const { return m_messagesStored; }
    qint64 errors(protocol::ErrorCode code) const { return m_errors[static_cast<int>(code)]; }

    QByteArray render(const MetricsGauges &gauges) const;

private:
    qint64 m_messagesStored = 0;
    qint64 m_connectionsTotal = 0;
    std::array<qint64, protocol::kErrorCodeCount> m_errors{};
    std::vector<double> m_bounds;
    std::vector<qint64> m_bucketCounts; ///< per bound, not cumulative
    qint64 m_commitCount = 0;
    double m_commitSum = 0;
};

} // namespace anonchat::server
