#include "server/web/metrics.h"

namespace anonchat::server {

Metrics::Metrics()
    : m_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5}
    , m_bucketCounts(m_bounds.size(), 0)
{}

void Metrics::recordCommit(double seconds)
{
    ++m_commitCount;
    m_commitSum += seconds;
    for (size_t i = 0; i < m_bounds.size(); ++i) {
        if (seconds <= m_bounds[i]) {
            ++m_bucketCounts[i];
            break;
        }
    }
}

QByteArray Metrics::render(const MetricsGauges &gauges) const
{
    QByteArray out;
    out.reserve(4096);
    auto metric = [&out](const char *name, const char *type, const char *help, qint64 value) {
        out += QByteArray("# HELP ") + name + ' ' + help + "\n# TYPE " + name + ' ' + type + '\n' +
               name + ' ' + QByteArray::number(value) + '\n';
    };
    metric("anonchat_connections", "gauge", "Open WebSocket connections.", gauges.connections);
    metric("anonchat_queued_users", "gauge", "Users waiting to be matched.", gauges.queuedUsers);
    metric("anonchat_active_rooms", "gauge", "Rooms with two members.", gauges.activeRooms);
    metric("anonchat_away_users", "gauge", "Dropped users inside their resume window.",
           gauges.awayUsers);
    metric("anonchat_connections_total", "counter", "WebSocket connections accepted.",
           m_connectionsTotal.load(std::memory_order_relaxed));
    metric("anonchat_messages_stored_total", "counter", "Messages committed to storage.",
           messagesStored());

    out += "# HELP anonchat_commit_seconds Time of one storage commit (a group of rows).\n"
           "# TYPE anonchat_commit_seconds histogram\n";
    qint64 cumulative = 0;
    for (size_t i = 0; i < m_bounds.size(); ++i) {
        cumulative += m_bucketCounts[i];
        out += "anonchat_commit_seconds_bucket{le=\"" + QByteArray::number(m_bounds[i], 'g', 6) +
               "\"} " + QByteArray::number(cumulative) + '\n';
    }
    out +=
        "anonchat_commit_seconds_bucket{le=\"+Inf\"} " + QByteArray::number(m_commitCount) + '\n';
    out += "anonchat_commit_seconds_sum " + QByteArray::number(m_commitSum, 'g', 9) + '\n';
    out += "anonchat_commit_seconds_count " + QByteArray::number(m_commitCount) + '\n';

    out += "# HELP anonchat_errors_total Error frames sent, by code.\n"
           "# TYPE anonchat_errors_total counter\n";
    for (int i = 0; i < protocol::kErrorCodeCount; ++i) {
        out += "anonchat_errors_total{code=\"" +
               protocol::errorCodeName(static_cast<protocol::ErrorCode>(i)).toLatin1() + "\"} " +
               QByteArray::number(errors(static_cast<protocol::ErrorCode>(i))) + '\n';
    }
    return out;
}

} // namespace anonchat::server
