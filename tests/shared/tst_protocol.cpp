// Conformance tests of the protocol library (shared/) against docs/PROTOCOL.md: the document's
// tables of events, error codes, leave reasons and limits read from the file itself; round trips
// of every event through encode() and the decoders; server frames as clients decode them;
// timestamps and code points. Client frames: tst_protocol_client; the direct server-frame writer:
// tst_protocol_encoder.

#include "tests/shared/protocolsuite.h"

using namespace anonchat::protocol;
using namespace anonchat::test::protocolsuite;

class TestProtocol : public QObject
{
    Q_OBJECT

private slots:
    void nameTablesComplete();
    void wireNamesMatchProtocol();
    void limitsMatchProtocol();
    void clientRoundTrip_data();
    void clientRoundTrip();
    void serverRoundTrip_data();
    void serverRoundTrip();
    void encodeShape();
    void everyErrorCodeRoundTrips();
    void timestampFormat_data();
    void timestampFormat();
    void timestampParsing_data();
    void timestampParsing();
    void decodeServerErrors_data();
    void decodeServerErrors();
    void decodeServerLenient();
    void codePointCounting_data();
    void codePointCounting();
};

void TestProtocol::nameTablesComplete()
{
    QCOMPARE(int(std::variant_size_v<ClientMessage>), kClientEventCount);
    QCOMPARE(int(std::variant_size_v<ServerMessage>), kServerEventCount);

    QSet<QString> clientNames;
    for (int i = 0; i < kClientEventCount; ++i) {
        const auto event = static_cast<ClientEvent>(i);
        const QString name = eventName(event);
        QVERIFY2(!name.isEmpty(), qPrintable(QString::number(i)));
        QVERIFY2(clientEventFromName(name) == event, qPrintable(name));
        QVERIFY2(!serverEventFromName(name), qPrintable(name)); // a client name is no server name
        QVERIFY2(!clientNames.contains(name), qPrintable(name));
        clientNames.insert(name);
    }
    QCOMPARE(clientNames.size(), kClientEventCount);

    QSet<QString> serverNames;
    for (int i = 0; i < kServerEventCount; ++i) {
        const auto event = static_cast<ServerEvent>(i);
        const QString name = eventName(event);
        QVERIFY2(!name.isEmpty(), qPrintable(QString::number(i)));
        QVERIFY2(serverEventFromName(name) == event, qPrintable(name));
        QVERIFY2(!clientEventFromName(name), qPrintable(name));
        QVERIFY2(!serverNames.contains(name), qPrintable(name));
        serverNames.insert(name);
    }
    QCOMPARE(serverNames.size(), kServerEventCount);

    QSet<QString> errorNames;
    for (int i = 0; i < kErrorCodeCount; ++i) {
        const auto code = static_cast<ErrorCode>(i);
        const QString name = errorCodeName(code);
        QVERIFY2(!name.isEmpty(), qPrintable(QString::number(i)));
        QVERIFY2(errorCodeFromName(name) == code, qPrintable(name));
        QVERIFY2(!errorNames.contains(name), qPrintable(name));
        errorNames.insert(name);
    }
    QCOMPARE(errorNames.size(), kErrorCodeCount);

    for (const LeaveReason reason :
         {LeaveReason::Left, LeaveReason::Next, LeaveReason::Disconnected})
        QVERIFY(leaveReasonFromName(leaveReasonName(reason)) == reason);

    // Names are exact: no case folding, no trimming, no prefixes.
    for (const char *name :
         {"", "JOIN_QUEUE", "Join_Queue", " join_queue", "join_queue ", "join", "leave_room"}) {
        QVERIFY2(!clientEventFromName(QString::fromLatin1(name)), name);
    }
    QVERIFY(!clientEventFromName(QStringLiteral("join_queue\u0000")));
    QVERIFY(!serverEventFromName(QStringLiteral("Welcome")));
    QVERIFY(!serverEventFromName(QStringLiteral("message")));
    QVERIFY(!errorCodeFromName(QStringLiteral("BAD_JSON")));
    QVERIFY(!errorCodeFromName(QStringLiteral("unknown")));
    QVERIFY(!leaveReasonFromName(QStringLiteral("server_restart")));
    QVERIFY(!leaveReasonFromName(QStringLiteral("Left")));
}

