#include "shared/codec.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <QStringDecoder>

namespace anonchat::protocol {

namespace {

// Reads typed fields from an event's `data`, recording the first problem as `invalid_data`.
class FieldReader
{
public:
    FieldReader(const QJsonObject &data, DecodeError &error)
        : m_data(data)
        , m_error(error)
    {}

    bool ok() const { return m_ok; }

    bool fail(const QString &message)
    {
        if (m_ok) {
            m_ok = false;
            m_error.code = ErrorCode::InvalidData;
            m_error.message = message;
        }
        return false;
    }

    /// A string field; absent gives `fallback` unless required. maxChars < 0: no limit.
    QString string(const char *key, bool required, int maxChars = -1, QString fallback = {})
    {
        const QJsonValue v = m_data.value(QLatin1String(key));
        if (v.isUndefined() || (v.isNull() && !required)) {
            if (required)
                fail(QStringLiteral("'%1' is required").arg(QLatin1String(key)));
            return fallback;
        }
        if (!v.isString()) {
            fail(QStringLiteral("'%1' must be a string").arg(QLatin1String(key)));
            return fallback;
        }
        QString s = v.toString();
        if (maxChars >= 0 && codePointCount(s) > maxChars) {
            fail(QStringLiteral("'%1' is longer than %2 characters")
                     .arg(QLatin1String(key))
                     .arg(maxChars));
            return fallback;
        }
        return s;
    }

    bool boolean(const char *key, bool required, bool fallback = false)
    {
        const QJsonValue v = m_data.value(QLatin1String(key));
        if (v.isUndefined()) {
            if (required)
                fail(QStringLiteral("'%1' is required").arg(QLatin1String(key)));
            return fallback;
        }
        if (!v.isBool()) {
            fail(QStringLiteral("'%1' must be true or false").arg(QLatin1String(key)));
            return fallback;
        }
        return v.toBool();
    }

    qint64 integer(const char *key, bool required, qint64 fallback = 0)
    {
        const QJsonValue v = m_data.value(QLatin1String(key));
        if (v.isUndefined() || (v.isNull() && !required)) {
            if (required)
                fail(QStringLiteral("'%1' is required").arg(QLatin1String(key)));
            return fallback;
        }
        const double d = v.toDouble(-1.5);
        // The range first: casting a double outside qint64's range (1e300) is undefined.
        if (!v.isDouble() || !(d >= -1e15 && d <= 1e15) ||
            d != static_cast<double>(static_cast<qint64>(d))) {
            fail(QStringLiteral("'%1' must be an integer").arg(QLatin1String(key)));
            return fallback;
        }
        return static_cast<qint64>(d);
    }

    QStringList stringList(const char *key, bool required)
    {
        const QJsonValue v = m_data.value(QLatin1String(key));
        if (v.isUndefined() || v.isNull()) {
            if (required)
                fail(QStringLiteral("'%1' is required").arg(QLatin1String(key)));
            return {};
        }
        if (!v.isArray()) {
            fail(QStringLiteral("'%1' must be a list of strings").arg(QLatin1String(key)));
            return {};
        }
        QStringList out;
        for (const QJsonValue &item : v.toArray()) {
            if (!item.isString()) {
                fail(QStringLiteral("'%1' must be a list of strings").arg(QLatin1String(key)));
                return {};
            }
            out.append(item.toString());
        }
        return out;
    }

