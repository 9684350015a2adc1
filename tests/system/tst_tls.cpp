// TLS (PROTOCOL.md, Transport): `--tls-cert`/`--tls-key` serve https:// and wss:// on the one
// port. A throw-away self-signed certificate is made with the openssl CLI at start; clients trust
// exactly that certificate (it is their only CA). Each test runs its own in-process ChatServer
// (port 0, SQLite in a temporary directory, a short request time limit).

#include "client/core/chatsession.h"
#include "server/app/chatserver.h"
#include "server/app/serverconfig.h"
#include "shared/codec.h"
#include "tests/support/inprocessserver.h"

#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QSignalSpy>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QWebSocket>
#include <memory>
#include <vector>

using namespace anonchat;
namespace proto = anonchat::protocol;

namespace {

constexpr qint64 kRequestTimeoutMs = 1500;

/// Parses `--tls-cert`/`--tls-key` (and any other server flags) as the binaries do.
bool readFlags(const QStringList &flags, server::ServerConfig &config, QString *error)
{
    QCommandLineParser parser;
    server::addServerOptions(parser);
    if (!parser.parse(QStringList{QStringLiteral("anonchat-server")} + flags)) {
        *error = parser.errorText();
        return false;
    }
    return server::readServerOptions(parser, config, error);
}

/// A protocol client over wss:// with the given TLS settings; keeps every decoded frame.
class WssClient : public QObject
{
public:
    explicit WssClient(const QSslConfiguration &tls, const QByteArray &origin = {})
    {
        m_socket.setSslConfiguration(tls);
        m_origin = origin;
        connect(&m_socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            const proto::ServerDecodeResult decoded = proto::decodeServerFrame(text);
            if (const auto *message = std::get_if<proto::ServerMessage>(&decoded))
                m_frames.append(*message);
            else
                m_bad.append(text);
        });
        connect(&m_socket, &QWebSocket::sslErrors, this,
                [this](const QList<QSslError> &errors) { m_sslErrors += errors; });
    }

    void open(const QUrl &url)
    {
        QNetworkRequest request(url);
        if (!m_origin.isEmpty())
            request.setRawHeader("Origin", m_origin);
        m_socket.open(request);
    }
    void send(const proto::ClientMessage &message)
    {
        m_socket.sendTextMessage(proto::encodeText(message));
    }

    /// Waits for (and removes) the first frame of type T.
    template <typename T>
    std::optional<T> take(int timeoutMs = 5000)
    {
        std::optional<T> found;
        (void)QTest::qWaitFor(
            [&] {
                for (qsizetype i = 0; i < m_frames.size(); ++i) {
                    if (const T *m = std::get_if<T>(&m_frames[i])) {
                        found = *m;
                        m_frames.removeAt(i);
                        return true;
                    }
                }
                return false;
            },
            timeoutMs);
        return found;
    }

    QWebSocket m_socket;
    QByteArray m_origin;
    QList<proto::ServerMessage> m_frames;
    QStringList m_bad;
    QList<QSslError> m_sslErrors;
};

} // namespace

class TestTls : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void cleanup();

    void certificateFlags_data();
    void certificateFlags();
    void httpsHealthzMetricsAndPage();
    void untrustedCertificateRefused();
    void wssChatBothWays();
    void wssOriginChecked();
    void plainHttpToTlsPort_data();
    void plainHttpToTlsPort();
    void unfinishedRequestDropped_data();
    void unfinishedRequestDropped();
    void mismatchedKeyInConfigDropsAtOnce();
    void desktopClientOverWss();
    void shutdownClosesWssWith1001();

private:
    QSslConfiguration clientTls() const;
    QUrl wssUrl() const;
    QByteArray get(const QString &path, QNetworkReply::NetworkError *error = nullptr,
                   QNetworkReply **keep = nullptr, const QSslConfiguration *tls = nullptr);
    bool openssl(const QStringList &arguments);

    QTemporaryDir m_certDir;
    QString m_certPath;
    QString m_keyPath;
    QString m_otherKeyPath; ///< a valid key that is not the certificate's
    QSslCertificate m_certificate;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<server::ChatServer> m_server;
    std::vector<std::unique_ptr<QNetworkAccessManager>> m_networks;
    int m_instances = 0;
};

bool TestTls::openssl(const QStringList &arguments)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(QStringLiteral("openssl"), arguments);
    if (!process.waitForFinished(60000) || process.exitStatus() != QProcess::NormalExit ||
        process.exitCode() != 0) {
        qWarning("openssl %s failed: %s", qPrintable(arguments.join(QLatin1Char(' '))),
                 process.readAll().constData());
        return false;
    }
    return true;
}

