// RedisLink's shared queue (server/cluster/lua/*.lua) with languages, on the real Redis of the
// ctest fixture (scripts/redis.sh): two links are two nodes. The tiers of PROTOCOL.md's
// "Matching" across nodes: a shared interest in a compatible language, then the same language
// once both are in their language phase, then anyone once both are open; `common_language`; the
// queue's keys all gone once everyone is paired.

#include "server/cluster/redisclient.h"
#include "server/cluster/redislink.h"

#include <QFile>
#include <QTest>
#include <memory>

using namespace anonchat::server;

namespace {

constexpr int kTimeoutMs = 5000;

/// What one enqueue() or promote() answered.
struct Answer {
    bool done = false;
    bool ok = false;
    std::optional<ClusterMatch> match;
};

} // namespace

class TestRedisLink : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void sameLanguageAcrossNodes();
    void otherLanguageOnlyWhenOpen();
    void interestAndLanguageBeforeLanguageAlone();
    void languagePhaseBySharingNothingButLanguage();
    void sharerWithoutLanguageIsTierOne();
    void withoutLanguageAsBefore();

private:
    Answer enqueue(RedisLink &link, const QString &user, const QStringList &interests,
                   const QString &language, QueueStage stage);
    Answer promote(RedisLink &link, const QString &user, QueueStage stage);
    RedisReply call(const QList<QByteArray> &args);
    void verifyPaired(const Answer &answer, const QString &partner, int node,
                      const QString &language, const QStringList &interests = {});

    QUrl m_url;
    std::unique_ptr<RedisClient> m_client;
    std::unique_ptr<RedisLink> m_one;
    std::unique_ptr<RedisLink> m_two;
};

void TestRedisLink::initTestCase()
{
    QFile file(QStringLiteral(ANONCHAT_REDIS_URL_FILE));
    QVERIFY2(file.open(QIODevice::ReadOnly), "no Redis: the ctest fixture redis_start did not run");
    // A database of its own on the shared fixture: FLUSHDB between cases disturbs no other suite.
    const QString url = QString::fromUtf8(file.readAll()).trimmed() + QStringLiteral("/9");
    QString error;
    QVERIFY2(RedisClient::parseUrl(url, &m_url, &error), qPrintable(error));
    m_client = std::make_unique<RedisClient>(m_url);
    QVERIFY(m_client->waitConnected(kTimeoutMs));
}

void TestRedisLink::init()
{
    QVERIFY(call({"FLUSHDB"}).isOk());
    QString error;
    m_one = std::make_unique<RedisLink>(RedisLink::Config{m_url});
    QVERIFY2(m_one->start(&error), qPrintable(error));
    m_two = std::make_unique<RedisLink>(RedisLink::Config{m_url});
    QVERIFY2(m_two->start(&error), qPrintable(error));
    QVERIFY(m_one->nodeId() != m_two->nodeId());
}

void TestRedisLink::cleanup()
{
    m_one->stop();
    m_two->stop();
    m_one.reset();
    m_two.reset();
}

Answer TestRedisLink::enqueue(RedisLink &link, const QString &user, const QStringList &interests,
                              const QString &language, QueueStage stage)
{
    auto answer = std::make_shared<Answer>();
    link.enqueue(user, interests, language, stage,
                 [answer](bool ok, std::optional<ClusterMatch> match) {
                     *answer = Answer{true, ok, std::move(match)};
                 });
    (void)QTest::qWaitFor([&] { return answer->done; }, kTimeoutMs); // checked by the caller
    return *answer;
}

Answer TestRedisLink::promote(RedisLink &link, const QString &user, QueueStage stage)
{
    auto answer = std::make_shared<Answer>();
    link.promote(user, stage, [answer](bool ok, std::optional<ClusterMatch> match) {
        *answer = Answer{true, ok, std::move(match)};
    });
    (void)QTest::qWaitFor([&] { return answer->done; }, kTimeoutMs); // checked by the caller
    return *answer;
}

RedisReply TestRedisLink::call(const QList<QByteArray> &args)
{
    auto state = std::make_shared<std::pair<bool, RedisReply>>();
    m_client->command(args, [state](const RedisReply &r) { *state = {true, r}; });
    if (!QTest::qWaitFor([&] { return state->first; }, kTimeoutMs))
        return RedisReply::error("test: no answer within the timeout");
    return state->second;
}

void TestRedisLink::verifyPaired(const Answer &answer, const QString &partner, int node,
                                 const QString &language, const QStringList &interests)
{
    QVERIFY(answer.done);
    QVERIFY(answer.ok);
    QVERIFY2(answer.match, "not paired");
    QCOMPARE(answer.match->partnerId, partner);
    QCOMPARE(answer.match->partnerNode, node);
    QCOMPARE(answer.match->commonLanguage, language);
    QCOMPARE(answer.match->commonInterests, interests);
}

/// Waiting: done, ok, no match.
#define VERIFY_WAITING(answer)                                                                     \
    do {                                                                                           \
        const Answer a = (answer);                                                                 \
        QVERIFY(a.done);                                                                           \
        QVERIFY(a.ok);                                                                             \
        QVERIFY2(!a.match, qPrintable(a.match ? a.match->partnerId : QString()));                  \
    } while (false)

