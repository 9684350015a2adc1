// The reference server encoder: server frames through QJsonObject and QJsonDocument.
#pragma once

// encode() writes server frames directly (shared/encodeserver.cpp); this is how they were made
// before, with Qt's JSON writer, which sorts the keys and escapes the strings. tst_protocol
// compares the two byte for byte on many inputs.

#include "shared/codec.h"
#include "shared/jsonframe.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>

namespace anonchat::test {

namespace reference {

using namespace anonchat::protocol;

inline QJsonObject toJson(const NewMessage &m)
{
    QJsonObject o{{"id", m.id},
                  {"room_id", m.roomId},
                  {"sender_id", m.senderId},
                  {"content", m.content},
                  {"timestamp", formatTimestamp(m.timestamp)}};
    if (!m.nonce.isEmpty())
        o.insert(QLatin1String("nonce"), m.nonce);
    return o;
}
inline QJsonObject toJson(const Welcome &m)
{
    QJsonObject o{{"user_id", m.userId},
                  {"resume_token", m.resumeToken},
                  {"protocol", m.protocol},
                  {"online", m.online},
                  {"limits", QJsonObject{{"max_message_chars", m.limits.maxMessageChars},
                                         {"max_interests", m.limits.maxInterests},
                                         {"max_interest_chars", m.limits.maxInterestChars}}}};
    if (m.pow)
        o.insert(QLatin1String("pow"),
                 QJsonObject{{"challenge", QString::fromLatin1(m.pow->challenge.toHex())},
                             {"bits", m.pow->bits}});
    return o;
}
inline QJsonObject toJson(const Waiting &m)
{
    return {{"online", m.online}, {"queued", m.queued}};
}
inline QJsonObject toJson(const QueueLeft &)
{
    return {};
}
inline QJsonObject toJson(const Matched &m)
{
    return {{"room_id", m.roomId},
            {"partner_id", m.partnerId},
            {"common_interests", QJsonArray::fromStringList(m.commonInterests)},
            {"common_language",
             m.commonLanguage.isEmpty() ? QJsonValue() : QJsonValue(m.commonLanguage)}};
}
inline QJsonObject toJson(const PartnerTyping &m)
{
    return {{"typing", m.typing}};
}
template <typename T>
QJsonObject roomOnlyToJson(const T &m)
{
    return {{"room_id", m.roomId}};
}
inline QJsonObject toJson(const PartnerAway &m)
{
    return roomOnlyToJson(m);
}
inline QJsonObject toJson(const PartnerBack &m)
{
    return roomOnlyToJson(m);
}
inline QJsonObject toJson(const RoomLeft &m)
{
    return roomOnlyToJson(m);
}
inline QJsonObject toJson(const Reported &m)
{
    return roomOnlyToJson(m);
}
inline QJsonObject toJson(const PartnerLeft &m)
{
    return {{"room_id", m.roomId}, {"reason", leaveReasonName(m.reason)}};
}
inline QJsonObject toJson(const Resumed &m)
{
    QJsonObject o{{"user_id", m.userId}, {"resume_token", m.resumeToken}};
    if (m.room) {
        QJsonArray messages;
        for (const NewMessage &msg : m.room->messages)
            messages.append(toJson(msg));
        o.insert(QLatin1String("room"), QJsonObject{{"room_id", m.room->roomId},
                                                    {"partner_id", m.room->partnerId},
                                                    {"messages", messages}});
    } else {
        o.insert(QLatin1String("room"), QJsonValue::Null);
    }
    return o;
}
inline QJsonObject toJson(const Stats &m)
{
    return {{"online", m.online}, {"queued", m.queued}, {"active_rooms", m.activeRooms}};
}
inline QJsonObject toJson(const Error &m)
{
    QJsonObject o{{"code", errorCodeName(m.code)}, {"message", m.message}};
    if (!m.event.isEmpty())
        o.insert(QLatin1String("event"), m.event);
    if (m.retryAfterMs >= 0)
        o.insert(QLatin1String("retry_after_ms"), m.retryAfterMs);
    if (!m.until.isEmpty())
        o.insert(QLatin1String("until"), m.until);
    return o;
}

} // namespace reference

/// `message` encoded through QJsonObject/QJsonDocument: what encode() must give byte for byte.
inline QByteArray encodeWithQJson(const protocol::ServerMessage &message)
{
    return protocol::internal::jsonFrame(
        protocol::eventName(protocol::eventOf(message)),
        std::visit([](const auto &m) { return reference::toJson(m); }, message));
}

} // namespace anonchat::test
