#pragma once
// Test support shared by the suites that run the real `anonchat-server` executable: the process,
// and a WebSocket client that keeps every decoded server frame.

#include "shared/codec.h"

#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTest>
#include <QUuid>
#include <QWebSocket>
#include <algorithm>
#include <csignal>
#include <functional>
#include <optional>
#include <sys/types.h>

// This build (and so the server it runs) has AddressSanitizer: its figures of memory are not the
// release build's.
#if defined(__SANITIZE_ADDRESS__)
#define ANONCHAT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ANONCHAT_TEST_ASAN 1
#endif
#endif
namespace anonchat::test {

namespace protocol = anonchat::protocol;

constexpr int kStartTimeoutMs = 30000; // generous: sanitizer builds start slowly
constexpr int kWaitMs = 10000;

/// One `anonchat-server` process.
class ServerProcess
{
public:
    ServerProcess()
    {
        m_process.setProgram(QStringLiteral(ANONCHAT_SERVER_BINARY));
        QObject::connect(&m_process, &QProcess::readyReadStandardOutput, &m_process,
                         [this] { m_stdout += m_process.readAllStandardOutput(); });
        QObject::connect(&m_process, &QProcess::readyReadStandardError, &m_process,
                         [this] { m_stderr += m_process.readAllStandardError(); });
    }
    ~ServerProcess()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5000);
        }
    }
    ServerProcess(const ServerProcess &) = delete;
    ServerProcess &operator=(const ServerProcess &) = delete;

    void setEnvironment(const QProcessEnvironment &env) { m_process.setProcessEnvironment(env); }

    /// Starts and waits for the URL line. False (with the output in `why`) if none came.
    bool start(const QStringList &arguments, QString *why)
    {
        // ctest runs some suites a second time with extra flags (e.g. `--threads 1`).
        m_process.setArguments(arguments + qEnvironmentVariable("ANONCHAT_TEST_SERVER_ARGS")
                                               .split(QLatin1Char(' '), Qt::SkipEmptyParts));
        QElapsedTimer timer;
        timer.start();
        m_process.start();
        if (!m_process.waitForStarted(kStartTimeoutMs)) {
            *why = m_process.errorString();
            return false;
        }
        (void)QTest::qWaitFor(
            [this] { return m_stdout.contains('\n') || m_process.state() == QProcess::NotRunning; },
            kStartTimeoutMs);
        m_startupMs = timer.elapsed();
        static const QRegularExpression line(
            QStringLiteral(R"(^anonchat-server listening on http://127\.0\.0\.1:(\d+)/\n$)"));
        const QRegularExpressionMatch match = line.match(QString::fromUtf8(m_stdout));
        if (!match.hasMatch()) {
            *why = QStringLiteral("stdout: '%1' stderr: '%2'")
                       .arg(QString::fromUtf8(m_stdout), QString::fromUtf8(m_stderr));
            return false;
        }
        m_port = quint16(match.captured(1).toUInt());
        return m_port != 0;
    }

    /// Runs to the end (no clients to serve meanwhile).
    bool run(const QStringList &arguments, int timeoutMs = kWaitMs)
    {
        m_process.setArguments(arguments);
        m_process.start();
        return m_process.waitForFinished(timeoutMs);
    }

    void signal(int signal) { ::kill(pid(), signal); }
    pid_t pid() const { return pid_t(m_process.processId()); }
    bool running() const { return m_process.state() != QProcess::NotRunning; }
    /// Resident memory of the process in KiB (VmRSS), -1 if unknown.
    qint64 rssKiB() const
    {
        QFile status(QStringLiteral("/proc/%1/status").arg(pid()));
        if (!status.open(QIODevice::ReadOnly))
            return -1;
        for (const QByteArray &line : status.readAll().split('\n')) {
            if (line.startsWith("VmRSS:"))
                return line.mid(6).trimmed().split(' ').value(0).toLongLong();
        }
        return -1;
    }
    /// What AddressSanitizer or UndefinedBehaviorSanitizer said, if anything (sanitizer builds).
    QByteArray sanitizerReport()
    {
        const QByteArray err = standardError();
        for (const char *mark :
             {"runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer"}) {
            const qsizetype at = err.indexOf(mark);
            if (at >= 0)
                return err.mid(std::max<qsizetype>(0, at - 200), 2000);
        }
        return {};
    }
    /// Waits with the event loop running, so that in-process clients can answer the server.
    bool waitFinished(int timeoutMs = kWaitMs)
    {
        return QTest::qWaitFor([this] { return m_process.state() == QProcess::NotRunning; },
                               timeoutMs);
    }

    QByteArray standardOutput()
    {
        m_stdout += m_process.readAllStandardOutput();
        return m_stdout;
    }
    QByteArray standardError()
    {
        m_stderr += m_process.readAllStandardError();
        return m_stderr;
    }
    quint16 port() const { return m_port; }
    qint64 startupMs() const { return m_startupMs; }
    QProcess &process() { return m_process; }

