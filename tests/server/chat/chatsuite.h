// The fixture of the tst_server_* suites: an in-process ChatServer, protocol clients, checks.
#pragma once

// End-to-end tests of the WebSocket protocol (docs/PROTOCOL.md) against a real in-process
// ChatServer: a real SQLite file, real QWebSocket clients, and raw TCP clients where Qt's own
// client hides what is on the wire (close code 1013, unanswered pings, refused handshakes).
// ctest runs every suite twice: on one thread, and as <suite>_threads with two nodes.

#include "server/app/chatserver.h"
#include "server/app/serverconfig.h"
#include "shared/codec.h"
#include "tests/support/inprocessserver.h"
#include "tests/support/metrics.h"
#include "tests/support/rawwebsocket.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSet>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QWebSocket>
#include <functional>
#include <memory>

#define TAKE(client, event, data)                                                                  \
    QVERIFY2((client).take(QStringLiteral(event), data), qPrintable((client).failure()))
#define TAKE_NEXT(client, event, data)                                                             \
    QVERIFY2((client).takeNext(QStringLiteral(event), data), qPrintable((client).failure()))
#define TAKE_ERROR(client, code, data)                                                             \
    QVERIFY2((client).takeError(QStringLiteral(code), data), qPrintable((client).failure()))
#define OPEN(client) QVERIFY2((client).open(port()), qPrintable((client).failure()))
#define STATS(client, data) QVERIFY2((client).stats(data), qPrintable((client).failure()))
/// Nothing more arrived at the client (after a short watch).
#define QUIET(client)                                                                              \
    do {                                                                                           \
        QTest::qWait(kQuietMs);                                                                    \
        QCOMPARE((client).pendingEvents(), QStringList());                                         \
    } while (0)
#define RETURN_IF_FAILED()                                                                         \
    do {                                                                                           \
        if (QTest::currentTestFailed())                                                            \
            return;                                                                                \
    } while (0)
#define PAIR(a, b, room)                                                                           \
    do {                                                                                           \
        pair(a, b, &(room));                                                                       \
        RETURN_IF_FAILED();                                                                        \
    } while (0)

