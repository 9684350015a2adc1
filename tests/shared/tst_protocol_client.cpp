// The protocol library (shared/) on client frames, the server's input, against docs/PROTOCOL.md:
// decoding and validation of every client event, the error code of every refused frame, the
// message content rules and the normalisation of interests and of `lang`.

#include "tests/shared/protocolsuite.h"

using namespace anonchat::protocol;
using namespace anonchat::test::protocolsuite;

class TestProtocolClient : public QObject
{
    Q_OBJECT

private slots:
    void decodeClientValid_data();
    void decodeClientValid();
    void decodeClientErrors_data();
    void decodeClientErrors();
    void messageContentRules_data();
    void messageContentRules();
    void interestsNormalised_data();
    void interestsNormalised();
    void languageNormalised_data();
    void languageNormalised();
};

void TestProtocolClient::decodeClientValid_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QString>("expected");

    const auto row = [](const char *name, const QByteArray &frame, const ClientMessage &m) {
        QTest::newRow(name) << frame << dump(m);
    };

    // Every event, with data and, where PROTOCOL.md allows it, without.
    row("join_queue no data", R"({"event":"join_queue"})", JoinQueue{});
    row("join_queue empty data", R"({"event":"join_queue","data":{}})", JoinQueue{});
    row("join_queue null data", R"({"event":"join_queue","data":null})", JoinQueue{});
    row("join_queue empty interests", R"({"event":"join_queue","data":{"interests":[]}})",
        JoinQueue{});
    row("join_queue null interests", R"({"event":"join_queue","data":{"interests":null}})",
        JoinQueue{});
    row("join_queue interests", R"({"event":"join_queue","data":{"interests":["music","books"]}})",
        JoinQueue{{"music", "books"}});
    row("join_queue interests normalised",
        R"({"event":"join_queue","data":{"interests":[" Music ","MUSIC","","  ","Books"]}})",
        JoinQueue{{"music", "books"}});
    row("leave_queue no data", R"({"event":"leave_queue"})", LeaveQueue{});
    row("leave_queue empty data", R"({"event":"leave_queue","data":{}})", LeaveQueue{});
    row("send_message", R"({"event":"send_message","data":{"content":"hello"}})",
        SendMessage{"hello", {}});
    row("send_message CJK", "{\"event\":\"send_message\",\"data\":{\"content\":\"你好\"}}",
        SendMessage{"你好", {}});
    row("send_message emoji",
        "{\"event\":\"send_message\",\"data\":{\"content\":\"😀👍🏽\"}}",
        SendMessage{"😀👍🏽", {}});
    row("send_message escaped",
        R"({"event":"send_message","data":{"content":"\u4f60\ud83d\ude00"}})",
        SendMessage{"你😀", {}});
    row("send_message with nonce",
        R"({"event":"send_message","data":{"content":"hi","nonce":"c-1"}})",
        SendMessage{"hi", "c-1"});
    row("send_message null nonce",
        R"({"event":"send_message","data":{"content":"hi","nonce":null}})", SendMessage{"hi", {}});
    row("send_message empty nonce",
        R"({"event":"send_message","data":{"content":"hi","nonce":""}})", SendMessage{"hi", {}});
    row("send_message nonce 64 chars",
        clientFrame("send_message", {{"content", "hi"}, {"nonce", QString(64, 'n')}}),
        SendMessage{"hi", QString(64, 'n')});
    row("send_message nonce 64 emoji",
        clientFrame("send_message", {{"content", "hi"}, {"nonce", kEmoji.repeated(64)}}),
        SendMessage{"hi", kEmoji.repeated(64)});
    row("send_message trimmed", R"({"event":"send_message","data":{"content":"  hi there \n\t"}})",
        SendMessage{"hi there", {}});
    row("send_message trimmed ideographic space",
        "{\"event\":\"send_message\",\"data\":{\"content\":\"\u3000你好\u3000\"}}",
        SendMessage{"你好", {}});
    row("send_message inner whitespace kept",
        R"({"event":"send_message","data":{"content":" a  b\n\nc "}})",
        SendMessage{"a  b\n\nc", {}});
    row("send_message markup kept as given",
        R"({"event":"send_message","data":{"content":"<script>alert(1)</script> &amp;"}})",
        SendMessage{"<script>alert(1)</script> &amp;", {}});
    row("send_message NUL kept", R"({"event":"send_message","data":{"content":"a\u0000b"}})",
        SendMessage{QString::fromUtf16(u"a\0b", 3), {}});
    row("send_message sender_id ignored",
        R"({"event":"send_message","data":{"content":"hi","sender_id":"deadbeef","user_id":"x"}})",
        SendMessage{"hi", {}});
    row("typing true", R"({"event":"typing","data":{"typing":true}})", Typing{true});
    row("typing false", R"({"event":"typing","data":{"typing":false}})", Typing{false});
    row("leave_room_event no data", R"({"event":"leave_room_event"})", LeaveRoom{});
    row("leave_room_event empty data", R"({"event":"leave_room_event","data":{}})", LeaveRoom{});
    row("next no data", R"({"event":"next"})", Next{});
    row("next empty data", R"({"event":"next","data":{}})", Next{});
    row("next interests", R"({"event":"next","data":{"interests":["  Art","art ","ART"]}})",
        Next{{"art"}});
    row("report no data", R"({"event":"report"})", Report{});
    row("report empty data", R"({"event":"report","data":{}})", Report{});
    row("report null reason", R"({"event":"report","data":{"reason":null}})", Report{});
    row("report reason", R"({"event":"report","data":{"reason":"spam"}})", Report{"spam"});
    row("report reason 200 chars", clientFrame("report", {{"reason", QString(200, 'r')}}),
        Report{QString(200, 'r')});
    row("report reason 200 CJK", clientFrame("report", {{"reason", kCjk.repeated(200)}}),
        Report{kCjk.repeated(200)});
    row("resume", R"({"event":"resume","data":{"resume_token":"tok_EN-abc123"}})",
        Resume{"tok_EN-abc123", -1});
    row("resume with last_id", R"({"event":"resume","data":{"resume_token":"t","last_id":41}})",
        Resume{"t", 41});
    row("get_stats no data", R"({"event":"get_stats"})", GetStats{});
    row("get_stats empty data", R"({"event":"get_stats","data":{}})", GetStats{});

    // Unknown keys anywhere are ignored (forward compatibility).
    row("unknown top-level keys",
        R"({"id":7,"event":"get_stats","version":2,"extra":{"a":[1,2]},"data":{}})", GetStats{});
    row("unknown top-level keys, data first",
        R"({"data":{"typing":true},"x":null,"event":"typing"})", Typing{true});
    row("unknown keys in data",
        R"({"event":"join_queue","data":{"interests":["a"],"mode":"video","n":1}})",
        JoinQueue{{"a"}});
    row("unknown keys in data of an event without fields",
        R"({"event":"leave_queue","data":{"why":"bored","user_id":"x"}})", LeaveQueue{});
    row("unknown keys in resume",
        R"({"event":"resume","data":{"resume_token":"t","user_id":"aaaaaaaa"}})", Resume{"t", -1});
    row("whitespace around JSON", "  \n{ \"event\" : \"get_stats\" }\n ", GetStats{});
}

