// The real `anonchat` binary on a real X display (ctest runs this under xvfb-run -a): with no
// flags it hosts its server (its database in the user's data folder, the next free port if 5000
// is taken), prints the URL, serves /healthz, and its own window is connected to it
// (anonchat_connections >= 1 in /metrics). With --connect it joins a remote server and hosts
// nothing. A bad flag is one line on stderr and exit code 2. SIGTERM stops it cleanly.

#include <QDir>
#include <QFile>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>
#include <csignal>
#include <memory>

namespace {

constexpr int kWait = 30000; // a sanitizer build starts slowly

struct HttpAnswer {
    int status = 0;
    QByteArray body;
};

HttpAnswer get(const QUrl &url)
{
    QNetworkAccessManager manager;
    QNetworkRequest request(url);
    request.setTransferTimeout(5000);
    std::unique_ptr<QNetworkReply> reply(manager.get(request));
    if (!QTest::qWaitFor([&] { return reply->isFinished(); }, 10000))
        return {};
    return {reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), reply->readAll()};
}

/// The value of the gauge `name` in a Prometheus text, or -1.
double metric(const QByteArray &text, const QByteArray &name)
{
    for (const QByteArray &line : text.split('\n')) {
        if (line.startsWith(name + ' '))
            return line.mid(name.size() + 1).trimmed().toDouble();
    }
    return -1;
}

/// A process's whole stdout so far, kept (QProcess hands each byte out once).
class Child
{
public:
    Child() { m_process.setProcessChannelMode(QProcess::SeparateChannels); }
    ~Child()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5000);
        }
    }
    QProcess &process() { return m_process; }
    QString out()
    {
        m_out += QString::fromLocal8Bit(m_process.readAllStandardOutput());
        return m_out;
    }
    QString err()
    {
        m_err += QString::fromLocal8Bit(m_process.readAllStandardError());
        return m_err;
    }
    /// The first capture of `pattern` in stdout, waiting for it.
    QString waitForOutput(const QRegularExpression &pattern)
    {
        QString found;
        (void)QTest::qWaitFor(
            [&] {
                const QRegularExpressionMatch match = pattern.match(out());
                if (match.hasMatch())
                    found = match.captured(1);
                return !found.isEmpty() || m_process.state() == QProcess::NotRunning;
            },
            kWait);
        return found;
    }
    int terminate()
    {
        ::kill(pid_t(m_process.processId()), SIGTERM);
        if (!m_process.waitForFinished(kWait))
            return -1;
        return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -2;
    }

private:
    QProcess m_process;
    QString m_out;
    QString m_err;
};

} // namespace

