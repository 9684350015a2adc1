// Connection: the client's WebSocket link to a server (reconnect, resume, outbox, keep-alive).
#pragma once

#include "shared/codec.h"

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QSslConfiguration>
#include <QStringList>
#include <QTimer>
#include <QUrl>
#include <QVector>
#include <functional>
#include <optional>

class QWebSocket;

namespace anonchat::client {

/**
 * The client's link to a server: one QWebSocket speaking PROTOCOL.md through the protocol
 * library (nothing here builds or parses JSON). Reconnects by itself with exponential backoff and
 * jitter after a drop, sends `resume` (with the highest message id seen, `last_id`) as the first
 * event of the new connection, and keeps an outbox of chat messages the server has not
 * acknowledged yet (acknowledged = our `new_message` came back with its nonce). After a resume
 * into the same room the outbox is sent again with the same nonces, so nothing is lost and
 * nothing is stored twice.
 *
 * Frames are delivered in order through received(). The resume handshake is resolved before
 * anything is delivered: after a successful resume the provisional `welcome` of the new
 * connection is swallowed and `resumed` is delivered; after a failed one the `error
 * resume_failed` is delivered first and then the held-back `welcome` of the new identity.
 */
class Connection : public QObject
{
    Q_OBJECT
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
    Q_PROPERTY(QString userId READ userId NOTIFY identityChanged)
public:
    enum class State {
        Disconnected, ///< not opened, or closed by close()
        Connecting,   ///< no identity yet: the first connection (or its retries) is under way
        Connected,    ///< `welcome` or `resumed` received: frames can be sent
        Reconnecting, ///< dropped with an identity; retrying with backoff, then resuming
    };
    Q_ENUM(State)

    /// One chat message waiting for its ack.
    struct OutboxEntry {
        QString nonce;
        QString content;
        qint64 roomId = 0; ///< the room it was written in (0: none known)
    };

    explicit Connection(QObject *parent = nullptr);
    ~Connection() override;

    /// `http://host[:port][/]`, `https://…`, `ws://host[:port]/ws` or `wss://…/ws` (an empty
    /// path becomes `/ws`): the WebSocket URL to use, or an invalid QUrl for anything else.
    static QUrl webSocketUrl(const QUrl &serverUrl);

    /// The reconnect delay before attempt `attempt` (0-based): `initialMs * 2^attempt`, capped
    /// at `maxMs`, scaled by a jitter factor in [0.5, 1.0] taken from `jitter01` in [0, 1].
    static int backoffDelayMs(int attempt, int initialMs, int maxMs, double jitter01);

    /// Connects to `serverUrl` (any form webSocketUrl() accepts). False for an unusable URL.
    bool open(const QUrl &serverUrl);
    /// Closes for good (no reconnect); forgets the identity and the outbox.
    void close();

    State state() const { return m_state; }
    bool isConnected() const { return m_state == State::Connected; }
    /// The WebSocket URL in use.
    QUrl url() const { return m_url; }
    QString userId() const { return m_userId; }
    /// Limits announced by the server's latest `welcome`.
    protocol::Limits limits() const { return m_limits; }
    /// The proof of work this connection's `welcome` asked for (also after a resume: the
    /// challenge is the connection's); none when the server does not ask.
    std::optional<protocol::PowChallenge> powChallenge() const { return m_pow; }
    /// Highest `new_message` id seen; sent as `last_id` on resume. -1: none yet.
    qint64 lastMessageId() const { return m_lastMessageId; }
    /// The room the server has us in, as far as this connection has seen (0: none).
    qint64 roomId() const { return m_roomId; }

    /// Sends one event. False (nothing sent) unless connected. Use sendChatMessage() for chat
    /// messages so that they survive a drop.
    bool send(const protocol::ClientMessage &message);

    /// Sends a chat message with a fresh nonce and keeps it in the outbox until acked; returns
    /// the nonce. Works while reconnecting too: the message goes out after the resume.
    QString sendChatMessage(const QString &content);
    QVector<OutboxEntry> outbox() const { return m_outbox; }

    /// Backoff bounds (tests shorten them).
    void setReconnectDelays(int initialMs, int maxMs);
    int initialReconnectDelayMs() const { return m_initialDelayMs; }
    int maxReconnectDelayMs() const { return m_maxDelayMs; }
    /// Reconnect attempts since the last successful `welcome`/`resumed`.
    int reconnectAttempt() const { return m_attempt; }
    /// The delay chosen for the pending (or last) reconnect, -1 if none yet.
    int lastReconnectDelayMs() const { return m_lastDelayMs; }

    /// Client-side keep-alive: a ping every `intervalMs`; the link is dropped (and reconnected)
    /// when nothing at all has been heard for `timeoutMs`. Also bounds the opening handshake.
    void setKeepAlive(int intervalMs, int timeoutMs);

    /// TLS settings for wss:// from the next connection on (e.g. a private CA to trust); the
    /// system's defaults otherwise.
    void setSslConfiguration(const QSslConfiguration &configuration)
    {
        m_sslConfiguration = configuration;
    }

signals:
    void stateChanged(anonchat::client::Connection::State state);
    /// Every decoded frame from the server, in order, after the resume handshake was resolved
    /// (see the class comment).
    void received(const anonchat::protocol::ServerMessage &message);
    /// A frame from the server that did not decode (a bug on one side).
    void protocolError(const QString &description);
    /// A transport problem (refused, lost, handshake failed), for display; retries go on.
    void transportError(const QString &description);
    /// A new identity: the first welcome, or the welcome after a failed resume.
    void identityChanged(const QString &userId);
    /// Chat messages that will never be acknowledged (refused by the server, their room gone,
    /// or the identity lost), by nonce.
    void messagesFailed(const QStringList &nonces);

private:
    void connectSocket();
    void onSocketConnected();
    void onSocketGone(QWebSocket *socket, const QString &why);
    void onText(const QString &text);
    /// The answer to our resume (resumed, or resume_failed); false for any other message.
    bool onResumeAnswer(const protocol::ServerMessage &message);
    void onKeepAlive();
    void deliver(const protocol::ServerMessage &message);
    void noteServerMessage(const protocol::ServerMessage &message);
    void adoptWelcome(const protocol::Welcome &welcome);
    void acknowledge(const protocol::NewMessage &message);
    void failOutbox(QVector<OutboxEntry> entries); // by value: often m_outbox itself
    void failOutboxIf(const std::function<bool(const OutboxEntry &)> &predicate);
    void scheduleReconnect();
    void setState(State state);
    void flushOutbox();

    QPointer<QWebSocket> m_socket;
    QUrl m_url;
    State m_state = State::Disconnected;
    QString m_userId;
    QString m_resumeToken;
    protocol::Limits m_limits;
    std::optional<protocol::PowChallenge> m_pow;
    qint64 m_lastMessageId = -1;
    qint64 m_roomId = 0;
    /// The `welcome` of a connection whose `resume` is outstanding: delivered only if it fails.
    std::optional<protocol::Welcome> m_heldWelcome;
    bool m_resumeSent = false;
    QVector<OutboxEntry> m_outbox;
    QTimer m_reconnectTimer;
    QTimer m_resendTimer;
    QTimer m_keepAliveTimer;
    QElapsedTimer m_lastHeard;
    int m_initialDelayMs = 500;
    int m_maxDelayMs = 15000;
    int m_lastDelayMs = -1;
    int m_attempt = 0;
    int m_keepAliveIntervalMs = 15000;
    int m_keepAliveTimeoutMs = 45000;
    std::optional<QSslConfiguration> m_sslConfiguration;
};

} // namespace anonchat::client