void TestProtocolClient::decodeClientValid()
{
    QFETCH(QByteArray, frame);
    QFETCH(QString, expected);

    const ClientDecodeResult fromBytes = decodeClientFrame(frame);
    QVERIFY2(std::holds_alternative<ClientMessage>(fromBytes), qPrintable(dump(fromBytes)));
    QCOMPARE(dump(fromBytes), expected);

    // The QString overload decodes the same text the same way.
    const ClientDecodeResult fromText = decodeClientFrame(QString::fromUtf8(frame));
    QCOMPARE(dump(fromText), expected);
}

void TestProtocolClient::decodeClientErrors_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("event"); ///< expected DecodeError::event

    const auto row = [](const char *name, const QByteArray &frame, const char *code,
                        const QString &event) {
        QTest::newRow(name) << frame << QString::fromLatin1(code) << event;
    };

    // bad_json: not JSON, not UTF-8, not an object.
    row("empty frame", "", "bad_json", {});
    row("whitespace only", "  \n", "bad_json", {});
    row("not JSON", "hello", "bad_json", {});
    row("single quotes", "{'event':'get_stats'}", "bad_json", {});
    row("truncated object", R"({"event":"get_stats")", "bad_json", {});
    row("truncated in data", R"({"event":"send_message","data":{"content":"hi")", "bad_json", {});
    row("truncated in string", R"({"event":"send_message","data":{"content":"hi)", "bad_json", {});
    row("truncated after key", R"({"event":)", "bad_json", {});
    row("lone brace", "{", "bad_json", {});
    row("pow_nonce over 64 characters",
        QByteArray(R"({"event":"join_queue","data":{"pow_nonce":")") + QByteArray(65, '1') +
            R"("}})",
        "invalid_data", QStringLiteral("join_queue"));
    row("pow_nonce not a string", R"({"event":"next","data":{"pow_nonce":42}})", "invalid_data",
        QStringLiteral("next"));
    row("trailing garbage", R"({"event":"get_stats"}x)", "bad_json", {});
    row("two objects", R"({"event":"get_stats"}{"event":"get_stats"})", "bad_json", {});
    row("trailing comma", R"({"event":"get_stats",})", "bad_json", {});
    row("array", R"([{"event":"get_stats"}])", "bad_json", {});
    row("empty array", "[]", "bad_json", {});
    row("string", R"("get_stats")", "bad_json", {});
    row("number", "42", "bad_json", {});
    row("true", "true", "bad_json", {});
    row("null", "null", "bad_json", {});
    row("invalid UTF-8 byte 0xff", "{\"event\":\"send_message\",\"data\":{\"content\":\"\xff\"}}",
        "bad_json", {});
    row("invalid UTF-8 lone continuation",
        "{\"event\":\"send_message\",\"data\":{\"content\":\"a\x80\"}}", "bad_json", {});
    row("invalid UTF-8 truncated sequence",
        "{\"event\":\"send_message\",\"data\":{\"content\":\"\xe4\xbd\"}}", "bad_json", {});
    row("invalid UTF-8 overlong",
        "{\"event\":\"send_message\",\"data\":{\"content\":\"\xc0\xaf\"}}", "bad_json", {});
    row("invalid UTF-8 encoded surrogate",
        "{\"event\":\"send_message\",\"data\":{\"content\":\"\xed\xa0\x80\"}}", "bad_json", {});
    row("invalid UTF-8 beyond U+10FFFF",
        "{\"event\":\"send_message\",\"data\":{\"content\":\"\xf4\x90\x80\x80\"}}", "bad_json", {});
    row("invalid UTF-8 in event name", "{\"event\":\"get_stats\xfe\"}", "bad_json", {});
    row("invalid UTF-8 in an ignored key", "{\"event\":\"get_stats\",\"\xc3\":1}", "bad_json", {});
    row("invalid UTF-8 truncated at end", "{\"event\":\"get_stats\"}\xe4\xbd", "bad_json", {});

    // unknown_event: missing, not a string, not in PROTOCOL.md (server names included).
    row("event missing", R"({"data":{}})", "unknown_event", {});
    row("empty object", "{}", "unknown_event", {});
    row("event null", R"({"event":null})", "unknown_event", {});
    row("event number", R"({"event":3})", "unknown_event", {});
    row("event bool", R"({"event":true})", "unknown_event", {});
    row("event array", R"({"event":["get_stats"]})", "unknown_event", {});
    row("event object", R"({"event":{"name":"get_stats"}})", "unknown_event", {});
    row("event misspelt", R"({"event":"get_stat"})", "unknown_event", "get_stat");
    row("event upper case", R"({"event":"GET_STATS"})", "unknown_event", "GET_STATS");
    row("event with space", R"({"event":" get_stats"})", "unknown_event", " get_stats");
    row("event empty string", R"({"event":""})", "unknown_event", "");
    row("event old SocketIO connect", R"({"event":"connect"})", "unknown_event", "connect");
    for (int i = 0; i < kServerEventCount; ++i) {
        const QString name = eventName(static_cast<ServerEvent>(i));
        QTest::addRow("server event %s", qPrintable(name))
            << json({{"event", name}, {"data", QJsonObject{}}}) << QStringLiteral("unknown_event")
            << name;
    }
    // The echoed name is bounded, so a huge name is not sent back whole.
    row("event very long name", json({{"event", QString(1000, 'x')}}), "unknown_event",
        QString(64, 'x'));
    // An unknown event is unknown whatever its data looks like.
    row("unknown event with non-object data", R"({"event":"future_event","data":[1,2]})",
        "unknown_event", "future_event");
    row("unknown event with string data", R"({"event":"future_event","data":"x"})", "unknown_event",
        "future_event");

    // invalid_data: data not an object.
    row("data array", R"({"event":"send_message","data":[]})", "invalid_data", "send_message");
    row("data string", R"({"event":"join_queue","data":"music"})", "invalid_data", "join_queue");
    row("data number", R"({"event":"typing","data":1})", "invalid_data", "typing");
    row("data bool", R"({"event":"get_stats","data":true})", "invalid_data", "get_stats");
    row("data array, event without fields", R"({"event":"leave_queue","data":["x"]})",
        "invalid_data", "leave_queue");

    // invalid_data: interests, for both events that carry them.
    for (const char *event : {"join_queue", "next"}) {
        const QString e = QString::fromLatin1(event);
        const auto irow = [&](const char *what, const QJsonValue &interests) {
            QTest::addRow("%s interests %s", event, what)
                << interestsFrame(e, interests) << QStringLiteral("invalid_data") << e;
        };
        irow("string", QStringLiteral("music"));
        irow("number", 5);
        irow("bool", true);
        irow("object", QJsonObject{{"music", true}});
        irow("array of numbers", QJsonArray{1, 2});
        irow("array with null", QJsonArray{"music", QJsonValue::Null});
        irow("array with nested array", QJsonArray{"music", QJsonArray{"books"}});
        irow("array with object", QJsonArray{QJsonObject{{"name", "music"}}});
        irow("6 interests", stringArray(distinct(6)));
        irow("20 interests", stringArray(distinct(20)));
        irow("33 chars", stringArray({QString(33, 'a')}));
        irow("33 CJK", stringArray({kCjk.repeated(33)}));
        irow("33 emoji", stringArray({kEmoji.repeated(33)}));
        irow("one of several too long", stringArray({"ok", QString(33, 'a')}));
    }

    // invalid_data: send_message fields.
    row("content missing", R"({"event":"send_message","data":{}})", "invalid_data", "send_message");
    row("content missing, data omitted", R"({"event":"send_message"})", "invalid_data",
        "send_message");
    row("content missing, only nonce", R"({"event":"send_message","data":{"nonce":"n"}})",
        "invalid_data", "send_message");
    row("content null", R"({"event":"send_message","data":{"content":null}})", "invalid_data",
        "send_message");
    row("content number", R"({"event":"send_message","data":{"content":5}})", "invalid_data",
        "send_message");
    row("content bool", R"({"event":"send_message","data":{"content":true}})", "invalid_data",
        "send_message");
    row("content array", R"({"event":"send_message","data":{"content":["hi"]}})", "invalid_data",
        "send_message");
    row("content object", R"({"event":"send_message","data":{"content":{"text":"hi"}}})",
        "invalid_data", "send_message");
    row("nonce number", R"({"event":"send_message","data":{"content":"hi","nonce":1}})",
        "invalid_data", "send_message");
    row("nonce bool", R"({"event":"send_message","data":{"content":"hi","nonce":false}})",
        "invalid_data", "send_message");
    row("nonce array", R"({"event":"send_message","data":{"content":"hi","nonce":["n"]}})",
        "invalid_data", "send_message");
    row("nonce 65 chars",
        clientFrame("send_message", {{"content", "hi"}, {"nonce", QString(65, 'n')}}),
        "invalid_data", "send_message");
    row("nonce 65 emoji",
        clientFrame("send_message", {{"content", "hi"}, {"nonce", kEmoji.repeated(65)}}),
        "invalid_data", "send_message");

    // invalid_data: typing.
    row("typing missing", R"({"event":"typing","data":{}})", "invalid_data", "typing");
    row("typing missing, data omitted", R"({"event":"typing"})", "invalid_data", "typing");
    row("typing null", R"({"event":"typing","data":{"typing":null}})", "invalid_data", "typing");
    row("typing string", R"({"event":"typing","data":{"typing":"true"}})", "invalid_data",
        "typing");
    row("typing number 1", R"({"event":"typing","data":{"typing":1}})", "invalid_data", "typing");
    row("typing number 0", R"({"event":"typing","data":{"typing":0}})", "invalid_data", "typing");
    row("typing object", R"({"event":"typing","data":{"typing":{}}})", "invalid_data", "typing");

    // invalid_data: report.
    row("reason number", R"({"event":"report","data":{"reason":5}})", "invalid_data", "report");
    row("reason bool", R"({"event":"report","data":{"reason":true}})", "invalid_data", "report");
    row("reason array", R"({"event":"report","data":{"reason":["spam"]}})", "invalid_data",
        "report");
    row("reason 201 chars", clientFrame("report", {{"reason", QString(201, 'r')}}), "invalid_data",
        "report");
    row("reason 201 emoji", clientFrame("report", {{"reason", kEmoji.repeated(201)}}),
        "invalid_data", "report");

    // invalid_data: resume.
    row("resume_token missing", R"({"event":"resume","data":{}})", "invalid_data", "resume");
    row("resume_token missing, data omitted", R"({"event":"resume"})", "invalid_data", "resume");
    row("resume_token null", R"({"event":"resume","data":{"resume_token":null}})", "invalid_data",
        "resume");
    row("resume_token number", R"({"event":"resume","data":{"resume_token":12345}})",
        "invalid_data", "resume");
    row("resume_token array", R"({"event":"resume","data":{"resume_token":["t"]}})", "invalid_data",
        "resume");
    row("resume_token object", R"({"event":"resume","data":{"resume_token":{}}})", "invalid_data",
        "resume");
    row("resume_token over the shared limit",
        clientFrame("resume", {{"resume_token", QString(kMaxResumeTokenChars + 1, 't')}}),
        "invalid_data", "resume");
    row("last_id string", R"({"event":"resume","data":{"resume_token":"t","last_id":"4"}})",
        "invalid_data", "resume");
    row("last_id fraction", R"({"event":"resume","data":{"resume_token":"t","last_id":4.5}})",
        "invalid_data", "resume");

    // message_empty / message_too_long (more in messageContentRules).
    row("content empty", R"({"event":"send_message","data":{"content":""}})", "message_empty",
        "send_message");
    row("content spaces", R"({"event":"send_message","data":{"content":"   "}})", "message_empty",
        "send_message");
    row("content 501 chars", sendFrame(QString(501, 'a')), "message_too_long", "send_message");
}

