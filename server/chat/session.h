#pragma once

#include "server/chat/matchmaker.h"
#include "server/net/ratelimiter.h"
#include "shared/messages.h"

#include <QHash>
#include <QHostAddress>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <deque>
#include <optional>

namespace anonchat::server {

class ClientSocket;

/// One user: its identity, its state in the queue or a room, and its socket while connected.
/// A dropped user keeps its Session (socket null, `awaySinceMs` set) for the resume window.
struct Session {
    enum class State { Idle, Queued, InRoom };

    UserKey key = 0;
    QString userId;
    QString resumeToken;
    QPointer<ClientSocket> socket; ///< null while away
    State state = State::Idle;
    qint64 roomId = 0;
    QStringList interests;
    bool sawFirstEvent = false; ///< `resume` is only allowed as the first event
    bool everMatched = false;   ///< has something to resume (a room, reports, a previous partner)
    bool typing = false;        ///< what the partner was last told
    qint64 lastSentMessageId = 0;
    qint64 awaySinceMs = -1;
    /// addressKey() of the last connection, for the per-address cap on away sessions.
    QHostAddress address;
    quint64 awaySerial = 0; ///< counted in ConnectionBudget::addAway() (0: not), in that order
    qint64 lastHeardMs = 0;
    bool pingOutstanding = false;
    RateLimiter limiter;
    // In a cluster (--redis):
    qint64 proposedAtMs = -1; ///< paired with a user elsewhere, waiting for its server's answer
    int proposedNode = 0;     ///< that server
    bool resuming = false;    ///< a `resume` naming another server's user is under way

    bool connected() const { return !socket.isNull(); }
};

/// A room owns nothing but ids: its two members, and what resume and nonce dedupe need.
struct Room {
    qint64 id = 0;
    UserKey members[2] = {0, 0};
    /// Ended by one member; the other stays in it, and is told, once the end is stored, so that
    /// every message accepted before the end reaches it first.
    bool ending = false;
    protocol::LeaveReason endReason = protocol::LeaveReason::Left;
    QStringList commonInterests;
    /// Stored messages by (sender, nonce), so a resent message is not stored twice.
    QHash<QString, protocol::NewMessage> byNonce;
    /// Nonces submitted but not yet committed.
    QHash<QString, quint64> pendingNonces;
    /// The latest stored messages, for resume (bounded).
    std::deque<protocol::NewMessage> recent;

    // In a cluster (--redis), the member whose session is on another server:
    UserKey remoteMember = 0; ///< 0: both members are here
    QString remoteUserId;
    int remoteNode = 0;
    qint64 remoteAwaySinceMs =
        -1;                  ///< its server is gone: it may resume elsewhere until the window ends
    bool owned = true;       ///< counted in this server's stats (the server that stored its row)
    int pendingMessages = 0; ///< submitted here, not yet committed
    /// The member elsewhere left while messages sent here were being stored: its `partner_left`
    /// waits for them (they reach the sender first, as on one server).
    std::optional<protocol::LeaveReason> remoteLeft;

    UserKey partnerOf(UserKey user) const { return members[0] == user ? members[1] : members[0]; }
    bool has(UserKey user) const { return members[0] == user || members[1] == user; }
};

/// The messages after `lastId`: those following it in the room's order (ids from several
/// servers need not rise with that order), or, when it is not there, those with a higher id.
QVector<protocol::NewMessage> messagesAfter(const std::deque<protocol::NewMessage> &recent,
                                            qint64 lastId);

} // namespace anonchat::server
