#pragma once

// One user of a node: identity, place in the queue or a room, socket while connected.

#include "server/match/matchmaker.h"
#include "server/net/ratelimiter.h"
#include "shared/messages.h"

#include <QHash>
#include <QHostAddress>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <optional>

namespace anonchat::server {

class ClientSocket;

/// A leave (leave_room_event or next) held until the partner's node has sent on every message it
/// relayed before (ClusterCoordinator::askLeave()), and the queue join that follows it, if any.
struct PendingLeave {
    qint64 roomId = 0;
    protocol::LeaveReason reason = protocol::LeaveReason::Left;
    QString storedReason;
    bool thenJoin = false; ///< next, or a join_queue sent meanwhile
    QStringList interests;
    QString lang;
};

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
    QString lang;               ///< the primary subtag of join_queue's `lang`; empty: none
    bool sawFirstEvent = false; ///< `resume` is only allowed as the first event
    bool everMatched = false;   ///< has something to resume (a room, reports, a previous partner)
    bool typing = false;        ///< what the partner was last told
    QByteArray powChallenge;    ///< `welcome.pow` of its connection (`--pow-bits`)
    bool powAdmitted = false;   ///< a `pow_nonce` solved it: for the identity's life
    qint64 lastSentMessageId = 0;
    qint64 awaySinceMs = -1;
    /// addressKey() of the last connection, for the per-address cap on away sessions.
    QHostAddress address;
    /// AddressHasher's key of that address, for reports and bans (never stored with the address).
    QString addressHash;
    quint64 awaySerial = 0; ///< counted in ConnectionBudget::addAway() (0: not), in that order
    qint64 lastHeardMs = 0;
    bool pingOutstanding = false;
    RateLimiter limiter;
    // In a cluster (--redis):
    qint64 proposedAtMs = -1; ///< paired with a user elsewhere, waiting for its server's answer
    int proposedNode = 0;     ///< that server
    bool resuming = false;    ///< a `resume` naming another server's user is under way
    std::optional<PendingLeave> pendingLeave; ///< set: in its room until the partner's node answers

    bool connected() const { return !socket.isNull(); }
};

} // namespace anonchat::server
