#include "client/ui/mainwindow.h"

#include "client/app/appsettings.h"
#include "client/app/commandline.h"
#include "client/app/localserverhost.h"
#include "client/core/connection.h"
#include "client/core/messagelistmodel.h"
#include "client/ui/conversationexport.h"
#include "client/ui/languagemanager.h"
#include "client/ui/messagedelegate.h"
#include "client/ui/messageinput.h"
#include "client/ui/messageview.h"
#include "shared/codec.h"
#include "shared/limits.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QCloseEvent>
#include <QFileDialog>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QScreen>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QSystemTrayIcon>
#include <QToolButton>
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
    buildActions();
    buildUi();

    Theme::apply(Theme::modeFromKey(m_settings.theme()), m_systemPalette);
    applyTheme();

    connect(m_backend, &ServerBackend::ready, this, [this](const QUrl &url) {
        m_backendError.clear();
        m_session->close();
        m_session->model()->clear();
        m_session->open(url);
        updateHostInfo();
        updateConnection();
    });
    connect(m_backend, &ServerBackend::failed, this, [this](const QString &error) {
        m_backendError = error;
        m_session->close();
        m_session->model()->appendSystem(error);
        std::fprintf(stderr, "anonchat: %s\n", qPrintable(error));
        updateHostInfo();
        updateConnection();
    });
    connect(m_backend, &ServerBackend::stopped, this, [this] {
        m_shutDown = true;
        emit finished();
    });

    connect(m_session, &ChatSession::stateChanged, this, &MainWindow::updateState);
    connect(m_session, &ChatSession::roomChanged, this, &MainWindow::updateState);
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

    connect(m_input, &MessageInput::submitted, this, &MainWindow::send);
    connect(m_input, &QPlainTextEdit::textChanged, this, [this] {
        updateCounter();
        m_session->setTyping(!m_input->text().trimmed().isEmpty());
    });
    connect(m_interests, &QLineEdit::returnPressed, this, [this] {
        if (m_startAction->isEnabled())
            start();
        else if (m_nextAction->isEnabled())
            next();
    });

    retranslate();
    updateState();
    updateCounter();
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

// ---- building -------------------------------------------------------------------------------

void MainWindow::buildActions()
{
    m_startAction = new QAction(this);
    m_startAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_N));
    connect(m_startAction, &QAction::triggered, this, &MainWindow::start);

    // The same key as Start: "a new stranger". The two are never enabled together.
    m_nextAction = new QAction(this);
    m_nextAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_N));
    connect(m_nextAction, &QAction::triggered, this, &MainWindow::next);

    m_leaveAction = new QAction(this);
    m_leaveAction->setShortcut(QKeySequence(Qt::Key_Escape));
    connect(m_leaveAction, &QAction::triggered, this, &MainWindow::leave);

    m_reportAction = new QAction(this);
    connect(m_reportAction, &QAction::triggered, this, &MainWindow::report);

    m_saveAction = new QAction(this);
    m_saveAction->setShortcut(QKeySequence::Save);
    connect(m_saveAction, &QAction::triggered, this, &MainWindow::saveConversationAs);

    m_settingsAction = new QAction(this);
    m_settingsAction->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Comma)});
    m_settingsAction->setMenuRole(QAction::PreferencesRole);
    connect(m_settingsAction, &QAction::triggered, this, &MainWindow::openSettings);

    m_quitAction = new QAction(this);
    m_quitAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    m_quitAction->setMenuRole(QAction::QuitRole);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);

    m_aboutAction = new QAction(this);
    m_aboutAction->setMenuRole(QAction::AboutRole);
    connect(m_aboutAction, &QAction::triggered, this, &MainWindow::about);

    for (QAction *action :
         {m_startAction, m_nextAction, m_leaveAction, m_saveAction, m_settingsAction, m_quitAction})
        addAction(action); // shortcuts work while the menu bar is hidden too
}

