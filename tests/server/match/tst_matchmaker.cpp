#include "server/match/matchmaker.h"

#include <QHash>
#include <QMap>
#include <QRandomGenerator>
#include <QSet>
#include <QTest>
#include <map>

using anonchat::server::Match;
using anonchat::server::Matchmaker;
using anonchat::server::UserKey;

namespace {

constexpr qint64 Wait = 5000;

bool isMatch(const std::optional<Match> &match, UserKey first, UserKey second)
{
    return match && match->first == first && match->second == second;
}

bool isMatch(const Match &match, UserKey first, UserKey second)
{
    return match.first == first && match.second == second;
}

/// An independent, slow model of the rules, used by the randomized test as the oracle.
class Model
{
public:
    struct Queued {
        QStringList interests;
        qint64 atMs = 0;
        quint64 sequence = 0;
    };

    explicit Model(qint64 waitMs)
        : m_waitMs(waitMs)
    {}

    bool open(const Queued &user, qint64 nowMs) const
    {
        return user.interests.isEmpty() || nowMs >= user.atMs + m_waitMs;
    }
    static bool shares(const Queued &a, const Queued &b)
    {
        for (const QString &interest : a.interests) {
            if (b.interests.contains(interest)) {
                return true;
            }
        }
        return false;
    }
    bool blocked(UserKey a, UserKey b) const
    {
        return m_blocked.contains(qMakePair(qMin(a, b), qMax(a, b)));
    }
    bool previous(UserKey a, UserKey b) const
    {
        return (m_previous.contains(a) && m_previous.value(a) == b) ||
               (m_previous.contains(b) && m_previous.value(b) == a);
    }
    bool allowed(UserKey a, UserKey b, int queuedWithBoth) const
    {
        return a != b && !blocked(a, b) && (queuedWithBoth == 2 || !previous(a, b));
    }
    bool compatible(UserKey a, const Queued &qa, UserKey b, const Queued &qb, qint64 nowMs,
                    int queuedWithBoth) const
    {
        return allowed(a, b, queuedWithBoth) &&
               (shares(qa, qb) || (open(qa, nowMs) && open(qb, nowMs)));
    }

    /// Who a newcomer must be paired with, by the rules read literally.
    std::optional<UserKey> expectedPartner(UserKey user, const Queued &newcomer, qint64 nowMs) const
    {
        const int withBoth = static_cast<int>(m_queue.size()) + 1;
        std::map<quint64, UserKey> fifo;
        for (auto it = m_queue.cbegin(); it != m_queue.cend(); ++it) {
            fifo.emplace(it.value().sequence, it.key());
        }
        for (const auto &[sequence, other] : fifo) {
            if (allowed(user, other, withBoth) && shares(newcomer, m_queue.value(other))) {
                return other;
            }
        }
        if (!open(newcomer, nowMs)) {
            return std::nullopt;
        }
        for (const auto &[sequence, other] : fifo) {
            if (allowed(user, other, withBoth) && open(m_queue.value(other), nowMs)) {
                return other;
            }
        }
        return std::nullopt;
    }

    /// A pair of queued users that could be matched at `nowMs`, if any.
    std::optional<QPair<UserKey, UserKey>> matchablePair(qint64 nowMs) const
    {
        const int size = static_cast<int>(m_queue.size());
        for (auto a = m_queue.cbegin(); a != m_queue.cend(); ++a) {
            for (auto b = std::next(a); b != m_queue.cend(); ++b) {
                if (compatible(a.key(), a.value(), b.key(), b.value(), nowMs, size)) {
                    return qMakePair(a.key(), b.key());
                }
            }
        }
        return std::nullopt;
    }

    /// The earliest interest wait of a queued user that ends after `nowMs`.
    std::optional<qint64> futureDeadline(qint64 nowMs) const
    {
        std::optional<qint64> deadline;
        for (const Queued &user : m_queue) {
            const qint64 end = user.atMs + m_waitMs;
            if (!user.interests.isEmpty() && end > nowMs && (!deadline || end < *deadline)) {
                deadline = end;
            }
        }
        return deadline;
    }

    static QStringList common(const Queued &a, const Queued &b)
    {
        QStringList result;
        for (const QString &interest : a.interests) {
            if (b.interests.contains(interest)) {
                result.append(interest);
            }
        }
        result.sort();
        return result;
    }

    void forget(UserKey user)
    {
        m_queue.remove(user);
        for (auto it = m_blocked.begin(); it != m_blocked.end();) {
            it = (it->first == user || it->second == user) ? m_blocked.erase(it) : std::next(it);
        }
        m_previous.remove(user);
        for (auto it = m_previous.begin(); it != m_previous.end();) {
            it = it.value() == user ? m_previous.erase(it) : std::next(it);
        }
    }
    void setPrevious(UserKey a, UserKey b)
    {
        if (a != b) {
            m_previous.insert(a, b);
            m_previous.insert(b, a);
        }
    }
    void block(UserKey a, UserKey b)
    {
        if (a != b) {
            m_blocked.insert(qMakePair(qMin(a, b), qMax(a, b)));
        }
    }

    QMap<UserKey, Queued> m_queue;
    quint64 m_nextSequence = 0;

private:
    qint64 m_waitMs;
    QSet<QPair<UserKey, UserKey>> m_blocked;
    QHash<UserKey, UserKey> m_previous;
};

} // namespace

