#include "server/chat/roomservice.h"

#include "shared/codec.h"

#include <QLoggingCategory>
#include <algorithm>
#include <variant>

Q_DECLARE_LOGGING_CATEGORY(lcServer)

namespace anonchat::server {

using namespace protocol;

namespace {

template <typename... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

} // namespace

RoomService::RoomService(Parts parts)
    : m_node(parts.node)
    , m_sessions(parts.sessions)
    , m_rooms(parts.rooms)
    , m_commits(parts.commits)
    , m_matchmaker(parts.matchmaker)
    , m_metrics(parts.metrics)
    , m_reportStored(parts.reportStored)
{}

void RoomService::accept(Session &s, Room &room, const SendMessage &m)
{
    QString key;
    if (!m.nonce.isEmpty()) {
        key = nonceKey(s.userId, m.nonce);
        const auto stored = room.byNonce.constFind(key);
        if (stored != room.byNonce.cend()) {
            m_node.send(s, *stored); // the ack again; the partner gets nothing new
            return;
        }
        if (room.pendingNonces.contains(key))
            return; // its commit will ack it
    }
    NewMessage message;
    message.id = m_commits.storage().nextMessageId();
    message.roomId = room.id;
    message.senderId = s.userId;
    message.content = m.content;
    message.timestamp = QDateTime::currentDateTimeUtc();
    message.nonce = m.nonce;
    const quint64 ticket =
        m_commits.submit(MessageRow{message.id, message.roomId, message.senderId, message.content,
                                    message.timestamp, message.nonce},
                         PendingMessage{message, s.key, key});
    ++room.pendingMessages;
    if (!key.isEmpty())
        room.pendingNonces.insert(key, ticket);
    setTyping(s, false);
}

void RoomService::startRoom(const Match &match)
{
    Session *a = m_sessions.find(match.first);
    Session *b = m_sessions.find(match.second);
    if (!a || !b) {
        qCWarning(lcServer) << "matchmaker paired an unknown user";
        return;
    }
    Room room;
    room.id = m_commits.storage().nextRoomId();
    if (room.id == 0) {
        // No id to be had (PostgreSQL away for long): nobody is paired, both may try again.
        for (Session *s : {a, b})
            databaseUnavailable(*s);
        return;
    }
    room.members[0] = a->key;
    room.members[1] = b->key;
    room.commonInterests = match.commonInterests;
    room.commonLanguage = match.commonLanguage;
    m_commits.submit(RoomRow{room.id, a->userId, b->userId, QDateTime::currentDateTimeUtc()},
                     PendingRoom{room.id});
    m_node.addRoom(room);
    enter(*a, room, b->userId);
    enter(*b, room, a->userId);
}

void RoomService::enter(Session &s, const Room &room, const QString &partnerId)
{
    s.everMatched = true;
    s.state = Session::State::InRoom;
    s.roomId = room.id;
    s.typing = false;
    s.lastSentMessageId = 0;
    m_node.send(s, Matched{room.id, partnerId, room.commonInterests, room.commonLanguage});
    updatePlace(s);
}

void RoomService::endRoom(qint64 roomId, UserKey leaver, LeaveReason reason,
                          const QString &storedReason)
{
    // A typist who leaves stops typing (PROTOCOL.md, `typing`): the partner hears false first.
    if (Session *typist = m_sessions.find(leaver); typist && typist->roomId == roomId)
        setTyping(*typist, false);
    Room *found = m_rooms.find(roomId);
    if (!found)
        return;
    Room &room = *found;
    // The partner already left (its end is being stored): this user hears that, as it would
    // have a moment later, instead of a room_left of its own.
    const bool partnerLeftFirst = room.ending;
    if (!room.ending) {
        m_rooms.markEnding(room);
        m_node.publishCounts();
        room.endReason = reason;
        m_commits.submit(RoomEnd{roomId, QDateTime::currentDateTimeUtc(), storedReason},
                         PendingRoomEnd{roomId});
        if (!m_coordinator) {
            m_matchmaker.setPreviousPartners(room.members[0], room.members[1]);
        } else {
            const Session *a = m_sessions.find(room.members[0]);
            const Session *b = m_sessions.find(room.members[1]);
            const QString idA = a ? a->userId : room.remoteUserId;
            const QString idB = b ? b->userId : room.remoteUserId;
            if (!idA.isEmpty() && !idB.isEmpty() && idA != idB)
                m_coordinator->link().setPreviousPartners(idA, idB);
        }
    }
    // The leaver is out at once (it may queue again right away); the partner stays until the
    // end is stored, so the messages it sent or was sent before it arrive before partner_left.
    if (Session *s = m_sessions.find(leaver); s && s->roomId == roomId) {
        s->state = Session::State::Idle;
        s->roomId = 0;
        s->typing = false;
        if (partnerLeftFirst)
            m_node.send(*s, PartnerLeft{roomId, room.endReason});
        else
            m_node.send(*s, RoomLeft{roomId});
        updatePlace(*s);
    }
}

void RoomService::finishRoom(qint64 roomId, bool roomStored)
{
    const Room *found = m_rooms.find(roomId);
    if (!found)
        return;
    const Room room = *found;
    m_node.removeRoom(roomId);
    // The member on another server hears it from there.
    tellRemote(room,
               node::RelayLeft{{}, roomStored ? room.endReason : LeaveReason::Disconnected, false});
    for (UserKey key : room.members) {
        Session *s = m_sessions.find(key);
        if (!s || s->roomId != roomId)
            continue;
        s->state = Session::State::Idle;
        s->roomId = 0;
        s->typing = false;
        updatePlace(*s);
        if (roomStored) {
            m_node.send(*s, PartnerLeft{roomId, room.endReason});
        } else {
            m_node.sendError(*s, ErrorCode::Internal, tr("the room could not be stored"),
                             eventName(ClientEvent::JoinQueue), -1);
            m_node.send(*s, RoomLeft{roomId});
        }
    }
}

void RoomService::endRoomsForShutdown(bool nodesShareProcess)
{
    for (const Room &room : std::as_const(m_rooms)) {
        if (room.ending)
            continue;
        if (room.remoteMember) {
            if (!nodesShareProcess) {
                // Its members may resume on another server: the partner's server keeps the
                // room for the resume window, as if this server had died.
                tellRemote(room, node::RelayAway{{}, true});
                continue;
            }
            if (!room.owned)
                continue; // the other thread of this process stores its end
        }
        m_commits.storage().submit(
            RoomEnd{room.id, QDateTime::currentDateTimeUtc(), QStringLiteral("server_shutdown")});
    }
}

void RoomService::databaseUnavailable(Session &s)
{
    s.state = Session::State::Idle;
    s.proposedAtMs = -1;
    m_node.sendError(s, ErrorCode::Internal, tr("the database is unavailable, try again"),
                     eventName(ClientEvent::JoinQueue), -1);
}

bool RoomService::report(const Session &s, const QString &reason)
{
    const Room *room =
        s.state == Session::State::InRoom && !s.pendingLeave ? m_rooms.find(s.roomId) : nullptr;
    if (!room)
        return false;
    const UserKey partnerKey = room->partnerOf(s.key);
    const Session *partner = m_sessions.find(partnerKey);
    const bool remote = !partner && room->remoteMember == partnerKey;
    const QString partnerId = partner ? partner->userId : remote ? room->remoteUserId : QString();
    const QString partnerHash = partner  ? partner->addressHash
                                : remote ? room->remoteAddressHash
                                         : QString();
    if (m_coordinator)
        m_coordinator->link().block(s.userId, partnerId);
    else
        m_matchmaker.block(s.key, partnerKey);
    m_commits.submit(ReportRow{room->id, s.userId, partnerId, reason,
                               QDateTime::currentDateTimeUtc(), s.addressHash, partnerHash},
                     PendingReport{s.key, room->id, partnerHash});
    return true;
}

Session *RoomService::partnerInRoom(const Session &s) const
{
    const Room *room = s.state == Session::State::InRoom ? m_rooms.find(s.roomId) : nullptr;
    if (!room)
        return nullptr;
    Session *partner = m_sessions.find(room->partnerOf(s.key));
    return partner && partner->roomId == s.roomId ? partner : nullptr;
}

void RoomService::setTyping(Session &s, bool typing)
{
    if (s.typing == typing)
        return;
    s.typing = typing;
    if (s.state != Session::State::InRoom)
        return;
    if (Session *partner = partnerInRoom(s))
        m_node.send(*partner, PartnerTyping{typing});
    else if (const Room *room = m_rooms.find(s.roomId))
        tellRemote(*room, node::RelayTyping{{}, typing});
}

void RoomService::committed(const QVector<quint64> &tickets)
{
    for (const CommitGate::Pending &pending : m_commits.take(tickets)) {
        std::visit(Overloaded{
                       [this](const PendingMessage &p) {
                           m_metrics.addStored(1);
                           deliver(p);
                       },
                       [this](const PendingReport &p) {
                           if (Session *s = m_sessions.find(p.reporter))
                               m_node.send(*s, Reported{p.roomId});
                           if (m_reportStored)
                               m_reportStored(p.reportedHash);
                       },
                       [this](const PendingRoom &p) {
                           if (p.acceptNode && m_coordinator)
                               m_coordinator->send(p.acceptNode, p.accept);
                       },
                       [this](const PendingRoomEnd &p) { finishRoom(p.roomId); },
                   },
                   pending);
    }
}

void RoomService::storageFailed(const QVector<quint64> &tickets, const QString &error)
{
    qCWarning(lcServer) << "storage failed:" << error;
    for (const CommitGate::Pending &pending : m_commits.take(tickets)) {
        std::visit(Overloaded{
                       [this](const PendingMessage &p) { failed(p); },
                       [this](const PendingReport &p) {
                           if (Session *s = m_sessions.find(p.reporter))
                               m_node.sendError(*s, ErrorCode::Internal,
                                                tr("the report could not be stored"),
                                                eventName(ClientEvent::Report), -1);
                       },
                       [this](const PendingRoomEnd &p) { finishRoom(p.roomId); },
                       [this](const PendingRoom &p) {
                           // Without its row the room cannot hold messages: end it for both.
                           finishRoom(p.roomId, false);
                           if (p.acceptNode && m_coordinator) // its user goes back to the queue
                               m_coordinator->send(p.acceptNode, node::Requeue{p.accept.to});
                       },
                   },
                   pending);
    }
}

void RoomService::deliver(const PendingMessage &pending)
{
    const NewMessage &message = pending.message;
    Room *found = m_rooms.find(message.roomId);
    Session *sender = m_sessions.find(pending.sender);
    if (!found) {
        // The room ended while the message was being stored: it is stored, so ack it.
        if (sender)
            m_node.send(*sender, message);
        return;
    }
    Room &room = *found;
    --room.pendingMessages;
    if (!pending.nonceKey.isEmpty())
        room.pendingNonces.remove(pending.nonceKey);
    room.remember(message);
    // One serialisation for both copies: the sender's carries the nonce (its ack).
    const NewMessageFrames frames = encodeNewMessage(message);
    qint64 sentToAll = message.id;
    for (UserKey key : room.members) {
        Session *s = m_sessions.find(key);
        if (s && s->connected() && s->roomId == room.id) {
            m_node.sendFrame(*s, key == pending.sender ? frames.sender : frames.partner);
            s->lastSentMessageId = std::max(s->lastSentMessageId, message.id);
        }
        // Away: resume sends it.
        if (s || key != room.remoteMember)
            sentToAll = std::min(sentToAll, s ? s->lastSentMessageId : 0);
    }
    // The member on another server: its server keeps the message (with its nonce, for a resume
    // there) and sends it on.
    tellRemote(room, node::RelayMessage{{}, message, frames.partner, frames.sender});
    room.trim(sentToAll);
    if (room.remoteLeft && room.pendingMessages == 0)
        m_coordinator->remoteLeft(room, *room.remoteLeft); // may remove `room`: last
}

void RoomService::failed(const PendingMessage &pending)
{
    Room *room = m_rooms.find(pending.message.roomId);
    if (room && !pending.nonceKey.isEmpty())
        room->pendingNonces.remove(pending.nonceKey);
    if (room && --room->pendingMessages == 0 && room->remoteLeft)
        m_coordinator->remoteLeft(*room, *room->remoteLeft);
    if (Session *s = m_sessions.find(pending.sender))
        m_node.sendError(*s, ErrorCode::Internal,
                         tr("the message could not be stored; it was not sent"),
                         eventName(ClientEvent::SendMessage), -1);
}

void RoomService::sendResumed(Session &user, const Room *room, qint64 lastId, bool wasAway)
{
    Resumed resumed;
    resumed.userId = user.userId;
    resumed.resumeToken = user.resumeToken;
    if (room) {
        ResumedRoom rr;
        rr.roomId = room->id;
        const Session *partner = m_sessions.find(room->partnerOf(user.key));
        rr.partnerId = partner ? partner->userId : room->remoteUserId;
        for (NewMessage copy : messagesAfter(room->recent, lastId)) {
            if (copy.senderId != user.userId)
                copy.nonce.clear();
            user.lastSentMessageId = std::max(user.lastSentMessageId, copy.id);
            rr.messages.append(copy);
        }
        resumed.room = rr;
    }
    m_node.send(user, resumed);
    if (room && wasAway) {
        if (Session *partner = partnerInRoom(user))
            m_node.send(*partner, PartnerBack{room->id});
        else
            tellRemote(*room, node::RelayBack{});
    }
    updatePlace(user);
}

void RoomService::updatePlace(const Session &s)
{
    if (m_coordinator)
        m_coordinator->updatePlace(s);
}

} // namespace anonchat::server
