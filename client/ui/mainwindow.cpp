#include "client/ui/mainwindow.h"

#include "client/app/appsettings.h"
#include "client/app/commandline.h"
#include "client/core/connection.h"
#include "client/core/messagelistmodel.h"
#include "client/ui/chatactions.h"
#include "client/ui/chatcontrols.h"
#include "client/ui/composer.h"
#include "client/ui/connectionstatus.h"
#include "client/ui/conversationexport.h"
#include "client/ui/headerbar.h"
#include "client/ui/languagemanager.h"
#include "client/ui/messagedelegate.h"
#include "client/ui/messageinput.h"
#include "client/ui/messageview.h"
#include "client/ui/moderationlauncher.h"
#include "shared/limits.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QFileDialog>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QStatusBar>
#include <QSystemTrayIcon>
#include <QVBoxLayout>
#include <cstdio>

namespace anonchat::client {

using State = ChatSession::State;

MainWindow::MainWindow(AppSettings &settings, LanguageManager *languages, QWidget *parent)
    : QMainWindow(parent)
    , m_settings(settings)
    , m_languages(languages)
    , m_backend(new ServerBackend(this))
    , m_session(new ChatSession(this))
    , m_systemPalette(QApplication::palette())
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowIcon(Theme::appIcon());
    m_actions = new ChatActions(this);
    buildUi();

    Theme::apply(Theme::modeFromKey(m_settings.theme()), m_systemPalette);
    applyTheme();

    connectActions();
    connectBackend();
    connectSession();

    retranslate();
    updateState();
    m_composer->updateCounter();
    updateConnection();
    updateOnline();
    updateTyping();

    const QByteArray geometry = m_settings.windowGeometry();
    if (geometry.isEmpty() || !restoreGeometry(geometry))
        resize(880, 680);
}

MainWindow::~MainWindow()
{
    if (m_confirmation)
        delete m_confirmation.data();
    m_session->disconnect(this);
    m_session->connection()->disconnect(this);
    m_session->model()->disconnect(this);
    m_backend->disconnect(this);
}

QPushButton *MainWindow::startButton() const
{
    return m_controls->startButton();
}
QPushButton *MainWindow::nextButton() const
{
    return m_controls->nextButton();
}
QPushButton *MainWindow::leaveButton() const
{
    return m_controls->leaveButton();
}
QPushButton *MainWindow::sendButton() const
{
    return m_composer->sendButton();
}
MessageInput *MainWindow::input() const
{
    return m_composer->input();
}
QLineEdit *MainWindow::interestsEdit() const
{
    return m_controls->interestsEdit();
}
QLabel *MainWindow::counterLabel() const
{
    return m_composer->counterLabel();
}
QLabel *MainWindow::onlineLabel() const
{
    return m_header->onlineLabel();
}
QLabel *MainWindow::stateLabel() const
{
    return m_header->stateLabel();
}
QLabel *MainWindow::connectionLabel() const
{
    return m_status->connectionLabel();
}
QLabel *MainWindow::hostLabel() const
{
    return m_status->hostLabel();
}
QAction *MainWindow::startAction() const
{
    return m_actions->start();
}
QAction *MainWindow::nextAction() const
{
    return m_actions->next();
}
QAction *MainWindow::leaveAction() const
{
    return m_actions->leave();
}
QAction *MainWindow::saveAction() const
{
    return m_actions->save();
}
QAction *MainWindow::moderationAction() const
{
    return m_actions->moderation();
}
QAction *MainWindow::settingsAction() const
{
    return m_actions->settings();
}

// ---- building -------------------------------------------------------------------------------

