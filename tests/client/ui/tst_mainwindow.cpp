// The desktop window itself (client/ui), driven as a person would: two real MainWindows in one
// process, one hosting the server (as `anonchat` does with no flags), the other connected to it,
// find each other by clicking Start, type messages, and see the other leave. Plus the pieces:
// the counter, the shortcuts, notifications and the unread count, saving, the live language
// switch (and the interface language sent as `lang`, the shared one shown), the settings and the
// bubble layout.

#include "client/app/appsettings.h"
#include "client/core/messagelistmodel.h"
#include "client/ui/conversationexport.h"
#include "client/ui/languagemanager.h"
#include "client/ui/mainwindow.h"
#include "client/ui/messagedelegate.h"
#include "client/ui/messageinput.h"
#include "client/ui/messageview.h"
#include "client/ui/settingsdialog.h"
#include "client/ui/theme.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QFile>
#include <QFontDatabase>
#include <QInputMethodEvent>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollBar>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

using namespace anonchat;
using namespace anonchat::client;
using Kind = MessageListModel::Kind;
using Delivery = MessageListModel::Delivery;
using State = ChatSession::State;

namespace {

constexpr int kWait = 10000;

/// Types `text` into `widget` as an input method commits it (CJK, emoji).
void commitText(QWidget *widget, const QString &text)
{
    QInputMethodEvent event;
    event.setCommitString(text);
    QCoreApplication::sendEvent(widget, &event);
}

/// The text of the model's last row of `kind`, or a null string.
QString lastOf(const MessageListModel *model, Kind kind)
{
    for (int row = model->count() - 1; row >= 0; --row) {
        if (model->entry(row).kind == kind)
            return model->entry(row).text;
    }
    return {};
}

} // namespace

class TestMainWindow : public QObject
{
    Q_OBJECT

private:
    /// Two windows: `host` runs the server in-process, `guest` connects to its URL.
    struct Pair {
        std::unique_ptr<AppSettings> hostSettings;
        std::unique_ptr<AppSettings> guestSettings;
        std::unique_ptr<MainWindow> host;
        std::unique_ptr<MainWindow> guest;
    };

    std::unique_ptr<Pair> makePair(LanguageManager *languages = nullptr)
    {
        auto pair = std::make_unique<Pair>();
        pair->hostSettings = std::make_unique<AppSettings>(
            m_dir.filePath(QStringLiteral("host-%1.ini").arg(++m_counter)));
        pair->guestSettings = std::make_unique<AppSettings>(
            m_dir.filePath(QStringLiteral("guest-%1.ini").arg(m_counter)));
        pair->host = std::make_unique<MainWindow>(*pair->hostSettings, languages);
        pair->guest = std::make_unique<MainWindow>(*pair->guestSettings, languages);
        pair->host->resize(640, 560);
        pair->guest->resize(640, 560);
        pair->host->move(0, 0);
        pair->guest->move(660, 0);
        pair->host->show();
        pair->guest->show();

        ServerBackend::Target local;
        local.host = true;
        local.config.port = 0;
        local.config.database = m_dir.filePath(QStringLiteral("chat-%1.db").arg(m_counter));
        local.config.instanceName = QStringLiteral("tst-mainwindow");
        local.config.interestWaitMs = 100;
        local.config.rateLimit = 0;
        pair->host->startWith(local);
        if (!QTest::qWaitFor([&] { return pair->host->session()->state() == State::Idle; }, kWait))
            return nullptr;
        ServerBackend::Target remote;
        remote.host = false;
        remote.remoteUrl = pair->host->backend()->serverUrl();
        pair->guest->startWith(remote);
        if (!QTest::qWaitFor([&] { return pair->guest->session()->state() == State::Idle; }, kWait))
            return nullptr;
        for (MainWindow *w : {pair->host.get(), pair->guest.get()})
            w->session()->setTypingTimings(200, 3000, 6000);
        return pair;
    }

    /// Both click Start and are matched.
    static bool matchByClicking(Pair &p)
    {
        QTest::mouseClick(p.host->startButton(), Qt::LeftButton);
        QTest::mouseClick(p.guest->startButton(), Qt::LeftButton);
        return QTest::qWaitFor(
            [&] {
                return p.host->session()->state() == State::Chatting &&
                       p.guest->session()->state() == State::Chatting;
            },
            kWait);
    }

