// Server frames decoded for clients: fields of the wrong type are `invalid_data`, unknown keys
// are ignored.
#include "shared/codec.h"
#include "shared/envelope.h"
#include "shared/fieldreader.h"

namespace anonchat::protocol {

namespace {

using internal::FieldReader;

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

/// `welcome.pow`, when present: a hex challenge of kPowChallengeBytes and bits within range.
bool readPow(const QJsonObject &pow, Welcome &m, DecodeError &e)
{
    if (pow.isEmpty())
        return true;
    FieldReader r(pow, e);
    const QString hex = r.string("challenge", true, 2 * kPowChallengeBytes);
    const qint64 bits = r.integer("bits", true);
    if (!r.ok())
        return false;
    const QByteArray challenge = QByteArray::fromHex(hex.toLatin1());
    if (challenge.size() != kPowChallengeBytes || challenge.toHex() != hex.toLatin1())
        return r.fail(
            QStringLiteral("'challenge' must be %1 hex digits").arg(2 * kPowChallengeBytes));
    if (bits < 0 || bits > kMaxPowBits)
        return r.fail(QStringLiteral("'bits' must be 0 to %1").arg(kMaxPowBits));
    m.pow = PowChallenge{challenge, int(bits)};
    return true;
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
    return r.ok() && l.ok() && readPow(r.object("pow"), m, e);
}
bool fromJson(const QJsonObject &d, Waiting &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.online = int(r.integer("online", false));
    m.queued = int(r.integer("queued", false));
    return r.ok();
}
bool fromJson(const QJsonObject &, QueueLeft &, DecodeError &)
{
    return true;
}
bool fromJson(const QJsonObject &d, Matched &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.roomId = r.integer("room_id", true);
    m.partnerId = r.string("partner_id", true);
    m.commonInterests = r.stringList("common_interests", false);
    m.commonLanguage = r.string("common_language", false);
    return r.ok();
}
bool fromJson(const QJsonObject &d, PartnerTyping &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.typing = r.boolean("typing", true);
    return r.ok();
}

template <typename T>
bool roomOnlyFromJson(const QJsonObject &d, T &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.roomId = r.integer("room_id", true);
    return r.ok();
}
bool fromJson(const QJsonObject &d, PartnerAway &m, DecodeError &e)
{
    return roomOnlyFromJson(d, m, e);
}
bool fromJson(const QJsonObject &d, PartnerBack &m, DecodeError &e)
{
    return roomOnlyFromJson(d, m, e);
}
bool fromJson(const QJsonObject &d, RoomLeft &m, DecodeError &e)
{
    return roomOnlyFromJson(d, m, e);
}
bool fromJson(const QJsonObject &d, Reported &m, DecodeError &e)
{
    return roomOnlyFromJson(d, m, e);
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
bool fromJson(const QJsonObject &d, Stats &m, DecodeError &e)
{
    FieldReader r(d, e);
    m.online = int(r.integer("online", false));
    m.queued = int(r.integer("queued", false));
    m.activeRooms = int(r.integer("active_rooms", false));
    return r.ok();
}
bool fromJson(const QJsonObject &d, Error &m, DecodeError &e)
{
    FieldReader r(d, e);
    const QString code = r.string("code", true);
    m.message = r.string("message", false);
    m.event = r.string("event", false);
    m.retryAfterMs = r.integer("retry_after_ms", false, -1);
    m.until = r.string("until", false);
    if (!r.ok())
        return false;
    // An unknown code from a newer server is still an error: report it as internal.
    m.code = errorCodeFromName(code).value_or(ErrorCode::Internal);
    return true;
}

/// `data` decoded as a `T`, by its `fromJson` overload above.
template <typename T>
ServerDecodeResult decodeAs(const QJsonObject &data)
{
    T message;
    DecodeError error;
    if (!fromJson(data, message, error))
        return error;
    return ServerMessage(std::in_place_type<T>, std::move(message));
}

} // namespace

ServerDecodeResult decodeServerFrame(const QByteArray &utf8)
{
    internal::Envelope env;
    DecodeError error;
    if (!internal::readEnvelope(utf8, env, error))
        return error;
    const std::optional<ServerEvent> event = serverEventFromName(env.event);
    if (!event)
        return internal::unknownEvent(env);
    if (!env.dataIsObject)
        return internal::dataNotObject(env);
    ServerDecodeResult result = DecodeError{};
    switch (*event) {
#define ANONCHAT_DECODE_CASE(type, name)                                                           \
    case ServerEvent::type: result = decodeAs<type>(env.data); break;
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

} // namespace anonchat::protocol
