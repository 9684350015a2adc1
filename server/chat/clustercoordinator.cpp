#include "server/chat/clustercoordinator.h"

#include "server/match/matchmaker.h"
#include "server/net/clientsocket.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcServer)

namespace anonchat::server {

using namespace protocol;

namespace {

/// A proposal unanswered by a live node: queue again. Long, because the answer waits for the
/// room's row to be stored there, and a late `accept` after giving up ends the room at once.
constexpr qint64 kProposalTimeoutMs = 30000;
/// The partner's node did not answer a resume (clients wait 10 s for `resumed`).
constexpr qint64 kResumeTimeoutMs = 8000;
/// The partner's node did not answer a leave (Redis away, or a server that does not know
/// `leaving`): the user leaves anyway.
constexpr int kLeaveAskTimeoutMs = 1000;

QString userIdOf(UserKey key)
{
    return QStringLiteral("%1").arg(key, 8, 16, QLatin1Char('0'));
}

/// The key of a user id from another node (0: not one).
UserKey keyOf(const QString &userId)
{
    bool ok = false;
    const UserKey key = userId.toUInt(&ok, 16);
    return ok ? key : 0;
}

bool waitingToPair(const Session *s)
{
    return s && s->state == Session::State::Queued && s->connected() && s->proposedAtMs < 0;
}

} // namespace

ClusterCoordinator::ClusterCoordinator(Parts parts, std::unique_ptr<ClusterLink> link,
                                       QObject *parent)
    : QObject(parent)
    , m_node(parts.node)
    , m_sessions(parts.sessions)
    , m_rooms(parts.rooms)
    , m_commits(parts.commits)
    , m_config(parts.config)
    , m_clock(parts.clock)
    , m_link(std::move(link))
{
    m_promoteTimer.setSingleShot(true);
    connect(&m_promoteTimer, &QTimer::timeout, this, &ClusterCoordinator::promoteDue);
    connect(m_link.get(), &ClusterLink::nodesDied, this, &ClusterCoordinator::onNodesDied);
    connect(m_link.get(), &ClusterLink::nodesRevived, this, &ClusterCoordinator::onNodesRevived);
    connect(m_link.get(), &ClusterLink::queueLost, this, [this] {
        for (const auto &[key, s] : m_sessions) {
            if (waitingToPair(s.get()))
                enqueue(*s, false);
        }
    });
    connect(m_link.get(), &ClusterLink::matchedElsewhere, this,
            [this](const QString &userId, const ClusterMatch &match) {
                if (const Session *s = m_sessions.find(userId))
                    onMatch(s->key, true, match, true);
            });
}

void ClusterCoordinator::stop()
{
    m_promoteTimer.stop();
    m_link->stop();
}

// ---- the shared queue -----------------------------------------------------------------------

void ClusterCoordinator::enqueue(Session &s, bool announce)
{
    const UserKey key = s.key;
    s.proposedAtMs = -1;
    // Its stage at once: open without interests and language, in its language phase with only a
    // language (PROTOCOL.md, "Matching"); the later ones come by promotion.
    const bool interests = !s.interests.isEmpty();
    const bool language = !s.lang.isEmpty();
    const QueueStage stage =
        Matchmaker::waitEndMs(interests, language, 0, m_config.interestWaitMs) <= 0
            ? QueueStage::Open
        : language && !interests ? QueueStage::Language
                                 : QueueStage::Interests;
    m_link->enqueue(s.userId, s.interests, s.lang, stage,
                    [this, key, announce](bool ok, std::optional<ClusterMatch> match) {
                        const Session *user = m_sessions.find(key);
                        if (user && !announce && ok && !match) {
                            schedulePromotion(key);
                            return;
                        }
                        onMatch(key, ok, match, false);
                    });
}

void ClusterCoordinator::onMatch(UserKey key, bool ok, const std::optional<ClusterMatch> &match,
                                 bool promoted)
{
    Session *s = m_sessions.find(key);
    const bool queued = waitingToPair(s);
    if (!ok) {
        if (queued) {
            s->state = Session::State::Idle;
            m_node.sendError(*s, ErrorCode::Internal,
                             tr("the matching queue is unavailable, try again"),
                             eventName(ClientEvent::JoinQueue), -1);
        }
        return;
    }
    if (!match) {
        // Still waiting (a user who left meanwhile was taken out of the queue after this).
        if (queued && !promoted) {
            m_node.send(*s, m_node.waitingInfo());
            schedulePromotion(key);
        }
        return;
    }
    if (!queued) {
        requeuePartner(*match); // ours left while the script ran
        return;
    }
    if (match->partnerNode == m_link->nodeId()) {
        Session *p = m_sessions.find(match->partnerId);
        if (waitingToPair(p))
            m_node.startRoom(Match{p->key, s->key, match->commonInterests, match->commonLanguage});
        else
            enqueue(*s, true); // the partner left meanwhile: try again
        return;
    }
    s->proposedAtMs = nowMs();
    s->proposedNode = match->partnerNode;
    m_link->sendTo(match->partnerNode,
                   node::Propose{match->partnerId, s->userId, m_link->nodeId(),
                                 match->commonInterests, match->commonLanguage, s->addressHash});
}

void ClusterCoordinator::requeuePartner(const ClusterMatch &match)
{
    if (match.partnerNode != m_link->nodeId()) {
        m_link->sendTo(match.partnerNode, node::Requeue{match.partnerId});
        return;
    }
    Session *p = m_sessions.find(match.partnerId);
    if (p && p->state == Session::State::Queued && p->proposedAtMs < 0)
        enqueue(*p, false);
}

void ClusterCoordinator::promoteDue()
{
    const qint64 now = nowMs();
    while (!m_promotions.empty() && m_promotions.begin()->first <= now) {
        const auto [key, stage] = m_promotions.begin()->second;
        m_promotions.erase(m_promotions.begin());
        Session *s = m_sessions.find(key);
        if (!s || s->state != Session::State::Queued || s->proposedAtMs >= 0)
            continue;
        m_link->promote(s->userId, stage,
                        [this, key = key](bool ok, std::optional<ClusterMatch> match) {
                            onMatch(key, ok, match, true);
                        });
    }
    schedulePromotion();
}

void ClusterCoordinator::schedulePromotion(UserKey key)
{
    if (const Session *s = m_sessions.find(key)) {
        const bool interests = !s->interests.isEmpty();
        const bool language = !s->lang.isEmpty();
        const qint64 now = nowMs();
        const qint64 wait = m_config.interestWaitMs;
        const qint64 languageFrom = Matchmaker::languageFromMs(interests, language, now, wait);
        const qint64 waitEnd = Matchmaker::waitEndMs(interests, language, now, wait);
        if (language && languageFrom > now)
            m_promotions.emplace(languageFrom, std::make_pair(key, QueueStage::Language));
        if (waitEnd > now)
            m_promotions.emplace(waitEnd, std::make_pair(key, QueueStage::Open));
    }
    schedulePromotion();
}

void ClusterCoordinator::schedulePromotion()
{
    if (m_promotions.empty()) {
        m_promoteTimer.stop();
        return;
    }
    m_promoteTimer.start(int(std::max<qint64>(0, m_promotions.begin()->first - nowMs())));
}

// ---- messages from other nodes --------------------------------------------------------------

void ClusterCoordinator::handle(const NodeMessage &message, bool stopping)
{
    // While stopping, what is under way in rooms still reaches its users; nothing new starts.
    if (stopping && (std::holds_alternative<node::Propose>(message) ||
                     std::holds_alternative<node::ResumeAsk>(message)))
        return;
    std::visit([this](const auto &m) { on(m); }, message);
}

void ClusterCoordinator::on(const node::Propose &m)
{
    Session *p = m_sessions.find(m.to);
    const UserKey remoteKey = keyOf(m.from);
    if (p && p->state == Session::State::InRoom) {
        const Room *room = m_rooms.find(p->roomId);
        if (room && room->remoteUserId == m.from)
            return; // the same proposal again (a relay sent twice): answered already
    }
    if (!waitingToPair(p) || remoteKey == 0 || m_sessions.find(remoteKey)) {
        m_link->sendTo(m.node, node::Declined{m.from, m_link->nodeId()});
        return;
    }
    Room room;
    room.id = m_commits.storage().nextRoomId();
    if (room.id == 0) {
        m_node.databaseUnavailable(*p);
        m_link->sendTo(m.node, node::Requeue{m.from});
        return;
    }
    room.members[0] = p->key; // waited longer
    room.members[1] = remoteKey;
    room.remoteMember = remoteKey;
    room.remoteUserId = m.from;
    room.remoteNode = m.node;
    room.remoteAddressHash = m.addressHash;
    room.commonInterests = m.interests;
    room.commonLanguage = m.language;
    m_commits.submit(RoomRow{room.id, p->userId, m.from, QDateTime::currentDateTimeUtc()},
                     PendingRoom{room.id,
                                 node::Accept{m.from, p->userId, room.id, m_link->nodeId(),
                                              m.interests, m.language, p->addressHash},
                                 m.node});
    m_node.enterRoom(*p, m_node.addRoom(room), m.from);
}

void ClusterCoordinator::on(const node::Accept &m)
{
    Session *s = m_sessions.find(m.to);
    if (!s || (s->state == Session::State::InRoom && s->roomId == m.room))
        return; // gone, or the same answer again (a relay sent twice)
    const UserKey remoteKey = keyOf(m.from);
    if (s->state != Session::State::Queued || s->proposedAtMs < 0 || !s->connected() ||
        remoteKey == 0 || m_rooms.contains(m.room)) {
        // Ours left (or gave up waiting) meanwhile: the room ends at once over there.
        m_link->sendTo(
            m.node, node::RelayLeft{{m.from, s->userId, m.room, 0},
                                    s->connected() ? LeaveReason::Left : LeaveReason::Disconnected,
                                    true});
        return;
    }
    Room room;
    room.id = m.room;
    room.members[0] = remoteKey;
    room.members[1] = s->key;
    room.remoteMember = remoteKey;
    room.remoteUserId = m.from;
    room.remoteNode = m.node;
    room.remoteAddressHash = m.addressHash;
    room.commonInterests = m.interests;
    room.commonLanguage = m.language;
    room.owned = false; // stored and counted by the partner's node
    s->proposedAtMs = -1;
    m_node.enterRoom(*s, m_node.addRoom(room), m.from);
}

void ClusterCoordinator::on(const node::Declined &m)
{
    // Our proposal: the other side's user was gone. This one never had `waiting` yet.
    Session *s = m_sessions.find(m.to);
    if (s && s->state == Session::State::Queued && s->connected() && s->proposedAtMs >= 0 &&
        s->proposedNode == m.node)
        enqueue(*s, true);
}

void ClusterCoordinator::on(const node::Requeue &m)
{
    // Taken out of the queue by a pairing that could not go on: back in, quietly (it has had its
    // `waiting`). Queueing twice is harmless, so a duplicate is too.
    Session *s = m_sessions.find(m.to);
    if (waitingToPair(s))
        enqueue(*s, false);
}

void ClusterCoordinator::on(const node::Moved &m)
{
    Session *s = m_sessions.find(m.to);
    if (!s)
        return;
    const UserKey key = s->key;
    if (ClientSocket *ws = s->socket) {
        m_sessions.detach(ws);
        m_node.closeSocket(ws, WsCloseNormal, tr("resumed elsewhere"));
    }
    if (s->state == Session::State::Queued)
        m_link->dequeue(s->userId);
    if (Room *room = s->state == Session::State::InRoom ? m_rooms.find(s->roomId) : nullptr) {
        if (!room->remoteMember) {
            // Its partner is here: the user is now the room's member on another node.
            room->remoteMember = key;
            room->remoteUserId = s->userId;
            room->remoteNode = m.node;
        } else {
            m_node.removeRoom(room->id); // both members are elsewhere now
        }
    }
    m_node.destroySession(key, false); // it lives on, on the other node
}

// ---- rooms across nodes ---------------------------------------------------------------------

node::RoomAddress ClusterCoordinator::addressOf(const Room &room) const
{
    return {room.remoteUserId, userIdOf(room.partnerOf(room.remoteMember)), room.id,
            m_link->nodeId()};
}

Room *ClusterCoordinator::roomFor(const node::RoomAddress &at, Session **member)
{
    Session *s = m_sessions.find(at.to);
    Room *room = m_rooms.find(at.room);
    if (!s || s->state != Session::State::InRoom || s->roomId != at.room || !room ||
        room->remoteUserId != at.from)
        return nullptr; // the room ended here meanwhile
    *member = s;
    return room;
}

void ClusterCoordinator::on(const node::RelayMessage &m)
{
    Session *s = nullptr;
    Room *room = roomFor(m.at, &s);
    if (!room || room->remembers(m.message.id))
        return; // ended, or relayed twice (sent again after a Redis outage)
    room->remember(m.message);
    if (s->connected()) {
        if (!m.partnerFrame.isEmpty()) {
            m_node.sendFrame(*s, m.partnerFrame);
        } else {
            NewMessage relayed = m.message;
            relayed.nonce.clear();
            m_node.send(*s, relayed);
        }
        s->lastSentMessageId = std::max(s->lastSentMessageId, m.message.id);
    }
    // Bounded as on one node: the tail, and what an away member was not sent.
    room->trim(s->lastSentMessageId);
}

void ClusterCoordinator::on(const node::RelayTyping &m)
{
    Session *s = nullptr;
    if (roomFor(m.at, &s))
        m_node.send(*s, PartnerTyping{m.typing});
}

void ClusterCoordinator::on(const node::RelayAway &m)
{
    Session *s = nullptr;
    Room *room = roomFor(m.at, &s);
    if (!room)
        return;
    if (m.orphaned) // its node stopped: the window runs here
        room->remoteAwaySinceMs = nowMs();
    m_node.send(*s, PartnerAway{room->id});
}

void ClusterCoordinator::on(const node::RelayBack &m)
{
    Session *s = nullptr;
    Room *room = roomFor(m.at, &s);
    if (!room)
        return;
    if (m.at.node != 0)
        room->remoteNode = m.at.node;
    room->remoteAwaySinceMs = -1;
    m_node.send(*s, PartnerBack{room->id});
}

void ClusterCoordinator::on(const node::RelayLeft &m)
{
    Session *s = nullptr;
    Room *room = roomFor(m.at, &s);
    if (!room)
        return;
    if (m.store) {
        // The partner never entered it: this node stored the room, it stores the end.
        m_node.endRoom(room->id, room->remoteMember, LeaveReason::Disconnected,
                       QStringLiteral("disconnected"));
        return;
    }
    remoteLeft(*room, m.reason);
}

bool ClusterCoordinator::askLeave(const Session &s)
{
    const Room *room = m_rooms.find(s.roomId);
    if (!room || room->ending || !room->remoteMember || !m_link->isNodeAlive(room->remoteNode))
        return false;
    send(room->remoteNode, node::LeaveAsk{addressOf(*room)});
    QTimer::singleShot(kLeaveAskTimeoutMs, this,
                       [this, key = s.key, roomId = room->id] { m_node.leaveSeen(key, roomId); });
    return true;
}

void ClusterCoordinator::on(const node::LeaveAsk &m)
{
    // Everything this node sent the asker before is ahead of the answer: the asker's user leaves
    // after the messages it was owed.
    send(m.at.node, node::LeaveSeen{{m.at.from, m.at.to, m.at.room, m_link->nodeId()}});
}

void ClusterCoordinator::on(const node::LeaveSeen &m)
{
    if (const Session *s = m_sessions.find(m.at.to))
        m_node.leaveSeen(s->key, m.at.room);
}

void ClusterCoordinator::remoteLeft(Room &room, LeaveReason reason)
{
    if (room.pendingMessages > 0) {
        room.remoteLeft = reason; // ChatNode::deliver() comes back here after the last one
        return;
    }
    const qint64 roomId = room.id;
    const UserKey localKey = room.partnerOf(room.remoteMember);
    m_node.removeRoom(roomId); // `room` is gone
    Session *s = m_sessions.find(localKey);
    if (!s || s->roomId != roomId)
        return;
    s->state = Session::State::Idle;
    s->roomId = 0;
    s->typing = false;
    m_node.send(*s, PartnerLeft{roomId, reason});
    updatePlace(*s);
}

void ClusterCoordinator::updatePlace(const Session &s)
{
    const Room *room = s.state == Session::State::InRoom ? m_rooms.find(s.roomId) : nullptr;
    if (!room) {
        m_link->setPlace(s.userId, 0, {}, 0, -1, s.powAdmitted);
        return;
    }
    const Session *partner = m_sessions.find(room->partnerOf(s.key));
    m_link->setPlace(s.userId, room->id, partner ? partner->userId : room->remoteUserId,
                     partner ? m_link->nodeId() : room->remoteNode, s.lastSentMessageId,
                     s.powAdmitted);
}

void ClusterCoordinator::onNodesDied(const QSet<int> &nodes)
{
    const qint64 now = nowMs();
    for (Room &room : m_rooms) {
        if (!room.remoteMember || !nodes.contains(room.remoteNode) || room.remoteAwaySinceMs >= 0)
            continue;
        room.remoteAwaySinceMs = now; // it may resume elsewhere within the window
        if (Session *s = m_sessions.find(room.partnerOf(room.remoteMember));
            s && s->roomId == room.id && !room.ending)
            m_node.send(*s, PartnerAway{room.id});
    }
}

void ClusterCoordinator::onNodesRevived(const QSet<int> &nodes)
{
    for (Room &room : m_rooms) {
        if (!room.remoteMember || !nodes.contains(room.remoteNode) || room.remoteAwaySinceMs < 0)
            continue;
        room.remoteAwaySinceMs = -1;
        if (Session *s = m_sessions.find(room.partnerOf(room.remoteMember));
            s && s->roomId == room.id && !room.ending)
            m_node.send(*s, PartnerBack{room.id});
    }
}

void ClusterCoordinator::sweep(qint64 now)
{
    QVector<QPair<qint64, UserKey>> expired;
    for (const Room &room : std::as_const(m_rooms)) {
        if (room.remoteAwaySinceMs >= 0 && now - room.remoteAwaySinceMs >= m_config.resumeWindowMs)
            expired.append({room.id, room.remoteMember});
    }
    m_node.publishCounts();
    for (const auto &[roomId, remote] : expired)
        m_node.endRoom(roomId, remote, LeaveReason::Disconnected, QStringLiteral("disconnected"));
    for (const auto &[key, s] : m_sessions) {
        if (s->proposedAtMs >= 0 &&
            (now - s->proposedAtMs >= kProposalTimeoutMs ||
             !m_link->isNodeAlive(s->proposedNode)) &&
            s->state == Session::State::Queued && s->connected())
            enqueue(*s, false); // the other node did not answer: queue again
    }
    expireResumes(now);
}

void ClusterCoordinator::expireResumes(qint64 now)
{
    for (auto it = m_resumes.begin(); it != m_resumes.end();) {
        if (now - it->sinceMs < kResumeTimeoutMs) {
            ++it;
            continue;
        }
        const QString userId = it.key();
        const PendingResume pending = it.value();
        it = m_resumes.erase(it);
        // The room cannot go on: the partner's node hears so, if it answers at all (it may have
        // taken the resume and be waiting for messages that would never come).
        m_link->sendTo(pending.partnerNode,
                       node::RelayLeft{{pending.partnerId, userId, pending.roomId, 0},
                                       LeaveReason::Disconnected,
                                       true});
        if (Session *s = m_sessions.find(userId)) {
            s->resuming = false;
            m_node.sendResumed(*s, nullptr, 0, false); // the room could not be found: identity
        }
    }
}

// ---- resume on another node -----------------------------------------------------------------

void ClusterCoordinator::resume(Session &provisionalSession, const Resume &m)
{
    provisionalSession.resuming = true;
    const UserKey provisional = provisionalSession.key;
    const qint64 givenLastId = m.lastId;
    m_link->claimToken(m.resumeToken, [this, provisional,
                                       givenLastId](bool ok, std::optional<ClusterPlace> place) {
        Session *current = m_sessions.find(provisional);
        if (!current || !current->connected())
            return;
        Session &s = *current;
        s.resuming = false;
        if (!ok || !place || place->node == m_link->nodeId() || m_sessions.find(place->userId)) {
            m_node.sendError(s, ok ? ErrorCode::ResumeFailed : ErrorCode::Internal,
                             ok ? tr("unknown, expired or already used token")
                                : tr("the cluster is unavailable, try again"),
                             eventName(ClientEvent::Resume), -1);
            return;
        }
        if (m_link->isNodeAlive(place->node)) // its old node lets go of it
            m_link->sendTo(place->node, node::Moved{place->userId, m_link->nodeId()});
        // Without `last_id`: what its node had sent it when it dropped, if it could say.
        resumeAt(s, *place, givenLastId >= 0 ? givenLastId : place->lastSentMessageId);
    });
}

void ClusterCoordinator::resumeAt(Session &s, const ClusterPlace &place, qint64 lastId)
{
    const int here = m_link->nodeId();
    Session &user = adoptIdentity(s, place.userId);
    user.powAdmitted = place.powAdmitted; // this connection's challenge stands otherwise
    if (place.roomId <= 0 || place.partnerId.isEmpty()) {
        m_node.sendResumed(user, nullptr, 0, false);
        return;
    }
    Room *room = m_rooms.find(place.roomId);
    if (place.partnerNode == here && room && room->remoteUserId == user.userId) {
        // The partner is here: the room is whole on this node now, and counted here (its old
        // node let go of it).
        m_rooms.own(*room);
        room->remoteMember = 0;
        room->remoteUserId.clear();
        room->remoteAddressHash.clear();
        room->remoteNode = 0;
        room->remoteAwaySinceMs = -1;
        user.state = Session::State::InRoom;
        user.roomId = room->id;
        user.everMatched = true;
        m_node.sendResumed(user, room, lastId, true);
        return;
    }
    if (place.partnerNode != here && m_link->isNodeAlive(place.partnerNode)) {
        m_resumes.insert(user.userId,
                         {nowMs(), place.partnerNode, lastId, place.roomId, place.partnerId});
        user.resuming = true; // until the partner's node answers
        m_link->sendTo(place.partnerNode, node::ResumeAsk{place.partnerId, user.userId,
                                                          place.roomId, here, user.addressHash});
        return;
    }
    // Both nodes of the room are gone: it cannot go on.
    m_commits.storage().submit(
        RoomEnd{place.roomId, QDateTime::currentDateTimeUtc(), QStringLiteral("disconnected")});
    m_node.sendResumed(user, nullptr, 0, false);
}

Session &ClusterCoordinator::adoptIdentity(Session &provisional, const QString &userId)
{
    ClientSocket *ws = provisional.socket;
    const UserKey oldKey = provisional.key;
    auto user = std::make_unique<Session>();
    user->key = keyOf(userId);
    user->userId = userId;
    user->resumeToken = SessionTable::newResumeToken();
    user->socket = ws;
    user->address = provisional.address;
    user->addressHash = provisional.addressHash;
    user->lastHeardMs = nowMs();
    user->sawFirstEvent = true;
    user->everMatched = true;
    user->limiter = provisional.limiter;
    user->powChallenge = provisional.powChallenge;
    m_node.destroySession(oldKey, true); // the provisional identity from this one's welcome
    m_link->registerToken(user->resumeToken, userId);
    return m_sessions.add(std::move(user));
}

void ClusterCoordinator::on(const node::ResumeAsk &m)
{
    Session *partner = m_sessions.find(m.to);
    Room *room = m_rooms.find(m.room);
    node::ResumeAnswer answer{m.from, m.room, false, {}, {}, {}};
    if (!partner || !room || room->ending || room->remoteUserId != m.from ||
        partner->roomId != m.room) {
        m_link->sendTo(m.node, answer);
        return;
    }
    room->remoteNode = m.node;
    room->remoteAwaySinceMs = -1;
    if (!m.addressHash.isEmpty())
        room->remoteAddressHash = m.addressHash;
    // All it keeps, nonces included: the new node picks what the client lacks, and knows the
    // nonces of the user's own messages if its outbox sends one again.
    answer.ok = true;
    answer.from = partner->userId;
    answer.interests = room->commonInterests;
    answer.addressHash = partner->addressHash;
    answer.language = room->commonLanguage;
    answer.messages = QVector<NewMessage>(room->recent.cbegin(), room->recent.cend());
    m_link->sendTo(m.node, answer);
    m_node.send(*partner, PartnerBack{m.room});
}

void ClusterCoordinator::on(const node::ResumeAnswer &m)
{
    const auto pending = m_resumes.constFind(m.to);
    if (pending == m_resumes.cend())
        return; // timed out
    const int partnerNode = pending->partnerNode;
    const qint64 lastId = pending->lastId;
    m_resumes.erase(pending);
    Session *user = m_sessions.find(m.to);
    if (!user)
        return;
    user->resuming = false;
    const UserKey remoteKey = keyOf(m.from);
    if (!m.ok || remoteKey == 0) {
        m_node.sendResumed(*user, nullptr, 0, false);
        return;
    }
    Room room;
    room.id = m.room;
    room.members[0] = remoteKey;
    room.members[1] = user->key;
    room.remoteMember = remoteKey;
    room.remoteUserId = m.from;
    room.remoteNode = partnerNode;
    room.remoteAddressHash = m.addressHash;
    room.owned = false;
    room.commonInterests = m.interests;
    room.commonLanguage = m.language;
    for (const NewMessage &message : m.messages)
        room.remember(message);
    Room &added = m_node.addRoom(room);
    user->state = Session::State::InRoom;
    user->roomId = added.id;
    m_node.sendResumed(*user, &added, lastId, false);
}

} // namespace anonchat::server