    static void activate(QWidget *w)
    {
        w->raise();
        w->activateWindow();
        QApplication::setActiveWindow(w);
        QTRY_VERIFY(w->isActiveWindow());
    }

    /// Typing shows on the other side; Shift+Enter breaks the line, Enter sends; the ack marks it
    /// sent.
    static void typeAndSend(MainWindow &a, MainWindow &b)
    {
        QCOMPARE(b.typingLabel()->text(), QString());
        QTest::keyClicks(a.input(), QStringLiteral("Hello there"));
        QCOMPARE(a.counterLabel()->text(), QStringLiteral("11/500"));
        QVERIFY(a.sendButton()->isEnabled());
        QTRY_COMPARE_WITH_TIMEOUT(b.typingLabel()->text(), QStringLiteral("Stranger is typing…"),
                                  kWait);

        // Shift+Enter breaks the line; Enter sends.
        QTest::keyClick(a.input(), Qt::Key_Return, Qt::ShiftModifier);
        QTest::keyClicks(a.input(), QStringLiteral("second line"));
        QCOMPARE(a.input()->text(), QStringLiteral("Hello there\nsecond line"));
        QCOMPARE(a.session()->model()->count(Kind::Mine), 0);
        QTest::keyClick(a.input(), Qt::Key_Return);
        QCOMPARE(a.input()->text(), QString());
        QCOMPARE(a.counterLabel()->text(), QStringLiteral("0/500"));
        QCOMPARE(lastOf(a.session()->model(), Kind::Mine),
                 QStringLiteral("Hello there\nsecond line"));
        QTRY_COMPARE_WITH_TIMEOUT(lastOf(b.session()->model(), Kind::Theirs),
                                  QStringLiteral("Hello there\nsecond line"), kWait);
        // Delivered: the ack turned the pending bubble into a sent one.
        const MessageListModel *am = a.session()->model();
        QTRY_COMPARE(am->entry(am->count() - 1).delivery, Delivery::Sent);
        QTRY_COMPARE(b.typingLabel()->text(), QString());
    }

