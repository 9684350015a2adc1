#pragma once

// Batches a node's outgoing frames: one write() per socket for all a handler sent it.

#include <QByteArray>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <vector>

namespace anonchat::server {

class ClientSocket;

/**
 * Frames are queued on their sockets as they are sent and written out by flush(), called at the
 * end of the hot handlers (a frame, a commit: FlushAtEnd); what other code sends (an away
 * partner, a timer, the cluster) goes out on the next turn of the event loop.
 */
class FrameWriter : public QObject
{
    Q_OBJECT
public:
    explicit FrameWriter(QObject *parent = nullptr);

    /// One encoded frame (UTF-8 JSON) as a text message; closes a client that does not read
    /// (1008, ClientSocket's limit).
    void send(ClientSocket *socket, const QByteArray &utf8);
    /// Writes what send() queued: what a socket does not take now goes out when it is next
    /// writable. A failed write reports disconnected() later, from the event loop: nothing
    /// re-enters here.
    void flush();

    /// Flushes when a handler returns.
    struct FlushAtEnd {
        FrameWriter *writer;
        ~FlushAtEnd() { writer->flush(); }
    };

private:
    std::vector<QPointer<ClientSocket>> m_unflushed; ///< written to since the last flush()
    QTimer m_timer; ///< a zero timer: the next turn of the loop, no system call to arm it
};

} // namespace anonchat::server
