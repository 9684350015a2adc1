// The helpers of the tst_protocol* suites: field dumps, hand-built frames, samples of each event.
#pragma once

#include "shared/codec.h"

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

namespace anonchat::test::protocolsuite {

using namespace anonchat::protocol;

// ---- readable dumps of every field, so that a failed comparison shows what differs ----------

inline QString quoted(const QString &s)
{
    return QLatin1Char('"') + s + QLatin1Char('"');
}

inline QString quoted(const QStringList &list)
{
    QStringList parts;
    for (const QString &s : list)
        parts << quoted(s);
    return QLatin1Char('[') + parts.join(QLatin1Char(',')) + QLatin1Char(']');
}

inline QString boolean(bool b)
{
    return b ? QStringLiteral("true") : QStringLiteral("false");
}

inline QString number(qint64 n)
{
    return QString::number(n);
}

// ISO text keeps the time spec visible ("Z" for UTC), so a non-UTC result cannot pass.
inline QString isoTime(const QDateTime &t)
{
    return t.isValid() ? t.toString(Qt::ISODateWithMs) : QStringLiteral("<invalid>");
}

inline QString fields(const JoinQueue &m)
{
    return QStringLiteral("interests=%1 lang=%2 pow_nonce=%3")
        .arg(quoted(m.interests), quoted(m.lang), quoted(m.powNonce));
}
inline QString fields(const LeaveQueue &)
{
    return {};
}
inline QString fields(const SendMessage &m)
{
    return QStringLiteral("content=%1 nonce=%2").arg(quoted(m.content), quoted(m.nonce));
}
inline QString fields(const Typing &m)
{
    return QStringLiteral("typing=") + boolean(m.typing);
}
inline QString fields(const LeaveRoom &)
{
    return {};
}
inline QString fields(const Next &m)
{
    return QStringLiteral("interests=%1 lang=%2 pow_nonce=%3")
        .arg(quoted(m.interests), quoted(m.lang), quoted(m.powNonce));
}
inline QString fields(const Report &m)
{
    return QStringLiteral("reason=") + quoted(m.reason);
}
inline QString fields(const Resume &m)
{
    return QStringLiteral("resume_token=%1 last_id=%2")
        .arg(quoted(m.resumeToken), number(m.lastId));
}
inline QString fields(const GetStats &)
{
    return {};
}

inline QString fields(const Welcome &m)
{
    return QStringLiteral("user_id=%1 resume_token=%2 protocol=%3 online=%4 limits=%5/%6/%7")
               .arg(quoted(m.userId), quoted(m.resumeToken), number(m.protocol), number(m.online),
                    number(m.limits.maxMessageChars), number(m.limits.maxInterests),
                    number(m.limits.maxInterestChars)) +
           (m.pow ? QStringLiteral(" pow=%1/%2")
                        .arg(QString::fromLatin1(m.pow->challenge.toHex()), number(m.pow->bits))
                  : QString());
}
inline QString fields(const Waiting &m)
{
    return QStringLiteral("online=%1 queued=%2").arg(number(m.online), number(m.queued));
}
inline QString fields(const QueueLeft &)
{
    return {};
}
inline QString fields(const Matched &m)
{
    return QStringLiteral("room_id=%1 partner_id=%2 common_interests=%3 common_language=%4")
        .arg(number(m.roomId), quoted(m.partnerId), quoted(m.commonInterests),
             quoted(m.commonLanguage));
}
inline QString fields(const NewMessage &m)
{
    return QStringLiteral("id=%1 room_id=%2 sender_id=%3 content=%4 timestamp=%5 nonce=%6")
        .arg(number(m.id), number(m.roomId), quoted(m.senderId), quoted(m.content),
             isoTime(m.timestamp), quoted(m.nonce));
}
inline QString fields(const PartnerTyping &m)
{
    return QStringLiteral("typing=") + boolean(m.typing);
}
inline QString fields(const PartnerAway &m)
{
    return QStringLiteral("room_id=") + number(m.roomId);
}
inline QString fields(const PartnerBack &m)
{
    return QStringLiteral("room_id=") + number(m.roomId);
}
inline QString fields(const PartnerLeft &m)
{
    return QStringLiteral("room_id=%1 reason=%2").arg(number(m.roomId), leaveReasonName(m.reason));
}
inline QString fields(const RoomLeft &m)
{
    return QStringLiteral("room_id=") + number(m.roomId);
}
inline QString fields(const Resumed &m)
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
inline QString fields(const Reported &m)
{
    return QStringLiteral("room_id=") + number(m.roomId);
}
inline QString fields(const Stats &m)
{
    return QStringLiteral("online=%1 queued=%2 active_rooms=%3")
        .arg(number(m.online), number(m.queued), number(m.activeRooms));
}
inline QString fields(const Error &m)
{
    return QStringLiteral("code=%1 message=%2 event=%3 retry_after_ms=%4")
        .arg(errorCodeName(m.code), quoted(m.message), quoted(m.event), number(m.retryAfterMs));
}

inline QString dump(const ClientMessage &m)
{
    return eventName(eventOf(m)) + QLatin1Char('{') +
           std::visit([](const auto &x) { return fields(x); }, m) + QLatin1Char('}');
}

inline QString dump(const ServerMessage &m)
{
    return eventName(eventOf(m)) + QLatin1Char('{') +
           std::visit([](const auto &x) { return fields(x); }, m) + QLatin1Char('}');
}

inline QString dump(const DecodeError &e)
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

inline QByteArray json(const QJsonObject &root)
{
    return QJsonDocument(root).toJson(QJsonDocument::Compact);
}

inline QByteArray clientFrame(const QString &event, const QJsonObject &data)
{
    return json(QJsonObject{{"event", event}, {"data", data}});
}

inline QByteArray sendFrame(const QString &content)
{
    return clientFrame(QStringLiteral("send_message"), QJsonObject{{"content", content}});
}

inline QByteArray interestsFrame(const QString &event, const QJsonValue &interests)
{
    return clientFrame(event, QJsonObject{{"interests", interests}});
}

inline QJsonArray stringArray(const QStringList &list)
{
    return QJsonArray::fromStringList(list);
}

inline QStringList distinct(int n)
{
    QStringList out;
    for (int i = 0; i < n; ++i)
        out << QStringLiteral("interest%1").arg(i);
    return out;
}

inline QStringList sorted(QStringList list)
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
inline ProtocolTable protocolTable(const QString &heading)
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

inline QDateTime utc(int y, int mo, int d, int h, int mi, int s, int ms)
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

inline NewMessage newMessage(qint64 id, const QString &content, const QString &nonce,
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

inline const QVector<Sample<ServerMessage>> &serverSamples()
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
        s.append(
            {"welcome with pow",
             Welcome{"00ff00aa", "t", kProtocolVersion, 0, Limits{},
                     PowChallenge{QByteArray::fromHex("00ff10203040506070809a0b0c0d0e0f"), 18}},
             welcomeKeys + QStringList{"pow"}});
        s.append({"waiting", Waiting{42, 7}, {"online", "queued"}});
        s.append({"waiting zero", Waiting{0, 0}, {"online", "queued"}});
        s.append({"queue_left", QueueLeft{}, {}});
        const QStringList matchedKeys{"room_id", "partner_id", "common_interests",
                                      "common_language"};
        s.append({"matched without common interests", Matched{1, "abcdef01", {}}, matchedKeys});
        s.append({"matched with common interests",
                  Matched{1234567890123, "abcdef01", {"music", "读书", "🎮"}}, matchedKeys});
        s.append({"matched with a common language",
                  Matched{2, "abcdef01", {"go"}, QStringLiteral("zh")}, matchedKeys});

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

inline const QVector<Sample<ClientMessage>> &clientSamples()
{
    static const QVector<Sample<ClientMessage>> samples = [] {
        QVector<Sample<ClientMessage>> s;
        s.append({"join_queue without interests", JoinQueue{}, {}});
        s.append({"join_queue with interests", JoinQueue{{"music", "读书", "🎮"}}, {"interests"}});
        s.append({"join_queue with pow_nonce", JoinQueue{{}, {}, "12345"}, {"pow_nonce"}});
        s.append({"join_queue with a language", JoinQueue{{"go"}, "zh"}, {"interests", "lang"}});
        s.append({"join_queue with only a language", JoinQueue{{}, "en"}, {"lang"}});
        s.append({"leave_queue", LeaveQueue{}, {}});
        s.append({"send_message", SendMessage{"hello", {}}, {"content"}});
        s.append({"send_message with nonce", SendMessage{"你好 😀", "n-42"}, {"content", "nonce"}});
        s.append({"typing true", Typing{true}, {"typing"}});
        s.append({"typing false", Typing{false}, {"typing"}});
        s.append({"leave_room_event", LeaveRoom{}, {}});
        s.append({"next without interests", Next{}, {}});
        s.append({"next with interests", Next{{"art"}}, {"interests"}});
        s.append({"next with pow_nonce", Next{{"art"}, {}, "x"}, {"interests", "pow_nonce"}});
        s.append({"next with a language", Next{{}, "fr"}, {"lang"}});
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
inline QJsonObject checkedEnvelope(const QByteArray &bytes, const QString &expectedEvent, bool *ok)
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

} // namespace anonchat::test::protocolsuite