void TestProtocolClient::decodeClientErrors()
{
    QFETCH(QByteArray, frame);
    QFETCH(QString, code);
    QFETCH(QString, event);

    const ClientDecodeResult result = decodeClientFrame(frame);
    QVERIFY2(std::holds_alternative<DecodeError>(result), qPrintable(dump(result)));
    const DecodeError &error = std::get<DecodeError>(result);
    QCOMPARE(errorCodeName(error.code), code);
    QCOMPARE(error.event, event);
    QVERIFY2(!error.message.isEmpty(), "an error says what is wrong");

    // Frames that are valid UTF-8 give the same answer through the QString overload.
    if (code != QLatin1String("bad_json") || QString::fromUtf8(frame).toUtf8() == frame) {
        const ClientDecodeResult fromText = decodeClientFrame(QString::fromUtf8(frame));
        QVERIFY2(std::holds_alternative<DecodeError>(fromText), qPrintable(dump(fromText)));
        QCOMPARE(errorCodeName(std::get<DecodeError>(fromText).code), code);
        QCOMPARE(std::get<DecodeError>(fromText).event, event);
    }
}

void TestProtocolClient::messageContentRules_data()
{
    QTest::addColumn<QString>("content");
    QTest::addColumn<QString>("code");     ///< empty: accepted
    QTest::addColumn<QString>("expected"); ///< the content after the trim, when accepted

    const auto ok = [](const char *name, const QString &content, const QString &expected) {
        QTest::newRow(name) << content << QString() << expected;
    };
    const auto refused = [](const char *name, const QString &content, const char *code) {
        QTest::newRow(name) << content << QString::fromLatin1(code) << QString();
    };

    refused("empty", QString(), "message_empty");
    refused("one space", QStringLiteral(" "), "message_empty");
    refused("spaces", QStringLiteral("     "), "message_empty");
    refused("newlines", QStringLiteral("\n\n\r\n"), "message_empty");
    refused("tabs", QStringLiteral("\t\t"), "message_empty");
    refused("mixed white space", QStringLiteral(" \t\n\r\v\f "), "message_empty");
    refused("ideographic space", kIdeographicSpace, "message_empty");
    refused("ideographic spaces", kIdeographicSpace.repeated(3), "message_empty");
    refused("ideographic and ASCII spaces", QStringLiteral(" \u3000\t\u3000\n"), "message_empty");
    refused("no-break space", QStringLiteral("\u00a0"), "message_empty");
    refused("only white space, longer than the limit", QString(600, ' '), "message_empty");

    ok("one char", QStringLiteral("a"), QStringLiteral("a"));
    ok("500 ASCII", QString(500, 'a'), QString(500, 'a'));
    refused("501 ASCII", QString(501, 'a'), "message_too_long");
    refused("1000 ASCII", QString(1000, 'a'), "message_too_long");
    ok("500 CJK", kCjk.repeated(500), kCjk.repeated(500));
    refused("501 CJK", kCjk.repeated(501), "message_too_long");
    ok("500 emoji (1000 UTF-16 units)", kEmoji.repeated(500), kEmoji.repeated(500));
    refused("501 emoji", kEmoji.repeated(501), "message_too_long");
    ok("499 ASCII + 1 emoji", QString(499, 'a') + kEmoji, QString(499, 'a') + kEmoji);
    refused("500 ASCII + 1 emoji", QString(500, 'a') + kEmoji, "message_too_long");
    ok("250 CJK + 250 emoji", kCjk.repeated(250) + kEmoji.repeated(250),
       kCjk.repeated(250) + kEmoji.repeated(250));
    ok("500 + surrounding white space trimmed first",
       QStringLiteral("  \n\t") + QString(500, 'a') + QStringLiteral(" \r\n  "), QString(500, 'a'));
    ok("500 emoji + surrounding ideographic spaces",
       kIdeographicSpace.repeated(10) + kEmoji.repeated(500) + kIdeographicSpace.repeated(10),
       kEmoji.repeated(500));
    ok("500 with inner spaces", QStringLiteral("a") + QString(498, ' ') + QStringLiteral("b"),
       QStringLiteral("a") + QString(498, ' ') + QStringLiteral("b"));
    refused("501 with inner spaces", QStringLiteral("a") + QString(499, ' ') + QStringLiteral("b"),
            "message_too_long");
    ok("trimmed both ends", QStringLiteral("\n  hi  \t"), QStringLiteral("hi"));
    ok("lone surrogate counts as one", QString(499, 'a') + QChar(0xd800),
       QString(499, 'a') + QChar(0xd800));
}