void MainWindow::buildUi()
{
    m_chatMenu = menuBar()->addMenu(QString());
    m_chatMenu->addAction(m_startAction);
    m_chatMenu->addAction(m_nextAction);
    m_chatMenu->addAction(m_leaveAction);
    m_chatMenu->addSeparator();
    m_chatMenu->addAction(m_reportAction);
    m_chatMenu->addAction(m_saveAction);
    m_chatMenu->addSeparator();
    m_chatMenu->addAction(m_settingsAction);
    m_chatMenu->addSeparator();
    m_chatMenu->addAction(m_quitAction);
    m_helpMenu = menuBar()->addMenu(QString());
    m_helpMenu->addAction(m_aboutAction);

    auto *central = new QWidget(this);
    central->setObjectName(QStringLiteral("central"));
    auto *column = new QVBoxLayout(central);
    column->setContentsMargins(0, 0, 0, 0);
    column->setSpacing(0);

    // Header: brand, state, online count, settings.
    m_header = new QFrame(central);
    m_header->setObjectName(QStringLiteral("header"));
    m_brandIcon = new QLabel(m_header);
    m_brandIcon->setPixmap(Theme::appIcon().pixmap(28, 28));
    m_brand = new QLabel(QStringLiteral("anonchat"), m_header);
    m_brand->setObjectName(QStringLiteral("brand"));
    QFont brandFont = m_brand->font();
    brandFont.setPointSizeF(brandFont.pointSizeF() * 1.25);
    m_brand->setFont(brandFont);
    m_stateLabel = new QLabel(m_header);
    m_stateLabel->setObjectName(QStringLiteral("stateLabel"));
    m_stateLabel->setTextFormat(Qt::RichText);
    m_stateLabel->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_onlinePill = new QLabel(m_header);
    m_onlinePill->setObjectName(QStringLiteral("onlinePill"));
    m_settingsButton = new QToolButton(m_header);
    m_settingsButton->setObjectName(QStringLiteral("settingsButton"));
    m_settingsButton->setAutoRaise(true);
    m_settingsButton->setText(QStringLiteral("⚙"));
    QFont gear = m_settingsButton->font();
    gear.setPointSizeF(gear.pointSizeF() * 1.4);
    m_settingsButton->setFont(gear);
    connect(m_settingsButton, &QToolButton::clicked, this, &MainWindow::openSettings);
    auto *header = new QHBoxLayout(m_header);
    header->setContentsMargins(16, 10, 10, 10);
    header->setSpacing(10);
    header->addWidget(m_brandIcon);
    header->addWidget(m_brand);
    header->addSpacing(6);
    header->addWidget(m_stateLabel, 1);
    header->addWidget(m_onlinePill);
    header->addWidget(m_settingsButton);
    column->addWidget(m_header);

    // Interests and the three chat buttons.
    m_controls = new QFrame(central);
    m_controls->setObjectName(QStringLiteral("controls"));
    m_interestsLabel = new QLabel(m_controls);
    m_interests = new QLineEdit(m_controls);
    m_interests->setObjectName(QStringLiteral("interestsEdit"));
    m_interests->setClearButtonEnabled(true);
    m_interests->setText(m_settings.interests());
    m_interestsLabel->setBuddy(m_interests);
    m_startButton = new QPushButton(m_controls);
    m_startButton->setObjectName(QStringLiteral("primaryButton"));
    m_nextButton = new QPushButton(m_controls);
    m_nextButton->setObjectName(QStringLiteral("secondaryButton"));
    m_leaveButton = new QPushButton(m_controls);
    m_leaveButton->setObjectName(QStringLiteral("dangerButton"));
    for (QPushButton *button : {m_startButton, m_nextButton, m_leaveButton}) {
        button->setCursor(Qt::PointingHandCursor);
        button->setAutoDefault(false);
    }
    connect(m_startButton, &QPushButton::clicked, m_startAction, &QAction::trigger);
    connect(m_nextButton, &QPushButton::clicked, m_nextAction, &QAction::trigger);
    connect(m_leaveButton, &QPushButton::clicked, m_leaveAction, &QAction::trigger);
    auto *controls = new QHBoxLayout(m_controls);
    controls->setContentsMargins(16, 8, 16, 8);
    controls->setSpacing(8);
    controls->addWidget(m_interestsLabel);
    controls->addWidget(m_interests, 1);
    controls->addSpacing(6);
    controls->addWidget(m_startButton);
    controls->addWidget(m_nextButton);
    controls->addWidget(m_leaveButton);
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

    // The message box.
    m_composer = new QFrame(central);
    m_composer->setObjectName(QStringLiteral("composer"));
    m_input = new MessageInput(m_composer);
    m_input->setObjectName(QStringLiteral("messageInput"));
    m_input->setFont(messageFont);
    m_sendButton = new QPushButton(m_composer);
    m_sendButton->setObjectName(QStringLiteral("sendButton"));
    m_sendButton->setCursor(Qt::PointingHandCursor);
    m_sendButton->setAutoDefault(false);
    connect(m_sendButton, &QPushButton::clicked, this, &MainWindow::send);
    m_counter = new QLabel(m_composer);
    m_counter->setObjectName(QStringLiteral("counterLabel"));
    m_counter->setAlignment(Qt::AlignCenter);
    QFont counterFont = m_counter->font();
    counterFont.setPointSizeF(counterFont.pointSizeF() * 0.85);
    m_counter->setFont(counterFont);
    auto *side = new QVBoxLayout;
    side->setSpacing(4);
    side->addWidget(m_sendButton);
    side->addWidget(m_counter);
    side->addStretch();
    auto *composer = new QHBoxLayout(m_composer);
    composer->setContentsMargins(16, 10, 16, 10);
    composer->setSpacing(10);
    composer->addWidget(m_input, 1, Qt::AlignTop);
    composer->addLayout(side);
    column->addWidget(m_composer);
    setCentralWidget(central);

    // Status bar: the connection, and the local server.
    m_connectionLabel = new QLabel(this);
    m_connectionLabel->setObjectName(QStringLiteral("connectionLabel"));
    m_connectionLabel->setTextFormat(Qt::RichText);
    m_connectionLabel->setContentsMargins(10, 0, 0, 0);
    m_hostLabel = new QLabel(this);
    m_hostLabel->setObjectName(QStringLiteral("hostLabel"));
    m_hostLabel->setTextFormat(Qt::PlainText);
    m_hostLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_copyHostButton = new QToolButton(this);
    m_copyHostButton->setAutoRaise(true);
    m_copyHostButton->setObjectName(QStringLiteral("copyHostButton"));
    m_copyHostButton->setCursor(Qt::PointingHandCursor);
    connect(m_copyHostButton, &QToolButton::clicked, this, [this] {
        const QUrl url =
            m_backend->lanUrl().isValid() ? m_backend->lanUrl() : m_backend->serverUrl();
        QApplication::clipboard()->setText(url.toString());
        statusBar()->showMessage(tr("Copied %1").arg(url.toString()), 3000);
    });
    statusBar()->setSizeGripEnabled(false);
    statusBar()->addWidget(m_connectionLabel, 1);
    statusBar()->addPermanentWidget(m_hostLabel);
    statusBar()->addPermanentWidget(m_copyHostButton);
    setMinimumSize(440, 460);
}

