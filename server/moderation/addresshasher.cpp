#include "server/moderation/addresshasher.h"

#include "server/net/addresskey.h"

#include <QMessageAuthenticationCode>

namespace anonchat::server {

AddressHasher::AddressHasher(QByteArray secret)
    : m_secret(std::move(secret))
{}

QString AddressHasher::hash(const QHostAddress &peer) const
{
    const QHostAddress key = addressKey(peer);
    QByteArray prefix;
    if (key.protocol() == QAbstractSocket::IPv4Protocol) {
        const quint32 v4 = key.toIPv4Address();
        prefix = QByteArray(4, Qt::Uninitialized);
        for (int i = 0; i < 4; ++i)
            prefix[i] = char((v4 >> (24 - 8 * i)) & 0xff);
    } else {
        const Q_IPV6ADDR v6 = key.toIPv6Address();
        prefix = QByteArray(reinterpret_cast<const char *>(v6.c), 8); // the /64
    }
    return QString::fromLatin1(
        QMessageAuthenticationCode::hash(prefix, m_secret, QCryptographicHash::Sha256).toHex());
}

} // namespace anonchat::server