class TestMatchmaker : public QObject
{
    Q_OBJECT

private slots:
    void emptyQueue();
    void firstUserWaits();
    void twoUsersWithoutInterestsMatch();
    void fifoAmongOpenUsers();
    void fifoAmongSharingUsers();
    void interestPriorityOverLongerWaiting();
    void interestPriorityWithZeroWait();
    void sharedInterestMatchesAtOnce();
    void commonInterestsSortedAndDistinct();
    void noInterestUserNotPairedWithUserInWait();
    void openUserNotPairedWithNewcomerInWait();
    void fallbackAtBoundaryViaEnqueue();
    void fallbackAtBoundaryViaExpire();
    void fallbackBetweenTwoInterestUsers();
    void expireLateStillPairs();
    void expireOrderIsDeterministic();
    void expireWithNothingDue();
    void nextDeadlineValues();
    void zeroWaitOpensAtOnce();
    void selfMatchImpossible();
    void joinTwiceIsIdempotent();
    void joinTwiceKeepsInterestsAndWait();
    void blockedPairNeverMatched_data();
    void blockedPairNeverMatched();
    void blockedPairSkippedForNextInLine();
    void blockIsSymmetricAndIgnoresSelf();
    void previousPartnerAvoidedWhenThirdWaits();
    void previousPartnerAllowedWhenAlone();
    void previousPartnerOnlyTheLastRoom();
    void previousPartnersPairedAfterThirdLeaves();
    void previousPartnersPairedAfterThirdIsMatched();
    void previousPartnerOverwrittenWhileQueued();
    void bothPressNextWithThirdWaiting();
    void bothPressNextAlone();
    void bothPressNextWithInterests();
    void removeWhileQueued();
    void leaveWhileMatching();
    void dropAtInstantOfMatch();
    void removeAfterMatchIsNoop();
    void forgetWhileQueued();
    void forgetClearsBlocks();
    void forgetClearsPreviousPartners();
    void randomizedInvariants_data();
    void randomizedInvariants();
    void burstWithoutInterests();
    void burstSharingInterests();
    void burstFallbackThroughExpire();
};

void TestMatchmaker::emptyQueue()
{
    Matchmaker mm;
    QCOMPARE(mm.queuedCount(), 0);
    QVERIFY(!mm.contains(1));
    QVERIFY(!mm.remove(1));
    QVERIFY(mm.expire(1'000'000).empty());
    QCOMPARE(mm.nextDeadline(), std::nullopt);
}

void TestMatchmaker::firstUserWaits()
{
    Matchmaker mm;
    QCOMPARE(mm.enqueue(1, {}, 0), std::nullopt);
    QVERIFY(mm.contains(1));
    QVERIFY(!mm.contains(2));
    QCOMPARE(mm.queuedCount(), 1);
    QVERIFY(mm.expire(1'000'000).empty());
    QVERIFY(mm.contains(1));
}

void TestMatchmaker::twoUsersWithoutInterestsMatch()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {}, 0));
    const auto match = mm.enqueue(2, {}, 10);
    QVERIFY(isMatch(match, 1, 2));
    QVERIFY(match->commonInterests.isEmpty());
    QCOMPARE(mm.queuedCount(), 0);
    QVERIFY(!mm.contains(1));
    QVERIFY(!mm.contains(2));
}

void TestMatchmaker::fifoAmongOpenUsers()
{
    // Three open users that cannot be paired with each other wait; newcomers take them in order.
    Matchmaker mm;
    mm.block(1, 2);
    mm.block(1, 3);
    mm.block(2, 3);
    QVERIFY(!mm.enqueue(1, {}, 0));
    QVERIFY(!mm.enqueue(2, {}, 1));
    QVERIFY(!mm.enqueue(3, {}, 2));
    QCOMPARE(mm.queuedCount(), 3);
    QVERIFY(isMatch(mm.enqueue(10, {}, 3), 1, 10));
    QVERIFY(isMatch(mm.enqueue(11, {}, 4), 2, 11));
    QVERIFY(isMatch(mm.enqueue(12, {}, 5), 3, 12));
    QCOMPARE(mm.queuedCount(), 0);
}

void TestMatchmaker::fifoAmongSharingUsers()
{
    // The longest waiting sharing user wins, whichever of the newcomer's interests it shares.
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"books"}, 0));
    QVERIFY(!mm.enqueue(2, {"music"}, 1));
    QVERIFY(isMatch(mm.enqueue(3, {"music", "books"}, 2), 1, 3));
    QVERIFY(mm.contains(2));

    Matchmaker reversed;
    QVERIFY(!reversed.enqueue(1, {"music"}, 0));
    QVERIFY(!reversed.enqueue(2, {"books"}, 1));
    QVERIFY(isMatch(reversed.enqueue(3, {"books", "music"}, 2), 1, 3));
    QVERIFY(reversed.contains(2));
}

void TestMatchmaker::interestPriorityOverLongerWaiting()
{
    Matchmaker mm;
    // 1 has no interests, 2's wait has ended: both waited longer than 3, who shares "go".
    QVERIFY(!mm.enqueue(2, {"chess"}, 0));
    QVERIFY(mm.expire(Wait).empty());
    QVERIFY(!mm.enqueue(3, {"go"}, Wait + 1));
    // 1 would be paired with 2 (both open): block them to keep both waiting.
    mm.block(1, 2);
    QVERIFY(!mm.enqueue(1, {}, Wait + 2));
    QCOMPARE(mm.queuedCount(), 3);

    const auto match = mm.enqueue(4, {"go"}, Wait + 3);
    QVERIFY(isMatch(match, 3, 4));
    QCOMPARE(match->commonInterests, QStringList{"go"});
    QVERIFY(mm.contains(1));
    QVERIFY(mm.contains(2));
}

void TestMatchmaker::interestPriorityWithZeroWait()
{
    // With no wait a newcomer with interests is open at once: the sharing user still comes before
    // the open user who waited longer.
    Matchmaker mm(0);
    mm.block(1, 2);
    QVERIFY(!mm.enqueue(1, {}, 0));
    QVERIFY(!mm.enqueue(2, {"go"}, 1));
    QVERIFY(isMatch(mm.enqueue(3, {"chess", "go"}, 2), 2, 3));
    QVERIFY(mm.contains(1));
    // With nobody sharing, the open user is next.
    QVERIFY(isMatch(mm.enqueue(4, {"chess"}, 3), 1, 4));
}

void TestMatchmaker::sharedInterestMatchesAtOnce()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 0));
    QVERIFY(!mm.enqueue(2, {"books"}, 1));
    const auto match = mm.enqueue(3, {"music"}, 2);
    QVERIFY(isMatch(match, 1, 3));
    QCOMPARE(match->commonInterests, QStringList{"music"});
    QCOMPARE(mm.queuedCount(), 1);
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(1 + Wait));
}

