// Conformance tests of the protocol library (shared/) against docs/PROTOCOL.md: the document's
// tables of events, error codes, leave reasons and limits read from the file itself; decoding and
// validation of every client event, the error code of every refused frame, and round trips of
// every event through encode() and the decoders.

#include "shared/codec.h"
#include "tests/support/referenceencoder.h"

#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSet>
#include <QStringDecoder>
#include <QTest>

#include <utility>

using namespace anonchat::protocol;
using anonchat::test::encodeWithQJson;

namespace {

// ---- readable dumps of every field, so that a failed comparison shows what differs ----------

QString quoted(const QString &s)
{
    return QLatin1Char('"') + s + QLatin1Char('"');
}

QString quoted(const QStringList &list)
{
    QStringList parts;
    for (const QString &s : list)
        parts << quoted(s);
    return QLatin1Char('[') + parts.join(QLatin1Char(',')) + QLatin1Char(']');
}

QString boolean(bool b)
{
    return b ? QStringLiteral("true") : QStringLiteral("false");
}

QString number(qint64 n)
{
    return QString::number(n);
}

// ISO text keeps the time spec visible ("Z" for UTC), so a non-UTC result cannot pass.
QString isoTime(const QDateTime &t)
{
    return t.isValid() ? t.toString(Qt::ISODateWithMs) : QStringLiteral("<invalid>");
}

QString fields(const JoinQueue &m)
{
    return QStringLiteral("interests=") + quoted(m.interests);
}
QString fields(const LeaveQueue &)
{
    return {};
}
QString fields(const SendMessage &m)
{
    return QStringLiteral("content=%1 nonce=%2").arg(quoted(m.content), quoted(m.nonce));
}
QString fields(const Typing &m)
{
    return QStringLiteral("typing=") + boolean(m.typing);
}
QString fields(const LeaveRoom &)
{
    return {};
}
QString fields(const Next &m)
{
    return QStringLiteral("interests=") + quoted(m.interests);
}
QString fields(const Report &m)
{
    return QStringLiteral("reason=") + quoted(m.reason);
}
QString fields(const Resume &m)
{
    return QStringLiteral("resume_token=%1 last_id=%2")
        .arg(quoted(m.resumeToken), number(m.lastId));
}
QString fields(const GetStats &)
{
    return {};
}

QString fields(const Welcome &m)
{
    return QStringLiteral("user_id=%1 resume_token=%2 protocol=%3 online=%4 limits=%5/%6/%7")
        .arg(quoted(m.userId), quoted(m.resumeToken), number(m.protocol), number(m.online),
             number(m.limits.maxMessageChars), number(m.limits.maxInterests),
             number(m.limits.maxInterestChars));
}
QString fields(const Waiting &m)
{
    return QStringLiteral("online=%1 queued=%2").arg(number(m.online), number(m.queued));
}
QString fields(const QueueLeft &)
{
    return {};
}
QString fields(const Matched &m)
{
    return QStringLiteral("room_id=%1 partner_id=%2 common_interests=%3")
        .arg(number(m.roomId), quoted(m.partnerId), quoted(m.commonInterests));
}
QString fields(const NewMessage &m)
{
    return QStringLiteral("id=%1 room_id=%2 sender_id=%3 content=%4 timestamp=%5 nonce=%6")
        .arg(number(m.id), number(m.roomId), quoted(m.senderId), quoted(m.content),
             isoTime(m.timestamp), quoted(m.nonce));
}
QString fields(const PartnerTyping &m)
{
    return QStringLiteral("typing=") + boolean(m.typing);
}
QString fields(const PartnerAway &m)
{
    return QStringLiteral("room_id=") + number(m.roomId);
}
QString fields(const PartnerBack &m)
{
    return QStringLiteral("room_id=") + number(m.roomId);
}
QString fields(const PartnerLeft &m)
{
    return QStringLiteral("room_id=%1 reason=%2").arg(number(m.roomId), leaveReasonName(m.reason));
}
QString fields(const RoomLeft &m)
{
    return QStringLiteral("room_id=") + number(m.roomId);
}
QString fields(const Resumed &m)
{
    QString room = QStringLiteral("null");
    if (m.room) {
        QStringList messages;
        for (const NewMessage &msg : m.room->messages)
            messages << QLatin1Char('{') + fields(msg) + QLatin1Char('}');
        room = QStringLiteral("{room_id=%1 partner_id=%2 messages=[%3]}")
                   .arg(number(m.room->roomId), quoted(m.room->partnerId),
                        messages.join(QLatin1Char(',')));
    }
    return QStringLiteral("user_id=%1 resume_token=%2 room=%3")
        .arg(quoted(m.userId), quoted(m.resumeToken), room);
}
QString fields(const Reported &m)
{
    return QStringLiteral("room_id=") + number(m.roomId);
}
QString fields(const Stats &m)
{
    return QStringLiteral("online=%1 queued=%2 active_rooms=%3")
        .arg(number(m.online), number(m.queued), number(m.activeRooms));
}
QString fields(const Error &m)
{
    return QStringLiteral("code=%1 message=%2 event=%3 retry_after_ms=%4")
        .arg(errorCodeName(m.code), quoted(m.message), quoted(m.event), number(m.retryAfterMs));
}

QString dump(const ClientMessage &m)
{
    return eventName(eventOf(m)) + QLatin1Char('{') +
           std::visit([](const auto &x) { return fields(x); }, m) + QLatin1Char('}');
}

QString dump(const ServerMessage &m)
{
    return eventName(eventOf(m)) + QLatin1Char('{') +
           std::visit([](const auto &x) { return fields(x); }, m) + QLatin1Char('}');
}

QString dump(const DecodeError &e)
{
    return QStringLiteral("DecodeError{code=%1 event=%2 message=%3}")
        .arg(errorCodeName(e.code), quoted(e.event), quoted(e.message));
}

template <typename Message>
QString dump(const std::variant<Message, DecodeError> &result)
{
    return std::visit([](const auto &x) { return dump(x); }, result);
}

// ---- frames built independently of the codec under test -------------------------------------

QByteArray json(const QJsonObject &root)
{
    return QJsonDocument(root).toJson(QJsonDocument::Compact);
}

QByteArray clientFrame(const QString &event, const QJsonObject &data)
{
    return json(QJsonObject{{"event", event}, {"data", data}});
}

QByteArray sendFrame(const QString &content)
{
    return clientFrame(QStringLiteral("send_message"), QJsonObject{{"content", content}});
}

QByteArray interestsFrame(const QString &event, const QJsonValue &interests)
{
    return clientFrame(event, QJsonObject{{"interests", interests}});
}

QJsonArray stringArray(const QStringList &list)
{
    return QJsonArray::fromStringList(list);
}

QStringList distinct(int n)
{
    QStringList out;
    for (int i = 0; i < n; ++i)
        out << QStringLiteral("interest%1").arg(i);
    return out;
}

QStringList sorted(QStringList list)
{
    list.sort();
    return list;
}

/// A table of docs/PROTOCOL.md, the contract this suite holds the code to.
struct ProtocolTable {
    QStringList keys;               ///< the first column's `name`s, in the document's order
    QHash<QString, QString> second; ///< key -> the second column's text
    QStringList faults;             ///< rows that do not have the expected shape
};

/// The first table under the line `heading` in docs/PROTOCOL.md. Each row's first cell must be a
/// single backticked name: anything else is a fault, so a reworded table cannot pass unread.
ProtocolTable protocolTable(const QString &heading)
{
    ProtocolTable table;
    QFile file(QStringLiteral(ANONCHAT_SOURCE_DIR "/docs/PROTOCOL.md"));
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text)) {
        table.faults << QStringLiteral("cannot read ") + file.fileName();
        return table;
    }
    const QStringList lines = QString::fromUtf8(file.readAll()).split(QLatin1Char('\n'));
    qsizetype i = lines.indexOf(heading);
    if (i < 0) {
        table.faults << QStringLiteral("no heading '%1'").arg(heading);
        return table;
    }
    while (++i < lines.size() && !lines[i].startsWith(QLatin1Char('|'))) {
        if (lines[i].startsWith(QLatin1Char('#'))) // the next section: no table here
            break;
    }
    for (i += 2; i < lines.size() && lines[i].startsWith(QLatin1Char('|')); ++i) { // past header
        const QStringList cells = lines[i].split(QLatin1Char('|'));
        const QString first = cells.value(1).trimmed();
        static const QRegularExpression name(QStringLiteral("^`([a-z0-9_]+)`$"));
        const QRegularExpressionMatch m = name.match(first);
        if (!m.hasMatch() || cells.size() < 4) {
            table.faults << lines[i];
            continue;
        }
        table.keys << m.captured(1);
        table.second.insert(m.captured(1), cells.value(2).trimmed());
    }
    if (table.keys.isEmpty())
        table.faults << QStringLiteral("no rows under '%1'").arg(heading);
    return table;
}

