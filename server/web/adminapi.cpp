#include "server/web/adminapi.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QUrlQuery>

namespace anonchat::server {

namespace {

constexpr int kMaxListed = 500;
constexpr int kMaxBanHours = 24 * 365;
constexpr int kMaxNoteChars = 500;

QByteArray digest(const QByteArray &token)
{
    return QCryptographicHash::hash(token, QCryptographicHash::Sha256);
}

HttpResponse json(int status, const QJsonObject &body)
{
    HttpResponse r;
    r.status = status;
    r.contentType = "application/json";
    r.headers.emplace_back("Cache-Control", "no-store");
    r.body = QJsonDocument(body).toJson(QJsonDocument::Compact);
    return r;
}

HttpResponse failure(int status, const QString &why)
{
    return json(status, QJsonObject{{QStringLiteral("error"), why}});
}

HttpResponse wrongMethod(const QByteArray &allow)
{
    HttpResponse r = failure(405, QStringLiteral("method not allowed"));
    r.headers.emplace_back("Allow", allow);
    return r;
}

HttpResponse outcomeFailure(ModerationStore::Outcome outcome, const QString &what)
{
    if (outcome == ModerationStore::Outcome::NotFound)
        return failure(404, QStringLiteral("no such %1").arg(what));
    if (outcome == ModerationStore::Outcome::Gone)
        return failure(409, QStringLiteral("the reported address is no longer known (its hash "
                                           "was purged with the report's retention)"));
    return failure(503, QStringLiteral("the database is unavailable"));
}

QJsonObject reportJson(const ReportView &r)
{
    QJsonArray messages;
    for (const ReportView::Message &m : r.messages) {
        messages.append(QJsonObject{{QStringLiteral("id"), m.id},
                                    {QStringLiteral("sender_id"), m.senderId},
                                    {QStringLiteral("content"), m.content},
                                    {QStringLiteral("timestamp"), m.timestamp}});
    }
    return QJsonObject{{QStringLiteral("id"), r.id},
                       {QStringLiteral("created_at"), r.createdAt},
                       {QStringLiteral("status"), r.status},
                       {QStringLiteral("reason"), r.reason.isNull() ? QJsonValue() : r.reason},
                       {QStringLiteral("room_id"), r.roomId},
                       {QStringLiteral("reporter_id"), r.reporterId},
                       {QStringLiteral("reported_id"), r.reportedId},
                       {QStringLiteral("messages"), messages}};
}

QString stamp(const QDateTime &time)
{
    return time.toUTC().toString(Qt::ISODateWithMs);
}

QJsonObject banJson(const Ban &b)
{
    return QJsonObject{
        {QStringLiteral("id"), b.id},
        {QStringLiteral("until"), stamp(b.until)},
        {QStringLiteral("note"), b.note},
        {QStringLiteral("created_at"), stamp(b.createdAt)},
        {QStringLiteral("report_id"), b.reportId > 0 ? QJsonValue(b.reportId) : QJsonValue()}};
}

/// A positive id, or 0.
qint64 idFrom(const QString &text)
{
    bool ok = false;
    const qint64 id = text.toLongLong(&ok);
    return ok && id > 0 && !text.startsWith(QLatin1Char('+')) ? id : 0;
}

} // namespace

AdminApi::AdminApi(QByteArray token, ModerationService &service)
    : m_tokenDigest(token.isEmpty() ? QByteArray() : digest(token))
    , m_service(service)
{}

void AdminApi::handle(const HttpRequest &request, const HttpListener::Reply &reply)
{
    if (m_tokenDigest.isEmpty()) {
        reply(failure(404, QStringLiteral("not found")));
        return;
    }
    if (!authorised(request)) {
        HttpResponse r = failure(401, QStringLiteral("a valid bearer token is required"));
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        reply(r);
        return;
    }
    route(request, reply);
}

bool AdminApi::authorised(const HttpRequest &request) const
{
    const QByteArray header = request.header("authorization");
    if (!header.startsWith("Bearer "))
        return false;
    // Digests of equal length, compared without an early exit: the time says nothing.
    const QByteArray given = digest(header.mid(7).trimmed());
    unsigned char diff = 0;
    for (int i = 0; i < m_tokenDigest.size(); ++i)
        diff |= static_cast<unsigned char>(given[i] ^ m_tokenDigest[i]);
    return diff == 0;
}

void AdminApi::route(const HttpRequest &request, const HttpListener::Reply &reply)
{
    static const QRegularExpression dismissPath(QStringLiteral("^/reports/([0-9]+)/dismiss$"));
    static const QRegularExpression banPath(QStringLiteral("^/bans/([0-9]+)$"));
    const QString path = QString::fromLatin1(request.path.mid(kPrefix.size()));
    const QByteArray &method = request.method;
    if (path == QLatin1String("/reports")) {
        return method == "GET" ? listReports(request, reply) : reply(wrongMethod("GET"));
    }
    if (path == QLatin1String("/bans")) {
        if (method == "GET")
            return listBans(reply);
        return method == "POST" ? createBan(request, reply) : reply(wrongMethod("GET, POST"));
    }
    if (const QRegularExpressionMatch m = dismissPath.match(path); m.hasMatch()) {
        const qint64 id = idFrom(m.captured(1));
        return method != "POST" ? reply(wrongMethod("POST"))
               : id == 0        ? reply(failure(404, QStringLiteral("no such report")))
                                : dismiss(id, reply);
    }
    if (const QRegularExpressionMatch m = banPath.match(path); m.hasMatch()) {
        const qint64 id = idFrom(m.captured(1));
        return method != "DELETE" ? reply(wrongMethod("DELETE"))
               : id == 0          ? reply(failure(404, QStringLiteral("no such ban")))
                                  : liftBan(id, reply);
    }
    reply(failure(404, QStringLiteral("not found")));
}

void AdminApi::listReports(const HttpRequest &request, const HttpListener::Reply &reply)
{
    const QUrlQuery query(QString::fromLatin1(request.target.mid(request.path.size() + 1)));
    ReportQuery q;
    if (query.hasQueryItem(QStringLiteral("status")))
        q.status = query.queryItemValue(QStringLiteral("status"));
    bool limitOk = true;
    bool beforeOk = true;
    if (query.hasQueryItem(QStringLiteral("limit")))
        q.limit = query.queryItemValue(QStringLiteral("limit")).toInt(&limitOk);
    if (query.hasQueryItem(QStringLiteral("before")))
        q.before = query.queryItemValue(QStringLiteral("before")).toLongLong(&beforeOk);
    const QStringList statuses{QStringLiteral("open"), QStringLiteral("dismissed"),
                               QStringLiteral("actioned")};
    if (!statuses.contains(q.status))
        return reply(failure(400, QStringLiteral("status must be open, dismissed or actioned")));
    if (!limitOk || q.limit < 1 || q.limit > kMaxListed)
        return reply(failure(400, QStringLiteral("limit must be 1 to %1").arg(kMaxListed)));
    if (!beforeOk || q.before < 0)
        return reply(failure(400, QStringLiteral("before must be a report id")));
    m_service.listReports(q, [reply](bool ok, const QVector<ReportView> &reports) {
        if (!ok)
            return reply(failure(503, QStringLiteral("the database is unavailable")));
        QJsonArray list;
        for (const ReportView &r : reports)
            list.append(reportJson(r));
        reply(json(200, QJsonObject{{QStringLiteral("reports"), list}}));
    });
}

void AdminApi::dismiss(qint64 reportId, const HttpListener::Reply &reply)
{
    m_service.dismiss(reportId, [reply, reportId](ModerationStore::Outcome outcome) {
        if (outcome != ModerationStore::Outcome::Done)
            return reply(outcomeFailure(outcome, QStringLiteral("report")));
        reply(json(200, QJsonObject{{QStringLiteral("id"), reportId},
                                    {QStringLiteral("status"), QStringLiteral("dismissed")}}));
    });
}

void AdminApi::createBan(const HttpRequest &request, const HttpListener::Reply &reply)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(request.body, &parseError);
    if (parseError.error != QJsonParseError::NoError || !doc.isObject())
        return reply(failure(400, QStringLiteral("the body must be a JSON object")));
    const QJsonObject o = doc.object();
    const QJsonValue reportId = o.value(QStringLiteral("report_id"));
    const QJsonValue hours = o.value(QStringLiteral("hours"));
    const QJsonValue note = o.value(QStringLiteral("note"));
    const auto isWhole = [](const QJsonValue &v, double low, double high) {
        return v.isDouble() && v.toDouble() == double(qint64(v.toDouble())) &&
               v.toDouble() >= low && v.toDouble() <= high;
    };
    if (!isWhole(reportId, 1, 9007199254740991.0))
        return reply(failure(400, QStringLiteral("report_id must be a report id")));
    if (!isWhole(hours, 1, kMaxBanHours))
        return reply(failure(400, QStringLiteral("hours must be 1 to %1").arg(kMaxBanHours)));
    if (!note.isUndefined() && !note.isNull() &&
        (!note.isString() || note.toString().size() > kMaxNoteChars))
        return reply(failure(
            400,
            QStringLiteral("note must be a string of at most %1 characters").arg(kMaxNoteChars)));
    m_service.ban(qint64(reportId.toDouble()), hours.toInt(), note.toString(),
                  [reply](ModerationStore::Outcome outcome, const Ban &ban) {
                      if (outcome != ModerationStore::Outcome::Done)
                          return reply(outcomeFailure(outcome, QStringLiteral("report")));
                      reply(json(201, QJsonObject{{QStringLiteral("id"), ban.id},
                                                  {QStringLiteral("until"), stamp(ban.until)}}));
                  });
}

void AdminApi::listBans(const HttpListener::Reply &reply)
{
    m_service.listBans([reply](bool ok, const QVector<Ban> &bans) {
        if (!ok)
            return reply(failure(503, QStringLiteral("the database is unavailable")));
        QJsonArray list;
        for (const Ban &b : bans)
            list.append(banJson(b));
        reply(json(200, QJsonObject{{QStringLiteral("bans"), list}}));
    });
}

void AdminApi::liftBan(qint64 banId, const HttpListener::Reply &reply)
{
    m_service.lift(banId, [reply](ModerationStore::Outcome outcome) {
        if (outcome != ModerationStore::Outcome::Done)
            return reply(outcomeFailure(outcome, QStringLiteral("ban")));
        HttpResponse r;
        r.status = 204;
        reply(r);
    });
}

} // namespace anonchat::server
