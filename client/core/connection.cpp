#include "client/core/connection.h"

#include <QLoggingCategory>
#include <QNetworkRequest>
#include <QRandomGenerator>
#include <QWebSocket>
#include <algorithm>
#include <cmath>

Q_LOGGING_CATEGORY(lcConnection, "anonchat.client.connection", QtInfoMsg)

namespace anonchat::client {

using namespace protocol;

namespace {

// A `resumed` carries up to 1000 stored messages of up to 500 code points each: allow a few
// MiB, far below Qt's ~2 GiB default.
constexpr quint64 kMaxIncomingBytes = 16 * 1024 * 1024;

QString newNonce()
{
    quint64 words[2];
    QRandomGenerator::global()->fillRange(words);
    return QStringLiteral("%1%2")
        .arg(words[0], 16, 16, QLatin1Char('0'))
        .arg(words[1], 16, 16, QLatin1Char('0'));
}

} // namespace

Connection::Connection(QObject *parent)
    : QObject(parent)
{
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &Connection::connectSocket);
    m_resendTimer.setSingleShot(true);
    connect(&m_resendTimer, &QTimer::timeout, this, [this] {
        if (isConnected())
            flushOutbox();
    });
    connect(&m_keepAliveTimer, &QTimer::timeout, this, &Connection::onKeepAlive);
}

Connection::~Connection()
{
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

QUrl Connection::webSocketUrl(const QUrl &serverUrl)
{
    if (!serverUrl.isValid() || serverUrl.host().isEmpty())
        return {};
    QUrl url = serverUrl.adjusted(QUrl::RemoveFragment | QUrl::RemoveUserInfo);
    const QString scheme = url.scheme().toLower();
    QString path = url.path();
    if (scheme == QLatin1String("http") || scheme == QLatin1String("https")) {
        url.setScheme(scheme == QLatin1String("http") ? QStringLiteral("ws")
                                                      : QStringLiteral("wss"));
        // The page is served at `<base>/`, its WebSocket at `<base>/ws`.
        if (!path.endsWith(QLatin1String("/ws"))) {
            if (!path.endsWith(QLatin1Char('/')))
                path += QLatin1Char('/');
            path += QLatin1String("ws");
        }
    } else if (scheme == QLatin1String("ws") || scheme == QLatin1String("wss")) {
        url.setScheme(scheme);
        if (path.isEmpty() || path == QLatin1String("/"))
            path = QStringLiteral("/ws");
    } else {
        return {};
    }
    url.setPath(path);
    return url.isValid() ? url : QUrl();
}

int Connection::backoffDelayMs(int attempt, int initialMs, int maxMs, double jitter01)
{
    initialMs = std::max(0, initialMs);
    maxMs = std::max(initialMs, maxMs);
    const double base =
        std::min(double(maxMs), double(initialMs) * std::pow(2.0, std::clamp(attempt, 0, 40)));
    // "Equal jitter": half fixed so the delay still grows, half random so a crowd of clients
    // dropped by one server restart does not come back in lockstep.
    const double factor = 0.5 + 0.5 * std::clamp(jitter01, 0.0, 1.0);
    return int(std::lround(base * factor));
}

bool Connection::open(const QUrl &serverUrl)
{
    const QUrl url = webSocketUrl(serverUrl);
    if (!url.isValid())
        return false;
    if (m_state != State::Disconnected)
        close();
    m_url = url;
    m_attempt = 0;
    m_lastDelayMs = -1;
    setState(State::Connecting);
    connectSocket();
    return true;
}

void Connection::close()
{
    m_reconnectTimer.stop();
    m_resendTimer.stop();
    m_keepAliveTimer.stop();
    if (QWebSocket *ws = m_socket) {
        m_socket = nullptr;
        ws->disconnect(this);
        // Let what was sent last (a polite leave_room_event) go out with the close handshake;
        // cut the socket off if the server does not answer it.
        connect(ws, &QWebSocket::disconnected, ws, &QObject::deleteLater);
        QTimer::singleShot(2000, ws, [ws] {
            ws->abort();
            ws->deleteLater();
        });
        ws->close(QWebSocketProtocol::CloseCodeNormal);
    }
    m_resumeSent = false;
    m_heldWelcome.reset();
    m_userId.clear();
    m_resumeToken.clear();
    m_roomId = 0;
    m_lastMessageId = -1;
    failOutbox(m_outbox);
    setState(State::Disconnected);
}

bool Connection::send(const ClientMessage &message)
{
    if (m_state != State::Connected || !m_socket)
        return false;
    m_socket->sendTextMessage(encodeText(message));
    return true;
}

QString Connection::sendChatMessage(const QString &content)
{
    OutboxEntry entry{newNonce(), content, m_roomId};
    m_outbox.append(entry);
    send(SendMessage{entry.content, entry.nonce});
    return entry.nonce;
}

void Connection::setReconnectDelays(int initialMs, int maxMs)
{
    m_initialDelayMs = std::max(0, initialMs);
    m_maxDelayMs = std::max(m_initialDelayMs, maxMs);
}

void Connection::setKeepAlive(int intervalMs, int timeoutMs)
{
    m_keepAliveIntervalMs = std::max(10, intervalMs);
    m_keepAliveTimeoutMs = std::max(m_keepAliveIntervalMs, timeoutMs);
    if (m_keepAliveTimer.isActive())
        m_keepAliveTimer.start(std::max(10, m_keepAliveIntervalMs / 3));
}

// ---- socket ---------------------------------------------------------------------------------

void Connection::connectSocket()
{
    if (m_state == State::Disconnected)
        return;
    if (QWebSocket *old = m_socket) {
        m_socket = nullptr;
        old->disconnect(this);
        old->abort();
        old->deleteLater();
    }
    auto *ws = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
    m_socket = ws;
    ws->setMaxAllowedIncomingFrameSize(kMaxIncomingBytes);
    ws->setMaxAllowedIncomingMessageSize(kMaxIncomingBytes);
    if (m_sslConfiguration)
        ws->setSslConfiguration(*m_sslConfiguration);
    connect(ws, &QWebSocket::connected, this, [this, ws] {
        if (ws == m_socket)
            onSocketConnected();
    });
    connect(ws, &QWebSocket::disconnected, this, [this, ws] {
        const QString why = ws->closeReason().isEmpty() ? ws->errorString() : ws->closeReason();
        onSocketGone(ws, why);
    });
    connect(ws, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this, ws](QAbstractSocket::SocketError) {
                if (ws == m_socket)
                    emit transportError(ws->errorString());
            });
    connect(ws, &QWebSocket::textMessageReceived, this, [this, ws](const QString &text) {
        if (ws == m_socket)
            onText(text);
    });
    connect(ws, &QWebSocket::binaryMessageReceived, this, [this, ws] {
        if (ws == m_socket)
            emit protocolError(tr("the server sent a binary frame"));
    });
    connect(ws, &QWebSocket::pong, this, [this, ws] {
        if (ws == m_socket)
            m_lastHeard.restart();
    });
    m_lastHeard.restart();
    m_keepAliveTimer.start(std::max(10, m_keepAliveIntervalMs / 3));
    qCDebug(lcConnection) << "connecting to" << m_url.toString() << "attempt" << m_attempt;
    ws->open(QNetworkRequest(m_url));
}

