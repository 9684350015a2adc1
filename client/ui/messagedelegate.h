// MessageDelegate: paints the conversation's rows as chat bubbles and notices.
#pragma once

#include <QStyledItemDelegate>

class QTextLayout;

namespace anonchat::client {

struct Theme;

/**
 * Paints the rows of a MessageListModel in a QListView as chat bubbles: ours on the right in the
 * accent gradient with a delivery mark (pending clock, delivered check, failed alert), the
 * partner's on the left, system notices centred in a soft pill. Every row shows its local time.
 * Text is laid out with QTextLayout and wraps at word boundaries, or anywhere when a word is
 * too long, so CJK runs, emoji and long URLs all stay inside the bubble. Bubbles of one sender
 * in a row are grouped (tight spacing, a "tail" corner on the last one).
 */
class MessageDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    explicit MessageDelegate(QObject *parent = nullptr);

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;
    bool helpEvent(QHelpEvent *event, QAbstractItemView *view, const QStyleOptionViewItem &option,
                   const QModelIndex &index) override;

    /// The widest a chat bubble's text may be in a view `viewWidth` pixels wide.
    static int maxTextWidth(int viewWidth);
    /// The lines `text` wraps into in a bubble of a view `viewWidth` wide (tests, and the reason
    /// the layout is shared: what is measured is what is painted).
    static QStringList wrappedLines(const QString &text, const QFont &font, int viewWidth);
    /// The time as shown on a row (local time, the locale's short format).
    static QString timeText(const QDateTime &utc);

private:
    struct Geometry;
    Geometry geometry(const QStyleOptionViewItem &option, const QModelIndex &index,
                      QTextLayout &layout) const;
    /// A system notice: a centred pill with the time after the text.
    void layoutSystem(Geometry &g, const QStyleOptionViewItem &option, const QString &text,
                      int viewWidth, int top, QTextLayout &layout) const;
    /// A message: a bubble on its side, the time (and delivery mark) inline or below.
    void layoutBubble(Geometry &g, const QStyleOptionViewItem &option, const QString &text,
                      int viewWidth, int top, QTextLayout &layout) const;
    /// A message's bubble (ours: the accent gradient; the partner's: flat), its text, time and
    /// delivery mark; `painter` is at the row's top left.
    void paintBubble(QPainter *painter, const Geometry &g, const Theme &theme,
                     const QTextLayout &layout) const;
};

} // namespace anonchat::client