void MainWindow::buildUi()
{
    auto *central = new QWidget(this);
    central->setObjectName(QStringLiteral("central"));
    auto *column = new QVBoxLayout(central);
    column->setContentsMargins(0, 0, 0, 0);
    column->setSpacing(0);

    m_header = new HeaderBar(central);
    connect(m_header, &HeaderBar::settingsRequested, this, &MainWindow::openSettings);
    column->addWidget(m_header);
    m_controls = new ChatControls(*m_actions, m_settings.interests(), central);
    column->addWidget(m_controls);

    // The conversation.
    m_view = new MessageView(central);
    m_view->setObjectName(QStringLiteral("conversation"));
    m_view->setItemDelegate(new MessageDelegate(m_view));
    m_view->setModel(m_session->model());
    m_view->setPlaceholderIcon(Theme::appIcon());
    QFont messageFont = m_view->font();
    messageFont.setPointSizeF(messageFont.pointSizeF() * 1.1);
    m_view->setFont(messageFont);
    column->addWidget(m_view, 1);

    m_typingLabel = new QLabel(central);
    m_typingLabel->setObjectName(QStringLiteral("typingLabel"));
    m_typingLabel->setTextFormat(Qt::PlainText);
    m_typingLabel->setFixedHeight(m_typingLabel->fontMetrics().height() + 8);
    column->addWidget(m_typingLabel);

    m_composer = new Composer(messageFont, central);
    column->addWidget(m_composer);
    setCentralWidget(central);

    m_status = new ConnectionStatus(statusBar(), *m_backend);
    setMinimumSize(440, 460);
}

void MainWindow::connectActions()
{
    connect(m_actions->start(), &QAction::triggered, this, &MainWindow::start);
    connect(m_actions->next(), &QAction::triggered, this, &MainWindow::next);
    connect(m_actions->leave(), &QAction::triggered, this, &MainWindow::leave);
    connect(m_actions->report(), &QAction::triggered, this, &MainWindow::report);
    connect(m_actions->save(), &QAction::triggered, this, &MainWindow::saveConversationAs);
    connect(m_actions->settings(), &QAction::triggered, this, &MainWindow::openSettings);
    connect(m_actions->quit(), &QAction::triggered, this, &QWidget::close);
    connect(m_actions->about(), &QAction::triggered, this, &MainWindow::about);
    m_moderation = new ModerationLauncher(*m_backend, this);
    connect(m_actions->moderation(), &QAction::triggered, m_moderation, &ModerationLauncher::open);

    connect(m_composer, &Composer::sendRequested, this, &MainWindow::send);
    connect(m_composer->input(), &QPlainTextEdit::textChanged, this,
            [this] { m_session->setTyping(!m_composer->input()->text().trimmed().isEmpty()); });
    connect(m_controls->interestsEdit(), &QLineEdit::returnPressed, this, [this] {
        if (m_actions->start()->isEnabled())
            start();
        else if (m_actions->next()->isEnabled())
            next();
    });
}

void MainWindow::connectBackend()
{
    connect(m_backend, &ServerBackend::ready, this, [this](const QUrl &url) {
        m_backendError.clear();
        m_session->close();
        m_session->model()->clear();
        m_session->open(url);
        m_status->showHost();
        updateConnection();
    });
    connect(m_backend, &ServerBackend::failed, this, [this](const QString &error) {
        m_backendError = error;
        m_session->close();
        m_session->model()->appendSystem(error);
        std::fprintf(stderr, "anonchat: %s\n", qPrintable(error));
        m_status->showHost();
        updateConnection();
    });
    connect(m_backend, &ServerBackend::stopped, this, [this] {
        m_shutDown = true;
        emit finished();
    });
}

void MainWindow::connectSession()
{
    connect(m_session, &ChatSession::stateChanged, this, &MainWindow::updateState);
    connect(m_session, &ChatSession::roomChanged, this, &MainWindow::updateState);
    connect(m_session, &ChatSession::powProgressChanged, this,
            [this] { m_header->showState(*m_session, !m_backendError.isEmpty()); });
    connect(m_session, &ChatSession::connectedChanged, this, &MainWindow::updateConnection);
    connect(m_session->connection(), &Connection::stateChanged, this,
            &MainWindow::updateConnection);
    connect(m_session, &ChatSession::onlineCountChanged, this, &MainWindow::updateOnline);
    // Only `welcome` and `waiting` carry the online count: ask now and then.
    m_statsTimer.setInterval(15000);
    connect(&m_statsTimer, &QTimer::timeout, this, [this] {
        if (m_session->isConnected())
            m_session->requestStats();
    });
    m_statsTimer.start();
    connect(m_session, &ChatSession::partnerTypingChanged, this, &MainWindow::updateTyping);
    connect(m_session, &ChatSession::messageArrived, this, &MainWindow::onMessageArrived);
    connect(m_session->model(), &MessageListModel::countChanged, this, &MainWindow::updateState);
}

