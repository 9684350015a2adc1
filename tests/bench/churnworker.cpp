#include "churnworker.h"

#include "benchcommon.h"
#include "ledger.h"
#include "procstats.h"
#include "shared/codec.h"

#include <QTimer>
#include <QWebSocket>

namespace anonchat::bench {

namespace proto = anonchat::protocol;

namespace {

constexpr int kTickMs = 20;
constexpr double kConnectTimeoutS = 15; ///< welcome (and resumed) must come within this
constexpr double kAckTimeoutS = 15;     ///< a message's acknowledgement must come within this
constexpr double kAckPollS = 0.5;
constexpr double kStatsShare = 0.1;    ///< users who ask get_stats when they join the queue
constexpr double kTypingShare = 0.3;   ///< messages announced by `typing`
constexpr double kPercentLeave = 0.30; ///< the ways out of a room: leave_room_event,
constexpr double kPercentNext = 0.30;  ///< next,
constexpr double kPercentDrop = 0.25;  ///< an abrupt drop and a resume; the rest leave for good

const QStringList &interestPool()
{
    static const QStringList pool = {
        QStringLiteral("music"), QStringLiteral("films"),   QStringLiteral("travel"),
        QStringLiteral("books"), QStringLiteral("games"),   QStringLiteral("cooking"),
        QStringLiteral("猫"),    QStringLiteral("running"),
    };
    return pool;
}

const QStringList &lines()
{
    static const QStringList pool = {
        QStringLiteral("hi there"),
        QStringLiteral("where are you from? I am somewhere near the sea"),
        QStringLiteral("你好，很高兴认识你 🙂"),
        QStringLiteral("lol same"),
        QStringLiteral("what do you do for fun when you are not chatting with strangers?"),
        QStringLiteral("ok bye 👋"),
    };
    return pool;
}

} // namespace

void ChurnCounts::add(const ChurnCounts &other)
{
    for (auto it = other.events.cbegin(); it != other.events.cend(); ++it)
        events[it.key()] += it.value();
    for (auto it = other.errors.cbegin(); it != other.errors.cend(); ++it)
        errors[it.key()] += it.value();
}

ChurnWorker::ChurnWorker(const ChurnConfig &config, int index, Ledger *ledger)
    : m_config(config)
    , m_index(index)
    , m_ledger(ledger)
    , m_random(config.seed + quint32(index) * 7919u)
{}

ChurnWorker::~ChurnWorker()
{
    destroyAll();
}

void ChurnWorker::start(int users, double rampS)
{
    m_users.resize(size_t(users));
    m_timer = new QTimer(this);
    connect(m_timer, &QTimer::timeout, this, &ChurnWorker::onTick);
    m_timer->start(kTickMs);
    for (int i = 0; i < users; ++i)
        schedule(i, rampS * m_random.generateDouble());
}

void ChurnWorker::schedule(int index, double seconds)
{
    User &u = m_users[size_t(index)];
    ++u.generation;
    m_agenda.push({nowNs() + qint64(seconds * 1e9), index, u.generation});
}

void ChurnWorker::onTick()
{
    const qint64 now = nowNs();
    while (!m_agenda.empty() && m_agenda.top().atNs <= now) {
        const Due due = m_agenda.top();
        m_agenda.pop();
        if (!m_stopping && m_users[size_t(due.index)].generation == due.generation)
            step(due.index);
    }
}

/// What a user does when its time comes, by where it is.
void ChurnWorker::step(int index)
{
    User &u = m_users[size_t(index)];
    switch (u.phase) {
    case Phase::New:
    case Phase::Away: connectUser(index); break;
    case Phase::Connecting: // no welcome (or no answer to resume) in time
        count("connect_timeouts");
        dropSocket(u);
        u.phase = u.resuming ? Phase::Away : Phase::New;
        connectUser(index);
        break;
    case Phase::Idle: {
        const QStringList interests = pickInterests();
        send(u, proto::encodeText(proto::JoinQueue{interests}));
        if (m_random.generateDouble() < kStatsShare)
            send(u, proto::encodeText(proto::GetStats{}));
        u.phase = Phase::Queued;
        count("joins");
        break;
    }
    case Phase::Queued: break; // matched moves it on
    case Phase::Chatting: chat(index); break;
    }
}

void ChurnWorker::connectUser(int index)
{
    User &u = m_users[size_t(index)];
    u.resuming = u.phase == Phase::Away && !u.token.isEmpty();
    if (!u.resuming) {
        u.userId.clear();
        u.token.clear();
    }
    QWebSocket *socket = newClientSocket(this);
    u.socket = socket;
    u.phase = Phase::Connecting;
    u.welcomeId.clear();
    connect(socket, &QWebSocket::textMessageReceived, this,
            [this, index](const QString &text) { onText(index, text); });
    connect(socket, &QWebSocket::disconnected, this,
            [this, index, socket] { onGone(index, socket); });
    connect(socket, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), this,
            [this, index, socket](QAbstractSocket::SocketError) { onGone(index, socket); });
    socket->open(m_config.urls.at((index + m_index) % m_config.urls.size()));
    schedule(index, kConnectTimeoutS);
}