void TestMatchmaker::commonInterestsSortedAndDistinct()
{
    // Sorted: neither the first user's order (zebra, mango) nor the newcomer's (zebra, mango).
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"apple", "zebra", "mango", "zebra"}, 0));
    const auto match = mm.enqueue(2, {"zebra", "kiwi", "mango", "mango"}, 1);
    QVERIFY(isMatch(match, 1, 2));
    QCOMPARE(match->commonInterests, (QStringList{"mango", "zebra"}));

    // The same through expire(): nothing in common after a fallback.
    Matchmaker fallback;
    QVERIFY(!fallback.enqueue(1, {"apple"}, 0));
    QVERIFY(!fallback.enqueue(2, {}, 0));
    const auto matches = fallback.expire(Wait);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(matches[0].commonInterests.isEmpty());
}

void TestMatchmaker::noInterestUserNotPairedWithUserInWait()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 0));
    QVERIFY(!mm.enqueue(2, {}, 10));
    QCOMPARE(mm.queuedCount(), 2);
    QVERIFY(mm.expire(Wait - 1).empty());
    QCOMPARE(mm.queuedCount(), 2);
    // A third user without interests takes 2, not 1 who waited longer.
    QVERIFY(isMatch(mm.enqueue(3, {}, Wait - 1), 2, 3));
    QVERIFY(mm.contains(1));
}

void TestMatchmaker::openUserNotPairedWithNewcomerInWait()
{
    // 1's wait is over, but a newcomer with another interest is still in its own wait.
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 0));
    QVERIFY(mm.expire(Wait).empty());
    QVERIFY(!mm.enqueue(2, {"books"}, Wait + 100));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(2 * Wait + 100));
    QVERIFY(mm.expire(2 * Wait + 99).empty());
    const auto matches = mm.expire(2 * Wait + 100);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 2));
}

void TestMatchmaker::fallbackAtBoundaryViaEnqueue()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 1000));
    // One millisecond before the wait ends: no match.
    QVERIFY(!mm.enqueue(2, {}, 1000 + Wait - 1));
    QVERIFY(mm.remove(2));
    // Another user with interests is still in its own wait at the boundary: no match.
    QVERIFY(!mm.enqueue(3, {"books"}, 1000 + Wait));
    QVERIFY(mm.remove(3));
    // Exactly at the end (expire() not called): match.
    const auto match = mm.enqueue(4, {}, 1000 + Wait);
    QVERIFY(isMatch(match, 1, 4));
    QVERIFY(match->commonInterests.isEmpty());
    QCOMPARE(mm.queuedCount(), 0);
    QCOMPARE(mm.nextDeadline(), std::nullopt);
}

void TestMatchmaker::fallbackAtBoundaryViaExpire()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 1000));
    QVERIFY(!mm.enqueue(2, {}, 1001));
    QVERIFY(mm.expire(1000 + Wait - 1).empty());
    QCOMPARE(mm.queuedCount(), 2);
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(1000 + Wait));
    const auto matches = mm.expire(1000 + Wait);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 2));
    QCOMPARE(mm.queuedCount(), 0);
    QCOMPARE(mm.nextDeadline(), std::nullopt);
    QVERIFY(mm.expire(1000 + Wait).empty());
}

void TestMatchmaker::fallbackBetweenTwoInterestUsers()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 0));
    QVERIFY(!mm.enqueue(2, {"books"}, 100));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(Wait));
    // 1 is open, 2 is not yet.
    QVERIFY(mm.expire(Wait).empty());
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(Wait + 100));
    QVERIFY(mm.expire(Wait + 99).empty());
    const auto matches = mm.expire(Wait + 100);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 2));
    QVERIFY(matches[0].commonInterests.isEmpty());
}

void TestMatchmaker::expireLateStillPairs()
{
    // expire() called long after both waits ended pairs them, and nextDeadline() reported the
    // overdue deadline meanwhile.
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 0));
    QVERIFY(!mm.enqueue(2, {"books"}, 1));
    QVERIFY(!mm.enqueue(3, {"art"}, 3 * Wait)); // a call long after: 1 and 2 are overdue
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(Wait));
    const auto matches = mm.expire(3 * Wait);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 2));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(4 * Wait));
}

void TestMatchmaker::expireOrderIsDeterministic()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"a"}, 0));
    QVERIFY(!mm.enqueue(2, {"b"}, 1));
    QVERIFY(!mm.enqueue(3, {"c"}, 2));
    QVERIFY(!mm.enqueue(4, {"d"}, 3));
    QVERIFY(!mm.enqueue(5, {}, 4)); // open, but everyone else is in a wait
    QCOMPARE(mm.queuedCount(), 5);
    // All waits end at once: FIFO, each with the longest waiting open user.
    const auto matches = mm.expire(10 * Wait);
    QCOMPARE(matches.size(), size_t(2));
    QVERIFY(isMatch(matches[0], 1, 2));
    QVERIFY(isMatch(matches[1], 3, 4));
    QVERIFY(mm.contains(5));
    QCOMPARE(mm.queuedCount(), 1);

    // Waits ending one by one pair each with the open user waiting longest.
    Matchmaker staggered;
    QVERIFY(!staggered.enqueue(1, {"a"}, 0));
    QVERIFY(!staggered.enqueue(2, {"b"}, 10));
    QVERIFY(!staggered.enqueue(3, {}, 20));
    const auto first = staggered.expire(Wait);
    QCOMPARE(first.size(), size_t(1));
    QVERIFY(isMatch(first[0], 1, 3));
    QVERIFY(staggered.expire(Wait + 9).empty());
    QVERIFY(staggered.contains(2));
}

void TestMatchmaker::expireWithNothingDue()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"a"}, 0));
    QVERIFY(!mm.enqueue(2, {}, 0));
    for (qint64 t = 0; t < Wait; t += 500) {
        QVERIFY(mm.expire(t).empty());
    }
    QCOMPARE(mm.queuedCount(), 2);
}