void MainWindow::retranslate()
{
    // Matching prefers partners of the language the app is shown in (PROTOCOL.md's `lang`).
    m_session->setLanguage(m_languages ? m_languages->effectiveLanguage() : QLocale().name());
    m_actions->retranslate();
    m_header->retranslate();
    m_controls->retranslate();
    m_composer->retranslate();
    m_status->retranslate();
    updateState();
    m_composer->updateCounter();
    updateConnection();
    m_status->showHost();
    updateOnline();
    updateTyping();
    updateTitle();
}

void MainWindow::applyTheme()
{
    const Theme theme = Theme::current();
    m_themeDark = theme.isDark;
    setStyleSheet(theme.styleSheet());
    m_view->viewport()->update();
}

// ---- state ----------------------------------------------------------------------------------

bool MainWindow::inRoom() const
{
    const State s = m_session->state();
    return s == State::Chatting || s == State::PartnerAway;
}

bool MainWindow::hasConversation() const
{
    const MessageListModel *model = m_session->model();
    return model->count(MessageListModel::Kind::Mine) +
               model->count(MessageListModel::Kind::Theirs) >
           0;
}

void MainWindow::updateState()
{
    const State s = m_session->state();
    const bool room = inRoom();
    m_actions->updateEnabled(*m_session, room);
    m_controls->updateEnabled();
    m_header->showState(*m_session, !m_backendError.isEmpty());
    updatePlaceholder();
    m_composer->setInRoom(room);

    // A match found while the user looks elsewhere is worth a notification.
    if (s == State::Chatting && m_lastState == State::Searching && !isActiveWindow())
        notify(tr("anonchat"), tr("You're now chatting with a stranger."));
    m_lastState = s;
}

void MainWindow::updatePlaceholder()
{
    const State s = m_session->state();
    if (s == State::Searching) {
        m_view->setPlaceholder(tr("Looking for someone…"),
                               tr("You will be paired with the next stranger who is looking. "
                                  "People who share one of your interests come first."));
    } else if (s == State::Offline || s == State::Connecting) {
        m_view->setPlaceholder(s == State::Connecting ? tr("Connecting…") : tr("Not connected"),
                               m_backendError.isEmpty()
                                   ? tr("Waiting for the server.")
                                   : m_backendError + QLatin1Char('\n') +
                                         tr("Open the settings to choose another server or "
                                            "port."));
    } else {
        m_view->setPlaceholder(
            tr("Talk to a stranger"),
            tr("Anonymous and one to one. Add some interests if you like, "
               "then press Start (%1).")
                .arg(m_actions->start()->shortcut().toString(QKeySequence::NativeText)));
    }
}

void MainWindow::updateTyping()
{
    m_typingLabel->setText(m_session->partnerTyping() ? tr("Stranger is typing…") : QString());
}

void MainWindow::updateOnline()
{
    m_header->showOnline(*m_session);
}

void MainWindow::updateConnection()
{
    m_status->showConnection(m_session->connection()->state(), m_backendError);
    updateOnline();
    updateState();
}

void MainWindow::updateTitle()
{
    const QString title = QStringLiteral("anonchat");
    setWindowTitle(m_unread > 0 ? QStringLiteral("(%1) %2").arg(m_unread).arg(title) : title);
}

// ---- actions --------------------------------------------------------------------------------

QStringList MainWindow::parseInterests(const QString &text)
{
    static const QRegularExpression separators(QStringLiteral("[,，、;；\\n]"));
    QStringList out;
    const QStringList parts = text.split(separators, Qt::SkipEmptyParts);
    for (const QString &part : parts) {
        const QString interest = part.simplified();
        if (!interest.isEmpty() && !out.contains(interest, Qt::CaseInsensitive))
            out.append(interest);
    }
    return out;
}

void MainWindow::start()
{
    if (!m_actions->start()->isEnabled())
        return;
    m_settings.setInterests(m_controls->interestsEdit()->text());
    m_session->start(parseInterests(m_controls->interestsEdit()->text()));
    m_composer->input()->setFocus();
}

void MainWindow::next()
{
    if (!m_actions->next()->isEnabled())
        return;
    confirmLeaving(tr("Leave this chat and find someone new?"), tr("Next stranger"), [this] {
        m_settings.setInterests(m_controls->interestsEdit()->text());
        m_session->next(parseInterests(m_controls->interestsEdit()->text()));
        m_composer->input()->setFocus();
    });
}

