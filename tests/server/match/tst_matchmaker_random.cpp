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

/// One randomized run: the Matchmaker and the model driven by the same random operations, and
/// what the run exercised.
class RandomRun
{
public:
    struct Counts {
        int enqueueMatches = 0;
        int expireMatches = 0;
        int previousRematches = 0;
        /// Tier 2 matches: the same language, no interest and not both open.
        int languageOnly = 0;
        /// A shared interest, other languages: not paired at once.
        int crossLanguageWaits = 0;
    };

    RandomRun(quint32 seed, qint64 wait, UserKey users)
        : m_rng(seed)
        , m_mm(wait)
        , m_model(wait)
        , m_users(users)
    {}

    /// Advances the clock, applies one random operation, then checks the Matchmaker against the
    /// model. A failure is left in QTest::currentTestFailed().
    void step(int step);
    const Counts &counts() const { return m_counts; }

private:
    UserKey randomUser() { return UserKey(1 + m_rng.bounded(m_users)); }
    QStringList randomInterests();
    /// Applies the operation `op` (0 to 99) to both.
    void apply(quint32 op);
    void enqueue();
    void enqueueNewcomer(UserKey user, const QStringList &interests, const QString &language);
    /// After an enqueue without a match: nobody queued could be paired with the newcomer now.
    void checkNobodyFits(UserKey user, const Model::Queued &queued);
    void expire();
    /// A match as the server would record it: previous partners, sometimes a report.
    void afterMatch(const Match &match);
    /// Checks one match against the model and takes both users out of it.
    void checkMatch(const Match &match, int queuedWithBoth);
    /// The queue and the blocks agree with the model.
    void checkQueue();
    /// Stable after expire(); otherwise nextDeadline() asks for an expire() now.
    void checkDeadlines(int step, bool expired);

    const QStringList m_pool{"a", "b", "c", "d", "e"};
    const QStringList m_languages{"", "", "en", "zh", "zh"};
    QRandomGenerator m_rng;
    Matchmaker m_mm;
    Model m_model;
    const UserKey m_users;
    qint64 m_now = 0;
    Counts m_counts;
};

void RandomRun::step(int step)
{
    const quint32 jump = m_rng.bounded(100);
    m_now += jump < 30 ? 0 : jump < 90 ? qint64(m_rng.bounded(300)) : qint64(m_rng.bounded(6000));
    const quint32 op = m_rng.bounded(100);
    apply(op);
    if (QTest::currentTestFailed())
        return;
    checkQueue();
    if (QTest::currentTestFailed())
        return;
    checkDeadlines(step, op >= 63);
}

QStringList RandomRun::randomInterests()
{
    QStringList interests;
    const int count = m_rng.bounded(10) < 4 ? 0 : int(m_rng.bounded(1, 4));
    for (int i = 0; i < count; ++i) {
        interests.append(m_pool.at(int(m_rng.bounded(m_pool.size()))));
    }
    return interests;
}

void RandomRun::apply(quint32 op)
{
    if (op < 40) {
        enqueue();
    } else if (op < 50) {
        const UserKey user = randomUser();
        QCOMPARE(m_mm.remove(user), m_model.m_queue.contains(user));
        m_model.m_queue.remove(user);
    } else if (op < 55) {
        const UserKey a = randomUser();
        const UserKey b = m_rng.bounded(10) == 0 ? a : randomUser();
        m_mm.block(a, b);
        m_model.block(a, b);
    } else if (op < 60) {
        const UserKey user = randomUser();
        m_mm.forget(user);
        m_model.forget(user);
    } else if (op < 63) {
        const UserKey a = randomUser();
        const UserKey b = randomUser();
        m_mm.setPreviousPartners(a, b);
        m_model.setPrevious(a, b);
    } else {
        expire();
    }
}

void RandomRun::enqueue()
{
    const UserKey user = randomUser();
    const QStringList interests = randomInterests();
    const QString language = m_languages.at(int(m_rng.bounded(m_languages.size())));
    if (m_model.m_queue.contains(user)) {
        const int before = m_mm.queuedCount();
        QVERIFY2(!m_mm.enqueue(user, interests, language, m_now), "queued twice gave a match");
        QCOMPARE(m_mm.queuedCount(), before);
    } else {
        enqueueNewcomer(user, interests, language);
    }
}

void RandomRun::enqueueNewcomer(UserKey user, const QStringList &interests, const QString &language)
{
    Model::Queued queued;
    for (const QString &interest : interests) {
        if (!queued.interests.contains(interest)) {
            queued.interests.append(interest);
        }
    }
    queued.language = language;
    queued.atMs = m_now;
    queued.sequence = m_model.m_nextSequence++;
    const auto expected = m_model.expectedPartner(user, queued, m_now);
    const int withBoth = int(m_model.m_queue.size()) + 1;
    m_model.m_queue.insert(user, queued);
    const auto match = m_mm.enqueue(user, interests, language, m_now);
    QCOMPARE(bool(match), bool(expected));
    if (match) {
        QCOMPARE(match->first, *expected);
        QCOMPARE(match->second, user);
        checkMatch(*match, withBoth);
        ++m_counts.enqueueMatches;
        afterMatch(*match);
    } else {
        checkNobodyFits(user, queued);
    }
}

