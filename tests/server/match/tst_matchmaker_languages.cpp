// The Matchmaker's language tiers (PROTOCOL.md, "Matching"): a shared interest in a compatible
// language first, then the same language alone (from half the wait on, or at once without
// interests), then anyone after the wait; `commonLanguage`; users without a language as before.

#include "tests/server/match/matchmakersuite.h"

using namespace anonchat::test::matchmaking;

class TestMatchmakerLanguages : public QObject
{
    Q_OBJECT

private slots:
    void sameLanguageWithoutInterestsAtOnce();
    void otherLanguageWaitsTheWholeWait();
    void interestAndLanguageBeforeLanguageAlone();
    void languageAloneFromHalfTheWait();
    void sharerOfAnotherLanguageOnlyAfterTheWait();
    void sharerWithoutLanguageIsTierOne();
    void userWithoutLanguageAsBefore();
    void languageBeforeLongerWaitingOpenUser();
    void commonLanguageOnlyWhenTheSame();
    void deadlinesIncludeLanguagePhase();
};

void TestMatchmakerLanguages::sameLanguageWithoutInterestsAtOnce()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {}, "zh", 0));
    const auto match = mm.enqueue(2, {}, "zh", 10);
    QVERIFY(isMatch(match, 1, 2));
    QCOMPARE(match->commonLanguage, QStringLiteral("zh"));
    QVERIFY(match->commonInterests.isEmpty());
}

void TestMatchmakerLanguages::otherLanguageWaitsTheWholeWait()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {}, "zh", 0));
    QVERIFY(!mm.enqueue(2, {}, "en", 0));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(Wait));
    QVERIFY(mm.expire(Wait - 1).empty());
    const std::vector<Match> matches = mm.expire(Wait);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 2));
    QVERIFY(matches[0].commonLanguage.isEmpty());
}

void TestMatchmakerLanguages::interestAndLanguageBeforeLanguageAlone()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {}, "zh", 0));     // same language, no interest
    QVERIFY(!mm.enqueue(2, {"go"}, "en", 0)); // the interest, another language
    QVERIFY(!mm.enqueue(3, {"go"}, "zh", 0)); // the interest and the language: but 1 waits
    // 3 waits for interest and language; 1 is paired with it from half the wait on.
    QCOMPARE(mm.queuedCount(), 3);
    QVERIFY(mm.expire(Wait / 2 - 1).empty());
    const std::vector<Match> matches = mm.expire(Wait / 2);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 3));
    QCOMPARE(matches[0].commonLanguage, QStringLiteral("zh"));
    // A newcomer with both gets the interest-and-language partner over a longer-waiting one.
    Matchmaker other;
    QVERIFY(!other.enqueue(1, {"chess"}, "zh", 0));
    QVERIFY(!other.enqueue(2, {"go"}, "zh", 0));
    const auto match = other.enqueue(3, {"go"}, "zh", 1);
    QVERIFY(isMatch(match, 2, 3));
    QCOMPARE(match->commonInterests, QStringList{"go"});
    QCOMPARE(match->commonLanguage, QStringLiteral("zh"));
}

void TestMatchmakerLanguages::languageAloneFromHalfTheWait()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"go"}, "zh", 0));
    QVERIFY(!mm.enqueue(2, {"chess"}, "zh", 100));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(Wait / 2));
    // 1's language phase starts at Wait/2, 2's at 100 + Wait/2: both are needed.
    QVERIFY(mm.expire(Wait / 2).empty());
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(100 + Wait / 2));
    const std::vector<Match> matches = mm.expire(100 + Wait / 2);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 2));
    QVERIFY(matches[0].commonInterests.isEmpty());
    QCOMPARE(matches[0].commonLanguage, QStringLiteral("zh"));
    // A newcomer without interests is in its language phase at once.
    QVERIFY(!mm.enqueue(3, {"go"}, "en", 1000));
    QVERIFY(!mm.enqueue(4, {}, "en", 1000 + Wait / 2 - 1));
    // At 1000 + Wait/2 the longer-waiting 3 is in its phase too (expire() not yet run).
    QVERIFY(isMatch(mm.enqueue(5, {}, "en", 1000 + Wait / 2), 3, 5));
    QVERIFY(mm.contains(4));
}

