// HeaderBar: the band at the top of the window (brand, chat state, online count, settings).
#pragma once

#include <QFrame>

class QLabel;
class QToolButton;

namespace anonchat::client {

class ChatSession;

/**
 * The window's header: the app's icon and name, the chat's state as a coloured dot and a line
 * ("Looking for a stranger…"), the number of people online, and the settings button.
 */
class HeaderBar : public QFrame
{
    Q_OBJECT
public:
    explicit HeaderBar(QWidget *parent = nullptr);

    void retranslate();
    /// Shows the session's state; `serverFailed`: the server could not be used at all.
    void showState(const ChatSession &session, bool serverFailed);
    /// Shows the online count (a dash while it is unknown or the session is offline).
    void showOnline(const ChatSession &session);

    QLabel *stateLabel() const { return m_stateLabel; }
    QLabel *onlineLabel() const { return m_onlinePill; }

signals:
    /// The settings button was clicked.
    void settingsRequested();

private:
    QLabel *m_brandIcon = nullptr;
    QLabel *m_brand = nullptr;
    QLabel *m_stateLabel = nullptr;
    QLabel *m_onlinePill = nullptr;
    QToolButton *m_settingsButton = nullptr;
};

} // namespace anonchat::client