void TestProtocol::wireNamesMatchProtocol()
{
    // The tables of docs/PROTOCOL.md, read from the document itself, against shared/events.h.
    const ProtocolTable clientTable = protocolTable(QStringLiteral("## Client → server events"));
    const ProtocolTable serverTable = protocolTable(QStringLiteral("## Server → client events"));
    const ProtocolTable errorTable = protocolTable(QStringLiteral("## Errors"));
    const ProtocolTable reasonTable = protocolTable(QStringLiteral("### Leave reasons"));
    for (const ProtocolTable *t : {&clientTable, &serverTable, &errorTable, &reasonTable})
        QVERIFY2(t->faults.isEmpty(), qPrintable(t->faults.join(QLatin1Char('\n'))));

    QStringList clientEvents;
    for (int i = 0; i < kClientEventCount; ++i)
        clientEvents << eventName(static_cast<ClientEvent>(i));
    QStringList serverEvents;
    for (int i = 0; i < kServerEventCount; ++i)
        serverEvents << eventName(static_cast<ServerEvent>(i));
    QStringList errorCodes;
    for (int i = 0; i < kErrorCodeCount; ++i)
        errorCodes << errorCodeName(static_cast<ErrorCode>(i));
    QStringList leaveReasons;
    for (const LeaveReason reason :
         {LeaveReason::Left, LeaveReason::Next, LeaveReason::Disconnected})
        leaveReasons << leaveReasonName(reason);

    // Sorted first, so that a difference shows as a name and not as an order; then the order,
    // which the document keeps as the tables of events.h have it.
    QCOMPARE(sorted(clientEvents), sorted(clientTable.keys));
    QCOMPARE(sorted(serverEvents), sorted(serverTable.keys));
    QCOMPARE(sorted(errorCodes), sorted(errorTable.keys));
    QCOMPARE(clientEvents, clientTable.keys);
    QCOMPARE(serverEvents, serverTable.keys);
    QCOMPARE(errorCodes, errorTable.keys);
    QCOMPARE(leaveReasons, reasonTable.keys);
}

void TestProtocol::limitsMatchProtocol()
{
    const ProtocolTable limits = protocolTable(QStringLiteral("## Limits"));
    QVERIFY2(limits.faults.isEmpty(), qPrintable(limits.faults.join(QLatin1Char('\n'))));
    const QHash<QString, qint64> code{
        {QStringLiteral("protocol"), kProtocolVersion},
        {QStringLiteral("max_message_chars"), kMaxMessageChars},
        {QStringLiteral("max_interests"), kMaxInterests},
        {QStringLiteral("max_interest_chars"), kMaxInterestChars},
        {QStringLiteral("max_nonce_chars"), kMaxNonceChars},
        {QStringLiteral("max_report_reason_chars"), kMaxReportReasonChars},
        {QStringLiteral("max_resume_token_chars"), kMaxResumeTokenChars},
        {QStringLiteral("max_pow_nonce_chars"), kMaxPowNonceChars},
        {QStringLiteral("pow_challenge_bytes"), kPowChallengeBytes},
        {QStringLiteral("max_pow_bits"), kMaxPowBits},
        {QStringLiteral("max_language_chars"), kMaxLanguageChars},
        {QStringLiteral("max_frame_bytes"), kMaxFrameBytes},
        {QStringLiteral("typing_expiry_ms"), kTypingExpiryMs},
    };
    QCOMPARE(sorted(limits.keys), sorted(code.keys()));
    for (const QString &name : limits.keys) {
        bool ok = false;
        const qint64 documented = limits.second.value(name).toLongLong(&ok);
        QVERIFY2(ok, qPrintable(name + QStringLiteral(": not a number in the document")));
        QCOMPARE(documented, code.value(name));
    }

    // welcome.data.limits carries the first three, under the same names.
    const QJsonObject welcome = QJsonDocument::fromJson(encode(Welcome{})).object();
    const QJsonObject sent =
        welcome.value(QLatin1String("data")).toObject().value(QLatin1String("limits")).toObject();
    QCOMPARE(sent.keys(),
             (QStringList{QStringLiteral("max_interest_chars"), QStringLiteral("max_interests"),
                          QStringLiteral("max_message_chars")}));
    for (const QString &name : sent.keys())
        QCOMPARE(qint64(sent.value(name).toInt()), code.value(name));
}

