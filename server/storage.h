#pragma once

#include <QDateTime>
#include <QObject>
#include <QString>
#include <QVector>
#include <atomic>
#include <memory>
#include <variant>

namespace anonchat::server {

/// Where and how the server stores rooms, messages and reports.
struct StorageConfig {
    QString database = QStringLiteral("chat.db"); ///< SQLite file path (PostgreSQL URL later)
    QString connectionName = QStringLiteral("anonchat"); ///< unique per server instance
    int retentionDays = 0;                               ///< 0 keeps messages for ever
    int maxBatchRows = 1000;                             ///< rows per commit at most
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
};
using WriteOp = std::variant<RoomRow, RoomEnd, MessageRow, ReportRow>;

/**
 * The storage writer: its own thread and its own QSqlDatabase connection (SQLite in WAL mode,
 * synchronous=FULL), prepared statements only, commits in groups. Writes submitted while a commit
 * is running form the next group (at most maxBatchRows rows), so durability costs one commit per
 * group. Each submit() returns a ticket; `committed` or `failed` reports every ticket exactly
 * once, in submission order, emitted from the writer thread (connect with a queued connection).
 * A group that fails is retried row by row, so one bad row fails only itself.
 */
class StorageWriter : public QObject
{
    Q_OBJECT
public:
    explicit StorageWriter(StorageConfig config, QObject *parent = nullptr);
    ~StorageWriter() override; ///< commits what is pending, then stops the thread

    /// Opens the database in the writer thread, applies migrations, closes rooms left active
    /// by a previous run (reason `server_restart`), purges expired messages and seeds the id
    /// counters. Blocks until done. False with `error` set if the database is unusable.
    bool start(QString *error);

    qint64 nextRoomId();    ///< thread-safe
    qint64 nextMessageId(); ///< thread-safe

    /// Queues one write (thread-safe). Returns its ticket (1, 2, 3, ...).
    quint64 submit(WriteOp op);

    /// Blocks until every write submitted before the call is committed or failed.
    void flush();

    /// Stops after committing what is pending; closes the connection. Idempotent.
    void stop();

    /// False after a failed commit or health probe, until the next one succeeds.
    bool isHealthy() const;

    /// Schema version this build migrates to.
    static int latestSchemaVersion();

signals:
    /// Tickets committed together, and how long the commit took.
    void committed(const QVector<quint64> &tickets, double seconds);
    void failed(const QVector<quint64> &tickets, const QString &error);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace anonchat::server