    /// CJK and emoji through the input method, sent with the Send button.
    static void sendCjkWithTheButton(MainWindow &a, MainWindow &b)
    {
        const QString cjk = QStringLiteral("你好，世界 👋🏽 こんにちは");
        commitText(b.input(), cjk);
        QCOMPARE(b.counterLabel()->text(), QStringLiteral("%1/500").arg(cjk.toUcs4().size()));
        QTest::mouseClick(b.sendButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(lastOf(a.session()->model(), Kind::Theirs), cjk, kWait);
    }

    /// The bubbles are painted inside the view.
    static void expectBubblesInside(MainWindow &a, MainWindow &b)
    {
        for (MainWindow *w : {&a, &b}) {
            QCoreApplication::processEvents();
            const QImage image = w->view()->viewport()->grab().toImage();
            QVERIFY(!image.isNull());
            const auto *model = w->session()->model();
            for (int row = 0; row < model->count(); ++row) {
                const QRect rect = w->view()->visualRect(model->index(row));
                QVERIFY2(rect.height() > 10, qPrintable(QString::number(rect.height())));
                QVERIFY(rect.width() <= w->view()->viewport()->width());
            }
        }
    }

    /// Leaving a chat with messages asks first; Cancel keeps the chat, Leave ends it for both.
    static void leaveAfterConfirming(MainWindow &a, MainWindow &b)
    {
        QTest::mouseClick(a.leaveButton(), Qt::LeftButton);
        QTRY_VERIFY(a.confirmation() && a.confirmation()->isVisible());
        a.confirmation()->button(QMessageBox::Cancel)->click();
        QTRY_VERIFY(!a.confirmation());
        QCOMPARE(a.session()->state(), State::Chatting);

        QTest::mouseClick(a.leaveButton(), Qt::LeftButton);
        QTRY_VERIFY(a.confirmation() && a.confirmation()->isVisible());
        auto *leave = a.confirmation()->findChild<QPushButton *>(QStringLiteral("confirmLeave"));
        QVERIFY(leave);
        QTest::mouseClick(leave, Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(a.session()->state(), State::Ended, kWait);
        QCOMPARE(lastOf(a.session()->model(), Kind::System), QStringLiteral("You left the chat."));
        QTRY_COMPARE_WITH_TIMEOUT(b.session()->state(), State::Ended, kWait);
        QCOMPARE(lastOf(b.session()->model(), Kind::System),
                 QStringLiteral("The stranger left the chat."));
        QVERIFY(b.stateLabel()->text().contains(QStringLiteral("Chat ended")));
        QVERIFY(b.startButton()->isEnabled());
        QVERIFY(!b.sendButton()->isEnabled());
    }

    /// In a view: taller rows for longer text, every row inside the viewport.
    static void expectRowsInAView(const QString &cjk, const QString &emoji, int viewWidth)
    {
        MessageListModel model;
        model.appendSystem(QStringLiteral("You're now chatting with a random stranger."));
        model.appendPending(QStringLiteral("short"), QStringLiteral("n1"));
        model.appendPending(cjk, QStringLiteral("n2"));
        model.appendPending(emoji + QStringLiteral(" العربية"), QStringLiteral("n3"));
        MessageView view;
        view.setItemDelegate(new MessageDelegate(&view));
        view.setModel(&model);
        view.resize(viewWidth, 600);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        const QRect shortRow = view.visualRect(model.index(1));
        const QRect longRow = view.visualRect(model.index(2));
        QVERIFY2(longRow.height() > shortRow.height() * 2,
                 qPrintable(QStringLiteral("a 120-character Chinese row is %1 px high, a short one "
                                           "%2 px (fonts: fonts-noto-cjk, fonts-noto-color-emoji)")
                                .arg(longRow.height())
                                .arg(shortRow.height())));
        for (int row = 0; row < model.count(); ++row)
            QVERIFY(view.visualRect(model.index(row)).width() <= view.viewport()->width());
        QVERIFY(!view.viewport()->grab().toImage().isNull());
    }

    QTemporaryDir m_dir;
    int m_counter = 0;

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setApplicationName(QStringLiteral("anonchat-tst"));
        QVERIFY(m_dir.isValid());
    }

    void twoWindowsFindEachOtherAndChat()
    {
        auto p = makePair();
        QVERIFY(p);
        MainWindow &a = *p->host;
        MainWindow &b = *p->guest;
        QVERIFY(a.startButton()->isEnabled());
        QVERIFY(!a.nextButton()->isEnabled());
        QVERIFY(!a.leaveButton()->isEnabled());
        QVERIFY(!a.sendButton()->isEnabled());
        QCOMPARE(b.onlineLabel()->text(), QStringLiteral("● 2 online")); // from its welcome
        QVERIFY(a.connectionLabel()->text().contains(QStringLiteral("Connected")));
        QVERIFY(a.hostLabel()->text().contains(a.backend()->serverUrl().toString()));
        QVERIFY(!b.hostLabel()->isVisible());

        QVERIFY(matchByClicking(*p));
        QCOMPARE(a.onlineLabel()->text(), QStringLiteral("● 2 online")); // from `waiting`
        QVERIFY(lastOf(a.session()->model(), Kind::System).startsWith("You're now chatting"));
        QVERIFY(lastOf(b.session()->model(), Kind::System).startsWith("You're now chatting"));
        QVERIFY(!a.startButton()->isEnabled());
        QVERIFY(a.nextButton()->isEnabled());
        QVERIFY(a.leaveButton()->isEnabled());
        QVERIFY(a.stateLabel()->text().contains(QStringLiteral("Chatting with a stranger")));

        typeAndSend(a, b);
        if (QTest::currentTestFailed())
            return;
        sendCjkWithTheButton(a, b);
        if (QTest::currentTestFailed())
            return;
        expectBubblesInside(a, b);
        if (QTest::currentTestFailed())
            return;
        leaveAfterConfirming(a, b);
    }

    void keyboardShortcuts()
    {
        auto p = makePair();
        QVERIFY(p);
        MainWindow &a = *p->host;
        MainWindow &b = *p->guest;
        QCOMPARE(a.startAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_N));
        QCOMPARE(a.nextAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_N));
        QCOMPARE(a.leaveAction()->shortcut(), QKeySequence(Qt::Key_Escape));
        QCOMPARE(a.saveAction()->shortcut(), QKeySequence(QKeySequence::Save));