void TestTls::initTestCase()
{
    qRegisterMetaType<proto::ServerMessage>();
    if (!QSslSocket::supportsSsl())
        QSKIP("no TLS backend (OpenSSL 3) in this Qt");
    if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
        QSKIP("the openssl command is missing (scripts/setup.sh --test installs it)");
    QVERIFY(m_certDir.isValid());
    m_certPath = m_certDir.filePath(QStringLiteral("cert.pem"));
    m_keyPath = m_certDir.filePath(QStringLiteral("key.pem"));
    m_otherKeyPath = m_certDir.filePath(QStringLiteral("other-key.pem"));
    // Throw-away, valid for a day, for the address the server listens on.
    QVERIFY(openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", m_keyPath, "-out", m_certPath, "-days", "1", "-subj",
                     "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"}));
    QVERIFY(openssl({"genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                     m_otherKeyPath}));
    const QList<QSslCertificate> certs = QSslCertificate::fromPath(m_certPath);
    QCOMPARE(certs.size(), 1);
    m_certificate = certs.first();
}

void TestTls::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    server::ServerConfig config;
    QString error;
    QVERIFY2(readFlags({"--tls-cert", m_certPath, "--tls-key", m_keyPath}, config, &error),
             qPrintable(error));
    QVERIFY(config.tlsEnabled());
    config.port = 0;
    config.database = m_dir->filePath(QStringLiteral("chat.db"));
    config.requestTimeoutMs = kRequestTimeoutMs;
    config.interestWaitMs = 200;
    config.instanceName = QStringLiteral("tst-tls-%1").arg(++m_instances);
    QVERIFY2(test::startChatServer(m_server, config, &error), qPrintable(error));
    QCOMPARE(m_server->url().scheme(), QStringLiteral("https"));
}

void TestTls::cleanup()
{
    if (m_server) {
        QSignalSpy stopped(m_server.get(), &server::ChatServer::stopped);
        m_server->shutdown();
        QVERIFY(stopped.count() > 0 || stopped.wait(5000));
        m_server.reset();
    }
    m_networks.clear();
    m_dir.reset();
}

QSslConfiguration TestTls::clientTls() const
{
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setCaCertificates({m_certificate}); // trust this certificate and nothing else
    return tls;
}

QUrl TestTls::wssUrl() const
{
    QUrl url = m_server->url();
    url.setScheme(QStringLiteral("wss"));
    url.setPath(QStringLiteral("/ws"));
    return url;
}

/// GET over https; the body, or empty on an error. A fresh manager each time: one keeps its
/// connections by host and port, whatever the TLS settings of a later request.
QByteArray TestTls::get(const QString &path, QNetworkReply::NetworkError *error,
                        QNetworkReply **keep, const QSslConfiguration *tls)
{
    QNetworkRequest request(m_server->url().resolved(QUrl(path)));
    request.setSslConfiguration(tls ? *tls : clientTls());
    m_networks.push_back(std::make_unique<QNetworkAccessManager>());
    QNetworkReply *reply = m_networks.back()->get(request);
    QSignalSpy finished(reply, &QNetworkReply::finished);
    if (!finished.wait(10000))
        qWarning("no answer for %s", qPrintable(path));
    if (error)
        *error = reply->error();
    const QByteArray body = reply->readAll();
    if (keep)
        *keep = reply;
    else
        reply->deleteLater();
    return body;
}

// ---- configuration ------------------------------------------------------------------------

void TestTls::certificateFlags_data()
{
    QTest::addColumn<QString>("cert");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("named"); // empty: accepted

    QTest::newRow("valid pair") << "cert.pem"
                                << "key.pem"
                                << "";
    QTest::newRow("missing certificate") << "missing.pem"
                                         << "key.pem"
                                         << "missing.pem";
    QTest::newRow("missing key") << "cert.pem"
                                 << "missing-key.pem"
                                 << "missing-key.pem";
    QTest::newRow("key as certificate") << "key.pem"
                                        << "key.pem"
                                        << "--tls-cert";
    QTest::newRow("certificate as key") << "cert.pem"
                                        << "cert.pem"
                                        << "--tls-key";
    QTest::newRow("another key") << "cert.pem"
                                 << "other-key.pem"
                                 << "other-key.pem";
    QTest::newRow("certificate alone") << "cert.pem"
                                       << ""
                                       << "--tls-key";
    QTest::newRow("key alone") << ""
                               << "key.pem"
                               << "--tls-cert";
}

void TestTls::certificateFlags()
{
    QFETCH(QString, cert);
    QFETCH(QString, key);
    QFETCH(QString, named);
    QStringList flags;
    if (!cert.isEmpty())
        flags << QStringLiteral("--tls-cert") << m_certDir.filePath(cert);
    if (!key.isEmpty())
        flags << QStringLiteral("--tls-key") << m_certDir.filePath(key);
    server::ServerConfig config;
    QString error;
    const bool ok = readFlags(flags, config, &error);
    if (named.isEmpty()) {
        QVERIFY2(ok, qPrintable(error));
        QVERIFY(config.tlsEnabled());
        QCOMPARE(config.tlsCertificateChain.first(), m_certificate);
        QVERIFY(!config.tlsKey.isNull());
        return;
    }
    QVERIFY(!ok);
    QVERIFY(!config.tlsEnabled());
    QVERIFY2(error.contains(named), qPrintable(error));
    QVERIFY2(!error.contains(QLatin1Char('\n')), qPrintable(error));
    qInfo("%s", qPrintable(error));
}

// ---- https ----------------------------------------------------------------------------------

void TestTls::httpsHealthzMetricsAndPage()
{
    QNetworkReply::NetworkError error = QNetworkReply::UnknownNetworkError;
    const QByteArray health = get(QStringLiteral("/healthz"), &error);
    QCOMPARE(error, QNetworkReply::NoError);
    QCOMPARE(QJsonDocument::fromJson(health).object().value(QLatin1String("status")).toString(),
             QStringLiteral("ok"));

    QVERIFY(get(QStringLiteral("/metrics"), &error).contains("anonchat_connections"));
    QCOMPARE(error, QNetworkReply::NoError);

    QNetworkReply *reply = nullptr;
    const QByteArray page = get(QStringLiteral("/"), &error, &reply);
    std::unique_ptr<QNetworkReply> owned(reply);
    QCOMPARE(error, QNetworkReply::NoError);
    QVERIFY(page.contains("<html"));
    const QByteArray csp = reply->rawHeader("Content-Security-Policy");
    const QByteArray authority = m_server->url().authority().toLatin1();
    QVERIFY2(csp.contains("connect-src 'self'"), csp.constData());
    QVERIFY2(csp.contains("wss://" + authority), csp.constData());
    QCOMPARE(reply->rawHeader("X-Content-Type-Options"), QByteArray("nosniff"));
    QCOMPARE(reply->sslConfiguration().peerCertificate(), m_certificate);

    QCOMPARE(get(QStringLiteral("/no-such-page"), &error), QByteArray("not found\n"));
    QCOMPARE(error, QNetworkReply::ContentNotFoundError);
}

void TestTls::untrustedCertificateRefused()
{
    // Without our certificate as CA a client refuses the connection: the checks are real.
    const QSslConfiguration system = QSslConfiguration::defaultConfiguration();
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
    QVERIFY(get(QStringLiteral("/healthz"), &error, nullptr, &system).isEmpty());
    QCOMPARE(error, QNetworkReply::SslHandshakeFailedError);

    WssClient ws(system);
    QSignalSpy disconnected(&ws.m_socket, &QWebSocket::disconnected);
    ws.open(wssUrl());
    QVERIFY(disconnected.wait(10000));
    QVERIFY(!ws.m_sslErrors.isEmpty());
    QVERIFY(ws.m_frames.isEmpty());
    // ... and the server still serves others.
    const QByteArray health = get(QStringLiteral("/healthz"), &error);
    QVERIFY2(health.contains("\"ok\""), qPrintable(QString::number(error)));
}

// ---- wss ------------------------------------------------------------------------------------

void TestTls::wssChatBothWays()
{
    WssClient a(clientTls());
    // A page served over https sends its own https:// origin.
    WssClient b(clientTls(), "https://" + m_server->url().authority().toLatin1());
    a.open(wssUrl());
    b.open(wssUrl());
    const auto welcomeA = a.take<proto::Welcome>();
    const auto welcomeB = b.take<proto::Welcome>();
    QVERIFY(welcomeA && welcomeB);
    QVERIFY(a.m_sslErrors.isEmpty() && b.m_sslErrors.isEmpty());
    QCOMPARE(a.m_socket.sslConfiguration().peerCertificate(), m_certificate);

    a.send(proto::JoinQueue{});
    b.send(proto::JoinQueue{});
    const auto matchedA = a.take<proto::Matched>();
    const auto matchedB = b.take<proto::Matched>();
    QVERIFY(matchedA && matchedB);
    QCOMPARE(matchedA->partnerId, welcomeB->userId);
    QCOMPARE(matchedB->partnerId, welcomeA->userId);

    const QString hello = QStringLiteral("hello over TLS, 你好 🔒");
    a.send(proto::SendMessage{hello, QStringLiteral("n1")});
    const auto echoA = a.take<proto::NewMessage>();
    const auto gotB = b.take<proto::NewMessage>();
    QVERIFY(echoA && gotB);
    QCOMPARE(echoA->nonce, QStringLiteral("n1"));
    QCOMPARE(gotB->content, hello);
    QCOMPARE(gotB->senderId, welcomeA->userId);

    b.send(proto::SendMessage{QStringLiteral("and back"), {}});
    const auto gotA = a.take<proto::NewMessage>();
    QVERIFY(gotA);
    QCOMPARE(gotA->content, QStringLiteral("and back"));
    QCOMPARE(gotA->senderId, welcomeB->userId);
    QVERIFY(gotA->id > echoA->id);
    QVERIFY2(a.m_bad.isEmpty() && b.m_bad.isEmpty(), qPrintable((a.m_bad + b.m_bad).join(' ')));
    QCOMPARE(m_server->connectionCount(), 2);
}

void TestTls::wssOriginChecked()
{
    WssClient foreign(clientTls(), "https://evil.example");
    QSignalSpy disconnected(&foreign.m_socket, &QWebSocket::disconnected);
    foreign.open(wssUrl());
    QVERIFY(disconnected.wait(10000));
    QVERIFY(foreign.m_frames.isEmpty());
    QCOMPARE(m_server->connectionCount(), 0);
}

// ---- what is not TLS ------------------------------------------------------------------------

void TestTls::plainHttpToTlsPort_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::newRow("GET /healthz") << QByteArray("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    QTest::newRow("ws upgrade") << QByteArray(
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    QTest::newRow("garbage") << QByteArray(4096, '\x16');
}

void TestTls::plainHttpToTlsPort()
{
    QFETCH(QByteArray, request);
    QTcpSocket plain;
    plain.connectToHost(QHostAddress::LocalHost, m_server->port());
    QVERIFY(plain.waitForConnected(5000));
    QSignalSpy disconnected(&plain, &QTcpSocket::disconnected);
    QByteArray answer;
    connect(&plain, &QTcpSocket::readyRead, this, [&] { answer += plain.readAll(); });
    plain.write(request);
    // A failed handshake closes at once, long before the request time limit.
    QElapsedTimer clock;
    clock.start();
    QVERIFY(disconnected.count() > 0 || disconnected.wait(10000));
    QVERIFY2(clock.elapsed() < kRequestTimeoutMs, qPrintable(QString::number(clock.elapsed())));
    answer += plain.readAll();
    QVERIFY2(!answer.contains("HTTP/"), answer.constData());
    QVERIFY(!answer.contains("status"));
    QNetworkReply::NetworkError error = QNetworkReply::UnknownNetworkError;
    QVERIFY(get(QStringLiteral("/healthz"), &error).contains("\"ok\""));
    QCOMPARE(error, QNetworkReply::NoError);
}

void TestTls::unfinishedRequestDropped_data()
{
    QTest::addColumn<QString>("kind");
    QTest::newRow("TCP only, no TLS handshake") << "silent";
    QTest::newRow("half a ClientHello") << "partial";
    QTest::newRow("TLS done, no request head") << "tls";
}

void TestTls::unfinishedRequestDropped()
{
    QFETCH(QString, kind);
    std::unique_ptr<QTcpSocket> socket;
    QElapsedTimer clock; // starts before the server's, which starts at accept()
    clock.start();
    if (kind == QLatin1String("tls")) {
        auto *tls = new QSslSocket;
        socket.reset(tls);
        tls->setSslConfiguration(clientTls());
        QSignalSpy encrypted(tls, &QSslSocket::encrypted);
        tls->connectToHostEncrypted(QStringLiteral("127.0.0.1"), m_server->port());
        QVERIFY2(encrypted.wait(5000), qPrintable(tls->errorString()));
        QVERIFY(tls->sessionProtocol() == QSsl::TlsV1_2 || tls->sessionProtocol() == QSsl::TlsV1_3);
        QCOMPARE(tls->peerCertificate(), m_certificate);
        tls->write("GET /healthz HTTP/1.1\r\nHost: x\r\n"); // no blank line: never finished
        tls->flush();
    } else {
        socket = std::make_unique<QTcpSocket>();
        socket->connectToHost(QHostAddress::LocalHost, m_server->port());
        QVERIFY(socket->waitForConnected(5000));
        if (kind == QLatin1String("partial")) {
            // A TLS record header announcing 512 bytes of ClientHello, and only 10 of them.
            socket->write(QByteArray::fromHex("160301020001000200030305aabbcc"));
            socket->flush();
        }
    }
    QSignalSpy disconnected(socket.get(), &QTcpSocket::disconnected);
    QVERIFY(disconnected.wait(int(kRequestTimeoutMs) + 5000));
    QVERIFY2(clock.elapsed() >= kRequestTimeoutMs - 200,
             qPrintable(QString::number(clock.elapsed())));
    QVERIFY(!socket->readAll().contains("HTTP/"));
    QNetworkReply::NetworkError error = QNetworkReply::UnknownNetworkError;
    QVERIFY(get(QStringLiteral("/healthz"), &error).contains("\"ok\""));
}

void TestTls::mismatchedKeyInConfigDropsAtOnce()
{
    // A config filled in code skips readServerOptions()'s check: OpenSSL refuses the key on each
    // connection, which the listener drops at once instead of holding it for the time limit.
    QFile file(m_otherKeyPath);
    QVERIFY(file.open(QIODevice::ReadOnly));
    server::ServerConfig config;
    config.port = 0;
    config.database = m_dir->filePath(QStringLiteral("mismatch.db"));
    config.requestTimeoutMs = 60 * 1000;
    config.instanceName = QStringLiteral("tst-tls-mismatch");
    config.tlsCertificateChain = {m_certificate};
    config.tlsKey = QSslKey(file.readAll(), QSsl::Ec);
    QVERIFY(!config.tlsKey.isNull());
    server::ChatServer broken(config);
    QString error;
    QVERIFY2(broken.start(&error), qPrintable(error));
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, broken.port());
    QVERIFY(socket.waitForConnected(5000));
    QSignalSpy disconnected(&socket, &QTcpSocket::disconnected);
    QVERIFY(disconnected.wait(10000));
    QSignalSpy stopped(&broken, &server::ChatServer::stopped);
    broken.shutdown();
    QVERIFY(stopped.count() > 0 || stopped.wait(5000));
}

