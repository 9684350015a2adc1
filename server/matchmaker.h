#pragma once

#include <QHash>
#include <QSet>
#include <QStringList>
#include <QtGlobal>
#include <optional>
#include <vector>

namespace anonchat::server {

/// A live user, as the matchmaker knows it (the numeric form of the 8-hex `user_id`).
using UserKey = quint32;

/// Two users paired by the matchmaker. `first` is the one who waited longer.
struct Match {
    UserKey first = 0;
    UserKey second = 0;
    QStringList commonInterests;
};

/**
 * The matching queue of PROTOCOL.md as pure logic: no sockets, no SQL, no timers. Time comes in
 * as a monotonic millisecond count, so every rule can be tested exactly.
 *
 * Rules: users sharing an interest are paired first, longest waiting first; a user with
 * interests waits `interestWaitMs` for a shared one, after which anyone may be paired with it
 * (a user without interests can be paired with anyone at once, but only with users who are
 * themselves open to anyone). Never the user itself, never a blocked pair (reports), and not the
 * previous partner while anyone else is waiting.
 */
class Matchmaker
{
public:
    explicit Matchmaker(qint64 interestWaitMs = 5000);

    /// Queues `user` (interests already normalised) and pairs it if a partner is available now.
    /// Queuing a user already queued is idempotent: it keeps its place and gets no match.
    std::optional<Match> enqueue(UserKey user, const QStringList &interests, qint64 nowMs);

    /// Takes `user` out of the queue (leave_queue, drop). False if it was not queued.
    bool remove(UserKey user);

    bool contains(UserKey user) const;
    int queuedCount() const;

    /// Pairs the users whose interest wait has ended by `nowMs` and who can now be matched.
    std::vector<Match> expire(qint64 nowMs);

    /// When expire() next has something to do, if ever.
    std::optional<qint64> nextDeadline() const;

    /// The pair is never matched again (a report), in either direction.
    void block(UserKey a, UserKey b);
    bool isBlocked(UserKey a, UserKey b) const;

    /// Records the pair's last room, so neither is matched with the other while anyone else waits.
    void setPreviousPartners(UserKey a, UserKey b);

    /// The user is gone for good: its queue place, blocks and previous partner are dropped.
    void forget(UserKey user);

private:
    struct Entry {
        UserKey user = 0;
        QStringList interests;
        qint64 enqueuedAtMs = 0;
        quint64 sequence = 0; ///< FIFO order
    };

    bool openToAnyone(const Entry &entry, qint64 nowMs) const;
    std::optional<Match> findPartner(const Entry &entry, qint64 nowMs);
    void takeOut(UserKey user);

    qint64 m_interestWaitMs;
    quint64 m_nextSequence = 0;
    std::vector<Entry> m_queue; ///< ordered by sequence (longest waiting first)
    QHash<UserKey, QSet<UserKey>> m_blocked;
    QHash<UserKey, UserKey> m_previousPartner;
};

} // namespace anonchat::server
