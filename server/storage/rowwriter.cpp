#include "server/storage/rowwriter.h"

#include "server/storage/database.h"
#include "shared/codec.h"

#include <QLoggingCategory>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>
#include <sqlite3.h>
#include <utility>

namespace anonchat::server {

namespace {

Q_LOGGING_CATEGORY(lcRows, "anonchat.storage", QtInfoMsg)

constexpr const char *kInsertMessage = "INSERT INTO messages "
                                       "(id, room_id, sender_id, content, timestamp, nonce) "
                                       "VALUES (?, ?, ?, ?, ?, ?)";

/// UTC ISO-8601 with milliseconds: 2026-11-23T22:41:07.123Z. An invalid time means "now".
QString isoUtc(const QDateTime &time)
{
    return protocol::formatTimestamp(time.isValid() ? time : QDateTime::currentDateTimeUtc());
}

// A null QString binds as SQL NULL; NOT NULL text columns get '' instead.
QVariant textValue(const QString &s)
{
    return s.isNull() ? QVariant(QStringLiteral("")) : QVariant(s);
}

QVariant nullableText(const QString &s)
{
    return s.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(s);
}

// An id of 0 (not allocated) lets the database choose one rather than storing row 0.
QVariant idValue(qint64 id)
{
    return id > 0 ? QVariant(id) : QVariant(QMetaType::fromType<qlonglong>());
}

// Runs a prepared write; the dialect tells whether a failure blames the row or the database.
RowWriter::Outcome finish(QSqlQuery &query, const Dialect &dialect)
{
    if (query.exec())
        return {};
    const QSqlError error = query.lastError();
    return {false, dialect.isRowFault(error), Database::describe(error)};
}

} // namespace

struct RowWriter::Statements {
    explicit Statements(const QSqlDatabase &db)
        : insertRoom(db)
        , endRoom(db)
        , insertMessage(db)
        , insertReport(db)
        , probeRead(db)
        , probeWrite(db)
        , purge(db)
        , roomIds(db)
        , messageIds(db)
    {}
    QSqlQuery insertRoom, endRoom, insertMessage, insertReport;
    QSqlQuery probeRead, probeWrite, purge;
    QSqlQuery roomIds, messageIds; ///< PostgreSQL: a block of nextval()s
};

RowWriter::RowWriter(Database &db)
    : m_db(db)
    , m_statements(std::make_unique<Statements>(db.connection()))
{}

RowWriter::~RowWriter()
{
    release();
}

// On failure the statements stay unprepared: they fail, cleanly, until the next prepare().
bool RowWriter::prepare(QString *error)
{
    release();
    m_statements = std::make_unique<Statements>(m_db.connection());
    Statements &s = *m_statements;
    const Dialect &dialect = m_db.dialect();
    std::vector<std::pair<QSqlQuery *, QString>> all = {
        {&s.insertRoom, QStringLiteral("INSERT INTO chat_rooms "
                                       "(id, user1_id, user2_id, created_at, is_active) "
                                       "VALUES (?, ?, ?, ?, 1)")},
        {&s.endRoom, QStringLiteral("UPDATE chat_rooms SET is_active = 0, ended_at = ?, "
                                    "end_reason = ? WHERE id = ?")},
        {&s.insertReport, QStringLiteral("INSERT INTO reports "
                                         "(room_id, reporter_id, reported_id, reason, created_at, "
                                         "status, reporter_hash, reported_hash) "
                                         "VALUES (?, ?, ?, ?, ?, 'open', ?, ?)")},
        {&s.probeRead, QStringLiteral("SELECT version FROM schema_version")},
        // Run twice in one transaction: the row ends as it was, but its page has been changed,
        // so the commit really writes (SQLite skips a write that changes no byte).
        {&s.probeWrite, QStringLiteral("UPDATE schema_version SET version = -version")},
        {&s.purge, QStringLiteral("DELETE FROM messages WHERE id IN "
                                  "(SELECT id FROM messages WHERE timestamp < ? LIMIT ?)")},
    };
    if (!dialect.insertsMessagesNatively())
        all.push_back({&s.insertMessage, QString::fromLatin1(kInsertMessage)});
    if (dialect.reservesIds()) {
        all.push_back({&s.roomIds, dialect.idBlockQuery(QStringLiteral("chat_rooms"))});
        all.push_back({&s.messageIds, dialect.idBlockQuery(QStringLiteral("messages"))});
    }
    for (const auto &[query, sql] : all) {
        query->setForwardOnly(true);
        if (!query->prepare(sql)) {
            *error = QStringLiteral("cannot prepare \"%1\": %2")
                         .arg(sql, Database::describe(query->lastError()));
            return false;
        }
    }
    return !dialect.insertsMessagesNatively() || prepareNativeInsert(error);
}

void RowWriter::release()
{
    releaseNativeInsert();
    m_statements.reset();
}

// Every message is one insert, and through QSqlQuery its six bindValue() calls cost a third of
// it (Qt 6.4 formats a placeholder name with QString::arg for each positional value, and wraps
// each in a QVariant). The same statement on the QSQLITE connection's own sqlite3 handle binds
// the QStrings' UTF-16 in place.
bool RowWriter::prepareNativeInsert(QString *error)
{
    const QVariant handle = m_db.connection().driver()->handle();
    if (!handle.isValid() || qstrcmp(handle.typeName(), "sqlite3*") != 0 ||
        !*static_cast<sqlite3 *const *>(handle.constData())) {
        *error = QStringLiteral("the QSQLITE driver gives no sqlite3 handle");
        return false;
    }
    sqlite3 *db = *static_cast<sqlite3 *const *>(handle.constData());
    sqlite3_stmt *statement = nullptr;
    if (sqlite3_prepare_v3(db, kInsertMessage, -1, SQLITE_PREPARE_PERSISTENT, &statement,
                           nullptr) != SQLITE_OK) {
        *error =
            QStringLiteral("cannot prepare \"%1\": %2")
                .arg(QString::fromLatin1(kInsertMessage), QString::fromUtf8(sqlite3_errmsg(db)));
        sqlite3_finalize(statement);
        return false;
    }
    m_sqlite = db;
    m_insertMessage = statement;
    return true;
}

void RowWriter::releaseNativeInsert()
{
    if (m_insertMessage)
        sqlite3_finalize(m_insertMessage);
    m_insertMessage = nullptr;
    m_sqlite = nullptr;
}

RowWriter::Outcome RowWriter::write(const WriteOp &op)
{
    if (!m_statements)
        return {false, false, QStringLiteral("the statements are not prepared")};
    return std::visit([this](const auto &row) { return write(row); }, op);
}

RowWriter::Outcome RowWriter::write(const RoomRow &row)
{
    QSqlQuery &q = m_statements->insertRoom;
    q.bindValue(0, idValue(row.id));
    q.bindValue(1, textValue(row.user1Id));
    q.bindValue(2, textValue(row.user2Id));
    q.bindValue(3, isoUtc(row.createdAt));
    return finish(q, m_db.dialect());
}

RowWriter::Outcome RowWriter::write(const RoomEnd &row)
{
    QSqlQuery &q = m_statements->endRoom;
    q.bindValue(0, isoUtc(row.endedAt));
    q.bindValue(1, textValue(row.reason));
    q.bindValue(2, row.id);
    Outcome outcome = finish(q, m_db.dialect());
    if (outcome.ok && q.numRowsAffected() == 0)
        outcome = {false, true, QStringLiteral("room %1 does not exist").arg(row.id)};
    return outcome;
}

RowWriter::Outcome RowWriter::write(const MessageRow &row)
{
    if (m_db.dialect().insertsMessagesNatively())
        return insertMessageNatively(row);
    QSqlQuery &q = m_statements->insertMessage;
    q.bindValue(0, idValue(row.id));
    q.bindValue(1, row.roomId);
    q.bindValue(2, textValue(row.senderId));
    q.bindValue(3, textValue(row.content));
    q.bindValue(4, isoUtc(row.timestamp));
    q.bindValue(5, nullableText(row.nonce));
    return finish(q, m_db.dialect());
}

RowWriter::Outcome RowWriter::insertMessageNatively(const MessageRow &row)
{
    sqlite3_stmt *q = m_insertMessage;
    if (!q)
        return {false, false, QStringLiteral("the message insert is not prepared")};
    // The same values as QSqlQuery would bind: an id of 0 lets SQLite choose, a null QString is
    // '' in the NOT NULL columns, an empty nonce is NULL. QString::utf16() is never null.
    const auto text = [q](int index, const QString &s) {
        return sqlite3_bind_text16(q, index, s.utf16(), int(s.size() * 2), SQLITE_STATIC);
    };
    const QString timestamp = isoUtc(row.timestamp);
    int rc = row.id > 0 ? sqlite3_bind_int64(q, 1, row.id) : sqlite3_bind_null(q, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 2, row.roomId);
    if (rc == SQLITE_OK)
        rc = text(3, row.senderId);
    if (rc == SQLITE_OK)
        rc = text(4, row.content);
    if (rc == SQLITE_OK)
        rc = text(5, timestamp);
    if (rc == SQLITE_OK)
        rc = row.nonce.isEmpty() ? sqlite3_bind_null(q, 6) : text(6, row.nonce);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    Outcome outcome;
    if (rc != SQLITE_DONE) {
        outcome.ok = false;
        outcome.rowFault = Dialect::isSqliteRowFault(sqlite3_extended_errcode(m_sqlite));
        outcome.error = QString::fromUtf8(sqlite3_errmsg(m_sqlite));
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q); // the bound strings are gone once this returns
    return outcome;
}

RowWriter::Outcome RowWriter::write(const ReportRow &row)
{
    QSqlQuery &q = m_statements->insertReport;
    q.bindValue(0, row.roomId);
    q.bindValue(1, textValue(row.reporterId));
    q.bindValue(2, textValue(row.reportedId));
    q.bindValue(3, nullableText(row.reason));
    q.bindValue(4, isoUtc(row.createdAt));
    q.bindValue(5, nullableText(row.reporterHash));
    q.bindValue(6, nullableText(row.reportedHash));
    return finish(q, m_db.dialect());
}

bool RowWriter::closeStaleRooms(QString *error)
{
    QSqlQuery query(m_db.connection());
    if (!query.prepare(QStringLiteral("UPDATE chat_rooms SET is_active = 0, ended_at = ?, "
                                      "end_reason = 'server_restart' WHERE is_active = 1"))) {
        *error = Database::describe(query.lastError());
        return false;
    }
    query.addBindValue(isoUtc(QDateTime::currentDateTimeUtc()));
    if (!query.exec()) {
        *error = Database::describe(query.lastError());
        return false;
    }
    if (const int closed = query.numRowsAffected(); closed > 0)
        qCInfo(lcRows) << "closed" << closed << "rooms left active by the previous run";
    return true;
}

std::optional<int> RowWriter::purgeChunk(int retentionDays, QString *error)
{
    QSqlQuery &purge = m_statements->purge;
    const QDateTime cutoff = QDateTime::currentDateTimeUtc().addDays(-qint64(retentionDays));
    purge.bindValue(0, isoUtc(cutoff));
    purge.bindValue(1, kPurgeChunkRows);
    if (!purge.exec()) {
        *error = Database::describe(purge.lastError());
        return std::nullopt;
    }
    return purge.numRowsAffected();
}

bool RowWriter::probeRead(QString *error)
{
    QSqlQuery &q = m_statements->probeRead;
    const bool ok = q.exec();
    if (!ok)
        *error = Database::describe(q.lastError());
    q.finish(); // a SELECT left open would pin the WAL
    return ok;
}

bool RowWriter::probeWrite(QString *error)
{
    QSqlQuery &q = m_statements->probeWrite;
    const auto run = [&q, error] {
        if (q.exec())
            return true;
        *error = Database::describe(q.lastError());
        return false;
    };
    const bool written = m_db.begin(error) && run() && run() && m_db.commit(error);
    if (!written)
        m_db.rollback();
    return written;
}

bool RowWriter::nextFreeId(const QString &table, qint64 *id, QString *error)
{
    QSqlQuery query(m_db.connection());
    if (!query.exec(QStringLiteral("SELECT COALESCE(MAX(id), 0) + 1 FROM %1").arg(table)) ||
        !query.next()) {
        *error = Database::describe(query.lastError());
        return false;
    }
    *id = query.value(0).toLongLong();
    return true;
}

bool RowWriter::reserveIds(bool rooms, qint64 count, std::vector<qint64> *ids, QString *error)
{
    QSqlQuery &query = rooms ? m_statements->roomIds : m_statements->messageIds;
    query.bindValue(0, count);
    if (!query.exec()) {
        *error = Database::describe(query.lastError());
        return false;
    }
    ids->reserve(size_t(count));
    while (query.next())
        ids->push_back(query.value(0).toLongLong());
    query.finish();
    return true;
}

} // namespace anonchat::server