void ChurnWorker::dropSocket(User &u)
{
    discardSocket(u.socket, this, true); // may run inside one of its signals
}

void ChurnWorker::send(User &u, const QString &frame)
{
    if (u.socket)
        u.socket->sendTextMessage(frame);
}

/// The server closed a connection, or it never opened: a failure of the run; the user comes back
/// as if it had dropped.
void ChurnWorker::onGone(int index, QWebSocket *socket)
{
    User &u = m_users[size_t(index)];
    if (socket != u.socket || m_stopping)
        return;
    if (u.phase == Phase::Connecting && u.welcomeId.isEmpty())
        count("connect_failures");
    else
        count("server_closes");
    count(QStringLiteral("server_close_%1").arg(int(socket->closeCode())));
    dropSocket(u);
    if (!u.resuming)
        u.dropNs = nowNs(); // else it is still away since its first drop
    if (u.roomId == 0)
        u.token.clear(); // nothing to resume: a new user
    u.phase = Phase::Away;
    schedule(index, m_config.reconnect.pick(m_random));
}

void ChurnWorker::onText(int index, const QString &text)
{
    User &u = m_users[size_t(index)];
    const proto::ServerDecodeResult decoded = proto::decodeServerFrame(text);
    const auto *message = std::get_if<proto::ServerMessage>(&decoded);
    if (!message) {
        ++m_counts.errors[QStringLiteral("undecodable_frame")];
        return;
    }
    using E = proto::ServerEvent;
    const E event = proto::eventOf(*message);
    if (event != E::NewMessage && event != E::Error)
        count(proto::eventName(event)); // welcome, matched, resumed, partner_left, waiting, ...
    switch (event) {
    case E::NewMessage: onNewMessage(u, std::get<proto::NewMessage>(*message)); break;
    case E::Welcome: {
        const auto &welcome = std::get<proto::Welcome>(*message);
        onWelcome(index, welcome.userId, welcome.resumeToken);
        break;
    }
    case E::Matched: onMatched(index, std::get<proto::Matched>(*message)); break;
    case E::Resumed: onResumed(index, std::get<proto::Resumed>(*message)); break;
    case E::PartnerLeft: {
        const qint64 roomId = std::get<proto::PartnerLeft>(*message).roomId;
        if (roomId == u.roomId) {
            m_ledger->ended(roomId, u.userId, nowNs(), EndKind::PartnerLeft);
            onRoomOver(index, roomId);
        }
        break;
    }
    case E::Error: onError(index, std::get<proto::Error>(*message)); break;
    default: break;
    }
}

void ChurnWorker::onWelcome(int index, const QString &userId, const QString &token)
{
    User &u = m_users[size_t(index)];
    u.welcomeId = userId;
    u.welcomeToken = token;
    if (u.resuming) {
        proto::Resume resume;
        resume.resumeToken = u.token;
        resume.lastId = u.lastId;
        send(u, proto::encodeText(resume));
        return; // the connect timeout still runs until `resumed`
    }
    u.userId = userId;
    u.token = token;
    u.phase = Phase::Idle;
    schedule(index, m_config.think.pick(m_random));
}