    QJsonObject object(const char *key)
    {
        const QJsonValue v = m_data.value(QLatin1String(key));
        if (v.isUndefined() || v.isNull())
            return {};
        if (!v.isObject()) {
            fail(QStringLiteral("'%1' must be an object").arg(QLatin1String(key)));
            return {};
        }
        return v.toObject();
    }

private:
    const QJsonObject &m_data;
    DecodeError &m_error;
    bool m_ok = true;
};

bool readInterests(FieldReader &r, QStringList &out)
{
    const QStringList raw = r.stringList("interests", false);
    if (!r.ok())
        return false;
    if (!normaliseInterests(raw, out))
        return r.fail(QStringLiteral("at most %1 interests of at most %2 characters each")
                          .arg(kMaxInterests)
                          .arg(kMaxInterestChars));
    return true;
}

// ---- client events: strict, these are the server's input -----------------------------------

bool fromJson(const QJsonObject &d, JoinQueue &m, DecodeError &e)
{
    FieldReader r(d, e);
    return readInterests(r, m.interests);
}
bool fromJson(const QJsonObject &, LeaveQueue &, DecodeError &)
{
    return true;
}
bool fromJson(const QJsonObject &d, SendMessage &m, DecodeError &e)
{
    FieldReader r(d, e);
    const QString content = r.string("content", true);
    m.nonce = r.string("nonce", false, kMaxNonceChars);
    if (!r.ok())
        return false;
    m.content = content.trimmed();
    if (m.content.isEmpty()) {
        e.code = ErrorCode::MessageEmpty;
        e.message = QStringLiteral("the message is empty");
        return false;
    }
    if (codePointCount(m.content) > kMaxMessageChars) {
        e.code = ErrorCode::MessageTooLong;
        e.message = QStringLiteral("a message has at most %1 characters").arg(kMaxMessageChars);
        return false;
    }
    return true;
}
bool fromJson(const QJsonObject &d, Typing &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.typing = r.boolean("typing", true);
    return r.ok();
}
bool fromJson(const QJsonObject &, LeaveRoom &, DecodeError &)
{
    return true;
}
bool fromJson(const QJsonObject &d, Next &m, DecodeError &e)
{
    FieldReader r(d, e);
    return readInterests(r, m.interests);
}
bool fromJson(const QJsonObject &d, Report &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.reason = r.string("reason", false, kMaxReportReasonChars).trimmed();
    return r.ok();
}
bool fromJson(const QJsonObject &d, Resume &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.resumeToken = r.string("resume_token", true, kMaxResumeTokenChars);
    m.lastId = r.integer("last_id", false, -1);
    return r.ok();
}
bool fromJson(const QJsonObject &, GetStats &, DecodeError &)
{
    return true;
}

QJsonObject toJson(const JoinQueue &m)
{
    return m.interests.isEmpty()
               ? QJsonObject{}
               : QJsonObject{{"interests", QJsonArray::fromStringList(m.interests)}};
}
QJsonObject toJson(const LeaveQueue &)
{
    return {};
}
QJsonObject toJson(const SendMessage &m)
{
    QJsonObject o{{"content", m.content}};
    if (!m.nonce.isEmpty())
        o.insert(QLatin1String("nonce"), m.nonce);
    return o;
}
QJsonObject toJson(const Typing &m)
{
    return {{"typing", m.typing}};
}
QJsonObject toJson(const LeaveRoom &)
{
    return {};
}
QJsonObject toJson(const Next &m)
{
    return m.interests.isEmpty()
               ? QJsonObject{}
               : QJsonObject{{"interests", QJsonArray::fromStringList(m.interests)}};
}
QJsonObject toJson(const Report &m)
{
    return m.reason.isEmpty() ? QJsonObject{} : QJsonObject{{"reason", m.reason}};
}
QJsonObject toJson(const Resume &m)
{
    QJsonObject o{{"resume_token", m.resumeToken}};
    if (m.lastId >= 0)
        o.insert(QLatin1String("last_id"), m.lastId);
    return o;
}
QJsonObject toJson(const GetStats &)
{
    return {};
}

// ---- server events: clients read them ------------------------------------------------------

QJsonObject toJson(const NewMessage &m)
{
    QJsonObject o{{"id", m.id},
                  {"room_id", m.roomId},
                  {"sender_id", m.senderId},
                  {"content", m.content},
                  {"timestamp", formatTimestamp(m.timestamp)}};
    if (!m.nonce.isEmpty())
        o.insert(QLatin1String("nonce"), m.nonce);
    return o;
}
bool fromJson(const QJsonObject &d, NewMessage &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.id = r.integer("id", true);
    m.roomId = r.integer("room_id", true);
    m.senderId = r.string("sender_id", true);
    m.content = r.string("content", true);
    const QString ts = r.string("timestamp", true);
    m.nonce = r.string("nonce", false);
    if (!r.ok())
        return false;
    m.timestamp = parseTimestamp(ts);
    if (!m.timestamp.isValid())
        return r.fail(QStringLiteral("'timestamp' is not ISO-8601"));
    return true;
}

QJsonObject toJson(const Welcome &m)
{
    return {{"user_id", m.userId},
            {"resume_token", m.resumeToken},
            {"protocol", m.protocol},
            {"online", m.online},
            {"limits", QJsonObject{{"max_message_chars", m.limits.maxMessageChars},
                                   {"max_interests", m.limits.maxInterests},
                                   {"max_interest_chars", m.limits.maxInterestChars}}}};
}
bool fromJson(const QJsonObject &d, Welcome &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.userId = r.string("user_id", true);
    m.resumeToken = r.string("resume_token", true);
    m.protocol = int(r.integer("protocol", false, kProtocolVersion));
    m.online = int(r.integer("online", false, 0));
    const QJsonObject limits = r.object("limits");
    FieldReader l(limits, e);
    m.limits.maxMessageChars = int(l.integer("max_message_chars", false, kMaxMessageChars));
    m.limits.maxInterests = int(l.integer("max_interests", false, kMaxInterests));
    m.limits.maxInterestChars = int(l.integer("max_interest_chars", false, kMaxInterestChars));
    return r.ok() && l.ok();
}
QJsonObject toJson(const Waiting &m)
{
    return {{"online", m.online}, {"queued", m.queued}};
}
bool fromJson(const QJsonObject &d, Waiting &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.online = int(r.integer("online", false));
    m.queued = int(r.integer("queued", false));
    return r.ok();
}
QJsonObject toJson(const QueueLeft &)
{
    return {};
}
bool fromJson(const QJsonObject &, QueueLeft &, DecodeError &)
{
    return true;
}
QJsonObject toJson(const Matched &m)
{
    return {{"room_id", m.roomId},
            {"partner_id", m.partnerId},
            {"common_interests", QJsonArray::fromStringList(m.commonInterests)}};
}
bool fromJson(const QJsonObject &d, Matched &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.roomId = r.integer("room_id", true);
    m.partnerId = r.string("partner_id", true);
    m.commonInterests = r.stringList("common_interests", false);
    return r.ok();
}
QJsonObject toJson(const PartnerTyping &m)
{
    return {{"typing", m.typing}};
}
bool fromJson(const QJsonObject &d, PartnerTyping &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.typing = r.boolean("typing", true);
    return r.ok();
}

template <typename T>
QJsonObject roomOnlyToJson(const T &m)
{
    return {{"room_id", m.roomId}};
}
template <typename T>
bool roomOnlyFromJson(const QJsonObject &d, T &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.roomId = r.integer("room_id", true);
    return r.ok();
}
QJsonObject toJson(const PartnerAway &m)
{
    return roomOnlyToJson(m);
}
bool fromJson(const QJsonObject &d, PartnerAway &m, DecodeError &e)
{
    return roomOnlyFromJson(d, m, e);
}
QJsonObject toJson(const PartnerBack &m)
{
    return roomOnlyToJson(m);
}
bool fromJson(const QJsonObject &d, PartnerBack &m, DecodeError &e)
{
    return roomOnlyFromJson(d, m, e);
}
QJsonObject toJson(const RoomLeft &m)
{
    return roomOnlyToJson(m);
}
bool fromJson(const QJsonObject &d, RoomLeft &m, DecodeError &e)
{
    return roomOnlyFromJson(d, m, e);
}
QJsonObject toJson(const Reported &m)
{
    return roomOnlyToJson(m);
}
bool fromJson(const QJsonObject &d, Reported &m, DecodeError &e)
{
    return roomOnlyFromJson(d, m, e);
}
QJsonObject toJson(const PartnerLeft &m)
{
    return {{"room_id", m.roomId}, {"reason", leaveReasonName(m.reason)}};
}
bool fromJson(const QJsonObject &d, PartnerLeft &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.roomId = r.integer("room_id", true);
    const auto reason = leaveReasonFromName(r.string("reason", false, -1, QStringLiteral("left")));
    if (!r.ok())
        return false;
    if (!reason)
        return r.fail(QStringLiteral("unknown 'reason'"));
    m.reason = *reason;
    return true;
}
QJsonObject toJson(const Resumed &m)
{
    QJsonObject o{{"user_id", m.userId}, {"resume_token", m.resumeToken}};
    if (m.room) {
        QJsonArray messages;
        for (const NewMessage &msg : m.room->messages)
            messages.append(toJson(msg));
        o.insert(QLatin1String("room"), QJsonObject{{"room_id", m.room->roomId},
                                                    {"partner_id", m.room->partnerId},
                                                    {"messages", messages}});
    } else {
        o.insert(QLatin1String("room"), QJsonValue::Null);
    }
    return o;
}
bool fromJson(const QJsonObject &d, Resumed &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.userId = r.string("user_id", true);
    m.resumeToken = r.string("resume_token", true);
    const QJsonObject room = r.object("room");
    if (!r.ok())
        return false;
    if (room.isEmpty())
        return true;
    ResumedRoom rr;
    FieldReader rrr(room, e);
    rr.roomId = rrr.integer("room_id", true);
    rr.partnerId = rrr.string("partner_id", true);
    const QJsonValue messages = room.value(QLatin1String("messages"));
    if (!rrr.ok())
        return false;
    if (!messages.isUndefined() && !messages.isArray())
        return rrr.fail(QStringLiteral("'messages' must be a list"));
    for (const QJsonValue &v : messages.toArray()) {
        NewMessage msg;
        if (!v.isObject())
            return rrr.fail(QStringLiteral("'messages' must hold objects"));
        if (!fromJson(v.toObject(), msg, e))
            return false;
        rr.messages.append(msg);
    }
    m.room = std::move(rr);
    return true;
}
QJsonObject toJson(const Stats &m)
{
    return {{"online", m.online}, {"queued", m.queued}, {"active_rooms", m.activeRooms}};
}
bool fromJson(const QJsonObject &d, Stats &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.online = int(r.integer("online", false));
    m.queued = int(r.integer("queued", false));
    m.activeRooms = int(r.integer("active_rooms", false));
    return r.ok();
}
QJsonObject toJson(const Error &m)
{
    QJsonObject o{{"code", errorCodeName(m.code)}, {"message", m.message}};
    if (!m.event.isEmpty())
        o.insert(QLatin1String("event"), m.event);
    if (m.retryAfterMs >= 0)
        o.insert(QLatin1String("retry_after_ms"), m.retryAfterMs);
    return o;
}
bool fromJson(const QJsonObject &d, Error &m, DecodeError &e)
{
    FieldReader r(d, e);
    const QString code = r.string("code", true);
    m.message = r.string("message", false);
    m.event = r.string("event", false);
    m.retryAfterMs = r.integer("retry_after_ms", false, -1);
    if (!r.ok())
        return false;
    // An unknown code from a newer server is still an error: report it as internal.
    m.code = errorCodeFromName(code).value_or(ErrorCode::Internal);
    return true;
}

// ---- frames ---------------------------------------------------------------------------------

struct Envelope {
    QString event;
    QJsonObject data;
    bool dataIsObject = true; ///< checked only once the event is known to be one of ours
};

/// `validUtf8`: the bytes come from QString::toUtf8(), which never makes invalid UTF-8 (a lone
/// surrogate becomes '?'), so they need no second check.
bool readEnvelope(const QByteArray &utf8, Envelope &env, DecodeError &error, bool validUtf8 = false)
{
    if (!validUtf8) {
        QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
        (void)QString(decoder.decode(utf8));
        if (decoder.hasError()) {
            error = {ErrorCode::BadJson, QStringLiteral("the frame is not valid UTF-8"), {}};
            return false;
        }
    }
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(utf8, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        error = {ErrorCode::BadJson,
                 QStringLiteral("the frame is not valid JSON: %1").arg(parseError.errorString()),
                 {}};
        return false;
    }
    if (!doc.isObject()) {
        error = {ErrorCode::BadJson, QStringLiteral("the frame is not a JSON object"), {}};
        return false;
    }
    const QJsonObject root = doc.object();
    const QJsonValue event = root.value(QLatin1String("event"));
    if (!event.isString()) {
        error = {ErrorCode::UnknownEvent, QStringLiteral("'event' must be a string"), {}};
        return false;
    }
    env.event = event.toString();
    const QJsonValue data = root.value(QLatin1String("data"));
    env.dataIsObject = data.isUndefined() || data.isNull() || data.isObject();
    env.data = data.toObject();
    return true;
}

DecodeError dataNotObject(const Envelope &env)
{
    return {ErrorCode::InvalidData, QStringLiteral("'data' must be an object"), env.event};
}

QByteArray frame(const QString &event, const QJsonObject &data)
{
    QJsonObject root{{"event", event}};
    if (!data.isEmpty())
        root.insert(QLatin1String("data"), data);
    QByteArray json = QJsonDocument(root).toJson(QJsonDocument::Compact);
    // Qt 6.4's JSON reader drops a raw U+FEFF at the start of a string (as a byte order mark),
    // but its writer emits one raw: escape it, so every string reads back as it was sent.
    json.replace("\"\xEF\xBB\xBF", "\"\\ufeff");
    return json;
}

template <typename Message, typename Event, typename T>
bool decodeAs(const QJsonObject &data, std::variant<Message, DecodeError> &out)
{
    T message;
    DecodeError error;
    if (!fromJson(data, message, error)) {
        out = std::move(error);
        return false;
    }
    out = Message(std::in_place_type<T>, std::move(message));
    return true;
}

// ---- server frames, written directly --------------------------------------------------------
//
// The server sends a few small fixed-shape frames per message; building QJsonObjects for them
// (and formatting timestamps through QDateTime) was most of its CPU time. These write the same
// bytes as detail::encodeWithQJson(): keys sorted as QJsonObject sorts them, strings escaped as
// Qt's JSON writer escapes them (tst_protocol compares the two on many inputs).

constexpr char kHex[] = "0123456789abcdef";

#define ANONCHAT_NAME_ENTRY(type, name) name,
constexpr const char *kServerWireNames[] = {ANONCHAT_SERVER_EVENTS(ANONCHAT_NAME_ENTRY)};
constexpr const char *kErrorWireNames[] = {ANONCHAT_ERROR_CODES(ANONCHAT_NAME_ENTRY)};
#undef ANONCHAT_NAME_ENTRY

/// A JSON string's contents from UTF-16, as QJsonDocument::toJson() writes them: `"`, `\`
/// and control characters escaped (\b \f \n \r \t, others \u00xx), everything else as UTF-8,
/// a lone surrogate as \udxxx; and U+FEFF after a `"` (at the start of the string or after an
/// escaped quote) as \ufeff, which frame() does for Qt's reader (it drops a leading raw BOM).
void appendEscaped(QByteArray &out, QStringView s)
{
    const qsizetype start = out.size();
    out.resize(start + 6 * s.size()); // the longest form of one UTF-16 unit: \uxxxx
    char *const begin = out.data() + start;
    char *p = begin;
    const char16_t *src = s.utf16();
    const char16_t *const end = src + s.size();
    bool afterQuote = true;
    while (src != end) {
        const char16_t u = *src++;
        const bool quote = u == u'"';
        if (u < 0x80) {
            if (u >= 0x20 && u != u'"' && u != u'\\') {
                *p++ = char(u);
            } else {
                *p++ = '\\';
                switch (u) {
                case u'"': *p++ = '"'; break;
                case u'\\': *p++ = '\\'; break;
                case 0x08: *p++ = 'b'; break;
                case 0x0c: *p++ = 'f'; break;
                case 0x0a: *p++ = 'n'; break;
                case 0x0d: *p++ = 'r'; break;
                case 0x09: *p++ = 't'; break;
                default:
                    *p++ = 'u';
                    *p++ = '0';
                    *p++ = '0';
                    *p++ = kHex[(u >> 4) & 0xf];
                    *p++ = kHex[u & 0xf];
                }
            }
        } else if (u < 0x800) {
            *p++ = char(0xc0 | (u >> 6));
            *p++ = char(0x80 | (u & 0x3f));
        } else if (QChar::isHighSurrogate(u) && src != end && QChar::isLowSurrogate(*src)) {
            const char32_t c = QChar::surrogateToUcs4(u, *src++);
            *p++ = char(0xf0 | (c >> 18));
            *p++ = char(0x80 | ((c >> 12) & 0x3f));
            *p++ = char(0x80 | ((c >> 6) & 0x3f));
            *p++ = char(0x80 | (c & 0x3f));
        } else if (QChar::isSurrogate(u) || (u == 0xfeff && afterQuote)) {
            *p++ = '\\';
            *p++ = 'u';
            *p++ = kHex[u >> 12];
            *p++ = kHex[(u >> 8) & 0xf];
            *p++ = kHex[(u >> 4) & 0xf];
            *p++ = kHex[u & 0xf];
        } else {
            *p++ = char(0xe0 | (u >> 12));
            *p++ = char(0x80 | ((u >> 6) & 0x3f));
            *p++ = char(0x80 | (u & 0x3f));
        }
        afterQuote = quote;
    }
    out.resize(start + (p - begin));
}

void appendNumber(QByteArray &out, qint64 n)
{
    char buf[24];
    char *end = buf + sizeof buf;
    char *p = end;
    // Through the unsigned magnitude, so the lowest qint64 has one too.
    quint64 v = n < 0 ? 0 - quint64(n) : quint64(n);
    do {
        *--p = char('0' + v % 10);
        v /= 10;
    } while (v);
    if (n < 0)
        *--p = '-';
    out.append(p, end - p);
}

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days).
void civilFromDays(qint64 days, qint64 &year, int &month, int &day)
{
    days += 719468;
    const qint64 era = (days >= 0 ? days : days - 146096) / 146097;
    const qint64 doe = days - era * 146097;                                   // [0, 146096]
    const qint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // [0, 399]
    const qint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               // [0, 365]
    const qint64 mp = (5 * doy + 2) / 153;                                    // [0, 11]
    day = int(doy - (153 * mp + 2) / 5 + 1);
    month = int(mp < 10 ? mp + 3 : mp - 9);
    year = yoe + era * 400 + (month <= 2 ? 1 : 0);
}

constexpr int kTimestampChars = 24; // 2026-11-23T22:41:07.123Z

/// Writes `2026-11-23T22:41:07.123Z`; false for a year outside 1-9999 (QDate has no year 0, so
/// earlier years are numbered differently: Qt's format then).
bool writeTimestamp(char *p, qint64 msecs)
{
    constexpr qint64 kDayMs = 86400000;
    qint64 days = msecs / kDayMs;
    qint64 ms = msecs % kDayMs;
    if (ms < 0) {
        ms += kDayMs;
        --days;
    }
    qint64 year = 0;
    int month = 0;
    int day = 0;
    civilFromDays(days, year, month, day);
    if (year < 1 || year > 9999)
        return false;
    const auto two = [](char *q, int v) {
        q[0] = char('0' + v / 10);
        q[1] = char('0' + v % 10);
    };
    two(p, int(year / 100));
    two(p + 2, int(year % 100));
    p[4] = '-';
    two(p + 5, month);
    p[7] = '-';
    two(p + 8, day);
    p[10] = 'T';
    const int msOfDay = int(ms);
    two(p + 11, msOfDay / 3600000);
    p[13] = ':';
    two(p + 14, msOfDay / 60000 % 60);
    p[16] = ':';
    two(p + 17, msOfDay / 1000 % 60);
    p[19] = '.';
    p[20] = char('0' + msOfDay % 1000 / 100);
    two(p + 21, msOfDay % 100);
    p[23] = 'Z';
    return true;
}

void appendTimestamp(QByteArray &out, const QDateTime &time)
{
    char text[kTimestampChars];
    if (time.isValid() && writeTimestamp(text, time.toMSecsSinceEpoch()))
        out.append(text, kTimestampChars);
    else
        appendEscaped(out, time.toUTC().toString(Qt::ISODateWithMs));
}

// Small helpers for `"key":value` pairs; `key` is a plain ASCII literal with its punctuation.
void appendString(QByteArray &out, const char *key, QStringView value)
{
    out += key;
    out += '"';
    appendEscaped(out, value);
    out += '"';
}
void appendInt(QByteArray &out, const char *key, qint64 value)
{
    out += key;
    appendNumber(out, value);
}
void appendStringList(QByteArray &out, const char *key, const QStringList &list)
{
    out += key;
    out += '[';
    for (qsizetype i = 0; i < list.size(); ++i) {
        if (i)
            out += ',';
        out += '"';
        appendEscaped(out, list[i]);
        out += '"';
    }
    out += ']';
}

/// `new_message` data after `nonce`: `"room_id":..,"sender_id":"..","timestamp":".."`.
void writeNewMessageTail(QByteArray &out, const NewMessage &m)
{
    appendInt(out, R"("room_id":)", m.roomId);
    appendString(out, R"(,"sender_id":)", m.senderId);
    out += R"(,"timestamp":")";
    appendTimestamp(out, m.timestamp);
    out += '"';
}

