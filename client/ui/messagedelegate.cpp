#include "client/ui/messagedelegate.h"

#include "client/core/messagelistmodel.h"
#include "client/ui/theme.h"

#include <QAbstractItemView>
#include <QHelpEvent>
#include <QLocale>
#include <QPainter>
#include <QPainterPath>
#include <QTextLayout>
#include <QToolTip>
#include <cmath>

namespace anonchat::client {

namespace {

using Kind = MessageListModel::Kind;
using Delivery = MessageListModel::Delivery;

constexpr int kSide = 16; // bubbles keep this far from the view's edges
constexpr int kPadX = 12; // inside a bubble
constexpr int kPadY = 7;
constexpr int kRadius = 16;
constexpr int kTailRadius = 5; // the corner pointing at the sender, on the last of a group
constexpr int kGroupGap = 3;   // between bubbles of one sender
constexpr int kGap = 12;       // between groups
constexpr int kMetaGap = 10;   // text to time
constexpr int kMarkWidth = 16; // delivery mark, after the time

QString shownText(QString text)
{
    // QTextLayout breaks lines at U+2028 only.
    text.remove(QLatin1Char('\r'));
    text.replace(QLatin1Char('\n'), QChar::LineSeparator);
    return text;
}

QFont scaledFont(const QFont &base, qreal factor)
{
    QFont font(base);
    if (base.pointSizeF() > 0)
        font.setPointSizeF(base.pointSizeF() * factor);
    else
        font.setPixelSize(qMax(8, qRound(base.pixelSize() * factor)));
    return font;
}

/// Lays `text` out in lines of at most `width`; returns the height, the widest line in
/// `*natural`.
qreal layoutText(QTextLayout &layout, const QString &text, const QFont &font, qreal width,
                 Qt::Alignment alignment, qreal *natural,
                 const QList<QTextLayout::FormatRange> &formats = {})
{
    layout.clearLayout();
    layout.setText(text);
    layout.setFont(font);
    layout.setFormats(formats);
    QTextOption option;
    option.setWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    option.setAlignment(alignment);
    layout.setTextOption(option);
    layout.setCacheEnabled(true);
    qreal y = 0;
    qreal widest = 0;
    layout.beginLayout();
    for (QTextLine line = layout.createLine(); line.isValid(); line = layout.createLine()) {
        line.setLineWidth(width);
        line.setPosition(QPointF(0, y));
        y += line.height();
        widest = qMax(widest, line.naturalTextWidth());
    }
    layout.endLayout();
    if (natural)
        *natural = widest;
    return y;
}

QPainterPath bubblePath(const QRectF &r, qreal tl, qreal tr, qreal br, qreal bl)
{
    QPainterPath path;
    path.moveTo(r.left() + tl, r.top());
    path.lineTo(r.right() - tr, r.top());
    path.arcTo(QRectF(r.right() - 2 * tr, r.top(), 2 * tr, 2 * tr), 90, -90);
    path.lineTo(r.right(), r.bottom() - br);
    path.arcTo(QRectF(r.right() - 2 * br, r.bottom() - 2 * br, 2 * br, 2 * br), 0, -90);
    path.lineTo(r.left() + bl, r.bottom());
    path.arcTo(QRectF(r.left(), r.bottom() - 2 * bl, 2 * bl, 2 * bl), 270, -90);
    path.lineTo(r.left(), r.top() + tl);
    path.arcTo(QRectF(r.left(), r.top(), 2 * tl, 2 * tl), 180, -90);
    path.closeSubpath();
    return path;
}

int kindOf(const QModelIndex &index)
{
    return index.isValid() ? index.data(MessageListModel::KindRole).toInt() : -1;
}

int viewWidthFor(const QStyleOptionViewItem &option)
{
    if (const auto *view = qobject_cast<const QAbstractItemView *>(option.widget))
        return view->viewport()->width();
    return option.rect.width();
}

void drawMark(QPainter *p, const QRectF &box, Delivery delivery, const QColor &color,
              const QColor &danger)
{
    p->save();
    p->setRenderHint(QPainter::Antialiasing);
    const QPointF c = box.center();
    switch (delivery) {
    case Delivery::Sent: {
        QPen pen(color, 1.7, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);
        p->setPen(pen);
        QPainterPath check;
        check.moveTo(c + QPointF(-4.5, 0.2));
        check.lineTo(c + QPointF(-1.4, 3.2));
        check.lineTo(c + QPointF(4.6, -3.4));
        p->drawPath(check);
        break;
    }
    case Delivery::Pending: {
        QPen pen(color, 1.3, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);
        p->setPen(pen);
        p->setBrush(Qt::NoBrush);
        p->drawEllipse(c, 4.6, 4.6);
        p->drawLine(c, c + QPointF(0, -2.8));
        p->drawLine(c, c + QPointF(2.2, 0));
        break;
    }
    case Delivery::Failed: {
        p->setPen(Qt::NoPen);
        p->setBrush(Qt::white);
        p->drawEllipse(c, 6, 6);
        p->setPen(QPen(danger, 1.8, Qt::SolidLine, Qt::RoundCap));
        p->drawLine(c + QPointF(0, -3.2), c + QPointF(0, 0.6));
        p->setPen(Qt::NoPen);
        p->setBrush(danger);
        p->drawEllipse(c + QPointF(0, 3.0), 1.0, 1.0);
        break;
    }
    case Delivery::None: break;
    }
    p->restore();
}

QString deliveryText(Delivery delivery)
{
    switch (delivery) {
    case Delivery::Pending: return MessageDelegate::tr("Sending…");
    case Delivery::Sent: return MessageDelegate::tr("Delivered");
    case Delivery::Failed: return MessageDelegate::tr("Not delivered");
    case Delivery::None: break;
    }
    return {};
}

} // namespace

struct MessageDelegate::Geometry {
    Kind kind = Kind::System;
    Delivery delivery = Delivery::None;
    QRectF bubble;      ///< in row coordinates
    QPointF textOrigin; ///< where the text layout is drawn
    QPointF metaOrigin; ///< baseline start of the time
    QRectF markBox;     ///< delivery mark (ours only)
    QString time;
    QFont metaFont;
    int height = 0;
    bool firstOfGroup = true;
    bool lastOfGroup = true;
};

MessageDelegate::MessageDelegate(QObject *parent)
    : QStyledItemDelegate(parent)
{}

int MessageDelegate::maxTextWidth(int viewWidth)
{
    const int bubble = qBound(160, int(viewWidth * 0.72), 620);
    return qMax(40, qMin(bubble, viewWidth - 2 * kSide) - 2 * kPadX);
}

QString MessageDelegate::timeText(const QDateTime &utc)
{
    if (!utc.isValid())
        return {};
    return QLocale().toString(utc.toLocalTime().time(), QLocale::ShortFormat);
}

QStringList MessageDelegate::wrappedLines(const QString &text, const QFont &font, int viewWidth)
{
    QTextLayout layout;
    const QString shown = shownText(text);
    layoutText(layout, shown, font, maxTextWidth(viewWidth), Qt::AlignLeft, nullptr);
    QStringList lines;
    for (int i = 0; i < layout.lineCount(); ++i) {
        const QTextLine line = layout.lineAt(i);
        lines.append(shown.mid(line.textStart(), line.textLength()));
    }
    return lines;
}

MessageDelegate::Geometry MessageDelegate::geometry(const QStyleOptionViewItem &option,
                                                    const QModelIndex &index,
                                                    QTextLayout &layout) const
{
    Geometry g;
    g.kind = Kind(index.data(MessageListModel::KindRole).toInt());
    g.delivery = Delivery(index.data(MessageListModel::DeliveryRole).toInt());
    g.time = timeText(index.data(MessageListModel::TimeRole).toDateTime());
    const QString text = shownText(index.data(MessageListModel::TextRole).toString());
    const int viewWidth = viewWidthFor(option);
    const QModelIndex previous = index.siblingAtRow(index.row() - 1);
    const QModelIndex next = index.siblingAtRow(index.row() + 1);
    const int kind = int(g.kind);
    g.firstOfGroup = g.kind == Kind::System || kindOf(previous) != kind;
    g.lastOfGroup = g.kind == Kind::System || kindOf(next) != kind;
    const int top = index.row() == 0 ? 10 : (g.firstOfGroup ? kGap : kGroupGap);

    if (g.kind == Kind::System)
        layoutSystem(g, option, text, viewWidth, top, layout);
    else
        layoutBubble(g, option, text, viewWidth, top, layout);
    g.height = int(std::ceil(g.bubble.bottom()));
    return g;
}

void MessageDelegate::layoutSystem(Geometry &g, const QStyleOptionViewItem &option,
                                   const QString &text, int viewWidth, int top,
                                   QTextLayout &layout) const
{
    const QFont font = scaledFont(option.font, 0.9);
    const QString shown = g.time.isEmpty() ? text : text + QStringLiteral("  ·  ") + g.time;
    const int maxWidth = qMax(60, qMin(viewWidth - 2 * kSide, 600) - 2 * kPadX);
    QList<QTextLayout::FormatRange> formats;
    if (!g.time.isEmpty()) {
        QTextLayout::FormatRange range;
        range.start = int(shown.size() - g.time.size() - 5);
        range.length = int(g.time.size() + 5);
        range.format.setForeground(Theme::forPalette(option.palette).muted);
        formats.append(range);
    }
    qreal natural = 0;
    layoutText(layout, shown, font, maxWidth, Qt::AlignHCenter, &natural, formats);
    const qreal width = std::ceil(natural);
    const qreal height = layoutText(layout, shown, font, width, Qt::AlignHCenter, nullptr, formats);
    const QSizeF bubble(width + 2 * kPadX, height + 2 * 5);
    g.bubble = QRectF(QPointF((viewWidth - bubble.width()) / 2.0, top), bubble);
    g.textOrigin = g.bubble.topLeft() + QPointF(kPadX, 5);
}

void MessageDelegate::layoutBubble(Geometry &g, const QStyleOptionViewItem &option,
                                   const QString &text, int viewWidth, int top,
                                   QTextLayout &layout) const
{
    const bool mine = g.kind == Kind::Mine;
    const int maxText = maxTextWidth(viewWidth);
    qreal natural = 0;
    qreal textHeight = layoutText(layout, text, option.font, maxText, Qt::AlignLeft, &natural);
    natural = std::ceil(natural);
    g.metaFont = scaledFont(option.font, 0.78);
    const QFontMetricsF meta(g.metaFont);
    const qreal metaWidth = std::ceil(meta.horizontalAdvance(g.time)) + (mine ? kMarkWidth + 3 : 0);
    const QTextLine last = layout.lineCount() ? layout.lineAt(layout.lineCount() - 1) : QTextLine();
    const qreal lastWidth = last.isValid() ? last.naturalTextWidth() : 0;
    const bool inlineMeta =
        last.isValid() && !text.isRightToLeft() && lastWidth + kMetaGap + metaWidth <= maxText;
    qreal contentWidth = 0;
    qreal contentHeight = 0;
    if (inlineMeta) {
        contentWidth = qMax(natural, std::ceil(lastWidth + kMetaGap + metaWidth));
        contentHeight = textHeight;
    } else {
        contentWidth = qMax(natural, metaWidth);
        contentHeight = textHeight + meta.height();
    }
    // Laid out again at the width actually used, so right-to-left lines align in the bubble.
    textHeight = layoutText(layout, text, option.font, contentWidth, Qt::AlignLeft, nullptr);

    const QSizeF bubble(contentWidth + 2 * kPadX, contentHeight + 2 * kPadY);
    const qreal x = mine ? viewWidth - kSide - bubble.width() : kSide;
    g.bubble = QRectF(QPointF(x, top), bubble);
    g.textOrigin = g.bubble.topLeft() + QPointF(kPadX, kPadY);
    const qreal contentRight = g.bubble.right() - kPadX;
    qreal baseline = 0;
    if (inlineMeta) {
        const QTextLine line = layout.lineAt(layout.lineCount() - 1);
        baseline = g.textOrigin.y() + line.y() + line.ascent();
    } else {
        baseline = g.textOrigin.y() + textHeight + meta.ascent();
    }
    g.metaOrigin = QPointF(contentRight - metaWidth, baseline);
    if (mine)
        g.markBox = QRectF(contentRight - kMarkWidth, baseline - meta.ascent() - 1, kMarkWidth,
                           meta.ascent() + meta.descent());
}

QSize MessageDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    QTextLayout layout;
    const Geometry g = geometry(option, index, layout);
    return QSize(qMax(1, viewWidthFor(option)), g.height);
}

void MessageDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                            const QModelIndex &index) const
{
    QTextLayout layout;
    const Geometry g = geometry(option, index, layout);
    const Theme theme = Theme::forPalette(option.palette);

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setRenderHint(QPainter::TextAntialiasing);
    painter->translate(option.rect.topLeft());

    if (g.kind == Kind::System) {
        const qreal radius = qMin<qreal>(12, g.bubble.height() / 2);
        painter->setPen(Qt::NoPen);
        painter->setBrush(theme.accentSoft);
        painter->drawRoundedRect(g.bubble, radius, radius);
        painter->setPen(theme.accentSoftText);
        layout.draw(painter, g.textOrigin);
        painter->restore();
        return;
    }

    paintBubble(painter, g, theme, layout);
    painter->restore();
}

void MessageDelegate::paintBubble(QPainter *painter, const Geometry &g, const Theme &theme,
                                  const QTextLayout &layout) const
{
    const bool mine = g.kind == Kind::Mine;
    const qreal tail = g.lastOfGroup ? kTailRadius : kRadius;
    const qreal joinTop = g.firstOfGroup ? kRadius : kTailRadius;
    const QPainterPath path = mine ? bubblePath(g.bubble, kRadius, joinTop, tail, kRadius)
                                   : bubblePath(g.bubble, joinTop, kRadius, kRadius, tail);
    QColor textColor;
    QColor metaColor;
    if (mine) {
        QLinearGradient gradient(g.bubble.topLeft(), g.bubble.bottomRight());
        gradient.setColorAt(0, theme.accent);
        gradient.setColorAt(1, theme.accent2);
        painter->setPen(Qt::NoPen);
        painter->setBrush(gradient);
        if (g.delivery == Delivery::Pending)
            painter->setOpacity(0.8);
        painter->drawPath(path);
        painter->setOpacity(1.0);
        textColor = theme.accentText;
        metaColor = theme.accentText;
        metaColor.setAlpha(200);
    } else {
        painter->setBrush(theme.theirs);
        painter->setPen(theme.isDark ? QPen(Qt::NoPen) : QPen(theme.border, 1));
        painter->drawPath(path);
        textColor = theme.theirsText;
        metaColor = theme.muted;
    }

    painter->setPen(textColor);
    layout.draw(painter, g.textOrigin);

    painter->setFont(g.metaFont);
    painter->setPen(metaColor);
    painter->drawText(g.metaOrigin, g.time);
    if (mine)
        drawMark(painter, g.markBox, g.delivery, metaColor, theme.danger);
}

bool MessageDelegate::helpEvent(QHelpEvent *event, QAbstractItemView *view,
                                const QStyleOptionViewItem &option, const QModelIndex &index)
{
    if (!event || !view || event->type() != QEvent::ToolTip)
        return QStyledItemDelegate::helpEvent(event, view, option, index);
    QTextLayout layout;
    const Geometry g = geometry(option, index, layout);
    if (!g.bubble.translated(option.rect.topLeft()).contains(event->pos())) {
        QToolTip::hideText();
        return true;
    }
    const QDateTime time = index.data(MessageListModel::TimeRole).toDateTime().toLocalTime();
    QString tip = QLocale().toString(time, QLocale::LongFormat);
    if (g.kind == Kind::Mine)
        tip = deliveryText(g.delivery) + QStringLiteral(" · ") + tip;
    QToolTip::showText(event->globalPos(), tip, view);
    return true;
}

} // namespace anonchat::client
