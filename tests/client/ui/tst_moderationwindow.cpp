// ModerationWindow (client/ui) driven by clicks against a real in-process ChatServer: a report
// made by raw clients from two loopback addresses shows with its transcript, Ban for 1 hour makes
// a ban (seen in the window and through the API), Lift removes it, Dismiss moves a report to the
// dismissed filter, a wrong token shows the error line; and Server › Moderation… in a MainWindow
// that hosts its server opens the window on that server with no token asked, while on a remote
// server it asks for the token (hidden as typed), asks again after a refused one, and keeps a
// good one for the session.

#include "client/app/appsettings.h"
#include "client/core/moderationclient.h"
#include "client/ui/mainwindow.h"
#include "client/ui/moderationlauncher.h"
#include "client/ui/moderationwindow.h"
#include "server/app/chatserver.h"
#include "tests/support/chatreport.h"
#include "tests/support/inprocessserver.h"
#include "tests/support/rawwebsocket.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QInputDialog>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <memory>

using namespace anonchat;
using namespace anonchat::client;
using anonchat::test::loopbackAddress;
using anonchat::test::RawWebSocket;
using State = ChatSession::State;

namespace {

const QByteArray kToken = "moderation-window-test-token-0123456789";
constexpr int kWait = 5000;

/// Raw clients from 127.0.0.3 (reporter) and 127.0.0.2 (reported); the report made.
struct Report {
    RawWebSocket reporter;
    RawWebSocket reported;
    bool make(quint16 port, const QByteArray &text)
    {
        return reporter.open(port, loopbackAddress(3)) && reported.open(port, loopbackAddress(2)) &&
               test::pairAndReport(reporter, reported, text);
    }
};

} // namespace

class TestModerationWindow : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void cleanup();
    void showsTheReportThenBansAndLifts();
    void dismissMovesTheReport();
    void wrongTokenShowsTheError();
    void mainWindowOpensItOnTheHostedServer();
    void mainWindowAsksForARemoteServersToken();

private:
    QUrl serverUrl() const
    {
        return QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(m_server->port()));
    }
    /// Answers the next token dialog with `token` (once it shows); counts it in m_asked.
    void answerTokenDialog(const QString &token);
    /// The bans in force, asked through the API by a client of its own.
    QList<ModerationBan> bansFromApi();

    QTemporaryDir m_dir;
    std::unique_ptr<server::ChatServer> m_server;
    int m_counter = 0;
    int m_asked = 0;
    bool m_passwordEcho = false;
};

void TestModerationWindow::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setApplicationName(QStringLiteral("anonchat-tst"));
    QVERIFY(m_dir.isValid());
}

void TestModerationWindow::init()
{
    server::ServerConfig config = test::testServerConfig(
        m_dir.filePath(QStringLiteral("chat-%1.db").arg(++m_counter)), QStringLiteral("modwin"));
    config.adminToken = kToken;
    config.interestWaitMs = 0;
    config.autoBanReports = 0;
    QVERIFY(test::startChatServer(m_server, config));
}

void TestModerationWindow::cleanup()
{
    m_server.reset();
}

void TestModerationWindow::answerTokenDialog(const QString &token)
{
    // QInputDialog::getText() runs its own event loop: answer it from a timer.
    auto *poll = new QTimer(this);
    connect(poll, &QTimer::timeout, this, [this, poll, token] {
        auto *dialog = qobject_cast<QInputDialog *>(QApplication::activeModalWidget());
        if (!dialog)
            return;
        poll->deleteLater();
        ++m_asked;
        m_passwordEcho = dialog->textEchoMode() == QLineEdit::Password;
        dialog->setTextValue(token);
        dialog->accept();
    });
    poll->start(20);
}

QList<ModerationBan> TestModerationWindow::bansFromApi()
{
    ModerationClient client;
    client.setServer(serverUrl(), kToken);
    QSignalSpy fetched(&client, &ModerationClient::bansFetched);
    client.fetchBans();
    if (!fetched.wait(kWait))
        return {};
    return fetched.at(0).at(0).value<QList<ModerationBan>>();
}

