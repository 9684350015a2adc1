#include "server/chat/room.h"

#include <algorithm>

namespace anonchat::server {

using namespace protocol;

QString nonceKey(const QString &senderId, const QString &nonce)
{
    return senderId + QLatin1Char('\n') + nonce;
}

void Room::remember(const NewMessage &message)
{
    recent.push_back(message);
    if (!message.nonce.isEmpty())
        byNonce.insert(nonceKey(message.senderId, message.nonce), message);
}

bool Room::remembers(qint64 messageId) const
{
    return std::any_of(recent.crbegin(), recent.crend(),
                       [messageId](const NewMessage &m) { return m.id == messageId; });
}

void Room::trim(qint64 sentToAll)
{
    while (recent.size() > kRecentTail && recent.front().id <= sentToAll) {
        const NewMessage &old = recent.front();
        if (!old.nonce.isEmpty())
            byNonce.remove(nonceKey(old.senderId, old.nonce));
        recent.pop_front();
    }
}

QVector<NewMessage> messagesAfter(const std::deque<NewMessage> &recent, qint64 lastId)
{
    auto from = std::find_if(recent.cbegin(), recent.cend(),
                             [lastId](const NewMessage &m) { return m.id == lastId; });
    QVector<NewMessage> out;
    if (from != recent.cend()) {
        for (auto it = std::next(from); it != recent.cend(); ++it)
            out.append(*it);
        return out;
    }
    for (const NewMessage &m : recent) {
        if (m.id > lastId)
            out.append(m);
    }
    return out;
}

} // namespace anonchat::server