const QString kEmoji = QStringLiteral("😀"); // U+1F600: a surrogate pair in UTF-16
const QString kCjk = QStringLiteral("字");  // one BMP code point
const QString kIdeographicSpace = QStringLiteral("\u3000");

QDateTime utc(int y, int mo, int d, int h, int mi, int s, int ms)
{
    return QDateTime(QDate(y, mo, d), QTime(h, mi, s, ms), Qt::UTC);
}

// One default-constructed message of every alternative, in enum order.
template <typename Variant, std::size_t... I>
QVector<Variant> everyAlternative(std::index_sequence<I...>)
{
    return {Variant(std::in_place_index<I>)...};
}

template <typename Variant>
QVector<Variant> everyAlternative()
{
    return everyAlternative<Variant>(std::make_index_sequence<std::variant_size_v<Variant>>());
}

// ---- samples for the round trips, with the `data` keys PROTOCOL.md gives each one -----------

template <typename Message>
struct Sample {
    const char *name;
    Message message;
    QStringList keys; ///< keys of `data`; empty: `data` is omitted
};

NewMessage newMessage(qint64 id, const QString &content, const QString &nonce,
                      const QDateTime &timestamp)
{
    NewMessage m;
    m.id = id;
    m.roomId = 77;
    m.senderId = QStringLiteral("3f2a9c1b");
    m.content = content;
    m.timestamp = timestamp;
    m.nonce = nonce;
    return m;
}