        // Ctrl+N starts, Esc stops looking.
        activate(&a);
        QTest::keyClick(&a, Qt::Key_N, Qt::ControlModifier);
        QTRY_COMPARE(a.session()->state(), State::Searching);
        QTest::keyClick(&a, Qt::Key_Escape);
        QTRY_COMPARE_WITH_TIMEOUT(a.session()->state(), State::Idle, kWait);

        // Both start with the keyboard and meet; then Ctrl+N in the chat is Next.
        QTest::keyClick(a.input(), Qt::Key_N, Qt::ControlModifier);
        activate(&b);
        QTest::keyClick(b.input(), Qt::Key_N, Qt::ControlModifier);
        QTRY_COMPARE_WITH_TIMEOUT(a.session()->state(), State::Chatting, kWait);
        QTRY_COMPARE_WITH_TIMEOUT(b.session()->state(), State::Chatting, kWait);
        QTest::keyClick(b.input(), Qt::Key_N, Qt::ControlModifier); // no messages: no question
        QVERIFY(!b.confirmation());
        QTRY_COMPARE_WITH_TIMEOUT(a.session()->state(), State::Ended, kWait);
        QCOMPARE(lastOf(a.session()->model(), Kind::System),
                 QStringLiteral("The stranger moved on to someone new."));
        QTRY_COMPARE_WITH_TIMEOUT(b.session()->state(), State::Searching, kWait);

