#include "server/moderation/banlist.h"

namespace anonchat::server {

std::optional<QDateTime> BanList::bannedUntil(const QString &addressHash,
                                              const QDateTime &now) const
{
    QReadLocker locker(&m_lock);
    const auto it = m_untilByHash.constFind(addressHash);
    if (it == m_untilByHash.cend() || *it <= now)
        return std::nullopt;
    return *it;
}

void BanList::replace(const QVector<Ban> &bans)
{
    QWriteLocker locker(&m_lock);
    m_byId.clear();
    for (const Ban &ban : bans)
        m_byId.insert(ban.id, ban);
    rebuildIndex();
}

void BanList::add(const Ban &ban)
{
    QWriteLocker locker(&m_lock);
    m_byId.insert(ban.id, ban);
    QDateTime &until = m_untilByHash[ban.addressHash];
    if (!until.isValid() || until < ban.until)
        until = ban.until;
}

void BanList::lift(qint64 id)
{
    QWriteLocker locker(&m_lock);
    if (m_byId.remove(id))
        rebuildIndex();
}

int BanList::size() const
{
    QReadLocker locker(&m_lock);
    return int(m_byId.size());
}

void BanList::rebuildIndex()
{
    m_untilByHash.clear();
    for (const Ban &ban : std::as_const(m_byId)) {
        QDateTime &until = m_untilByHash[ban.addressHash];
        if (!until.isValid() || until < ban.until)
            until = ban.until;
    }
}

} // namespace anonchat::server