void TestModerationWindow::showsTheReportThenBansAndLifts()
{
    Report report;
    QVERIFY(report.make(m_server->port(), "buy <b>my</b> stuff"));
    ModerationClient client;
    QVERIFY(client.setServer(serverUrl(), kToken));
    ModerationWindow window(&client);
    window.show();

    QTRY_COMPARE_WITH_TIMEOUT(window.reportsList()->count(), 1, kWait);
    QCOMPARE(window.reportsList()->currentRow(), 0);
    QVERIFY(window.reportsList()->item(0)->text().contains(QStringLiteral("spam")));
    QVERIFY(window.reportsList()->item(0)->text().contains(QStringLiteral("1 message")));
    const QString transcript = window.transcriptView()->toPlainText();
    QVERIFY2(transcript.contains(QStringLiteral("Reported user: buy <b>my</b> stuff")),
             qPrintable(transcript));
    QCOMPARE(window.bansList()->count(), 0);
    QVERIFY(!window.liftButton()->isEnabled());
    QVERIFY(window.dismissButton()->isEnabled());
    QVERIFY(window.banButton(1) && window.banButton(24) && window.banButton(7 * 24));
    QVERIFY(!window.banButton(2));

    // Ban for 1 hour: the ban is listed, the report leaves the open list, the user is closed.
    QTest::mouseClick(window.banButton(1), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(window.bansList()->count(), 1, kWait);
    QTRY_COMPARE_WITH_TIMEOUT(window.reportsList()->count(), 0, kWait);
    QVERIFY(window.transcriptView()->toPlainText().isEmpty());
    QVERIFY(!window.banButton(1)->isEnabled());
    QVERIFY(report.reported.takeError(QStringLiteral("banned"), kWait));
    const QList<ModerationBan> bans = bansFromApi();
    QCOMPARE(bans.size(), 1);
    const qint64 inSeconds = QDateTime::currentDateTimeUtc().secsTo(bans.first().until);
    QVERIFY2(inSeconds > 3600 - 60 && inSeconds <= 3600, qPrintable(bans.first().until.toString()));
    QVERIFY(window.bansList()->item(0)->text().contains(QStringLiteral("report #")));
    QVERIFY(window.errorLabel()->text().isEmpty());

    // Lift.
    QTRY_VERIFY_WITH_TIMEOUT(window.liftButton()->isEnabled(), kWait);
    QTest::mouseClick(window.liftButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(window.bansList()->count(), 0, kWait);
    QVERIFY(bansFromApi().isEmpty());
    QVERIFY(!window.liftButton()->isEnabled());

    // The banned report is under "Actioned".
    window.statusFilter()->setCurrentIndex(2);
    QTRY_COMPARE_WITH_TIMEOUT(window.reportsList()->count(), 1, kWait);
    QVERIFY(!window.banButton(1)->isEnabled()); // only open reports are acted on
    QVERIFY(!window.dismissButton()->isEnabled());
}

void TestModerationWindow::dismissMovesTheReport()
{
    Report report;
    QVERIFY(report.make(m_server->port(), "hello"));
    ModerationClient client;
    QVERIFY(client.setServer(serverUrl(), kToken));
    ModerationWindow window(&client);
    window.show();
    QTRY_COMPARE_WITH_TIMEOUT(window.reportsList()->count(), 1, kWait);
    QTRY_VERIFY_WITH_TIMEOUT(window.dismissButton()->isEnabled(), kWait);

    QTest::mouseClick(window.dismissButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(window.reportsList()->count(), 0, kWait);
    QCOMPARE(window.bansList()->count(), 0);
    QVERIFY(bansFromApi().isEmpty());
    window.statusFilter()->setCurrentIndex(1); // Dismissed
    QTRY_COMPARE_WITH_TIMEOUT(window.reportsList()->count(), 1, kWait);
    QVERIFY(window.transcriptView()->toPlainText().contains(QStringLiteral("hello")));
}

void TestModerationWindow::wrongTokenShowsTheError()
{
    Report report;
    QVERIFY(report.make(m_server->port(), "hello"));
    ModerationClient client;
    QVERIFY(client.setServer(serverUrl(), "not-the-token"));
    ModerationWindow window(&client);
    window.show();
    QTRY_VERIFY_WITH_TIMEOUT(!window.errorLabel()->text().isEmpty(), kWait);
    QVERIFY2(window.errorLabel()->text().contains(QStringLiteral("refused")),
             qPrintable(window.errorLabel()->text()));
    QCOMPARE(window.reportsList()->count(), 0);
    QVERIFY(!window.dismissButton()->isEnabled());
}

void TestModerationWindow::mainWindowOpensItOnTheHostedServer()
{
    m_server.reset(); // the window hosts its own
    AppSettings settings(m_dir.filePath(QStringLiteral("main.ini")));
    MainWindow main(settings);
    main.show();
    ServerBackend::Target local;
    local.host = true;
    local.config.port = 0;
    local.config.database = m_dir.filePath(QStringLiteral("hosted.db"));
    local.config.interestWaitMs = 0;
    main.startWith(local);
    QTRY_COMPARE_WITH_TIMEOUT(main.session()->state(), State::Idle, kWait);
    QVERIFY(main.backend()->host()->config().adminToken.size() >= 32);

    Report report;
    QVERIFY(report.make(main.backend()->host()->port(), "hosted"));
    QVERIFY(main.moderationAction()->isEnabled());
    main.moderationAction()->trigger(); // asks nothing: the host's own token
    ModerationWindow *window = main.moderation()->window();
    QVERIFY(window);
    QVERIFY(window->isVisible());
    QTRY_COMPARE_WITH_TIMEOUT(window->reportsList()->count(), 1, kWait);
    QVERIFY(window->transcriptView()->toPlainText().contains(QStringLiteral("hosted")));
    QVERIFY(window->errorLabel()->text().isEmpty());

    // Opened again: the same window.
    main.moderationAction()->trigger();
    QCOMPARE(main.moderation()->window(), window);

    QSignalSpy finished(&main, &MainWindow::finished);
    main.shutdown();
    QVERIFY(finished.wait(kWait) || finished.size() == 1);
}

void TestModerationWindow::mainWindowAsksForARemoteServersToken()
{
    Report report;
    QVERIFY(report.make(m_server->port(), "remote"));
    AppSettings settings(m_dir.filePath(QStringLiteral("remote.ini")));
    MainWindow main(settings);
    main.show();
    ServerBackend::Target remote;
    remote.host = false;
    remote.remoteUrl = serverUrl();
    main.startWith(remote);
    QTRY_COMPARE_WITH_TIMEOUT(main.session()->state(), State::Idle, kWait);

    // A wrong token: asked (hidden), refused, shown in the window's error line.
    answerTokenDialog(QStringLiteral("wrong-token-0123456789"));
    main.moderationAction()->trigger();
    QCOMPARE(m_asked, 1);
    QVERIFY(m_passwordEcho);
    ModerationWindow *window = main.moderation()->window();
    QVERIFY(window);
    QTRY_VERIFY_WITH_TIMEOUT(window->errorLabel()->text().contains(QStringLiteral("refused")),
                             kWait);
    QCOMPARE(window->reportsList()->count(), 0);

    // Refused tokens are forgotten: asked again; the right one shows the report.
    answerTokenDialog(QString::fromLatin1(kToken));
    main.moderationAction()->trigger();
    QCOMPARE(m_asked, 2);
    QTRY_COMPARE_WITH_TIMEOUT(window->reportsList()->count(), 1, kWait);
    QVERIFY(window->errorLabel()->text().isEmpty());

    // A good one is kept for the session: not asked again; never saved in the settings.
    main.moderationAction()->trigger();
    QTest::qWait(200);
    QCOMPARE(m_asked, 2);
    QTRY_COMPARE_WITH_TIMEOUT(window->reportsList()->count(), 1, kWait);
    QSettings saved(m_dir.filePath(QStringLiteral("remote.ini")), QSettings::IniFormat);
    for (const QString &key : saved.allKeys())
        QVERIFY2(!saved.value(key).toString().contains(QString::fromLatin1(kToken)),
                 qPrintable(key));
}

QTEST_MAIN(TestModerationWindow)
#include "tst_moderationwindow.moc"
