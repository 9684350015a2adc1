#pragma once

// The cap on away sessions (kept for the resume window): per address, or in all.

#include "server/chat/session.h"
#include "server/net/addresskey.h"
#include "server/net/connectionbudget.h"

#include <QHash>
#include <QHostAddress>
#include <map>
#include <memory>

namespace anonchat::server {

/**
 * Counts a node's away sessions against the process's ConnectionBudget: per address
 * (--max-connections-per-address) or, without that cap (behind a proxy every user has one
 * address), in all at --max-connections. Over the cap, the longest away session of that address
 * on this node goes: one without a room first, so that a real user behind a busy NAT keeps a
 * chat while churn loses identities.
 */
class AwayCap
{
public:
    AwayCap(std::shared_ptr<ConnectionBudget> budget, int maxPerAddress, qint64 logIntervalMs);

    /// Counts `s`, just gone away. Returns the session to drop (0: none); it may be `s`.
    /// `sessionFor` finds a session by key.
    template <typename Lookup>
    UserKey count(Session &s, qint64 nowMs, const Lookup &sessionFor);
    /// `s` is back, or gone: it no longer counts.
    void uncount(Session &s);

private:
    QHostAddress keyOf(const Session &s) const;
    /// Adds `s`; true when its address (or the node) is over the cap.
    bool add(Session &s);
    void logDrop(const QHostAddress &key, qint64 nowMs);

    std::shared_ptr<ConnectionBudget> m_budget;
    int m_maxPerAddress;
    /// Away sessions by address (a null address when counted in all), by Session::awaySerial:
    /// the longest away first.
    QHash<QHostAddress, std::map<quint64, UserKey>> m_byAddress;
    quint64 m_lastSerial = 0;
    RefusalLog m_log;
};

template <typename Lookup>
UserKey AwayCap::count(Session &s, qint64 nowMs, const Lookup &sessionFor)
{
    if (s.awaySerial != 0 || !add(s))
        return 0;
    const std::map<quint64, UserKey> &away = m_byAddress[keyOf(s)];
    UserKey victim = away.begin()->second;
    for (const auto &[serial, candidate] : away) {
        const Session *c = sessionFor(candidate);
        if (c && c->state != Session::State::InRoom) {
            victim = candidate;
            break;
        }
    }
    logDrop(keyOf(s), nowMs);
    return victim;
}

} // namespace anonchat::server
