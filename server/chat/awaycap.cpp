#include "server/chat/awaycap.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcServer)

namespace anonchat::server {

AwayCap::AwayCap(std::shared_ptr<ConnectionBudget> budget, int maxPerAddress, qint64 logIntervalMs)
    : m_budget(std::move(budget))
    , m_maxPerAddress(maxPerAddress)
    , m_log(logIntervalMs)
{}

QHostAddress AwayCap::keyOf(const Session &s) const
{
    return m_maxPerAddress > 0 ? s.address : QHostAddress();
}

bool AwayCap::add(Session &s)
{
    const QHostAddress key = keyOf(s);
    const int cap = m_maxPerAddress > 0 ? m_maxPerAddress : m_budget->maxTotal();
    s.awaySerial = ++m_lastSerial;
    m_byAddress[key].emplace(s.awaySerial, s.key);
    return m_budget->addAway(key) > cap;
}

void AwayCap::uncount(Session &s)
{
    if (s.awaySerial == 0)
        return;
    const QHostAddress key = keyOf(s);
    m_budget->removeAway(key);
    const auto it = m_byAddress.find(key);
    if (it != m_byAddress.end()) {
        it->erase(s.awaySerial);
        if (it->empty())
            m_byAddress.erase(it);
    }
    s.awaySerial = 0;
}

void AwayCap::logDrop(const QHostAddress &key, qint64 nowMs)
{
    int suppressed = 0;
    if (!m_log.shouldLog(key, nowMs, &suppressed))
        return;
    const bool perAddress = m_maxPerAddress > 0;
    qCInfo(lcServer).nospace() << "more than "
                               << (perAddress ? m_maxPerAddress : m_budget->maxTotal())
                               << " users away"
                               << (perAddress ? " from one address (--max-connections-per-address)"
                                              : " (--max-connections)")
                               << ": dropped the longest away; " << suppressed
                               << " more dropped unlogged since";
}

} // namespace anonchat::server
