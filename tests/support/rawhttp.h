// A TCP client that writes an HTTP request byte for byte and reads the answer as it comes.
#pragma once

#include <QByteArray>
#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QTcpSocket>
#include <QTest>

namespace anonchat::test {

/// One answer as the client saw it.
struct HttpReply {
    QByteArray raw;
    int status = 0;                        ///< 0: no complete status line and head
    QHash<QByteArray, QByteArray> headers; ///< lower-case names
    QByteArray body;

    QByteArray header(const QByteArray &lowerCaseName) const
    {
        return headers.value(lowerCaseName);
    }
};

inline HttpReply parseReply(const QByteArray &raw)
{
    HttpReply r;
    r.raw = raw;
    const qsizetype end = raw.indexOf("\r\n\r\n");
    if (end < 0)
        return r;
    const QList<QByteArray> lines = raw.left(end).split('\n');
    const QList<QByteArray> status = lines.first().trimmed().split(' ');
    if (status.size() < 2 || status[0] != "HTTP/1.1")
        return r;
    r.status = status[1].toInt();
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const qsizetype colon = lines[i].indexOf(':');
        if (colon > 0)
            r.headers.insert(lines[i].left(colon).trimmed().toLower(),
                             lines[i].mid(colon + 1).trimmed());
    }
    r.body = raw.mid(end + 4);
    return r;
}

/// A TCP client that writes raw bytes and collects whatever comes back.
class RawHttpClient
{
public:
    static constexpr int kWaitMs = 5000;

    /// `from`: the local address to connect from (127.0.0.0/8 is all ours); `to`: the server's.
    explicit RawHttpClient(quint16 port, const QHostAddress &from = {},
                           const QHostAddress &to = QHostAddress(QHostAddress::LocalHost))
    {
        QObject::connect(&m_socket, &QTcpSocket::readyRead, &m_socket,
                         [this] { m_received += m_socket.readAll(); });
        if (!from.isNull())
            m_socket.bind(from);
        m_socket.connectToHost(to, port);
    }

    bool waitConnected(int timeoutMs = kWaitMs)
    {
        return QTest::qWaitFor(
            [this] { return m_socket.state() == QAbstractSocket::ConnectedState; }, timeoutMs);
    }
    void write(const QByteArray &bytes) { m_socket.write(bytes); }
    bool isClosed() const { return m_socket.state() == QAbstractSocket::UnconnectedState; }
    /// True once the server has closed (or reset) the connection.
    bool waitClosed(int timeoutMs = kWaitMs)
    {
        return QTest::qWaitFor([this] { return isClosed(); }, timeoutMs);
    }
    bool waitForHead(int timeoutMs = kWaitMs)
    {
        return QTest::qWaitFor([this] { return m_received.contains("\r\n\r\n") || isClosed(); },
                               timeoutMs);
    }
    QByteArray received()
    {
        if (m_socket.bytesAvailable() > 0)
            m_received += m_socket.readAll();
        return m_received;
    }
    HttpReply reply() { return parseReply(received()); }
    QTcpSocket &socket() { return m_socket; }

private:
    QTcpSocket m_socket;
    QByteArray m_received;
};

} // namespace anonchat::test