void writeData(QByteArray &out, const NewMessage &m)
{
    appendString(out, R"("content":)", m.content);
    appendInt(out, R"(,"id":)", m.id);
    if (!m.nonce.isEmpty())
        appendString(out, R"(,"nonce":)", m.nonce);
    out += ',';
    writeNewMessageTail(out, m);
}
void writeData(QByteArray &out, const Welcome &m)
{
    appendInt(out, R"("limits":{"max_interest_chars":)", m.limits.maxInterestChars);
    appendInt(out, R"(,"max_interests":)", m.limits.maxInterests);
    appendInt(out, R"(,"max_message_chars":)", m.limits.maxMessageChars);
    appendInt(out, R"(},"online":)", m.online);
    appendInt(out, R"(,"protocol":)", m.protocol);
    appendString(out, R"(,"resume_token":)", m.resumeToken);
    appendString(out, R"(,"user_id":)", m.userId);
}
void writeData(QByteArray &out, const Waiting &m)
{
    appendInt(out, R"("online":)", m.online);
    appendInt(out, R"(,"queued":)", m.queued);
}
void writeData(QByteArray &out, const Matched &m)
{
    appendStringList(out, R"("common_interests":)", m.commonInterests);
    appendString(out, R"(,"partner_id":)", m.partnerId);
    appendInt(out, R"(,"room_id":)", m.roomId);
}
void writeData(QByteArray &out, const PartnerTyping &m)
{
    out += m.typing ? R"("typing":true)" : R"("typing":false)";
}
void writeRoomOnly(QByteArray &out, qint64 roomId)
{
    appendInt(out, R"("room_id":)", roomId);
}
void writeData(QByteArray &out, const PartnerAway &m)
{
    writeRoomOnly(out, m.roomId);
}
void writeData(QByteArray &out, const PartnerBack &m)
{
    writeRoomOnly(out, m.roomId);
}
void writeData(QByteArray &out, const RoomLeft &m)
{
    writeRoomOnly(out, m.roomId);
}
void writeData(QByteArray &out, const Reported &m)
{
    writeRoomOnly(out, m.roomId);
}
void writeData(QByteArray &out, const PartnerLeft &m)
{
    appendString(out, R"("reason":)", leaveReasonName(m.reason));
    appendInt(out, R"(,"room_id":)", m.roomId);
}
void writeData(QByteArray &out, const Resumed &m)
{
    out += R"("resume_token":")";
    appendEscaped(out, m.resumeToken);
    out += R"(","room":)";
    if (!m.room) {
        out += "null";
    } else {
        out += R"({"messages":[)";
        bool first = true;
        for (const NewMessage &msg : m.room->messages) {
            out += first ? "{" : ",{";
            first = false;
            writeData(out, msg);
            out += '}';
        }
        appendString(out, R"(],"partner_id":)", m.room->partnerId);
        appendInt(out, R"(,"room_id":)", m.room->roomId);
        out += '}';
    }
    appendString(out, R"(,"user_id":)", m.userId);
}
void writeData(QByteArray &out, const Stats &m)
{
    appendInt(out, R"("active_rooms":)", m.activeRooms);
    appendInt(out, R"(,"online":)", m.online);
    appendInt(out, R"(,"queued":)", m.queued);
}
void writeData(QByteArray &out, const Error &m)
{
    out += R"("code":")";
    out += kErrorWireNames[int(m.code)];
    out += '"';
    if (!m.event.isEmpty())
        appendString(out, R"(,"event":)", m.event);
    appendString(out, R"(,"message":)", m.message);
    if (m.retryAfterMs >= 0)
        appendInt(out, R"(,"retry_after_ms":)", m.retryAfterMs);
}