void ChurnWorker::onResumed(int index, const proto::Resumed &resumed)
{
    User &u = m_users[size_t(index)];
    u.resuming = false;
    u.userId = resumed.userId;
    u.token = resumed.resumeToken;
    if (resumed.room && resumed.room->roomId == u.roomId) {
        count("resumes_with_room");
        for (const proto::NewMessage &m : resumed.room->messages)
            onNewMessage(u, m);
        for (auto it = u.pending.cbegin(); it != u.pending.cend(); ++it) {
            send(u, proto::encodeText(proto::SendMessage{it.value(), it.key()}));
            u.lastSendNs = nowNs();
            count("resent");
        }
        u.phase = Phase::Chatting;
        schedule(index, m_config.messageInterval.pick(m_random));
        return;
    }
    // The room ended while it was away (its partner left): nothing of it was owed after the drop.
    count("resumes_room_gone");
    m_ledger->ended(u.roomId, u.userId, u.dropNs, EndKind::Dropped);
    clearRoom(u);
    if (resumed.room)
        count("resumes_other_room");
    backToQueueLater(index);
}

void ChurnWorker::onError(int index, const proto::Error &error)
{
    User &u = m_users[size_t(index)];
    ++m_counts.errors[proto::errorCodeName(error.code)];
    if (error.code != proto::ErrorCode::ResumeFailed || !u.resuming)
        return;
    count("resumes_failed");
    u.resuming = false;
    m_ledger->ended(u.roomId, u.userId, u.dropNs, EndKind::Dropped);
    clearRoom(u);
    u.userId = u.welcomeId; // the identity of this connection's welcome stands
    u.token = u.welcomeToken;
    backToQueueLater(index);
}

void ChurnWorker::onMatched(int index, const proto::Matched &matched)
{
    User &u = m_users[size_t(index)];
    if (u.roomId != 0)
        count("matched_while_in_room");
    clearRoom(u);
    u.roomId = matched.roomId;
    u.toSend = int(m_config.messages.pick(m_random) + 0.5);
    u.phase = Phase::Chatting;
    m_ledger->joined(u.roomId, u.userId, matched.partnerId);
    schedule(index, m_config.messageInterval.pick(m_random));
}

void ChurnWorker::onNewMessage(User &u, const proto::NewMessage &m)
{
    if (m.roomId == u.roomId)
        u.lastId = qMax(u.lastId, m.id);
    if (m.senderId != u.userId) {
        count("received");
        m_ledger->received(m.roomId, m.id);
        return;
    }
    if (!m.nonce.isEmpty() && u.pending.remove(m.nonce) > 0) {
        count("acked");
        m_ledger->acked(m.roomId, m.id, u.userId, nowNs());
    } else {
        count("acks_again"); // a resent message the server had stored already
    }
}

void ChurnWorker::onRoomOver(int index, qint64 roomId)
{
    User &u = m_users[size_t(index)];
    if (roomId != u.roomId)
        return;
    clearRoom(u);
    backToQueueLater(index);
}

void ChurnWorker::clearRoom(User &u)
{
    u.roomId = 0;
    u.lastId = -1;
    u.toSend = 0;
    u.droppedInRoom = false;
    u.pending.clear();
}

void ChurnWorker::backToQueueLater(int index)
{
    m_users[size_t(index)].phase = Phase::Idle;
    schedule(index, m_config.think.pick(m_random));
}

/// A message now, or (all sent) wait for the acknowledgements, then move on.
void ChurnWorker::chat(int index)
{
    User &u = m_users[size_t(index)];
    if (u.toSend > 0) {
        sendMessage(u);
        --u.toSend;
        schedule(index, m_config.messageInterval.pick(m_random));
        return;
    }
    if (!u.pending.isEmpty()) {
        if (nowNs() - u.lastSendNs < qint64(kAckTimeoutS * 1e9)) {
            schedule(index, kAckPollS);
            return;
        }
        count("ack_timeouts", u.pending.size());
        u.pending.clear();
    }
    moveOn(index);
}