void TestMatchmaker::nextDeadlineValues()
{
    Matchmaker mm;
    QCOMPARE(mm.nextDeadline(), std::nullopt);
    QVERIFY(!mm.enqueue(1, {}, 0));
    QCOMPARE(mm.nextDeadline(), std::nullopt); // no interests: nothing to wait for
    QVERIFY(!mm.enqueue(2, {"a"}, 100));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(100 + Wait));
    QVERIFY(!mm.enqueue(3, {"b"}, 200));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(100 + Wait)); // earliest
    QVERIFY(mm.remove(2));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(200 + Wait));
    QVERIFY(!mm.enqueue(2, {"c"}, 300));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(200 + Wait));

    // 3's wait ends: paired with 1, the open user.
    auto matches = mm.expire(200 + Wait);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 3));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(300 + Wait));

    // A user matched on a shared interest takes its deadline away.
    QVERIFY(isMatch(mm.enqueue(4, {"c"}, 400 + Wait), 2, 4));
    QCOMPARE(mm.nextDeadline(), std::nullopt);

    // A wait that ended with nobody to pair with is not a deadline any more.
    QVERIFY(!mm.enqueue(5, {"d"}, 1000 + Wait));
    QVERIFY(mm.expire(1000 + 2 * Wait).empty());
    QVERIFY(mm.contains(5));
    QCOMPARE(mm.nextDeadline(), std::nullopt);
}

void TestMatchmaker::zeroWaitOpensAtOnce()
{
    Matchmaker mm(0);
    QVERIFY(!mm.enqueue(1, {"music"}, 0));
    QCOMPARE(mm.nextDeadline(), std::nullopt);
    QVERIFY(isMatch(mm.enqueue(2, {"books"}, 0), 1, 2));

    Matchmaker negative(-10); // treated as no wait
    QVERIFY(!negative.enqueue(1, {"music"}, 0));
    QVERIFY(isMatch(negative.enqueue(2, {}, 0), 1, 2));
}

void TestMatchmaker::selfMatchImpossible()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {}, 0));
    QVERIFY(!mm.enqueue(1, {}, 1));
    QVERIFY(!mm.enqueue(1, {"music"}, 2));
    QVERIFY(mm.expire(10 * Wait).empty());
    QCOMPARE(mm.queuedCount(), 1);

    Matchmaker sharing(0);
    QVERIFY(!sharing.enqueue(7, {"music"}, 0));
    QVERIFY(!sharing.enqueue(7, {"music"}, 0));
    QVERIFY(sharing.expire(0).empty());
    QCOMPARE(sharing.queuedCount(), 1);

    // Blocking or setting oneself as previous partner changes nothing.
    Matchmaker odd;
    odd.block(3, 3);
    QVERIFY(!odd.isBlocked(3, 3));
    odd.setPreviousPartners(3, 3);
    QVERIFY(!odd.enqueue(3, {}, 0));
    QVERIFY(isMatch(odd.enqueue(4, {}, 0), 3, 4));
}

void TestMatchmaker::joinTwiceIsIdempotent()
{
    Matchmaker mm;
    mm.block(1, 2);
    QVERIFY(!mm.enqueue(1, {}, 0));
    QVERIFY(!mm.enqueue(2, {}, 1));
    QVERIFY(!mm.enqueue(1, {}, 2)); // keeps its place ahead of 2
    QCOMPARE(mm.queuedCount(), 2);
    QVERIFY(isMatch(mm.enqueue(3, {}, 3), 1, 3));
    // No duplicate entry left behind.
    QVERIFY(!mm.contains(1));
    QCOMPARE(mm.queuedCount(), 1);
    QVERIFY(isMatch(mm.enqueue(4, {}, 4), 2, 4));
    QCOMPARE(mm.queuedCount(), 0);
    QVERIFY(!mm.remove(1));
}

void TestMatchmaker::joinTwiceKeepsInterestsAndWait()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 0));
    QVERIFY(!mm.enqueue(1, {}, 3000)); // neither opens it nor restarts its wait
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(Wait));
    QVERIFY(!mm.enqueue(2, {}, 4000));
    QVERIFY(isMatch(mm.enqueue(3, {"music"}, 4500), 1, 3));
    QVERIFY(mm.contains(2));
}

void TestMatchmaker::blockedPairNeverMatched_data()
{
    QTest::addColumn<bool>("reversed");
    QTest::addColumn<QStringList>("interests");
    QTest::newRow("a-b, no interests") << false << QStringList{};
    QTest::newRow("b-a, no interests") << true << QStringList{};
    QTest::newRow("a-b, shared interest") << false << QStringList{"music"};
    QTest::newRow("b-a, shared interest") << true << QStringList{"music"};
}

void TestMatchmaker::blockedPairNeverMatched()
{
    QFETCH(bool, reversed);
    QFETCH(QStringList, interests);
    Matchmaker mm;
    if (reversed) {
        mm.block(2, 1);
    } else {
        mm.block(1, 2);
    }
    QVERIFY(mm.isBlocked(1, 2));
    QVERIFY(mm.isBlocked(2, 1));
    // Previous partners too, and alone: still never.
    mm.setPreviousPartners(1, 2);
    QVERIFY(!mm.enqueue(1, interests, 0));
    QVERIFY(!mm.enqueue(2, interests, 0));
    QVERIFY(mm.expire(10 * Wait).empty());
    QCOMPARE(mm.nextDeadline(), std::nullopt);
    QCOMPARE(mm.queuedCount(), 2);

    // In the other joining order as well.
    QVERIFY(mm.remove(1));
    QVERIFY(!mm.enqueue(1, interests, 11 * Wait));
    QVERIFY(mm.expire(20 * Wait).empty());
    QCOMPARE(mm.queuedCount(), 2);
}