        // Esc in a chat with messages asks; "Don't ask again" is remembered.
        activate(&a);
        QTest::keyClick(a.input(), Qt::Key_N, Qt::ControlModifier);
        QTRY_COMPARE_WITH_TIMEOUT(a.session()->state(), State::Chatting, kWait);
        QTRY_COMPARE_WITH_TIMEOUT(b.session()->state(), State::Chatting, kWait);
        QTest::keyClicks(a.input(), QStringLiteral("hi"));
        QTest::keyClick(a.input(), Qt::Key_Enter); // the keypad's Enter sends too
        QTRY_COMPARE_WITH_TIMEOUT(lastOf(b.session()->model(), Kind::Theirs), QStringLiteral("hi"),
                                  kWait);
        QTest::keyClick(a.input(), Qt::Key_Escape);
        QTRY_VERIFY(a.confirmation() && a.confirmation()->isVisible());
        a.confirmation()->checkBox()->setChecked(true);
        a.confirmation()->findChild<QPushButton *>(QStringLiteral("confirmLeave"))->click();
        QTRY_COMPARE_WITH_TIMEOUT(a.session()->state(), State::Ended, kWait);
        QVERIFY(!p->hostSettings->confirmLeave());
    }

    void counterCountsCodePoints()
    {
        AppSettings settings(m_dir.filePath(QStringLiteral("counter.ini")));
        MainWindow w(settings);
        w.show();
        commitText(w.input(), QStringLiteral("😀你好"));
        QCOMPARE(w.counterLabel()->text(), QStringLiteral("3/500"));
        QCOMPARE(w.counterLabel()->property("level").toByteArray(), QByteArray("ok"));
        w.input()->setPlainText(QString(460, QChar('a')));
        QCOMPARE(w.counterLabel()->property("level").toByteArray(), QByteArray("warn"));
        w.input()->setPlainText(QString(250, QChar(0x4F60)) + QString(251, QChar('b')));
        QCOMPARE(w.counterLabel()->text(), QStringLiteral("501/500"));
        QCOMPARE(w.counterLabel()->property("level").toByteArray(), QByteArray("over"));
        QVERIFY(!w.sendButton()->isEnabled());
        // 500 emoji are 1000 UTF-16 units but 500 characters.
        QString emoji;
        for (int i = 0; i < 500; ++i)
            emoji += QStringLiteral("😀");
        w.input()->setPlainText(emoji);
        QCOMPARE(w.counterLabel()->text(), QStringLiteral("500/500"));
        // Leading and trailing white space is not counted (the server trims it).
        w.input()->setPlainText(QStringLiteral("  hi \n"));
        QCOMPARE(w.counterLabel()->text(), QStringLiteral("2/500"));
        // The box grows with its lines, up to a limit.
        const int oneLine = w.input()->height();
        w.input()->setPlainText(QStringLiteral("1\n2\n3"));
        QTRY_VERIFY(w.input()->height() > oneLine);
        const int threeLines = w.input()->height();
        w.input()->setPlainText(QStringLiteral("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11"));
        QTRY_VERIFY(w.input()->height() > threeLines);
        QVERIFY(w.input()->height() < oneLine * 8);
    }

    void unreadCountAndNotification()
    {
        auto p = makePair();
        QVERIFY(p);
        MainWindow &a = *p->host;
        MainWindow &b = *p->guest;
        QVERIFY(matchByClicking(*p));
        QCOMPARE(b.windowTitle(), QStringLiteral("anonchat"));
        activate(&a);
        QVERIFY(!b.isActiveWindow());
        for (const QString &text : {QStringLiteral("one"), QStringLiteral("two")}) {
            commitText(a.input(), text);
            QTest::keyClick(a.input(), Qt::Key_Return);
        }
        QTRY_COMPARE_WITH_TIMEOUT(b.unreadCount(), 2, kWait);
        QCOMPARE(b.windowTitle(), QStringLiteral("(2) anonchat"));
        QCOMPARE(b.lastNotification().value(0), QStringLiteral("New message from the stranger"));
        QCOMPARE(b.lastNotification().value(1), QStringLiteral("two"));
        QCOMPARE(a.unreadCount(), 0); // our own messages never count
        activate(&b);
        QTRY_COMPARE(b.windowTitle(), QStringLiteral("anonchat"));
        QCOMPARE(b.unreadCount(), 0);
        // A message while active: no count.
        commitText(a.input(), QStringLiteral("three"));
        QTest::keyClick(a.input(), Qt::Key_Return);
        QTRY_COMPARE_WITH_TIMEOUT(lastOf(b.session()->model(), Kind::Theirs),
                                  QStringLiteral("three"), kWait);
        QCOMPARE(b.unreadCount(), 0);
    }

    void saveConversation()
    {
        auto p = makePair();
        QVERIFY(p);
        MainWindow &a = *p->host;
        MainWindow &b = *p->guest;
        QVERIFY(!a.saveAction()->isEnabled());
        QVERIFY(matchByClicking(*p));
        QVERIFY(a.saveAction()->isEnabled());
        commitText(a.input(), QStringLiteral("<b>bold</b> & \"quotes\""));
        QTest::keyClick(a.input(), Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(!lastOf(b.session()->model(), Kind::Theirs).isEmpty(), kWait);
        commitText(b.input(), QStringLiteral("你好 🌏\nline two"));
        QTest::keyClick(b.input(), Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(!lastOf(a.session()->model(), Kind::Theirs).isEmpty(), kWait);

        const QString textFile = m_dir.filePath(QStringLiteral("chat.txt"));
        QVERIFY(a.saveConversation(textFile, true));
        QFile text(textFile);
        QVERIFY(text.open(QIODevice::ReadOnly));
        const QString saved = QString::fromUtf8(text.readAll());
        QVERIFY2(saved.contains(QStringLiteral("] You: <b>bold</b> & \"quotes\"\n")),
                 qPrintable(saved));
        QVERIFY(saved.contains(QStringLiteral("] Stranger: 你好 🌏\n    line two\n")));
        QVERIFY(saved.contains(QStringLiteral("] * You're now chatting")));

        const QString htmlFile = m_dir.filePath(QStringLiteral("chat.html"));
        QVERIFY(a.saveConversation(htmlFile, true));
        QFile html(htmlFile);
        QVERIFY(html.open(QIODevice::ReadOnly));
        const QString page = QString::fromUtf8(html.readAll());
        QVERIFY(page.startsWith(QStringLiteral("<!doctype html>")));
        QVERIFY(page.contains(QStringLiteral("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quotes&quot;")));
        QVERIFY(!page.contains(QStringLiteral("<b>bold")));
        QVERIFY(page.contains(QStringLiteral("你好 🌏\nline two")));
        QVERIFY(!page.contains(QStringLiteral("<script")));

        QVERIFY(!a.saveConversation(m_dir.filePath(QStringLiteral("no/such/dir/x.txt")), true));
    }

    void languageSwitchesLive()
    {
        LanguageManager languages;
        QVERIFY(languages.setLanguage(QStringLiteral("en")));
        AppSettings settings(m_dir.filePath(QStringLiteral("lang.ini")));
        MainWindow w(settings, &languages);
        w.show();
        QCOMPARE(w.startButton()->text(), QStringLiteral("Start"));

        SettingsDialog::Values values = SettingsDialog::Values::load(settings);
        values.language = QStringLiteral("zh_CN");
        w.applySettings(values);
        QCOMPARE(settings.language(), QStringLiteral("zh_CN"));
        QCOMPARE(languages.effectiveLanguage(), QStringLiteral("zh_CN"));
        QTRY_COMPARE(w.startButton()->text(), QStringLiteral("开始"));
        QCOMPARE(w.nextButton()->text(), QStringLiteral("下一个"));
        QCOMPARE(w.leaveButton()->text(), QStringLiteral("离开"));
        QCOMPARE(w.sendButton()->text(), QStringLiteral("发送"));
        QCOMPARE(w.typingLabel()->text(), QString());
        QCOMPARE(w.view()->placeholderTitle(), QStringLiteral("未连接"));
        QCOMPARE(w.windowTitle(), QStringLiteral("anonchat"));
        // Texts from client/core follow too.
        QCOMPARE(ChatSession::partnerLeftText(protocol::LeaveReason::Left),
                 QStringLiteral("对方离开了聊天。"));

        values.language = QStringLiteral("en");
        w.applySettings(values);
        QTRY_COMPARE(w.startButton()->text(), QStringLiteral("Start"));
        QCOMPARE(w.view()->placeholderTitle(), QStringLiteral("Not connected"));
        QCOMPARE(ChatSession::partnerLeftText(protocol::LeaveReason::Left),
                 QStringLiteral("The stranger left the chat."));
    }

    void interfaceLanguageIsMatchedAndShown()
    {
        // Both windows run in Chinese: they send `lang` "zh" and are told they share it.
        LanguageManager languages;
        QVERIFY(languages.setLanguage(QStringLiteral("zh_CN")));
        auto p = makePair(&languages);
        QVERIFY(p);
        MainWindow &a = *p->host;
        MainWindow &b = *p->guest;
        QCOMPARE(a.session()->language(), QStringLiteral("zh"));
        QVERIFY(matchByClicking(*p));
        QCOMPARE(a.session()->commonLanguage(), QStringLiteral("zh"));
        QCOMPARE(b.session()->commonLanguage(), QStringLiteral("zh"));
        QCOMPARE(lastOf(b.session()->model(), Kind::System),
                 QStringLiteral("你已和一位随机的陌生人连上了，打个招呼吧！你们都说中文。"));

        // Switched to English while chatting: the next join sends "en".
        QVERIFY(languages.setLanguage(QStringLiteral("en")));
        QTRY_COMPARE(a.session()->language(), QStringLiteral("en"));
        QCOMPARE(b.session()->language(), QStringLiteral("en"));
        QTest::mouseClick(a.nextButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(b.session()->state(), State::Ended, kWait);
        QTest::mouseClick(b.startButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(b.session()->state(), State::Chatting, kWait);
        QTRY_COMPARE_WITH_TIMEOUT(a.session()->state(), State::Chatting, kWait);
        QCOMPARE(a.session()->commonLanguage(), QStringLiteral("en"));
        QCOMPARE(lastOf(a.session()->model(), Kind::System),
                 QStringLiteral("You're now chatting with a random stranger. Say hi! You both "
                                "speak English."));

        // A language the app does not send is not shared, and no language is named.
        a.session()->setLanguage(QStringLiteral("not a tag"));
        QCOMPARE(a.session()->language(), QString());
    }

    void themeFollowsPaletteOrChoice()
    {
        const QPalette system = QApplication::palette();
        QVERIFY(!Theme::forPalette(Theme::light().palette()).isDark);
        QVERIFY(Theme::forPalette(Theme::dark().palette()).isDark);
        AppSettings settings(m_dir.filePath(QStringLiteral("theme.ini")));
        MainWindow w(settings);
        w.show();
        SettingsDialog::Values values = SettingsDialog::Values::load(settings);
        values.theme = QStringLiteral("dark");
        w.applySettings(values);
        QVERIFY(Theme::current().isDark);
        QVERIFY(w.styleSheet().contains(Theme::dark().background.name(QColor::HexArgb)));
        QVERIFY(!w.view()->viewport()->grab().isNull());
        values.theme = QStringLiteral("system");
        w.applySettings(values);
        QCOMPARE(QApplication::palette().color(QPalette::Window), system.color(QPalette::Window));
        QCOMPARE(Theme::current().isDark, Theme::forPalette(system).isDark);
    }

    void settingsDialog()
    {
        SettingsDialog dialog;
        SettingsDialog::Values v;
        v.hostLocally = true;
        v.port = 5123;
        v.shareOnNetwork = true;
        v.language = QStringLiteral("zh_CN");
        v.theme = QStringLiteral("dark");
        v.confirmLeave = false;
        dialog.setValues(v);
        QVERIFY(dialog.values() == v);
        dialog.show();
        auto *shareUrl = dialog.findChild<QLineEdit *>(QStringLiteral("shareUrl"));
        QVERIFY(shareUrl && shareUrl->isVisible());
        if (LocalServerHost::firstLanAddress().isNull()) {
            QVERIFY(!dialog.copyButton()->isEnabled());
        } else {
            QCOMPARE(dialog.shareUrl().port(), 5123);
            dialog.setRunningPort(5123, 5124); // 5123 was taken: the URL that works
            QCOMPARE(dialog.shareUrl().port(), 5124);
            QTest::mouseClick(dialog.copyButton(), Qt::LeftButton);
            QCOMPARE(QApplication::clipboard()->text(), dialog.shareUrl().toString());
        }
        v.shareOnNetwork = false;
        dialog.setValues(v);
        QVERIFY(!shareUrl->isVisible());

        // Connecting needs a usable URL before OK is possible.
        v.hostLocally = false;
        v.remoteUrl = QUrl(QStringLiteral("ftp://example.org/"));
        dialog.setValues(v);
        QVERIFY(!dialog.buttons()->button(QDialogButtonBox::Ok)->isEnabled());
        auto *url = dialog.findChild<QLineEdit *>(QStringLiteral("remoteUrl"));
        url->setText(QStringLiteral("wss://chat.example.org/ws"));
        QVERIFY(dialog.buttons()->button(QDialogButtonBox::Ok)->isEnabled());
        QCOMPARE(dialog.values().remoteUrl, QUrl(QStringLiteral("wss://chat.example.org/ws")));

        // Values round-trip through QSettings.
        AppSettings settings(m_dir.filePath(QStringLiteral("dialog.ini")));
        dialog.values().store(settings);
        QVERIFY(SettingsDialog::Values::load(settings) == dialog.values());
        QVERIFY(!SettingsDialog::Values::load(settings).hostLocally);
    }

    void settingsSwitchServer()
    {
        // Changing the port in the settings restarts the local server there and reconnects.
        auto p = makePair();
        QVERIFY(p);
        MainWindow &a = *p->host;
        const quint16 before = a.backend()->host()->port();
        SettingsDialog::Values values = SettingsDialog::Values::load(*p->hostSettings);
        values.hostLocally = true;
        values.port = 0;
        a.applySettings(values);
        QTRY_VERIFY_WITH_TIMEOUT(a.backend()->isHosting() && a.backend()->host()->port() != 0 &&
                                     a.backend()->host()->port() != before,
                                 kWait);
        QTRY_COMPARE_WITH_TIMEOUT(a.session()->state(), State::Idle, kWait);
        QCOMPARE(a.session()->connection()->url().port(), int(a.backend()->host()->port()));
        // An unusable remote URL is reported, not crashed on.
        ServerBackend::Target bad;
        bad.host = false;
        bad.remoteUrl = QUrl(QStringLiteral("gopher://nowhere"));
        a.startWith(bad);
        QTRY_COMPARE_WITH_TIMEOUT(a.session()->state(), State::Offline, kWait);
        QVERIFY(a.connectionLabel()->text().contains(QStringLiteral("gopher://nowhere")));
        QVERIFY(!a.startButton()->isEnabled());
    }

    void delegateWrapsCjkAndEmoji()
    {
        // Chinese text only wraps by its real width when a CJK font is installed; without one
        // every character is the same empty box and the rows below come out too short.
        QVERIFY2(!QFontDatabase::families(QFontDatabase::SimplifiedChinese).isEmpty(),
                 "no font for Simplified Chinese: install fonts-noto-cjk (scripts/setup.sh does)");
        QFont font = QApplication::font();
        const int viewWidth = 420;
        const int max = MessageDelegate::maxTextWidth(viewWidth);
        QVERIFY(max > 100 && max < viewWidth);
        const QFontMetricsF metrics(font);

        const QString cjk = QString(120, QChar(0x4F60)); // no spaces at all
        const QStringList cjkLines = MessageDelegate::wrappedLines(cjk, font, viewWidth);
        QVERIFY(cjkLines.size() > 2);
        QCOMPARE(cjkLines.join(QString()), cjk);
        for (const QString &line : cjkLines)
            QVERIFY2(metrics.horizontalAdvance(line) <= max + 1, qPrintable(line));

        QString emoji;
        for (int i = 0; i < 80; ++i)
            emoji += QStringLiteral("😀");
        const QStringList emojiLines = MessageDelegate::wrappedLines(emoji, font, viewWidth);
        QVERIFY(emojiLines.size() > 1);
        for (const QString &line : emojiLines) {
            QVERIFY(!line.isEmpty());
            QVERIFY2(!line.front().isLowSurrogate() && !line.back().isHighSurrogate(),
                     "an emoji was split between lines");
        }

        const QString url = QStringLiteral("https://example.org/") + QString(200, QChar('x'));
        const QStringList urlLines = MessageDelegate::wrappedLines(url, font, viewWidth);
        QVERIFY(urlLines.size() > 1);
        for (const QString &line : urlLines)
            QVERIFY(metrics.horizontalAdvance(line) <= max + 1);

        // Words wrap at spaces, not inside words, when they can.
        const QString words = QStringLiteral("lorem ipsum dolor sit amet ").repeated(8);
        for (const QString &line : MessageDelegate::wrappedLines(words, font, viewWidth))
            QVERIFY2(line.endsWith(' ') || words.trimmed().endsWith(line.trimmed()),
                     qPrintable(line));
        // A newline is a line break.
        QCOMPARE(MessageDelegate::wrappedLines(QStringLiteral("a\nb"), font, viewWidth).size(), 2);

        expectRowsInAView(cjk, emoji, viewWidth);
    }

    void closingStopsTheLocalServer()
    {
        auto p = makePair();
        QVERIFY(p);
        MainWindow &a = *p->host;
        QVERIFY(matchByClicking(*p));
        commitText(a.input(), QStringLiteral("bye"));
        QTest::keyClick(a.input(), Qt::Key_Return);
        QTRY_COMPARE_WITH_TIMEOUT(lastOf(p->guest->session()->model(), Kind::Theirs),
                                  QStringLiteral("bye"), kWait);
        // Closing asks first (a chat with messages), then leaves and stops the server cleanly.
        QSignalSpy finished(&a, &MainWindow::finished);
        QVERIFY(!a.close());
        QTRY_VERIFY(a.confirmation() && a.confirmation()->isVisible());
        a.confirmation()->findChild<QPushButton *>(QStringLiteral("confirmLeave"))->click();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWait);
        QVERIFY(!a.isVisible());
        QVERIFY(!a.backend()->isHosting());
        // The guest is told that we left before our server goes away.
        QTRY_COMPARE_WITH_TIMEOUT(lastOf(p->guest->session()->model(), Kind::System),
                                  QStringLiteral("The stranger left the chat."), kWait);
        QVERIFY(p->guest->session()->state() != State::Chatting);
    }

    void parseInterests()
    {
        QCOMPARE(MainWindow::parseInterests(QStringLiteral(" music, 旅行、games；Music ,, ")),
                 (QStringList{"music", "旅行", "games"}));
        QCOMPARE(MainWindow::parseInterests(QString()), QStringList());
    }

    void exportFormats()
    {
        QCOMPARE(ConversationExport::formatForFile("a.HTML"), ConversationExport::Format::Html);
        QCOMPARE(ConversationExport::formatForFile("a.htm"), ConversationExport::Format::Html);
        QCOMPARE(ConversationExport::formatForFile("a.txt"), ConversationExport::Format::Text);
        QCOMPARE(ConversationExport::formatForFile("a"), ConversationExport::Format::Text);
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