void MainWindow::retranslate()
{
    m_chatMenu->setTitle(tr("&Chat"));
    m_helpMenu->setTitle(tr("&Help"));
    m_startAction->setText(tr("&Start"));
    m_startAction->setToolTip(
        tr("Find a stranger to chat with (%1)")
            .arg(m_startAction->shortcut().toString(QKeySequence::NativeText)));
    m_nextAction->setText(tr("&Next stranger"));
    m_nextAction->setToolTip(tr("Leave this chat and find someone new (%1)")
                                 .arg(m_nextAction->shortcut().toString(QKeySequence::NativeText)));
    m_leaveAction->setText(tr("&Leave"));
    m_leaveAction->setToolTip(
        tr("End this chat, or stop looking (%1)")
            .arg(m_leaveAction->shortcut().toString(QKeySequence::NativeText)));
    m_reportAction->setText(tr("&Report stranger…"));
    m_saveAction->setText(tr("Save &conversation…"));
    m_settingsAction->setText(tr("Se&ttings…"));
    m_quitAction->setText(tr("&Quit"));
    m_aboutAction->setText(tr("&About anonchat"));

    m_settingsButton->setToolTip(tr("Settings"));
    m_settingsButton->setAccessibleName(tr("Settings"));
    m_interestsLabel->setText(tr("&Interests"));
    m_interests->setPlaceholderText(tr("music, travel, games… (optional)"));
    m_interests->setToolTip(tr("Up to %1 topics, separated by commas. You are paired with someone "
                               "who shares one first.")
                                .arg(protocol::kMaxInterests));
    m_startButton->setText(tr("Start"));
    m_startButton->setToolTip(m_startAction->toolTip());
    m_nextButton->setText(tr("Next"));
    m_nextButton->setToolTip(m_nextAction->toolTip());
    m_leaveButton->setText(tr("Leave"));
    m_leaveButton->setToolTip(m_leaveAction->toolTip());
    m_sendButton->setText(tr("Send"));
    m_sendButton->setToolTip(tr("Send the message (Enter). Shift+Enter starts a new line."));
    m_input->setAccessibleName(tr("Message"));
    m_copyHostButton->setText(tr("Copy"));
    m_copyHostButton->setToolTip(tr("Copy the address others can open"));
    updateState();
    updateCounter();
    updateConnection();
    updateHostInfo();
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
    m_startAction->setEnabled(s == State::Idle || s == State::Ended ||
                              (s == State::Connecting && m_session->roomId() == 0));
    m_nextAction->setEnabled(room && m_session->isConnected());
    m_leaveAction->setEnabled(room || s == State::Searching);
    m_reportAction->setEnabled(room && m_session->isConnected());
    m_saveAction->setEnabled(m_session->model()->count() > 0);
    m_startButton->setEnabled(m_startAction->isEnabled());
    m_nextButton->setEnabled(m_nextAction->isEnabled());
    m_leaveButton->setEnabled(m_leaveAction->isEnabled());

    const Theme theme = Theme::current();
    QString state;
    QColor dot = theme.muted;
    switch (s) {
    case State::Offline:
        state = m_backendError.isEmpty() ? tr("Not connected") : tr("Server unavailable");
        dot = m_backendError.isEmpty() ? theme.muted : theme.danger;
        break;
    case State::Connecting:
        state = tr("Connecting…");
        dot = theme.amber;
        break;
    case State::Idle: state = tr("Ready when you are"); break;
    case State::Searching:
        state = tr("Looking for a stranger…");
        dot = theme.amber;
        break;
    case State::Chatting: {
        const QStringList common = m_session->commonInterests();
        state = common.isEmpty() ? tr("Chatting with a stranger")
                                 : tr("Chatting with a stranger · you both like %1")
                                       .arg(QLocale().createSeparatedList(common));
        dot = theme.ok;
        break;
    }
    case State::PartnerAway:
        state = tr("The stranger's connection dropped…");
        dot = theme.amber;
        break;
    case State::Ended: state = tr("Chat ended"); break;
    }
    m_stateLabel->setText(QStringLiteral("<span style=\"color:%1\">●</span>&nbsp; %2")
                              .arg(dot.name(), state.toHtmlEscaped()));
    m_stateLabel->setToolTip(state);
    m_stateLabel->setAccessibleName(state);

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
                .arg(m_startAction->shortcut().toString(QKeySequence::NativeText)));
    }
    m_input->setPlaceholderText(room ? tr("Type a message…") : tr("Start a chat to send messages"));

    // A match found while the user looks elsewhere is worth a notification.
    if (s == State::Chatting && m_lastState == State::Searching && !isActiveWindow())
        notify(tr("anonchat"), tr("You're now chatting with a stranger."));
    m_lastState = s;
    updateCounter();
}

