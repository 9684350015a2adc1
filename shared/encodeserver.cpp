// Server frames written directly, byte for byte what QJsonDocument would write for them.
#include "shared/codec.h"
#include "shared/timestamp.h"

namespace anonchat::protocol {

namespace {

// ---- server frames, written directly --------------------------------------------------------
//
// The server sends a few small fixed-shape frames per message; building QJsonObjects for them
// (and formatting timestamps through QDateTime) was most of its CPU time. These write the same
// bytes as Qt's JSON writer (tests/support/referenceencoder.h): keys sorted as QJsonObject sorts
// them, strings escaped as Qt's JSON writer escapes them (tst_protocol compares the two on many
// inputs).

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

void appendTimestamp(QByteArray &out, const QDateTime &time)
{
    char text[internal::kTimestampChars];
    if (time.isValid() && internal::writeTimestamp(text, time.toMSecsSinceEpoch()))
        out.append(text, internal::kTimestampChars);
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
    if (m.pow) {
        appendInt(out, R"(,"pow":{"bits":)", m.pow->bits);
        out += R"(,"challenge":")";
        out += m.pow->challenge.toHex();
        out += R"("})";
    }
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
    if (m.commonLanguage.isEmpty())
        out += R"(,"common_language":null)";
    else
        appendString(out, R"(,"common_language":)", m.commonLanguage);
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
    if (!m.until.isEmpty())
        appendString(out, R"(,"until":)", m.until);
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

QString encodeText(const ServerMessage &message)
{
    return QString::fromUtf8(encode(message));
}

} // namespace anonchat::protocol