template <typename T>
void writeFrame(QByteArray &out, const T &m, const char *event)
{
    out += R"({"data":{)";
    writeData(out, m);
    out += R"(},"event":")";
    out += event;
    out += R"("})";
}
void writeFrame(QByteArray &out, const QueueLeft &, const char *)
{
    out += R"({"event":"queue_left"})"; // `data` is omitted when empty
}

} // namespace

namespace {
ClientDecodeResult decodeClient(const QByteArray &utf8, bool validUtf8)
{
    Envelope env;
    DecodeError error;
    if (!readEnvelope(utf8, env, error, validUtf8))
        return error;
    const std::optional<ClientEvent> event = clientEventFromName(env.event);
    if (!event)
        return DecodeError{ErrorCode::UnknownEvent,
                           QStringLiteral("unknown event '%1'").arg(env.event.left(64)),
                           env.event.left(64)};
    if (!env.dataIsObject)
        return dataNotObject(env);
    ClientDecodeResult result = DecodeError{};
    switch (*event) {
#define ANONCHAT_DECODE_CASE(type, name)                                                           \
    case ClientEvent::type: decodeAs<ClientMessage, ClientEvent, type>(env.data, result); break;
        ANONCHAT_CLIENT_EVENTS(ANONCHAT_DECODE_CASE)
#undef ANONCHAT_DECODE_CASE
    }
    if (auto *e = std::get_if<DecodeError>(&result))
        e->event = env.event;
    return result;
}

} // namespace

