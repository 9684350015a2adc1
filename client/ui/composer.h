// Composer: the message box at the bottom of the window, with Send and the n/500 counter.
#pragma once

#include <QFrame>

class QLabel;
class QPushButton;

namespace anonchat::client {

class MessageInput;

/**
 * Where a message is written: the growing MessageInput (Enter sends), the Send button and a
 * live counter of code points against the protocol's limit (ok, warn, over). Send is enabled
 * only in a room with a message of an allowed length.
 */
class Composer : public QFrame
{
    Q_OBJECT
public:
    explicit Composer(const QFont &messageFont, QWidget *parent = nullptr);

    void retranslate();
    /// In a room (chatting, or the partner away) a message can be sent; else not.
    void setInRoom(bool inRoom);
    /// Refreshes the counter and whether Send is enabled.
    void updateCounter();

    MessageInput *input() const { return m_input; }
    QPushButton *sendButton() const { return m_sendButton; }
    QLabel *counterLabel() const { return m_counter; }

signals:
    /// Enter in the box, or the Send button.
    void sendRequested();

private:
    MessageInput *m_input = nullptr;
    QPushButton *m_sendButton = nullptr;
    QLabel *m_counter = nullptr;
    bool m_inRoom = false;
};

} // namespace anonchat::client
