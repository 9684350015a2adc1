// The fixture of the tst_http suites: one in-process server, raw HTTP clients, log capture.
#pragma once

// Tests of the one-port HTTP front (server/httplistener.*, PROTOCOL.md "HTTP on the same port"):
// the request-head parser on its own, then a real in-process ChatServer driven by raw QTcpSocket
// clients that write their bytes by hand, so that every malformed, slow or hostile request can be
// sent exactly as an attacker would.
#include "server/app/chatserver.h"
#include "server/net/addresskey.h"
#include "server/net/connectionbudget.h"
#include "server/net/httplistener.h"
#include "server/web/hostguard.h"
#include "shared/codec.h"
#include "shared/events.h"
#include "tests/support/inprocessserver.h"
#include "tests/support/rawhttp.h"
#include "tests/support/rawwebsocket.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>
#include <QWebSocket>
#include <algorithm>
#include <functional>
#include <memory>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace anonchat::test::http {

using namespace anonchat::server;
namespace protocol = anonchat::protocol;
using anonchat::test::HttpReply;
using anonchat::test::parseReply;
using anonchat::test::RawHttpClient;
using anonchat::test::wire::upgradeRequestFor;

constexpr int kRequestTimeoutMs = 500;
constexpr int kWaitMs = 5000;

inline QByteArray sourceFile(const char *relative)
{
    QFile file(QStringLiteral(ANONCHAT_SOURCE_DIR "/") + QLatin1String(relative));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

/// A literal with its embedded NULs.
template <size_t N>
QByteArray bytes(const char (&literal)[N])
{
    return QByteArray(literal, qsizetype(N - 1));
}

inline QByteArray randomBytes(int size)
{
    QByteArray bytes(size, Qt::Uninitialized);
    for (char &c : bytes)
        c = char(QRandomGenerator::global()->bounded(256));
    return bytes;
}

/// The value of an unlabelled sample (`name 42`) in a Prometheus text page; -1 if absent.
inline qint64 sample(const QByteArray &page, const QByteArray &name)
{
    for (const QByteArray &line : page.split('\n')) {
        if (line.startsWith(name + ' '))
            return line.mid(name.size() + 1).toLongLong();
    }
    return -1;
}

/// Keeps every log line written while it lives (a Qt message handler), then passes it on.
class LogLines
{
public:
    LogLines()
    {
        s_lines.clear();
        s_previous = qInstallMessageHandler(&LogLines::handle);
    }
    ~LogLines() { qInstallMessageHandler(s_previous); }
    LogLines(const LogLines &) = delete;
    LogLines &operator=(const LogLines &) = delete;

    /// The lines containing `needle`.
    QStringList matching(const QString &needle) const { return s_lines.filter(needle); }

private:
    static void handle(QtMsgType type, const QMessageLogContext &context, const QString &message)
    {
        s_lines.append(message);
        if (s_previous)
            s_previous(type, context, message);
    }
    static inline QStringList s_lines;
    static inline QtMessageHandler s_previous = nullptr;
};

/// Sends `request` from `from` and waits for the head of the answer (or the close).
inline HttpReply exchange(quint16 port, const QHostAddress &from, const QByteArray &request,
                          const QHostAddress &to = QHostAddress(QHostAddress::LocalHost))
{
    RawHttpClient client(port, from, to);
    if (!client.waitConnected())
        return {};
    client.write(request);
    client.waitForHead();
    const HttpReply r = client.reply();
    client.socket().abort();
    return r;
}

/// Lowers this process's soft open-file limit while it lives, and takes every descriptor below it
/// but one: the next socket made takes that one, and the accept() after it fails with EMFILE.
class DescriptorsExhausted
{
public:
    DescriptorsExhausted()
    {
        // Sockets deleted later would free descriptors meanwhile: delete them now.
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
        ::getrlimit(RLIMIT_NOFILE, &m_saved);
        const int lowest = ::dup(0);
        ::close(lowest);
        rlimit lowered = m_saved;
        lowered.rlim_cur = rlim_t(lowest + 16);
        m_ok = ::setrlimit(RLIMIT_NOFILE, &lowered) == 0;
        for (int fd = ::dup(0); fd >= 0; fd = ::dup(0))
            m_taken.push_back(fd);
        m_ok = m_ok && errno == EMFILE && !m_taken.empty();
        if (!m_taken.empty()) {
            ::close(m_taken.back());
            m_taken.pop_back();
        }
    }
    ~DescriptorsExhausted()
    {
        for (int fd : m_taken)
            ::close(fd);
        ::setrlimit(RLIMIT_NOFILE, &m_saved);
    }
    DescriptorsExhausted(const DescriptorsExhausted &) = delete;
    DescriptorsExhausted &operator=(const DescriptorsExhausted &) = delete;
    bool ok() const { return m_ok; }

private:
    rlimit m_saved{};
    std::vector<int> m_taken;
    bool m_ok = false;
};

/// The fixture both tst_http suites derive from: one in-process ChatServer for the whole suite
/// (started in initTestCase(); cleanupTestCase() checks that no connection is left reading),
/// raw requests to it, and extra servers for the tests that need another configuration.
class HttpSuite : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        ServerConfig config = anonchat::test::testServerConfig(
            m_dir->filePath(QStringLiteral("chat.db")),
            QStringLiteral("tst_http_") + QUuid::createUuid().toString(QUuid::Id128));
        config.requestTimeoutMs = kRequestTimeoutMs;
        config.allowedOrigins = {QStringLiteral("https://chat.example.org")};
        config.rateLimit = 0;
        QString error;
        QVERIFY2(anonchat::test::startChatServer(m_server, config, &error), qPrintable(error));
        m_port = m_server->port();
        QVERIFY(m_port != 0);
        m_listener = m_server->findChild<HttpListener *>();
        QVERIFY(m_listener);
    }

    void cleanupTestCase()
    {
        if (m_listener) {
            // Every connection of every test has been answered or dropped: nothing is left reading.
            QTRY_COMPARE_WITH_TIMEOUT(m_listener->pendingRequests(), 0, kWaitMs);
        }
        m_listener = nullptr;
        m_server.reset();
    }

