#pragma once

// What nodes tell each other (--threads, --redis): one typed table, like shared/events.h.

#include "shared/messages.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <QVector>
#include <optional>
#include <variant>

namespace anonchat::server {

// Each entry is (C++ type, wire name). The JSON form, `{"t": name, ...}`, is what RedisLink
// publishes (servers of several versions may share a cluster: fields are only ever added);
// LocalLink hands the structs over as they are.
#define ANONCHAT_NODE_MESSAGES(X)                                                                  \
    X(Propose, "propose")                                                                          \
    X(Accept, "accept")                                                                            \
    X(Declined, "declined")                                                                        \
    X(Requeue, "requeue")                                                                          \
    X(Moved, "moved")                                                                              \
    X(ResumeAsk, "resume")                                                                         \
    X(ResumeAnswer, "resumed")                                                                     \
    X(RelayMessage, "msg")                                                                         \
    X(RelayTyping, "typing")                                                                       \
    X(RelayAway, "away")                                                                           \
    X(RelayBack, "back")                                                                           \
    X(RelayLeft, "left")                                                                           \
    X(LeaveAsk, "leaving")                                                                         \
    X(LeaveSeen, "leave_seen")

namespace node {

/// The shared queue paired `from` (on `node`) with `to`, here: take the room, or decline.
struct Propose {
    QString to;
    QString from;
    int node = 0;
    QStringList interests;
    QString language;    ///< the common language, empty: none
    QString addressHash; ///< `from`'s (Session::addressHash), for a report on `to`'s node
};
/// The proposal taken: room `room` is stored on `node`, `from` is in it.
struct Accept {
    QString to;
    QString from;
    qint64 room = 0;
    int node = 0;
    QStringList interests;
    QString language;
    QString addressHash; ///< `from`'s
};
/// The proposal refused (`to`'s partner was gone): `to` queues again.
struct Declined {
    QString to;
    int node = 0;
};
/// Taken out of the queue by a pairing that could not go on: back in, quietly.
struct Requeue {
    QString to;
};
/// `to` resumed on `node`: this node lets go of it.
struct Moved {
    QString to;
    int node = 0;
};
/// `from` resumed on `node` and asks `to`'s node for their room.
struct ResumeAsk {
    QString to;
    QString from;
    qint64 room = 0;
    int node = 0;
    QString addressHash; ///< `from`'s, as it connects now
};
/// The room for a resume: its partner `from`, interests and language, and every message kept
/// (with nonces).
struct ResumeAnswer {
    QString to;
    qint64 room = 0;
    bool ok = false;
    QString from;
    QStringList interests;
    QString language;
    QVector<protocol::NewMessage> messages;
    QString addressHash; ///< `from`'s
};

/// Where a room event goes: `to`, the member here, of `room`, from `from` on `node`.
struct RoomAddress {
    QString to;
    QString from;
    qint64 room = 0;
    int node = 0; ///< 0: not said
};
/// A stored message for the member here. Within one process it comes decoded, with both of its
/// frames made; from another process it is decoded from the sender's frame.
struct RelayMessage {
    RoomAddress at;
    protocol::NewMessage message; ///< with the sender's nonce, for a resume here
    QByteArray partnerFrame;      ///< empty: make it
    QByteArray senderFrame;
};
struct RelayTyping {
    RoomAddress at;
    bool typing = false;
};
struct RelayAway {
    RoomAddress at;
    bool orphaned = false; ///< its server stopped: the resume window runs on this one
};
struct RelayBack {
    RoomAddress at;
};
struct RelayLeft {
    RoomAddress at;
    protocol::LeaveReason reason = protocol::LeaveReason::Left;
    bool store = false; ///< the partner never entered it: this node stores the end
};
/// The member on the asking node is leaving: answer LeaveSeen. Messages between two nodes arrive
/// in the order they were sent, so the answer comes after every relay sent before it.
struct LeaveAsk {
    RoomAddress at;
};
struct LeaveSeen {
    RoomAddress at;
};

} // namespace node

/// One of the table's messages (std::monostate: none).
#define ANONCHAT_NODE_TYPE(type, name) , node::type
using NodeMessage = std::variant<std::monostate ANONCHAT_NODE_MESSAGES(ANONCHAT_NODE_TYPE)>;
#undef ANONCHAT_NODE_TYPE

/// The wire name (`t`) of a message.
QString nodeMessageName(const NodeMessage &message);
QJsonObject toJson(const NodeMessage &message);
/// Nothing for an unknown `t` or a `msg` whose frame does not decode.
std::optional<NodeMessage> nodeMessageFromJson(const QJsonObject &json);

} // namespace anonchat::server
