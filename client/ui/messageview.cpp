#include "client/ui/messageview.h"

#include "client/core/messagelistmodel.h"
#include "client/ui/theme.h"

#include <QApplication>
#include <QClipboard>
#include <QContextMenuEvent>
#include <QMenu>
#include <QPainter>
#include <QScrollBar>
#include <QTimer>

namespace anonchat::client {

MessageView::MessageView(QWidget *parent)
    : QListView(parent)
{
    setSelectionMode(QAbstractItemView::NoSelection);
    setFocusPolicy(Qt::NoFocus);
    setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setResizeMode(QListView::Adjust);
    setLayoutMode(QListView::SinglePass);
    setUniformItemSizes(false);
    setWordWrap(true);
    setMouseTracking(true);
    setFrameShape(QFrame::NoFrame);
    verticalScrollBar()->setSingleStep(24);
    setAccessibleName(tr("Conversation"));
}

void MessageView::setModel(QAbstractItemModel *model)
{
    if (this->model())
        this->model()->disconnect(this);
    QListView::setModel(model);
    if (!model)
        return;
    connect(model, &QAbstractItemModel::rowsAboutToBeInserted, this,
            &MessageView::onRowsAboutToBeInserted);
    connect(model, &QAbstractItemModel::rowsInserted, this, &MessageView::onRowsInserted);
    connect(model, &QAbstractItemModel::modelReset, this, [this] {
        m_stickToBottom = true;
        viewport()->update();
    });
}

void MessageView::setPlaceholder(const QString &title, const QString &detail)
{
    m_placeholderTitle = title;
    m_placeholderDetail = detail;
    viewport()->update();
}

void MessageView::setPlaceholderIcon(const QIcon &icon)
{
    m_placeholderIcon = icon;
    viewport()->update();
}

bool MessageView::isAtBottom() const
{
    const QScrollBar *bar = verticalScrollBar();
    return bar->value() >= bar->maximum() - 4;
}

void MessageView::onRowsAboutToBeInserted()
{
    m_stickToBottom = isAtBottom();
}

void MessageView::onRowsInserted(const QModelIndex &parent, int first, int last)
{
    if (parent.isValid())
        return;
    bool mine = false;
    for (int row = first; row <= last; ++row)
        mine = mine || model()->index(row, 0).data(MessageListModel::KindRole).toInt() ==
                           int(MessageListModel::Kind::Mine);
    if (m_stickToBottom || mine) {
        // After the view has laid the new rows out.
        QTimer::singleShot(0, this, [this] { scrollToBottom(); });
    }
}

void MessageView::resizeEvent(QResizeEvent *event)
{
    const bool atBottom = isAtBottom();
    QListView::resizeEvent(event);
    if (atBottom)
        QTimer::singleShot(0, this, [this] { scrollToBottom(); });
}

void MessageView::paintEvent(QPaintEvent *event)
{
    QListView::paintEvent(event);
    if (model() && model()->rowCount() > 0)
        return;
    if (m_placeholderTitle.isEmpty())
        return;
    const Theme theme = Theme::forPalette(palette());
    QPainter p(viewport());
    p.setRenderHint(QPainter::Antialiasing);
    const QRect area = viewport()->rect().adjusted(32, 0, -32, 0);
    const int iconSize = 64;

    QFont titleFont = font();
    titleFont.setPointSizeF(titleFont.pointSizeF() > 0 ? titleFont.pointSizeF() * 1.5 : 16);
    titleFont.setWeight(QFont::DemiBold);
    const QFontMetrics titleMetrics(titleFont);
    const QRect titleRect =
        titleMetrics.boundingRect(area, Qt::AlignHCenter | Qt::TextWordWrap, m_placeholderTitle);
    const int detailWidth = qMin(area.width(), 440);
    const QRect detailArea((viewport()->width() - detailWidth) / 2, 0, detailWidth, 10000);
    const QRect detailRect = fontMetrics().boundingRect(
        detailArea, Qt::AlignHCenter | Qt::TextWordWrap, m_placeholderDetail);
    const int gap = 14;
    const int total = iconSize + gap + titleRect.height() + 8 + detailRect.height();
    int y = qMax(16, (viewport()->height() - total) / 2 - 10);

    if (!m_placeholderIcon.isNull()) {
        m_placeholderIcon.paint(&p,
                                QRect((viewport()->width() - iconSize) / 2, y, iconSize, iconSize));
    }
    y += iconSize + gap;
    p.setFont(titleFont);
    p.setPen(theme.text);
    p.drawText(QRect(area.left(), y, area.width(), titleRect.height()),
               Qt::AlignHCenter | Qt::TextWordWrap, m_placeholderTitle);
    y += titleRect.height() + 8;
    p.setFont(font());
    p.setPen(theme.muted);
    p.drawText(QRect(detailArea.left(), y, detailWidth, detailRect.height()),
               Qt::AlignHCenter | Qt::TextWordWrap, m_placeholderDetail);
}

void MessageView::contextMenuEvent(QContextMenuEvent *event)
{
    const QModelIndex index = indexAt(event->pos());
    if (!index.isValid())
        return;
    QMenu menu(this);
    const QString text = index.data(MessageListModel::TextRole).toString();
    menu.addAction(tr("Copy text"), this, [text] { QApplication::clipboard()->setText(text); });
    menu.exec(event->globalPos());
}

} // namespace anonchat::client
