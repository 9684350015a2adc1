// The Matchmaker under random operations, checked against an independent model of its rules
// (5,000 operations on each of six seeds; interests and languages), and under bursts of users
// with and without interests.

#include "tests/server/match/matchmakersuite.h"

using namespace anonchat::test::matchmaking;

namespace {

/// An independent, slow model of the rules, used by the randomized test as the oracle.
class Model
{
public:
    struct Queued {
        QStringList interests;
        QString language;
        qint64 atMs = 0;
        quint64 sequence = 0;
    };

    explicit Model(qint64 waitMs)
        : m_waitMs(waitMs)
    {}

    bool open(const Queued &user, qint64 nowMs) const
    {
        return (user.interests.isEmpty() && user.language.isEmpty()) ||
               nowMs >= user.atMs + m_waitMs;
    }
    /// Accepts the same language (tier 2): at once without interests, else after half the wait.
    bool languagePhase(const Queued &user, qint64 nowMs) const
    {
        return !user.language.isEmpty() &&
               (user.interests.isEmpty() || nowMs >= user.atMs + m_waitMs / 2);
    }
    static bool sameLanguage(const Queued &a, const Queued &b)
    {
        return !a.language.isEmpty() && a.language == b.language;
    }
    /// Tier 1: a shared interest, and no two different languages.
    static bool tierOne(const Queued &a, const Queued &b)
    {
        const bool languagesFit =
            a.language.isEmpty() || b.language.isEmpty() || a.language == b.language;
        return languagesFit && shares(a, b);
    }
    bool tierTwo(const Queued &a, const Queued &b, qint64 nowMs) const
    {
        return sameLanguage(a, b) && languagePhase(a, nowMs) && languagePhase(b, nowMs);
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
               (tierOne(qa, qb) || tierTwo(qa, qb, nowMs) || (open(qa, nowMs) && open(qb, nowMs)));
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
            if (allowed(user, other, withBoth) && tierOne(newcomer, m_queue.value(other))) {
                return other;
            }
        }
        for (const auto &[sequence, other] : fifo) {
            if (allowed(user, other, withBoth) && tierTwo(newcomer, m_queue.value(other), nowMs)) {
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

    /// The earliest wait end or language phase start of a queued user after `nowMs`.
    std::optional<qint64> futureDeadline(qint64 nowMs) const
    {
        std::optional<qint64> deadline;
        const auto consider = [&](bool applies, qint64 at) {
            if (applies && at > nowMs && (!deadline || at < *deadline)) {
                deadline = at;
            }
        };
        for (const Queued &user : m_queue) {
            const bool interests = !user.interests.isEmpty();
            const bool language = !user.language.isEmpty();
            consider(interests || language, user.atMs + m_waitMs);
            consider(interests && language, user.atMs + m_waitMs / 2);
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

class TestMatchmakerRandom : public QObject
{
    Q_OBJECT

private slots:
    void randomizedInvariants_data();
    void randomizedInvariants();
    void burstWithoutInterests();
    void burstSharingInterests();
    void burstFallbackThroughExpire();
};

void TestMatchmakerRandom::randomizedInvariants_data()
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

void TestMatchmakerRandom::randomizedInvariants()
{
    QFETCH(quint32, seed);
    QFETCH(qint64, wait);
    QFETCH(UserKey, users);

    constexpr int Steps = 5000;
    const UserKey Users = users;
    const QStringList pool{"a", "b", "c", "d", "e"};
    const QStringList languages{"", "", "en", "zh", "zh"};

    QRandomGenerator rng(seed);
    Matchmaker mm(wait);
    Model model(wait);
    qint64 now = 0;
    int enqueueMatches = 0;
    int expireMatches = 0;
    int previousRematches = 0;
    int languageOnly = 0;       // tier 2 matches: the same language, no interest and not both open
    int crossLanguageWaits = 0; // a shared interest, other languages: not paired at once

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
        QCOMPARE(match.commonLanguage, first.language == second.language ? first.language : "");
        if (!Model::tierOne(first, second) &&
            !(model.open(first, now) && model.open(second, now))) {
            ++languageOnly;
        }
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
            const QString language = languages.at(int(rng.bounded(languages.size())));
            const int before = mm.queuedCount();
            if (model.m_queue.contains(user)) {
                QVERIFY2(!mm.enqueue(user, interests, language, now), "queued twice gave a match");
                QCOMPARE(mm.queuedCount(), before);
            } else {
                Model::Queued queued;
                for (const QString &interest : interests) {
                    if (!queued.interests.contains(interest)) {
                        queued.interests.append(interest);
                    }
                }
                queued.language = language;
                queued.atMs = now;
                queued.sequence = model.m_nextSequence++;
                const auto expected = model.expectedPartner(user, queued, now);
                const int withBoth = int(model.m_queue.size()) + 1;
                model.m_queue.insert(user, queued);
                const auto match = mm.enqueue(user, interests, language, now);
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
                        if (it.key() != user && Model::shares(queued, it.value()) &&
                            !Model::tierOne(queued, it.value())) {
                            ++crossLanguageWaits;
                        }
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
    qInfo("%d matches by enqueue, %d by expire, %d previous partners re-paired, %d by language "
          "alone, %d waits beside a sharer of another language",
          enqueueMatches, expireMatches, previousRematches, languageOnly, crossLanguageWaits);
    QVERIFY(enqueueMatches > 200);
    if (wait > 0) {
        QVERIFY(expireMatches > 50);
        QVERIFY(languageOnly > 20);
        QVERIFY(crossLanguageWaits > 0);
    }
    QVERIFY(previousRematches > 0);
}

void TestMatchmakerRandom::burstWithoutInterests()
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

void TestMatchmakerRandom::burstSharingInterests()
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

void TestMatchmakerRandom::burstFallbackThroughExpire()
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

QTEST_GUILESS_MAIN(TestMatchmakerRandom)
#include "tst_matchmaker_random.moc"