private:
    QProcess m_process;
    QByteArray m_stdout;
    QByteArray m_stderr;
    quint16 m_port = 0;
    qint64 m_startupMs = 0;
};

/// A WebSocket client that keeps every decoded server frame.
class Client
{
public:
    /// `origin`: sent as the Origin header, as a browser does (none by default: a native client).
    explicit Client(quint16 port, const QString &origin = {})
        : m_socket(origin)
    {
        QObject::connect(&m_socket, &QWebSocket::textMessageReceived, &m_socket,
                         [this](const QString &text) {
                             protocol::ServerDecodeResult r = protocol::decodeServerFrame(text);
                             if (auto *m = std::get_if<protocol::ServerMessage>(&r))
                                 m_frames.append(*m);
                             else
                                 ++m_undecodable;
                         });
        QObject::connect(&m_socket, &QWebSocket::disconnected, &m_socket,
                         [this] { m_disconnected = true; });
        m_socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws").arg(port)));
    }

    /// The first frame of type T received so far that `accept` takes.
    template <typename T>
    std::optional<T> find(const std::function<bool(const T &)> &accept = {}) const
    {
        for (const protocol::ServerMessage &m : m_frames) {
            const T *t = std::get_if<T>(&m);
            if (t && (!accept || accept(*t)))
                return *t;
        }
        return std::nullopt;
    }
    template <typename T>
    std::optional<T> waitFor(const std::function<bool(const T &)> &accept = {},
                             int timeoutMs = kWaitMs)
    {
        std::optional<T> found;
        (void)QTest::qWaitFor([&] { return bool(found = find<T>(accept)); }, timeoutMs);
        return found;
    }
    std::optional<protocol::Error> waitForError(protocol::ErrorCode code, int timeoutMs = kWaitMs)
    {
        return waitFor<protocol::Error>([code](const protocol::Error &e) { return e.code == code; },
                                        timeoutMs);
    }
    /// Every frame of type T received so far, in order.
    template <typename T>
    QList<T> all() const
    {
        QList<T> out;
        for (const protocol::ServerMessage &m : m_frames) {
            if (const T *t = std::get_if<T>(&m))
                out.append(*t);
        }
        return out;
    }

    void send(const protocol::ClientMessage &message)
    {
        m_socket.sendTextMessage(protocol::encodeText(message));
    }
    void sendRaw(const QString &text) { m_socket.sendTextMessage(text); }
    bool waitDisconnected(int timeoutMs = kWaitMs)
    {
        return QTest::qWaitFor([this] { return m_disconnected; }, timeoutMs);
    }
    bool isDisconnected() const { return m_disconnected; }
    const QList<protocol::ServerMessage> &frames() const { return m_frames; }
    int undecodable() const { return m_undecodable; }
    QWebSocket &socket() { return m_socket; }
    QString userId() const
    {
        const auto w = find<protocol::Welcome>();
        return w ? w->userId : QString();
    }

private:
    QWebSocket m_socket;
    QList<protocol::ServerMessage> m_frames;
    int m_undecodable = 0;
    bool m_disconnected = false;
};

/// Sends a message with a fresh nonce and waits for its ack (the sender's copy with the nonce).
inline std::optional<protocol::NewMessage> sendAcked(Client &client, const QString &content,
                                                     QString nonce = {})
{
    if (nonce.isEmpty())
        nonce = QUuid::createUuid().toString(QUuid::WithoutBraces);
    client.send(protocol::SendMessage{content, nonce});
    return client.waitFor<protocol::NewMessage>(
        [&nonce](const protocol::NewMessage &m) { return m.nonce == nonce; });
}

} // namespace anonchat::test
