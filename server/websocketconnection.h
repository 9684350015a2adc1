#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QHostAddress>
#include <QObject>
#include <QString>

class QSocketNotifier;
class QTcpSocket;

namespace anonchat::server {

/// RFC 6455 opcodes.
enum class WsOpcode : quint8 {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xa,
};

/// RFC 6455 close codes the server uses.
enum WsCloseCode : int {
    WsCloseNormal = 1000,
    WsCloseGoingAway = 1001,
    WsCloseProtocolError = 1002,
    WsCloseInvalidData = 1007, ///< a text message that is not UTF-8
    WsClosePolicyViolated = 1008,
    WsCloseTooBig = 1009,
};

/// The head of one frame from a client, as read off the wire.
struct WsFrameHeader {
    bool fin = false;
    WsOpcode opcode = WsOpcode::Continuation;
    quint64 length = 0; ///< payload bytes
    quint8 mask[4] = {0, 0, 0, 0};
    int headerBytes = 0; ///< 6 to 14
};

enum class WsParse {
    NeedMore,      ///< the head is not complete yet
    Ok,            ///< `header` holds it (the payload may still be incomplete)
    ProtocolError, ///< not a valid client frame: close with 1002
    TooBig,        ///< payload over the limit (`length`, `headerBytes` set): close with 1009
};

/// Reads a client frame's head (RFC 6455 5.2): masked, no reserved bits (no extension is
/// negotiated), a known opcode, control frames final and at most 125 bytes.
WsParse parseClientFrameHeader(QByteArrayView data, quint64 maxPayload, WsFrameHeader &header);

/// Unmasks `size` bytes in place; `offset` is their position in the payload.
void unmask(char *data, qsizetype size, const quint8 mask[4], quint64 offset = 0);

/// Appends one unmasked, final server frame.
void appendServerFrame(QByteArray &out, WsOpcode opcode, QByteArrayView payload);

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 4.2.2).
QByteArray webSocketAccept(const QByteArray &key);

/**
 * One WebSocket connection after the upgrade, server side (RFC 6455), written for this server
 * instead of QWebSocket: an idle connection costs a few hundred bytes (QWebSocket over a
 * QTcpSocket keeps ~21 KiB: ring-buffer chunks of 16 and 32 KiB that Qt never returns, the
 * handshake's request and a dozen objects), and a frame costs one read() and one write().
 *
 * Plain TCP works on the descriptor itself (a read notifier always, a write notifier only while
 * output waits); TLS works through the QSslSocket that did the handshake. Text messages arrive
 * whole (fragments joined) and checked as UTF-8; ping is answered; the close handshake sends a
 * close frame, then (plain TCP) FIN, and waits up to two seconds for the client's answer. A frame
 * over the limit is refused from its head (1009), invalid UTF-8 closes with 1007, anything else not
 * RFC 6455 with 1002.
 *
 * Events go to one Handler, not to signals: no connection objects per socket. The handler's
 * disconnected() comes exactly once, from the event loop (never from inside a call made on the
 * connection), and the connection may be deleted from there.
 */
class WebSocketConnection : public QObject
{
    Q_OBJECT
public:
    /// What a connection reports. `utf8` is the connection's own copy of the message.
    class Handler
    {
    public:
        virtual void textReceived(WebSocketConnection *connection, const QByteArray &utf8) = 0;
        virtual void binaryReceived(WebSocketConnection *connection) = 0;
        virtual void pongReceived(WebSocketConnection *connection) = 0;
        virtual void disconnected(WebSocketConnection *connection) = 0;

    protected:
        ~Handler() = default;
    };

    /// Takes the plain TCP descriptor `fd` (non-blocking from here on). `handshake` (the 101
    /// response) is written first; `unread` is what the client sent after its request head.
    WebSocketConnection(int fd, const QByteArray &handshake, const QByteArray &unread,
                        Handler *handler, quint64 maxMessageBytes, QObject *parent = nullptr);
    /// Takes `socket` (a QSslSocket, encrypted), whose request head has been read.
    WebSocketConnection(QTcpSocket *socket, const QByteArray &handshake, Handler *handler,
                        quint64 maxMessageBytes, QObject *parent = nullptr);
    ~WebSocketConnection() override;

    QHostAddress peerAddress() const { return m_peerAddress; }
    quint16 peerPort() const { return m_peerPort; }
    /// Neither closing nor closed: messages may be sent and are read.
    bool isOpen() const { return m_state == State::Open; }

    /// Queues a text message (UTF-8). Nothing is written until flush(), so that the owner
    /// writes all a handler's frames for a socket at once; what the socket does not take then
    /// goes out when it is writable.
    void sendText(QByteArrayView utf8);
    void ping();
    /// Writes what is queued, as far as the socket takes it now.
    void flush();
    /// Queued and not yet taken by the kernel.
    qint64 bytesToWrite() const;
    /// Since when a frame from the client has been incomplete (ms on QDeadlineTimer's clock),
    /// or -1.
    qint64 incompleteSinceMs() const { return m_incompleteSinceMs; }

    /// Starts the close handshake with `code`; the connection ends when the client answers,
    /// drops, or after two seconds.
    void close(int code, const QString &reason = {});
    /// Drops the connection now (no close frame).
    void abort();
    /// Forgets the handler: no more events (for a server being destroyed).
    void detach() { m_handler = nullptr; }

    /// The owner's mark: counted in its connection budget.
    bool admitted() const { return m_admitted; }
    void setAdmitted(bool admitted) { m_admitted = admitted; }

private:
    enum class State : quint8 { Open, Closing, Closed };

    void init(const QByteArray &handshake);
    void onReadable();
    void onWritable();
    /// Parses what `m_in` holds (or `data`, when m_in is empty); false once the connection failed.
    bool consume(char *data, qsizetype size);
    bool onFrame(const WsFrameHeader &header, char *payload);
    /// A whole message to the handler; false once the connection failed or closed.
    bool deliver(WsOpcode opcode, const char *data, qsizetype size);
    void failConnection(int code, const QString &reason);
    void queueFrame(WsOpcode opcode, QByteArrayView payload);
    /// Closes the transport and reports disconnected() from the event loop.
    void finish();
    void setWriteInterest(bool on);

    Handler *m_handler = nullptr;
    int m_fd = -1;                  ///< plain TCP
    QTcpSocket *m_socket = nullptr; ///< TLS
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    QByteArray m_in;      ///< an incomplete frame
    QByteArray m_message; ///< fragments of a message
    QByteArray m_out;     ///< written to a plain descriptor when it takes it
    quint64 m_maxMessageBytes = 0;
    quint64 m_skip = 0; ///< payload bytes of a refused frame still to be skipped
    qint64 m_incompleteSinceMs = -1;
    QHostAddress m_peerAddress;
    quint16 m_peerPort = 0;
    State m_state = State::Open;
    WsOpcode m_messageOpcode = WsOpcode::Continuation; ///< of the fragmented message under way
    bool m_shutWhenFlushed = false;                    ///< our close frame is queued: FIN after it
    bool m_writeShut = false;                          ///< that FIN is sent
    bool m_finishWhenFlushed = false; ///< the client closed: end once our answer is out
    bool m_discardInput = false;      ///< after a protocol error the stream is not parsed
    bool m_admitted = false;
};

} // namespace anonchat::server