namespace anonchat::test::chat {

namespace proto = anonchat::protocol;
using anonchat::server::ChatServer;
using anonchat::server::ServerConfig;
using anonchat::test::parseMetrics;
using anonchat::test::RawWebSocket;
namespace wire = anonchat::test::wire;

constexpr int kWait = 3000;      ///< upper bound for anything that should happen
constexpr int kQuietMs = 150;    ///< how long "nothing more arrives" is watched
constexpr int kResumeMs = 800;   ///< resume window of the test servers
constexpr int kInterestMs = 300; ///< interest wait of the test servers

/// Frames that are not valid server frames (PROTOCOL.md): checked after every test.
inline QStringList g_violations;

const QRegularExpression kUserIdPattern(QStringLiteral("^[0-9a-f]{8}$"));
const QRegularExpression kTokenPattern(QStringLiteral("^[A-Za-z0-9_-]{22,}$"));
const QRegularExpression
    kTimestampPattern(QStringLiteral(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)"));

/**
 * A protocol client over a real QWebSocket. Every frame received is checked against the protocol
 * (decodeServerFrame) and queued; tests take frames by event name (take) or in order (takeNext).
 */
class TestClient : public QObject
{
    Q_OBJECT
public:
    explicit TestClient(QString name)
        : m_name(std::move(name))
    {}
    ~TestClient() override { discardSocket(); }

    /// Connects to ws://127.0.0.1:port/ws and waits for `welcome`.
    bool open(quint16 port, const QByteArray &origin = {})
    {
        if (!connectSocket(port, origin))
            return false;
        QJsonObject welcome;
        if (!take(QStringLiteral("welcome"), &welcome))
            return false;
        m_welcome = welcome;
        m_userId = welcome.value(QLatin1String("user_id")).toString();
        m_token = welcome.value(QLatin1String("resume_token")).toString();
        return true;
    }

    /// Opens the socket only: true once the handshake succeeded (nothing is taken).
    bool connectSocket(quint16 port, const QByteArray &origin = {})
    {
        discardSocket();
        m_pending.clear();
        m_disconnected = false;
        m_everConnected = false;
        m_errored = false;
        m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
        connect(m_socket, &QWebSocket::textMessageReceived, this, &TestClient::onText);
        connect(m_socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &) {
            g_violations.append(m_name + QStringLiteral(": a binary frame from the server"));
        });
        connect(m_socket, &QWebSocket::connected, this, [this] { m_everConnected = true; });
        connect(m_socket, &QWebSocket::disconnected, this, [this] {
            m_disconnected = true;
            m_closeCode = int(m_socket->closeCode());
        });
        connect(m_socket, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), this,
                [this](QAbstractSocket::SocketError) { m_errored = true; });
        QNetworkRequest request(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws").arg(port)));
        if (!origin.isEmpty())
            request.setRawHeader("Origin", origin);
        m_socket->open(request);
        // The server may close at once (server_busy): having been connected is what counts.
        const bool settled = QTest::qWaitFor(
            [this] { return m_everConnected || m_disconnected || m_errored; }, kWait);
        if (!m_everConnected) {
            m_failure =
                QStringLiteral("%1: not connected (%2): %3")
                    .arg(m_name, settled ? QStringLiteral("refused") : QStringLiteral("timeout"),
                         m_socket->errorString());
            return false;
        }
        return true;
    }

    void send(const proto::ClientMessage &message)
    {
        m_socket->sendTextMessage(proto::encodeText(message));
    }
    void sendRaw(const QString &text) { m_socket->sendTextMessage(text); }
    void sendBinary(const QByteArray &bytes) { m_socket->sendBinaryMessage(bytes); }
    void sendText(const QString &content, const QString &nonce = {})
    {
        send(proto::SendMessage{content, nonce});
    }
    /// The connection drops without a close handshake (a lost network).
    void drop() { m_socket->abort(); }

    /// Takes the first queued frame of `event` (others stay queued), waiting for it.
    bool take(const QString &event, QJsonObject *data = nullptr, int timeoutMs = kWait)
    {
        qsizetype index = -1;
        const auto find = [&] {
            for (qsizetype i = 0; i < m_pending.size(); ++i) {
                if (m_pending[i].value(QLatin1String("event")).toString() == event) {
                    index = i;
                    return true;
                }
            }
            return false;
        };
        if (!find() && !QTest::qWaitFor(find, timeoutMs)) {
            m_failure = QStringLiteral("%1: no '%2' within %3 ms; queued: [%4]")
                            .arg(m_name, event)
                            .arg(timeoutMs)
                            .arg(pendingEvents().join(QStringLiteral(", ")));
            return false;
        }
        const QJsonObject frame = m_pending.takeAt(index);
        if (data)
            *data = frame.value(QLatin1String("data")).toObject();
        return true;
    }

    /// Takes the next frame in arrival order, which must be `event`.
    bool takeNext(const QString &event, QJsonObject *data = nullptr, int timeoutMs = kWait)
    {
        if (!QTest::qWaitFor([this] { return !m_pending.isEmpty(); }, timeoutMs)) {
            m_failure = QStringLiteral("%1: nothing within %2 ms (wanted '%3')")
                            .arg(m_name)
                            .arg(timeoutMs)
                            .arg(event);
            return false;
        }
        const QJsonObject frame = m_pending.takeFirst();
        const QString got = frame.value(QLatin1String("event")).toString();
        if (got != event) {
            m_failure = QStringLiteral("%1: next frame is %2, wanted '%3'")
                            .arg(m_name, describe(frame), event);
            return false;
        }
        if (data)
            *data = frame.value(QLatin1String("data")).toObject();
        return true;
    }

    /// Takes the first queued `error`, which must carry `code` and a message.
    bool takeError(const QString &code, QJsonObject *data = nullptr, int timeoutMs = kWait)
    {
        QJsonObject error;
        if (!take(QStringLiteral("error"), &error, timeoutMs))
            return false;
        if (data)
            *data = error;
        if (error.value(QLatin1String("code")).toString() != code) {
            m_failure =
                QStringLiteral("%1: error code %2, wanted %3")
                    .arg(m_name,
                         QString::fromUtf8(QJsonDocument(error).toJson(QJsonDocument::Compact)),
                         code);
            return false;
        }
        if (error.value(QLatin1String("message")).toString().isEmpty()) {
            m_failure = m_name + QStringLiteral(": error without a message");
            return false;
        }
        return true;
    }

    /// get_stats round trip.
    bool stats(QJsonObject *data)
    {
        send(proto::GetStats{});
        return take(QStringLiteral("stats"), data);
    }

    /// Frames of the given events taken out of the queue, in order.
    QList<QJsonObject> takeAll(const QString &event)
    {
        QList<QJsonObject> out;
        for (qsizetype i = 0; i < m_pending.size();) {
            if (m_pending[i].value(QLatin1String("event")).toString() == event)
                out.append(m_pending.takeAt(i).value(QLatin1String("data")).toObject());
            else
                ++i;
        }
        return out;
    }
    /// Waits for a frame and names its event (the frame stays queued).
    QString waitForAny(int timeoutMs = kWait)
    {
        if (!QTest::qWaitFor([this] { return !m_pending.isEmpty(); }, timeoutMs))
            return {};
        return m_pending.first().value(QLatin1String("event")).toString();
    }
    int count(const QString &event) const
    {
        int n = 0;
        for (const QJsonObject &frame : m_pending)
            n += frame.value(QLatin1String("event")).toString() == event ? 1 : 0;
        return n;
    }
    QStringList pendingEvents() const
    {
        QStringList out;
        for (const QJsonObject &frame : m_pending)
            out.append(describe(frame));
        return out;
    }

    bool waitDisconnected(int timeoutMs = kWait)
    {
        return QTest::qWaitFor([this] { return m_disconnected; }, timeoutMs);
    }
    bool isConnected() const
    {
        return m_socket && m_socket->state() == QAbstractSocket::ConnectedState && !m_disconnected;
    }
    bool disconnected() const { return m_disconnected; }
    int closeCode() const { return m_closeCode; }
    quint16 localPort() const { return m_socket ? m_socket->localPort() : 0; }

    const QString &name() const { return m_name; }
    const QString &userId() const { return m_userId; }
    const QString &token() const { return m_token; }
    const QJsonObject &welcome() const { return m_welcome; }
    const QString &failure() const { return m_failure; }

private:
    static QString describe(const QJsonObject &frame)
    {
        return QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)).left(200);
    }

    void onText(const QString &text)
    {
        const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8());
        const proto::ServerDecodeResult decoded = proto::decodeServerFrame(text);
        if (const auto *error = std::get_if<proto::DecodeError>(&decoded))
            g_violations.append(m_name + QStringLiteral(": invalid server frame (%1): %2")
                                             .arg(error->message, text.left(200)));
        if (!doc.isObject()) {
            g_violations.append(m_name + QStringLiteral(": not a JSON object: ") + text.left(200));
            return;
        }
        m_pending.append(doc.object());
    }

    void discardSocket()
    {
        if (!m_socket)
            return;
        m_socket->disconnect(this);
        m_socket->abort();
        delete m_socket;
        m_socket = nullptr;
    }

    QString m_name;
    QWebSocket *m_socket = nullptr;
    QList<QJsonObject> m_pending;
    QJsonObject m_welcome;
    QString m_userId;
    QString m_token;
    QString m_failure;
    bool m_disconnected = false;
    bool m_everConnected = false;
    bool m_errored = false;
    int m_closeCode = -1;
};

