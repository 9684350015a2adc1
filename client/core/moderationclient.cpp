#include "client/core/moderationclient.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QUrlQuery>

namespace anonchat::client {

namespace {

QDateTime timeFrom(const QJsonValue &value)
{
    return QDateTime::fromString(value.toString(), Qt::ISODateWithMs).toUTC();
}

/// A positive integer field, or 0.
qint64 idFrom(const QJsonObject &object, QLatin1String key)
{
    const QJsonValue value = object.value(key);
    return value.isDouble() ? value.toInteger() : 0;
}

bool parseMessage(const QJsonValue &value, ReportedMessage *out)
{
    const QJsonObject o = value.toObject();
    out->id = idFrom(o, QLatin1String("id"));
    out->senderId = o.value(QLatin1String("sender_id")).toString();
    out->content = o.value(QLatin1String("content")).toString();
    out->timestamp = timeFrom(o.value(QLatin1String("timestamp")));
    return out->id > 0 && o.value(QLatin1String("content")).isString();
}

bool parseReport(const QJsonValue &value, ModerationReport *out)
{
    const QJsonObject o = value.toObject();
    out->id = idFrom(o, QLatin1String("id"));
    out->createdAt = timeFrom(o.value(QLatin1String("created_at")));
    out->status = o.value(QLatin1String("status")).toString();
    out->reason = o.value(QLatin1String("reason")).toString();
    out->roomId = idFrom(o, QLatin1String("room_id"));
    out->reporterId = o.value(QLatin1String("reporter_id")).toString();
    out->reportedId = o.value(QLatin1String("reported_id")).toString();
    const QJsonArray messages = o.value(QLatin1String("messages")).toArray();
    for (const QJsonValue &m : messages) {
        ReportedMessage message;
        if (!parseMessage(m, &message))
            return false;
        out->messages.append(message);
    }
    return out->id > 0 && !out->status.isEmpty();
}

bool parseBan(const QJsonValue &value, ModerationBan *out)
{
    const QJsonObject o = value.toObject();
    out->id = idFrom(o, QLatin1String("id"));
    out->until = timeFrom(o.value(QLatin1String("until")));
    out->createdAt = timeFrom(o.value(QLatin1String("created_at")));
    out->note = o.value(QLatin1String("note")).toString();
    out->reportId = idFrom(o, QLatin1String("report_id"));
    return out->id > 0 && out->until.isValid();
}

} // namespace

ModerationClient::ModerationClient(QObject *parent)
    : QObject(parent)
    , m_network(new QNetworkAccessManager(this))
{}

ModerationClient::~ModerationClient() = default;

QUrl ModerationClient::apiUrl(const QUrl &serverUrl)
{
    if (!serverUrl.isValid() || serverUrl.host().isEmpty())
        return {};
    QUrl url = serverUrl.adjusted(QUrl::RemoveFragment | QUrl::RemoveQuery | QUrl::RemoveUserInfo);
    const QString scheme = url.scheme().toLower();
    if (scheme == QLatin1String("ws") || scheme == QLatin1String("http"))
        url.setScheme(QStringLiteral("http"));
    else if (scheme == QLatin1String("wss") || scheme == QLatin1String("https"))
        url.setScheme(QStringLiteral("https"));
    else
        return {};
    // The page is at `<base>/`, the WebSocket at `<base>/ws`, the API at `<base>/admin/api`.
    QString path = url.path();
    if (path.endsWith(QLatin1String("/ws")))
        path.chop(2);
    if (!path.endsWith(QLatin1Char('/')))
        path += QLatin1Char('/');
    url.setPath(path + QLatin1String("admin/api"));
    return url.isValid() ? url : QUrl();
}

bool ModerationClient::setServer(const QUrl &serverUrl, const QByteArray &token)
{
    m_api = apiUrl(serverUrl);
    m_token = token;
    return m_api.isValid();
}

void ModerationClient::fetchReports(const QString &status, int limit)
{
    QUrlQuery query;
    query.addQueryItem(QStringLiteral("status"), status);
    query.addQueryItem(QStringLiteral("limit"), QString::number(limit));
    send("GET", QStringLiteral("/reports?") + query.toString(QUrl::FullyEncoded), {}, 200,
         [this, status](const QJsonObject &body) {
             if (!body.value(QLatin1String("reports")).isArray())
                 return false;
             QList<ModerationReport> reports;
             for (const QJsonValue &value : body.value(QLatin1String("reports")).toArray()) {
                 ModerationReport report;
                 if (!parseReport(value, &report))
                     return false;
                 reports.append(report);
             }
             emit reportsFetched(status, reports);
             return true;
         });
}

void ModerationClient::dismiss(qint64 reportId)
{
    send("POST", QStringLiteral("/reports/%1/dismiss").arg(reportId), "{}", 200,
         [this, reportId](const QJsonObject &) {
             emit dismissed(reportId);
             return true;
         });
}

void ModerationClient::ban(qint64 reportId, int hours, const QString &note)
{
    QJsonObject request{{QStringLiteral("report_id"), reportId}, {QStringLiteral("hours"), hours}};
    if (!note.isEmpty())
        request.insert(QStringLiteral("note"), note);
    send("POST", QStringLiteral("/bans"), QJsonDocument(request).toJson(QJsonDocument::Compact),
         201, [this, reportId](const QJsonObject &body) {
             const qint64 id = idFrom(body, QLatin1String("id"));
             const QDateTime until = timeFrom(body.value(QLatin1String("until")));
             if (id <= 0 || !until.isValid())
                 return false;
             emit banMade(reportId, id, until);
             return true;
         });
}

void ModerationClient::fetchBans()
{
    send("GET", QStringLiteral("/bans"), {}, 200, [this](const QJsonObject &body) {
        if (!body.value(QLatin1String("bans")).isArray())
            return false;
        QList<ModerationBan> bans;
        for (const QJsonValue &value : body.value(QLatin1String("bans")).toArray()) {
            ModerationBan ban;
            if (!parseBan(value, &ban))
                return false;
            bans.append(ban);
        }
        emit bansFetched(bans);
        return true;
    });
}

void ModerationClient::lift(qint64 banId)
{
    send("DELETE", QStringLiteral("/bans/%1").arg(banId), {}, 204,
         [this, banId](const QJsonObject &) {
             emit lifted(banId);
             return true;
         });
}

void ModerationClient::send(const QByteArray &verb, const QString &path, const QByteArray &body,
                            int expectedStatus, const Handler &handler)
{
    if (!m_api.isValid()) {
        fail(Failure::Network, 0, tr("no server"));
        return;
    }
    QUrl url = m_api;
    const qsizetype query = path.indexOf(QLatin1Char('?'));
    url.setPath(m_api.path() + (query < 0 ? path : path.left(query)));
    if (query >= 0)
        url.setQuery(path.mid(query + 1), QUrl::StrictMode);
    QNetworkRequest request(url);
    request.setRawHeader("Authorization", "Bearer " + m_token);
    request.setRawHeader("Accept", "application/json");
    request.setTransferTimeout(kTimeoutMs);
    if (!body.isEmpty())
        request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    QNetworkReply *reply = m_network->sendCustomRequest(request, verb, body);
    connect(reply, &QNetworkReply::finished, this, [this, reply, expectedStatus, handler] {
        reply->deleteLater();
        finish(reply, expectedStatus, handler);
    });
}

void ModerationClient::finish(QNetworkReply *reply, int expectedStatus, const Handler &handler)
{
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QByteArray bytes = reply->readAll();
    QJsonParseError parseError{};
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    const QString serverError = doc.object().value(QLatin1String("error")).toString();
    if (status == 0) {
        fail(Failure::Network, 0, reply->errorString());
    } else if (status == 401) {
        fail(Failure::TokenRefused, status, serverError);
    } else if (status == 404) {
        fail(Failure::NotFound, status, serverError);
    } else if (status != expectedStatus) {
        fail(Failure::Refused, status, serverError);
    } else if (status != 204 && (parseError.error != QJsonParseError::NoError || !doc.isObject())) {
        fail(Failure::BadReply, status, tr("not JSON"));
    } else if (!handler(doc.object())) {
        fail(Failure::BadReply, status, tr("unexpected contents"));
    }
}

void ModerationClient::fail(Failure failure, int status, const QString &detail)
{
    QString message;
    switch (failure) {
    case Failure::TokenRefused: message = tr("The server refused the moderation token."); break;
    case Failure::NotFound:
        message = tr("Not found (already handled, or moderation is off on this server).");
        break;
    case Failure::Refused:
        message = tr("The server answered %1: %2")
                      .arg(status)
                      .arg(detail.isEmpty() ? tr("no reason given") : detail);
        break;
    case Failure::Network: message = tr("The server could not be reached: %1").arg(detail); break;
    case Failure::BadReply:
        message = tr("The server's answer was not understood (%1).").arg(detail);
        break;
    }
    emit failed(failure, message);
}

} // namespace anonchat::client