void Connection::onSocketConnected()
{
    m_lastHeard.restart();
    // Nothing to send yet: the server speaks first (welcome).
}

void Connection::onSocketGone(QWebSocket *ws, const QString &why)
{
    if (!ws || ws != m_socket)
        return; // an old socket, already replaced
    m_socket = nullptr;
    ws->disconnect(this);
    if (ws->state() != QAbstractSocket::UnconnectedState)
        ws->abort();
    ws->deleteLater();
    m_keepAliveTimer.stop();
    m_resendTimer.stop();
    m_resumeSent = false;
    m_heldWelcome.reset();
    if (m_state == State::Disconnected)
        return;
    qCDebug(lcConnection) << "connection lost:" << why;
    if (!why.isEmpty())
        emit transportError(why);
    setState(m_resumeToken.isEmpty() ? State::Connecting : State::Reconnecting);
    scheduleReconnect();
}

void Connection::scheduleReconnect()
{
    m_lastDelayMs = backoffDelayMs(m_attempt, m_initialDelayMs, m_maxDelayMs,
                                   QRandomGenerator::global()->generateDouble());
    ++m_attempt;
    m_reconnectTimer.start(m_lastDelayMs);
}

void Connection::onKeepAlive()
{
    QWebSocket *ws = m_socket;
    if (!ws) {
        m_keepAliveTimer.stop();
        return;
    }
    const qint64 silent = m_lastHeard.elapsed();
    if (silent >= m_keepAliveTimeoutMs) {
        onSocketGone(ws, ws->state() == QAbstractSocket::ConnectedState
                             ? tr("the server stopped answering")
                             : tr("the server did not answer in time"));
        return;
    }
    if (ws->state() == QAbstractSocket::ConnectedState && silent >= m_keepAliveIntervalMs)
        ws->ping(); // Qt never pings by itself; the pong restarts m_lastHeard
}

// ---- frames ---------------------------------------------------------------------------------

void Connection::onText(const QString &text)
{
    m_lastHeard.restart();
    ServerDecodeResult decoded = decodeServerFrame(text);
    if (const auto *error = std::get_if<DecodeError>(&decoded)) {
        qCWarning(lcConnection) << "undecodable frame from the server:" << error->message;
        emit protocolError(error->message);
        return;
    }
    const ServerMessage &message = std::get<ServerMessage>(decoded);

    if (const auto *welcome = std::get_if<Welcome>(&message)) {
        if (m_resumeSent || m_heldWelcome)
            return; // cannot happen: one welcome per connection
        m_pow = welcome->pow;
        if (m_state == State::Reconnecting && !m_resumeToken.isEmpty() && m_socket) {
            // Our old identity may still be there: ask for it before showing anything.
            m_heldWelcome = *welcome;
            m_resumeSent = true;
            m_socket->sendTextMessage(
                encodeText(Resume{m_resumeToken, std::max<qint64>(m_lastMessageId, 0)}));
            return;
        }
        adoptWelcome(*welcome);
        return;
    }

    if (m_resumeSent && onResumeAnswer(message))
        return;

    noteServerMessage(message);
    deliver(message);
}