void TestMatchmaker::blockedPairSkippedForNextInLine()
{
    // Sharing users: the blocked one is skipped for the next in line.
    Matchmaker sharing;
    sharing.block(1, 3);
    sharing.block(1, 2);
    QVERIFY(!sharing.enqueue(1, {"music"}, 0));
    QVERIFY(!sharing.enqueue(2, {"music"}, 1));
    QVERIFY(isMatch(sharing.enqueue(3, {"music"}, 2), 2, 3));
    QVERIFY(sharing.contains(1));

    // Open users: the same.
    Matchmaker open;
    open.block(1, 2);
    open.block(1, 3);
    QVERIFY(!open.enqueue(1, {}, 0));
    QVERIFY(!open.enqueue(2, {}, 1));
    QVERIFY(isMatch(open.enqueue(3, {}, 2), 2, 3));
    QVERIFY(open.contains(1));
}

void TestMatchmaker::blockIsSymmetricAndIgnoresSelf()
{
    Matchmaker mm;
    QVERIFY(!mm.isBlocked(1, 2));
    mm.block(1, 2);
    mm.block(1, 2); // twice: no harm
    QVERIFY(mm.isBlocked(1, 2));
    QVERIFY(mm.isBlocked(2, 1));
    QVERIFY(!mm.isBlocked(1, 3));
    QVERIFY(!mm.isBlocked(3, 2));
}

void TestMatchmaker::previousPartnerAvoidedWhenThirdWaits()
{
    Matchmaker mm;
    mm.setPreviousPartners(1, 2);
    mm.block(2, 3); // keeps 2 and 3 both waiting
    QVERIFY(!mm.enqueue(2, {}, 0));
    QVERIFY(!mm.enqueue(3, {}, 1));
    QVERIFY(isMatch(mm.enqueue(1, {}, 2), 3, 1));
    QVERIFY(mm.contains(2));

    // Also when the shared interest would have chosen the previous partner.
    Matchmaker sharing;
    sharing.setPreviousPartners(1, 2);
    QVERIFY(!sharing.enqueue(2, {"music"}, 0));
    QVERIFY(!sharing.enqueue(3, {"books"}, 1));
    QVERIFY(!sharing.enqueue(1, {"music", "art"}, 2));
    QCOMPARE(sharing.queuedCount(), 3);
    QVERIFY(isMatch(sharing.enqueue(4, {"art"}, 3), 1, 4));
    QVERIFY(sharing.contains(2));
}

void TestMatchmaker::previousPartnerAllowedWhenAlone()
{
    Matchmaker mm;
    mm.setPreviousPartners(1, 2);
    QVERIFY(!mm.enqueue(2, {}, 0));
    QVERIFY(isMatch(mm.enqueue(1, {}, 1), 2, 1));

    Matchmaker sharing;
    sharing.setPreviousPartners(2, 1);
    QVERIFY(!sharing.enqueue(1, {"music"}, 0));
    const auto match = sharing.enqueue(2, {"music"}, 1);
    QVERIFY(isMatch(match, 1, 2));
    QCOMPARE(match->commonInterests, QStringList{"music"});
}

void TestMatchmaker::previousPartnerOnlyTheLastRoom()
{
    // 1 was with 2, then with 3: 1 and 3 avoid each other, 2 still avoids 1, 3 and 2 do not.
    Matchmaker mm;
    mm.setPreviousPartners(1, 2);
    mm.setPreviousPartners(1, 3);
    mm.block(1, 4);
    mm.block(3, 4);
    mm.block(2, 4);
    QVERIFY(!mm.enqueue(4, {}, 0)); // a third user present throughout
    QVERIFY(!mm.enqueue(1, {}, 1));
    QVERIFY(!mm.enqueue(3, {}, 2));
    // 2 skips 1 (its last room) and takes 3 (whose last room was with 1, not 2).
    QVERIFY(isMatch(mm.enqueue(2, {}, 3), 3, 2));
    QVERIFY(mm.contains(1));
    QVERIFY(mm.contains(4));
}

void TestMatchmaker::previousPartnersPairedAfterThirdLeaves()
{
    Matchmaker mm;
    mm.setPreviousPartners(1, 2);
    QVERIFY(!mm.enqueue(3, {"music"}, 0)); // in its wait: matches neither
    QVERIFY(!mm.enqueue(1, {}, 10));
    QVERIFY(!mm.enqueue(2, {}, 20)); // 1 is its previous partner and 3 waits
    QCOMPARE(mm.queuedCount(), 3);
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(Wait));

    QVERIFY(mm.remove(3));
    // Now only the two remain: expire() has work at once.
    const auto deadline = mm.nextDeadline();
    QVERIFY(deadline);
    QVERIFY(*deadline <= 20);
    const auto matches = mm.expire(30);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 2));
    QCOMPARE(mm.queuedCount(), 0);
    QCOMPARE(mm.nextDeadline(), std::nullopt);
}

void TestMatchmaker::previousPartnersPairedAfterThirdIsMatched()
{
    Matchmaker mm;
    mm.setPreviousPartners(1, 2);
    QVERIFY(!mm.enqueue(3, {"music"}, 0));
    QVERIFY(!mm.enqueue(1, {}, 10));
    QVERIFY(!mm.enqueue(2, {}, 20));
    QVERIFY(isMatch(mm.enqueue(4, {"music"}, 30), 3, 4));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(30));
    const auto matches = mm.expire(30);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 2));

    // And when the third leaves through expire(): 3's wait ends, it takes 1, 2 stays.
    Matchmaker viaExpire;
    viaExpire.setPreviousPartners(1, 2);
    QVERIFY(!viaExpire.enqueue(3, {"music"}, 0));
    QVERIFY(!viaExpire.enqueue(1, {}, 10));
    QVERIFY(!viaExpire.enqueue(2, {}, 20));
    const auto fallback = viaExpire.expire(Wait);
    QCOMPARE(fallback.size(), size_t(1));
    QVERIFY(isMatch(fallback[0], 3, 1));
    QVERIFY(viaExpire.contains(2));
}

void TestMatchmaker::previousPartnerOverwrittenWhileQueued()
{
    // Only the last room counts: once both have newer previous partners, 1 and 2 may meet again.
    Matchmaker mm;
    mm.setPreviousPartners(1, 2);
    QVERIFY(!mm.enqueue(3, {"music"}, 0));
    QVERIFY(!mm.enqueue(1, {}, 1));
    QVERIFY(!mm.enqueue(2, {}, 2));
    mm.setPreviousPartners(1, 9);
    QVERIFY(mm.expire(3).empty()); // 2's last room was still with 1
    mm.setPreviousPartners(2, 8);
    const auto deadline = mm.nextDeadline();
    QVERIFY(deadline);
    QVERIFY(*deadline <= 3);
    const auto matches = mm.expire(4);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 2));
    QVERIFY(mm.contains(3));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(Wait));
}