/// A second, independent connection to the server's SQLite file.
class Db
{
public:
    explicit Db(const QString &path)
        : m_name(QStringLiteral("tst_server_probe_%1").arg(++s_count))
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_name);
        db.setDatabaseName(path);
        db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));
        m_ok = db.open();
        if (!m_ok)
            m_error = db.lastError().text();
    }
    ~Db()
    {
        QSqlDatabase::database(m_name, false).close();
        QSqlDatabase::removeDatabase(m_name);
    }
    Db(const Db &) = delete;
    Db &operator=(const Db &) = delete;

    bool ok() const { return m_ok; }
    const QString &error() const { return m_error; }

    /// The first row, or an empty list (no row or an error: see error()).
    QVariantList row(const QString &sql, const QVariantList &binds = {})
    {
        QSqlQuery query(QSqlDatabase::database(m_name));
        if (!query.prepare(sql)) {
            m_error = query.lastError().text();
            return {};
        }
        for (const QVariant &bind : binds)
            query.addBindValue(bind);
        if (!query.exec()) {
            m_error = query.lastError().text();
            return {};
        }
        QVariantList out;
        if (query.next()) {
            for (int i = 0; i < query.record().count(); ++i)
                out.append(query.value(i));
        }
        return out;
    }
    QVariant value(const QString &sql, const QVariantList &binds = {})
    {
        return row(sql, binds).value(0);
    }
    bool exec(const QString &sql)
    {
        QSqlQuery query(QSqlDatabase::database(m_name));
        if (!query.exec(sql)) {
            m_error = query.lastError().text();
            return false;
        }
        return true;
    }

