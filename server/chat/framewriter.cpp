#include "server/chat/framewriter.h"

#include "server/net/clientsocket.h"

namespace anonchat::server {

FrameWriter::FrameWriter(QObject *parent)
    : QObject(parent)
{
    m_timer.setSingleShot(true);
    m_timer.setInterval(0);
    connect(&m_timer, &QTimer::timeout, this, &FrameWriter::flush);
}

void FrameWriter::send(ClientSocket *socket, const QByteArray &utf8)
{
    socket->sendText(utf8);
    if (!socket->isOpen())
        return;
    if (m_unflushed.empty() || m_unflushed.back() != socket) {
        if (m_unflushed.empty() && !m_timer.isActive())
            m_timer.start(); // a frame sent outside the handlers that flush at their end
        m_unflushed.emplace_back(socket);
    }
}

void FrameWriter::flush()
{
    std::vector<QPointer<ClientSocket>> sockets;
    sockets.swap(m_unflushed);
    for (const QPointer<ClientSocket> &socket : sockets) {
        if (socket)
            socket->flush();
    }
    m_timer.stop();
}

} // namespace anonchat::server