void TestProtocolClient::messageContentRules()
{
    QFETCH(QString, content);
    QFETCH(QString, code);
    QFETCH(QString, expected);

    const ClientDecodeResult result = decodeClientFrame(sendFrame(content));
    if (code.isEmpty()) {
        QVERIFY2(std::holds_alternative<ClientMessage>(result), qPrintable(dump(result)));
        const auto *m = std::get_if<SendMessage>(&std::get<ClientMessage>(result));
        QVERIFY(m);
        QCOMPARE(m->content, expected);
        QVERIFY(m->nonce.isEmpty());
    } else {
        QVERIFY2(std::holds_alternative<DecodeError>(result), qPrintable(dump(result)));
        const DecodeError &error = std::get<DecodeError>(result);
        QCOMPARE(errorCodeName(error.code), code);
        QCOMPARE(error.event, QStringLiteral("send_message"));
        QVERIFY(!error.message.isEmpty());
    }
}

void TestProtocolClient::interestsNormalised_data()
{
    QTest::addColumn<QStringList>("raw");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QStringList>("expected");

    const auto ok = [](const char *name, const QStringList &raw, const QStringList &expected) {
        QTest::newRow(name) << raw << true << expected;
    };
    const auto refused = [](const char *name, const QStringList &raw) {
        QTest::newRow(name) << raw << false << QStringList();
    };

    ok("none", {}, {});
    ok("plain", {"music", "books"}, {"music", "books"});
    ok("trimmed", {" music ", "\tbooks\n", "\u3000art\u3000"}, {"music", "books", "art"});
    ok("case-folded", {"Music", "BOOKS", "ÄPFEL"}, {"music", "books", "äpfel"});
    ok("deduplicated after folding", {"music", "Music", " MUSIC ", "music"}, {"music"});
    ok("first occurrence order kept", {"b", "a", "B", "c", "A"}, {"b", "a", "c"});
    ok("empty dropped", {"", "art", "   ", "\t\n"}, {"art"});
    ok("all empty", {"", " ", "\u3000"}, {});
    ok("inner space kept", {"  Video   Games "}, {"video   games"});
    ok("CJK and emoji", {"读书", "🎮", "读书"}, {"读书", "🎮"});
    ok("5 interests", distinct(5), distinct(5));
    ok("5 after dropping duplicates and empties",
       QStringList{"interest0", "", "INTEREST0"} + distinct(5), distinct(5));
    refused("6 interests", distinct(6));
    refused("6 interests with empties", QStringList{"", " "} + distinct(6));
    ok("32 chars", {QString(32, 'a')}, {QString(32, 'a')});
    ok("32 chars after trim", {QStringLiteral("  ") + QString(32, 'A') + QStringLiteral("  ")},
       {QString(32, 'a')});
    refused("33 chars", {QString(33, 'a')});
    ok("32 CJK", {kCjk.repeated(32)}, {kCjk.repeated(32)});
    refused("33 CJK", {kCjk.repeated(33)});
    ok("32 emoji (64 UTF-16 units)", {kEmoji.repeated(32)}, {kEmoji.repeated(32)});
    refused("33 emoji", {kEmoji.repeated(33)});
    refused("a long one among short ones", {"a", "b", QString(33, 'c')});
}