void MainWindow::updateCounter()
{
    const QString text = m_input->text();
    const int count = protocol::codePointCount(text.trimmed());
    const int max = protocol::kMaxMessageChars;
    m_counter->setText(QStringLiteral("%1/%2").arg(count).arg(max));
    const char *level = count > max ? "over" : (count > max - 50 ? "warn" : "ok");
    if (m_counter->property("level").toByteArray() != level) {
        m_counter->setProperty("level", QByteArray(level));
        m_counter->style()->unpolish(m_counter);
        m_counter->style()->polish(m_counter);
    }
    m_counter->setToolTip(count > max ? tr("%1 characters too many").arg(count - max)
                                      : tr("%1 of %2 characters").arg(count).arg(max));
    m_sendButton->setEnabled(inRoom() && count > 0 && count <= max);
}

void MainWindow::updateTyping()
{
    m_typingLabel->setText(m_session->partnerTyping() ? tr("Stranger is typing…") : QString());
}

void MainWindow::updateOnline()
{
    const int online = m_session->onlineCount();
    if (online <= 0 || !m_session->isConnected()) {
        m_onlinePill->setText(QStringLiteral("● –"));
        m_onlinePill->setToolTip(tr("People online"));
        return;
    }
    m_onlinePill->setText(QStringLiteral("● ") + tr("%n online", nullptr, online));
    m_onlinePill->setToolTip(tr("People online"));
}

