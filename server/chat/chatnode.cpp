#include "server/chat/chatnode.h"

#include "server/cluster/locallink.h"
#include "server/cluster/redislink.h"
#include "server/net/websocketintake.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QTcpSocket>
#include <algorithm>
#include <limits>

Q_LOGGING_CATEGORY(lcServer, "anonchat.server", QtInfoMsg)

namespace anonchat::server {

using namespace protocol;

namespace {

RateLimiter::Kind limitKind(ClientEvent event)
{
    switch (event) {
    case ClientEvent::SendMessage: return RateLimiter::Kind::Message;
    case ClientEvent::Typing: return RateLimiter::Kind::Typing;
    case ClientEvent::JoinQueue:
    case ClientEvent::LeaveQueue:
    case ClientEvent::Next: return RateLimiter::Kind::Queue;
    default: return RateLimiter::Kind::Other;
    }
}

} // namespace

ChatNode::ChatNode(const ServerConfig &config, NodeShared shared, QObject *parent)
    : QObject(parent)
    , m_config(config)
    , m_shared(std::move(shared))
    , m_banGate(m_shared.hasher, m_shared.bans)
    , m_commits(m_shared.storage)
    , m_awayCap(m_shared.budget, m_config.maxConnectionsPerAddress, m_config.refusalLogIntervalMs)
    , m_powGate(m_config.powBits)
    , m_matchmaker(m_config.interestWaitMs)
    , m_metrics(*m_shared.metrics)
    , m_roomService(
          {*this, m_sessions, m_rooms, m_commits, m_matchmaker, m_metrics, m_shared.reportStored})
{
    m_clock.start();
    m_interestTimer.setSingleShot(true);
    connect(&m_interestTimer, &QTimer::timeout, this, [this] {
        for (const Match &match : m_matchmaker.expire(nowMs()))
            m_roomService.startRoom(match);
        scheduleInterestTimer();
    });
    connect(&m_sweepTimer, &QTimer::timeout, this, &ChatNode::sweep);
}

ChatNode::~ChatNode()
{
    // Connections first: they refer to sessions.
    for (ClientSocket *socket : m_sessions.sockets()) {
        m_sessions.detach(socket);
        socket->detach();
        delete socket;
    }
    m_coordinator.reset();
}

bool ChatNode::start(QString *error)
{
    ClientSocket::Limits limits;
    limits.maxMessageBytes = m_config.maxFrameBytes;
    limits.maxQueuedBytes = m_config.maxQueuedBytes;
    m_intake = new WebSocketIntake(m_config.tlsEnabled(), limits, this, this);
    connect(m_intake, &WebSocketIntake::connectionReady, this, &ChatNode::acceptConnection);
    // Every node hears every commit and takes the tickets it submitted.
    connect(
        m_shared.storage.get(), &StorageWriter::committed, this,
        [this](const QVector<quint64> &tickets) {
            const FrameWriter::FlushAtEnd flushAtEnd{&m_writer};
            m_roomService.committed(tickets);
        },
        Qt::QueuedConnection);
    connect(
        m_shared.storage.get(), &StorageWriter::failed, this,
        [this](const QVector<quint64> &tickets, const QString &reason) {
            m_roomService.storageFailed(tickets, reason);
        },
        Qt::QueuedConnection);
    std::unique_ptr<ClusterLink> link;
    if (!m_config.redis.isEmpty()) {
        RedisLink::Config clusterConfig;
        clusterConfig.redis = m_config.redis;
        link = std::make_unique<RedisLink>(clusterConfig);
    } else if (m_shared.hub) {
        link = std::make_unique<LocalLink>(m_shared.hub.get());
    }
    if (link) {
        m_cluster = link.get();
        connect(m_cluster, &ClusterLink::received, this, &ChatNode::onClusterMessage);
        m_coordinator = std::make_unique<ClusterCoordinator>(
            ClusterCoordinator::Parts{*this, m_sessions, m_rooms, m_commits, m_config, m_clock},
            std::move(link));
        m_roomService.setCoordinator(m_coordinator.get());
        if (!m_coordinator->start(error))
            return false;
    }
    const qint64 tick = std::min(m_config.pingIntervalMs, m_config.resumeWindowMs) / 4;
    m_sweepTimer.start(int(std::clamp<qint64>(tick, 20, 1000)));
    publishCounts();
    return true;
}

int ChatNode::connectionCount() const
{
    return m_cluster ? int(std::max<qint64>(m_cluster->stats().online, localConnectionCount()))
                     : localConnectionCount();
}

int ChatNode::queuedCount() const
{
    return m_cluster ? int(m_cluster->stats().queued) : m_matchmaker.queuedCount();
}

int ChatNode::activeRoomCount() const
{
    return m_cluster ? int(m_cluster->stats().activeRooms) : localActiveRooms();
}

void ChatNode::publishCounts()
{
    m_awayUsers.store(qint64(m_sessions.size()) - m_sessions.connectedCount(),
                      std::memory_order_relaxed);
    if (m_cluster)
        m_cluster->setLocalCounts(localConnectionCount(), localActiveRooms());
}

Room &ChatNode::addRoom(const Room &room)
{
    Room &added = m_rooms.add(room);
    publishCounts();
    return added;
}

void ChatNode::removeRoom(qint64 id)
{
    m_rooms.remove(id);
    publishCounts();
}

Room *ChatNode::roomOf(const Session &s)
{
    // A user whose leave is held is out as far as its own events go.
    return s.state == Session::State::InRoom && !s.pendingLeave ? m_rooms.find(s.roomId) : nullptr;
}

void ChatNode::adoptSocket(QTcpSocket *socket)
{
    if (m_stopping) {
        socket->abort();
        socket->deleteLater();
        return;
    }
    m_intake->take(socket);
}

// ---- connections ----------------------------------------------------------------------------

void ChatNode::acceptConnection(ClientSocket *ws)
{
    ws->setParent(this);
    m_metrics.countConnection();
    const QString addressHash = m_banGate.hashOf(ws->peerAddress());
    if (m_banGate.refuse(ws, addressHash)) {
        m_metrics.countError(ErrorCode::Banned);
        return; // not in m_sessions: disconnected() deletes it
    }
    // One address may not take the whole server (--max-connections-per-address).
    if (m_stopping || !m_shared.budget->admit(ws->peerAddress())) {
        if (!m_stopping) {
            m_metrics.countError(ErrorCode::ServerBusy);
            ws->sendText(encode(ServerMessage(
                Error{ErrorCode::ServerBusy, tr("the server is full, try again later"), {}})));
        }
        closeSocket(ws, m_stopping ? WsCloseGoingAway : WsCloseTryAgainLater,
                    m_stopping ? tr("server shutting down") : tr("server busy"));
        return; // not in m_sessions: disconnected() deletes it
    }
    ws->setAdmitted(true);
    Session *s = createSession(ws);
    s->addressHash = addressHash;
    Welcome welcome;
    welcome.userId = s->userId;
    welcome.resumeToken = s->resumeToken;
    welcome.online = connectionCount();
    welcome.pow = m_powGate.welcomeFor(*s);
    send(*s, welcome);
    m_writer.flush();
}

void ChatNode::textReceived(ClientSocket *connection, const QByteArray &utf8)
{
    if (Session *session = m_sessions.findBySocket(connection))
        onText(session, utf8);
    m_writer.flush();
}

void ChatNode::binaryReceived(ClientSocket *connection)
{
    if (Session *session = m_sessions.findBySocket(connection))
        onBinary(session);
    m_writer.flush();
}

void ChatNode::pongReceived(ClientSocket *connection)
{
    if (Session *session = m_sessions.findBySocket(connection)) {
        session->lastHeardMs = nowMs();
        session->pingOutstanding = false;
    }
}

Session *ChatNode::createSession(ClientSocket *socket)
{
    auto session = std::make_unique<Session>();
    const UserKey key = m_sessions.newKey(m_cluster ? m_cluster->nodeId() : 0);
    session->key = key;
    session->userId = QStringLiteral("%1").arg(key, 8, 16, QLatin1Char('0'));
    session->resumeToken = SessionTable::newResumeToken();
    session->powChallenge = m_powGate.newChallenge();
    session->socket = socket;
    session->address = addressKey(socket->peerAddress());
    session->lastHeardMs = nowMs();
    session->limiter = RateLimiter(m_config.rateLimit, nowMs());
    if (m_cluster)
        m_cluster->registerToken(session->resumeToken, session->userId);
    Session &added = m_sessions.add(std::move(session));
    publishCounts();
    return &added;
}

void ChatNode::destroySession(UserKey key, bool forgetInCluster)
{
    Session *s = m_sessions.find(key);
    if (!s)
        return;
    m_awayCap.uncount(*s);
    if (!m_cluster)
        m_matchmaker.forget(key);
    else if (forgetInCluster)
        m_cluster->forget(s->userId, s->resumeToken);
    m_sessions.remove(key);
    publishCounts();
}

void ChatNode::disconnected(ClientSocket *socket)
{
    socket->deleteLater();
    if (socket->admitted())
        m_shared.budget->release(socket->peerAddress());
    Session *s = m_sessions.detach(socket);
    publishCounts();
    if (!s || s->socket != socket)
        return; // replaced by a resume, or never a session
    const UserKey key = s->key;
    s->socket = nullptr;
    s->awaySinceMs = nowMs();
    qCDebug(lcServer) << "user away" << s->userId;
    if (m_stopping)
        return;
    if (s->state == Session::State::Queued) {
        if (m_cluster)
            m_cluster->dequeue(s->userId);
        else
            m_matchmaker.remove(key); // never matched while away
        s->state = Session::State::Idle;
        s->proposedAtMs = -1;
        scheduleInterestTimer();
    }
    if (s->state == Session::State::Idle && !s->everMatched && !s->sawFirstEvent) {
        // A connection that never did anything has nothing to resume: free it now, so bare
        // connection churn keeps no memory for the resume window.
        destroySession(key);
        return;
    }
    if (s->state == Session::State::InRoom) {
        m_roomService.setTyping(*s, false);
        m_roomService.updatePlace(*s); // what it was sent, for a resume elsewhere
        if (Session *partner = m_roomService.partnerInRoom(*s))
            send(*partner, PartnerAway{s->roomId});
        else if (const Room *room = m_rooms.find(s->roomId))
            m_roomService.tellRemote(*room, node::RelayAway{});
    }
    countAway(*s); // last: may destroy it
}

void ChatNode::countAway(Session &s)
{
    const UserKey victim =
        m_awayCap.count(s, nowMs(), [this](UserKey key) { return sessionFor(key); });
    if (victim != 0)
        expireAway(victim);
}

void ChatNode::expireAway(UserKey key)
{
    Session *s = sessionFor(key);
    if (!s || s->connected())
        return;
    if (s->state == Session::State::InRoom)
        m_roomService.endRoom(s->roomId, key, LeaveReason::Disconnected,
                              QStringLiteral("disconnected"));
    destroySession(key);
}

void ChatNode::sweep()
{
    const qint64 now = nowMs();
    QVector<ClientSocket *> dead;
    QVector<UserKey> expired;
    const qint64 monotonic = QDeadlineTimer::current().deadline();
    for (const auto &[key, s] : m_sessions) {
        if (s->connected()) {
            // Anything from the client counts, its own pings included.
            const qint64 silent =
                std::min(now - s->lastHeardMs, monotonic - s->socket->lastReadMs());
            const qint64 incomplete = s->socket->incompleteSinceMs();
            // A frame begun and not finished in time (PROTOCOL.md: 10 s, like a request head).
            if (incomplete >= 0 && monotonic - incomplete >= m_config.requestTimeoutMs) {
                qCDebug(lcServer) << "a frame not finished in time, closing";
                closeSocket(s->socket, WsClosePolicyViolated, tr("frame not finished in time"));
            } else if (silent >= m_config.pingTimeoutMs) {
                dead.append(s->socket);
            } else if (silent >= m_config.pingIntervalMs && !s->pingOutstanding) {
                s->pingOutstanding = true;
                s->socket->ping();
            }
        } else if (now - s->awaySinceMs >= m_config.resumeWindowMs) {
            expired.append(key);
        }
    }
    for (ClientSocket *ws : dead) {
        qCDebug(lcServer) << "no pong within the timeout, dropping";
        ws->abort(); // disconnected() follows: the user becomes away
    }
    for (UserKey key : expired)
        expireAway(key);
    if (m_coordinator)
        m_coordinator->sweep(now);
}

// ---- frames ---------------------------------------------------------------------------------

void ChatNode::onText(Session *session, const QByteArray &utf8)
{
    if (m_stopping)
        return; // storage is closed; the client reconnects to the next server and resumes
    Session &s = *session;
    const qint64 now = nowMs();
    s.lastHeardMs = now;
    if (s.resuming) {
        // A resume naming another server's user is under way: what this connection is, is
        // not settled yet (clients wait for `resumed`).
        sendError(s, ErrorCode::ResumeFailed, tr("a resume is under way; wait for its answer"));
        return;
    }
    s.pingOutstanding = false;
    const bool first = !s.sawFirstEvent;
    s.sawFirstEvent = true;

    // The connection has checked the UTF-8.
    ClientDecodeResult decoded = decodeCheckedClientFrame(utf8);
    if (const auto *error = std::get_if<DecodeError>(&decoded)) {
        sendError(s, error->code, error->message, error->event);
        if (s.connected() && s.limiter.strike(now))
            closeSocket(s.socket, WsClosePolicyViolated, tr("too many invalid frames"));
        return;
    }
    const ClientMessage &message = std::get<ClientMessage>(decoded);
    const ClientEvent event = eventOf(message);
    if (const qint64 retry = s.limiter.check(limitKind(event), now)) {
        sendError(s, ErrorCode::RateLimited, tr("slow down"), eventName(event), retry);
        if (s.connected() && s.limiter.strike(now))
            closeSocket(s.socket, WsClosePolicyViolated, tr("rate limit exceeded"));
        return;
    }
    if (event == ClientEvent::Resume) {
        if (!first) {
            sendError(s, ErrorCode::ResumeFailed, tr("resume must be the first event"),
                      eventName(event));
            return;
        }
        handle(s, std::get<Resume>(message)); // may destroy `s`
        return;
    }
    std::visit([this, &s](const auto &m) { handle(s, m); }, message);
}

void ChatNode::onBinary(Session *session)
{
    Session &s = *session;
    s.lastHeardMs = nowMs();
    sendError(s, ErrorCode::BadFrame, tr("binary frames are not supported; send JSON text"));
    if (s.connected() && s.limiter.strike(nowMs()))
        closeSocket(s.socket, WsClosePolicyViolated, tr("too many invalid frames"));
}

void ChatNode::send(Session &s, const ServerMessage &message)
{
    if (s.socket)
        sendFrame(s, encode(message));
}

void ChatNode::sendFrame(Session &s, const QByteArray &utf8)
{
    if (s.socket)
        m_writer.send(s.socket, utf8);
}

void ChatNode::sendError(Session &s, ErrorCode code, const QString &message, const QString &event,
                         qint64 retryAfterMs)
{
    m_metrics.countError(code);
    send(s, Error{code, message, event, retryAfterMs});
}

void ChatNode::closeSocket(ClientSocket *socket, int code, const QString &reason)
{
    // The close frame (then FIN, on plain TCP); the connection reads on until the client
    // answers (a client still sending meets no reset that could swallow the frame), at most two
    // seconds.
    socket->close(code, reason);
}

Waiting ChatNode::waitingInfo() const
{
    if (m_cluster)
        // Cluster totals are as of the last heartbeat; the user asking is queued itself.
        return Waiting{connectionCount(), int(std::max<qint64>(m_cluster->stats().queued, 1))};
    return Waiting{connectionCount(), queuedCount()};
}

// ---- events ---------------------------------------------------------------------------------

bool ChatNode::admit(Session &s, const QString &powNonce, ClientEvent event)
{
    const bool wasAdmitted = s.powAdmitted;
    const std::optional<PowGate::Refusal> refusal = m_powGate.admit(s, powNonce);
    if (refusal)
        sendError(s, refusal->code, refusal->message, eventName(event));
    else if (s.powAdmitted != wasAdmitted)
        m_roomService.updatePlace(s); // the admission holds for a resume on another node
    return !refusal;
}

void ChatNode::handle(Session &s, const JoinQueue &m)
{
    if (!admit(s, m.powNonce, ClientEvent::JoinQueue))
        return;
    if (joinAfterLeave(s, m.interests, m.lang))
        return;
    if (s.state == Session::State::InRoom) {
        sendError(s, ErrorCode::AlreadyInRoom, tr("already in a room: use next"),
                  eventName(ClientEvent::JoinQueue));
        return;
    }
    joinQueue(s, m.interests, m.lang);
}

void ChatNode::joinQueue(Session &s, const QStringList &interests, const QString &lang)
{
    if (s.state == Session::State::Queued) {
        send(s, waitingInfo()); // idempotent
        return;
    }
    s.interests = interests;
    s.lang = lang;
    s.state = Session::State::Queued;
    if (m_coordinator) {
        m_coordinator->enqueue(s);
        return;
    }
    if (std::optional<Match> match = m_matchmaker.enqueue(s.key, interests, lang, nowMs()))
        m_roomService.startRoom(*match);
    else
        send(s, waitingInfo());
    scheduleInterestTimer();
}

void ChatNode::handle(Session &s, const LeaveQueue &)
{
    if (s.state != Session::State::Queued) {
        sendError(s, ErrorCode::NotInQueue, tr("not in the queue"),
                  eventName(ClientEvent::LeaveQueue));
        return;
    }
    if (m_cluster)
        m_cluster->dequeue(s.userId);
    else
        m_matchmaker.remove(s.key);
    s.state = Session::State::Idle;
    s.proposedAtMs = -1;
    send(s, QueueLeft{});
    scheduleInterestTimer();
}

void ChatNode::handle(Session &s, const SendMessage &m)
{
    Room *room = roomOf(s);
    if (!room) {
        sendError(s, ErrorCode::NotInRoom, tr("not in a room"),
                  eventName(ClientEvent::SendMessage));
        return;
    }
    m_roomService.accept(s, *room, m);
}

void ChatNode::handle(Session &s, const Typing &m)
{
    const Room *room = roomOf(s);
    if (!room) {
        sendError(s, ErrorCode::NotInRoom, tr("not in a room"), eventName(ClientEvent::Typing));
        return;
    }
    s.typing = m.typing;
    if (Session *partner = m_roomService.partnerInRoom(s))
        send(*partner, PartnerTyping{m.typing});
    else
        m_roomService.tellRemote(*room, node::RelayTyping{{}, m.typing});
}

void ChatNode::handle(Session &s, const LeaveRoom &)
{
    if (s.state != Session::State::InRoom || s.pendingLeave) {
        sendError(s, ErrorCode::NotInRoom, tr("not in a room"), eventName(ClientEvent::LeaveRoom));
        return;
    }
    leaveRoom(s, PendingLeave{s.roomId, LeaveReason::Left, QStringLiteral("left")});
}

void ChatNode::handle(Session &s, const Next &m)
{
    if (!admit(s, m.powNonce, ClientEvent::Next) || joinAfterLeave(s, m.interests, m.lang))
        return;
    if (s.state == Session::State::InRoom &&
        leaveRoom(s, PendingLeave{s.roomId, LeaveReason::Next, QStringLiteral("next"), true,
                                  m.interests, m.lang}))
        return;
    joinQueue(s, m.interests, m.lang);
}

bool ChatNode::leaveRoom(Session &s, const PendingLeave &leave)
{
    // A partner on another node may have relayed messages that are still on their way: the
    // user leaves once that node answers, so it gets every message acknowledged before it left.
    if (m_coordinator && m_coordinator->askLeave(s)) {
        s.pendingLeave = leave;
        return true;
    }
    m_roomService.endRoom(leave.roomId, s.key, leave.reason, leave.storedReason);
    return false;
}

bool ChatNode::joinAfterLeave(Session &s, const QStringList &interests, const QString &lang)
{
    if (!s.pendingLeave)
        return false;
    s.pendingLeave->thenJoin = true;
    s.pendingLeave->interests = interests;
    s.pendingLeave->lang = lang;
    return true;
}

void ChatNode::leaveSeen(UserKey key, qint64 roomId)
{
    Session *s = sessionFor(key);
    if (!s || !s->pendingLeave || s->pendingLeave->roomId != roomId)
        return;
    const PendingLeave leave = *std::exchange(s->pendingLeave, std::nullopt);
    // The partner may have left meanwhile (partner_left was the answer), or the room ended.
    if (s->state == Session::State::InRoom && s->roomId == roomId)
        m_roomService.endRoom(roomId, key, leave.reason, leave.storedReason);
    if (leave.thenJoin)
        joinQueue(*s, leave.interests, leave.lang);
}

void ChatNode::handle(Session &s, const Report &m)
{
    if (!m_roomService.report(s, m.reason))
        sendError(s, ErrorCode::NotInRoom, tr("not in a room"), eventName(ClientEvent::Report));
}

void ChatNode::handle(Session &s, const Resume &m)
{
    Session *old = m_sessions.findByToken(m.resumeToken);
    if (!old && m_coordinator) {
        m_coordinator->resume(s, m); // a user of another server, or of one that is gone
        return;
    }
    if (!old || old == &s) {
        sendError(s, ErrorCode::ResumeFailed, tr("unknown, expired or already used token"),
                  eventName(ClientEvent::Resume));
        return;
    }
    ClientSocket *ws = s.socket;
    // The old connection may not have been noticed dead yet: this one replaces it.
    if (old->socket) {
        ClientSocket *stale = old->socket;
        m_sessions.detach(stale);
        closeSocket(stale, WsCloseNormal, tr("resumed elsewhere"));
    }
    if (m_cluster)
        m_cluster->dropToken(old->resumeToken);
    m_sessions.setToken(*old, SessionTable::newResumeToken());
    if (m_cluster)
        m_cluster->registerToken(old->resumeToken, old->userId);
    old->lastHeardMs = nowMs();
    old->pingOutstanding = false;
    old->sawFirstEvent = true;
    old->powChallenge = s.powChallenge; // this connection's; an admission stands
    const bool wasAway = old->awaySinceMs >= 0;
    old->awaySinceMs = -1;
    m_awayCap.uncount(*old);
    old->address = addressKey(ws->peerAddress());
    old->addressHash = s.addressHash;
    m_sessions.attach(*old, ws);
    destroySession(s.key); // the provisional identity from this connection's welcome

    sendResumed(*old, roomOf(*old), m.lastId >= 0 ? m.lastId : old->lastSentMessageId, wasAway);
}

void ChatNode::handle(Session &s, const GetStats &)
{
    send(s, Stats{connectionCount(), queuedCount(), activeRoomCount()});
}

// ---- rooms ----------------------------------------------------------------------------------

void ChatNode::scheduleInterestTimer()
{
    const std::optional<qint64> deadline = m_matchmaker.nextDeadline();
    if (!deadline) {
        m_interestTimer.stop();
        return;
    }
    m_interestTimer.start(int(std::max<qint64>(0, *deadline - nowMs())));
}

// ---- cluster --------------------------------------------------------------------------------

void ChatNode::onClusterMessage(const NodeMessage &message)
{
    const FrameWriter::FlushAtEnd flushAtEnd{&m_writer};
    m_coordinator->handle(message, m_stopping);
}

// ---- shutdown -------------------------------------------------------------------------------

void ChatNode::stopAccepting()
{
    m_stopping = true;
    m_sweepTimer.stop();
    m_interestTimer.stop();
    if (m_coordinator)
        m_coordinator->stop();
}

void ChatNode::deliverCommitted()
{
    QCoreApplication::sendPostedEvents(this, QEvent::MetaCall);
    if (m_cluster)
        QCoreApplication::sendPostedEvents(m_cluster, QEvent::MetaCall);
}

void ChatNode::endRoomsForShutdown()
{
    m_roomService.endRoomsForShutdown(m_shared.hub != nullptr);
}

void ChatNode::closeBanned(const QString &addressHash)
{
    for (ClientSocket *ws : m_sessions.sockets()) {
        const Session *s = m_sessions.findBySocket(ws);
        if (s && s->addressHash == addressHash && m_banGate.refuse(ws, addressHash))
            m_metrics.countError(ErrorCode::Banned);
    }
}

void ChatNode::closeAllGoingAway()
{
    for (ClientSocket *ws : m_sessions.sockets())
        closeSocket(ws, WsCloseGoingAway, tr("server shutting down"));
    m_writer.flush();
}

} // namespace anonchat::server
