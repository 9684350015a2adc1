// The fixture of the tst_faults suites: the real server binary, clients, probes, one seed.
#pragma once

// Faults, with the real `anonchat-server` executable and real QWebSocket clients ("Prove it
// survives"): SIGKILL at a random moment under steady traffic, five times on one database file;
// SIGTERM with traffic in flight; the database's filesystem filling up while serving (a real
// ENOSPC on a tmpfs the test mounts); connection churn and leaks (the server's RSS); hostile JSON;
// the per-address connection limit; privacy (no addresses stored, no message text logged, no
// reading or acting in another room).
//
// The random moments come from one seed, printed first; ANONCHAT_FAULTS_SEED=N repeats a run.

#include "shared/codec.h"
#include "tests/support/metrics.h"
#include "tests/support/rawhttp.h"
#include "tests/support/rawwebsocket.h"
#include "tests/support/serverprocess.h"
#include "tests/support/sqlquery.h"

#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QHash>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QUuid>
#include <QWebSocket>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <optional>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

// A sanitizer build of the server reports to its stderr (and ASan ends it): fail on either.
#define CHECK_NO_SANITIZER_REPORT(server)                                                          \
    do {                                                                                           \
        const QByteArray report = (server).sanitizerReport();                                      \
        QVERIFY2(report.isEmpty(), report.constData());                                            \
    } while (false)

namespace anonchat::test::faults {

namespace protocol = anonchat::protocol;

/// Runs the event loop (sockets are served as their data arrives) until `done` or the timeout.
inline bool waitUntil(const std::function<bool()> &done, int timeoutMs = kWaitMs)
{
    if (done())
        return true;
    QEventLoop loop;
    QTimer poll;
    QElapsedTimer timer;
    timer.start();
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (done() || timer.elapsed() >= timeoutMs)
            loop.quit();
    });
    poll.start(5);
    loop.exec();
    return done();
}