void TestProtocolClient::interestsNormalised()
{
    QFETCH(QStringList, raw);
    QFETCH(bool, valid);
    QFETCH(QStringList, expected);

    // The function itself: leaves `out` alone on failure.
    QStringList out{QStringLiteral("untouched")};
    QCOMPARE(normaliseInterests(raw, out), valid);
    QCOMPARE(out, valid ? expected : QStringList{QStringLiteral("untouched")});

    // Through the decoder, for both events that carry interests.
    const ClientDecodeResult join =
        decodeClientFrame(interestsFrame(QStringLiteral("join_queue"), stringArray(raw)));
    const ClientDecodeResult next =
        decodeClientFrame(interestsFrame(QStringLiteral("next"), stringArray(raw)));
    if (valid) {
        QCOMPARE(dump(join), dump(JoinQueue{expected}));
        QCOMPARE(dump(next), dump(Next{expected}));
    } else {
        QVERIFY2(std::holds_alternative<DecodeError>(join), qPrintable(dump(join)));
        QCOMPARE(std::get<DecodeError>(join).code, ErrorCode::InvalidData);
        QCOMPARE(std::get<DecodeError>(join).event, QStringLiteral("join_queue"));
        QVERIFY2(std::holds_alternative<DecodeError>(next), qPrintable(dump(next)));
        QCOMPARE(std::get<DecodeError>(next).code, ErrorCode::InvalidData);
        QCOMPARE(std::get<DecodeError>(next).event, QStringLiteral("next"));
    }
}

