#include "server/net/connectionbudget.h"

namespace anonchat::server {

template <typename Change>
void ConnectionBudget::update(const QHostAddress &key, Change change)
{
    const auto it = m_byAddress.find(key);
    if (it == m_byAddress.end())
        return;
    change(*it);
    if (it->empty())
        m_byAddress.erase(it);
}

bool ConnectionBudget::admit(const QHostAddress &peer)
{
    const QHostAddress key = addressKey(peer);
    QMutexLocker lock(&m_mutex);
    if (m_total >= m_maxTotal)
        return false;
    const auto it = m_byAddress.constFind(key);
    if (m_maxPerAddress > 0 && it != m_byAddress.cend() && it->webSockets >= m_maxPerAddress)
        return false;
    ++m_byAddress[key].webSockets;
    ++m_total;
    return true;
}

void ConnectionBudget::release(const QHostAddress &peer)
{
    const QHostAddress key = addressKey(peer);
    QMutexLocker lock(&m_mutex);
    update(key, [this](Counts &c) {
        if (c.webSockets > 0) {
            --c.webSockets;
            --m_total;
        }
    });
}

ConnectionBudget::Verdict ConnectionBudget::admitPending(const QHostAddress &peer)
{
    const QHostAddress key = addressKey(peer);
    QMutexLocker lock(&m_mutex);
    const auto it = m_byAddress.constFind(key);
    if (m_maxPerAddress > 0 && it != m_byAddress.cend() && it->pending >= m_maxPerAddress)
        return Verdict::AddressFull;
    if (qint64(m_pendingTotal) + m_total >= m_maxOpen)
        return Verdict::ProcessFull;
    ++m_byAddress[key].pending;
    ++m_pendingTotal;
    return Verdict::Admitted;
}

void ConnectionBudget::releasePending(const QHostAddress &peer)
{
    const QHostAddress key = addressKey(peer);
    QMutexLocker lock(&m_mutex);
    update(key, [this](Counts &c) {
        if (c.pending > 0) {
            --c.pending;
            --m_pendingTotal;
        }
    });
}

int ConnectionBudget::pendingCount() const
{
    QMutexLocker lock(&m_mutex);
    return m_pendingTotal;
}

int ConnectionBudget::addAway(const QHostAddress &peer)
{
    const QHostAddress key = addressKey(peer);
    QMutexLocker lock(&m_mutex);
    return ++m_byAddress[key].away;
}

void ConnectionBudget::removeAway(const QHostAddress &peer)
{
    const QHostAddress key = addressKey(peer);
    QMutexLocker lock(&m_mutex);
    update(key, [](Counts &c) {
        if (c.away > 0)
            --c.away;
    });
}

} // namespace anonchat::server
