#include "server/cluster/nodemessages.h"

#include "shared/codec.h"

#include <QJsonArray>

namespace anonchat::server {

using namespace protocol;

namespace {

const QString kType = QStringLiteral("t");
const QString kTo = QStringLiteral("to");
const QString kFrom = QStringLiteral("from");
const QString kRoom = QStringLiteral("room");
const QString kNode = QStringLiteral("node");
const QString kInterests = QStringLiteral("interests");
const QString kHash = QStringLiteral("h");
const QString kLanguage = QStringLiteral("language");

QStringList strings(const QJsonValue &array)
{
    QStringList out;
    for (const QJsonValue &v : array.toArray())
        out.append(v.toString());
    return out;
}

void writeAddress(QJsonObject &j, const node::RoomAddress &a)
{
    j.insert(kTo, a.to);
    j.insert(kFrom, a.from);
    j.insert(kRoom, a.room);
    if (a.node != 0)
        j.insert(kNode, a.node);
}

node::RoomAddress readAddress(const QJsonObject &j)
{
    return {j.value(kTo).toString(), j.value(kFrom).toString(), j.value(kRoom).toInteger(),
            j.value(kNode).toInt()};
}

// ---- to JSON: one overload per message ----

void write(QJsonObject &, const std::monostate &) {}
void write(QJsonObject &j, const node::Propose &m)
{
    j.insert(kTo, m.to);
    j.insert(kFrom, m.from);
    j.insert(kNode, m.node);
    j.insert(kInterests, QJsonArray::fromStringList(m.interests));
    j.insert(kHash, m.addressHash);
    j.insert(kLanguage, m.language);
}
void write(QJsonObject &j, const node::Accept &m)
{
    j.insert(kTo, m.to);
    j.insert(kFrom, m.from);
    j.insert(kRoom, m.room);
    j.insert(kNode, m.node);
    j.insert(kInterests, QJsonArray::fromStringList(m.interests));
    j.insert(kHash, m.addressHash);
    j.insert(kLanguage, m.language);
}
void write(QJsonObject &j, const node::Declined &m)
{
    j.insert(kTo, m.to);
    j.insert(kNode, m.node);
}
void write(QJsonObject &j, const node::Requeue &m)
{
    j.insert(kTo, m.to);
}
void write(QJsonObject &j, const node::Moved &m)
{
    j.insert(kTo, m.to);
    j.insert(kNode, m.node);
}
void write(QJsonObject &j, const node::ResumeAsk &m)
{
    writeAddress(j, {m.to, m.from, m.room, m.node});
    j.insert(kHash, m.addressHash);
}
void write(QJsonObject &j, const node::ResumeAnswer &m)
{
    j.insert(kTo, m.to);
    j.insert(kRoom, m.room);
    j.insert(QStringLiteral("ok"), m.ok);
    if (!m.ok)
        return;
    j.insert(kFrom, m.from);
    j.insert(kInterests, QJsonArray::fromStringList(m.interests));
    j.insert(kHash, m.addressHash);
    j.insert(kLanguage, m.language);
    QJsonArray messages;
    for (const NewMessage &message : m.messages)
        messages.append(QString::fromUtf8(encode(ServerMessage(message))));
    j.insert(QStringLiteral("messages"), messages);
}
void write(QJsonObject &j, const node::RelayMessage &m)
{
    writeAddress(j, m.at);
    j.insert(QStringLiteral("mid"), m.message.id);
    // The sender's frame: it carries the nonce the receiving node keeps for a resume there.
    const QByteArray frame =
        m.senderFrame.isEmpty() ? encode(ServerMessage(m.message)) : m.senderFrame;
    j.insert(QStringLiteral("frame"), QString::fromUtf8(frame));
}
void write(QJsonObject &j, const node::RelayTyping &m)
{
    writeAddress(j, m.at);
    j.insert(QStringLiteral("typing"), m.typing);
}
void write(QJsonObject &j, const node::RelayAway &m)
{
    writeAddress(j, m.at);
    if (m.orphaned)
        j.insert(QStringLiteral("orphaned"), true);
}
void write(QJsonObject &j, const node::RelayBack &m)
{
    writeAddress(j, m.at);
}
void write(QJsonObject &j, const node::LeaveAsk &m)
{
    writeAddress(j, m.at);
}
void write(QJsonObject &j, const node::LeaveSeen &m)
{
    writeAddress(j, m.at);
}
void write(QJsonObject &j, const node::RelayLeft &m)
{
    writeAddress(j, m.at);
    j.insert(QStringLiteral("reason"), leaveReasonName(m.reason));
    if (m.store)
        j.insert(QStringLiteral("store"), true);
}

// ---- from JSON ----

std::optional<NewMessage> decodeNewMessage(const QString &frame)
{
    const ServerDecodeResult decoded = decodeServerFrame(frame);
    const auto *message = std::get_if<ServerMessage>(&decoded);
    const auto *newMessage = message ? std::get_if<NewMessage>(message) : nullptr;
    return newMessage ? std::optional<NewMessage>(*newMessage) : std::nullopt;
}

// One overload per message, picked by a null pointer of its type.
using Read = std::optional<NodeMessage>;

Read read(const QJsonObject &j, node::Propose *)
{
    return node::Propose{j.value(kTo).toString(),       j.value(kFrom).toString(),
                         j.value(kNode).toInt(),        strings(j.value(kInterests)),
                         j.value(kLanguage).toString(), j.value(kHash).toString()};
}
Read read(const QJsonObject &j, node::Accept *)
{
    return node::Accept{j.value(kTo).toString(),      j.value(kFrom).toString(),
                        j.value(kRoom).toInteger(),   j.value(kNode).toInt(),
                        strings(j.value(kInterests)), j.value(kLanguage).toString(),
                        j.value(kHash).toString()};
}
Read read(const QJsonObject &j, node::Declined *)
{
    return node::Declined{j.value(kTo).toString(), j.value(kNode).toInt()};
}
Read read(const QJsonObject &j, node::Requeue *)
{
    return node::Requeue{j.value(kTo).toString()};
}
Read read(const QJsonObject &j, node::Moved *)
{
    return node::Moved{j.value(kTo).toString(), j.value(kNode).toInt()};
}
Read read(const QJsonObject &j, node::ResumeAsk *)
{
    const node::RoomAddress a = readAddress(j);
    return node::ResumeAsk{a.to, a.from, a.room, a.node, j.value(kHash).toString()};
}
Read read(const QJsonObject &j, node::ResumeAnswer *)
{
    node::ResumeAnswer m{j.value(kTo).toString(),
                         j.value(kRoom).toInteger(),
                         j.value(QLatin1String("ok")).toBool(),
                         j.value(kFrom).toString(),
                         strings(j.value(kInterests)),
                         j.value(kLanguage).toString(),
                         {},
                         j.value(kHash).toString()};
    for (const QJsonValue &v : j.value(QLatin1String("messages")).toArray()) {
        if (std::optional<NewMessage> message = decodeNewMessage(v.toString()))
            m.messages.append(*message);
    }
    return m;
}
Read read(const QJsonObject &j, node::RelayMessage *)
{
    std::optional<NewMessage> message =
        decodeNewMessage(j.value(QLatin1String("frame")).toString());
    if (!message || message->id != j.value(QLatin1String("mid")).toInteger(-1))
        return std::nullopt;
    return node::RelayMessage{readAddress(j), *message, {}, {}};
}
Read read(const QJsonObject &j, node::RelayTyping *)
{
    return node::RelayTyping{readAddress(j), j.value(QLatin1String("typing")).toBool()};
}
Read read(const QJsonObject &j, node::RelayAway *)
{
    return node::RelayAway{readAddress(j), j.value(QLatin1String("orphaned")).toBool()};
}
Read read(const QJsonObject &j, node::RelayBack *)
{
    return node::RelayBack{readAddress(j)};
}
Read read(const QJsonObject &j, node::LeaveAsk *)
{
    return node::LeaveAsk{readAddress(j)};
}
Read read(const QJsonObject &j, node::LeaveSeen *)
{
    return node::LeaveSeen{readAddress(j)};
}
Read read(const QJsonObject &j, node::RelayLeft *)
{
    const auto reason = leaveReasonFromName(j.value(QLatin1String("reason")).toString());
    return node::RelayLeft{readAddress(j), reason.value_or(LeaveReason::Left),
                           j.value(QLatin1String("store")).toBool()};
}

} // namespace

QString nodeMessageName(const NodeMessage &message)
{
    static const QString names[] = {QString(),
#define ANONCHAT_NODE_NAME(type, name) QStringLiteral(name),
                                    ANONCHAT_NODE_MESSAGES(ANONCHAT_NODE_NAME)
#undef ANONCHAT_NODE_NAME
    };
    return names[message.index()];
}

QJsonObject toJson(const NodeMessage &message)
{
    QJsonObject j{{kType, nodeMessageName(message)}};
    std::visit([&j](const auto &m) { write(j, m); }, message);
    return j;
}

std::optional<NodeMessage> nodeMessageFromJson(const QJsonObject &j)
{
    const QString type = j.value(kType).toString();
#define ANONCHAT_NODE_READ(type_, name)                                                            \
    if (type == QLatin1String(name))                                                               \
        return read(j, static_cast<node::type_ *>(nullptr));
    ANONCHAT_NODE_MESSAGES(ANONCHAT_NODE_READ)
#undef ANONCHAT_NODE_READ
    return std::nullopt;
}

} // namespace anonchat::server
