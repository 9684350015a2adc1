// The direct server-frame writer of the protocol library (shared/encodeserver.cpp) against the
// reference encoder through QJsonDocument (tests/support/referenceencoder.h): byte for byte, on
// every string field, random UTF-16, both copies of `new_message`, and timestamps.

#include "tests/shared/protocolsuite.h"
#include "tests/support/referenceencoder.h"

using namespace anonchat::protocol;
using namespace anonchat::test::protocolsuite;
using anonchat::test::encodeWithQJson;

class TestProtocolEncoder : public QObject
{
    Q_OBJECT

private slots:
    void directEncoderMatchesQJson_data();
    void directEncoderMatchesQJson();
    void directEncoderRandomStrings();
    void newMessageFramesFromOneSerialisation();
    void timestampMatchesQDateTime();
};

// ---- the direct server-frame writer against the QJsonDocument encoder ------------------------

namespace {

// Every string field of every server event set to `s`, so each goes through the escaping.
QVector<ServerMessage> everyStringField(const QString &s)
{
    const QDateTime t = utc(2026, 11, 23, 22, 41, 7, 123);
    QVector<ServerMessage> out;
    out.append(Welcome{s, s, kProtocolVersion, 3, Limits{}});
    out.append(Matched{5, s, {s, QStringLiteral("x"), s}});
    out.append(Matched{6, s, {}, s});
    out.append(newMessage(1, s, {}, t));
    out.append(newMessage(2, s, s, t));
    NewMessage sender = newMessage(3, QStringLiteral("c"), s, t);
    sender.senderId = s;
    out.append(sender);
    out.append(Resumed{s, s, ResumedRoom{7, s, {newMessage(4, s, s, t), newMessage(5, s, {}, t)}}});
    out.append(Error{ErrorCode::RateLimited, s, s, 10});
    out.append(Error{ErrorCode::Internal, s, {}, -1});
    return out;
}

} // namespace

void TestProtocolEncoder::directEncoderMatchesQJson_data()
{
    QTest::addColumn<QString>("text");
    const auto add = [](const char *name, const QString &text) { QTest::newRow(name) << text; };
    add("empty", QString());
    add("ascii", QStringLiteral("hello world"));
    add("quotes and backslashes", QStringLiteral(R"(say "hi" \ back\slash \\ "\")"));
    QString controls;
    for (char16_t c = 0; c < 0x20; ++c)
        controls += QChar(c);
    controls += QChar(0x7f);
    add("every control character and DEL", controls);
    add("U+2028 and U+2029", QStringLiteral("a\u2028b\u2029c"));
    add("markup", QStringLiteral("<script>alert('x')</script> & </b>"));
    add("CJK", QStringLiteral("你好，世界"));
    add("two-byte UTF-8", QStringLiteral("café ñ ß Ω"));
    add("non-BMP", QStringLiteral("😀🎮𝄞 and 𠜎"));
    add("lone high surrogate at the end", QStringLiteral("x") + QChar(0xd83d));
    add("lone high surrogate in the middle",
        QStringLiteral("x") + QChar(0xd83d) + QStringLiteral("y"));
    add("lone low surrogate", QStringLiteral("x") + QChar(0xde00) + QStringLiteral("y"));
    add("reversed pair", QString(QChar(0xde00)) + QChar(0xd83d));
    add("two highs then a low", QString(QChar(0xd83d)) + QChar(0xd83d) + QChar(0xde00));
    add("BOM at the start", QString(QChar(0xfeff)) + QStringLiteral("x"));
    add("BOM in the middle", QStringLiteral("x") + QChar(0xfeff) + QStringLiteral("y"));
    add("BOM after an escaped quote", QStringLiteral("x\"") + QChar(0xfeff) + QChar(0xfeff));
    add("noncharacters", QString(QChar(0xfffe)) + QChar(0xffff) + QChar(0xfdd0));
    add("NUL only", QString(QChar(0)));
    add("long", QStringLiteral("ab\"c\\d\n😀字").repeated(300));
}

void TestProtocolEncoder::directEncoderMatchesQJson()
{
    QFETCH(QString, text);
    for (const ServerMessage &m : everyStringField(text))
        QCOMPARE(encode(m), encodeWithQJson(m));
}