void TestProtocol::clientRoundTrip_data()
{
    QTest::addColumn<int>("index");
    const auto &samples = clientSamples();
    for (int i = 0; i < samples.size(); ++i)
        QTest::newRow(samples[i].name) << i;

    // Every event is covered.
    QSet<int> covered;
    for (const auto &s : samples)
        covered.insert(int(s.message.index()));
    QCOMPARE(covered.size(), kClientEventCount);
}

void TestProtocol::clientRoundTrip()
{
    QFETCH(int, index);
    const Sample<ClientMessage> &sample = clientSamples().at(index);

    const QByteArray bytes = encode(sample.message);
    bool ok = false;
    const QJsonObject data = checkedEnvelope(bytes, eventName(eventOf(sample.message)), &ok);
    QVERIFY2(ok, bytes.constData());
    QCOMPARE(sorted(data.keys()), sorted(sample.keys));
    QCOMPARE(encodeText(sample.message), QString::fromUtf8(bytes));

    const ClientDecodeResult decoded = decodeClientFrame(bytes);
    QVERIFY2(std::holds_alternative<ClientMessage>(decoded), qPrintable(dump(decoded)));
    QCOMPARE(dump(decoded), dump(sample.message));
    QCOMPARE(dump(decodeClientFrame(encodeText(sample.message))), dump(sample.message));
}

void TestProtocol::serverRoundTrip_data()
{
    QTest::addColumn<int>("index");
    const auto &samples = serverSamples();
    for (int i = 0; i < samples.size(); ++i)
        QTest::newRow(samples[i].name) << i;

    QSet<int> covered;
    for (const auto &s : samples)
        covered.insert(int(s.message.index()));
    QCOMPARE(covered.size(), kServerEventCount);
}

void TestProtocol::serverRoundTrip()
{
    QFETCH(int, index);
    const Sample<ServerMessage> &sample = serverSamples().at(index);

    const QByteArray bytes = encode(sample.message);
    bool ok = false;
    const QJsonObject data = checkedEnvelope(bytes, eventName(eventOf(sample.message)), &ok);
    QVERIFY2(ok, bytes.constData());
    QCOMPARE(sorted(data.keys()), sorted(sample.keys));
    QCOMPARE(encodeText(sample.message), QString::fromUtf8(bytes));

    // The shapes of the nested objects of PROTOCOL.md.
    if (const auto *welcome = std::get_if<Welcome>(&sample.message)) {
        const QJsonObject limits = data.value(QLatin1String("limits")).toObject();
        QCOMPARE(sorted(limits.keys()),
                 sorted({"max_message_chars", "max_interests", "max_interest_chars"}));
        QCOMPARE(limits.value(QLatin1String("max_message_chars")).toInt(),
                 welcome->limits.maxMessageChars);
        QCOMPARE(data.value(QLatin1String("protocol")).toInt(), 1);
    }
    if (const auto *resumed = std::get_if<Resumed>(&sample.message)) {
        const QJsonValue room = data.value(QLatin1String("room"));
        if (!resumed->room) {
            QVERIFY(room.isNull()); // present and null, not omitted
        } else {
            QVERIFY(room.isObject());
            QCOMPARE(sorted(room.toObject().keys()), sorted({"room_id", "partner_id", "messages"}));
            const QJsonArray messages = room.toObject().value(QLatin1String("messages")).toArray();
            QCOMPARE(messages.size(), resumed->room->messages.size());
            for (int i = 0; i < messages.size(); ++i) {
                QStringList keys{"id", "room_id", "sender_id", "content", "timestamp"};
                if (!resumed->room->messages[i].nonce.isEmpty())
                    keys << QStringLiteral("nonce");
                QCOMPARE(sorted(messages[i].toObject().keys()), sorted(keys));
            }
        }
    }
    if (const auto *left = std::get_if<PartnerLeft>(&sample.message))
        QCOMPARE(data.value(QLatin1String("reason")).toString(), leaveReasonName(left->reason));
    if (const auto *error = std::get_if<Error>(&sample.message))
        QCOMPARE(data.value(QLatin1String("code")).toString(), errorCodeName(error->code));

    const ServerDecodeResult decoded = decodeServerFrame(bytes);
    QVERIFY2(std::holds_alternative<ServerMessage>(decoded), qPrintable(dump(decoded)));
    QCOMPARE(dump(decoded), dump(sample.message));
    QCOMPARE(dump(decodeServerFrame(encodeText(sample.message))), dump(sample.message));
}