protected:
    HttpReply get(const QByteArray &request)
    {
        RawHttpClient client(m_port);
        if (!client.waitConnected())
            return {};
        client.write(request);
        client.waitClosed();
        return client.reply();
    }

    HttpReply getPath(const QByteArray &path, const QByteArray &method = "GET")
    {
        return get(method + ' ' + path + " HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
    }

    bool serverStillAnswers()
    {
        const HttpReply r = getPath("/healthz");
        return r.status == 200 && r.body.contains("\"ok\"");
    }

    QByteArray host() const { return "127.0.0.1:" + QByteArray::number(m_port); }
    QByteArray upgradeRequest(const QByteArray &extraHeaders) const
    {
        return upgradeRequestFor(host(), extraHeaders);
    }

    /// Another in-process server (port 0, its own database), changed by `tweak`.
    std::unique_ptr<ChatServer> extraServer(const std::function<void(ServerConfig &)> &tweak)
    {
        static int instance = 0;
        ++instance;
        ServerConfig config = anonchat::test::testServerConfig(
            m_dir->filePath(QStringLiteral("extra-%1.db").arg(instance)),
            QStringLiteral("tst_http_extra_%1_").arg(instance) +
                QUuid::createUuid().toString(QUuid::Id128));
        config.rateLimit = 0;
        tweak(config);
        std::unique_ptr<ChatServer> server;
        if (!anonchat::test::startChatServer(server, config))
            return nullptr;
        return server;
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<ChatServer> m_server;
    const HttpListener *m_listener = nullptr;
    quint16 m_port = 0;
};

} // namespace anonchat::test::http
