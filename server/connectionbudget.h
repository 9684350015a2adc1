#pragma once

#include <QHash>
#include <QHostAddress>
#include <QMutex>

namespace anonchat::server {

/// The process's WebSockets, in all and per peer address, against `--max-connections` and
/// `--max-connections-per-address`; shared by the nodes of `--threads`.
class ConnectionBudget
{
public:
    ConnectionBudget(int maxTotal, int maxPerAddress)
        : m_maxTotal(maxTotal)
        , m_maxPerAddress(maxPerAddress)
    {}

    /// Takes a place for a connection from `peer` (::ffff:a.b.c.d counts as a.b.c.d). False,
    /// taking nothing, when the process or that address is full.
    bool admit(QHostAddress peer)
    {
        peer = normalised(peer);
        QMutexLocker lock(&m_mutex);
        if (m_total >= m_maxTotal)
            return false;
        int &fromPeer = m_byAddress[peer];
        if (m_maxPerAddress > 0 && fromPeer >= m_maxPerAddress) {
            if (fromPeer == 0)
                m_byAddress.remove(peer);
            return false;
        }
        ++fromPeer;
        ++m_total;
        return true;
    }

    /// Gives back the place of an admitted connection.
    void release(QHostAddress peer)
    {
        peer = normalised(peer);
        QMutexLocker lock(&m_mutex);
        const auto it = m_byAddress.find(peer);
        if (it == m_byAddress.end())
            return;
        --m_total;
        if (--it.value() <= 0)
            m_byAddress.erase(it);
    }

private:
    static QHostAddress normalised(const QHostAddress &peer)
    {
        bool isV4 = false;
        const quint32 v4 = peer.toIPv4Address(&isV4);
        return isV4 ? QHostAddress(v4) : peer;
    }

    QMutex m_mutex;
    const int m_maxTotal;
    const int m_maxPerAddress;
    int m_total = 0;
    QHash<QHostAddress, int> m_byAddress;
};

} // namespace anonchat::server
