#pragma once

// Moderation: who may connect, what reports and bans keep (never an address).

#include <QByteArray>
#include <QHostAddress>
#include <QString>

namespace anonchat::server {

/**
 * The keyed hash that stands for an address in reports and bans (PROTOCOL.md, "Moderation"):
 * HMAC-SHA-256, keyed with the database's secret, of the address's prefix as addressKey() makes
 * it (an IPv4 address, or an IPv6 /64), as lower-case hex. The address itself is never stored;
 * without the secret the hash cannot be turned back into it by trying every address. Immutable
 * once made, so any thread may use it.
 */
class AddressHasher
{
public:
    explicit AddressHasher(QByteArray secret);

    QString hash(const QHostAddress &peer) const;

private:
    QByteArray m_secret;
};

} // namespace anonchat::server
