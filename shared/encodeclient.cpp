// Client frames encoded through QJsonObject and QJsonDocument (a client sends few).
#include "shared/codec.h"
#include "shared/jsonframe.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace anonchat::protocol {

namespace {

QJsonObject queueData(const QStringList &interests, const QString &lang, const QString &powNonce)
{
    QJsonObject o;
    if (!interests.isEmpty())
        o.insert(QLatin1String("interests"), QJsonArray::fromStringList(interests));
    if (!lang.isEmpty())
        o.insert(QLatin1String("lang"), lang);
    if (!powNonce.isEmpty())
        o.insert(QLatin1String("pow_nonce"), powNonce);
    return o;
}
QJsonObject toJson(const JoinQueue &m)
{
    return queueData(m.interests, m.lang, m.powNonce);
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
    return queueData(m.interests, m.lang, m.powNonce);
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

} // namespace

namespace internal {

QByteArray jsonFrame(const QString &event, const QJsonObject &data)
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

} // namespace internal

QByteArray encode(const ClientMessage &message)
{
    return internal::jsonFrame(eventName(eventOf(message)),
                               std::visit([](const auto &m) { return toJson(m); }, message));
}

QString encodeText(const ClientMessage &message)
{
    return QString::fromUtf8(encode(message));
}

} // namespace anonchat::protocol