private:
    static inline int s_count = 0;
    QString m_name;
    bool m_ok = false;
    QString m_error;
};

inline qint64 roomIdOf(const QJsonObject &data)
{
    return data.value(QLatin1String("room_id")).toInteger(-1);
}

inline QString str(const QJsonObject &data, const char *key)
{
    return data.value(QLatin1String(key)).toString();
}

/// The fixture every tst_server_* suite derives from: a fresh directory and database per test,
/// an in-process ChatServer started by startServer(), and every server frame checked. QtTest
/// runs the init() and cleanup() slots of the base around each test of the suite.
class ChatSuite : public QObject
{
    Q_OBJECT

private slots:
    void init()
    {
        g_violations.clear();
        RawWebSocket::violations().clear();
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        m_dbPath = m_dir->filePath(QStringLiteral("chat.db"));
    }

    void cleanup()
    {
        m_server.reset();
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
        m_dir.reset();
        g_violations += RawWebSocket::violations();
        QVERIFY2(g_violations.isEmpty(), qPrintable(g_violations.join(QLatin1Char('\n'))));
    }

protected:
    bool startServer(const std::function<void(ServerConfig &)> &tweak = {})
    {
        ServerConfig config =
            testServerConfig(m_dbPath, QStringLiteral("tst_server_%1").arg(++m_instance));
        config.host = QHostAddress(QHostAddress::LocalHost);
        config.resumeWindowMs = kResumeMs;
        config.interestWaitMs = kInterestMs;
        // ctest runs each suite twice: on one thread, and as <suite>_threads with two nodes.
        config.threads = testThreads();
        if (tweak)
            tweak(config);
        return startChatServer(m_server, config);
    }

    quint16 port() const { return m_server ? m_server->port() : 0; }

    void pair(TestClient &a, TestClient &b, qint64 *roomId)
    {
        if (!a.isConnected())
            OPEN(a);
        if (!b.isConnected())
            OPEN(b);
        a.send(proto::JoinQueue{});
        TAKE(a, "waiting", nullptr);
        b.send(proto::JoinQueue{});
        QJsonObject ma;
        QJsonObject mb;
        TAKE(a, "matched", &ma);
        TAKE(b, "matched", &mb);
        QCOMPARE(str(ma, "partner_id"), b.userId());
        QCOMPARE(str(mb, "partner_id"), a.userId());
        QCOMPARE(roomIdOf(ma), roomIdOf(mb));
        QVERIFY(roomIdOf(ma) > 0);
        *roomId = roomIdOf(ma);
    }

    QByteArray httpGet(const QString &path, int *status = nullptr)
    {
        QNetworkAccessManager manager;
        QNetworkReply *reply = manager.get(
            QNetworkRequest(QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(port()).arg(path))));
        if (!QTest::qWaitFor([reply] { return reply->isFinished(); }, kWait))
            qWarning() << "no HTTP answer for" << path;
        if (status)
            *status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QByteArray body = reply->readAll();
        delete reply;
        return body;
    }

    QHash<QString, double> metricsNow()
    {
        int status = 0;
        const QByteArray body = httpGet(QStringLiteral("/metrics"), &status);
        if (status != 200)
            return {};
        return parseMetrics(body);
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<ChatServer> m_server;
    QString m_dbPath;
    int m_instance = 0;
};

} // namespace anonchat::test::chat
