// ChatSession: one user's chat as a state machine over a Connection, filling the model.
#pragma once

#include "client/core/connection.h"
#include "client/core/messagelistmodel.h"
#include "client/core/powsolver.h"
#include "shared/messages.h"

#include <QElapsedTimer>
#include <QObject>
#include <QStringList>
#include <QTimer>
#include <QUrl>

namespace anonchat::client {

/**
 * One user's chat as a state machine over a Connection, filling a MessageListModel. Widgets
 * show its state and model and call its actions; they never see the protocol.
 *
 * States (see state()):
 *  - Offline: no connection (before open(), after close()).
 *  - Connecting: no usable link (first connection, or reconnecting after a drop). The room, the
 *    partner and the conversation are kept; messages written now are sent after the resume.
 *  - Idle: connected, neither queued nor in a room.
 *  - Searching: in the matching queue.
 *  - Chatting: in a room with a connected partner.
 *  - PartnerAway: in a room whose partner's connection dropped (it may come back).
 *  - Ended: the room ended (we left, the partner left, or it was lost); the conversation stays
 *    visible until start() or next().
 */
class ChatSession : public QObject
{
    Q_OBJECT
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
    Q_PROPERTY(QString userId READ userId NOTIFY userIdChanged)
    Q_PROPERTY(QString partnerId READ partnerId NOTIFY roomChanged)
    Q_PROPERTY(qint64 roomId READ roomId NOTIFY roomChanged)
    Q_PROPERTY(QStringList commonInterests READ commonInterests NOTIFY roomChanged)
    Q_PROPERTY(int onlineCount READ onlineCount NOTIFY onlineCountChanged)
    Q_PROPERTY(bool partnerTyping READ partnerTyping NOTIFY partnerTypingChanged)
    Q_PROPERTY(bool connected READ isConnected NOTIFY connectedChanged)
    Q_PROPERTY(int powProgress READ powProgress NOTIFY powProgressChanged)
public:
    enum class State { Offline, Connecting, Idle, Searching, Chatting, PartnerAway, Ended };
    Q_ENUM(State)

    /// Why sendMessage() refused a message (or Accepted).
    enum class SendResult {
        Accepted,  ///< shown as Pending; goes out now or after the reconnect
        Empty,     ///< nothing left after trimming white space
        TooLong,   ///< over the server's limit (500 code points)
        NotInRoom, ///< no room to send to
    };
    Q_ENUM(SendResult)

    /// Creates and owns its Connection and MessageListModel.
    explicit ChatSession(QObject *parent = nullptr);
    /// Uses the given ones (not owned; they must outlive this session).
    ChatSession(Connection *connection, MessageListModel *model, QObject *parent = nullptr);
    ~ChatSession() override;

    Connection *connection() const { return m_connection; }
    MessageListModel *model() const { return m_model; }

    /// Connects to a server (`http(s)://…` or `ws(s)://…/ws`). False for an unusable URL.
    bool open(const QUrl &serverUrl);
    /// Leaves the room or queue politely, then closes for good: Offline.
    void close();

    State state() const { return m_state; }
    bool isConnected() const { return m_connection->isConnected(); }
    QString userId() const { return m_userId; }
    QString partnerId() const { return m_partnerId; }
    qint64 roomId() const { return m_roomId; }
    QStringList commonInterests() const { return m_commonInterests; }
    /// The language the partner and this user both gave (`zh`), empty when none.
    QString commonLanguage() const { return m_commonLanguage; }
    int onlineCount() const { return m_online; }
    bool partnerTyping() const { return m_partnerTyping; }
    /// Searching while the proof of work the server asks for is computed: its progress in
    /// percent of the expected work; -1 otherwise.
    int powProgress() const { return m_powProgress; }
    /// The interests of the last start()/next(), normalised.
    QStringList interests() const { return m_interests; }
    /// The language sent as `lang` with every join (the app's interface language): a BCP 47 tag
    /// or a locale name (`zh_CN`), kept as its primary subtag; empty or invalid: none.
    void setLanguage(const QString &tag);
    QString language() const { return m_language; }
    /// A language code's name for the notice: "English", "Chinese" (translated), else native.
    static QString languageName(const QString &code);
    /// The notice of a match: what the two share, if anything.
    static QString matchedText(const protocol::Matched &m);