void TestProtocol::encodeShape()
{
    // Default-constructed messages: `data` is omitted exactly when there is nothing to send.
    const QSet<QString> clientWithoutData{"join_queue", "leave_queue", "leave_room_event",
                                          "next",       "report",      "get_stats"};
    for (const ClientMessage &m : everyAlternative<ClientMessage>()) {
        const QString name = eventName(eventOf(m));
        const QByteArray bytes = encode(m);
        bool ok = false;
        const QJsonObject data = checkedEnvelope(bytes, name, &ok);
        QVERIFY2(ok, bytes.constData());
        QVERIFY2(!bytes.contains('\n'), bytes.constData()); // compact: one line
        QCOMPARE(data.isEmpty(), clientWithoutData.contains(name));
        QCOMPARE(encodeText(m), QString::fromUtf8(bytes));
        if (clientWithoutData.contains(name))
            QCOMPARE(bytes, QByteArray(R"({"event":")" + name.toLatin1() + R"("})"));
    }
    const QSet<QString> serverWithoutData{"queue_left"};
    for (const ServerMessage &m : everyAlternative<ServerMessage>()) {
        const QString name = eventName(eventOf(m));
        const QByteArray bytes = encode(m);
        bool ok = false;
        const QJsonObject data = checkedEnvelope(bytes, name, &ok);
        QVERIFY2(ok, bytes.constData());
        QVERIFY2(!bytes.contains('\n'), bytes.constData());
        QCOMPARE(data.isEmpty(), serverWithoutData.contains(name));
        QCOMPARE(encodeText(m), QString::fromUtf8(bytes));
    }

    // Non-ASCII content goes out as UTF-8, not as escapes a reader would have to undo.
    const QByteArray bytes = encode(ClientMessage(SendMessage{"你好😀", {}}));
    QVERIFY2(bytes.contains("你好😀"), bytes.constData());
}

void TestProtocol::everyErrorCodeRoundTrips()
{
    for (int i = 0; i < kErrorCodeCount; ++i) {
        const auto code = static_cast<ErrorCode>(i);
        const Error error{code, QStringLiteral("why"), QStringLiteral("send_message"),
                          code == ErrorCode::RateLimited ? 1500 : -1};
        const ServerDecodeResult decoded = decodeServerFrame(encode(ServerMessage(error)));
        QVERIFY2(std::holds_alternative<ServerMessage>(decoded), qPrintable(dump(decoded)));
        QCOMPARE(dump(decoded), dump(ServerMessage(error)));
    }
}

void TestProtocol::timestampFormat_data()
{
    QTest::addColumn<QDateTime>("time");
    QTest::addColumn<QString>("text");

    QTest::newRow("PROTOCOL.md example")
        << utc(2026, 11, 23, 22, 41, 7, 123) << QStringLiteral("2026-11-23T22:41:07.123Z");
    QTest::newRow("whole second") << utc(2026, 11, 23, 22, 41, 7, 0)
                                  << QStringLiteral("2026-11-23T22:41:07.000Z");
    QTest::newRow("small ms padded")
        << utc(2026, 1, 2, 3, 4, 5, 7) << QStringLiteral("2026-01-02T03:04:05.007Z");
    QTest::newRow("end of year") << utc(1999, 12, 31, 23, 59, 59, 999)
                                 << QStringLiteral("1999-12-31T23:59:59.999Z");
    QTest::newRow("offset converted to UTC")
        << QDateTime(QDate(2026, 11, 24), QTime(6, 41, 7, 123), Qt::OffsetFromUTC, 8 * 3600)
        << QStringLiteral("2026-11-23T22:41:07.123Z");
    QTest::newRow("negative offset across midnight")
        << QDateTime(QDate(2026, 11, 23), QTime(20, 0, 0, 500), Qt::OffsetFromUTC, -5 * 3600)
        << QStringLiteral("2026-11-24T01:00:00.500Z");
}