void MainWindow::updateConnection()
{
    const Theme theme = Theme::current();
    QColor dot = theme.muted;
    QString text;
    const QUrl url = m_backend->serverUrl();
    const bool local = m_backend->isHosting();
    const QString where = url.isValid() ? url.authority() : QString();
    switch (m_session->connection()->state()) {
    case Connection::State::Disconnected:
        dot = m_backendError.isEmpty() ? theme.muted : theme.danger;
        text = m_backendError.isEmpty() ? tr("Not connected") : m_backendError;
        break;
    case Connection::State::Connecting:
        dot = theme.amber;
        text = tr("Connecting to %1…").arg(where);
        break;
    case Connection::State::Connected:
        dot = theme.ok;
        text = local ? tr("Connected to the server on this computer")
                     : tr("Connected to %1").arg(where);
        break;
    case Connection::State::Reconnecting:
        dot = theme.amber;
        text = tr("Connection lost. Reconnecting to %1…").arg(where);
        break;
    }
    m_connectionLabel->setText(QStringLiteral("<span style=\"color:%1\">●</span>&nbsp; %2")
                                   .arg(dot.name(), text.toHtmlEscaped()));
    m_connectionLabel->setToolTip(text);
    updateOnline();
    updateState();
}

void MainWindow::updateHostInfo()
{
    if (!m_backend->isHosting()) {
        m_hostLabel->clear();
        m_hostLabel->setVisible(false);
        m_copyHostButton->setVisible(false);
        return;
    }
    const QUrl lan = m_backend->lanUrl();
    if (lan.isValid())
        m_hostLabel->setText(tr("Shared on your network: %1").arg(lan.toString()));
    else
        m_hostLabel->setText(tr("Hosting at %1").arg(m_backend->serverUrl().toString()));
    m_hostLabel->setVisible(true);
    m_copyHostButton->setVisible(true);
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
    if (!m_startAction->isEnabled())
        return;
    m_settings.setInterests(m_interests->text());
    m_session->start(parseInterests(m_interests->text()));
    m_input->setFocus();
}

void MainWindow::next()
{
    if (!m_nextAction->isEnabled())
        return;
    confirmLeaving(tr("Leave this chat and find someone new?"), tr("Next stranger"), [this] {
        m_settings.setInterests(m_interests->text());
        m_session->next(parseInterests(m_interests->text()));
        m_input->setFocus();
    });
}

void MainWindow::leave()
{
    if (!m_leaveAction->isEnabled())
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
    const QString text = m_input->text();
    if (text.trimmed().isEmpty())
        return;
    switch (m_session->sendMessage(text)) {
    case ChatSession::SendResult::Accepted: m_input->clear(); break;
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
    if (!m_reportAction->isEnabled())
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
    m_settings.setInterests(m_interests->text());
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