void MainWindow::leave()
{
    if (!m_actions->leave()->isEnabled())
        return;
    if (m_session->state() == State::Searching) {
        m_session->leave();
        return;
    }
    confirmLeaving(tr("Leave this chat? The stranger will be told you left."), tr("Leave"),
                   [this] { m_session->leave(); });
}

void MainWindow::send()
{
    const QString text = m_composer->input()->text();
    if (text.trimmed().isEmpty())
        return;
    switch (m_session->sendMessage(text)) {
    case ChatSession::SendResult::Accepted: m_composer->input()->clear(); break;
    case ChatSession::SendResult::TooLong:
        statusBar()->showMessage(
            tr("The message is too long: at most %1 characters.").arg(protocol::kMaxMessageChars),
            4000);
        break;
    case ChatSession::SendResult::NotInRoom:
        statusBar()->showMessage(tr("You are not in a chat. Press Start to find someone."), 4000);
        break;
    case ChatSession::SendResult::Empty: break;
    }
}

void MainWindow::confirmLeaving(const QString &question, const QString &acceptText,
                                const std::function<void()> &action)
{
    if (!inRoom() || !hasConversation() || !m_settings.confirmLeave()) {
        action();
        return;
    }
    if (m_confirmation)
        return; // one question at a time
    auto *box = new QMessageBox(QMessageBox::Question, tr("Leave the chat?"), question,
                                QMessageBox::NoButton, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setObjectName(QStringLiteral("leaveConfirmation"));
    box->setInformativeText(tr("The conversation will end. You can save it first with "
                               "Chat › Save conversation."));
    QPushButton *accept = box->addButton(acceptText, QMessageBox::DestructiveRole);
    accept->setObjectName(QStringLiteral("confirmLeave"));
    box->addButton(QMessageBox::Cancel);
    box->setDefaultButton(accept);
    box->setEscapeButton(QMessageBox::Cancel);
    auto *dontAsk = new QCheckBox(tr("Don't ask again"), box);
    box->setCheckBox(dontAsk);
    m_confirmation = box;
    connect(box, &QMessageBox::finished, this, [this, box, accept, dontAsk, action] {
        if (box->clickedButton() != accept)
            return;
        if (dontAsk->isChecked())
            m_settings.setConfirmLeave(false);
        action();
    });
    box->open();
}

void MainWindow::report()
{
    if (!m_actions->report()->isEnabled())
        return;
    auto *box = new QMessageBox(QMessageBox::Warning, tr("Report stranger"),
                                tr("Report this stranger for abuse? You will not be matched with "
                                   "them again."),
                                QMessageBox::NoButton, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    QPushButton *accept = box->addButton(tr("Report"), QMessageBox::DestructiveRole);
    box->addButton(QMessageBox::Cancel);
    connect(box, &QMessageBox::finished, this, [this, box, accept] {
        if (box->clickedButton() == accept)
            m_session->report();
    });
    box->open();
}

void MainWindow::about()
{
    QMessageBox::about(
        this, tr("About anonchat"),
        tr("<h3>anonchat %1</h3><p>Talk to a random stranger, anonymously and one to one.</p>"
           "<p>This window can host its own server, so people on your network can join from a "
           "browser, or join a server somewhere else.</p>")
            .arg(QCoreApplication::applicationVersion().toHtmlEscaped()));
}

void MainWindow::saveConversationAs()
{
    if (m_session->model()->count() == 0)
        return;
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
    const QString name =
        QStringLiteral("anonchat-%1.txt")
            .arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmm")));
    const QString textFilter = tr("Text file (*.txt)");
    const QString htmlFilter = tr("Web page (*.html)");
    QString selected = textFilter;
    QString fileName = QFileDialog::getSaveFileName(
        this, tr("Save conversation"), dir.isEmpty() ? name : dir + '/' + name,
        textFilter + QStringLiteral(";;") + htmlFilter, &selected);
    if (fileName.isEmpty())
        return;
    if (selected == htmlFilter &&
        ConversationExport::formatForFile(fileName) != ConversationExport::Format::Html) {
        if (fileName.endsWith(QLatin1String(".txt"), Qt::CaseInsensitive))
            fileName.chop(4);
        fileName += QStringLiteral(".html");
    }
    saveConversation(fileName);
}

bool MainWindow::saveConversation(const QString &fileName, bool quiet)
{
    QString error;
    if (!ConversationExport::save(*m_session->model(), fileName, &error)) {
        if (!quiet)
            QMessageBox::warning(this, tr("Save conversation"), error);
        return false;
    }
    statusBar()->showMessage(tr("Saved to %1").arg(fileName), 4000);
    return true;
}

void MainWindow::openSettings()
{
    auto *dialog = new SettingsDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setValues(SettingsDialog::Values::load(m_settings));
    if (m_backend->isHosting())
        dialog->setRunningPort(m_backend->target().config.port, m_backend->host()->port());
    connect(dialog, &QDialog::accepted, this, [this, dialog] { applySettings(dialog->values()); });
    dialog->open();
}

void MainWindow::applySettings(const SettingsDialog::Values &values)
{
    const SettingsDialog::Values old = SettingsDialog::Values::load(m_settings);
    values.store(m_settings);
    m_settings.sync();
    if (values.language != old.language && m_languages)
        m_languages->setLanguage(values.language);
    if (values.theme != old.theme) {
        Theme::apply(Theme::modeFromKey(values.theme), m_systemPalette);
        applyTheme();
    }
    if (values.serverDiffers(old)) {
        const ServerBackend::Target target = settingsTarget(m_baseConfig, m_settings);
        confirmLeaving(tr("Switch servers? This chat will end."), tr("Switch"),
                       [this, target] { m_backend->apply(target); });
    }
}

// ---- server and session ---------------------------------------------------------------------

void MainWindow::startWith(const ServerBackend::Target &target)
{
    m_baseConfig = target.config;
    m_backend->apply(target);
}

void MainWindow::shutdown()
{
    m_closing = true;
    m_settings.setWindowGeometry(saveGeometry());
    m_settings.setInterests(m_controls->interestsEdit()->text());
    m_settings.sync();
    m_session->close();
    if (m_backend->isHosting()) {
        // Let our own server read the `leave_room_event` just sent, so the partner is told we
        // left instead of seeing the server go away.
        QTimer::singleShot(200, m_backend, &ServerBackend::shutdown);
        return;
    }
    m_backend->shutdown();
}

void MainWindow::onMessageArrived(const QString &text)
{
    if (isActiveWindow())
        return;
    ++m_unread;
    updateTitle();
    QString preview = text.simplified();
    if (preview.size() > 140)
        preview = preview.left(139) + QChar(0x2026);
    notify(tr("New message from the stranger"), preview);
}

void MainWindow::notify(const QString &title, const QString &text)
{
    m_lastNotification = {title, text};
    QApplication::alert(this);
    if (!QSystemTrayIcon::isSystemTrayAvailable() || !QSystemTrayIcon::supportsMessages())
        return;
    if (!m_tray) {
        m_tray = new QSystemTrayIcon(Theme::appIcon(), this);
        m_tray->setToolTip(QStringLiteral("anonchat"));
        connect(m_tray, &QSystemTrayIcon::messageClicked, this, [this] {
            showNormal();
            raise();
            activateWindow();
        });
        connect(m_tray, &QSystemTrayIcon::activated, this, [this] {
            showNormal();
            raise();
            activateWindow();
        });
        m_tray->show();
    }
    m_tray->showMessage(title, text, Theme::appIcon(), 5000);
}

// ---- events ---------------------------------------------------------------------------------

bool MainWindow::event(QEvent *event)
{
    if (event->type() == QEvent::WindowActivate && m_unread > 0) {
        m_unread = 0;
        updateTitle();
    }
    return QMainWindow::event(event);
}

void MainWindow::changeEvent(QEvent *event)
{
    switch (event->type()) {
    case QEvent::LanguageChange: retranslate(); break;
    case QEvent::ApplicationPaletteChange:
    case QEvent::PaletteChange:
        if (m_view && Theme::current().isDark != m_themeDark)
            applyTheme();
        break;
    default: break;
    }
    QMainWindow::changeEvent(event);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_closing) {
        event->accept();
        return;
    }
    if (inRoom() && hasConversation() && m_settings.confirmLeave()) {
        event->ignore();
        confirmLeaving(tr("Quit and leave this chat?"), tr("Quit"), [this] {
            shutdown();
            close();
        });
        return;
    }
    shutdown();
    event->accept();
}

} // namespace anonchat::client
