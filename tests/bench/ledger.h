#pragma once

#include <QHash>
#include <QMutex>
#include <QString>
#include <QStringList>

namespace anonchat::bench {

/// How a user's time in a room ended, which says what it was owed.
enum class EndKind {
    Left,        ///< it sent leave_room_event or next: owed what was acked before it sent that
    PartnerLeft, ///< it got partner_left: owed what was acked before that arrived
    Stopped,     ///< the run ended while it was connected: owed what was acked before the stop
    Dropped,     ///< it dropped and did not come back to the room (quit for good, the room ended
                 ///< while it was away, the run ended while it was away): owed nothing, since
                 ///< copies in its dying connection are gone with it
};

/// The totals of the rooms checked so far.
struct LedgerTotals {
    qint64 rooms = 0;
    qint64 acked = 0;        ///< messages acknowledged to their sender
    qint64 owed = 0;         ///< of those, the ones the partner had to receive
    qint64 lost = 0;         ///< owed and never received: a failure
    qint64 duplicates = 0;   ///< the same message id received twice by the partner
    QStringList lostSamples; ///< the first few losses, for the report
    QStringList duplicateSamples;
};

/**
 * Every message of every room of the run, from both sides: the sender's acknowledgement (its own
 * new_message, nonce echoed) and the partner's copy, with the moment each member's time in the
 * room ended. A room is judged once both members are out of it and a grace period has passed:
 * a message acked to its sender before its partner left (or was told the room ended, or the run
 * stopped) must have reached the partner, live or through `resumed` after a drop.
 * Shared by every worker thread.
 */
class Ledger
{
public:
    void joined(qint64 roomId, const QString &userId, const QString &partnerId);
    void acked(qint64 roomId, qint64 messageId, const QString &senderId, qint64 nowNs);
    void received(qint64 roomId, qint64 messageId);
    void ended(qint64 roomId, const QString &userId, qint64 atNs, EndKind kind);
    /// Judges the rooms whose members both ended before `nowNs - graceNs`; all of them when
    /// graceNs is negative.
    void sweep(qint64 nowNs, qint64 graceNs);
    LedgerTotals totals() const;
    int openRooms() const;

private:
    struct Member {
        QString userId;
        qint64 endNs = -1;
        EndKind kind = EndKind::Stopped;
    };
    struct Message {
        QString senderId;
        qint64 ackNs = -1;
        int copies = 0;
    };
    struct Room {
        Member members[2];
        QHash<qint64, Message> messages;
    };

    Room &room(qint64 roomId);
    static Member *member(Room &room, const QString &userId);
    void judge(qint64 roomId, const Room &room);

    mutable QMutex m_mutex;
    QHash<qint64, Room> m_rooms;
    LedgerTotals m_totals;
};

} // namespace anonchat::bench