inline void spin(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

/// GET over a fresh connection, with the event loop running meanwhile.
inline HttpReply httpGet(quint16 port, const QByteArray &path)
{
    RawHttpClient client(port);
    if (!client.waitConnected(kWaitMs))
        return {};
    client.write("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    client.waitClosed(kWaitMs);
    return client.reply();
}

/// `/metrics` as name{labels} -> value.
inline QHash<QString, double> metrics(quint16 port)
{
    return parseMetrics(httpGet(port, "/metrics").body);
}

/// A look at a database file (the server may be running: SQLite in WAL mode allows it).
class Database : public SqlProbe
{
public:
    explicit Database(const QString &path)
        : SqlProbe(addSqlite(QStringLiteral("tst_faults_"), path))
    {}
};

inline QString idList(const QSet<qint64> &ids)
{
    QStringList out;
    for (qint64 id : ids)
        out << QString::number(id);
    return out.isEmpty() ? QStringLiteral("-1") : out.join(QLatin1Char(','));
}

/// `count` clients of the server on `port`, connecting.
inline std::vector<std::unique_ptr<Client>> newClients(quint16 port, int count)
{
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < count; ++i)
        clients.push_back(std::make_unique<Client>(port));
    return clients;
}

inline bool allDisconnected(const std::vector<std::unique_ptr<Client>> &clients)
{
    for (const auto &c : clients) {
        if (!c->isDisconnected())
            return false;
    }
    return true;
}

/// SIGTERM; the server must exit 0 without a sanitizer report (its stderr as the message).
inline void expectCleanStop(ServerProcess &server, int timeoutMs = kWaitMs)
{
    server.signal(SIGTERM);
    QVERIFY(server.waitFinished(timeoutMs));
    CHECK_NO_SANITIZER_REPORT(server);
    QVERIFY2(server.process().exitCode() == 0, server.standardError().constData());
}

/// Joins every client to the queue and waits until all of them are matched in pairs.
inline bool matchAll(const std::vector<std::unique_ptr<Client>> &clients)
{
    for (const auto &c : clients) {
        if (!c->waitFor<protocol::Welcome>())
            return false;
    }
    for (const auto &c : clients)
        c->send(protocol::JoinQueue{});
    return waitUntil([&] {
        for (const auto &c : clients) {
            if (!c->find<protocol::Matched>())
                return false;
        }
        return true;
    });
}

/// Messages with nonces, sent by a set of clients at a steady rate; what each one sent.
class Streamer
{
public:
    Streamer(const std::vector<std::unique_ptr<Client>> &clients, const QString &tag,
             int intervalMs)
        : m_clients(clients)
        , m_tag(tag)
    {
        // One tick every 5 ms sends for a slice of the clients: each client every intervalMs.
        const int slices = std::max(1, intervalMs / 5);
        QObject::connect(&m_timer, &QTimer::timeout, &m_timer, [this, slices] {
            for (size_t i = size_t(m_tick % slices); i < m_clients.size(); i += size_t(slices))
                sendOne(i);
            ++m_tick;
        });
        m_sent.resize(clients.size());
    }
    void start() { m_timer.start(5); }
    void stop() { m_timer.stop(); }
    /// (sender id, nonce) -> content, for every message sent.
    const QHash<QString, QString> &sent() const { return m_byKey; }
    int sentCount() const { return int(m_byKey.size()); }
    static QString key(const QString &sender, const QString &nonce)
    {
        return sender + QLatin1Char('/') + nonce;
    }

private:
    void sendOne(size_t i)
    {
        Client &c = *m_clients[i];
        if (c.isDisconnected())
            return;
        const int n = ++m_sent[i];
        const QString nonce = QStringLiteral("%1-%2-%3").arg(m_tag).arg(i).arg(n);
        const QString content =
            QStringLiteral("%1 client %2 message %3 ✓ 你好").arg(m_tag).arg(i).arg(n);
        m_byKey.insert(key(c.userId(), nonce), content);
        c.send(protocol::SendMessage{content, nonce});
    }

    const std::vector<std::unique_ptr<Client>> &m_clients;
    QString m_tag;
    QTimer m_timer;
    qint64 m_tick = 0;
    std::vector<int> m_sent;
    QHash<QString, QString> m_byKey;
};

/// What was received and stored, compared. Fills `failure` and returns false on a mismatch.
struct Verified {
    int acked = 0;            ///< sender's copies (with the nonce)
    int copiesVerified = 0;   ///< every new_message received, either side
    int stored = 0;           ///< rows of these rooms
    int storedNotAcked = 0;   ///< in flight when the server went
    int storedNotRelayed = 0; ///< stored, and the partner never got it
};

inline bool verifyAgainstDatabase(const QString &path,
                                  const std::vector<std::unique_ptr<Client>> &clients,
                                  const QHash<QString, QString> &sent, Verified *v,
                                  QString *failure)
{
    Database db(path);
    if (!db.isOpen()) {
        *failure = QStringLiteral("cannot open %1").arg(path);
        return false;
    }
    QSet<qint64> rooms;
    for (const auto &c : clients) {
        if (const auto m = c->find<protocol::Matched>())
            rooms.insert(m->roomId);
    }
    struct Row {
        qint64 roomId;
        QString sender;
        QString content;
        QString nonce;
    };
    QHash<qint64, Row> stored;
    for (const QVariantList &r :
         db.rows(QStringLiteral("SELECT id, room_id, sender_id, content, nonce FROM messages "
                                "WHERE room_id IN (%1)")
                     .arg(idList(rooms)))) {
        stored.insert(r[0].toLongLong(),
                      {r[1].toLongLong(), r[2].toString(), r[3].toString(), r[4].toString()});
    }
    v->stored += int(stored.size());
    QSet<qint64> acked;
    QSet<qint64> relayed;
    for (const auto &c : clients) {
        const QString me = c->userId();
        for (const protocol::NewMessage &m : c->all<protocol::NewMessage>()) {
            const auto row = stored.constFind(m.id);
            if (row == stored.cend()) {
                *failure = QStringLiteral("message %1 ('%2') was received but is not stored")
                               .arg(m.id)
                               .arg(m.content);
                return false;
            }
            if (row->roomId != m.roomId || row->sender != m.senderId || row->content != m.content) {
                *failure = QStringLiteral("message %1 differs from its row").arg(m.id);
                return false;
            }
            if (!m.nonce.isEmpty()) {
                if (m.senderId != me || row->nonce != m.nonce) {
                    *failure = QStringLiteral("ack %1 has nonce %2, row %3")
                                   .arg(m.id)
                                   .arg(m.nonce, row->nonce);
                    return false;
                }
                if (acked.contains(m.id)) {
                    *failure = QStringLiteral("message %1 acked twice").arg(m.id);
                    return false;
                }
                acked.insert(m.id);
            } else {
                if (m.senderId == me) {
                    *failure = QStringLiteral("own message %1 without its nonce").arg(m.id);
                    return false;
                }
                relayed.insert(m.id);
            }
            ++v->copiesVerified;
        }
    }
    // Every stored row is a message that was sent, with the content sent under its nonce.
    for (auto it = stored.cbegin(); it != stored.cend(); ++it) {
        const QString expected = sent.value(Streamer::key(it->sender, it->nonce));
        if (it->nonce.isEmpty() || expected != it->content) {
            *failure = QStringLiteral("row %1 ('%2', nonce '%3') was never sent like that")
                           .arg(it.key())
                           .arg(it->content, it->nonce);
            return false;
        }
        if (!acked.contains(it.key()))
            ++v->storedNotAcked;
        if (!relayed.contains(it.key()))
            ++v->storedNotRelayed;
    }
    v->acked += int(acked.size());
    // Exactly once, over the whole file: by (room, sender, nonce), and by content (all unique).
    const auto twice = db.rows(QStringLiteral(
        "SELECT room_id, sender_id, nonce, COUNT(*) FROM messages WHERE nonce IS NOT NULL "
        "GROUP BY room_id, sender_id, nonce HAVING COUNT(*) > 1"));
    if (!twice.isEmpty()) {
        *failure = QStringLiteral("stored twice: room %1 sender %2 nonce %3")
                       .arg(twice[0][0].toLongLong())
                       .arg(twice[0][1].toString(), twice[0][2].toString());
        return false;
    }
    const auto sameContent = db.rows(QStringLiteral(
        "SELECT content, COUNT(*) FROM messages GROUP BY content HAVING COUNT(*) > 1"));
    if (!sameContent.isEmpty()) {
        *failure = QStringLiteral("stored twice: '%1'").arg(sameContent[0][0].toString());
        return false;
    }
    return true;
}

/// The fixture every tst_faults suite derives from: a folder for fresh database files and the
/// random moments of one seed, printed first; ANONCHAT_FAULTS_SEED=N repeats a run.
class FaultSuite : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY2(QFile::exists(QStringLiteral(ANONCHAT_SERVER_BINARY)), ANONCHAT_SERVER_BINARY);
        QVERIFY(QSqlDatabase::isDriverAvailable(QStringLiteral("QSQLITE")));
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        bool ok = false;
        m_seed = qEnvironmentVariable("ANONCHAT_FAULTS_SEED").toUInt(&ok);
        if (!ok)
            m_seed = QRandomGenerator::system()->generate();
        m_random.seed(m_seed);
        qInfo("seed %u (repeat with ANONCHAT_FAULTS_SEED=%u)", m_seed, m_seed);
    }

protected:
    QString freshDbPath()
    {
        return m_dir->filePath(QStringLiteral("chat-%1.db").arg(++m_databases));
    }

    std::unique_ptr<QTemporaryDir> m_dir;
    int m_databases = 0;
    quint32 m_seed = 0;
    QRandomGenerator m_random;
};

} // namespace anonchat::test::faults
