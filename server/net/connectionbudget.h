#pragma once

#include "server/net/addresskey.h"

#include <QHash>
#include <QHostAddress>
#include <QMutex>
#include <limits>

namespace anonchat::server {

/**
 * What the process holds per peer address (addressKey(): an IPv4 address or an IPv6 /64) and in
 * all, shared by the nodes of `--threads`:
 * - WebSockets, against `--max-connections` and `--max-connections-per-address`;
 * - connections that are not (yet) WebSockets (a request being read or answered), against
 *   `--max-connections-per-address` on their own, and, with the WebSockets, against the open
 *   sockets the open-file limit allows (`maxOpen`);
 * - away sessions (kept for the resume window), counted per address for the away cap.
 */
class ConnectionBudget
{
public:
    ConnectionBudget(int maxTotal, int maxPerAddress, int maxOpen = std::numeric_limits<int>::max())
        : m_maxTotal(maxTotal)
        , m_maxPerAddress(maxPerAddress)
        , m_maxOpen(maxOpen)
    {}

    int maxTotal() const { return m_maxTotal; }
    int maxPerAddress() const { return m_maxPerAddress; }
    int maxOpen() const { return m_maxOpen; }

    /// Takes a WebSocket's place for a connection from `peer`. False, taking nothing, when the
    /// process or that address is full.
    bool admit(const QHostAddress &peer);
    /// Gives back the place of an admitted WebSocket.
    void release(const QHostAddress &peer);

    enum class Verdict { Admitted, AddressFull, ProcessFull };
    /// Takes a place for a connection just accepted, before its request is read. AddressFull:
    /// that address already has `--max-connections-per-address` such connections; ProcessFull:
    /// the open sockets (these and the WebSockets) are at `maxOpen`. Nothing taken unless
    /// Admitted.
    Verdict admitPending(const QHostAddress &peer);
    void releasePending(const QHostAddress &peer);
    int pendingCount() const;

    /// Counts one more away session from `peer`; returns how many there are now.
    int addAway(const QHostAddress &peer);
    void removeAway(const QHostAddress &peer);

private:
    struct Counts {
        int webSockets = 0;
        int pending = 0;
        int away = 0;
        bool empty() const { return webSockets == 0 && pending == 0 && away == 0; }
    };
    /// Applies `change` to the counts of `key` and drops the entry once it is empty.
    template <typename Change>
    void update(const QHostAddress &key, Change change);

    mutable QMutex m_mutex;
    const int m_maxTotal;
    const int m_maxPerAddress;
    const int m_maxOpen;
    int m_total = 0;
    int m_pendingTotal = 0;
    QHash<QHostAddress, Counts> m_byAddress;
};

} // namespace anonchat::server
