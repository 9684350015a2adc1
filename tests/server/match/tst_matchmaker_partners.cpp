// The Matchmaker's rules about who may meet whom: blocked pairs, the previous partner (avoided
// while a third user waits), both pressing next, leaving or dropping while matching, forget().

#include "tests/server/match/matchmakersuite.h"

using namespace anonchat::test::matchmaking;

class TestMatchmakerPartners : public QObject
{
    Q_OBJECT

private slots:
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
};

void TestMatchmakerPartners::blockedPairNeverMatched_data()
{
    QTest::addColumn<bool>("reversed");
    QTest::addColumn<QStringList>("interests");
    QTest::newRow("a-b, no interests") << false << QStringList{};
    QTest::newRow("b-a, no interests") << true << QStringList{};
    QTest::newRow("a-b, shared interest") << false << QStringList{"music"};
    QTest::newRow("b-a, shared interest") << true << QStringList{"music"};
}

void TestMatchmakerPartners::blockedPairNeverMatched()
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

void TestMatchmakerPartners::blockedPairSkippedForNextInLine()
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

void TestMatchmakerPartners::blockIsSymmetricAndIgnoresSelf()
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

void TestMatchmakerPartners::previousPartnerAvoidedWhenThirdWaits()
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

void TestMatchmakerPartners::previousPartnerAllowedWhenAlone()
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

void TestMatchmakerPartners::previousPartnerOnlyTheLastRoom()
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

void TestMatchmakerPartners::previousPartnersPairedAfterThirdLeaves()
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

void TestMatchmakerPartners::previousPartnersPairedAfterThirdIsMatched()
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

void TestMatchmakerPartners::previousPartnerOverwrittenWhileQueued()
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

void TestMatchmakerPartners::bothPressNextWithThirdWaiting()
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

void TestMatchmakerPartners::bothPressNextAlone()
{
    Matchmaker mm;
    mm.setPreviousPartners(1, 2);
    QVERIFY(!mm.enqueue(1, {}, 100));
    QVERIFY(isMatch(mm.enqueue(2, {}, 100), 1, 2));
    QCOMPARE(mm.queuedCount(), 0);
}

void TestMatchmakerPartners::bothPressNextWithInterests()
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

void TestMatchmakerPartners::removeWhileQueued()
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

void TestMatchmakerPartners::leaveWhileMatching()
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

void TestMatchmakerPartners::dropAtInstantOfMatch()
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

void TestMatchmakerPartners::removeAfterMatchIsNoop()
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

void TestMatchmakerPartners::forgetWhileQueued()
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

void TestMatchmakerPartners::forgetClearsBlocks()
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

void TestMatchmakerPartners::forgetClearsPreviousPartners()
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

QTEST_GUILESS_MAIN(TestMatchmakerPartners)
#include "tst_matchmaker_partners.moc"
