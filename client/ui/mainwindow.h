// MainWindow: the desktop app's window, putting the chat's parts together.
#pragma once

#include "client/app/serverbackend.h"
#include "client/core/chatsession.h"
#include "client/ui/settingsdialog.h"
#include "client/ui/theme.h"

#include <QMainWindow>
#include <QMessageBox>
#include <QPointer>
#include <QTimer>
#include <functional>

class QAction;
class QLabel;
class QLineEdit;
class QPushButton;
class QSystemTrayIcon;

namespace anonchat::client {

class AppSettings;
class ChatActions;
class ChatControls;
class Composer;
class ConnectionStatus;
class HeaderBar;
class LanguageManager;
class MessageInput;
class MessageView;
class ModerationLauncher;

/**
 * The desktop app's window. It only shows the ChatSession's state and model and forwards the
 * user's actions to it; the protocol stays in client/core. It owns the session and the
 * ServerBackend (the in-process server, or the remote URL) that the session connects to, and
 * puts together its parts: ChatActions (actions and menus), HeaderBar, ChatControls, the
 * conversation (MessageView), Composer and ConnectionStatus (the status bar).
 *
 * What it offers: Start (Ctrl+N), Next (Ctrl+N in a chat), Leave (Esc) with a confirmation when
 * the chat has messages; interests; the conversation as bubbles; a message box with a live
 * n/500 counter (code points) where Enter sends and Shift+Enter breaks the line; "Stranger is
 * typing…"; the online count; the connection in the status bar; a desktop notification and an
 * unread count in the title while the window is inactive; Save conversation (text or HTML);
 * the settings (server, language switched live, theme); Server › Moderation….
 */
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    /// `settings` must outlive the window; `languages` may be null (no live language switch).
    explicit MainWindow(AppSettings &settings, LanguageManager *languages = nullptr,
                        QWidget *parent = nullptr);
    ~MainWindow() override;

    /// Starts (or switches to) `target` and connects the chat to it. `target.config` is also
    /// kept as the base for what the settings change later (database, limits).
    void startWith(const ServerBackend::Target &target);
    /// Leaves the chat politely, stops the local server gracefully; finished() when done.
    void shutdown();

    /// Writes the conversation to `fileName` (.html: HTML, else text). False with a message box
    /// unless `quiet`.
    bool saveConversation(const QString &fileName, bool quiet = false);

    ChatSession *session() const { return m_session; }
    ServerBackend *backend() const { return m_backend; }
    int unreadCount() const { return m_unread; }
    /// The last desktop notification (title, text), for tests and the tray-less.
    QStringList lastNotification() const { return m_lastNotification; }
    /// The confirmation on screen, if any.
    QMessageBox *confirmation() const { return m_confirmation; }

    QPushButton *startButton() const;
    QPushButton *nextButton() const;
    QPushButton *leaveButton() const;
    QPushButton *sendButton() const;
    MessageInput *input() const;
    QLineEdit *interestsEdit() const;
    QLabel *counterLabel() const;
    QLabel *typingLabel() const { return m_typingLabel; }
    QLabel *onlineLabel() const;
    QLabel *stateLabel() const;
    QLabel *connectionLabel() const;
    QLabel *hostLabel() const;
    MessageView *view() const { return m_view; }
    QAction *startAction() const;
    QAction *nextAction() const;
    QAction *leaveAction() const;
    QAction *saveAction() const;
    QAction *settingsAction() const;
    QAction *moderationAction() const;
    /// Server › Moderation… (its window, once opened).
    ModerationLauncher *moderation() const { return m_moderation; }

    /// Applies settings as if accepted in the dialog (tests, and the dialog itself).
    void applySettings(const SettingsDialog::Values &values);
    /// Interests typed in the field ("music, 旅行、games"), normalised to a list.
    static QStringList parseInterests(const QString &text);

signals:
    /// shutdown() completed: the local server (if any) has stopped.
    void finished();

public slots:
    void start();
    void next();
    void leave();
    void send();
    void openSettings();
    void saveConversationAs();

protected:
    void changeEvent(QEvent *event) override;
    void closeEvent(QCloseEvent *event) override;
    bool event(QEvent *event) override;

private:
    void buildUi();
    void connectActions();
    void connectBackend();
    void connectSession();
    void retranslate();
    void applyTheme();
    void updateState();
    void updatePlaceholder();
    void updateTitle();
    void updateConnection();
    void updateTyping();
    void updateOnline();
    void onMessageArrived(const QString &text);
    void notify(const QString &title, const QString &text);
    bool hasConversation() const;
    bool inRoom() const;
    /// Runs `action` now, or after the user confirmed leaving a chat that has messages.
    void confirmLeaving(const QString &question, const QString &acceptText,
                        const std::function<void()> &action);
    void report();
    void about();

    AppSettings &m_settings;
    LanguageManager *m_languages = nullptr;
    ServerBackend *m_backend = nullptr;
    ChatSession *m_session = nullptr;
    server::ServerConfig m_baseConfig;
    QPalette m_systemPalette;
    bool m_themeDark = false;
    bool m_closing = false;
    bool m_shutDown = false;
    int m_unread = 0;
    QStringList m_lastNotification;
    QString m_backendError;
    QPointer<QMessageBox> m_confirmation;
    QSystemTrayIcon *m_tray = nullptr;
    QTimer m_statsTimer; ///< refreshes the online count
    ChatSession::State m_lastState = ChatSession::State::Offline;

    ChatActions *m_actions = nullptr;
    HeaderBar *m_header = nullptr;
    ChatControls *m_controls = nullptr;
    MessageView *m_view = nullptr;
    QLabel *m_typingLabel = nullptr;
    Composer *m_composer = nullptr;
    ConnectionStatus *m_status = nullptr;
    ModerationLauncher *m_moderation = nullptr;
};

} // namespace anonchat::client