void TestRedisLink::sameLanguageAcrossNodes()
{
    VERIFY_WAITING(enqueue(*m_one, "0000000a", {}, "zh", QueueStage::Language));
    VERIFY_WAITING(enqueue(*m_two, "0000000b", {}, "en", QueueStage::Language));
    verifyPaired(enqueue(*m_two, "0000000c", {}, "zh", QueueStage::Language), "0000000a",
                 m_one->nodeId(), "zh");
    QCOMPARE(call({"ZCARD", "anonchat:q"}).integer, 1);
    QCOMPARE(call({"ZCARD", "anonchat:l:zh"}).integer, 0);
    QCOMPARE(call({"ZCARD", "anonchat:l:en"}).integer, 1);
}

void TestRedisLink::otherLanguageOnlyWhenOpen()
{
    VERIFY_WAITING(enqueue(*m_one, "0000000a", {}, "zh", QueueStage::Language));
    VERIFY_WAITING(enqueue(*m_two, "0000000b", {}, "en", QueueStage::Language));
    VERIFY_WAITING(promote(*m_one, "0000000a", QueueStage::Open)); // b still waits for "en"
    verifyPaired(promote(*m_two, "0000000b", QueueStage::Open), "0000000a", m_one->nodeId(), {});
    // Nothing of the queue is left: `q`, `open`, `l:`, `i:`, `il:`, `u:`.
    QCOMPARE(call({"KEYS", "anonchat:[qoliu]*"}).elements.size(), 0);
}

void TestRedisLink::interestAndLanguageBeforeLanguageAlone()
{
    VERIFY_WAITING(enqueue(*m_one, "0000000a", {}, "zh", QueueStage::Language));
    VERIFY_WAITING(enqueue(*m_one, "0000000b", {"go"}, "en", QueueStage::Interests));
    VERIFY_WAITING(enqueue(*m_two, "0000000c", {"chess"}, "zh", QueueStage::Interests));
    // A shared interest in the same language before the longer-waiting speaker of it (a).
    verifyPaired(enqueue(*m_two, "0000000d", {"go", "chess"}, "zh", QueueStage::Language),
                 "0000000c", m_two->nodeId(), "zh", {"chess"});
    // The sharer of another language (b) is not taken while e waits for its language...
    VERIFY_WAITING(enqueue(*m_two, "0000000e", {"go"}, "zh", QueueStage::Interests));
    // ...then, in its language phase, e takes the speaker of its language.
    verifyPaired(promote(*m_two, "0000000e", QueueStage::Language), "0000000a", m_one->nodeId(),
                 "zh");
    QCOMPARE(call({"ZRANGE", "anonchat:q", "0", "-1"}).elements.size(), 1);
    QCOMPARE(call({"ZRANGE", "anonchat:il:en:go", "0", "-1"}).elements.size(), 1);
    QCOMPARE(call({"EXISTS", "anonchat:il:zh:go", "anonchat:il:zh:chess", "anonchat:l:zh"}).integer,
             0);
}

void TestRedisLink::languagePhaseBySharingNothingButLanguage()
{
    // Both with interests: neither is paired by language before both are in the phase.
    VERIFY_WAITING(enqueue(*m_one, "0000000a", {"go"}, "fr", QueueStage::Interests));
    VERIFY_WAITING(enqueue(*m_two, "0000000b", {"chess"}, "fr", QueueStage::Interests));
    VERIFY_WAITING(promote(*m_two, "0000000b", QueueStage::Language));
    verifyPaired(promote(*m_one, "0000000a", QueueStage::Language), "0000000b", m_two->nodeId(),
                 "fr");
    QCOMPARE(call({"KEYS", "anonchat:[qoliu]*"}).elements.size(), 0);
}

void TestRedisLink::sharerWithoutLanguageIsTierOne()
{
    VERIFY_WAITING(enqueue(*m_one, "0000000a", {"go"}, QString(), QueueStage::Interests));
    verifyPaired(enqueue(*m_two, "0000000b", {"go"}, "zh", QueueStage::Interests), "0000000a",
                 m_one->nodeId(), {}, {"go"});
    VERIFY_WAITING(enqueue(*m_one, "0000000c", {"go"}, "zh", QueueStage::Interests));
    verifyPaired(enqueue(*m_two, "0000000d", {"go"}, QString(), QueueStage::Interests), "0000000c",
                 m_one->nodeId(), {}, {"go"});
}

void TestRedisLink::withoutLanguageAsBefore()
{
    // Open at once without interests and language, but not paired with one waiting for its
    // language; with each other at once.
    VERIFY_WAITING(enqueue(*m_one, "0000000a", {}, "zh", QueueStage::Language));
    VERIFY_WAITING(enqueue(*m_two, "0000000b", {}, QString(), QueueStage::Open));
    verifyPaired(enqueue(*m_one, "0000000c", {}, QString(), QueueStage::Open), "0000000b",
                 m_two->nodeId(), {});
    VERIFY_WAITING(enqueue(*m_two, "0000000d", {}, QString(), QueueStage::Open));
    verifyPaired(promote(*m_one, "0000000a", QueueStage::Open), "0000000d", m_two->nodeId(), {});
}

QTEST_GUILESS_MAIN(TestRedisLink)
#include "tst_redislink.moc"