ClientDecodeResult decodeClientFrame(const QByteArray &utf8)
{
    return decodeClient(utf8, false);
}

ClientDecodeResult decodeClientFrame(const QString &text)
{
    return decodeClient(text.toUtf8(), true);
}

ClientDecodeResult decodeCheckedClientFrame(const QByteArray &utf8)
{
    return decodeClient(utf8, true);
}

ServerDecodeResult decodeServerFrame(const QByteArray &utf8)
{
    Envelope env;
    DecodeError error;
    if (!readEnvelope(utf8, env, error))
        return error;
    const std::optional<ServerEvent> event = serverEventFromName(env.event);
    if (!event)
        return DecodeError{ErrorCode::UnknownEvent,
                           QStringLiteral("unknown event '%1'").arg(env.event.left(64)),
                           env.event.left(64)};
    if (!env.dataIsObject)
        return dataNotObject(env);
    ServerDecodeResult result = DecodeError{};
    switch (*event) {
#define ANONCHAT_DECODE_CASE(type, name)                                                           \
    case ServerEvent::type: decodeAs<ServerMessage, ServerEvent, type>(env.data, result); break;
        ANONCHAT_SERVER_EVENTS(ANONCHAT_DECODE_CASE)
#undef ANONCHAT_DECODE_CASE
    }
    if (auto *e = std::get_if<DecodeError>(&result))
        e->event = env.event;
    return result;
}

