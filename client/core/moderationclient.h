// ModerationClient: the operator's side of a server's moderation API (/admin/api).
#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QObject>
#include <QString>
#include <QUrl>
#include <functional>

class QJsonObject;
class QNetworkAccessManager;
class QNetworkReply;

namespace anonchat::client {

/// One message of a reported room's transcript.
struct ReportedMessage {
    qint64 id = 0;
    QString senderId; ///< the user id (8 hex digits)
    QString content;
    QDateTime timestamp; ///< UTC
};

/// A report with its room's transcript (oldest message first).
struct ModerationReport {
    qint64 id = 0;
    QDateTime createdAt; ///< UTC
    QString status;      ///< "open", "dismissed" or "actioned"
    QString reason;
    qint64 roomId = 0;
    QString reporterId; ///< user ids (8 hex digits)
    QString reportedId;
    QList<ReportedMessage> messages;
};

/// A ban in force.
struct ModerationBan {
    qint64 id = 0;
    QDateTime until;     ///< UTC
    QDateTime createdAt; ///< UTC
    QString note;
    qint64 reportId = 0; ///< 0: an automatic ban
};

/**
 * Speaks the moderation API of PROTOCOL.md ("Moderation API") to one server with its bearer
 * token over QNetworkAccessManager: lists reports and bans, dismisses, bans, lifts. Each request
 * ends in exactly one signal: its result, or failed(). It keeps no state besides the server and
 * the token; what to show is the caller's.
 */
class ModerationClient : public QObject
{
    Q_OBJECT
public:
    enum class Failure {
        TokenRefused, ///< 401: no token, or the wrong one
        NotFound,     ///< 404: an unknown report or ban (or the API is off)
        Refused,      ///< another 4xx or 5xx answer
        Network,      ///< no answer (unreachable, timed out, TLS)
        BadReply,     ///< an answer that is not what PROTOCOL.md says
    };
    Q_ENUM(Failure)

    /// Requests that get no answer within this time fail with Failure::Network.
    static constexpr int kTimeoutMs = 15000;

    explicit ModerationClient(QObject *parent = nullptr);
    ~ModerationClient() override;

    /// The server (as the chat knows it: `http://host:port/`, `wss://host/ws`, …) and its token.
    /// False if `serverUrl` is not a server address.
    bool setServer(const QUrl &serverUrl, const QByteArray &token);
    /// The API's base for a server address (`http(s)://host[:port][/prefix]/admin/api`), or an
    /// invalid QUrl.
    static QUrl apiUrl(const QUrl &serverUrl);
    QUrl apiUrl() const { return m_api; }
    bool hasToken() const { return !m_token.isEmpty(); }

    /// `status`: "open", "dismissed" or "actioned"; newest first.
    void fetchReports(const QString &status = QStringLiteral("open"), int limit = 50);
    void dismiss(qint64 reportId);
    /// Bans the address reported in `reportId` for `hours` (1–8760).
    void ban(qint64 reportId, int hours, const QString &note = {});
    void fetchBans();
    void lift(qint64 banId);

signals:
    void reportsFetched(const QString &status,
                        const QList<anonchat::client::ModerationReport> &reports);
    void dismissed(qint64 reportId);
    void banMade(qint64 reportId, qint64 banId, const QDateTime &until);
    void bansFetched(const QList<anonchat::client::ModerationBan> &bans);
    void lifted(qint64 banId);
    /// A request failed: what kind, and one translated line to show.
    void failed(anonchat::client::ModerationClient::Failure failure, const QString &message);

private:
    using Handler = std::function<bool(const QJsonObject &)>;
    void send(const QByteArray &verb, const QString &path, const QByteArray &body,
              int expectedStatus, const Handler &handler);
    void finish(QNetworkReply *reply, int expectedStatus, const Handler &handler);
    void fail(Failure failure, int status, const QString &detail);

    QNetworkAccessManager *m_network = nullptr;
    QUrl m_api;
    QByteArray m_token;
};

} // namespace anonchat::client