void TestProtocol::timestampFormat()
{
    QFETCH(QDateTime, time);
    QFETCH(QString, text);

    QCOMPARE(formatTimestamp(time), text);

    const QDateTime parsed = parseTimestamp(text);
    QVERIFY(parsed.isValid());
    QCOMPARE(parsed.timeSpec(), Qt::UTC);
    QCOMPARE(parsed.toMSecsSinceEpoch(), time.toMSecsSinceEpoch());

    // On the wire, exactly this string; decoded, the same instant in UTC.
    NewMessage m;
    m.id = 1;
    m.roomId = 2;
    m.senderId = QStringLiteral("3f2a9c1b");
    m.content = QStringLiteral("x");
    m.timestamp = time;
    const QByteArray bytes = encode(ServerMessage(m));
    const QJsonObject data = QJsonDocument::fromJson(bytes).object().value("data").toObject();
    QCOMPARE(data.value(QLatin1String("timestamp")).toString(), text);
    const ServerDecodeResult decoded = decodeServerFrame(bytes);
    QVERIFY2(std::holds_alternative<ServerMessage>(decoded), qPrintable(dump(decoded)));
    const auto *back = std::get_if<NewMessage>(&std::get<ServerMessage>(decoded));
    QVERIFY(back);
    QCOMPARE(back->timestamp.timeSpec(), Qt::UTC);
    QCOMPARE(back->timestamp.toMSecsSinceEpoch(), time.toMSecsSinceEpoch());
    QCOMPARE(formatTimestamp(back->timestamp), text);
}

void TestProtocol::timestampParsing_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QDateTime>("expected"); ///< invalid: refused

    const QDateTime example = utc(2026, 11, 23, 22, 41, 7, 123);
    QTest::newRow("milliseconds Z") << QStringLiteral("2026-11-23T22:41:07.123Z") << example;
    QTest::newRow("offset") << QStringLiteral("2026-11-23T23:41:07.123+01:00") << example;
    QTest::newRow("no milliseconds")
        << QStringLiteral("2026-11-23T22:41:07Z") << utc(2026, 11, 23, 22, 41, 7, 0);
    QTest::newRow("empty") << QString() << QDateTime();
    QTest::newRow("garbage") << QStringLiteral("yesterday") << QDateTime();
    QTest::newRow("bad month") << QStringLiteral("2026-13-23T22:41:07.123Z") << QDateTime();
    QTest::newRow("epoch number") << QStringLiteral("1795466467123") << QDateTime();
}

void TestProtocol::timestampParsing()
{
    QFETCH(QString, text);
    QFETCH(QDateTime, expected);

    const QDateTime parsed = parseTimestamp(text);
    QCOMPARE(parsed.isValid(), expected.isValid());
    if (expected.isValid()) {
        QCOMPARE(parsed.timeSpec(), Qt::UTC);
        QCOMPARE(parsed.toMSecsSinceEpoch(), expected.toMSecsSinceEpoch());
    }
}

