#pragma once

// The operator's moderation API under /admin/api (PROTOCOL.md, "Moderation API").

#include "server/moderation/moderationservice.h"
#include "server/net/httplistener.h"

#include <QByteArray>
#include <QJsonObject>

namespace anonchat::server {

/**
 * `/admin/api/reports`, `/admin/api/reports/{id}/dismiss`, `/admin/api/bans` and
 * `/admin/api/bans/{id}`: reads the request, checks its bearer token (compared in constant time),
 * asks the ModerationService and answers in JSON. Without a token (no `--admin-token-file`)
 * every path under `/admin/api` answers 404. Runs on the listener's thread.
 */
class AdminApi
{
public:
    static constexpr qint64 kMaxBodyBytes = 4 * 1024;
    static constexpr QByteArrayView kPrefix = "/admin/api";

    AdminApi(QByteArray token, ModerationService &service);

    void handle(const HttpRequest &request, const HttpListener::Reply &reply);

private:
    bool authorised(const HttpRequest &request) const;
    void route(const HttpRequest &request, const HttpListener::Reply &reply);
    void listReports(const HttpRequest &request, const HttpListener::Reply &reply);
    void dismiss(qint64 reportId, const HttpListener::Reply &reply);
    void createBan(const HttpRequest &request, const HttpListener::Reply &reply);
    void listBans(const HttpListener::Reply &reply);
    void liftBan(qint64 banId, const HttpListener::Reply &reply);

    QByteArray m_tokenDigest; ///< SHA-256 of the token; empty: the API is off
    ModerationService &m_service;
};

} // namespace anonchat::server