    /// Joins the queue (Idle, Ended; while Connecting it happens once connected). False, with a
    /// notice, for too many or too long interests; false in a room (use next()).
    bool start(const QStringList &interests = {});
    /// Leaves the current room (if any) and joins the queue at once.
    bool next(const QStringList &interests = {});
    /// Searching: leaves the queue. Chatting/PartnerAway: leaves the room. Ended: back to Idle.
    void leave();
    /// Sends a chat message (trimmed). Refused when empty, over the limit, or outside a room.
    SendResult sendMessage(const QString &text);
    /// Call with true on every edit of the input, false when it is cleared. Debounced: `typing
    /// true` at most every 2 s while typing, `typing false` after 3 s without edits. Sending a
    /// message ends typing too (the server tells the partner itself).
    void setTyping(bool typing);
    /// Reports the partner (reason optional, at most 200 characters).
    bool report(const QString &reason = {});
    /// Asks for `stats`; the answer comes as statsReceived().
    bool requestStats();

    /// Typing timings (tests shorten them): resend interval, idle timeout, partner expiry.
    void setTypingTimings(int repeatMs, int idleMs, int expiryMs);

    /// The user-facing text for an `error` frame (translated).
    static QString errorText(const protocol::Error &error);
    /// The notice for `partner_left` with `reason` (translated).
    static QString partnerLeftText(protocol::LeaveReason reason);

public slots:
    /// Handles one event from the server (connected to Connection::received).
    void handleServerMessage(const anonchat::protocol::ServerMessage &message);

signals:
    void stateChanged(anonchat::client::ChatSession::State state);
    void userIdChanged(const QString &userId);
    /// roomId, partnerId or commonInterests changed.
    void roomChanged();
    void onlineCountChanged(int online);
    void partnerTypingChanged(bool typing);
    void connectedChanged(bool connected);
    /// A new message from the partner (for unread counters and notifications).
    void messageArrived(const QString &text);
    /// A notice was added to the model (the same text).
    void notice(const QString &text);
    void statsReceived(int online, int queued, int activeRooms);
    void powProgressChanged(int percent);

private:
    void init();
    void setState(State state);
    void setRoom(qint64 roomId, const QString &partnerId, const QStringList &commonInterests,
                 const QString &commonLanguage);
    void setOnline(int online);
    void setPartnerTyping(bool typing);
    void addNotice(const QString &text);
    void addMessage(const protocol::NewMessage &message);
    void stopOwnTyping();
    void joinQueue(bool viaNext);
    void sendJoin(bool viaNext);
    void onPowSolved(const QByteArray &challenge, const QString &nonce);
    void setPowProgress(int percent);
    void stopPow();
    bool normalise(const QStringList &raw);
    void onConnectionState(Connection::State state);

    void on(const protocol::Welcome &m);
    void on(const protocol::Waiting &m);
    void on(const protocol::QueueLeft &m);
    void on(const protocol::Matched &m);
    void on(const protocol::NewMessage &m);
    void on(const protocol::PartnerTyping &m);
    void on(const protocol::PartnerAway &m);
    void on(const protocol::PartnerBack &m);
    void on(const protocol::PartnerLeft &m);
    void on(const protocol::RoomLeft &m);
    void on(const protocol::Resumed &m);
    void on(const protocol::Reported &m);
    void on(const protocol::Stats &m);
    void on(const protocol::Error &m);

    Connection *m_connection = nullptr;
    MessageListModel *m_model = nullptr;
    State m_state = State::Offline;
    /// What we were doing when the link dropped: decides what a resume (or its failure) means.
    State m_stateBeforeDrop = State::Offline;
    bool m_joinWhenConnected = false;
    QString m_userId;
    QString m_partnerId;
    qint64 m_roomId = 0;
    QStringList m_commonInterests;
    QString m_commonLanguage;
    QString m_language; ///< sent as `lang`
    QStringList m_interests;
    int m_online = 0;
    int m_maxMessageChars = protocol::kMaxMessageChars;

    // Admission by proof of work (welcome.pow): solved on PowSolver's thread.
    PowSolver *m_powSolver = nullptr;
    bool m_powAdmitted = false; ///< this identity's proof was accepted (it survives a resume)
    QByteArray m_powSolvedFor;  ///< the challenge m_powNonce solves
    QString m_powNonce;
    bool m_powJoinViaNext = false; ///< what to send once solved
    int m_powProgress = -1;

    bool m_partnerTyping = false;
    QTimer m_partnerTypingExpiry;
    bool m_typingSent = false; ///< what the partner was last told about us
    QElapsedTimer m_typingSentAt;
    QTimer m_typingIdle;
    int m_typingRepeatMs = 2000;
};

} // namespace anonchat::client
