#include "shared/envelope.h"

#include <QJsonDocument>
#include <QJsonValue>
#include <QStringDecoder>

namespace anonchat::protocol::internal {

bool readEnvelope(const QByteArray &utf8, Envelope &env, DecodeError &error, bool validUtf8)
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

DecodeError unknownEvent(const Envelope &env)
{
    return {ErrorCode::UnknownEvent, QStringLiteral("unknown event '%1'").arg(env.event.left(64)),
            env.event.left(64)};
}

} // namespace anonchat::protocol::internal
