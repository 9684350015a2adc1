#pragma once

// Moderation: the live bans every node checks a new WebSocket against.

#include <QDateTime>
#include <QHash>
#include <QReadWriteLock>
#include <QString>
#include <QVector>
#include <optional>

namespace anonchat::server {

/// One ban: the keyed hash of an address (AddressHasher) and when it ends.
struct Ban {
    qint64 id = 0;
    QString addressHash;
    QDateTime until;
    QString note;
    QDateTime createdAt;
    qint64 reportId = 0; ///< 0: none
};

/**
 * The bans in force, by address hash, as the database last said (ModerationService keeps it up
 * to date). Read by every node's thread when a WebSocket opens; written by the moderation
 * service. Thread-safe.
 */
class BanList
{
public:
    /// Until when `addressHash` is banned at `now`, or nothing.
    std::optional<QDateTime> bannedUntil(const QString &addressHash, const QDateTime &now) const;
    /// Puts `bans` in place of what was there.
    void replace(const QVector<Ban> &bans);
    void add(const Ban &ban);
    void lift(qint64 id);
    int size() const;

private:
    mutable QReadWriteLock m_lock;
    QHash<qint64, Ban> m_byId;
    QHash<QString, QDateTime> m_untilByHash; ///< the latest end among a hash's bans
    void rebuildIndex();
};

} // namespace anonchat::server
