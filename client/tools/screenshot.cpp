// anonchat-screenshot: screenshots of the real window for the README (scripts/screenshots.sh).
// Runs the app's MainWindow (hosting its server, as `anonchat` does) on a real X display (Xvfb),
// lets a scripted stranger (a ChatSession in this process, over the same WebSocket) chat with
// it, types into the window as a person would, and grabs the window from the X server.
//
//   anonchat-screenshot --lang en|zh_CN --theme light|dark --out FILE.png [--size 920x680]
#include "client/app/appsettings.h"
#include "client/core/chatsession.h"
#include "client/ui/languagemanager.h"
#include "client/ui/mainwindow.h"
#include "client/ui/messageinput.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCommandLineParser>
#include <QDeadlineTimer>
#include <QLineEdit>
#include <QPushButton>
#include <QScreen>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <cstdio>
#include <functional>

using namespace anonchat;
using namespace anonchat::client;

namespace {

bool waitFor(const std::function<bool()> &condition, int ms = 10000)
{
    QDeadlineTimer deadline(ms);
    while (!condition()) {
        if (deadline.hasExpired())
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        QThread::msleep(5);
    }
    return true;
}

void pause(int ms)
{
    QDeadlineTimer deadline(ms);
    while (!deadline.hasExpired())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
}

struct Script {
    QString interests;
    QStringList peerInterests;
    // Alternating lines, the stranger's first; "" skips a turn.
    QStringList lines;
    QString draft; ///< left in the message box
};

Script script(const QString &lang)
{
    if (lang == QLatin1String("zh_CN")) {
        return {QStringLiteral("音乐, 旅行"),
                {QStringLiteral("旅行")},
                {QStringLiteral("你好！👋 你也喜欢旅行吗？"),
                 QStringLiteral(
                     "是啊！去年一个人去了云南，大理和丽江都很美 🏔️"),
                 QStringLiteral("好羡慕！我一直想去大理。洱海边骑车是不是特别舒服？听说傍晚的"
                                "时候整个湖面都是金色的，一定要找个不赶时间的下午慢慢骑。"),
                 QStringLiteral("真的，特别推荐！记得带防晒 ☀️😄"),
                 QStringLiteral("哈哈好的，谢谢推荐 🙏 你最近在听什么歌？")},
                QStringLiteral("最近在循环陈绮贞的")};
    }
    return {QStringLiteral("music, travel"),
            {QStringLiteral("travel")},
            {QStringLiteral("hey! 👋 you like travelling too?"),
             QStringLiteral("Hi! Yes, I was in Lisbon last spring. The tiles, the trams, the "
                            "pastéis de nata… 🥐"),
             QStringLiteral("Oh nice, Lisbon is on my list! Is it worth going in winter? I can "
                            "only get time off in February and I'd love somewhere with sun and "
                            "good food."),
             QStringLiteral("Totally, February is mild and way less crowded ☀️ Go to Sintra "
                            "on a weekday."),
             QStringLiteral("Noted! And the food — any place you'd go back to? 😄")},
            QStringLiteral("Also, what are you listening")};
}

/// Grabs `widget` from the X server into the PNG `out`; the exit code.
int grab(QWidget *widget, const QString &out)
{
    pause(500);
    const QPixmap shot = widget->screen()->grabWindow(widget->winId());
    if (shot.isNull() || !shot.save(out)) {
        std::fprintf(stderr, "screenshot: could not write %s\n", qPrintable(out));
        return 1;
    }
    std::printf("%s (%dx%d)\n", qPrintable(out), shot.width(), shot.height());
    return 0;
}

/// The settings dialog, sharing on the network ticked.
int settingsScene(MainWindow &window, const QString &out)
{
    window.settingsAction()->trigger();
    QWidget *dialog = nullptr;
    waitFor([&] {
        dialog = window.findChild<QWidget *>(QStringLiteral("settingsDialog"));
        return dialog && dialog->isVisible();
    });
    if (!dialog)
        return 1;
    if (auto *share = dialog->findChild<QCheckBox *>(QStringLiteral("shareCheck")))
        share->setChecked(true);
    pause(300);
    return grab(dialog, out);
}

/// The script's lines, the stranger's typed by `peer` and ours into the window; each waits for
/// its row to be delivered.
void playLines(MainWindow &window, ChatSession &peer, const Script &s)
{
    for (int i = 0; i < s.lines.size(); ++i) {
        const QString &line = s.lines.at(i);
        if (line.isEmpty())
            continue;
        const int before = window.session()->model()->count();
        if (i % 2 == 0) {
            peer.setTyping(true);
            pause(250);
            peer.sendMessage(line);
        } else {
            window.input()->setFocus();
            window.input()->insertPlainText(line);
            pause(150);
            QTest::keyClick(window.input(), Qt::Key_Return);
        }
        waitFor([&] {
            const auto *model = window.session()->model();
            return model->count() > before &&
                   model->data(model->index(model->count() - 1), MessageListModel::DeliveryRole)
                           .toInt() != int(MessageListModel::Delivery::Pending);
        });
        pause(120);
    }
}

/// A conversation with a scripted stranger, a draft in the box and the stranger typing.
int chatScene(MainWindow &window, const QString &lang, const QString &out)
{
    ChatSession peer;
    peer.open(window.backend()->serverUrl());
    waitFor([&] { return peer.state() == ChatSession::State::Idle; });
    const Script s = script(lang);

    window.interestsEdit()->setFocus();
    window.interestsEdit()->insert(s.interests); // as an input method commits it
    QTest::mouseClick(window.startButton(), Qt::LeftButton);
    peer.start(s.peerInterests);
    if (!waitFor([&] {
            return window.session()->state() == ChatSession::State::Chatting &&
                   peer.state() == ChatSession::State::Chatting;
        })) {
        std::fprintf(stderr, "screenshot: no match\n");
        return 1;
    }
    pause(300);
    playLines(window, peer, s);
    window.input()->setFocus();
    window.input()->insertPlainText(s.draft);
    peer.setTyping(true);
    waitFor([&] { return window.session()->partnerTyping(); });
    const int result = grab(&window, out);
    peer.close();
    return result;
}

} // namespace

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("anonchat-screenshot"));
    QCoreApplication::setApplicationName(QStringLiteral("anonchat-screenshot"));
    QCoreApplication::setApplicationVersion(QStringLiteral("0"));

    QCommandLineParser parser;
    parser.addOptions({{"lang", "zh_CN or en", "LANG", "en"},
                       {"theme", "light or dark", "THEME", "light"},
                       {"out", "PNG file", "FILE"},
                       {"size", "WxH", "SIZE", "920x680"},
                       {"font", "family,points (the desktop's font)", "FONT"},
                       {"scene", "chat (default), idle, searching or settings", "SCENE", "chat"}});
    parser.process(app);
    if (parser.isSet("font")) {
        const QStringList font = parser.value("font").split(',');
        QApplication::setFont(QFont(font.value(0), font.value(1, "10").toInt()));
    }
    const QString lang = parser.value("lang");
    const QStringList size = parser.value("size").split('x');

    QTemporaryDir dir;
    AppSettings settings(dir.filePath("settings.ini"));
    settings.setTheme(parser.value("theme"));
    settings.setInterests(QString());
    LanguageManager languages;
    languages.setLanguage(lang);

    MainWindow window(settings, &languages);
    window.resize(size.value(0).toInt(), size.value(1).toInt());
    window.show();
    ServerBackend::Target target;
    target.host = true;
    target.config.database = dir.filePath("chat.db");
    target.config.port = 5000;
    target.config.interestWaitMs = 200;
    window.startWith(target);
    if (!waitFor([&] { return window.session()->state() == ChatSession::State::Idle; })) {
        std::fprintf(stderr, "screenshot: the window did not connect\n");
        return 1;
    }

    const QString scene = parser.value("scene");
    const QString out = parser.value("out");
    if (scene == QLatin1String("idle"))
        return grab(&window, out);
    if (scene == QLatin1String("searching")) {
        window.interestsEdit()->insert(script(lang).interests);
        QTest::mouseClick(window.startButton(), Qt::LeftButton);
        return grab(&window, out);
    }
    if (scene == QLatin1String("settings"))
        return settingsScene(window, out);
    return chatScene(window, lang, out);
}
