// The Matchmaker's rules (server/match/matchmaker.h): first in, first out; interests first; the
// fallback at the exact wait boundary, by enqueue or by expire(); deadlines; joining twice.
// Blocks and previous partners: tst_matchmaker_partners; random operations: tst_matchmaker_random.

#include "tests/server/match/matchmakersuite.h"

using namespace anonchat::test::matchmaking;

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

QTEST_GUILESS_MAIN(TestMatchmaker)
#include "tst_matchmaker.moc"