void TestMatchmakerLanguages::sharerOfAnotherLanguageOnlyAfterTheWait()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"go"}, "zh", 0));
    QVERIFY(!mm.enqueue(2, {"go"}, "en", 0));
    QVERIFY(mm.expire(Wait - 1).empty());
    const std::vector<Match> matches = mm.expire(Wait);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 2));
    QCOMPARE(matches[0].commonInterests, QStringList{"go"});
    QVERIFY(matches[0].commonLanguage.isEmpty());
}

void TestMatchmakerLanguages::sharerWithoutLanguageIsTierOne()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"go"}, QString(), 0));
    const auto match = mm.enqueue(2, {"go"}, "zh", 1);
    QVERIFY(isMatch(match, 1, 2));
    QVERIFY(match->commonLanguage.isEmpty());
    QVERIFY(!mm.enqueue(3, {"go"}, "zh", 2));
    QVERIFY(isMatch(mm.enqueue(4, {"go"}, QString(), 3), 3, 4));
}

void TestMatchmakerLanguages::userWithoutLanguageAsBefore()
{
    // Without a language: open at once without interests, never tier 2.
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {}, "zh", 0));
    QVERIFY(!mm.enqueue(2, {}, QString(), 1)); // open, but 1 waits for its language
    QVERIFY(isMatch(mm.enqueue(3, {}, QString(), 2), 2, 3));
    QVERIFY(!mm.enqueue(4, {"go"}, QString(), 10));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(Wait)); // no language phase for 4
    QVERIFY(mm.expire(Wait).empty());                         // 1 open, 4 still waiting
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(10 + Wait));
    const std::vector<Match> matches = mm.expire(10 + Wait);
    QCOMPARE(matches.size(), size_t(1));
    QVERIFY(isMatch(matches[0], 1, 4));
}

void TestMatchmakerLanguages::languageBeforeLongerWaitingOpenUser()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(7, {}, "de", 0));
    QVERIFY(mm.expire(Wait).empty());            // 7 is open to anyone now
    QVERIFY(!mm.enqueue(8, {}, "ja", Wait + 1)); // 8 still waits for its language
    const auto match = mm.enqueue(9, {}, "ja", Wait + 2);
    QVERIFY(isMatch(match, 8, 9)); // the same language before the longer-waiting open one
    QCOMPARE(match->commonLanguage, QStringLiteral("ja"));
    QVERIFY(mm.contains(7));
}

void TestMatchmakerLanguages::commonLanguageOnlyWhenTheSame()
{
    Matchmaker mm(0); // no wait: everyone is open at once
    QVERIFY(!mm.enqueue(1, {}, "zh", 0));
    const auto same = mm.enqueue(2, {}, "zh", 0);
    QVERIFY(isMatch(same, 1, 2));
    QCOMPARE(same->commonLanguage, QStringLiteral("zh"));
    QVERIFY(!mm.enqueue(3, {}, "zh", 0));
    const auto other = mm.enqueue(4, {}, "en", 0);
    QVERIFY(isMatch(other, 3, 4));
    QVERIFY(other->commonLanguage.isEmpty());
    QVERIFY(!mm.enqueue(5, {}, QString(), 0));
    const auto none = mm.enqueue(6, {}, "zh", 0);
    QVERIFY(isMatch(none, 5, 6));
    QVERIFY(none->commonLanguage.isEmpty());
}

void TestMatchmakerLanguages::deadlinesIncludeLanguagePhase()
{
    Matchmaker mm;
    QVERIFY(!mm.enqueue(1, {"go"}, "zh", 1000));
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(1000 + Wait / 2));
    QVERIFY(mm.expire(1000 + Wait / 2).empty());
    QCOMPARE(mm.nextDeadline(), std::optional<qint64>(1000 + Wait));
    QVERIFY(mm.remove(1));
    QCOMPARE(mm.nextDeadline(), std::nullopt);
}

QTEST_GUILESS_MAIN(TestMatchmakerLanguages)
#include "tst_matchmaker_languages.moc"
