#include "idleworker.h"

#include "procstats.h"
#include "tests/support/wireframes.h"

#include <QTcpSocket>

namespace anonchat::bench {

namespace wire = anonchat::test::wire;

IdleWorker::IdleWorker(const QList<QUrl> &urls, const QList<QHostAddress> &sources, int index,
                       SharedState *shared)
    : m_urls(urls)
    , m_sources(sources)
    , m_index(index)
    , m_shared(shared)
{}

IdleWorker::~IdleWorker()
{
    closeAll();
}

void IdleWorker::open(int count, int maxInFlight)
{
    m_toOpen += count;
    m_maxInFlight = qMax(1, maxInFlight);
    m_connections.reserve(m_connections.size() + size_t(count));
    openMore();
}

void IdleWorker::openMore()
{
    while (!m_closing && m_toOpen > 0 && m_inFlight < m_maxInFlight) {
        --m_toOpen;
        ++m_inFlight;
        const int index = int(m_connections.size());
        auto *socket = new QTcpSocket(this);
        m_connections.push_back(Connection{socket});
        connect(socket, &QTcpSocket::connected, this, [this, index] { onConnected(index); });
        connect(socket, &QTcpSocket::readyRead, this, [this, index] { onReadyRead(index); });
        connect(socket, &QTcpSocket::disconnected, this, [this, index] { onGone(index); });
        connect(socket, &QTcpSocket::errorOccurred, this, [this, index] { onGone(index); });
        const QHostAddress &source = m_sources[(m_index + index) % m_sources.size()];
        const QUrl &url = m_urls[(m_index + index) % m_urls.size()];
        if (!socket->bind(source)) {
            QMetaObject::invokeMethod(
                this, [this, index] { onGone(index); }, Qt::QueuedConnection);
            continue;
        }
        socket->connectToHost(url.host(), quint16(url.port()));
    }
}

void IdleWorker::onConnected(int index)
{
    Connection &c = m_connections[size_t(index)];
    c.state = State::Upgrading;
    const QUrl &url = m_urls[(m_index + index) % m_urls.size()];
    c.socket->write(wire::upgradeRequestFor(url.authority().toLatin1()));
}

void IdleWorker::onReadyRead(int index)
{
    Connection &c = m_connections[size_t(index)];
    c.buffer += c.socket->readAll();
    if (c.state == State::Upgrading) {
        const qsizetype end = c.buffer.indexOf("\r\n\r\n");
        if (end < 0)
            return;
        if (!c.buffer.startsWith("HTTP/1.1 101 ")) {
            onGone(index); // refused (server_busy comes as a 503 here)
            return;
        }
        c.buffer.remove(0, end + 4);
        c.state = State::Open;
    }
    takeFrames(c);
}

void IdleWorker::takeFrames(Connection &c)
{
    while (std::optional<wire::Frame> f = wire::takeFrame(c.buffer)) {
        if (f->opcode() == wire::Ping) {
            c.socket->write(wire::frame(wire::kFin | wire::Pong, f->payload));
        } else if (!c.welcomed && f->opcode() == wire::Text && f->payload.contains("\"welcome\"")) {
            c.welcomed = true;
            --m_inFlight;
            m_shared->welcomed.fetch_add(1);
            raiseToAtLeast(m_shared->lastWelcomeNs, nowNs());
            openMore();
        }
    }
}

void IdleWorker::onGone(int index)
{
    Connection &c = m_connections[size_t(index)];
    if (m_closing || c.state == State::Gone)
        return;
    c.state = State::Gone;
    c.buffer.clear();
    c.socket->abort(); // may come back here: Gone by now
    if (!c.welcomed) {
        m_shared->failed.fetch_add(1);
        --m_inFlight;
        openMore();
    } else {
        m_shared->dropped.fetch_add(1);
    }
}

void IdleWorker::closeAll()
{
    m_closing = true;
    for (Connection &c : m_connections) {
        if (c.socket) {
            disconnect(c.socket, nullptr, this, nullptr);
            c.socket->abort();
            delete c.socket;
            c.socket = nullptr;
        }
    }
}

} // namespace anonchat::bench
