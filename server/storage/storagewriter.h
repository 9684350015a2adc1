#pragma once
// StorageWriter: the thread, queue, group commits and tickets through which the server stores.
//
// How server/storage/ is split (qTox's raw database / history / upgrader, with Mumble's one place
// for the SQL dialect; one class per table would be four classes of one or two statements each,
// and they share every transaction, so the rows live together in RowWriter):
//   StorageWriter  thread, queue, group commit, per-row retry, tickets, health, purge schedule
//   IdAllocator    room and message ids before the row exists (counters, or sequence blocks)
//   Schema         the schema version and one function per numbered upgrade step
//   RowWriter      the prepared statements that write rows (and purge, probe, reserve ids)
//   Database       the writer thread's own connection: open, tune, begin/commit/rollback
//   Dialect        every SQLite/PostgreSQL difference, side by side
//   PostgresUrl    postgresql:// URLs: checked, split, shown without the password
//   rows.h         StorageConfig and the write structs the server submits

#include "server/storage/rows.h"

#include <QObject>
#include <QString>
#include <QVector>
#include <memory>

namespace anonchat::server {

/**
 * The storage writer: its own thread and its own QSqlDatabase connection (SQLite in WAL mode,
 * synchronous=FULL, or PostgreSQL through QPSQL), prepared statements only, commits in groups.
 * Writes submitted while a commit is running form the next group (at most maxBatchRows rows), so
 * durability costs one commit per group; when the previous group held two rows or more, the next
 * one waits up to commitDelayUs for more before it commits. Each submit() returns a ticket;
 * `committed` or `failed` reports every ticket exactly once, in submission order, emitted from the
 * writer thread (connect with a queued connection). A group that fails is retried row by row, so
 * one bad row fails only itself.
 */
class StorageWriter : public QObject
{
    Q_OBJECT
public:
    explicit StorageWriter(StorageConfig config, QObject *parent = nullptr);
    ~StorageWriter() override; ///< commits what is pending, then stops the thread

    /// Opens the database in the writer thread, applies migrations (on PostgreSQL under an
    /// advisory lock, so servers starting together migrate once), closes rooms left active by a
    /// previous run (reason `server_restart`; skipped with `sharedDatabase`), purges expired
    /// messages and seeds the ids. Blocks until done. False with a one-line `error` (naming the
    /// database, never its password) if the database is unusable.
    bool start(QString *error);

    /// Thread-safe. SQLite: a counter seeded from MAX(id) + 1. PostgreSQL: from the table's
    /// sequence, in blocks the writer thread reserves ahead (servers sharing the database never
    /// get the same id); blocks only while the reserve is empty, and returns 0 (never an id) if
    /// it cannot be refilled (the writer is not running, or the database fails).
    qint64 nextRoomId();
    qint64 nextMessageId(); ///< as nextRoomId()

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

    /// True for a `postgresql://` or `postgres://` URL.
    static bool isPostgresUrl(const QString &database);
    /// Empty if `database` is usable as a PostgreSQL URL, else why not.
    static QString postgresUrlProblem(const QString &database);
    /// `database` as it may be logged or shown: a PostgreSQL URL without its password.
    static QString displayName(const QString &database);

signals:
    /// Tickets committed together, and how long the commit took.
    void committed(const QVector<quint64> &tickets, double seconds);
    void failed(const QVector<quint64> &tickets, const QString &error);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace anonchat::server
