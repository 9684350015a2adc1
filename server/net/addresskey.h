#pragma once

#include <QHash>
#include <QHostAddress>

namespace anonchat::server {

/// The unit the per-address limits count in: an IPv4 address (::ffff:a.b.c.d counts as
/// a.b.c.d), or an IPv6 /64 (the rest of the address zeroed), since one subscriber usually holds
/// a whole /64 and could otherwise take a fresh address per connection.
QHostAddress addressKey(const QHostAddress &peer);

/**
 * Says whether a refusal from one address may be logged now: at most once per interval per
 * address (addressKey()), so a client that is refused over and over cannot flood the log. Keeps
 * at most `maxAddresses` addresses; past that, refusals from new addresses are not logged until
 * old entries have expired. Not thread-safe: one per thread.
 */
class RefusalLog
{
public:
    explicit RefusalLog(qint64 intervalMs = 60 * 1000, int maxAddresses = 10000)
        : m_intervalMs(intervalMs)
        , m_maxAddresses(maxAddresses)
    {}

    /// True when a refusal from `peer` at `nowMs` may be logged; then `*suppressed` (if given) is
    /// the number of refusals from that address not logged since its last line.
    bool shouldLog(const QHostAddress &peer, qint64 nowMs, int *suppressed = nullptr);
    void setInterval(qint64 intervalMs) { m_intervalMs = intervalMs; }

private:
    struct Entry {
        qint64 loggedAtMs = 0;
        int suppressed = 0;
    };
    qint64 m_intervalMs;
    int m_maxAddresses;
    QHash<QHostAddress, Entry> m_entries;
};

} // namespace anonchat::server
