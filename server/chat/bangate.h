#pragma once

// A node's view of the bans: the address hash of a connection and whether a ban holds it.

#include "server/moderation/addresshasher.h"
#include "server/moderation/banlist.h"
#include "shared/messages.h"

#include <QHostAddress>
#include <memory>
#include <optional>

namespace anonchat::server {

class ClientSocket;

/// Hashes a connection's address (AddressHasher) and says whether a ban (BanList) holds it, with
/// the `banned` error to send it. Without a hasher (a node made without moderation) nothing is
/// banned and hashes are empty.
class BanGate
{
public:
    BanGate(std::shared_ptr<const AddressHasher> hasher, std::shared_ptr<BanList> bans);

    QString hashOf(const QHostAddress &peer) const;
    /// The `banned` error for a connection from `addressHash` when a ban holds it now.
    std::optional<protocol::Error> refusal(const QString &addressHash) const;
    /// When a ban holds `addressHash`: sends `ws` the `banned` error and closes it with 1008.
    bool refuse(ClientSocket *ws, const QString &addressHash) const;

private:
    std::shared_ptr<const AddressHasher> m_hasher;
    std::shared_ptr<BanList> m_bans;
};

} // namespace anonchat::server