class TestApp : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_home;

    /// The environment of a user whose home is `m_home`, on the X display of this test.
    QProcessEnvironment environment() const
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("xcb"));
        env.insert(QStringLiteral("HOME"), m_home.path());
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), m_home.filePath(QStringLiteral("config")));
        env.insert(QStringLiteral("XDG_DATA_HOME"), m_home.filePath(QStringLiteral("data")));
        env.insert(QStringLiteral("XDG_RUNTIME_DIR"), m_home.filePath(QStringLiteral("run")));
        env.insert(QStringLiteral("LANG"), QStringLiteral("C.UTF-8"));
        return env;
    }

    void requireDisplay()
    {
        if (qEnvironmentVariableIsEmpty("DISPLAY"))
            QSKIP("no X display (run under xvfb-run -a; Debian package xvfb)");
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_home.isValid());
        QDir(m_home.path()).mkpath(QStringLiteral("run"));
        QFile::setPermissions(m_home.filePath(QStringLiteral("run")),
                              QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        QVERIFY(QFile::exists(QStringLiteral(ANONCHAT_APP_BINARY)));
    }

    void noFlagsHostsAndConnects()
    {
        requireDisplay();
        // Occupy 5000 if it is free, so that "the next free port" is exercised for sure.
        QTcpServer blocker;
        blocker.listen(QHostAddress::LocalHost, 5000);

        Child app;
        app.process().setProcessEnvironment(environment());
        app.process().start(QStringLiteral(ANONCHAT_APP_BINARY), {});
        QVERIFY2(app.process().waitForStarted(), qPrintable(app.process().errorString()));
        const QString url = app.waitForOutput(QRegularExpression(
            QStringLiteral("^anonchat hosting (http://127\\.0\\.0\\.1:\\d+/)\\n"),
            QRegularExpression::MultilineOption));
        QVERIFY2(!url.isEmpty(), qPrintable(app.out() + app.err()));
        QVERIFY2(QUrl(url).port() != 5000, qPrintable(url));
        QCOMPARE(app.out().count(QStringLiteral("anonchat hosting")), 1);

        const HttpAnswer health = get(QUrl(url).resolved(QUrl(QStringLiteral("/healthz"))));
        QCOMPARE(health.status, 200);
        QVERIFY(health.body.contains("\"ok\""));

        double connections = -1;
        (void)QTest::qWaitFor(
            [&] {
                connections =
                    metric(get(QUrl(url).resolved(QUrl("/metrics"))).body, "anonchat_connections");
                return connections >= 1;
            },
            kWait);
        QVERIFY2(connections >= 1, qPrintable(QString::number(connections)));

        // The database is in the user's data folder.
        QVERIFY(QFile::exists(m_home.filePath(QStringLiteral("data/anonchat/chat.db"))));

        const int code = app.terminate();
        QVERIFY2(code == 0, qPrintable(QStringLiteral("exit %1\n").arg(code) + app.err()));
    }

    void connectJoinsRemoteAndHostsNothing()
    {
        requireDisplay();
        QTemporaryDir dir;
        Child server;
        server.process().start(QStringLiteral(ANONCHAT_SERVER_BINARY),
                               {QStringLiteral("--port"), QStringLiteral("0"),
                                QStringLiteral("--db"), dir.filePath(QStringLiteral("s.db"))});
        QVERIFY(server.process().waitForStarted());
        const QString url =
            server.waitForOutput(QRegularExpression(QStringLiteral("listening on (http://\\S+)")));
        QVERIFY2(!url.isEmpty(), qPrintable(server.err()));

        Child app;
        app.process().setProcessEnvironment(environment());
        app.process().start(
            QStringLiteral(ANONCHAT_APP_BINARY),
            {QStringLiteral("--connect"), url, QStringLiteral("--lang"), QStringLiteral("zh_CN")});
        QVERIFY(app.process().waitForStarted());
        double connections = -1;
        (void)QTest::qWaitFor(
            [&] {
                connections =
                    metric(get(QUrl(url).resolved(QUrl("/metrics"))).body, "anonchat_connections");
                return connections >= 1;
            },
            kWait);
        QVERIFY2(connections >= 1, qPrintable(app.err()));
        QVERIFY(!app.out().contains(QStringLiteral("hosting")));
        const int code = app.terminate();
        QVERIFY2(code == 0, qPrintable(QStringLiteral("exit %1\n").arg(code) + app.err()));
        QTRY_COMPARE_WITH_TIMEOUT(
            metric(get(QUrl(url).resolved(QUrl("/metrics"))).body, "anonchat_connections"), 0.0,
            kWait);
        QCOMPARE(server.terminate(), 0);
    }

    void badFlagsExitWithCode2()
    {
        for (const QStringList &args :
             {QStringList{"--port", "nope"}, QStringList{"--connect", "ftp://x/"},
              QStringList{"--lang", "fr"}, QStringList{"--no-such-flag"}}) {
            QProcess app;
            QProcessEnvironment env = environment();
            env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
            app.setProcessEnvironment(env);
            app.start(QStringLiteral(ANONCHAT_APP_BINARY), args);
            QVERIFY(app.waitForFinished(kWait));
            QCOMPARE(app.exitCode(), 2);
            const QString err = QString::fromLocal8Bit(app.readAllStandardError());
            const QStringList lines = err.trimmed().split('\n');
            QVERIFY2(lines.last().startsWith(QStringLiteral("anonchat: ")), qPrintable(err));
            QVERIFY(app.readAllStandardOutput().isEmpty());
        }
    }

    void helpListsTheFlags()
    {
        QProcess app;
        QProcessEnvironment env = environment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        app.setProcessEnvironment(env);
        app.start(QStringLiteral(ANONCHAT_APP_BINARY), {QStringLiteral("--help")});
        QVERIFY(app.waitForFinished(kWait));
        QCOMPARE(app.exitCode(), 0);
        const QString out = QString::fromLocal8Bit(app.readAllStandardOutput());
        for (const char *flag : {"--connect", "--lang", "--host", "--port", "--db"})
            QVERIFY2(out.contains(QLatin1String(flag)), flag);
    }
};

QTEST_GUILESS_MAIN(TestApp)
#include "tst_app.moc"