void TestProtocol::decodeServerErrors_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("event");

    const auto row = [](const char *name, const QByteArray &frame, const char *code,
                        const char *event) {
        QTest::newRow(name) << frame << QString::fromLatin1(code) << QString::fromLatin1(event);
    };
    row("not JSON", "nope", "bad_json", "");
    row("array", "[]", "bad_json", "");
    row("invalid UTF-8", "{\"event\":\"new_message\",\"\xff\":1}", "bad_json", "");
    row("event missing", R"({"data":{}})", "unknown_event", "");
    row("client event name", R"({"event":"send_message","data":{"content":"hi"}})", "unknown_event",
        "send_message");
    row("unknown name", R"({"event":"partner_sneezed"})", "unknown_event", "partner_sneezed");
    row("data not object", R"({"event":"waiting","data":[]})", "invalid_data", "waiting");
    row("unknown name, data not object", R"({"event":"partner_sneezed","data":[]})",
        "unknown_event", "partner_sneezed");
    row("welcome without user_id", R"({"event":"welcome","data":{"resume_token":"t"}})",
        "invalid_data", "welcome");
    row("welcome limits not object",
        R"({"event":"welcome","data":{"user_id":"a","resume_token":"t","limits":5}})",
        "invalid_data", "welcome");
    row("waiting online string", R"({"event":"waiting","data":{"online":"4"}})", "invalid_data",
        "waiting");
    const auto welcomePow = [](const char *pow) {
        return QByteArray(R"({"event":"welcome","data":{"user_id":"a","resume_token":"t","pow":)") +
               pow + "}}";
    };
    row("welcome pow challenge short", welcomePow(R"({"challenge":"00ff","bits":8})"),
        "invalid_data", "welcome");
    row("welcome pow challenge upper case",
        welcomePow(R"({"challenge":"00FF102030405060708090A0B0C0D0E0","bits":8})"), "invalid_data",
        "welcome");
    row("welcome pow challenge not hex",
        welcomePow(R"({"challenge":"zzff102030405060708090a0b0c0d0e0","bits":8})"), "invalid_data",
        "welcome");
    row("welcome pow bits over the limit",
        welcomePow(R"({"challenge":"00ff102030405060708090a0b0c0d0e0","bits":25})"), "invalid_data",
        "welcome");
    row("welcome pow without bits",
        welcomePow(R"({"challenge":"00ff102030405060708090a0b0c0d0e0"})"), "invalid_data",
        "welcome");
    row("matched room_id string",
        R"({"event":"matched","data":{"room_id":"1","partner_id":"a","common_interests":[]}})",
        "invalid_data", "matched");
    row("matched room_id fraction",
        R"({"event":"matched","data":{"room_id":1.5,"partner_id":"a"}})", "invalid_data",
        "matched");
    row("matched common_interests not strings",
        R"({"event":"matched","data":{"room_id":1,"partner_id":"a","common_interests":[1]}})",
        "invalid_data", "matched");
    row("new_message bad timestamp",
        R"({"event":"new_message","data":{"id":1,"room_id":2,"sender_id":"a","content":"x","timestamp":"soon"}})",
        "invalid_data", "new_message");
    row("new_message without content",
        R"({"event":"new_message","data":{"id":1,"room_id":2,"sender_id":"a","timestamp":"2026-11-23T22:41:07.123Z"}})",
        "invalid_data", "new_message");
    row("partner_typing not bool", R"({"event":"partner_typing","data":{"typing":"yes"}})",
        "invalid_data", "partner_typing");
    row("partner_left unknown reason",
        R"({"event":"partner_left","data":{"room_id":1,"reason":"bored"}})", "invalid_data",
        "partner_left");
    row("room_left without room_id", R"({"event":"room_left"})", "invalid_data", "room_left");
    row("resumed room not object",
        R"({"event":"resumed","data":{"user_id":"a","resume_token":"t","room":"r"}})",
        "invalid_data", "resumed");
    row("resumed messages not list",
        R"({"event":"resumed","data":{"user_id":"a","resume_token":"t","room":{"room_id":1,"partner_id":"b","messages":{}}}})",
        "invalid_data", "resumed");
    row("resumed bad message",
        R"({"event":"resumed","data":{"user_id":"a","resume_token":"t","room":{"room_id":1,"partner_id":"b","messages":[{"id":"x"}]}}})",
        "invalid_data", "resumed");
    row("error without code", R"({"event":"error","data":{"message":"m"}})", "invalid_data",
        "error");
    row("error retry_after_ms string",
        R"({"event":"error","data":{"code":"rate_limited","message":"m","retry_after_ms":"5"}})",
        "invalid_data", "error");
}

