#include "server/net/addresskey.h"

namespace anonchat::server {

QHostAddress addressKey(const QHostAddress &peer)
{
    bool isV4 = false;
    const quint32 v4 = peer.toIPv4Address(&isV4);
    if (isV4)
        return QHostAddress(v4);
    if (peer.protocol() != QAbstractSocket::IPv6Protocol)
        return peer;
    Q_IPV6ADDR bytes = peer.toIPv6Address();
    for (int i = 8; i < 16; ++i)
        bytes[i] = 0;
    return QHostAddress(bytes); // without the scope id: fe80::1%eth0 and %eth1 are one /64 here
}

bool RefusalLog::shouldLog(const QHostAddress &peer, qint64 nowMs, int *suppressed)
{
    const QHostAddress key = addressKey(peer);
    auto it = m_entries.find(key);
    if (it != m_entries.end()) {
        if (nowMs - it->loggedAtMs < m_intervalMs) {
            ++it->suppressed;
            return false;
        }
        if (suppressed)
            *suppressed = it->suppressed;
        *it = Entry{nowMs, 0};
        return true;
    }
    if (m_entries.size() >= m_maxAddresses) {
        for (auto old = m_entries.begin(); old != m_entries.end();) {
            if (nowMs - old->loggedAtMs >= m_intervalMs)
                old = m_entries.erase(old);
            else
                ++old;
        }
        if (m_entries.size() >= m_maxAddresses)
            return false; // a flood from many addresses: their refusals go unlogged for now
    }
    if (suppressed)
        *suppressed = 0;
    m_entries.insert(key, Entry{nowMs, 0});
    return true;
}

} // namespace anonchat::server
