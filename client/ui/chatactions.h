// ChatActions: the window's actions (Start, Next, Leave, Report, Save, Settings, Quit,
// Moderation, About).
#pragma once

#include <QObject>

class QAction;
class QMainWindow;
class QMenu;

namespace anonchat::client {

class ChatSession;

/**
 * The actions of the main window with their shortcuts, and the Chat, Server and Help menus that
 * show them. The actions are the window's (its children, added to it so that their shortcuts work
 * while the menu bar is hidden); what they do is connected by the window.
 */
class ChatActions : public QObject
{
    Q_OBJECT
public:
    /// Creates the actions on `window` and the menus in its menu bar.
    explicit ChatActions(QMainWindow *window);

    /// The menus' and actions' texts and tooltips in the current language.
    void retranslate();
    /// Enables what the session allows now (`inRoom`: chatting, or the partner away).
    void updateEnabled(const ChatSession &session, bool inRoom);

    QAction *start() const { return m_start; }
    QAction *next() const { return m_next; }
    QAction *leave() const { return m_leave; }
    QAction *report() const { return m_report; }
    QAction *save() const { return m_save; }
    QAction *settings() const { return m_settings; }
    QAction *quit() const { return m_quit; }
    QAction *moderation() const { return m_moderation; }
    QAction *about() const { return m_about; }

private:
    void buildMenus(QMainWindow *window);

    QAction *m_start = nullptr;
    QAction *m_next = nullptr;
    QAction *m_leave = nullptr;
    QAction *m_report = nullptr;
    QAction *m_save = nullptr;
    QAction *m_settings = nullptr;
    QAction *m_quit = nullptr;
    QAction *m_moderation = nullptr;
    QAction *m_about = nullptr;
    QMenu *m_chatMenu = nullptr;
    QMenu *m_serverMenu = nullptr;
    QMenu *m_helpMenu = nullptr;
};

} // namespace anonchat::client