ServerDecodeResult decodeServerFrame(const QString &text)
{
    return decodeServerFrame(text.toUtf8());
}

QByteArray encode(const ClientMessage &message)
{
    return frame(eventName(eventOf(message)),
                 std::visit([](const auto &m) { return toJson(m); }, message));
}

QByteArray encode(const ServerMessage &message)
{
    QByteArray out;
    out.reserve(256);
    const char *event = kServerWireNames[message.index()];
    std::visit([&out, event](const auto &m) { writeFrame(out, m, event); }, message);
    return out;
}

NewMessageFrames encodeNewMessage(const NewMessage &message)
{
    // The keys are sorted, so `nonce` sits between `id` and `room_id`: one prefix and one
    // suffix, and the sender's copy has the nonce between them.
    QByteArray prefix;
    prefix.reserve(64 + 3 * message.content.size());
    prefix += R"({"data":{"content":")";
    appendEscaped(prefix, message.content);
    prefix += R"(","id":)";
    appendNumber(prefix, message.id);
    prefix += ',';
    QByteArray suffix;
    suffix.reserve(120);
    writeNewMessageTail(suffix, message);
    suffix += R"(},"event":"new_message"})";

    NewMessageFrames frames;
    frames.partner.reserve(prefix.size() + suffix.size());
    frames.partner += prefix;
    frames.partner += suffix;
    if (message.nonce.isEmpty()) {
        frames.sender = frames.partner; // shared, not copied
    } else {
        QByteArray nonce = R"("nonce":")";
        appendEscaped(nonce, message.nonce);
        nonce += R"(",)";
        frames.sender.reserve(prefix.size() + nonce.size() + suffix.size());
        frames.sender += prefix;
        frames.sender += nonce;
        frames.sender += suffix;
    }
    return frames;
}

