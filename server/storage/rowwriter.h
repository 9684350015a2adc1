#pragma once
// The SQL that touches rows: one prepared statement per kind of write, the purge, the probe.

#include "server/storage/rows.h"

#include <QString>
#include <memory>
#include <optional>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace anonchat::server {

class Database;

/**
 * Writes single rows on the writer thread's Database, with statements prepared once; it does
 * not begin or commit (StorageWriter groups the rows into transactions). Besides the four
 * writes: closing the rooms a previous run left active, purging old messages in chunks, the
 * health probe's statements, and the id queries behind IdAllocator. On SQLite the message insert,
 * the hottest statement, runs on the connection's own sqlite3 handle (see write(MessageRow)).
 */
class RowWriter
{
public:
    /// How one write went. A row fault (a constraint, a bad value) fails only that row.
    struct Outcome {
        bool ok = true;
        bool rowFault = false;
        QString error;
    };
    /// Rows a purge chunk deletes at most, so that writes are not held up for long.
    static constexpr int kPurgeChunkRows = 5000;

    explicit RowWriter(Database &db);
    ~RowWriter();
    RowWriter(const RowWriter &) = delete;
    RowWriter &operator=(const RowWriter &) = delete;

    /// Prepares every statement (again after a reconnect). After a failure they fail cleanly.
    bool prepare(QString *error);
    /// Drops the statements: before the connection closes. Call prepare() before using any.
    void release();

    Outcome write(const WriteOp &op);

    /// Ends the rooms still marked active (reason `server_restart`); logs how many.
    bool closeStaleRooms(QString *error);
    /// Deletes up to kPurgeChunkRows messages older than `retentionDays`; how many it deleted.
    std::optional<int> purgeChunk(int retentionDays, QString *error);
    /// A cheap read, for the probe while healthy.
    bool probeRead(QString *error);
    /// A real write (a transaction that changes a page and commits): only that shows that
    /// writes work again.
    bool probeWrite(QString *error);

    /// SQLite: MAX(id) + 1 of `table`.
    bool nextFreeId(const QString &table, qint64 *id, QString *error);
    /// PostgreSQL: `count` new ids from the sequence of chat_rooms (`rooms`) or messages.
    bool reserveIds(bool rooms, qint64 count, std::vector<qint64> *ids, QString *error);

private:
    Outcome write(const RoomRow &row);
    Outcome write(const RoomEnd &row);
    Outcome write(const MessageRow &row);
    Outcome write(const ReportRow &row);
    Outcome insertMessageNatively(const MessageRow &row);
    bool prepareNativeInsert(QString *error);
    void releaseNativeInsert();

    struct Statements;
    Database &m_db;
    std::unique_ptr<Statements> m_statements;
    sqlite3 *m_sqlite = nullptr;
    sqlite3_stmt *m_insertMessage = nullptr;
};

} // namespace anonchat::server