void TestProtocolClient::languageNormalised_data()
{
    QTest::addColumn<QJsonValue>("lang");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("expected");

    const auto ok = [](const char *name, const QJsonValue &lang, const QString &expected) {
        QTest::newRow(name) << lang << true << expected;
    };
    const auto refused = [](const char *name, const QJsonValue &lang) {
        QTest::newRow(name) << lang << false << QString();
    };

    ok("absent", QJsonValue::Undefined, {});
    ok("null", QJsonValue::Null, {});
    ok("empty", QString(), {});
    ok("two letters", QStringLiteral("zh"), QStringLiteral("zh"));
    ok("three letters", QStringLiteral("yue"), QStringLiteral("yue"));
    ok("upper case", QStringLiteral("EN"), QStringLiteral("en"));
    ok("region", QStringLiteral("zh-CN"), QStringLiteral("zh"));
    ok("script and region", QStringLiteral("zh-Hant-TW"), QStringLiteral("zh"));
    ok("underscore (a POSIX locale)", QStringLiteral("en_US"), QStringLiteral("en"));
    ok("numeric region", QStringLiteral("es-419"), QStringLiteral("es"));
    ok("8-character subtag", QStringLiteral("de-DE-1901abcd"), QStringLiteral("de"));
    ok("35 characters", QStringLiteral("en") + QStringLiteral("-abcdefgh").repeated(3) + "-abcde",
       QStringLiteral("en"));
    refused("36 characters",
            QStringLiteral("en") + QStringLiteral("-abcdefgh").repeated(3) + "-abcdef");
    refused("one letter", QStringLiteral("e"));
    refused("four letters", QStringLiteral("engl"));
    refused("digits", QStringLiteral("12"));
    refused("private use", QStringLiteral("x-klingon"));
    refused("empty subtag", QStringLiteral("en--US"));
    refused("trailing dash", QStringLiteral("en-"));
    refused("9-character subtag", QStringLiteral("en-abcdefghi"));
    refused("space", QStringLiteral(" en"));
    refused("non-ASCII letters", QStringLiteral("中文"));
    refused("fullwidth letters", QStringLiteral("ｅｎ"));
    refused("number", 5);
    refused("bool", true);
    refused("array", QJsonArray{"en"});
    refused("object", QJsonObject{{"lang", "en"}});
}

