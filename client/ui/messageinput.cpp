#include "client/ui/messageinput.h"

#include <QAbstractTextDocumentLayout>
#include <QKeyEvent>
#include <QTextDocument>

namespace anonchat::client {

namespace {
constexpr int kMaxLines = 6;
}

MessageInput::MessageInput(QWidget *parent)
    : QPlainTextEdit(parent)
{
    setTabChangesFocus(true);
    setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    setLineWrapMode(QPlainTextEdit::WidgetWidth);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    document()->setDocumentMargin(4);
    // QPlainTextDocumentLayout measures its height in (wrapped) lines.
    connect(document()->documentLayout(), &QAbstractTextDocumentLayout::documentSizeChanged, this,
            &MessageInput::updateHeight);
    updateHeight();
}

void MessageInput::keyPressEvent(QKeyEvent *event)
{
    const bool enter = event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter;
    if (enter && !(event->modifiers() & Qt::ShiftModifier)) {
        if (event->modifiers() & (Qt::ControlModifier | Qt::AltModifier | Qt::MetaModifier)) {
            event->ignore(); // leave Ctrl+Enter and friends to shortcuts
            return;
        }
        event->accept();
        emit submitted();
        return;
    }
    if (enter) {
        // Shift+Enter: a plain newline (QPlainTextEdit would insert U+2028 for Shift+Enter).
        textCursor().insertText(QStringLiteral("\n"));
        event->accept();
        return;
    }
    QPlainTextEdit::keyPressEvent(event);
}

void MessageInput::changeEvent(QEvent *event)
{
    QPlainTextEdit::changeEvent(event);
    if (event->type() == QEvent::FontChange || event->type() == QEvent::StyleChange)
        updateHeight();
}

int MessageInput::heightForLines(int lines) const
{
    const QMargins margins = contentsMargins();
    const qreal documentMargin = document()->documentMargin();
    return int(lines * fontMetrics().lineSpacing() + 2 * documentMargin) + margins.top() +
           margins.bottom() + 2;
}

void MessageInput::updateHeight()
{
    const int lines = int(document()->documentLayout()->documentSize().height());
    const int height = heightForLines(qBound(1, lines, kMaxLines));
    if (height != maximumHeight()) {
        setFixedHeight(height);
        updateGeometry();
    }
}

QSize MessageInput::sizeHint() const
{
    return QSize(QPlainTextEdit::sizeHint().width(), maximumHeight());
}

QSize MessageInput::minimumSizeHint() const
{
    return QSize(80, heightForLines(1));
}

} // namespace anonchat::client