const QVector<Sample<ServerMessage>> &serverSamples()
{
    static const QVector<Sample<ServerMessage>> samples = [] {
        const QStringList messageKeys{"id", "room_id", "sender_id", "content", "timestamp"};
        const QStringList welcomeKeys{"user_id", "resume_token", "protocol", "online", "limits"};
        const QStringList resumedKeys{"user_id", "resume_token", "room"};
        QVector<Sample<ServerMessage>> s;

        s.append({"welcome default limits",
                  Welcome{"3f2a9c1b", "tok_EN-abc123", kProtocolVersion, 42, Limits{}},
                  welcomeKeys});
        s.append({"welcome other limits",
                  Welcome{"00ff00aa", "t", kProtocolVersion, 0, Limits{400, 3, 20}}, welcomeKeys});
        s.append({"waiting", Waiting{42, 7}, {"online", "queued"}});
        s.append({"waiting zero", Waiting{0, 0}, {"online", "queued"}});
        s.append({"queue_left", QueueLeft{}, {}});
        s.append({"matched without common interests",
                  Matched{1, "abcdef01", {}},
                  {"room_id", "partner_id", "common_interests"}});
        s.append({"matched with common interests",
                  Matched{1234567890123, "abcdef01", {"music", "读书", "🎮"}},
                  {"room_id", "partner_id", "common_interests"}});

        s.append({"new_message without nonce",
                  newMessage(1, "hello", {}, utc(2026, 11, 23, 22, 41, 7, 123)), messageKeys});
        s.append({"new_message with nonce",
                  newMessage(2, "你好 😀", "n-1", utc(2026, 11, 23, 22, 41, 7, 123)),
                  messageKeys + QStringList{"nonce"}});
        s.append(
            {"new_message whole second",
             newMessage(3, "<b>not markup</b> & \"quotes\"\n", {}, utc(2026, 1, 1, 0, 0, 0, 0)),
             messageKeys});
        s.append({"new_message .999", newMessage(4, "x", {}, utc(1999, 12, 31, 23, 59, 59, 999)),
                  messageKeys});

        s.append({"partner_typing true", PartnerTyping{true}, {"typing"}});
        s.append({"partner_typing false", PartnerTyping{false}, {"typing"}});
        s.append({"partner_away", PartnerAway{5}, {"room_id"}});
        s.append({"partner_back", PartnerBack{5}, {"room_id"}});
        s.append({"partner_left left", PartnerLeft{9, LeaveReason::Left}, {"room_id", "reason"}});
        s.append({"partner_left next", PartnerLeft{9, LeaveReason::Next}, {"room_id", "reason"}});
        s.append({"partner_left disconnected",
                  PartnerLeft{9, LeaveReason::Disconnected},
                  {"room_id", "reason"}});
        s.append({"room_left", RoomLeft{11}, {"room_id"}});

        s.append(
            {"resumed null room", Resumed{"3f2a9c1b", "next-token", std::nullopt}, resumedKeys});
        s.append({"resumed room without messages",
                  Resumed{"3f2a9c1b", "next-token", ResumedRoom{77, "abcdef01", {}}}, resumedKeys});
        s.append(
            {"resumed room with messages",
             Resumed{"3f2a9c1b", "next-token",
                     ResumedRoom{77,
                                 "abcdef01",
                                 {newMessage(10, "missed 1", {}, utc(2026, 11, 23, 22, 41, 7, 1)),
                                  newMessage(11, "missed 2 字", "mine",
                                             utc(2026, 11, 23, 22, 41, 8, 20))}}},
             resumedKeys});

        s.append({"reported", Reported{12}, {"room_id"}});
        s.append({"stats", Stats{100, 3, 48}, {"online", "queued", "active_rooms"}});
        s.append({"error plain",
                  Error{ErrorCode::Internal, "storage failed", {}, -1},
                  {"code", "message"}});
        s.append({"error with event",
                  Error{ErrorCode::NotInRoom, "not in a room", "send_message", -1},
                  {"code", "message", "event"}});
        s.append({"error with retry_after_ms",
                  Error{ErrorCode::RateLimited, "slow down", "send_message", 250},
                  {"code", "message", "event", "retry_after_ms"}});
        s.append({"error with retry_after_ms 0",
                  Error{ErrorCode::RateLimited, "slow down", {}, 0},
                  {"code", "message", "retry_after_ms"}});
        return s;
    }();
    return samples;
}