namespace detail {
QByteArray encodeWithQJson(const ServerMessage &message)
{
    return frame(eventName(eventOf(message)),
                 std::visit([](const auto &m) { return toJson(m); }, message));
}
} // namespace detail

QString encodeText(const ClientMessage &message)
{
    return QString::fromUtf8(encode(message));
}

QString encodeText(const ServerMessage &message)
{
    return QString::fromUtf8(encode(message));
}

int codePointCount(QStringView text)
{
    int count = 0;
    const qsizetype n = text.size();
    for (qsizetype i = 0; i < n; ++i) {
        if (text[i].isHighSurrogate() && i + 1 < n && text[i + 1].isLowSurrogate())
            ++i;
        ++count;
    }
    return count;
}

QString formatTimestamp(const QDateTime &utc)
{
    char text[kTimestampChars];
    if (!utc.isValid() || !writeTimestamp(text, utc.toMSecsSinceEpoch()))
        return utc.toUTC().toString(Qt::ISODateWithMs);
    return QString::fromLatin1(text, kTimestampChars);
}

QDateTime parseTimestamp(const QString &text)
{
    QDateTime t = QDateTime::fromString(text, Qt::ISODateWithMs);
    if (!t.isValid())
        t = QDateTime::fromString(text, Qt::ISODate);
    return t.toUTC();
}

bool normaliseInterests(const QStringList &raw, QStringList &out)
{
    QStringList result;
    for (const QString &item : raw) {
        const QString s = item.trimmed().toCaseFolded();
        if (s.isEmpty())
            continue;
        if (codePointCount(s) > kMaxInterestChars)
            return false;
        if (!result.contains(s))
            result.append(s);
    }
    if (result.size() > kMaxInterests)
        return false;
    out = result;
    return true;
}

} // namespace anonchat::protocol
