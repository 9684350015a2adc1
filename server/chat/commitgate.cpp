#include "server/chat/commitgate.h"

namespace anonchat::server {

std::vector<CommitGate::Pending> CommitGate::take(const QVector<quint64> &tickets)
{
    std::vector<Pending> out;
    for (quint64 ticket : tickets) {
        const auto it = m_pending.find(ticket);
        if (it == m_pending.end())
            continue;
        out.push_back(std::move(it.value()));
        m_pending.erase(it);
    }
    return out;
}

} // namespace anonchat::server
