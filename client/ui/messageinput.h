// MessageInput: the growing message box where Enter sends and Shift+Enter breaks the line.
#pragma once

#include <QPlainTextEdit>

namespace anonchat::client {

/**
 * The message box: plain text only, Enter sends (submitted()), Shift+Enter starts a new line.
 * It grows with its text from one line up to six, then scrolls.
 */
class MessageInput : public QPlainTextEdit
{
    Q_OBJECT
public:
    explicit MessageInput(QWidget *parent = nullptr);

    /// The text as typed, with a plain newline between lines.
    QString text() const { return toPlainText(); }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

signals:
    /// Enter (or the keypad's Enter) without Shift.
    void submitted();

protected:
    void keyPressEvent(QKeyEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    void updateHeight();
    int heightForLines(int lines) const;
};

} // namespace anonchat::client
