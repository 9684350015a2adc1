#pragma once

// The nodes of one process (--threads): the first on the caller's thread, each other on its own.

#include "server/app/serverconfig.h"
#include "server/chat/chatnode.h"

#include <QObject>
#include <functional>
#include <memory>
#include <vector>

class QTcpSocket;
class QThread;

namespace anonchat::server {

/**
 * Makes and starts the ChatNodes of the process, hands each WebSocket to the next in turn
 * (moving its socket to that node's thread), runs a call on every node on its own thread, and
 * destroys each node on its thread. Lives on the thread that made it (the listener's), whose
 * node is its child.
 */
class NodePool : public QObject
{
    Q_OBJECT
public:
    NodePool(const ServerConfig &config, const NodeShared &shared, QObject *parent = nullptr);
    ~NodePool() override;

    /// Starts `--threads` nodes, the first on this thread. False with a one-line `error`.
    bool start(QString *error);

    ChatNode &front() const { return *m_front; }
    int size() const { return int(m_workers.size()) + (m_front ? 1 : 0); }
    /// Gives a WebSocket's socket, its upgrade request unread, to the next node.
    void dispatch(QTcpSocket *socket);
    /// Runs `call` on every node, each on its thread, the first node first; waits for each.
    void forEach(const std::function<void(ChatNode &)> &call) const;
    /// Away sessions of every node.
    qint64 awayUsers() const;

private:
    /// A node on a thread of its own (null with `error` when it does not start).
    ChatNode *startWorker(QThread *thread, QString *error);

    struct Worker {
        QThread *thread = nullptr;
        ChatNode *node = nullptr;
    };
    const ServerConfig &m_config;
    NodeShared m_shared;
    ChatNode *m_front = nullptr; ///< a child: found by findChildren() from the server
    std::vector<Worker> m_workers;
    size_t m_next = 0;
};

} // namespace anonchat::server
