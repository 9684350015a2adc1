#include "server/chat/bangate.h"

#include "server/net/clientsocket.h"
#include "shared/codec.h"

#include <QCoreApplication>

namespace anonchat::server {

BanGate::BanGate(std::shared_ptr<const AddressHasher> hasher, std::shared_ptr<BanList> bans)
    : m_hasher(std::move(hasher))
    , m_bans(std::move(bans))
{}

QString BanGate::hashOf(const QHostAddress &peer) const
{
    return m_hasher ? m_hasher->hash(peer) : QString();
}

std::optional<protocol::Error> BanGate::refusal(const QString &addressHash) const
{
    if (!m_bans || addressHash.isEmpty())
        return std::nullopt;
    const std::optional<QDateTime> until =
        m_bans->bannedUntil(addressHash, QDateTime::currentDateTimeUtc());
    if (!until)
        return std::nullopt;
    protocol::Error e;
    e.code = protocol::ErrorCode::Banned;
    e.message = QCoreApplication::translate("BanGate", "your address is banned from this server");
    e.until = protocol::formatTimestamp(*until);
    return e;
}

bool BanGate::refuse(ClientSocket *ws, const QString &addressHash) const
{
    const std::optional<protocol::Error> banned = refusal(addressHash);
    if (!banned)
        return false;
    ws->sendText(protocol::encode(protocol::ServerMessage(*banned)));
    ws->close(WsClosePolicyViolated, banned->message);
    return true;
}

} // namespace anonchat::server