void ChurnWorker::sendMessage(User &u)
{
    if (m_random.generateDouble() < kTypingShare)
        send(u, proto::encodeText(proto::Typing{true}));
    const QString nonce = QStringLiteral("s%1-%2").arg(m_index).arg(++m_nonce, 0, 36);
    const QString content = lines().at(int(m_random.bounded(qint64(lines().size()))));
    u.pending.insert(nonce, content);
    u.lastSendNs = nowNs();
    send(u, proto::encodeText(proto::SendMessage{content, nonce}));
    count("sent");
}

/// The end of a user's time in a room: leave, next, drop (and resume), or leave for good.
void ChurnWorker::moveOn(int index)
{
    User &u = m_users[size_t(index)];
    const qint64 now = nowNs();
    double r = m_random.generateDouble();
    if (u.droppedInRoom && r >= kPercentLeave + kPercentNext)
        r = m_random.generateDouble() * (kPercentLeave + kPercentNext); // one drop per room
    if (r < kPercentLeave) {
        count("leaves");
        send(u, proto::encodeText(proto::LeaveRoom{}));
        m_ledger->ended(u.roomId, u.userId, now, EndKind::Left);
        clearRoom(u);
        backToQueueLater(index);
    } else if (r < kPercentLeave + kPercentNext) {
        count("nexts");
        send(u, proto::encodeText(proto::Next{pickInterests()}));
        m_ledger->ended(u.roomId, u.userId, now, EndKind::Left);
        clearRoom(u);
        u.phase = Phase::Queued;
    } else if (r < kPercentLeave + kPercentNext + kPercentDrop) {
        count("drops");
        dropSocket(u);
        u.dropNs = now;
        u.droppedInRoom = true;
        u.toSend = 1 + int(m_random.bounded(3)); // a few more after coming back
        u.phase = Phase::Away;
        schedule(index, m_config.reconnect.pick(m_random));
    } else {
        count("quits");
        dropSocket(u);
        m_ledger->ended(u.roomId, u.userId, now, EndKind::Dropped);
        clearRoom(u);
        u.token.clear(); // a new user takes its place
        u.phase = Phase::New;
        schedule(index, m_config.think.pick(m_random));
    }
}

QStringList ChurnWorker::pickInterests()
{
    QStringList interests;
    if (m_random.generateDouble() >= m_config.interestShare)
        return interests;
    const int n = 1 + int(m_random.bounded(2));
    for (int i = 0; i < n; ++i)
        interests.append(interestPool().at(int(m_random.bounded(qint64(interestPool().size())))));
    interests.removeDuplicates();
    return interests;
}

void ChurnWorker::stop(qint64 stopNs)
{
    m_stopping = true;
    for (User &u : m_users) {
        if (u.roomId == 0)
            continue;
        const bool connected = u.phase == Phase::Chatting;
        m_ledger->ended(u.roomId, u.userId, connected ? stopNs : u.dropNs,
                        connected ? EndKind::Stopped : EndKind::Dropped);
    }
}

void ChurnWorker::closeAll()
{
    m_stopping = true;
    delete m_timer;
    m_timer = nullptr;
    for (User &u : m_users) {
        if (!u.socket)
            continue;
        if (u.roomId != 0 && u.phase == Phase::Chatting)
            send(u, proto::encodeText(proto::LeaveRoom{}));
        else if (u.phase == Phase::Queued)
            send(u, proto::encodeText(proto::LeaveQueue{}));
        disconnect(u.socket, nullptr, this, nullptr);
        u.socket->close();
    }
}

void ChurnWorker::destroyAll()
{
    for (User &u : m_users)
        discardSocket(u.socket, this);
    m_users.clear();
}

} // namespace anonchat::bench
