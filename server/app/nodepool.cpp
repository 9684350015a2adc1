#include "server/app/nodepool.h"

#include <QPointer>
#include <QTcpSocket>
#include <QThread>

namespace anonchat::server {

NodePool::NodePool(const ServerConfig &config, const NodeShared &shared, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_shared(shared)
{}

NodePool::~NodePool()
{
    // Each worker is destroyed on its own thread, then the thread ends.
    for (Worker &w : m_workers) {
        ChatNode *node = w.node;
        QMetaObject::invokeMethod(
            node, [node] { delete node; }, Qt::BlockingQueuedConnection);
        w.thread->quit();
        w.thread->wait();
        delete w.thread;
    }
    m_workers.clear();
    delete m_front;
}

bool NodePool::start(QString *error)
{
    m_front = new ChatNode(m_config, m_shared, this);
    if (!m_front->start(error))
        return false;
    for (int number = 2; number <= m_config.threads; ++number) {
        auto *thread = new QThread;
        thread->setObjectName(QStringLiteral("anonchat-node-%1").arg(number));
        if (m_config.dispatcherFactory)
            thread->setEventDispatcher(m_config.dispatcherFactory());
        thread->start();
        ChatNode *node = startWorker(thread, error);
        if (!node) {
            thread->quit();
            thread->wait();
            delete thread;
            return false;
        }
        m_workers.push_back({thread, node});
    }
    return true;
}

ChatNode *NodePool::startWorker(QThread *thread, QString *error)
{
    ChatNode *node = nullptr;
    auto *context = new QObject;
    context->moveToThread(thread);
    QMetaObject::invokeMethod(
        context,
        [&, context] {
            node = new ChatNode(m_config, m_shared);
            if (!node->start(error)) {
                delete node;
                node = nullptr;
            }
            delete context;
        },
        Qt::BlockingQueuedConnection);
    return node;
}

void NodePool::dispatch(QTcpSocket *socket)
{
    const size_t index = m_next++ % size_t(size());
    ChatNode *target = index == 0 ? m_front : m_workers[index - 1].node;
    // The socket (its request head unread in its buffer; with TLS, the encrypted QSslSocket)
    // goes to the node's thread. Not from here: we are inside the socket's own readyRead
    // emission, which goes on using it after we return.
    QThread *thread = target->thread();
    QPointer<QTcpSocket> guard(socket);
    QMetaObject::invokeMethod(
        this,
        [target, thread, guard] {
            if (!guard)
                return;
            QTcpSocket *tcp = guard.data();
            tcp->setParent(nullptr);
            if (thread != QThread::currentThread())
                tcp->moveToThread(thread);
            QMetaObject::invokeMethod(
                target, [target, tcp] { target->adoptSocket(tcp); }, Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

void NodePool::forEach(const std::function<void(ChatNode &)> &call) const
{
    if (m_front)
        call(*m_front);
    for (const Worker &w : m_workers) {
        ChatNode *node = w.node;
        QMetaObject::invokeMethod(
            node, [node, &call] { call(*node); }, Qt::BlockingQueuedConnection);
    }
}

qint64 NodePool::awayUsers() const
{
    qint64 away = m_front ? m_front->awayUsers() : 0;
    for (const Worker &w : m_workers)
        away += w.node->awayUsers();
    return away;
}

} // namespace anonchat::server
