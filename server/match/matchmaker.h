#pragma once

#include <QHash>
#include <QPair>
#include <QSet>
#include <QStringList>
#include <QtGlobal>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace anonchat::server {

/// A live user, as the matchmaker knows it (the numeric form of the 8-hex `user_id`).
using UserKey = quint32;

/// Two users paired by the matchmaker. `first` is the one who waited longer.
struct Match {
    UserKey first = 0;
    UserKey second = 0;
    QStringList commonInterests; ///< the interests both gave, sorted (QString order)
    QString commonLanguage;      ///< the language both gave, empty when not the same
};

/**
 * The matching queue of PROTOCOL.md as pure logic: no sockets, no SQL, no timers. Time comes in
 * as a monotonic millisecond count, so every rule can be tested exactly.
 *
 * Rules (PROTOCOL.md's "Matching"): a user with interests or a language waits `interestWaitMs`
 * before it is open to anyone; until then it is paired only in these tiers, tried in this order,
 * longest waiting first within each:
 *  1. sharing an interest, with a compatible language (the same, or either gave none);
 *  2. the same language, once both are in their language phase: at once for a user without
 *     interests, from half the wait on for a user with interests.
 * Once both are open, anyone (a user with neither interests nor language is open at once). Never
 * the user itself, never a blocked pair (reports), and not the previous partner while anyone else
 * is waiting.
 */
class Matchmaker
{
public:
    explicit Matchmaker(qint64 interestWaitMs = 5000);

    /// Queues `user` without a language (interests already normalised): see below.
    std::optional<Match> enqueue(UserKey user, const QStringList &interests, qint64 nowMs);
    /// Queues `user` (interests normalised; language a primary subtag, empty for none) and pairs
    /// it if a partner is available now. Queuing a user already queued is idempotent: it keeps
    /// its place, interests, language and wait, and gets no match. The partner is the
    /// longest-waiting queued user of the first tier that has one (see the class comment). The
    /// newcomer is `second`.
    std::optional<Match> enqueue(UserKey user, const QStringList &interests,
                                 const QString &language, qint64 nowMs);

    /// Takes `user` out of the queue (leave_queue, drop). False if it was not queued.
    bool remove(UserKey user);

    bool contains(UserKey user) const;
    int queuedCount() const;

    /// Pairs the users whose language phase has started or whose wait has ended by `nowMs` and
    /// who can now be matched: those users in FIFO order, each with its longest-waiting possible
    /// partner of the first tier that has one. Afterwards no two queued users could be matched at
    /// `nowMs`.
    std::vector<Match> expire(qint64 nowMs);

    /// When a user with these interests and language, queued at `enqueuedAtMs`, accepts a
    /// partner of the same language (tier 2), and when it is open to anyone.
    static qint64 languageFromMs(bool hasInterests, bool hasLanguage, qint64 enqueuedAtMs,
                                 qint64 waitMs);
    static qint64 waitEndMs(bool hasInterests, bool hasLanguage, qint64 enqueuedAtMs,
                            qint64 waitMs);

    /// When expire() next has something to do, if ever: the earliest end of an interest wait,
    /// or start of a language phase, that expire() has not handled yet. A time at or before the
    /// latest `nowMs` given (call expire() now) when a change left two queued users matchable: a
    /// removal leaving two previous partners alone, or setPreviousPartners() on queued users.
    std::optional<qint64> nextDeadline() const;

    /// The pair is never matched again (a report), in either direction.
    void block(UserKey a, UserKey b);
    bool isBlocked(UserKey a, UserKey b) const;

    /// Records the pair's last room, so neither is matched with the other while anyone else waits.
    void setPreviousPartners(UserKey a, UserKey b);

    /// The user is gone for good: its queue place, blocks and previous partner are dropped.
    void forget(UserKey user);

private:
    using Sequence = quint64; ///< FIFO position: lower waited longer

    struct Entry {
        UserKey user = 0;
        QStringList interests; ///< without duplicates
        QString language;      ///< empty: none
        qint64 enqueuedAtMs = 0;
        qint64 languageFromMs = 0; ///< when tier 2 (same language) starts
        qint64 waitEndMs = 0;      ///< when the wait ends (enqueuedAtMs for neither)
        Sequence sequence = 0;
        bool open = false;       ///< in m_open: open to anyone
        bool inLanguage = false; ///< in m_byLanguage: its language phase has started
    };
    using InterestLanguage = QPair<QString, QString>;

    bool openToAnyone(const Entry &entry, qint64 nowMs) const;
    bool languagePhase(const Entry &entry, qint64 nowMs) const;
    bool sharesInterest(const Entry &a, const Entry &b) const;
    static bool compatibleLanguages(const Entry &a, const Entry &b);
    bool allowedPair(const Entry &a, const Entry &b, int queuedWithBoth) const;
    bool canMatch(const Entry &a, const Entry &b, qint64 nowMs, int queuedWithBoth) const;
    bool arePreviousPartners(UserKey a, UserKey b) const;
    std::optional<Sequence> findPartner(const Entry &entry, qint64 nowMs, bool queued) const;
    std::optional<Sequence> firstAllowed(const std::set<Sequence> *users, const Entry &entry,
                                         int queuedWithBoth) const;
    std::optional<Sequence> findByInterest(const Entry &entry, int queuedWithBoth) const;
    std::optional<Sequence> findByLanguage(const Entry &entry, qint64 nowMs,
                                           int queuedWithBoth) const;
    std::optional<Sequence> findOpen(const Entry &entry, qint64 nowMs, int queuedWithBoth) const;
    Match makeMatch(const Entry &first, const Entry &second) const;
    void insert(Entry entry);
    void takeOut(UserKey user);

    qint64 m_interestWaitMs;
    Sequence m_nextSequence = 0;
    qint64 m_lastNowMs = std::numeric_limits<qint64>::min(); ///< latest time given to us
    std::map<Sequence, Entry> m_queue;                       ///< longest waiting first
    QHash<UserKey, Sequence> m_sequenceOf;
    QHash<QString, std::set<Sequence>> m_byInterest; ///< queued users by interest
    /// queued users by (interest, language), the language empty for those without one
    QHash<InterestLanguage, std::set<Sequence>> m_byInterestLanguage;
    /// queued users in their language phase, by language
    QHash<QString, std::set<Sequence>> m_byLanguage;
    /// (start, sequence) of queued users whose language phase expire() has not yet started.
    std::set<std::pair<qint64, Sequence>> m_languageWaiting;
    std::set<Sequence> m_open; ///< queued users open to anyone
    /// (wait end, sequence) of queued users whose interest wait expire() has not yet ended.
    std::set<std::pair<qint64, Sequence>> m_waiting;
    /// Queued users whose previous partner entry was overwritten while they and the old partner
    /// waited: the pair may be matchable now, expire() looks again.
    std::set<Sequence> m_recheck;
    QHash<UserKey, QSet<UserKey>> m_blocked; ///< both directions
    QHash<UserKey, UserKey> m_previousPartner;
    QHash<UserKey, QSet<UserKey>> m_previousPartnerOf; ///< reverse of m_previousPartner
};

} // namespace anonchat::server
