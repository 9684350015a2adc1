#include "server/storage/schema.h"

#include "server/storage/database.h"

#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

namespace anonchat::server {

namespace {

Q_LOGGING_CATEGORY(lcSchema, "anonchat.storage", QtInfoMsg)

constexpr int kLatestVersion = 4;

QString newerMessage(int version)
{
    return QStringLiteral("schema version %1 is newer than this build supports (%2)")
        .arg(version)
        .arg(kLatestVersion);
}

} // namespace

Schema::Schema(Database &db)
    : m_db(db)
{}

int Schema::latestVersion()
{
    return kLatestVersion;
}

bool Schema::readVersion(int *version, QString *error)
{
    QVariant exists;
    if (!m_db.queryValue(m_db.dialect().tableExistsQuery(QStringLiteral("schema_version")), &exists,
                         error)) {
        return false;
    }
    if (exists.toInt() == 0) {
        *version = 0; // a new file, or one made by the original Flask app
        return true;
    }
    QVariant max;
    if (!m_db.queryValue(QStringLiteral("SELECT MAX(version) FROM schema_version"), &max, error))
        return false;
    *version = max.toInt();
    return true;
}

bool Schema::refuseNewer(QString *error)
{
    int version = 0;
    if (!readVersion(&version, error))
        return false;
    if (version <= kLatestVersion)
        return true;
    *error = newerMessage(version) + QLatin1String("; use a newer anonchat");
    return false;
}

bool Schema::migrate(QString *error, int target)
{
    const QString lock = m_db.dialect().migrationLockSql();
    if (!lock.isEmpty() && !m_db.exec(lock, error))
        return false;
    const bool ok =
        migrateUnlocked(target, error) && (!m_db.dialect().reservesIds() || syncSequences(error));
    const QString unlock = m_db.dialect().migrationUnlockSql();
    QString ignored;
    if (!unlock.isEmpty())
        m_db.exec(unlock, &ignored);
    return ok;
}

// One step per transaction, so a step that fails leaves the database at the version before it.
bool Schema::migrateUnlocked(int target, QString *error)
{
    for (;;) {
        // The dialect's write transaction: two servers starting on one SQLite file must not both
        // migrate it (PostgreSQL: the migration lock is held instead).
        if (!m_db.begin(error))
            return false;
        int version = 0;
        QString why;
        const bool ok = m_db.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS schema_version ("
                                                 "version INTEGER NOT NULL)"),
                                  &why) &&
                        readVersion(&version, &why);
        if (!ok || version >= target) {
            m_db.rollback();
            if (!ok)
                *error = why;
            else if (version > kLatestVersion)
                *error = newerMessage(version);
            return ok && version <= kLatestVersion;
        }
        const int next = version + 1;
        if (!applyStep(next, &why) || !setVersion(next, &why) || !m_db.commit(&why)) {
            m_db.rollback();
            *error = QStringLiteral("migration to schema version %1 failed: %2").arg(next).arg(why);
            return false;
        }
        qCInfo(lcSchema) << "database" << m_db.displayName() << "migrated to schema version"
                         << next;
    }
}

bool Schema::applyStep(int version, QString *error)
{
    switch (version) {
    case 1: return upgradeTo1(error);
    case 2: return upgradeTo2(error);
    case 3: return upgradeTo3(error);
    case 4: return upgradeTo4(error);
    default:
        *error = QStringLiteral("no migration to schema version %1").arg(version);
        return false;
    }
}

// The original Flask app's tables, kept by name and meaning.
bool Schema::upgradeTo1(QString *error)
{
    const Dialect &dialect = m_db.dialect();
    return m_db.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS chat_rooms ("
                                    "id %1, "
                                    "user1_id TEXT NOT NULL, "
                                    "user2_id TEXT NOT NULL, "
                                    "created_at TEXT NOT NULL, "
                                    "is_active INTEGER NOT NULL DEFAULT 1)")
                         .arg(dialect.idColumnType()),
                     error) &&
           m_db.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS messages ("
                                    "id %1, "
                                    "room_id %2 NOT NULL REFERENCES chat_rooms(id), "
                                    "sender_id TEXT NOT NULL, "
                                    "content TEXT NOT NULL, "
                                    "timestamp TEXT NOT NULL)")
                         .arg(dialect.idColumnType(), dialect.idReferenceType()),
                     error);
}

