#pragma once

#include "shared/events.h"
#include "shared/limits.h"

#include <QDateTime>
#include <QString>
#include <QStringList>
#include <QVector>
#include <optional>
#include <variant>

namespace anonchat::protocol {

// One struct per event of PROTOCOL.md, named as in events.h. Field names follow the wire
// names in camelCase. Empty optional strings (nonce, reason, event) mean "absent".

// ---- client -> server ------------------------------------------------------------------------

struct JoinQueue {
    QStringList interests; ///< normalised: trimmed, lower case, unique, non-empty
    QString lang;          ///< the tag's primary subtag, lower case (`zh`); empty: none
    QString powNonce;      ///< solves `welcome.pow` (`--pow-bits`); empty: absent
};
struct LeaveQueue {};
struct SendMessage {
    QString content; ///< trimmed
    QString nonce;
};
struct Typing {
    bool typing = false;
};
struct LeaveRoom {};
struct Next {
    QStringList interests;
    QString lang;
    QString powNonce;
};
struct Report {
    QString reason;
};
struct Resume {
    QString resumeToken;
    /// Extension (ignored by servers that do not know it): the highest message id the client
    /// has, so messages lost in a dying connection's buffers are sent again. -1 when absent.
    qint64 lastId = -1;
};
struct GetStats {};

// ---- server -> client ------------------------------------------------------------------------

struct Limits {
    int maxMessageChars = kMaxMessageChars;
    int maxInterests = kMaxInterests;
    int maxInterestChars = kMaxInterestChars;
};
/// `welcome.pow`: what `join_queue`'s `pow_nonce` must solve (PROTOCOL.md, "Admission").
struct PowChallenge {
    QByteArray challenge; ///< kPowChallengeBytes raw bytes (hex on the wire)
    int bits = 0;
};
struct Welcome {
    QString userId;
    QString resumeToken;
    int protocol = kProtocolVersion;
    int online = 0;
    Limits limits;
    std::optional<PowChallenge> pow; ///< only with `--pow-bits`
};
struct Waiting {
    int online = 0;
    int queued = 0;
};
struct QueueLeft {};
struct Matched {
    qint64 roomId = 0;
    QString partnerId;
    QStringList commonInterests;
    QString commonLanguage; ///< the `lang` both gave; empty (null on the wire) when not the same
};
struct NewMessage {
    qint64 id = 0;
    qint64 roomId = 0;
    QString senderId;
    QString content;
    QDateTime timestamp; ///< UTC, millisecond precision
    QString nonce;       ///< only in the sender's copy
};
struct PartnerTyping {
    bool typing = false;
};
struct PartnerAway {
    qint64 roomId = 0;
};
struct PartnerBack {
    qint64 roomId = 0;
};
struct PartnerLeft {
    qint64 roomId = 0;
    LeaveReason reason = LeaveReason::Left;
};
struct RoomLeft {
    qint64 roomId = 0;
};
struct ResumedRoom {
    qint64 roomId = 0;
    QString partnerId;
    QVector<NewMessage> messages;
};
struct Resumed {
    QString userId;
    QString resumeToken;
    std::optional<ResumedRoom> room;
};
struct Reported {
    qint64 roomId = 0;
};
struct Stats {
    int online = 0;
    int queued = 0;
    int activeRooms = 0;
};
struct Error {
    ErrorCode code = ErrorCode::Internal;
    QString message;
    QString event;            ///< the event that caused it, if known
    qint64 retryAfterMs = -1; ///< only for rate_limited
    QString until;            ///< only for banned: ISO 8601, UTC
};

namespace detail {
template <typename Ignored, typename... T>
struct VariantOf {
    using type = std::variant<T...>;
};
} // namespace detail

#define ANONCHAT_TYPE_ENTRY(type, name) , type
/// Variant index == enum value, so `static_cast<ClientEvent>(msg.index())` names the event.
using ClientMessage = detail::VariantOf<void ANONCHAT_CLIENT_EVENTS(ANONCHAT_TYPE_ENTRY)>::type;
using ServerMessage = detail::VariantOf<void ANONCHAT_SERVER_EVENTS(ANONCHAT_TYPE_ENTRY)>::type;
#undef ANONCHAT_TYPE_ENTRY

inline ClientEvent eventOf(const ClientMessage &m)
{
    return static_cast<ClientEvent>(m.index());
}
inline ServerEvent eventOf(const ServerMessage &m)
{
    return static_cast<ServerEvent>(m.index());
}

} // namespace anonchat::protocol
