#include "server/moderation/moderationstore.h"

#include "shared/codec.h"

#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

namespace anonchat::server {

namespace {

constexpr int kAutoBanHours = 1;
constexpr int kAutoBanWindowHours = 24;
constexpr int kMaxTranscript = 1000; ///< messages of a room shown with its report

QString stamp(const QDateTime &time)
{
    return protocol::formatTimestamp(time);
}

QDateTime parseStamp(const QString &text)
{
    return QDateTime::fromString(text, Qt::ISODateWithMs).toUTC();
}

Ban banFrom(const QSqlQuery &q)
{
    Ban ban;
    ban.id = q.value(0).toLongLong();
    ban.addressHash = q.value(1).toString();
    ban.until = parseStamp(q.value(2).toString());
    ban.note = q.value(3).toString();
    ban.createdAt = parseStamp(q.value(4).toString());
    ban.reportId = q.value(5).toLongLong();
    return ban;
}

} // namespace

ModerationStore::ModerationStore(const QString &database, const QString &connectionName)
    : m_db(database, connectionName)
{}

bool ModerationStore::open(QString *error)
{
    return m_db.open(error);
}

bool ModerationStore::run(QSqlQuery &query, QString *error)
{
    if (query.exec())
        return true;
    *error = Database::describe(query.lastError());
    return false;
}

bool ModerationStore::readSecret(QByteArray *secret, QString *error)
{
    QVariant value;
    if (!m_db.queryValue(QStringLiteral("SELECT value FROM server_secrets "
                                        "WHERE name = 'address_hmac'"),
                         &value, error)) {
        return false;
    }
    *secret = QByteArray::fromHex(value.toString().toLatin1());
    if (secret->size() < 16) {
        *error = QStringLiteral("the database has no address secret (server_secrets)");
        return false;
    }
    return true;
}

bool ModerationStore::liveBans(const QDateTime &now, QVector<Ban> *bans, QString *error)
{
    QSqlQuery q(m_db.connection());
    q.prepare(QStringLiteral("SELECT id, address_hash, until, note, created_at, report_id "
                             "FROM bans WHERE lifted_at IS NULL AND until > ? ORDER BY id DESC"));
    q.addBindValue(stamp(now));
    if (!run(q, error))
        return false;
    bans->clear();
    while (q.next())
        bans->append(banFrom(q));
    return true;
}

bool ModerationStore::reports(const ReportQuery &query, QVector<ReportView> *out, QString *error)
{
    QSqlQuery q(m_db.connection());
    q.prepare(QStringLiteral("SELECT id, created_at, status, reason, room_id, reporter_id, "
                             "reported_id FROM reports WHERE status = ? AND (? = 0 OR id < ?) "
                             "ORDER BY id DESC LIMIT ?"));
    q.addBindValue(query.status);
    q.addBindValue(query.before);
    q.addBindValue(query.before);
    q.addBindValue(query.limit);
    if (!run(q, error))
        return false;
    out->clear();
    while (q.next()) {
        ReportView r;
        r.id = q.value(0).toLongLong();
        r.createdAt = q.value(1).toString();
        r.status = q.value(2).toString();
        r.reason = q.value(3).toString();
        r.roomId = q.value(4).toLongLong();
        r.reporterId = q.value(5).toString();
        r.reportedId = q.value(6).toString();
        out->append(r);
    }
    for (ReportView &r : *out) {
        if (!transcript(r.roomId, &r.messages, error))
            return false;
    }
    return true;
}

bool ModerationStore::transcript(qint64 roomId, QVector<ReportView::Message> *messages,
                                 QString *error)
{
    QSqlQuery q(m_db.connection());
    q.prepare(QStringLiteral("SELECT id, sender_id, content, timestamp FROM messages "
                             "WHERE room_id = ? ORDER BY id LIMIT ?"));
    q.addBindValue(roomId);
    q.addBindValue(kMaxTranscript);
    if (!run(q, error))
        return false;
    while (q.next()) {
        messages->append({q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
                          q.value(3).toString()});
    }
    return true;
}

ModerationStore::Outcome ModerationStore::dismiss(qint64 reportId, QString *error)
{
    QSqlQuery q(m_db.connection());
    q.prepare(QStringLiteral("UPDATE reports SET status = 'dismissed' WHERE id = ?"));
    q.addBindValue(reportId);
    if (!run(q, error))
        return Outcome::Failed;
    return q.numRowsAffected() > 0 ? Outcome::Done : Outcome::NotFound;
}

ModerationStore::Outcome ModerationStore::banFromReport(qint64 reportId, int hours,
                                                        const QString &note, const QDateTime &now,
                                                        Ban *ban, QString *error)
{
    QSqlQuery q(m_db.connection());
    q.prepare(QStringLiteral("SELECT reported_hash FROM reports WHERE id = ?"));
    q.addBindValue(reportId);
    if (!run(q, error))
        return Outcome::Failed;
    if (!q.next())
        return Outcome::NotFound;
    const QString hash = q.value(0).toString();
    q.finish();
    if (hash.isEmpty())
        return Outcome::Gone;
    if (!m_db.begin(error))
        return Outcome::Failed;
    QSqlQuery mark(m_db.connection());
    mark.prepare(QStringLiteral("UPDATE reports SET status = 'actioned' WHERE id = ?"));
    mark.addBindValue(reportId);
    if (!insertBan(hash, now.addSecs(qint64(hours) * 3600), note, reportId, now, ban, error) ||
        !run(mark, error) || !m_db.commit(error)) {
        m_db.rollback();
        return Outcome::Failed;
    }
    return Outcome::Done;
}

bool ModerationStore::insertBan(const QString &hash, const QDateTime &until, const QString &note,
                                qint64 reportId, const QDateTime &now, Ban *ban, QString *error)
{
    QSqlQuery q(m_db.connection());
    q.prepare(QStringLiteral("INSERT INTO bans (address_hash, until, note, created_at, report_id) "
                             "VALUES (?, ?, ?, ?, ?) RETURNING id"));
    q.addBindValue(hash);
    q.addBindValue(stamp(until));
    q.addBindValue(note);
    q.addBindValue(stamp(now));
    q.addBindValue(reportId > 0 ? QVariant(reportId) : QVariant());
    if (!run(q, error))
        return false;
    if (!q.next()) {
        *error = QStringLiteral("the new ban's id was not returned");
        return false;
    }
    *ban = Ban{q.value(0).toLongLong(), hash,    parseStamp(stamp(until)), note,
               parseStamp(stamp(now)),  reportId};
    q.finish();
    return true;
}

ModerationStore::Outcome ModerationStore::lift(qint64 banId, const QDateTime &now, QString *error)
{
    QSqlQuery q(m_db.connection());
    q.prepare(QStringLiteral("UPDATE bans SET lifted_at = ? "
                             "WHERE id = ? AND lifted_at IS NULL AND until > ?"));
    q.addBindValue(stamp(now));
    q.addBindValue(banId);
    q.addBindValue(stamp(now));
    if (!run(q, error))
        return Outcome::Failed;
    return q.numRowsAffected() > 0 ? Outcome::Done : Outcome::NotFound;
}

bool ModerationStore::autoBan(const QString &reportedHash, int threshold, const QDateTime &now,
                              std::optional<Ban> *ban, QString *error)
{
    ban->reset();
    const QString since = stamp(now.addSecs(-qint64(kAutoBanWindowHours) * 3600));
    QSqlQuery count(m_db.connection());
    count.prepare(QStringLiteral("SELECT COUNT(DISTINCT reporter_hash) FROM reports "
                                 "WHERE reported_hash = ? AND created_at > ? "
                                 "AND status = 'open' AND reporter_hash IS NOT NULL"));
    count.addBindValue(reportedHash);
    count.addBindValue(since);
    if (!run(count, error))
        return false;
    const int reporters = count.next() ? count.value(0).toInt() : 0;
    count.finish();
    if (reporters < threshold)
        return true;
    QSqlQuery live(m_db.connection());
    live.prepare(QStringLiteral("SELECT COUNT(*) FROM bans WHERE address_hash = ? "
                                "AND lifted_at IS NULL AND until > ?"));
    live.addBindValue(reportedHash);
    live.addBindValue(stamp(now));
    if (!run(live, error) || !live.next())
        return false;
    if (live.value(0).toInt() > 0)
        return true; // banned already
    live.finish();
    if (!m_db.begin(error))
        return false;
    Ban made;
    QSqlQuery mark(m_db.connection());
    mark.prepare(QStringLiteral("UPDATE reports SET status = 'actioned' WHERE reported_hash = ? "
                                "AND created_at > ? AND status = 'open'"));
    mark.addBindValue(reportedHash);
    mark.addBindValue(since);
    const QString note = QStringLiteral("automatic: reported from %1 addresses").arg(reporters);
    if (!insertBan(reportedHash, now.addSecs(qint64(kAutoBanHours) * 3600), note, 0, now, &made,
                   error) ||
        !run(mark, error) || !m_db.commit(error)) {
        m_db.rollback();
        return false;
    }
    *ban = made;
    return true;
}

bool ModerationStore::purgeHashes(int days, const QDateTime &now, QString *error)
{
    QSqlQuery reports(m_db.connection());
    reports.prepare(QStringLiteral("UPDATE reports SET reporter_hash = NULL, reported_hash = NULL "
                                   "WHERE created_at < ? AND (reporter_hash IS NOT NULL "
                                   "OR reported_hash IS NOT NULL)"));
    reports.addBindValue(stamp(now.addDays(-qint64(days))));
    QSqlQuery bans(m_db.connection());
    bans.prepare(QStringLiteral("UPDATE bans SET address_hash = '' WHERE address_hash <> '' "
                                "AND (lifted_at IS NOT NULL OR until <= ?)"));
    bans.addBindValue(stamp(now));
    return run(reports, error) && run(bans, error);
}

} // namespace anonchat::server
