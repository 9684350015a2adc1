// The fixture of the tst_chatsession suites: a real in-process ChatServer (port 0, SQLite in a
// temporary directory, short resume window and reconnect delays), and checks on a session's rows.
#pragma once

#include "client/core/chatsession.h"
#include "server/app/chatserver.h"
#include "tests/client/core/connectedsession.h"
#include "tests/support/inprocessserver.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QWebSocket>
#include <memory>

Q_DECLARE_METATYPE(anonchat::protocol::ServerMessage)

namespace anonchat::test::chatsession {

using namespace anonchat::client;
using State = ChatSession::State;
using Kind = MessageListModel::Kind;
using Delivery = MessageListModel::Delivery;

inline constexpr qint64 kResumeWindowMs = 2000;

inline int countRows(const MessageListModel *model, Kind kind, const QString &text = {})
{
    int n = 0;
    for (int r = 0; r < model->count(); ++r) {
        const MessageListModel::Entry &e = model->entry(r);
        if (e.kind == kind && (text.isNull() || e.text == text))
            ++n;
    }
    return n;
}

inline int countDelivery(const MessageListModel *model, Delivery delivery)
{
    int n = 0;
    for (int r = 0; r < model->count(); ++r)
        n += model->entry(r).delivery == delivery ? 1 : 0;
    return n;
}

inline QString lastText(const MessageListModel *model)
{
    return model->count() ? model->entry(model->count() - 1).text : QString();
}

inline bool hasNotice(const MessageListModel *model, const QString &text)
{
    return countRows(model, Kind::System, text) > 0;
}

inline QList<State> states(const QSignalSpy &spy)
{
    QList<State> out;
    for (const QList<QVariant> &args : spy)
        out.append(args.at(0).value<State>());
    return out;
}

inline bool endsWith(const QList<State> &list, const QList<State> &tail)
{
    return list.size() >= tail.size() && list.mid(list.size() - tail.size()) == tail;
}

/// The network fails under `session`: what was sent has left the machine, then its socket (the
/// Connection's child QWebSocket) is aborted, and only the answers are lost.
inline void dropConnection(ChatSession &session)
{
    const auto sockets = session.connection()->findChildren<QWebSocket *>();
    for (QWebSocket *ws : sockets) {
        if (ws->state() == QAbstractSocket::ConnectedState) {
            ws->flush();
            ws->abort();
        }
    }
}

/// Received frames of type T.
template <typename T>
inline QList<T> framesOf(const QSignalSpy &spy)
{
    QList<T> out;
    for (const QList<QVariant> &args : spy) {
        const auto message = args.at(0).value<protocol::ServerMessage>();
        if (const T *m = std::get_if<T>(&message))
            out.append(*m);
    }
    return out;
}

/// The fixture of the tst_chatsession suites: a fresh directory and an in-process ChatServer per
/// test (QtTest runs the base's init() and cleanup() slots around each test of the suite), and
/// sessions connected to it.
class ChatSessionSuite : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase() { qRegisterMetaType<protocol::ServerMessage>(); }

    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        QVERIFY(startServer());
    }

    void cleanup()
    {
        QVERIFY(stopServer());
        m_dir.reset();
    }

protected:
    server::ServerConfig serverConfig(quint16 port) const
    {
        server::ServerConfig config;
        config.host = QHostAddress(QHostAddress::LocalHost);
        config.port = port;
        config.database = m_dir->filePath(QStringLiteral("chat.db"));
        config.resumeWindowMs = kResumeWindowMs;
        config.interestWaitMs = 200;
        config.instanceName = QStringLiteral("tst-chatsession-%1").arg(m_instances);
        return config;
    }

    bool startServer(quint16 port = 0)
    {
        ++m_instances;
        return test::startChatServer(m_server, serverConfig(port));
    }

    bool stopServer()
    {
        if (!m_server)
            return true;
        QSignalSpy stopped(m_server.get(), &server::ChatServer::stopped);
        m_server->shutdown();
        const bool ok = stopped.count() > 0 || stopped.wait(5000);
        m_server.reset();
        return ok;
    }

    std::unique_ptr<ChatSession> connectSession() { return connectedSession(m_server->url()); }

    bool pair(ChatSession &a, ChatSession &b, const QStringList &ia = {},
              const QStringList &ib = {})
    {
        if (!a.start(ia) || !b.start(ib))
            return false;
        return QTest::qWaitFor(
            [&] { return a.state() == State::Chatting && b.state() == State::Chatting; }, 5000);
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<server::ChatServer> m_server;
    int m_instances = 0;
};

} // namespace anonchat::test::chatsession