void TestProtocolEncoder::directEncoderRandomStrings()
{
    // Every sample and default message first, then random UTF-16 that favours the edge cases.
    for (const auto &sample : serverSamples())
        QCOMPARE(encode(sample.message), encodeWithQJson(sample.message));
    for (const ServerMessage &m : everyAlternative<ServerMessage>())
        QCOMPARE(encode(m), encodeWithQJson(m));
    QCOMPARE(encode(Stats{-1, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()}),
             encodeWithQJson(
                 Stats{-1, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()}));
    QCOMPARE(encode(RoomLeft{std::numeric_limits<qint64>::max()}),
             encodeWithQJson(RoomLeft{std::numeric_limits<qint64>::max()}));
    QCOMPARE(encode(RoomLeft{-(qint64(1) << 53)}), encodeWithQJson(RoomLeft{-(qint64(1) << 53)}));

    QRandomGenerator random(20261123);
    const char16_t interesting[] = {0,      0x1f,   '"',    '\\',   '/',    0x7f,   0x80,
                                    0x7ff,  0x800,  0x2028, 0xd7ff, 0xd800, 0xdbff, 0xdc00,
                                    0xdfff, 0xe000, 0xfeff, 0xfffd, 0xffff};
    for (int round = 0; round < 3000; ++round) {
        QString s;
        const int length = int(random.bounded(12));
        for (int i = 0; i < length; ++i) {
            switch (random.bounded(4)) {
            case 0: s += QChar(interesting[random.bounded(int(std::size(interesting)))]); break;
            case 1: s += QChar(char16_t(random.bounded(0x80))); break;
            case 2: s += QChar(char16_t(random.bounded(0x10000))); break;
            default: s += QStringLiteral("😀"); break;
            }
        }
        // decodeClientFrame(QString) relies on this: toUtf8() makes valid UTF-8 of anything.
        QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
        (void)QString(decoder.decode(s.toUtf8()));
        QVERIFY(!decoder.hasError());
        for (const ServerMessage &m : everyStringField(s)) {
            const QByteArray direct = encode(m);
            QVERIFY2(direct == encodeWithQJson(m),
                     qPrintable(QString::fromLatin1(s.toUtf8().toHex()) + QLatin1Char(' ') +
                                QString::fromUtf8(direct)));
        }
    }
}

void TestProtocolEncoder::newMessageFramesFromOneSerialisation()
{
    const QDateTime t = utc(2024, 2, 29, 23, 59, 59, 999);
    const QString contents[] = {QStringLiteral("hi"), QStringLiteral("\"q\" \\ \n 😀 \u2028"),
                                QString(QChar(0xfeff)) + QChar(0xd800)};
    for (const QString &content : contents) {
        for (const QString &nonce : {QString(), QStringLiteral("n-1"), QStringLiteral("\"")}) {
            const NewMessage m = newMessage(42, content, nonce, t);
            NewMessage relayed = m;
            relayed.nonce.clear();
            const NewMessageFrames frames = encodeNewMessage(m);
            QCOMPARE(frames.sender, encode(ServerMessage(m)));
            QCOMPARE(frames.partner, encode(ServerMessage(relayed)));
            QCOMPARE(frames.partner, encodeWithQJson(relayed));
            QCOMPARE(frames.sender, encodeWithQJson(m));
        }
    }
}

void TestProtocolEncoder::timestampMatchesQDateTime()
{
    const auto check = [](const QDateTime &t) {
        const QString expected = t.toUTC().toString(Qt::ISODateWithMs);
        if (formatTimestamp(t) != expected) {
            qWarning() << "msecs" << t.toMSecsSinceEpoch();
            return false;
        }
        return true;
    };
    // Every day from 1899 to 2501 (leap years, 1900 and 2100 that are not, 2000 that is), at a
    // time of day that walks through hours, minutes, seconds and milliseconds.
    const QDate first(1899, 1, 1);
    const QDate last(2501, 1, 1);
    int i = 0;
    for (QDate d = first; d < last; d = d.addDays(1), ++i) {
        const QTime time = QTime::fromMSecsSinceStartOfDay(int((qint64(i) * 7919993) % 86400000));
        QVERIFY(check(QDateTime(d, time, Qt::UTC)));
    }
    const QDate leapDays[] = {QDate(2000, 2, 29), QDate(2024, 2, 29),  QDate(1904, 2, 29),
                              QDate(2096, 2, 29), QDate(1900, 3, 1),   QDate(2100, 3, 1),
                              QDate(1970, 1, 1),  QDate(1969, 12, 31), QDate(9999, 12, 31),
                              QDate(1, 1, 1),     QDate(1600, 2, 29),  QDate(2400, 2, 29)};
    for (const QDate &d : leapDays) {
        for (int ms : {0, 1, 999, 59999, 3599999, 86399999})
            QVERIFY(check(QDateTime(d, QTime::fromMSecsSinceStartOfDay(ms), Qt::UTC)));
    }
    QRandomGenerator random(7);
    const qint64 span =
        QDateTime(QDate(9999, 12, 31), QTime(23, 59, 59, 999), Qt::UTC).toMSecsSinceEpoch();
    for (int n = 0; n < 100000; ++n) {
        const qint64 ms = qint64(random.bounded(double(span) * 1.2)) - span / 10;
        QVERIFY(check(QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC)));
    }
    // Other time specs are converted to UTC first; an invalid time stays empty.
    QVERIFY(check(QDateTime(QDate(2024, 2, 29), QTime(1, 2, 3, 4), Qt::OffsetFromUTC, 3600 * 5)));
    QVERIFY(check(QDateTime(QDate(2024, 3, 1), QTime(0, 30), Qt::OffsetFromUTC, 3600)));
    QVERIFY(check(QDateTime(QDate(2024, 2, 29), QTime(23, 30), Qt::OffsetFromUTC, -3600)));
    QVERIFY(check(QDateTime(QDate(2024, 2, 29), QTime(12, 0), Qt::LocalTime)));
    QVERIFY(check(QDateTime()));
    QCOMPARE(formatTimestamp(QDateTime()), QString());
}

QTEST_GUILESS_MAIN(TestProtocolEncoder)
#include "tst_protocol_encoder.moc"
