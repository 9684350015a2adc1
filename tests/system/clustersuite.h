// What the cluster suites share: users welcomed on a server, a room across two servers, and a
// Redis of a test's own (killed, restarted, paused).
#pragma once

#include "tests/support/engines.h"
#include "tests/support/freeport.h"
#include "tests/support/serverprocess.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <csignal>
#include <memory>
#include <optional>
#include <sys/types.h>

namespace anonchat::test {

/// A client welcomed on `port`, its user id (and resume token) out; null: no welcome.
inline std::unique_ptr<Client> welcomed(quint16 port, QString *userId, QString *token = nullptr)
{
    auto client = std::make_unique<Client>(port);
    const auto welcome = client->waitFor<protocol::Welcome>();
    if (!welcome)
        return nullptr;
    *userId = welcome->userId;
    if (token)
        *token = welcome->resumeToken;
    return client;
}

/// A on one server and B on another, in one room.
struct ClusterRoom {
    std::unique_ptr<Client> a, b;
    QString aId, bId, aToken, bToken;
    qint64 roomId = 0;
};

/// A welcomed on `portA` queues first, B on `portB` joins: both hear `matched` with each other.
inline std::optional<ClusterRoom> pairAcross(quint16 portA, quint16 portB)
{
    ClusterRoom r;
    r.a = welcomed(portA, &r.aId, &r.aToken);
    r.b = welcomed(portB, &r.bId, &r.bToken);
    if (!r.a || !r.b)
        return std::nullopt;
    r.a->send(protocol::JoinQueue{});
    if (!r.a->waitFor<protocol::Waiting>())
        return std::nullopt;
    r.b->send(protocol::JoinQueue{});
    const auto ma = r.a->waitFor<protocol::Matched>();
    const auto mb = r.b->waitFor<protocol::Matched>();
    if (!ma || !mb || ma->roomId != mb->roomId || ma->partnerId != r.bId || mb->partnerId != r.aId)
        return std::nullopt;
    r.roomId = ma->roomId;
    return r;
}

/// A redis-server of the test's own on a free loopback port, without persistence: it can be
/// killed (its data gone), started again on the same port, or paused.
class OwnRedis
{
public:
    bool start()
    {
        if (m_args.isEmpty()) {
            m_port = freePort();
            if (!m_dir.isValid() || m_port == 0)
                return false;
            m_args =
                QStringList{"--port", QString::number(m_port), "--bind", "127.0.0.1", "--save",
                            "",       "--appendonly",          "no",     "--dir",     m_dir.path()};
        }
        m_process.start(QStringLiteral("redis-server"), m_args);
        if (!m_process.waitForStarted())
            return false;
        QTest::qWait(300); // listening
        return true;
    }
    void kill()
    {
        m_process.kill();
        m_process.waitForFinished();
    }
    /// SIGSTOP: connections stay open, nothing is answered or published until resume().
    void pause() { ::kill(pid_t(m_process.processId()), SIGSTOP); }
    void resume() { ::kill(pid_t(m_process.processId()), SIGCONT); }
    QString url() const { return QStringLiteral("redis://127.0.0.1:%1").arg(m_port); }
    ~OwnRedis()
    {
        if (m_process.state() != QProcess::NotRunning) {
            resume();
            kill();
        }
    }

private:
    QTemporaryDir m_dir;
    QProcess m_process;
    QStringList m_args;
    quint16 m_port = 0;
};

} // namespace anonchat::test
