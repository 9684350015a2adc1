#include "client/ui/chatactions.h"

#include "client/core/chatsession.h"

#include <QAction>
#include <QMainWindow>
#include <QMenuBar>

namespace anonchat::client {

using State = ChatSession::State;

ChatActions::ChatActions(QMainWindow *window)
    : QObject(window)
{
    m_start = new QAction(window);
    m_start->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_N));

    // The same key as Start: "a new stranger". The two are never enabled together.
    m_next = new QAction(window);
    m_next->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_N));

    m_leave = new QAction(window);
    m_leave->setShortcut(QKeySequence(Qt::Key_Escape));

    m_report = new QAction(window);

    m_save = new QAction(window);
    m_save->setShortcut(QKeySequence::Save);

    m_settings = new QAction(window);
    m_settings->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Comma)});
    m_settings->setMenuRole(QAction::PreferencesRole);

    m_quit = new QAction(window);
    m_quit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    m_quit->setMenuRole(QAction::QuitRole);

    m_moderation = new QAction(window);

    m_about = new QAction(window);
    m_about->setMenuRole(QAction::AboutRole);

    for (QAction *action : {m_start, m_next, m_leave, m_save, m_settings, m_quit})
        window->addAction(action); // shortcuts work while the menu bar is hidden too
    buildMenus(window);
}

void ChatActions::buildMenus(QMainWindow *window)
{
    m_chatMenu = window->menuBar()->addMenu(QString());
    m_chatMenu->addAction(m_start);
    m_chatMenu->addAction(m_next);
    m_chatMenu->addAction(m_leave);
    m_chatMenu->addSeparator();
    m_chatMenu->addAction(m_report);
    m_chatMenu->addAction(m_save);
    m_chatMenu->addSeparator();
    m_chatMenu->addAction(m_settings);
    m_chatMenu->addSeparator();
    m_chatMenu->addAction(m_quit);
    m_serverMenu = window->menuBar()->addMenu(QString());
    m_serverMenu->addAction(m_moderation);
    m_helpMenu = window->menuBar()->addMenu(QString());
    m_helpMenu->addAction(m_about);
}

void ChatActions::retranslate()
{
    m_chatMenu->setTitle(tr("&Chat"));
    m_serverMenu->setTitle(tr("Ser&ver"));
    m_helpMenu->setTitle(tr("&Help"));
    m_start->setText(tr("&Start"));
    m_start->setToolTip(tr("Find a stranger to chat with (%1)")
                            .arg(m_start->shortcut().toString(QKeySequence::NativeText)));
    m_next->setText(tr("&Next stranger"));
    m_next->setToolTip(tr("Leave this chat and find someone new (%1)")
                           .arg(m_next->shortcut().toString(QKeySequence::NativeText)));
    m_leave->setText(tr("&Leave"));
    m_leave->setToolTip(tr("End this chat, or stop looking (%1)")
                            .arg(m_leave->shortcut().toString(QKeySequence::NativeText)));
    m_report->setText(tr("&Report stranger…"));
    m_save->setText(tr("Save &conversation…"));
    m_settings->setText(tr("Se&ttings…"));
    m_quit->setText(tr("&Quit"));
    m_moderation->setText(tr("&Moderation…"));
    m_moderation->setToolTip(tr("Reports and bans of the server this window chats on"));
    m_about->setText(tr("&About anonchat"));
}

void ChatActions::updateEnabled(const ChatSession &session, bool inRoom)
{
    const State s = session.state();
    m_start->setEnabled(s == State::Idle || s == State::Ended ||
                        (s == State::Connecting && session.roomId() == 0));
    m_next->setEnabled(inRoom && session.isConnected());
    m_leave->setEnabled(inRoom || s == State::Searching);
    m_report->setEnabled(inRoom && session.isConnected());
    m_save->setEnabled(session.model()->count() > 0);
}

} // namespace anonchat::client
