#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QHostAddress>
#include <QObject>
#include <QPointer>
#include <QString>

class QTcpSocket;
class QWebSocket;

namespace anonchat::server {

/// RFC 6455 close codes the server sends.
enum WsCloseCode : int {
    WsCloseNormal = 1000,
    WsCloseGoingAway = 1001,
    WsCloseProtocolError = 1002,
    WsCloseInvalidData = 1007, ///< a text message that is not UTF-8
    WsClosePolicyViolated = 1008,
    WsCloseTooBig = 1009,
    WsCloseTryAgainLater = 1013,
};

/**
 * One client's WebSocket as the server holds it: Qt's QWebSocket does the RFC 6455 work
 * (framing, fragments, UTF-8, ping/pong, the close handshake, the size limits: 1009), and this
 * class adds what PROTOCOL.md promises around it, watched on the QTcpSocket underneath, never by
 * parsing frames:
 *
 * - output is bounded where input arrives too: Qt answers pings by itself, so a client that
 *   sends pings and never reads is closed (1008) once more than `maxQueuedBytes` wait for it;
 * - a frame left unfinished: incompleteSinceMs() says since when bytes have been arriving
 *   without completing a message (the owner's sweep closes it after its deadline);
 * - the close: the connection ends at most two seconds after close(), read or not.
 *
 * What a client sends is read at most `readBufferBytes` per wake-up (setReadBufferSize), so one
 * connection streaming cannot starve the others on its thread.
 *
 * Events go to one Handler. Its disconnected() comes exactly once, from the event loop (never
 * from inside a call made on the connection), and the connection may be deleted from there.
 */
class ClientSocket : public QObject
{
    Q_OBJECT
public:
    /// What a connection reports. `utf8` is the message as UTF-8.
    class Handler
    {
    public:
        virtual void textReceived(ClientSocket *connection, const QByteArray &utf8) = 0;
        virtual void binaryReceived(ClientSocket *connection) = 0;
        virtual void pongReceived(ClientSocket *connection) = 0;
        virtual void disconnected(ClientSocket *connection) = 0;

    protected:
        ~Handler() = default;
    };

    struct Limits {
        qint64 maxMessageBytes = 16 * 1024;  ///< a frame or a whole message (1009 beyond)
        qint64 maxQueuedBytes = 1024 * 1024; ///< output waiting for the client (1008 beyond)
    };

    /// Bytes read from one connection per wake-up: two frames of the largest size.
    static qint64 readBufferBytes(const Limits &limits) { return 2 * limits.maxMessageBytes + 64; }

    /// Takes `socket` (upgraded by QWebSocketServer) and `tcp`, the socket under it; both become
    /// this object's.
    ClientSocket(QWebSocket *socket, QTcpSocket *tcp, Handler *handler, const Limits &limits,
                 QObject *parent = nullptr);
    ~ClientSocket() override;

    QHostAddress peerAddress() const { return m_peerAddress; }
    quint16 peerPort() const { return m_peerPort; }
    /// Neither closing nor closed: messages may be sent and are read.
    bool isOpen() const { return m_state == State::Open; }

    /// Queues a text message (UTF-8). It goes out with flush(), or on the next turn of the event
    /// loop, so the frames a handler sends one socket leave in one write. Past `maxQueuedBytes`
    /// waiting, the client does not read: the connection is closed with 1008.
    void sendText(QByteArrayView utf8);
    void ping();
    /// Writes what is queued, as far as the socket takes it now.
    void flush();
    /// Queued and not yet taken by the kernel.
    qint64 bytesToWrite() const;
    /// Since when a frame has been under way without completing a message (ms on
    /// QDeadlineTimer's clock), or -1.
    qint64 incompleteSinceMs() const;
    /// When bytes last arrived from the client (a ping, a frame or a part of one; ms on
    /// QDeadlineTimer's clock): what keep-alive counts.
    qint64 lastReadMs() const { return m_lastReadMs; }

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

    void onText(const QString &message);
    void onBinary();
    void onPong();
    /// After Qt has read what arrived: the unfinished-frame clock and the output bound.
    void afterRead();
    void closeIfNotReading();
    /// Reports disconnected() from the event loop, once.
    void finish();

    Handler *m_handler = nullptr;
    QWebSocket *m_socket = nullptr;
    QPointer<QTcpSocket> m_tcp;
    Limits m_limits;
    QHostAddress m_peerAddress;
    quint16 m_peerPort = 0;
    qint64 m_incompleteSinceMs = -1;
    qint64 m_lastReadMs = 0;
    quint64 m_messages = 0;     ///< messages and pongs completed
    quint64 m_messagesMark = 0; ///< m_messages when m_incompleteSinceMs was set
    State m_state = State::Open;
    bool m_admitted = false;
};

} // namespace anonchat::server
