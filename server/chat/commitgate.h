#pragma once

// What a node submitted to storage and waits on: nothing is relayed before its row commits.

#include "server/cluster/nodemessages.h"
#include "server/match/matchmaker.h"
#include "server/storage/storagewriter.h"
#include "shared/messages.h"

#include <QHash>
#include <QVector>
#include <memory>
#include <variant>
#include <vector>

namespace anonchat::server {

// What a commit releases (see CommitGate).
struct PendingMessage {
    protocol::NewMessage message;
    UserKey sender = 0;
    QString nonceKey;
};
struct PendingReport {
    UserKey reporter = 0;
    qint64 roomId = 0;
    QString reportedHash; ///< for the automatic ban, once stored
};
struct PendingRoom {
    qint64 roomId = 0;
    /// A room with a member on another node: its `accept`, sent once the row is stored
    /// (that node's messages in the room must not reach the database before the room).
    node::Accept accept;
    int acceptNode = 0;
};
struct PendingRoomEnd {
    qint64 roomId = 0;
};

/**
 * The tickets one node submitted, each with what its commit releases: a message to relay, a
 * report to acknowledge, a room to announce, a room's end to tell. Every node hears every
 * commit of the shared StorageWriter and takes its own tickets here.
 */
class CommitGate
{
public:
    using Pending = std::variant<PendingMessage, PendingReport, PendingRoom, PendingRoomEnd>;

    explicit CommitGate(std::shared_ptr<StorageWriter> storage)
        : m_storage(std::move(storage))
    {}

    StorageWriter &storage() const { return *m_storage; }
    /// Submits `op`; `what` waits for its commit. Returns the ticket.
    quint64 submit(WriteOp op, Pending what)
    {
        const quint64 ticket = m_storage->submit(std::move(op));
        m_pending.insert(ticket, std::move(what));
        return ticket;
    }
    /// What waited on these tickets, in their order; tickets of other nodes are skipped.
    std::vector<Pending> take(const QVector<quint64> &tickets);

private:
    std::shared_ptr<StorageWriter> m_storage;
    QHash<quint64, Pending> m_pending;
};

} // namespace anonchat::server