// ---- the desktop client core ----------------------------------------------------------------

void TestTls::desktopClientOverWss()
{
    client::ChatSession a;
    client::ChatSession b;
    for (client::ChatSession *s : {&a, &b}) {
        s->connection()->setSslConfiguration(clientTls());
        s->connection()->setReconnectDelays(50, 400);
        QVERIFY(s->open(m_server->url())); // https://… becomes wss://…/ws
        QCOMPARE(s->connection()->url(), wssUrl());
    }
    using State = client::ChatSession::State;
    QTRY_VERIFY_WITH_TIMEOUT(a.state() == State::Idle && b.state() == State::Idle, 10000);
    QVERIFY(a.start() && b.start());
    QTRY_VERIFY_WITH_TIMEOUT(a.state() == State::Chatting && b.state() == State::Chatting, 10000);
    QCOMPARE(a.partnerId(), b.userId());

    QSignalSpy arrivedB(&b, &client::ChatSession::messageArrived);
    QSignalSpy arrivedA(&a, &client::ChatSession::messageArrived);
    QCOMPARE(a.sendMessage(QStringLiteral("from the desktop, over wss")),
             client::ChatSession::SendResult::Accepted);
    QTRY_COMPARE_WITH_TIMEOUT(arrivedB.count(), 1, 10000);
    QCOMPARE(arrivedB.at(0).at(0).toString(), QStringLiteral("from the desktop, over wss"));
    QCOMPARE(b.sendMessage(QStringLiteral("right back")),
             client::ChatSession::SendResult::Accepted);
    QTRY_COMPARE_WITH_TIMEOUT(arrivedA.count(), 1, 10000);
    QCOMPARE(arrivedA.at(0).at(0).toString(), QStringLiteral("right back"));
    QCOMPARE(a.model()->entry(a.model()->count() - 2).delivery,
             client::MessageListModel::Delivery::Sent);
    a.close();
    b.close();
}

void TestTls::shutdownClosesWssWith1001()
{
    WssClient a(clientTls());
    a.open(wssUrl());
    QVERIFY(a.take<proto::Welcome>());
    QSignalSpy disconnected(&a.m_socket, &QWebSocket::disconnected);
    QSignalSpy stopped(m_server.get(), &server::ChatServer::stopped);
    m_server->shutdown();
    QVERIFY(disconnected.count() > 0 || disconnected.wait(5000));
    QCOMPARE(a.m_socket.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QVERIFY(stopped.count() > 0 || stopped.wait(5000));
    m_server.reset();
}

QTEST_MAIN(TestTls)
#include "tst_tls.moc"
