// ChatControls: the band under the header with the interests and the Start, Next, Leave buttons.
#pragma once

#include <QFrame>

class QLabel;
class QLineEdit;
class QPushButton;

namespace anonchat::client {

class ChatActions;

/**
 * The interests field and the three chat buttons. A button triggers its action (Start, Next,
 * Leave of ChatActions) and is enabled with it.
 */
class ChatControls : public QFrame
{
    Q_OBJECT
public:
    /// `actions` must outlive the controls; `interests` is the field's first text.
    ChatControls(const ChatActions &actions, const QString &interests, QWidget *parent = nullptr);

    void retranslate();
    /// Enables each button as its action is.
    void updateEnabled();

    QLineEdit *interestsEdit() const { return m_interests; }
    QPushButton *startButton() const { return m_startButton; }
    QPushButton *nextButton() const { return m_nextButton; }
    QPushButton *leaveButton() const { return m_leaveButton; }

private:
    const ChatActions &m_actions;
    QLabel *m_interestsLabel = nullptr;
    QLineEdit *m_interests = nullptr;
    QPushButton *m_startButton = nullptr;
    QPushButton *m_nextButton = nullptr;
    QPushButton *m_leaveButton = nullptr;
};

} // namespace anonchat::client
