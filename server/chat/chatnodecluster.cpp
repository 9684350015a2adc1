// ChatNode's side of a cluster (--redis): the shared queue, rooms whose users sit on two
// servers, servers that die, and resuming on another server. ClusterLink carries it.
//
// Pairing across servers: the shared queue's Lua script pairs user B (here) with user P (on
// server N), taking both out of the queue atomically. We propose the room to N; N checks P is
// still queued, stores the room and answers `accept` (P hears `matched`), or `requeue`. A
// message in such a room is stored by its sender's server and, once committed, published to the
// partner's server, which keeps it for resume and sends it on: one hop.

#include "server/chat/chatnode.h"

#include <QJsonArray>
#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcServer)

namespace anonchat::server {

using namespace protocol;

namespace {

/// A proposal unanswered by a live server: queue again. Long, because the answer waits for the
/// room's row to be stored there, and a late `accept` after giving up ends the room at once.
constexpr qint64 kProposalTimeoutMs = 30000;
/// The partner's server did not answer a resume (clients wait 10 s for `resumed`).
constexpr qint64 kResumeTimeoutMs = 8000;

const QString kType = QStringLiteral("t");
const QString kTo = QStringLiteral("to");
const QString kFrom = QStringLiteral("from");
const QString kRoom = QStringLiteral("room");
const QString kNode = QStringLiteral("node");

} // namespace

void ChatNode::clusterEnqueue(Session &s, bool announce)
{
    const UserKey key = s.key;
    s.proposedAtMs = -1;
    m_cluster->enqueue(s.userId, s.interests, s.interests.isEmpty(),
                       [this, key, announce](bool ok, std::optional<ClusterMatch> match) {
                           const Session *user = sessionFor(key);
                           if (user && !announce && ok && !match) {
                               if (!user->interests.isEmpty())
                                   m_promotions.emplace(nowMs() + m_config.interestWaitMs, key);
                               schedulePromotion();
                               return;
                           }
                           onClusterMatch(key, ok, match, false);
                       });
}

void ChatNode::onClusterMatch(UserKey key, bool ok, const std::optional<ClusterMatch> &match,
                              bool promoted)
{
    Session *s = sessionFor(key);
    const bool queued =
        s && s->state == Session::State::Queued && s->connected() && s->proposedAtMs < 0;
    if (!ok) {
        if (queued) {
            s->state = Session::State::Idle;
            sendError(*s, ErrorCode::Internal, tr("the matching queue is unavailable, try again"),
                      eventName(ClientEvent::JoinQueue));
        }
        return;
    }
    if (!match) {
        // Still waiting (a user who left meanwhile was taken out of the queue after this).
        if (queued && !promoted) {
            send(*s, waitingInfo());
            if (!s->interests.isEmpty()) {
                m_promotions.emplace(nowMs() + m_config.interestWaitMs, key);
                schedulePromotion();
            }
        }
        return;
    }
    const int here = m_cluster->nodeId();
    if (!queued) {
        // Ours left while the script ran: the partner goes back to the queue.
        if (match->partnerNode == here) {
            if (Session *p = sessionFor(match->partnerId);
                p && p->state == Session::State::Queued && p->proposedAtMs < 0)
                clusterEnqueue(*p, false);
        } else {
            m_cluster->sendTo(match->partnerNode, {{kType, "requeue"}, {kTo, match->partnerId}});
        }
        return;
    }
    if (match->partnerNode == here) {
        Session *p = sessionFor(match->partnerId);
        if (p && p->state == Session::State::Queued && p->connected() && p->proposedAtMs < 0)
            startRoom(Match{p->key, s->key, match->commonInterests});
        else
            clusterEnqueue(*s, true); // the partner left meanwhile: try again
        return;
    }
    s->proposedAtMs = nowMs();
    s->proposedNode = match->partnerNode;
    m_cluster->sendTo(match->partnerNode,
                      {{kType, "propose"},
                       {kTo, match->partnerId},
                       {kFrom, s->userId},
                       {kNode, here},
                       {"interests", QJsonArray::fromStringList(match->commonInterests)}});
}

void ChatNode::promoteDue()
{
    const qint64 now = nowMs();
    while (!m_promotions.empty() && m_promotions.begin()->first <= now) {
        const UserKey key = m_promotions.begin()->second;
        m_promotions.erase(m_promotions.begin());
        Session *s = sessionFor(key);
        if (!s || s->state != Session::State::Queued || s->proposedAtMs >= 0)
            continue;
        m_cluster->promote(s->userId, [this, key](bool ok, std::optional<ClusterMatch> match) {
            onClusterMatch(key, ok, match, true);
        });
    }
    schedulePromotion();
}

void ChatNode::schedulePromotion()
{
    if (m_promotions.empty()) {
        m_promoteTimer.stop();
        return;
    }
    m_promoteTimer.start(int(std::max<qint64>(0, m_promotions.begin()->first - nowMs())));
}

void ChatNode::onClusterMessage(const QJsonObject &m)
{
    const FrameWriter::FlushAtEnd flushAtEnd{&m_writer};
    const QString type = m.value(kType).toString();
    // While stopping, what is under way in rooms still reaches its users; nothing new starts.
    if (m_stopping && (type == QLatin1String("propose") || type == QLatin1String("resume")))
        return;
    if (type == QLatin1String("propose")) {
        onProposal(m);
        return;
    }
    if (type == QLatin1String("resume")) {
        answerResume(m);
        return;
    }
    if (type == QLatin1String("resumed")) {
        completeResume(m);
        return;
    }
    if (type == QLatin1String("moved")) {
        onMoved(m);
        return;
    }
    Session *s = sessionFor(m.value(kTo).toString());
    if (!s)
        return;
    if (type == QLatin1String("accept")) {
        onAccepted(s, m);
        return;
    }
    if (type == QLatin1String("requeue")) {
        // Taken out of the queue by a pairing that could not go on: back in, quietly (it has
        // had its `waiting`). Queueing twice is harmless, so a duplicate is too.
        if (s->state == Session::State::Queued && s->connected() && s->proposedAtMs < 0)
            clusterEnqueue(*s, false);
        return;
    }
    if (type == QLatin1String("declined")) {
        // Our proposal: the other side's user was gone. This one never had `waiting` yet.
        if (s->state == Session::State::Queued && s->connected() && s->proposedAtMs >= 0 &&
            s->proposedNode == m.value(kNode).toInt())
            clusterEnqueue(*s, true);
        return;
    }
    const qint64 roomId = m.value(kRoom).toInteger();
    Room *room = m_rooms.find(roomId);
    if (s->state != Session::State::InRoom || s->roomId != roomId || !room ||
        room->remoteUserId != m.value(kFrom).toString())
        return; // the room ended here meanwhile
    onRoomEvent(*s, *room, type, m);
}

void ChatNode::onProposal(const QJsonObject &m)
{
    const QString from = m.value(kFrom).toString();
    const int fromNode = m.value(kNode).toInt();
    Session *p = sessionFor(m.value(kTo).toString());
    bool ok = false;
    const UserKey remoteKey = from.toUInt(&ok, 16);
    if (p && p->state == Session::State::InRoom) {
        const Room *room = m_rooms.find(p->roomId);
        if (room && room->remoteUserId == from)
            return; // the same proposal again (a relay sent twice): answered already
    }
    if (!p || p->state != Session::State::Queued || !p->connected() || p->proposedAtMs >= 0 ||
        !ok || remoteKey == 0 || sessionFor(remoteKey)) {
        m_cluster->sendTo(fromNode,
                          {{kType, "declined"}, {kTo, from}, {kNode, m_cluster->nodeId()}});
        return;
    }
    QStringList common;
    for (const QJsonValue &v : m.value("interests").toArray())
        common.append(v.toString());
    Room room;
    room.id = m_commits.storage().nextRoomId();
    if (room.id == 0) {
        databaseUnavailable(*p);
        m_cluster->sendTo(fromNode, {{kType, "requeue"}, {kTo, from}});
        return;
    }
    room.members[0] = p->key; // waited longer
    room.members[1] = remoteKey;
    room.remoteMember = remoteKey;
    room.remoteUserId = from;
    room.remoteNode = fromNode;
    room.commonInterests = common;
    const QJsonObject accept{{kType, "accept"},
                             {kTo, from},
                             {kFrom, p->userId},
                             {kRoom, room.id},
                             {kNode, m_cluster->nodeId()},
                             {"interests", m.value("interests")}};
    m_commits.submit(RoomRow{room.id, p->userId, from, QDateTime::currentDateTimeUtc()},
                     PendingRoom{room.id, accept, fromNode});
    addRoom(room);
    p->everMatched = true;
    p->state = Session::State::InRoom;
    p->roomId = room.id;
    p->typing = false;
    p->lastSentMessageId = 0;
    send(*p, Matched{room.id, from, common});
    updatePlace(*p);
}

void ChatNode::onAccepted(Session *s, const QJsonObject &m)
{
    const qint64 roomId = m.value(kRoom).toInteger();
    if (s->state == Session::State::InRoom && s->roomId == roomId)
        return; // the same answer again (a relay sent twice)
    const QString partnerId = m.value(kFrom).toString();
    const int partnerNode = m.value(kNode).toInt();
    bool ok = false;
    const UserKey remoteKey = partnerId.toUInt(&ok, 16);
    if (s->state != Session::State::Queued || s->proposedAtMs < 0 || !s->connected() || !ok ||
        remoteKey == 0 || m_rooms.contains(roomId)) {
        // Ours left (or gave up waiting) meanwhile: the room ends at once over there.
        m_cluster->sendTo(partnerNode,
                          {{kType, "left"},
                           {kTo, partnerId},
                           {kFrom, s->userId},
                           {kRoom, roomId},
                           {"reason", leaveReasonName(s->connected() ? LeaveReason::Left
                                                                     : LeaveReason::Disconnected)},
                           {"store", true}});
        return;
    }
    QStringList common;
    for (const QJsonValue &v : m.value("interests").toArray())
        common.append(v.toString());
    Room room;
    room.id = roomId;
    room.members[0] = remoteKey;
    room.members[1] = s->key;
    room.remoteMember = remoteKey;
    room.remoteUserId = partnerId;
    room.remoteNode = partnerNode;
    room.commonInterests = common;
    room.owned = false; // stored and counted by the partner's server
    addRoom(room);
    s->proposedAtMs = -1;
    s->everMatched = true;
    s->state = Session::State::InRoom;
    s->roomId = room.id;
    s->typing = false;
    s->lastSentMessageId = 0;
    send(*s, Matched{room.id, partnerId, common});
    updatePlace(*s);
}

void ChatNode::onRoomEvent(Session &s, Room &room, const QString &type, const QJsonObject &m)
{
    if (type == QLatin1String("msg")) {
        // From a thread of this process: decoded already, and its frame made.
        const RelayedMessage *local = m_cluster->relayedMessage();
        if (local && local->message.id != m.value("mid").toInteger(-1))
            local = nullptr;
        ServerDecodeResult decoded = DecodeError{};
        const NewMessage *newMessage = local ? &local->message : nullptr;
        if (!local) {
            decoded = decodeServerFrame(m.value("frame").toString());
            const auto *message = std::get_if<ServerMessage>(&decoded);
            newMessage = message ? std::get_if<NewMessage>(message) : nullptr;
        }
        if (!newMessage)
            return;
        if (room.remembers(newMessage->id))
            return; // relayed twice (sent again after a Redis outage)
        room.remember(*newMessage);
        if (s.connected()) {
            if (local) {
                sendFrame(s, local->partnerFrame);
            } else {
                NewMessage relayed = *newMessage;
                relayed.nonce.clear();
                send(s, relayed);
            }
            s.lastSentMessageId = std::max(s.lastSentMessageId, newMessage->id);
        }
        // Bounded as deliver() bounds it: the tail, and what an away member was not sent.
        room.trim(s.lastSentMessageId);
    } else if (type == QLatin1String("typing")) {
        send(s, PartnerTyping{m.value("typing").toBool()});
    } else if (type == QLatin1String("away")) {
        if (m.value("orphaned").toBool()) // its server stopped: the window runs here
            room.remoteAwaySinceMs = nowMs();
        send(s, PartnerAway{room.id});
    } else if (type == QLatin1String("back")) {
        room.remoteNode = m.value(kNode).toInt(room.remoteNode);
        room.remoteAwaySinceMs = -1;
        send(s, PartnerBack{room.id});
    } else if (type == QLatin1String("left")) {
        if (m.value("store").toBool()) {
            // The partner never entered it: this server stored the room, it stores the end.
            endRoom(room.id, room.remoteMember, LeaveReason::Disconnected,
                    QStringLiteral("disconnected"));
            return;
        }
        const auto reason = leaveReasonFromName(m.value("reason").toString());
        onRemoteLeft(room, reason.value_or(LeaveReason::Left));
    }
}

void ChatNode::onRemoteLeft(Room &room, LeaveReason reason)
{
    if (room.pendingMessages > 0) {
        room.remoteLeft = reason; // deliver() comes back here after the last one
        return;
    }
    const qint64 roomId = room.id;
    const UserKey localKey = room.partnerOf(room.remoteMember);
    removeRoom(roomId); // `room` is gone
    Session *s = sessionFor(localKey);
    if (!s || s->roomId != roomId)
        return;
    s->state = Session::State::Idle;
    s->roomId = 0;
    s->typing = false;
    send(*s, PartnerLeft{roomId, reason});
    updatePlace(*s);
}

void ChatNode::tellRemote(const Room &room, const QString &type, QJsonObject message,
                          const std::optional<RelayedMessage> &relayed)
{
    if (!m_cluster || !room.remoteMember)
        return;
    const UserKey localKey = room.partnerOf(room.remoteMember);
    message.insert(kType, type);
    message.insert(kTo, room.remoteUserId);
    message.insert(kFrom, QStringLiteral("%1").arg(localKey, 8, 16, QLatin1Char('0')));
    message.insert(kRoom, room.id);
    message.insert(kNode, m_cluster->nodeId());
    if (relayed)
        m_cluster->sendMessageTo(room.remoteNode, message, *relayed);
    else
        m_cluster->sendTo(room.remoteNode, message);
}

void ChatNode::updatePlace(const Session &s)
{
    if (!m_cluster)
        return;
    const Room *room = s.state == Session::State::InRoom ? m_rooms.find(s.roomId) : nullptr;
    if (!room) {
        m_cluster->setPlace(s.userId, 0, {}, 0, -1);
        return;
    }
    const Session *partner = sessionFor(room->partnerOf(s.key));
    m_cluster->setPlace(s.userId, room->id, partner ? partner->userId : room->remoteUserId,
                        partner ? m_cluster->nodeId() : room->remoteNode, s.lastSentMessageId);
}

void ChatNode::onNodesDied(const QSet<int> &nodes)
{
    const qint64 now = nowMs();
    for (Room &room : m_rooms) {
        if (!room.remoteMember || !nodes.contains(room.remoteNode) || room.remoteAwaySinceMs >= 0)
            continue;
        room.remoteAwaySinceMs = now; // it may resume elsewhere within the window
        if (Session *s = sessionFor(room.partnerOf(room.remoteMember));
            s && s->roomId == room.id && !room.ending)
            send(*s, PartnerAway{room.id});
    }
}

void ChatNode::onNodesRevived(const QSet<int> &nodes)
{
    for (Room &room : m_rooms) {
        if (!room.remoteMember || !nodes.contains(room.remoteNode) || room.remoteAwaySinceMs < 0)
            continue;
        room.remoteAwaySinceMs = -1;
        if (Session *s = sessionFor(room.partnerOf(room.remoteMember));
            s && s->roomId == room.id && !room.ending)
            send(*s, PartnerBack{room.id});
    }
}

void ChatNode::clusterSweep(qint64 now)
{
    QVector<QPair<qint64, UserKey>> expired;
    for (const Room &room : std::as_const(m_rooms)) {
        if (room.remoteAwaySinceMs >= 0 && now - room.remoteAwaySinceMs >= m_config.resumeWindowMs)
            expired.append({room.id, room.remoteMember});
    }
    publishCounts();
    for (const auto &[roomId, remote] : expired)
        endRoom(roomId, remote, LeaveReason::Disconnected, QStringLiteral("disconnected"));
    for (const auto &[key, s] : m_sessions) {
        if (s->proposedAtMs >= 0 &&
            (now - s->proposedAtMs >= kProposalTimeoutMs ||
             !m_cluster->isNodeAlive(s->proposedNode)) &&
            s->state == Session::State::Queued && s->connected())
            clusterEnqueue(*s, false); // the other server did not answer: queue again
    }
    for (auto it = m_clusterResumes.begin(); it != m_clusterResumes.end();) {
        if (now - it->sinceMs < kResumeTimeoutMs) {
            ++it;
            continue;
        }
        const QString userId = it.key();
        const PendingResume pending = it.value();
        it = m_clusterResumes.erase(it);
        // The room cannot go on: the partner's server hears so, if it answers at all (it may
        // have taken the resume and be waiting for messages that would never come).
        m_cluster->sendTo(pending.partnerNode,
                          {{kType, "left"},
                           {kTo, pending.partnerId},
                           {kFrom, userId},
                           {kRoom, pending.roomId},
                           {"reason", leaveReasonName(LeaveReason::Disconnected)},
                           {"store", true}});
        if (Session *s = sessionFor(userId)) {
            s->resuming = false;
            sendResumed(*s, nullptr, 0, false); // the room could not be found: identity only
        }
    }
}

// ---- resume on another server ---------------------------------------------------------------

void ChatNode::resumeFromCluster(Session &provisionalSession, const Resume &m)
{
    provisionalSession.resuming = true;
    const UserKey provisional = provisionalSession.key;
    const qint64 givenLastId = m.lastId;
    m_cluster->claimToken(m.resumeToken, [this, provisional,
                                          givenLastId](bool ok, std::optional<ClusterPlace> place) {
        Session *current = sessionFor(provisional);
        if (!current || !current->connected())
            return;
        Session &s = *current;
        s.resuming = false;
        const int here = m_cluster->nodeId();
        if (!ok || !place || place->node == here || sessionFor(place->userId)) {
            sendError(s, ok ? ErrorCode::ResumeFailed : ErrorCode::Internal,
                      ok ? tr("unknown, expired or already used token")
                         : tr("the cluster is unavailable, try again"),
                      eventName(ClientEvent::Resume));
            return;
        }
        if (m_cluster->isNodeAlive(place->node)) // its old server lets go of it
            m_cluster->sendTo(place->node, {{kType, "moved"}, {kTo, place->userId}, {kNode, here}});
        // Without `last_id`: what its server had sent it when it dropped, if it could say.
        const qint64 lastId = givenLastId >= 0 ? givenLastId : place->lastSentMessageId;
        Session &user = adoptIdentity(s, place->userId);
        if (place->roomId > 0 && !place->partnerId.isEmpty()) {
            Room *room = m_rooms.find(place->roomId);
            if (place->partnerNode == here && room && room->remoteUserId == user.userId) {
                // The partner is here: the room is whole on this server now, and counted here
                // (its old server let go of it).
                m_rooms.own(*room);
                room->remoteMember = 0;
                room->remoteUserId.clear();
                room->remoteNode = 0;
                room->remoteAwaySinceMs = -1;
                user.state = Session::State::InRoom;
                user.roomId = room->id;
                user.everMatched = true;
                sendResumed(user, room, lastId, true);
                return;
            }
            if (place->partnerNode != here && m_cluster->isNodeAlive(place->partnerNode)) {
                m_clusterResumes.insert(user.userId, {nowMs(), place->partnerNode, lastId,
                                                      place->roomId, place->partnerId});
                user.resuming = true; // until the partner's server answers
                m_cluster->sendTo(place->partnerNode, {{kType, "resume"},
                                                       {kTo, place->partnerId},
                                                       {kFrom, user.userId},
                                                       {kRoom, place->roomId},
                                                       {kNode, here}});
                return;
            }
            // Both servers of the room are gone: it cannot go on.
            m_commits.storage().submit(RoomEnd{place->roomId, QDateTime::currentDateTimeUtc(),
                                               QStringLiteral("disconnected")});
        }
        sendResumed(user, nullptr, 0, false);
    });
}

Session &ChatNode::adoptIdentity(Session &provisional, const QString &userId)
{
    ClientSocket *ws = provisional.socket;
    const UserKey oldKey = provisional.key;
    auto user = std::make_unique<Session>();
    user->key = userId.toUInt(nullptr, 16);
    user->userId = userId;
    user->resumeToken = SessionTable::newResumeToken();
    user->socket = ws;
    user->address = provisional.address;
    user->lastHeardMs = nowMs();
    user->sawFirstEvent = true;
    user->everMatched = true;
    user->limiter = provisional.limiter;
    destroySession(oldKey); // the provisional identity from this connection's welcome
    m_cluster->registerToken(user->resumeToken, userId);
    return m_sessions.add(std::move(user));
}

void ChatNode::onMoved(const QJsonObject &m)
{
    Session *s = sessionFor(m.value(kTo).toString());
    if (!s)
        return;
    const UserKey key = s->key;
    if (ClientSocket *ws = s->socket) {
        m_sessions.detach(ws);
        closeSocket(ws, WsCloseNormal, tr("resumed elsewhere"));
    }
    if (s->state == Session::State::Queued)
        m_cluster->dequeue(s->userId);
    if (s->state == Session::State::InRoom) {
        if (Room *room = m_rooms.find(s->roomId)) {
            if (!room->remoteMember) {
                // Its partner is here: the user is now the room's member on another server.
                room->remoteMember = key;
                room->remoteUserId = s->userId;
                room->remoteNode = m.value(kNode).toInt();
            } else {
                removeRoom(room->id); // both members are elsewhere now
            }
        }
    }
    destroySession(key, false); // it lives on, on the other server
}

void ChatNode::answerResume(const QJsonObject &m)
{
    const QString userId = m.value(kFrom).toString();
    const int node = m.value(kNode).toInt();
    const qint64 roomId = m.value(kRoom).toInteger();
    Session *partner = sessionFor(m.value(kTo).toString());
    Room *room = m_rooms.find(roomId);
    QJsonObject answer{{kType, "resumed"}, {kTo, userId}, {kRoom, roomId}};
    if (!partner || !room || room->ending || room->remoteUserId != userId ||
        partner->roomId != roomId) {
        answer.insert("ok", false);
        m_cluster->sendTo(node, answer);
        return;
    }
    room->remoteNode = node;
    room->remoteAwaySinceMs = -1;
    // All it keeps, nonces included: the new server picks what the client lacks, and knows the
    // nonces of the user's own messages if its outbox sends one again.
    QJsonArray messages;
    for (const NewMessage &message : room->recent)
        messages.append(QString::fromUtf8(encode(message)));
    answer.insert("ok", true);
    answer.insert(kFrom, partner->userId);
    answer.insert("interests", QJsonArray::fromStringList(room->commonInterests));
    answer.insert("messages", messages);
    m_cluster->sendTo(node, answer);
    send(*partner, PartnerBack{roomId});
}

void ChatNode::completeResume(const QJsonObject &m)
{
    const QString userId = m.value(kTo).toString();
    const auto pending = m_clusterResumes.constFind(userId);
    if (pending == m_clusterResumes.cend())
        return; // timed out
    const int partnerNode = pending->partnerNode;
    const qint64 lastId = pending->lastId;
    m_clusterResumes.erase(pending);
    Session *user = sessionFor(userId);
    if (!user)
        return;
    user->resuming = false;
    const QString partnerId = m.value(kFrom).toString();
    bool ok = false;
    const UserKey remoteKey = partnerId.toUInt(&ok, 16);
    if (!m.value("ok").toBool() || !ok || remoteKey == 0) {
        sendResumed(*user, nullptr, 0, false);
        return;
    }
    Room room;
    room.id = m.value(kRoom).toInteger();
    room.members[0] = remoteKey;
    room.members[1] = user->key;
    room.remoteMember = remoteKey;
    room.remoteUserId = partnerId;
    room.remoteNode = partnerNode;
    room.owned = false;
    for (const QJsonValue &v : m.value("interests").toArray())
        room.commonInterests.append(v.toString());
    for (const QJsonValue &v : m.value("messages").toArray()) {
        const ServerDecodeResult decoded = decodeServerFrame(v.toString());
        const auto *message = std::get_if<ServerMessage>(&decoded);
        if (const auto *newMessage = message ? std::get_if<NewMessage>(message) : nullptr)
            room.remember(*newMessage);
    }
    Room &added = addRoom(room);
    user->state = Session::State::InRoom;
    user->roomId = added.id;
    sendResumed(*user, &added, lastId, false);
}

} // namespace anonchat::server
