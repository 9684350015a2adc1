#pragma once

// Moderation: the reads and writes of the operator's console, on a connection of their own.

#include "server/moderation/banlist.h"
#include "server/storage/database.h"

#include <QDateTime>
#include <QString>
#include <QVector>
#include <optional>

namespace anonchat::server {

/// A report as the operator reads it: who, why, and the reported room's transcript.
struct ReportView {
    struct Message {
        qint64 id = 0;
        QString senderId;
        QString content;
        QString timestamp;
    };
    qint64 id = 0;
    QString createdAt;
    QString status; ///< open, dismissed, actioned
    QString reason;
    qint64 roomId = 0;
    QString reporterId;
    QString reportedId;
    QVector<Message> messages;
};

/// Which reports to list: a status, newest first, at most `limit`, ids below `before` (0: any).
struct ReportQuery {
    QString status = QStringLiteral("open");
    int limit = 50;
    qint64 before = 0;
};

/**
 * The moderation tables (reports, bans, server_secrets; PROTOCOL.md, "Storage") read and written
 * on a Database connection of its own, synchronously: ModerationService runs it on its own
 * thread. Schema and migrations stay StorageWriter's: this opens a database already migrated.
 */
class ModerationStore
{
public:
    enum class Outcome { Done, NotFound, Gone, Failed };

    ModerationStore(const QString &database, const QString &connectionName);

    bool open(QString *error);
    /// The key AddressHasher hashes with (made by the schema's migration to version 3).
    bool readSecret(QByteArray *secret, QString *error);
    /// Bans neither lifted nor over at `now`.
    bool liveBans(const QDateTime &now, QVector<Ban> *bans, QString *error);
    bool reports(const ReportQuery &query, QVector<ReportView> *out, QString *error);
    Outcome dismiss(qint64 reportId, QString *error);
    /// Bans the address of the user `reportId` reported, for `hours`; the report is actioned.
    /// Gone: the report's address hash has been purged (or was never known).
    Outcome banFromReport(qint64 reportId, int hours, const QString &note, const QDateTime &now,
                          Ban *ban, QString *error);
    Outcome lift(qint64 banId, const QDateTime &now, QString *error);
    /// When reporters from `threshold` distinct addresses reported `reportedHash` in the 24 hours
    /// before `now` (open reports only: not dismissed, nor counted for a ban already) and no ban
    /// holds it: bans it for an hour, marks those reports actioned, and returns the ban.
    bool autoBan(const QString &reportedHash, int threshold, const QDateTime &now,
                 std::optional<Ban> *ban, QString *error);
    /// Forgets the address hashes of reports older than `days`, and of bans over or lifted.
    bool purgeHashes(int days, const QDateTime &now, QString *error);

private:
    bool insertBan(const QString &hash, const QDateTime &until, const QString &note,
                   qint64 reportId, const QDateTime &now, Ban *ban, QString *error);
    bool transcript(qint64 roomId, QVector<ReportView::Message> *messages, QString *error);
    bool run(QSqlQuery &query, QString *error);

    Database m_db;
};

} // namespace anonchat::server