void TestMatchmaker::bothPressNextWithThirdWaiting()
{
    // 1 and 2 were in a room and both press next at the same instant; 3 waits.
    Matchmaker mm;
    QVERIFY(!mm.enqueue(3, {}, 0));
    mm.setPreviousPartners(1, 2);
    QVERIFY(isMatch(mm.enqueue(1, {}, 100), 3, 1));
    QVERIFY(!mm.enqueue(2, {}, 100));
    QVERIFY(mm.contains(2));
    QCOMPARE(mm.queuedCount(), 1);

    // The other one first: same outcome mirrored.
    Matchmaker other;
    QVERIFY(!other.enqueue(3, {}, 0));
    other.setPreviousPartners(1, 2);
    QVERIFY(isMatch(other.enqueue(2, {}, 100), 3, 2));
    QVERIFY(!other.enqueue(1, {}, 100));
    QVERIFY(other.contains(1));
}

void TestMatchmaker::bothPressNextAlone()
{
    Matchmaker mm;
    mm.setPreviousPartners(1, 2);
    QVERIFY(!mm.enqueue(1, {}, 100));
    QVERIFY(isMatch(mm.enqueue(2, {}, 100), 1, 2));
    QCOMPARE(mm.queuedCount(), 0);
}

void TestMatchmaker::bothPressNextWithInterests()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(3, {"music"}, 0));
    mm.setPreviousPartners(1, 2);
    QVERIFY(isMatch(mm.enqueue(1, {"music"}, 100), 3, 1));
    QVERIFY(!mm.enqueue(2, {"music"}, 100));
    QCOMPARE(mm.queuedCount(), 1);

    // Only the two of them, sharing an interest: re-paired at once.
    Matchmaker alone;
    alone.setPreviousPartners(1, 2);
    QVERIFY(!alone.enqueue(1, {"music"}, 100));
    QVERIFY(isMatch(alone.enqueue(2, {"music"}, 100), 1, 2));
}

void TestMatchmaker::removeWhileQueued()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 0));
    QVERIFY(mm.remove(1));
    QVERIFY(!mm.contains(1));
    QCOMPARE(mm.queuedCount(), 0);
    QVERIFY(!mm.remove(1));
    QCOMPARE(mm.nextDeadline(), std::nullopt);
    QVERIFY(!mm.enqueue(2, {"music"}, 1)); // 1 is not there to share with
    QVERIFY(mm.expire(10 * Wait).empty());
    // 1 may queue again, at the back.
    QVERIFY(!mm.enqueue(1, {"books"}, 10 * Wait));
    QVERIFY(mm.contains(1));
}

void TestMatchmaker::leaveWhileMatching()
{
    // 1 leaves just before its wait ends; the expire() due for it finds nothing.
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 0));
    QVERIFY(!mm.enqueue(2, {}, 10));
    QVERIFY(mm.remove(1));
    QCOMPARE(mm.nextDeadline(), std::nullopt);
    QVERIFY(mm.expire(Wait).empty());
    QVERIFY(mm.expire(10 * Wait).empty());
    QVERIFY(mm.contains(2));
    QCOMPARE(mm.queuedCount(), 1);
}

void TestMatchmaker::dropAtInstantOfMatch()
{
    // 1 drops at the very millisecond its wait ends, before the timer runs expire().
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 0));
    QVERIFY(!mm.enqueue(2, {}, 1));
    mm.forget(1);
    const auto matches = mm.expire(Wait);
    QVERIFY(matches.empty());
    QVERIFY(mm.contains(2));

    // A drop and a join at the same instant: the dropped user is never the partner.
    Matchmaker same;
    QVERIFY(!same.enqueue(1, {}, 0));
    QVERIFY(same.remove(1));
    QVERIFY(!same.enqueue(2, {}, 0));
    QVERIFY(!same.enqueue(3, {"x"}, 0));
    for (const Match &match : same.expire(10 * Wait)) {
        QVERIFY(match.first != 1 && match.second != 1);
    }
    QVERIFY(!same.contains(1));
}

void TestMatchmaker::removeAfterMatchIsNoop()
{
    // The drop lands just after the match was made: nothing to remove, nothing else disturbed.
    Matchmaker mm;
    mm.block(3, 1);
    QVERIFY(!mm.enqueue(3, {}, 0));
    QVERIFY(!mm.enqueue(1, {}, 0));
    QVERIFY(isMatch(mm.enqueue(2, {}, 0), 3, 2));
    QVERIFY(!mm.remove(2));
    QVERIFY(!mm.remove(3));
    QVERIFY(mm.contains(1));
    QCOMPARE(mm.queuedCount(), 1);
}

void TestMatchmaker::forgetWhileQueued()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"music"}, 0));
    mm.forget(1);
    QVERIFY(!mm.contains(1));
    QCOMPARE(mm.queuedCount(), 0);
    QCOMPARE(mm.nextDeadline(), std::nullopt);
    QVERIFY(!mm.enqueue(2, {"music"}, 1));
    mm.forget(99); // unknown: no harm
    QCOMPARE(mm.queuedCount(), 1);
}

void TestMatchmaker::forgetClearsBlocks()
{
    Matchmaker mm;
    mm.block(1, 2);
    mm.block(3, 1);
    mm.block(2, 3);
    mm.forget(1);
    QVERIFY(!mm.isBlocked(1, 2));
    QVERIFY(!mm.isBlocked(2, 1));
    QVERIFY(!mm.isBlocked(1, 3));
    QVERIFY(!mm.isBlocked(3, 1));
    QVERIFY(mm.isBlocked(2, 3)); // others' blocks stay

    // The key, reused by a new user, is matched with its old blocker.
    QVERIFY(!mm.enqueue(2, {}, 0));
    QVERIFY(isMatch(mm.enqueue(1, {}, 1), 2, 1));
}