void TestProtocol::decodeServerErrors()
{
    QFETCH(QByteArray, frame);
    QFETCH(QString, code);
    QFETCH(QString, event);

    const ServerDecodeResult result = decodeServerFrame(frame);
    QVERIFY2(std::holds_alternative<DecodeError>(result), qPrintable(dump(result)));
    const DecodeError &error = std::get<DecodeError>(result);
    QCOMPARE(errorCodeName(error.code), code);
    QCOMPARE(error.event, event);
    QVERIFY(!error.message.isEmpty());
}

void TestProtocol::decodeServerLenient()
{
    // Unknown keys anywhere in a server frame are ignored.
    const ServerDecodeResult welcome = decodeServerFrame(QByteArray(
        R"({"event":"welcome","motd":"hi","data":{"user_id":"3f2a9c1b","resume_token":"t",)"
        R"("protocol":1,"online":3,"features":["x"],)"
        R"("limits":{"max_message_chars":500,"max_interests":5,"max_interest_chars":32,"max_x":1}}})"));
    QCOMPARE(dump(welcome),
             dump(ServerMessage(Welcome{"3f2a9c1b", "t", 1, 3, Limits{500, 5, 32}})));

    // An error code from a newer server is still an error.
    const ServerDecodeResult error = decodeServerFrame(
        QByteArray(R"({"event":"error","data":{"code":"future_code","message":"m"}})"));
    QVERIFY2(std::holds_alternative<ServerMessage>(error), qPrintable(dump(error)));
    const auto *e = std::get_if<Error>(&std::get<ServerMessage>(error));
    QVERIFY(e);
    QCOMPARE(e->message, QStringLiteral("m"));

    // A room of null is no room; a message's nonce is optional.
    const ServerDecodeResult resumed = decodeServerFrame(
        QByteArray(R"({"event":"resumed","data":{"user_id":"a","resume_token":"t","room":null}})"));
    QCOMPARE(dump(resumed), dump(ServerMessage(Resumed{"a", "t", std::nullopt})));
}

void TestProtocol::codePointCounting_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("count");

    QTest::newRow("empty") << QString() << 0;
    QTest::newRow("ASCII") << QStringLiteral("hello, world") << 12;
    QTest::newRow("Latin-1") << QStringLiteral("äöüß") << 4;
    QTest::newRow("CJK") << QStringLiteral("你好世界") << 4;
    QTest::newRow("emoji") << kEmoji << 1;
    QTest::newRow("emoji is two UTF-16 units") << kEmoji.repeated(3) << 3;
    QTest::newRow("mixed") << QStringLiteral("a你😀b") << 4;
    QTest::newRow("skin tone modifier") << QStringLiteral("👍🏽") << 2;
    QTest::newRow("combining accent") << QStringLiteral("e\u0301") << 2;
    QTest::newRow("U+10FFFF") << QString::fromUcs4(U"\U0010FFFF") << 1;
    QTest::newRow("lone high surrogate") << QString(QChar(0xd800)) << 1;
    QTest::newRow("lone low surrogate") << QString(QChar(0xdc00)) << 1;
    QTest::newRow("high surrogate then ASCII")
        << (QString(QChar(0xd83d)) + QStringLiteral("a")) << 2;
    QTest::newRow("high surrogate at the end") << (QStringLiteral("ab") + QChar(0xd83d)) << 3;
    QTest::newRow("low then high") << (QString(QChar(0xde00)) + QChar(0xd83d)) << 2;
    QTest::newRow("two high surrogates") << (QString(QChar(0xd83d)) + QChar(0xd83d)) << 2;
    QTest::newRow("two highs then a low")
        << (QString(QChar(0xd83d)) + QChar(0xd83d) + QChar(0xde00)) << 2;
}

void TestProtocol::codePointCounting()
{
    QFETCH(QString, text);
    QFETCH(int, count);
    QCOMPARE(codePointCount(text), count);
}

QTEST_GUILESS_MAIN(TestProtocol)
#include "tst_protocol.moc"
