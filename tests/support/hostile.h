#pragma once
// Support for hostile-client tests against the real `anonchat-server`: Flooder, a WebSocket client
// on a plain POSIX socket driven from a thread of its own (so that the flood never runs on the
// test's event loop, nor on an in-process server's), writing ping frames as fast as the socket
// takes them and, when told to, reading (and counting) what comes back; the RSS a flood may add;
// timed HTTP requests.

#include "tests/support/rawwebsocket.h"
#include "tests/support/serverprocess.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QProcessEnvironment>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace anonchat::test {

/// How much the server's RSS may grow under a flood beyond its 1 MiB output queue: a few MiB;
/// more under AddressSanitizer (its quarantine, made small here for `server`, which has not
/// started yet; its redzones and caches), as in tst_faults.
inline qint64 floodRssBoundKiB(ServerProcess &server)
{
    qint64 bound = 1024 + 4 * 1024;
#ifdef ANONCHAT_TEST_ASAN
    bound += 8 * 1024 + 4 * 1024;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    const QString asan = env.value(QStringLiteral("ASAN_OPTIONS"));
    env.insert(QStringLiteral("ASAN_OPTIONS"),
               asan + (asan.isEmpty() ? "" : ":") + QStringLiteral("quarantine_size_mb=8"));
    server.setEnvironment(env);
#else
    Q_UNUSED(server);
#endif
    return bound;
}

inline qint64 median(QList<qint64> values)
{
    std::sort(values.begin(), values.end());
    return values.isEmpty() ? -1 : values[values.size() / 2];
}

/// `GET path` on a fresh connection; the milliseconds until the response head, -1 if none.
inline qint64 timedGet(quint16 port, const QByteArray &path, int *status)
{
    RawWebSocket http;
    QElapsedTimer clock;
    clock.start();
    if (!http.connectTo(port))
        return -1;
    const QByteArray request = "GET " + path +
                               " HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port) +
                               "\r\nConnection: close\r\n\r\n";
    *status = http.upgrade(request, {}, 3000);
    return *status > 0 ? clock.elapsed() : -1;
}

/// Connects and upgrades synchronously (open()), then floods from its thread (start()).
class Flooder
{
public:
    ~Flooder()
    {
        stop();
        if (m_fd >= 0)
            ::close(m_fd);
    }

    /// Connects and upgrades synchronously; `receiveBuffer` > 0 shrinks SO_RCVBUF first.
    bool open(quint16 port, int receiveBuffer = 0)
    {
        m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (receiveBuffer > 0)
            ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
        const timeval timeout{5, 0};
        ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(m_fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
            return false;
        const QByteArray request = wire::upgradeRequest(port);
        if (::send(m_fd, request.constData(), size_t(request.size()), MSG_NOSIGNAL) < 0)
            return false;
        QByteArray head;
        char byte = 0;
        while (!head.endsWith("\r\n\r\n") && ::recv(m_fd, &byte, 1, 0) == 1)
            head.append(byte);
        return head.startsWith("HTTP/1.1 101");
    }

    /// Floods pings for at most `maxMs` or `maxBytes`; stops early when the server ends the
    /// connection or (when not reading) takes nothing for `stallMs`.
    void start(bool read, qint64 maxBytes, int maxMs, int stallMs = 3000)
    {
        m_thread = std::thread(
            [this, read, maxBytes, maxMs, stallMs] { run(read, maxBytes, maxMs, stallMs); });
    }
    void stop()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
    }
    bool running() const { return !m_done; }

    /// After stop(): reads what is left until the end of the stream (true) or `timeoutMs`.
    bool drain(int timeoutMs)
    {
        QElapsedTimer clock;
        clock.start();
        char buffer[64 * 1024];
        bool end = false;
        while (!end && clock.elapsed() < timeoutMs) {
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0)
                continue;
            const ssize_t n = ::recv(m_fd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (n > 0)
                consume(buffer, n);
            else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                end = true;
        }
        m_ended = m_ended || end;
        return end;
    }

    std::atomic<qint64> written{0};
    qint64 received() const { return m_received; }
    /// The code of the server's close frame, if one was read (-1: none).
    int closeCode() const { return m_closeCode; }
    bool ended() const { return m_ended; }

private:
    void run(bool read, qint64 maxBytes, int maxMs, int stallMs)
    {
        QByteArray pings;
        for (int i = 0; i < 512; ++i)
            pings += wire::frame(wire::kFin | wire::Ping, wire::asciiPayload(125));
        QElapsedTimer clock, stalled;
        clock.start();
        stalled.start();
        qsizetype offset = 0;
        char buffer[64 * 1024];
        while (!m_stop && !m_ended && written < maxBytes && clock.elapsed() < maxMs &&
               (read || stalled.elapsed() < stallMs)) {
            pollfd p{m_fd, short(POLLOUT | POLLRDHUP | (read ? POLLIN : 0)), 0};
            if (::poll(&p, 1, 50) <= 0)
                continue;
            if (p.revents & (POLLERR | POLLHUP | POLLRDHUP))
                m_ended = !read || (p.revents & (POLLERR | POLLHUP));
            if (read && (p.revents & POLLIN)) {
                const ssize_t n = ::recv(m_fd, buffer, sizeof buffer, MSG_DONTWAIT);
                if (n > 0)
                    consume(buffer, n);
                else if (n == 0)
                    m_ended = true;
            }
            if (m_ended || !(p.revents & POLLOUT))
                continue;
            const ssize_t n = ::send(m_fd, pings.constData() + offset,
                                     size_t(pings.size() - offset), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                written += n;
                offset = (offset + n) % pings.size();
                stalled.restart();
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                m_ended = true;
            }
        }
        m_done = true;
    }

    /// Counts the bytes and finds a close frame (the server's frames are unmasked).
    void consume(const char *data, ssize_t n)
    {
        m_received += n;
        m_tail.append(data, n);
        while (m_tail.size() >= 2) {
            const quint64 length = quint8(m_tail[1]) & 0x7f; // the server's pongs: 125 at most
            const qsizetype header = length == 126 ? 4 : 2;
            if (length == 127 || m_tail.size() < header)
                return;
            const qsizetype size =
                header +
                qsizetype(length == 126 ? (quint8(m_tail[2]) << 8 | quint8(m_tail[3])) : length);
            if (m_tail.size() < size)
                return;
            if ((quint8(m_tail[0]) & 0x0f) == wire::Close && size >= header + 2)
                m_closeCode = quint8(m_tail[header]) << 8 | quint8(m_tail[header + 1]);
            m_tail.remove(0, size);
        }
    }

    int m_fd = -1;
    std::thread m_thread;
    std::atomic<bool> m_stop{false};
    std::atomic<bool> m_done{false};
    std::atomic<bool> m_ended{false};
    qint64 m_received = 0;
    QByteArray m_tail;
    int m_closeCode = -1;
};

} // namespace anonchat::test
