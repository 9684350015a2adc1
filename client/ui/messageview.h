// MessageView: the conversation list, following new messages, with a placeholder.
#pragma once

#include <QIcon>
#include <QListView>

namespace anonchat::client {

/**
 * The conversation list: a QListView for a MessageListModel with a MessageDelegate, no
 * selection, smooth per-pixel scrolling. It follows new messages while scrolled to the bottom
 * (always for our own), offers "Copy" on a message, and shows a placeholder (icon, title,
 * hint) while the conversation is empty.
 */
class MessageView : public QListView
{
    Q_OBJECT
public:
    explicit MessageView(QWidget *parent = nullptr);

    void setModel(QAbstractItemModel *model) override;
    void setPlaceholder(const QString &title, const QString &detail);
    void setPlaceholderIcon(const QIcon &icon);
    QString placeholderTitle() const { return m_placeholderTitle; }
    /// Whether the view shows the newest message (within a few pixels).
    bool isAtBottom() const;

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void contextMenuEvent(QContextMenuEvent *event) override;

private:
    void onRowsAboutToBeInserted();
    void onRowsInserted(const QModelIndex &parent, int first, int last);

    QString m_placeholderTitle;
    QString m_placeholderDetail;
    QIcon m_placeholderIcon;
    bool m_stickToBottom = true;
};

} // namespace anonchat::client
