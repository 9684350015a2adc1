#pragma once

#include <QString>
#include <optional>

namespace anonchat::protocol {

// The one list of events and error codes of PROTOCOL.md. Append only: these tables drive
// decoding, encoding, dispatch and the name tables below, on the server and on every client.
// Each entry is (C++ type, wire name).

#define ANONCHAT_CLIENT_EVENTS(X)                                                                  \
    X(JoinQueue, "join_queue")                                                                     \
    X(LeaveQueue, "leave_queue")                                                                   \
    X(SendMessage, "send_message")                                                                 \
    X(Typing, "typing")                                                                            \
    X(LeaveRoom, "leave_room_event")                                                               \
    X(Next, "next")                                                                                \
    X(Report, "report")                                                                            \
    X(Resume, "resume")                                                                            \
    X(GetStats, "get_stats")

#define ANONCHAT_SERVER_EVENTS(X)                                                                  \
    X(Welcome, "welcome")                                                                          \
    X(Waiting, "waiting")                                                                          \
    X(QueueLeft, "queue_left")                                                                     \
    X(Matched, "matched")                                                                          \
    X(NewMessage, "new_message")                                                                   \
    X(PartnerTyping, "partner_typing")                                                             \
    X(PartnerAway, "partner_away")                                                                 \
    X(PartnerBack, "partner_back")                                                                 \
    X(PartnerLeft, "partner_left")                                                                 \
    X(RoomLeft, "room_left")                                                                       \
    X(Resumed, "resumed")                                                                          \
    X(Reported, "reported")                                                                        \
    X(Stats, "stats")                                                                              \
    X(Error, "error")

#define ANONCHAT_ERROR_CODES(X)                                                                    \
    X(BadJson, "bad_json")                                                                         \
    X(BadFrame, "bad_frame")                                                                       \
    X(UnknownEvent, "unknown_event")                                                               \
    X(InvalidData, "invalid_data")                                                                 \
    X(MessageEmpty, "message_empty")                                                               \
    X(MessageTooLong, "message_too_long")                                                          \
    X(NotInRoom, "not_in_room")                                                                    \
    X(AlreadyInRoom, "already_in_room")                                                            \
    X(NotInQueue, "not_in_queue")                                                                  \
    X(RateLimited, "rate_limited")                                                                 \
    X(ResumeFailed, "resume_failed")                                                               \
    X(ServerBusy, "server_busy")                                                                   \
    X(Banned, "banned")                                                                            \
    X(PowRequired, "pow_required")                                                                 \
    X(PowInvalid, "pow_invalid")                                                                   \
    X(Internal, "internal")

#define ANONCHAT_ENUM_ENTRY(type, name) type,

/// Events a client sends.
enum class ClientEvent { ANONCHAT_CLIENT_EVENTS(ANONCHAT_ENUM_ENTRY) };
/// Events the server sends.
enum class ServerEvent { ANONCHAT_SERVER_EVENTS(ANONCHAT_ENUM_ENTRY) };
/// `error.code` values.
enum class ErrorCode { ANONCHAT_ERROR_CODES(ANONCHAT_ENUM_ENTRY) };

#undef ANONCHAT_ENUM_ENTRY

#define ANONCHAT_COUNT_ENTRY(type, name) +1
inline constexpr int kClientEventCount = 0 ANONCHAT_CLIENT_EVENTS(ANONCHAT_COUNT_ENTRY);
inline constexpr int kServerEventCount = 0 ANONCHAT_SERVER_EVENTS(ANONCHAT_COUNT_ENTRY);
inline constexpr int kErrorCodeCount = 0 ANONCHAT_ERROR_CODES(ANONCHAT_COUNT_ENTRY);
#undef ANONCHAT_COUNT_ENTRY

/// Wire names.
QString eventName(ClientEvent event);
QString eventName(ServerEvent event);
QString errorCodeName(ErrorCode code);

std::optional<ClientEvent> clientEventFromName(QStringView name);
std::optional<ServerEvent> serverEventFromName(QStringView name);
std::optional<ErrorCode> errorCodeFromName(QStringView name);

/// Why a partner left (`partner_left.reason`).
enum class LeaveReason { Left, Next, Disconnected };
QString leaveReasonName(LeaveReason reason);
std::optional<LeaveReason> leaveReasonFromName(QStringView name);

} // namespace anonchat::protocol