void RandomRun::checkNobodyFits(UserKey user, const Model::Queued &queued)
{
    const QMap<UserKey, Model::Queued> &queue = m_model.m_queue;
    for (auto it = queue.cbegin(); it != queue.cend(); ++it) {
        if (it.key() != user && Model::shares(queued, it.value()) &&
            !Model::tierOne(queued, it.value())) {
            ++m_counts.crossLanguageWaits;
        }
        QVERIFY(it.key() == user ||
                !m_model.compatible(user, queued, it.key(), it.value(), m_now, int(queue.size())));
    }
}

void RandomRun::expire()
{
    const std::vector<Match> matches = m_mm.expire(m_now);
    QSet<UserKey> seen;
    for (const Match &match : matches) {
        QVERIFY2(!seen.contains(match.first) && !seen.contains(match.second),
                 "user in two matches");
        seen.insert(match.first);
        seen.insert(match.second);
        checkMatch(match, int(m_model.m_queue.size()));
        ++m_counts.expireMatches;
    }
    for (const Match &match : matches) {
        afterMatch(match);
    }
}

void RandomRun::afterMatch(const Match &match)
{
    if (m_rng.bounded(10) < 7) {
        m_mm.setPreviousPartners(match.first, match.second);
        m_model.setPrevious(match.first, match.second);
    }
    if (m_rng.bounded(10) == 0) {
        m_mm.block(match.first, match.second);
        m_model.block(match.first, match.second);
    }
}

void RandomRun::checkMatch(const Match &match, int queuedWithBoth)
{
    QVERIFY2(match.first != match.second, "self match");
    QVERIFY2(!m_model.blocked(match.first, match.second), "blocked pair matched");
    QVERIFY2(m_model.m_queue.contains(match.first), "first was not queued");
    QVERIFY2(m_model.m_queue.contains(match.second), "second was not queued");
    const Model::Queued &first = m_model.m_queue[match.first];
    const Model::Queued &second = m_model.m_queue[match.second];
    QVERIFY2(first.sequence < second.sequence, "first did not wait longer");
    QVERIFY2(m_model.compatible(match.first, first, match.second, second, m_now, queuedWithBoth),
             "pair not allowed by the rules");
    QCOMPARE(match.commonInterests, Model::common(first, second));
    QCOMPARE(match.commonLanguage, first.language == second.language ? first.language : "");
    if (!Model::tierOne(first, second) &&
        !(m_model.open(first, m_now) && m_model.open(second, m_now))) {
        ++m_counts.languageOnly;
    }
    if (m_model.previous(match.first, match.second)) {
        ++m_counts.previousRematches;
    }
    m_model.m_queue.remove(match.first);
    m_model.m_queue.remove(match.second);
    QVERIFY(!m_mm.contains(match.first));
    QVERIFY(!m_mm.contains(match.second));
}

void RandomRun::checkQueue()
{
    QCOMPARE(m_mm.queuedCount(), int(m_model.m_queue.size()));
    for (UserKey user = 1; user <= m_users; ++user) {
        QCOMPARE(m_mm.contains(user), m_model.m_queue.contains(user));
        for (UserKey other = 1; other <= m_users; ++other) {
            QCOMPARE(m_mm.isBlocked(user, other), m_model.blocked(user, other));
        }
    }
}

void RandomRun::checkDeadlines(int step, bool expired)
{
    const auto pair = m_model.matchablePair(m_now);
    const auto deadline = m_mm.nextDeadline();
    if (expired) {
        QVERIFY2(!pair, qPrintable(QStringLiteral("step %1: %2 and %3 left unmatched")
                                       .arg(step)
                                       .arg(pair ? pair->first : 0)
                                       .arg(pair ? pair->second : 0)));
        QCOMPARE(deadline, m_model.futureDeadline(m_now));
    } else if (pair) {
        QVERIFY2(deadline && *deadline <= m_now,
                 qPrintable(QStringLiteral("step %1: matchable pair, no deadline").arg(step)));
    }
    if (const auto future = m_model.futureDeadline(m_now)) {
        QVERIFY2(deadline && *deadline <= *future, "a wait end is not reported");
    }
}

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
    RandomRun run(seed, wait, users);
    for (int step = 0; step < Steps; ++step) {
        run.step(step);
        if (QTest::currentTestFailed()) {
            qWarning("failed at step %d", step);
            return;
        }
    }

    // The run exercised what it claims to.
    const RandomRun::Counts &counts = run.counts();
    qInfo("%d matches by enqueue, %d by expire, %d previous partners re-paired, %d by language "
          "alone, %d waits beside a sharer of another language",
          counts.enqueueMatches, counts.expireMatches, counts.previousRematches,
          counts.languageOnly, counts.crossLanguageWaits);
    QVERIFY(counts.enqueueMatches > 200);
    if (wait > 0) {
        QVERIFY(counts.expireMatches > 50);
        QVERIFY(counts.languageOnly > 20);
        QVERIFY(counts.crossLanguageWaits > 0);
    }
    QVERIFY(counts.previousRematches > 0);
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
