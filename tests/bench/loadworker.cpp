#include "loadworker.h"

#include "benchcommon.h"
#include "procstats.h"
#include "shared/codec.h"

#include <QRandomGenerator>
#include <QTimer>
#include <QWebSocket>

namespace anonchat::bench {

namespace proto = anonchat::protocol;

namespace {

constexpr int kTickMs = 5;                      ///< rate mode: how often messages are released
constexpr size_t kMaxLatencySamples = 20000000; ///< 160 MB at most

} // namespace

LoadWorker::LoadWorker(const QList<QUrl> &urls, int index, SharedState *shared, double rate)
    : m_urls(urls)
    , m_index(index)
    , m_shared(shared)
    , m_rate(rate)
    // A short chat line after the send time; the send time is what the partner reads back.
    , m_padding(QStringLiteral(" hello stranger, how is your day going so far?"))
{}

LoadWorker::~LoadWorker()
{
    closeAll();
}

void LoadWorker::open(int count, int maxInFlight)
{
    m_toOpen += count;
    m_maxInFlight = qMax(1, maxInFlight);
    m_connections.reserve(m_connections.size() + size_t(count));
    openMore();
}

void LoadWorker::openMore()
{
    while (!m_closing && m_toOpen > 0 && m_inFlight < m_maxInFlight) {
        --m_toOpen;
        ++m_inFlight;
        const int index = int(m_connections.size());
        QWebSocket *socket = newClientSocket(this);
        Connection connection;
        connection.socket = socket;
        connection.server = int((m_index + index) % m_urls.size());
        m_connections.push_back(connection);
        connect(socket, &QWebSocket::textMessageReceived, this,
                [this, index](const QString &text) { onText(index, text); });
        connect(socket, &QWebSocket::disconnected, this, [this, index] { onGone(index); });
        connect(socket, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), this,
                [this, index](QAbstractSocket::SocketError) { onGone(index); });
        socket->open(m_urls[connection.server]);
    }
}

void LoadWorker::onGone(int index)
{
    Connection &c = m_connections[size_t(index)];
    if (m_closing || c.state == State::Gone)
        return;
    if (c.state == State::Connecting) {
        m_shared->failed.fetch_add(1);
        --m_inFlight;
        c.state = State::Gone;
        openMore();
        return;
    }
    c.state = State::Gone;
    m_shared->dropped.fetch_add(1);
}

bool LoadWorker::inWindow(qint64 t) const
{
    return t >= m_shared->windowStartNs.load(std::memory_order_relaxed) &&
           t < m_shared->windowEndNs.load(std::memory_order_relaxed);
}

void LoadWorker::onText(int index, const QString &text)
{
    const qint64 now = nowNs();
    Connection &c = m_connections[size_t(index)];
    const proto::ServerDecodeResult decoded = proto::decodeServerFrame(text);
    const auto *message = std::get_if<proto::ServerMessage>(&decoded);
    if (!message) {
        ++m_result.errors[QStringLiteral("undecodable_frame")];
        return;
    }
    if (const auto *m = std::get_if<proto::NewMessage>(message)) {
        if (m->senderId == c.userId) {
            if (inWindow(now))
                ++m_result.acked;
            return;
        }
        // The content starts with the sender's nowNs() (same process, same clock).
        const qsizetype space = m->content.indexOf(QLatin1Char(' '));
        bool ok = false;
        const qint64 sentNs = QStringView(m->content).left(space).toLongLong(&ok);
        if (inWindow(now)) {
            ++m_result.delivered;
            if (ok && m_result.latencyNs.size() < kMaxLatencySamples)
                m_result.latencyNs.push_back(now - sentNs);
        }
        if (m_rate <= 0 && m_shared->chatting.load(std::memory_order_relaxed))
            sendChat(c);
        return;
    }
    if (const auto *m = std::get_if<proto::Welcome>(message)) {
        if (c.state != State::Connecting)
            return;
        c.state = State::Open;
        c.userId = m->userId;
        --m_inFlight;
        if (m_urls.size() > 1) {
            QMutexLocker lock(&m_shared->usersMutex);
            m_shared->serverOfUser.insert(c.userId, c.server);
        }
        m_shared->welcomed.fetch_add(1);
        raiseToAtLeast(m_shared->lastWelcomeNs, now);
        openMore();
        return;
    }
    if (const auto *m = std::get_if<proto::Matched>(message)) {
        c.partnerId = m->partnerId;
        if (!c.matched) {
            c.matched = true;
            m_result.partners.emplace_back(c.server, m->partnerId);
            m_shared->matched.fetch_add(1);
            raiseToAtLeast(m_shared->lastMatchedNs, now);
        }
        return;
    }
    if (const auto *m = std::get_if<proto::Error>(message)) {
        ++m_result.errors[proto::errorCodeName(m->code)];
        return;
    }
    ++m_result.otherFrames; // waiting, partner_typing, ...
}

void LoadWorker::sendChat(Connection &c)
{
    if (c.state != State::Open || !c.matched)
        return;
    const qint64 now = nowNs();
    proto::SendMessage message;
    message.content = QString::number(now) + m_padding;
    message.nonce = QString::number(++m_nonce, 36);
    c.socket->sendTextMessage(proto::encodeText(message));
    if (inWindow(now))
        ++m_result.sent;
}

void LoadWorker::joinQueue()
{
    const QString frame = proto::encodeText(proto::JoinQueue{});
    for (size_t k = 0; k < m_connections.size(); ++k) {
        Connection &c = m_connections[k];
        if (c.state != State::Open || c.matched)
            continue;
        if (m_urls.size() > 1)
            c.socket->sendTextMessage(proto::encodeText(
                proto::JoinQueue{{QStringLiteral("w%1p%2").arg(m_index).arg(k / 2)}}));
        else
            c.socket->sendTextMessage(frame);
    }
}

void LoadWorker::startChat()
{
    if (m_rate > 0) {
        // Spread the first sends of the users over one interval instead of one burst.
        for (Connection &c : m_connections)
            c.budget = QRandomGenerator::global()->generateDouble();
        m_lastTickNs = nowNs();
        m_timer = new QTimer(this);
        m_timer->setTimerType(Qt::PreciseTimer);
        connect(m_timer, &QTimer::timeout, this, &LoadWorker::onTick);
        m_timer->start(kTickMs);
        return;
    }
    // Ping-pong: one message in flight per room, started by the member with the smaller id.
    for (Connection &c : m_connections) {
        if (c.matched && c.userId < c.partnerId)
            sendChat(c);
    }
}

void LoadWorker::onTick()
{
    if (!m_shared->chatting.load(std::memory_order_relaxed))
        return;
    const qint64 now = nowNs();
    const double owed = m_rate * double(now - m_lastTickNs) / 1e9;
    m_lastTickNs = now;
    for (Connection &c : m_connections) {
        if (!c.matched)
            continue;
        c.budget += owed;
        while (c.budget >= 1.0) {
            c.budget -= 1.0;
            sendChat(c);
        }
    }
}

void LoadWorker::stopChat()
{
    delete m_timer;
    m_timer = nullptr;
}

WorkerResult LoadWorker::takeResult()
{
    WorkerResult result = std::move(m_result);
    m_result = WorkerResult();
    return result;
}

void LoadWorker::closeAll()
{
    m_closing = true;
    stopChat();
    for (Connection &c : m_connections)
        discardSocket(c.socket, this);
}

} // namespace anonchat::bench