bool Connection::onResumeAnswer(const ServerMessage &message)
{
    if (const auto *resumed = std::get_if<Resumed>(&message)) {
        m_resumeSent = false;
        m_heldWelcome.reset();
        m_userId = resumed->userId;
        m_resumeToken = resumed->resumeToken;
        m_roomId = resumed->room ? resumed->room->roomId : 0;
        if (resumed->room) {
            for (const NewMessage &m : resumed->room->messages)
                acknowledge(m);
        }
        // What was written in another room (or with no room left) cannot be delivered.
        failOutboxIf(
            [this](const OutboxEntry &e) { return m_roomId == 0 || e.roomId != m_roomId; });
        m_attempt = 0;
        setState(State::Connected);
        deliver(message);
        flushOutbox();
        return true;
    }
    const auto *error = std::get_if<Error>(&message);
    if (error && error->code == ErrorCode::ResumeFailed) {
        m_resumeSent = false;
        m_roomId = 0;
        failOutbox(m_outbox); // the old identity and its room are gone
        deliver(message);
        if (m_heldWelcome) {
            const Welcome welcome = *m_heldWelcome;
            m_heldWelcome.reset();
            if (m_state != State::Disconnected)
                adoptWelcome(welcome);
        }
        return true;
    }
    return false;
}

void Connection::adoptWelcome(const Welcome &welcome)
{
    m_userId = welcome.userId;
    m_resumeToken = welcome.resumeToken;
    m_limits = welcome.limits;
    m_roomId = 0;
    failOutbox(m_outbox); // written before this identity existed: no room to go to
    m_attempt = 0;
    setState(State::Connected);
    emit identityChanged(m_userId);
    deliver(welcome);
}

void Connection::noteServerMessage(const ServerMessage &message)
{
    if (const auto *m = std::get_if<NewMessage>(&message)) {
        acknowledge(*m);
    } else if (const auto *matched = std::get_if<Matched>(&message)) {
        m_roomId = matched->roomId;
    } else if (const auto *left = std::get_if<PartnerLeft>(&message)) {
        if (left->roomId == m_roomId)
            m_roomId = 0;
    } else if (const auto *left2 = std::get_if<RoomLeft>(&message)) {
        if (left2->roomId == m_roomId)
            m_roomId = 0;
    } else if (const auto *error = std::get_if<Error>(&message)) {
        // Errors carry no nonce: which message they answer follows from the server's order.
        if (error->event != eventName(ClientEvent::SendMessage) || m_outbox.isEmpty())
            return;
        switch (error->code) {
        case ErrorCode::Internal:
            // Storage results (acks and failures) come in submission order: the oldest unacked.
            failOutbox({m_outbox.takeFirst()});
            break;
        case ErrorCode::RateLimited:
            // Refused before storing: send everything unacked again once allowed (nonces make
            // it idempotent).
            m_resendTimer.start(int(std::clamp<qint64>(error->retryAfterMs, 50, 60000)));
            break;
        case ErrorCode::NotInRoom:
        case ErrorCode::MessageEmpty:
        case ErrorCode::MessageTooLong:
        case ErrorCode::InvalidData:
            // Refused at once: after the room ended every later message is refused, so the
            // refused ones are the newest.
            failOutbox({m_outbox.takeLast()});
            break;
        default: break;
        }
    }
}

void Connection::acknowledge(const NewMessage &message)
{
    m_lastMessageId = std::max(m_lastMessageId, message.id);
    if (message.nonce.isEmpty())
        return;
    const auto it = std::find_if(m_outbox.begin(), m_outbox.end(),
                                 [&](const OutboxEntry &e) { return e.nonce == message.nonce; });
    if (it != m_outbox.end())
        m_outbox.erase(it);
}

void Connection::failOutbox(QVector<OutboxEntry> entries)
{
    if (entries.isEmpty())
        return;
    QStringList nonces;
    for (const OutboxEntry &e : entries) {
        nonces.append(e.nonce);
        m_outbox.removeIf([&](const OutboxEntry &o) { return o.nonce == e.nonce; });
    }
    emit messagesFailed(nonces);
}

void Connection::failOutboxIf(const std::function<bool(const OutboxEntry &)> &predicate)
{
    QVector<OutboxEntry> failed;
    for (const OutboxEntry &e : std::as_const(m_outbox)) {
        if (predicate(e))
            failed.append(e);
    }
    failOutbox(failed);
}

void Connection::flushOutbox()
{
    for (const OutboxEntry &e : std::as_const(m_outbox)) {
        if (e.roomId == m_roomId)
            send(SendMessage{e.content, e.nonce});
    }
}

void Connection::deliver(const ServerMessage &message)
{
    emit received(message);
}

void Connection::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    emit stateChanged(state);
}

} // namespace anonchat::client
