#pragma once

// A room: its two members and the messages resume and nonce dedupe need; owns nothing but ids.

#include "server/match/matchmaker.h"
#include "shared/messages.h"

#include <QHash>
#include <QString>
#include <QStringList>
#include <QVector>
#include <deque>
#include <optional>

namespace anonchat::server {

/// The key of a message in Room::byNonce: its sender and the sender's nonce.
QString nonceKey(const QString &senderId, const QString &nonce);

struct Room {
    /// Messages every member has been sent are kept only as a short tail (for `resume` with
    /// `last_id`, and nonce dedupe); those an away member has not been sent are all kept, which
    /// the rate limit bounds over the resume window.
    static constexpr size_t kRecentTail = 100;

    qint64 id = 0;
    UserKey members[2] = {0, 0};
    /// Ended by one member; the other stays in it, and is told, once the end is stored, so that
    /// every message accepted before the end reaches it first.
    bool ending = false;
    protocol::LeaveReason endReason = protocol::LeaveReason::Left;
    QStringList commonInterests;
    QString commonLanguage; ///< empty: none
    /// Stored messages by nonceKey(), so a resent message is not stored twice.
    QHash<QString, protocol::NewMessage> byNonce;
    /// Nonces submitted but not yet committed.
    QHash<QString, quint64> pendingNonces;
    /// The latest stored messages, for resume (bounded by trim()).
    std::deque<protocol::NewMessage> recent;

    // In a cluster (--redis), the member whose session is on another server:
    UserKey remoteMember = 0; ///< 0: both members are here
    QString remoteUserId;
    QString remoteAddressHash; ///< its address's hash (Session::addressHash), for a report
    int remoteNode = 0;
    /// Its server is gone: it may resume elsewhere until the window ends (-1: not gone).
    qint64 remoteAwaySinceMs = -1;
    bool owned = true;       ///< counted in this server's stats (the server that stored its row)
    int pendingMessages = 0; ///< submitted here, not yet committed
    /// The member elsewhere left while messages sent here were being stored: its `partner_left`
    /// waits for them (they reach the sender first, as on one server).
    std::optional<protocol::LeaveReason> remoteLeft;

    UserKey partnerOf(UserKey user) const { return members[0] == user ? members[1] : members[0]; }
    bool has(UserKey user) const { return members[0] == user || members[1] == user; }

    /// Keeps a stored message for resume, and its nonce for dedupe.
    void remember(const protocol::NewMessage &message);
    /// Whether a message with this id is among the recent ones (a relay sent twice).
    bool remembers(qint64 messageId) const;
    /// Drops the oldest messages past kRecentTail that every member has been sent (ids up to
    /// `sentToAll`), with their nonces.
    void trim(qint64 sentToAll);
};

/// The messages after `lastId`: those following it in the room's order (ids from several
/// servers need not rise with that order), or, when it is not there, those with a higher id.
QVector<protocol::NewMessage> messagesAfter(const std::deque<protocol::NewMessage> &recent,
                                            qint64 lastId);

} // namespace anonchat::server