void TestMatchmaker::forgetClearsPreviousPartners()
{
    // Forgetting 1 drops its own entry (1 -> 3) and the one pointing to it (3 -> 1).
    Matchmaker mm;
    mm.setPreviousPartners(1, 3);
    mm.forget(1);
    mm.block(3, 4);
    QVERIFY(!mm.enqueue(3, {}, 0));
    QVERIFY(!mm.enqueue(4, {}, 1)); // a third user waiting
    QVERIFY(isMatch(mm.enqueue(1, {}, 2), 3, 1));

    Matchmaker other;
    other.setPreviousPartners(1, 3);
    other.forget(3);
    other.block(1, 4);
    QVERIFY(!other.enqueue(1, {}, 0));
    QVERIFY(!other.enqueue(4, {}, 1));
    QVERIFY(isMatch(other.enqueue(3, {}, 2), 1, 3));

    // Control: without the forget the previous partner is skipped.
    Matchmaker control;
    control.setPreviousPartners(1, 3);
    control.block(3, 4);
    QVERIFY(!control.enqueue(3, {}, 0));
    QVERIFY(!control.enqueue(4, {}, 1));
    QVERIFY(isMatch(control.enqueue(1, {}, 2), 4, 1));
}

void TestMatchmaker::randomizedInvariants_data()
{
    QTest::addColumn<quint32>("seed");
    QTest::addColumn<qint64>("wait");
    QTest::addColumn<UserKey>("users");
    QTest::newRow("seed 1, wait 5000, 30 users") << 1u << qint64(5000) << UserKey(30);
    QTest::newRow("seed 2, wait 5000, 30 users") << 2u << qint64(5000) << UserKey(30);
    QTest::newRow("seed 3, wait 1000, 30 users") << 3u << qint64(1000) << UserKey(30);
    QTest::newRow("seed 4, wait 0, 30 users") << 4u << qint64(0) << UserKey(30);
    // Few users: queues of two or three, where the previous partner rule bites most.
    QTest::newRow("seed 5, wait 2000, 5 users") << 5u << qint64(2000) << UserKey(5);
    QTest::newRow("seed 6, wait 0, 4 users") << 6u << qint64(0) << UserKey(4);
}

void TestMatchmaker::randomizedInvariants()
{
    QFETCH(quint32, seed);
    QFETCH(qint64, wait);
    QFETCH(UserKey, users);

    constexpr int Steps = 5000;
    const UserKey Users = users;
    const QStringList pool{"a", "b", "c", "d", "e"};

    QRandomGenerator rng(seed);
    Matchmaker mm(wait);
    Model model(wait);
    qint64 now = 0;
    int enqueueMatches = 0;
    int expireMatches = 0;
    int previousRematches = 0;

    const auto randomUser = [&] { return UserKey(1 + rng.bounded(Users)); };
    const auto randomInterests = [&] {
        QStringList interests;
        const int count = rng.bounded(10) < 4 ? 0 : int(rng.bounded(1, 4));
        for (int i = 0; i < count; ++i) {
            interests.append(pool.at(int(rng.bounded(pool.size()))));
        }
        return interests;
    };
    // A match as the server would record it: previous partners, sometimes a report.
    const auto afterMatch = [&](const Match &match) {
        if (rng.bounded(10) < 7) {
            mm.setPreviousPartners(match.first, match.second);
            model.setPrevious(match.first, match.second);
        }
        if (rng.bounded(10) == 0) {
            mm.block(match.first, match.second);
            model.block(match.first, match.second);
        }
    };
    // Checks one match against the model and takes both users out of it.
    const auto checkMatch = [&](const Match &match, int queuedWithBoth) {
        QVERIFY2(match.first != match.second, "self match");
        QVERIFY2(!model.blocked(match.first, match.second), "blocked pair matched");
        QVERIFY2(model.m_queue.contains(match.first), "first was not queued");
        QVERIFY2(model.m_queue.contains(match.second), "second was not queued");
        const Model::Queued &first = model.m_queue[match.first];
        const Model::Queued &second = model.m_queue[match.second];
        QVERIFY2(first.sequence < second.sequence, "first did not wait longer");
        QVERIFY2(model.compatible(match.first, first, match.second, second, now, queuedWithBoth),
                 "pair not allowed by the rules");
        QCOMPARE(match.commonInterests, Model::common(first, second));
        if (model.previous(match.first, match.second)) {
            ++previousRematches;
        }
        model.m_queue.remove(match.first);
        model.m_queue.remove(match.second);
        QVERIFY(!mm.contains(match.first));
        QVERIFY(!mm.contains(match.second));
    };

    for (int step = 0; step < Steps; ++step) {
        const quint32 jump = rng.bounded(100);
        now += jump < 30 ? 0 : jump < 90 ? qint64(rng.bounded(300)) : qint64(rng.bounded(6000));
        const quint32 op = rng.bounded(100);
        bool expired = false;

        if (op < 40) {
            const UserKey user = randomUser();
            const QStringList interests = randomInterests();
            const int before = mm.queuedCount();
            if (model.m_queue.contains(user)) {
                QVERIFY2(!mm.enqueue(user, interests, now), "queued twice gave a match");
                QCOMPARE(mm.queuedCount(), before);
            } else {
                Model::Queued queued;
                for (const QString &interest : interests) {
                    if (!queued.interests.contains(interest)) {
                        queued.interests.append(interest);
                    }
                }
                queued.atMs = now;
                queued.sequence = model.m_nextSequence++;
                const auto expected = model.expectedPartner(user, queued, now);
                const int withBoth = int(model.m_queue.size()) + 1;
                model.m_queue.insert(user, queued);
                const auto match = mm.enqueue(user, interests, now);
                QCOMPARE(bool(match), bool(expected));
                if (match) {
                    QCOMPARE(match->first, *expected);
                    QCOMPARE(match->second, user);
                    checkMatch(*match, withBoth);
                    ++enqueueMatches;
                    afterMatch(*match);
                } else {
                    // Nobody it could be paired with now.
                    for (auto it = model.m_queue.cbegin(); it != model.m_queue.cend(); ++it) {
                        QVERIFY(it.key() == user ||
                                !model.compatible(user, queued, it.key(), it.value(), now,
                                                  int(model.m_queue.size())));
                    }
                }
            }
        } else if (op < 50) {
            const UserKey user = randomUser();
            QCOMPARE(mm.remove(user), model.m_queue.contains(user));
            model.m_queue.remove(user);
        } else if (op < 55) {
            const UserKey a = randomUser();
            const UserKey b = rng.bounded(10) == 0 ? a : randomUser();
            mm.block(a, b);
            model.block(a, b);
        } else if (op < 60) {
            const UserKey user = randomUser();
            mm.forget(user);
            model.forget(user);
        } else if (op < 63) {
            const UserKey a = randomUser();
            const UserKey b = randomUser();
            mm.setPreviousPartners(a, b);
            model.setPrevious(a, b);
        } else {
            const std::vector<Match> matches = mm.expire(now);
            expired = true;
            QSet<UserKey> seen;
            for (const Match &match : matches) {
                QVERIFY2(!seen.contains(match.first) && !seen.contains(match.second),
                         "user in two matches");
                seen.insert(match.first);
                seen.insert(match.second);
                checkMatch(match, int(model.m_queue.size()));
                ++expireMatches;
            }
            for (const Match &match : matches) {
                afterMatch(match);
            }
        }

        // The queue agrees with the model.
        QCOMPARE(mm.queuedCount(), int(model.m_queue.size()));
        for (UserKey user = 1; user <= Users; ++user) {
            QCOMPARE(mm.contains(user), model.m_queue.contains(user));
            for (UserKey other = 1; other <= Users; ++other) {
                QCOMPARE(mm.isBlocked(user, other), model.blocked(user, other));
            }
        }

        // Stable after expire(); otherwise nextDeadline() asks for an expire() now.
        const auto pair = model.matchablePair(now);
        const auto deadline = mm.nextDeadline();
        if (expired) {
            QVERIFY2(!pair, qPrintable(QStringLiteral("step %1: %2 and %3 left unmatched")
                                           .arg(step)
                                           .arg(pair ? pair->first : 0)
                                           .arg(pair ? pair->second : 0)));
            QCOMPARE(deadline, model.futureDeadline(now));
        } else if (pair) {
            QVERIFY2(deadline && *deadline <= now,
                     qPrintable(QStringLiteral("step %1: matchable pair, no deadline").arg(step)));
        }
        if (const auto future = model.futureDeadline(now)) {
            QVERIFY2(deadline && *deadline <= *future, "a wait end is not reported");
        }
        if (QTest::currentTestFailed()) {
            qWarning("failed at step %d", step);
            return;
        }
    }

    // The run exercised what it claims to.
    qInfo("%d matches by enqueue, %d by expire, %d previous partners re-paired", enqueueMatches,
          expireMatches, previousRematches);
    QVERIFY(enqueueMatches > 200);
    if (wait > 0) {
        QVERIFY(expireMatches > 50);
    }
    QVERIFY(previousRematches > 0);
}