// Ours: room endings, message nonces, reports, indexes.
bool Schema::upgradeTo2(QString *error)
{
    const Dialect &dialect = m_db.dialect();
    return addColumnIfMissing(QStringLiteral("chat_rooms"), QStringLiteral("ended_at"), error) &&
           addColumnIfMissing(QStringLiteral("chat_rooms"), QStringLiteral("end_reason"), error) &&
           addColumnIfMissing(QStringLiteral("messages"), QStringLiteral("nonce"), error) &&
           m_db.exec(QStringLiteral("CREATE INDEX IF NOT EXISTS idx_messages_room_id "
                                    "ON messages(room_id, id)"),
                     error) &&
           m_db.exec(QStringLiteral("CREATE UNIQUE INDEX IF NOT EXISTS idx_messages_nonce "
                                    "ON messages(room_id, sender_id, nonce) "
                                    "WHERE nonce IS NOT NULL"),
                     error) &&
           m_db.exec(QStringLiteral("CREATE INDEX IF NOT EXISTS idx_chat_rooms_active "
                                    "ON chat_rooms(id) WHERE is_active = 1"),
                     error) &&
           m_db.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS reports ("
                                    "id %1, "
                                    "room_id %2 NOT NULL, "
                                    "reporter_id TEXT NOT NULL, "
                                    "reported_id TEXT NOT NULL, "
                                    "reason TEXT, "
                                    "created_at TEXT NOT NULL)")
                         .arg(dialect.idColumnType(), dialect.idReferenceType()),
                     error);
}

// Moderation: a report's status and the keyed hashes of its two users' addresses, bans, and the
// secret those hashes are keyed with (made here once, so every server of a cluster shares it).
bool Schema::upgradeTo3(QString *error)
{
    const Dialect &dialect = m_db.dialect();
    const bool ok =
        addColumnIfMissing(QStringLiteral("reports"), QStringLiteral("status"), error) &&
        addColumnIfMissing(QStringLiteral("reports"), QStringLiteral("reporter_hash"), error) &&
        addColumnIfMissing(QStringLiteral("reports"), QStringLiteral("reported_hash"), error) &&
        m_db.exec(QStringLiteral("UPDATE reports SET status = 'open' WHERE status IS NULL"),
                  error) &&
        m_db.exec(QStringLiteral("CREATE INDEX IF NOT EXISTS idx_reports_reported "
                                 "ON reports(reported_hash, created_at)"),
                  error) &&
        m_db.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS bans ("
                                 "id %1, "
                                 "address_hash TEXT NOT NULL, "
                                 "until TEXT NOT NULL, "
                                 "note TEXT, "
                                 "created_at TEXT NOT NULL, "
                                 "report_id %2, "
                                 "lifted_at TEXT)")
                      .arg(dialect.idColumnType(), dialect.idReferenceType()),
                  error) &&
        m_db.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS server_secrets ("
                                 "name TEXT PRIMARY KEY, "
                                 "value TEXT NOT NULL)"),
                  error);
    if (!ok)
        return false;
    QSqlQuery insertSecret(m_db.connection());
    if (!insertSecret.prepare(QStringLiteral("INSERT INTO server_secrets (name, value) VALUES "
                                             "('address_hmac', ?)"))) {
        *error = Database::describe(insertSecret.lastError());
        return false;
    }
    QByteArray secret(32, Qt::Uninitialized);
    QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(secret.data()),
                                          secret.size() / int(sizeof(quint32)));
    insertSecret.addBindValue(QString::fromLatin1(secret.toHex()));
    if (!insertSecret.exec()) {
        *error = Database::describe(insertSecret.lastError());
        return false;
    }
    return true;
}

