#include "client/core/chatsession.h"

#include "shared/codec.h"

#include <QLocale>
#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcSession, "anonchat.client.session", QtInfoMsg)

namespace anonchat::client {

using namespace protocol;

namespace {

bool inRoomState(ChatSession::State s)
{
    return s == ChatSession::State::Chatting || s == ChatSession::State::PartnerAway;
}

/// At most `max` code points, never splitting a surrogate pair.
QString truncatedToCodePoints(const QString &text, int max)
{
    int points = 0;
    for (int i = 0; i < text.size(); ++i) {
        if (points == max)
            return text.left(i);
        if (text.at(i).isHighSurrogate() && i + 1 < text.size() && text.at(i + 1).isLowSurrogate())
            ++i;
        ++points;
    }
    return text;
}

} // namespace

ChatSession::ChatSession(QObject *parent)
    : QObject(parent)
    , m_connection(new Connection(this))
    , m_model(new MessageListModel(this))
{
    init();
}

ChatSession::ChatSession(Connection *connection, MessageListModel *model, QObject *parent)
    : QObject(parent)
    , m_connection(connection)
    , m_model(model)
{
    Q_ASSERT(connection && model);
    init();
}

ChatSession::~ChatSession()
{
    m_connection->disconnect(this);
}

void ChatSession::init()
{
    connect(m_connection, &Connection::received, this, &ChatSession::handleServerMessage);
    connect(m_connection, &Connection::stateChanged, this, &ChatSession::onConnectionState);
    connect(m_connection, &Connection::messagesFailed, this, [this](const QStringList &nonces) {
        for (const QString &nonce : nonces)
            m_model->markFailed(nonce);
    });
    m_partnerTypingExpiry.setSingleShot(true);
    m_partnerTypingExpiry.setInterval(kTypingExpiryMs);
    connect(&m_partnerTypingExpiry, &QTimer::timeout, this, [this] { setPartnerTyping(false); });
    m_typingIdle.setSingleShot(true);
    m_typingIdle.setInterval(3000);
    connect(&m_typingIdle, &QTimer::timeout, this, [this] { setTyping(false); });
    m_powSolver = new PowSolver(this);
    connect(m_powSolver, &PowSolver::progress, this, &ChatSession::setPowProgress);
    connect(m_powSolver, &PowSolver::solved, this, &ChatSession::onPowSolved);
    if (m_connection->state() != Connection::State::Disconnected)
        onConnectionState(m_connection->state());
}

void ChatSession::setTypingTimings(int repeatMs, int idleMs, int expiryMs)
{
    m_typingRepeatMs = repeatMs;
    m_typingIdle.setInterval(idleMs);
    m_partnerTypingExpiry.setInterval(expiryMs);
}

// ---- actions --------------------------------------------------------------------------------

bool ChatSession::open(const QUrl &serverUrl)
{
    return m_connection->open(serverUrl);
}

void ChatSession::close()
{
    if (m_connection->isConnected()) {
        // Tell the partner now instead of leaving them "away" for the resume window.
        if (inRoomState(m_state))
            m_connection->send(LeaveRoom{});
        else if (m_state == State::Searching)
            m_connection->send(LeaveQueue{});
    }
    stopPow();
    m_connection->close();
}

bool ChatSession::normalise(const QStringList &raw)
{
    QStringList interests;
    if (!normaliseInterests(raw, interests)) {
        addNotice(tr("Use at most %1 interests of at most %2 characters each.")
                      .arg(kMaxInterests)
                      .arg(kMaxInterestChars));
        return false;
    }
    m_interests = interests;
    return true;
}

bool ChatSession::start(const QStringList &interests)
{
    switch (m_state) {
    case State::Offline:
    case State::Chatting:
    case State::PartnerAway: return false;
    case State::Searching: return true; // joining while queued is idempotent
    case State::Connecting:
        if (m_roomId != 0)
            return false;
        if (!normalise(interests))
            return false;
        m_joinWhenConnected = true;
        return true;
    case State::Idle:
    case State::Ended:
        if (!normalise(interests))
            return false;
        joinQueue(false);
        return true;
    }
    return false;
}

bool ChatSession::next(const QStringList &interests)
{
    if (!m_connection->isConnected() || m_state == State::Offline || m_state == State::Connecting)
        return false;
    if (!normalise(interests))
        return false;
    if (inRoomState(m_state))
        addNotice(tr("You left the chat."));
    joinQueue(true);
    return true;
}

void ChatSession::joinQueue(bool viaNext)
{
    m_joinWhenConnected = false;
    stopOwnTyping();
    const std::optional<PowChallenge> pow = m_connection->powChallenge();
    if (pow && !m_powAdmitted && m_powSolvedFor != pow->challenge) {
        // The server wants a proof first: searched on the solver's thread, sent when found.
        m_powJoinViaNext = viaNext;
        m_powSolver->start(*pow);
        setPowProgress(0);
    } else {
        sendJoin(viaNext);
    }
    setRoom(0, {}, {}, {});
    setState(State::Searching);
}

void ChatSession::sendJoin(bool viaNext)
{
    // Once admitted the server ignores the nonce; it is sent until then.
    const QString nonce = m_powAdmitted ? QString() : m_powNonce;
    if (viaNext)
        m_connection->send(Next{m_interests, m_language, nonce});
    else
        m_connection->send(JoinQueue{m_interests, m_language, nonce});
}

// ---- proof of work --------------------------------------------------------------------------

void ChatSession::onPowSolved(const QByteArray &challenge, const QString &nonce)
{
    m_powSolvedFor = challenge;
    m_powNonce = nonce;
    setPowProgress(-1);
    const std::optional<PowChallenge> pow = m_connection->powChallenge();
    if (m_state == State::Searching && m_connection->isConnected() && pow &&
        pow->challenge == challenge)
        sendJoin(m_powJoinViaNext);
}

void ChatSession::stopPow()
{
    m_powSolver->cancel();
    setPowProgress(-1);
}

void ChatSession::setPowProgress(int percent)
{
    if (m_powProgress == percent)
        return;
    m_powProgress = percent;
    emit powProgressChanged(percent);
}

void ChatSession::leave()
{
    switch (m_state) {
    case State::Searching:
        if (m_powSolver->isRunning()) { // nothing was sent yet
            stopPow();
            setState(State::Idle);
            break;
        }
        m_connection->send(LeaveQueue{}); // queue_left: Idle
        break;
    case State::Chatting:
    case State::PartnerAway:
        stopOwnTyping();
        m_connection->send(LeaveRoom{}); // room_left: Ended
        break;
    case State::Ended: setState(State::Idle); break;
    case State::Connecting: m_joinWhenConnected = false; break;
    case State::Offline:
    case State::Idle: break;
    }
}

ChatSession::SendResult ChatSession::sendMessage(const QString &text)
{
    const QString content = text.trimmed();
    if (content.isEmpty())
        return SendResult::Empty;
    if (codePointCount(content) > m_maxMessageChars)
        return SendResult::TooLong;
    // While reconnecting the room is kept: the message waits in the outbox for the resume.
    if (m_roomId == 0 || !(inRoomState(m_state) || m_state == State::Connecting))
        return SendResult::NotInRoom;
    const QString nonce = m_connection->sendChatMessage(content);
    m_model->appendPending(content, nonce);
    stopOwnTyping(); // the server tells the partner itself
    return SendResult::Accepted;
}

void ChatSession::setTyping(bool typing)
{
    if (!inRoomState(m_state) || !m_connection->isConnected()) {
        stopOwnTyping();
        return;
    }
    if (typing) {
        if (!m_typingSent || m_typingSentAt.elapsed() >= m_typingRepeatMs) {
            // Repeated while typing so the partner's 6 s expiry does not hide it.
            m_connection->send(Typing{true});
            m_typingSent = true;
            m_typingSentAt.restart();
        }
        m_typingIdle.start();
    } else {
        if (m_typingSent)
            m_connection->send(Typing{false});
        stopOwnTyping();
    }
}

void ChatSession::stopOwnTyping()
{
    m_typingSent = false;
    m_typingIdle.stop();
}

bool ChatSession::report(const QString &reason)
{
    if (!inRoomState(m_state) || !m_connection->isConnected())
        return false;
    return m_connection->send(
        Report{truncatedToCodePoints(reason.trimmed(), kMaxReportReasonChars)});
}

bool ChatSession::requestStats()
{
    return m_connection->send(GetStats{});
}

// ---- connection -----------------------------------------------------------------------------

void ChatSession::onConnectionState(Connection::State state)
{
    emit connectedChanged(state == Connection::State::Connected);
    switch (state) {
    case Connection::State::Disconnected:
        stopPow();
        m_joinWhenConnected = false;
        m_stateBeforeDrop = State::Offline;
        stopOwnTyping();
        setPartnerTyping(false);
        setRoom(0, {}, {}, {});
        if (!m_userId.isEmpty()) {
            m_userId.clear();
            emit userIdChanged(m_userId);
        }
        setState(State::Offline);
        break;
    case Connection::State::Connecting:
    case Connection::State::Reconnecting:
        stopPow(); // the next connection has a challenge of its own
        if (m_state == State::Connecting)
            break;
        m_stateBeforeDrop = m_state;
        // The server forgets our typing and our place in the queue when we drop.
        stopOwnTyping();
        setPartnerTyping(false);
        if (inRoomState(m_state))
            addNotice(tr("Connection lost. Reconnecting…"));
        if (m_state == State::Searching)
            m_joinWhenConnected = true;
        setState(State::Connecting);
        break;
    case Connection::State::Connected:
        break; // welcome or resumed (delivered next) decides the state
    }
}

// ---- server events --------------------------------------------------------------------------

void ChatSession::handleServerMessage(const ServerMessage &message)
{
    std::visit([this](const auto &m) { on(m); }, message);
}

void ChatSession::on(const Welcome &m)
{
    // A new identity (first connection, or after a failed resume): nothing of before remains.
    m_stateBeforeDrop = State::Offline;
    m_powAdmitted = false;
    if (m_userId != m.userId) {
        m_userId = m.userId;
        emit userIdChanged(m_userId);
    }
    if (m.limits.maxMessageChars > 0)
        m_maxMessageChars = m.limits.maxMessageChars;
    setOnline(m.online);
    setRoom(0, {}, {}, {});
    if (m_joinWhenConnected)
        joinQueue(false);
    else
        setState(State::Idle);
}

void ChatSession::on(const Resumed &m)
{
    const State before = m_stateBeforeDrop;
    m_stateBeforeDrop = State::Offline;
    if (m_userId != m.userId) {
        m_userId = m.userId;
        emit userIdChanged(m_userId);
    }
    if (m.room) {
        const ResumedRoom &room = *m.room;
        if (room.roomId != m_roomId) {
            m_model->clear();
            setRoom(room.roomId, room.partnerId, {}, {});
        } else {
            setRoom(room.roomId, room.partnerId, m_commonInterests, m_commonLanguage);
        }
        m_joinWhenConnected = false;
        m_powAdmitted = true; // a room is had only after admission
        // Whether the partner is away now is not in `resumed`: assume present (PROTOCOL.md).
        setState(State::Chatting);
        for (const NewMessage &msg : room.messages)
            addMessage(msg);
        return;
    }
    const bool hadRoom = m_roomId != 0;
    setRoom(0, {}, {}, {});
    if (hadRoom || inRoomState(before)) {
        addNotice(tr("The chat ended while you were offline."));
        setState(State::Ended);
    } else if (m_joinWhenConnected) {
        joinQueue(false); // the server drops a user from the queue when its connection drops
    } else {
        setState(before == State::Ended ? State::Ended : State::Idle);
    }
}

void ChatSession::on(const Waiting &m)
{
    m_powAdmitted = true; // queued: admitted, if the server asked at all
    setOnline(m.online);
    if (m_state == State::Idle || m_state == State::Ended)
        setState(State::Searching);
}

void ChatSession::on(const QueueLeft &)
{
    if (m_state == State::Searching)
        setState(State::Idle);
}

void ChatSession::on(const Matched &m)
{
    m_powAdmitted = true;
    m_joinWhenConnected = false;
    stopOwnTyping();
    setPartnerTyping(false);
    m_model->clear();
    setRoom(m.roomId, m.partnerId, m.commonInterests, m.commonLanguage);
    addNotice(matchedText(m));
    setState(State::Chatting);
}

void ChatSession::on(const NewMessage &m)
{
    // An ack may come after the room ended (it was stored): still this conversation's.
    if (m.roomId != m_roomId && !(m_roomId == 0 && m_model->rowOfNonce(m.nonce) >= 0))
        return;
    addMessage(m);
}

void ChatSession::addMessage(const NewMessage &m)
{
    const bool mine = m.senderId == m_userId;
    const MessageListModel::Outcome outcome = m_model->appendMessage(m, mine);
    if (!mine && outcome == MessageListModel::Outcome::Added) {
        setPartnerTyping(false);
        emit messageArrived(m.content);
    }
}

void ChatSession::on(const PartnerTyping &m)
{
    if (!inRoomState(m_state))
        return;
    setPartnerTyping(m.typing);
    if (m.typing)
        m_partnerTypingExpiry.start();
}

void ChatSession::on(const PartnerAway &m)
{
    if (m.roomId != m_roomId || m_state != State::Chatting)
        return;
    setPartnerTyping(false);
    addNotice(tr("The stranger's connection dropped. Waiting for them to come back…"));
    setState(State::PartnerAway);
}

void ChatSession::on(const PartnerBack &m)
{
    if (m.roomId != m_roomId || m_state != State::PartnerAway)
        return;
    addNotice(tr("The stranger is back."));
    setState(State::Chatting);
}

void ChatSession::on(const PartnerLeft &m)
{
    if (m.roomId != m_roomId)
        return; // a room we already left (both pressed next at once)
    stopOwnTyping();
    setPartnerTyping(false);
    addNotice(partnerLeftText(m.reason));
    setRoom(0, {}, {}, {});
    setState(State::Ended);
}

void ChatSession::on(const RoomLeft &m)
{
    if (m.roomId != m_roomId)
        return; // after next(): already noted
    stopOwnTyping();
    setPartnerTyping(false);
    addNotice(tr("You left the chat."));
    setRoom(0, {}, {}, {});
    setState(State::Ended);
}

void ChatSession::on(const Reported &)
{
    addNotice(tr("Thank you. The stranger was reported; you will not be matched with them "
                 "again."));
}

void ChatSession::on(const Stats &m)
{
    setOnline(m.online);
    emit statsReceived(m.online, m.queued, m.activeRooms);
}

void ChatSession::on(const Error &m)
{
    qCDebug(lcSession) << "error" << errorCodeName(m.code) << m.message << m.event;
    // Typing is invisible to the user: a refused typing event is not worth a notice.
    if (m.event != eventName(ClientEvent::Typing))
        addNotice(errorText(m));
    switch (m.code) {
    case ErrorCode::ResumeFailed:
        // The old identity and its room are gone; the new identity's welcome comes next.
        m_stateBeforeDrop = State::Offline;
        if (m_roomId != 0 || inRoomState(m_state)) {
            setRoom(0, {}, {}, {});
            setState(State::Ended);
        }
        break;
    case ErrorCode::NotInQueue:
        if (m_state == State::Searching)
            setState(State::Idle);
        break;
    case ErrorCode::PowRequired:
    case ErrorCode::PowInvalid:
        // Not queued; the next start() solves this connection's challenge afresh.
        m_powAdmitted = false;
        m_powSolvedFor.clear();
        if (m_state == State::Searching)
            setState(State::Idle);
        break;
    case ErrorCode::NotInRoom:
        if (inRoomState(m_state)) {
            setRoom(0, {}, {}, {});
            setState(State::Ended);
        }
        break;
    case ErrorCode::AlreadyInRoom:
        // The server has us in a room we do not know: leave it and search, as asked.
        if (m_state == State::Searching)
            sendJoin(true);
        break;
    default: break;
    }
}

// ---- texts ----------------------------------------------------------------------------------

QString ChatSession::errorText(const Error &error)
{
    const QString detail =
        error.message.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(error.message);
    switch (error.code) {
    case ErrorCode::BadJson:
        return tr("The server could not read a request from this app.") + detail;
    case ErrorCode::BadFrame:
        return tr("The server refused a binary frame from this app.") + detail;
    case ErrorCode::UnknownEvent:
        return tr("The server did not understand a request from this app.") + detail;
    case ErrorCode::InvalidData:
        return tr("The server refused a malformed request from this app.") + detail;
    case ErrorCode::MessageEmpty: return tr("Your message is empty.");
    case ErrorCode::MessageTooLong:
        return tr("Your message is too long (at most %1 characters).").arg(kMaxMessageChars);
    case ErrorCode::NotInRoom: return tr("You are not in a chat.");
    case ErrorCode::AlreadyInRoom: return tr("You are already in a chat.");
    case ErrorCode::NotInQueue: return tr("You are not searching for a partner.");
    case ErrorCode::RateLimited: {
        const int seconds = int(std::max<qint64>(1, (error.retryAfterMs + 999) / 1000));
        return tr("Slow down: try again in %n second(s).", nullptr, seconds);
    }
    case ErrorCode::ResumeFailed:
        return tr("Your previous session could not be restored: the old chat is gone and you "
                  "have a new identity.");
    case ErrorCode::ServerBusy: return tr("The server is full. Trying again…");
    case ErrorCode::Banned: return tr("This server has banned your address.") + detail;
    case ErrorCode::PowRequired:
        return tr("The server asks for a proof of work (a check that you are not a bot) first. "
                  "Start again to compute it.");
    case ErrorCode::PowInvalid:
        return tr("The server did not accept the proof of work. Start again to compute a new "
                  "one.");
    case ErrorCode::Internal:
        if (error.event == eventName(ClientEvent::SendMessage))
            return tr("The server could not store your message; it was not sent.");
        return tr("The server had an internal error.") + detail;
    }
    return tr("Unknown error.") + detail;
}

QString ChatSession::partnerLeftText(LeaveReason reason)
{
    switch (reason) {
    case LeaveReason::Left: return tr("The stranger left the chat.");
    case LeaveReason::Next: return tr("The stranger moved on to someone new.");
    case LeaveReason::Disconnected:
        return tr("The stranger's connection was lost; the chat has ended.");
    }
    return tr("The stranger left the chat.");
}

// ---- state ----------------------------------------------------------------------------------

void ChatSession::setState(State state)
{
    if (m_state == state)
        return;
    qCDebug(lcSession) << m_userId << m_state << "->" << state;
    m_state = state;
    if (!inRoomState(state))
        setPartnerTyping(false);
    emit stateChanged(state);
}

void ChatSession::setRoom(qint64 roomId, const QString &partnerId,
                          const QStringList &commonInterests, const QString &commonLanguage)
{
    if (m_roomId == roomId && m_partnerId == partnerId && m_commonInterests == commonInterests &&
        m_commonLanguage == commonLanguage)
        return;
    m_roomId = roomId;
    m_partnerId = partnerId;
    m_commonInterests = commonInterests;
    m_commonLanguage = commonLanguage;
    emit roomChanged();
}

QString ChatSession::matchedText(const Matched &m)
{
    // One sentence each way, so a translation can join them as its language does.
    const QString interests = QLocale().createSeparatedList(m.commonInterests);
    const QString language = languageName(m.commonLanguage);
    if (m.commonLanguage.isEmpty()) {
        return m.commonInterests.isEmpty()
                   ? tr("You're now chatting with a random stranger. Say hi!")
                   : tr("You're now chatting with a random stranger. Say hi! You both like %1.")
                         .arg(interests);
    }
    return m.commonInterests.isEmpty()
               ? tr("You're now chatting with a random stranger. Say hi! You both speak %1.")
                     .arg(language)
               : tr("You're now chatting with a random stranger. Say hi! You both like %1 and "
                    "speak %2.")
                     .arg(interests, language);
}

void ChatSession::setLanguage(const QString &tag)
{
    if (!normaliseLanguage(tag, m_language))
        m_language.clear();
}

QString ChatSession::languageName(const QString &code)
{
    // The shared language is the one this app sent: its interface language.
    if (code == QLatin1String("en"))
        return tr("English");
    if (code == QLatin1String("zh"))
        return tr("Chinese");
    const QLocale locale(code);
    return locale.language() == QLocale::C ? code : locale.nativeLanguageName();
}

void ChatSession::setOnline(int online)
{
    if (m_online == online)
        return;
    m_online = online;
    emit onlineCountChanged(online);
}

void ChatSession::setPartnerTyping(bool typing)
{
    if (!typing)
        m_partnerTypingExpiry.stop();
    if (m_partnerTyping == typing)
        return;
    m_partnerTyping = typing;
    emit partnerTypingChanged(typing);
}

void ChatSession::addNotice(const QString &text)
{
    m_model->appendSystem(text);
    emit notice(text);
}

} // namespace anonchat::client