void TestProtocolClient::languageNormalised()
{
    QFETCH(QJsonValue, lang);
    QFETCH(bool, valid);
    QFETCH(QString, expected);

    if (lang.isString()) {
        QString out = QStringLiteral("untouched");
        QCOMPARE(normaliseLanguage(lang.toString(), out), valid);
        QCOMPARE(out, valid ? expected : QStringLiteral("untouched"));
    }
    for (const QString &event : {QStringLiteral("join_queue"), QStringLiteral("next")}) {
        QJsonObject data{{"interests", QJsonArray{"Go"}}};
        if (!lang.isUndefined())
            data.insert(QLatin1String("lang"), lang);
        const QByteArray frame = clientFrame(event, data);
        const ClientDecodeResult result = decodeClientFrame(frame);
        if (valid) {
            const QString want = event == QLatin1String("next") ? dump(Next{{"go"}, expected})
                                                                : dump(JoinQueue{{"go"}, expected});
            QCOMPARE(dump(result), want);
            continue;
        }
        QVERIFY2(std::holds_alternative<DecodeError>(result), qPrintable(dump(result)));
        const DecodeError &error = std::get<DecodeError>(result);
        QCOMPARE(error.code, ErrorCode::InvalidData);
        QCOMPARE(error.event, event);
        QVERIFY(error.message.contains(QLatin1String("lang")));
    }
}

QTEST_GUILESS_MAIN(TestProtocolClient)
#include "tst_protocol_client.moc"
