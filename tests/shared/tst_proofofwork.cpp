// The proof of work of PROTOCOL.md ("Admission by proof of work"): the hash input's byte order,
// how leading zero bits are counted, the search and its cancel, against vectors computed apart
// (Python's hashlib).

#include "shared/proofofwork.h"

#include <QTest>
#include <atomic>

using namespace anonchat::protocol;

namespace {

const QByteArray kChallenge = QByteArray::fromHex("000102030405060708090a0b0c0d0e0f");

} // namespace

class TstProofOfWork : public QObject
{
    Q_OBJECT

private slots:
    void digestIsChallengeBytesThenUtf8Nonce();
    void leadingZeroBitsFromTheFirstBytesTopBit_data();
    void leadingZeroBitsFromTheFirstBytesTopBit();
    void solvesAtTheDocumentedVector();
    void searchFindsTheFirstSolution();
    void searchStopsWhenCancelled();
    void loneSurrogateNeverSolves();
};

void TstProofOfWork::digestIsChallengeBytesThenUtf8Nonce()
{
    // sha256(bytes(range(16)) + b"42")
    QCOMPARE(powDigest(kChallenge, QStringLiteral("42")).toHex(),
             QByteArray("e5f022734f83dcfebe0e0d0a8eb1ebf9c2b42e50c04bf5a59c8de0e1d2c654cb"));
    QCOMPARE(powDigest(kChallenge, QStringLiteral("42")).size(), 32);
}

void TstProofOfWork::leadingZeroBitsFromTheFirstBytesTopBit_data()
{
    QTest::addColumn<QByteArray>("digest");
    QTest::addColumn<int>("bits");
    QTest::newRow("top bit set") << QByteArray::fromHex("80ff") << 0;
    QTest::newRow("0x7f") << QByteArray::fromHex("7f00") << 1;
    QTest::newRow("0x01") << QByteArray::fromHex("01") << 7;
    QTest::newRow("0x00 0x0f") << QByteArray::fromHex("000f") << 12;
    QTest::newRow("0x00 0x10") << QByteArray::fromHex("0010ff") << 11;
    QTest::newRow("0x00 0x00 0x01") << QByteArray::fromHex("000001") << 23;
    QTest::newRow("all zero") << QByteArray(32, '\0') << 256;
}

void TstProofOfWork::leadingZeroBitsFromTheFirstBytesTopBit()
{
    QFETCH(QByteArray, digest);
    QFETCH(int, bits);
    QCOMPARE(leadingZeroBits(digest), bits);
}

void TstProofOfWork::solvesAtTheDocumentedVector()
{
    // sha256(bytes(range(16)) + b"450") = 000600233df7...: 13 leading zero bits.
    QCOMPARE(leadingZeroBits(powDigest(kChallenge, QStringLiteral("450"))), 13);
    QVERIFY(powSolves(kChallenge, QStringLiteral("450"), 12));
    QVERIFY(powSolves(kChallenge, QStringLiteral("450"), 13));
    QVERIFY(!powSolves(kChallenge, QStringLiteral("450"), 14));
    QVERIFY(!powSolves(kChallenge, QStringLiteral("42"), 1)); // e5...: none
    QVERIFY(powSolves(kChallenge, QStringLiteral("42"), 0));
}

void TstProofOfWork::searchFindsTheFirstSolution()
{
    const std::atomic<bool> cancel{false};
    quint64 reported = 0;
    const std::optional<QString> nonce =
        solvePow(kChallenge, 12, cancel, [&reported](quint64 tries) { reported = tries; });
    QCOMPARE(nonce, std::optional<QString>(QStringLiteral("450"))); // 0..449 have fewer
    QCOMPARE(reported, quint64(0));                                 // under 4096 tries
    // A harder one, checked by the verifier, with progress reported on the way.
    const std::optional<QString> harder =
        solvePow(kChallenge, 16, cancel, [&reported](quint64 tries) { reported = tries; });
    QVERIFY(harder);
    QVERIFY(powSolves(kChallenge, *harder, 16));
    QVERIFY(reported == 0 || reported <= harder->toULongLong());
}

void TstProofOfWork::searchStopsWhenCancelled()
{
    std::atomic<bool> cancel{false};
    int calls = 0;
    // 64 bits: never found; cancelled from the progress callback after two reports.
    const std::optional<QString> nonce = solvePow(kChallenge, 64, cancel, [&](quint64) {
        if (++calls == 2)
            cancel = true;
    });
    QVERIFY(!nonce);
    QCOMPARE(calls, 2);
}

void TstProofOfWork::loneSurrogateNeverSolves()
{
    QVERIFY(!powSolves(kChallenge, QString(QChar(0xd800)), 0));
    QVERIFY(powSolves(kChallenge, QStringLiteral("读"), 0));
}

QTEST_GUILESS_MAIN(TstProofOfWork)
#include "tst_proofofwork.moc"
