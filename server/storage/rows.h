#pragma once
// What the server asks storage to keep: its settings and one struct per kind of write.

#include <QDateTime>
#include <QString>
#include <variant>

namespace anonchat::server {

/// Where and how the server stores rooms, messages and reports.
struct StorageConfig {
    /// A SQLite file path, or `postgresql://user:pass@host:port/dbname` (also `postgres://`;
    /// query items such as `?sslmode=require` are passed to libpq as connection options).
    QString database = QStringLiteral("chat.db");
    QString connectionName = QStringLiteral("anonchat"); ///< unique per server instance
    int retentionDays = 0;                               ///< 0 keeps messages for ever
    int maxBatchRows = 1000;                             ///< rows per commit at most
    /// How long a commit may wait for more rows when the previous group was not alone (at
    /// least kCommitSiblings rows): like PostgreSQL's commit_delay and commit_siblings, fewer
    /// commits, each row later by at most this. 0 commits at once.
    int commitDelayUs = 0;
    /// Other servers use the same database at the same time (`--redis`): rooms still marked
    /// active at start-up may be theirs, so they are not closed with `server_restart`.
    bool sharedDatabase = false;
};

// One write each. Ids are allocated by the server (StorageWriter::next*Id) so a room or message
// has its id before it is stored; the row is written with it.
struct RoomRow {
    qint64 id = 0;
    QString user1Id;
    QString user2Id;
    QDateTime createdAt;
};
struct RoomEnd {
    qint64 id = 0;
    QDateTime endedAt;
    QString reason; ///< left, next, disconnected, server_shutdown
};
struct MessageRow {
    qint64 id = 0;
    qint64 roomId = 0;
    QString senderId;
    QString content;
    QDateTime timestamp;
    QString nonce; ///< empty: none
};
struct ReportRow {
    qint64 roomId = 0;
    QString reporterId;
    QString reportedId;
    QString reason;
    QDateTime createdAt;
    /// AddressHasher's keys of the two users' addresses (never the addresses); empty: unknown.
    QString reporterHash;
    QString reportedHash;
};
using WriteOp = std::variant<RoomRow, RoomEnd, MessageRow, ReportRow>;

} // namespace anonchat::server