void TestMatchmaker::burstWithoutInterests()
{
    constexpr UserKey Count = 10'000;
    Matchmaker mm;
    int matches = 0;
    QSet<UserKey> matched;
    for (UserKey user = 1; user <= Count; ++user) {
        const auto match = mm.enqueue(user, {}, 0);
        if (user % 2 == 1) {
            QVERIFY(!match);
            QCOMPARE(mm.queuedCount(), 1);
        } else {
            QVERIFY(isMatch(match, user - 1, user));
            QVERIFY(!matched.contains(match->first) && !matched.contains(match->second));
            matched.insert(match->first);
            matched.insert(match->second);
            ++matches;
            QCOMPARE(mm.queuedCount(), 0);
        }
    }
    QCOMPARE(matches, 5000);
    QCOMPARE(matched.size(), qsizetype(Count));
    QCOMPARE(mm.queuedCount(), 0);
    QCOMPARE(mm.nextDeadline(), std::nullopt);
}

void TestMatchmaker::burstSharingInterests()
{
    // Users 2k-1 and 2k share "t<k>"; everybody also queues behind thousands of waiting users.
    constexpr UserKey Count = 10'000;
    Matchmaker mm;
    for (UserKey user = 1; user <= Count; ++user) {
        QVERIFY(!mm.enqueue(Count + user, {QStringLiteral("w%1").arg(user)}, 0));
    }
    int matches = 0;
    for (UserKey user = 1; user <= Count; ++user) {
        const QString interest = QStringLiteral("t%1").arg((user + 1) / 2);
        const auto match = mm.enqueue(user, {interest, "chat"}, 1);
        if (user % 2 == 1) {
            QVERIFY(!match);
        } else {
            QVERIFY(isMatch(match, user - 1, user));
            QCOMPARE(match->commonInterests, (QStringList{"chat", interest}));
            ++matches;
        }
    }
    QCOMPARE(matches, 5000);
    QCOMPARE(mm.queuedCount(), int(Count));
}

void TestMatchmaker::burstFallbackThroughExpire()
{
    constexpr UserKey Count = 10'000;
    Matchmaker mm;
    for (UserKey user = 1; user <= Count; ++user) {
        QVERIFY(!mm.enqueue(user, {QStringLiteral("i%1").arg(user)}, 0));
    }
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(Wait));
    QVERIFY(mm.expire(Wait - 1).empty());
    const std::vector<Match> matches = mm.expire(Wait);
    QCOMPARE(matches.size(), size_t(Count / 2));
    for (size_t i = 0; i < matches.size(); ++i) {
        QVERIFY(isMatch(matches[i], UserKey(2 * i + 1), UserKey(2 * i + 2)));
    }
    QCOMPARE(mm.queuedCount(), 0);
    QCOMPARE(mm.nextDeadline(), std::nullopt);
}

QTEST_GUILESS_MAIN(TestMatchmaker)
#include "tst_matchmaker.moc"