const QVector<Sample<ClientMessage>> &clientSamples()
{
    static const QVector<Sample<ClientMessage>> samples = [] {
        QVector<Sample<ClientMessage>> s;
        s.append({"join_queue without interests", JoinQueue{}, {}});
        s.append({"join_queue with interests", JoinQueue{{"music", "读书", "🎮"}}, {"interests"}});
        s.append({"leave_queue", LeaveQueue{}, {}});
        s.append({"send_message", SendMessage{"hello", {}}, {"content"}});
        s.append({"send_message with nonce", SendMessage{"你好 😀", "n-42"}, {"content", "nonce"}});
        s.append({"typing true", Typing{true}, {"typing"}});
        s.append({"typing false", Typing{false}, {"typing"}});
        s.append({"leave_room_event", LeaveRoom{}, {}});
        s.append({"next without interests", Next{}, {}});
        s.append({"next with interests", Next{{"art"}}, {"interests"}});
        s.append({"report without reason", Report{}, {}});
        s.append({"report with reason", Report{"spam"}, {"reason"}});
        s.append({"resume", Resume{"tok_EN-abc123", -1}, {"resume_token"}});
        s.append({"resume with last_id", Resume{"tok", 41}, {"resume_token", "last_id"}});
        s.append({"get_stats", GetStats{}, {}});
        return s;
    }();
    return samples;
}

// Checks the envelope of an encoded frame and returns its `data` (empty when omitted).
QJsonObject checkedEnvelope(const QByteArray &bytes, const QString &expectedEvent, bool *ok)
{
    *ok = false;
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return {};
    const QJsonObject root = doc.object();
    if (!root.value(QLatin1String("event")).isString() ||
        root.value(QLatin1String("event")).toString() != expectedEvent)
        return {};
    for (const QString &key : root.keys()) {
        if (key != QLatin1String("event") && key != QLatin1String("data"))
            return {};
    }
    if (root.contains(QLatin1String("data"))) {
        // `data` is omitted when empty, never sent as {} (nor as anything but an object).
        const QJsonValue data = root.value(QLatin1String("data"));
        if (!data.isObject() || data.toObject().isEmpty())
            return {};
    }
    *ok = true;
    return root.value(QLatin1String("data")).toObject();
}

} // namespace

class TestProtocol : public QObject
{
    Q_OBJECT

private slots:
    void nameTablesComplete();
    void wireNamesMatchProtocol();
    void limitsMatchProtocol();
    void decodeClientValid_data();
    void decodeClientValid();
    void decodeClientErrors_data();
    void decodeClientErrors();
    void messageContentRules_data();
    void messageContentRules();
    void interestsNormalised_data();
    void interestsNormalised();
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
    void directEncoderMatchesQJson_data();
    void directEncoderMatchesQJson();
    void directEncoderRandomStrings();
    void newMessageFramesFromOneSerialisation();
    void timestampMatchesQDateTime();
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

void TestProtocol::decodeClientValid_data()
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

void TestProtocol::decodeClientValid()
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

void TestProtocol::decodeClientErrors_data()
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

void TestProtocol::decodeClientErrors()
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

void TestProtocol::messageContentRules_data()
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

void TestProtocol::messageContentRules()
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

void TestProtocol::interestsNormalised_data()
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

void TestProtocol::interestsNormalised()
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

// ---- the direct server-frame writer against the QJsonDocument encoder ------------------------

namespace {

// Every string field of every server event set to `s`, so each goes through the escaping.
QVector<ServerMessage> everyStringField(const QString &s)
{
    const QDateTime t = utc(2026, 11, 23, 22, 41, 7, 123);
    QVector<ServerMessage> out;
    out.append(Welcome{s, s, kProtocolVersion, 3, Limits{}});
    out.append(Matched{5, s, {s, QStringLiteral("x"), s}});
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

void TestProtocol::directEncoderMatchesQJson_data()
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

void TestProtocol::directEncoderMatchesQJson()
{
    QFETCH(QString, text);
    for (const ServerMessage &m : everyStringField(text))
        QCOMPARE(encode(m), encodeWithQJson(m));
}

void TestProtocol::directEncoderRandomStrings()
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

void TestProtocol::newMessageFramesFromOneSerialisation()
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

void TestProtocol::timestampMatchesQDateTime()
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

QTEST_GUILESS_MAIN(TestProtocol)
#include "tst_protocol.moc"