// One index per message instead of two: (room_id, sender_id, nonce), unique, for every row (a
// null nonce never conflicts), serves both the nonce dedupe and a room's messages (the moderation
// transcript, a room's rows for the foreign key), so a stored message dirties one index leaf of
// its room instead of two.
bool Schema::upgradeTo4(QString *error)
{
    return m_db.exec(QStringLiteral("CREATE UNIQUE INDEX IF NOT EXISTS idx_messages_room "
                                    "ON messages(room_id, sender_id, nonce)"),
                     error) &&
           m_db.exec(QStringLiteral("DROP INDEX IF EXISTS idx_messages_nonce"), error) &&
           m_db.exec(QStringLiteral("DROP INDEX IF EXISTS idx_messages_room_id"), error);
}

bool Schema::setVersion(int version, QString *error)
{
    QSqlQuery query(m_db.connection());
    if (query.exec(QStringLiteral("DELETE FROM schema_version")) &&
        query.prepare(QStringLiteral("INSERT INTO schema_version (version) VALUES (?)"))) {
        query.addBindValue(version);
        if (query.exec())
            return true;
    }
    *error = Database::describe(query.lastError());
    return false;
}

bool Schema::hasColumn(const QString &table, const QString &column, bool *has, QString *error)
{
    QSqlQuery query(m_db.connection());
    if (!query.exec(m_db.dialect().columnsQuery(table))) {
        *error = Database::describe(query.lastError());
        return false;
    }
    const int nameColumn = m_db.dialect().columnNameIndex();
    *has = false;
    while (query.next()) {
        if (query.value(nameColumn).toString().compare(column, Qt::CaseInsensitive) == 0)
            *has = true;
    }
    return true;
}

bool Schema::addColumnIfMissing(const QString &table, const QString &column, QString *error)
{
    bool has = false;
    if (!hasColumn(table, column, &has, error))
        return false;
    // A hand-upgraded Flask database may already have it.
    return has ||
           m_db.exec(QStringLiteral("ALTER TABLE %1 ADD COLUMN %2 TEXT").arg(table, column), error);
}

// A sequence behind the table's largest id (rows written with ids from elsewhere: by hand, or
// copied from another database) would hand out ids that exist: move it past them. Ids we write
// all come from the sequence, so this never moves it back under another server.
bool Schema::syncSequences(QString *error)
{
    for (const char *table : {"chat_rooms", "messages", "reports"}) {
        QVariant exists; // not yet, when migrating to an earlier version than the latest
        if (!m_db.queryValue(m_db.dialect().tableExistsQuery(QLatin1String(table)), &exists,
                             error)) {
            return false;
        }
        if (exists.toInt() == 0)
            continue;
        QSqlQuery query(m_db.connection());
        const Dialect &dialect = m_db.dialect();
        if (!query.exec(dialect.sequenceAndLargestIdQuery(QLatin1String(table))) || !query.next()) {
            *error = Database::describe(query.lastError());
            return false;
        }
        const QString sequence = query.value(0).toString();
        if (sequence.isEmpty() || query.value(1).isNull())
            continue; // no sequence (made by hand), or no rows
        const qint64 largest = query.value(1).toLongLong();
        if (!query.exec(dialect.sequenceStateQuery(sequence)) || !query.next()) {
            *error = Database::describe(query.lastError());
            return false;
        }
        const qint64 next = query.value(0).toLongLong() + (query.value(1).toBool() ? 1 : 0);
        if (largest < next)
            continue;
        if (!query.exec(dialect.moveSequenceSql(sequence, largest))) {
            *error = Database::describe(query.lastError());
            return false;
        }
        qCInfo(lcSchema) << "sequence" << sequence << "moved past id" << largest;
    }
    return true;
}

} // namespace anonchat::server
