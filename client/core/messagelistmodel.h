// MessageListModel: the conversation (messages, notices, delivery) as a list model.
#pragma once

#include "shared/messages.h"

#include <QAbstractListModel>
#include <QDateTime>
#include <QHash>
#include <QVector>

namespace anonchat::client {

/**
 * The conversation as a list model for a QListView (and its delegate): our messages, the
 * partner's, and system notices, in arrival order. A message the user sends appears at once as
 * Pending; its ack (our `new_message` coming back with the same nonce) turns that row into Sent
 * instead of adding a row. Rows are deduplicated by stored message id and by nonce, so a message
 * replayed by a resume or acked twice never shows twice. Rows are only ever appended, updated in
 * place or all cleared.
 */
class MessageListModel : public QAbstractListModel
{
    Q_OBJECT
    Q_PROPERTY(int count READ count NOTIFY countChanged)
public:
    /// Who a row is from.
    enum class Kind {
        Mine,   ///< written by this user
        Theirs, ///< written by the partner
        System, ///< a notice from the app (matched, partner left, errors, ...)
    };
    Q_ENUM(Kind)

    /// Where one of our messages is (rows of other kinds are always None).
    enum class Delivery {
        None,    ///< not our message
        Pending, ///< sent (or waiting to be sent), not acknowledged yet
        Sent,    ///< stored by the server: it has an id
        Failed,  ///< will not be delivered (refused, or its room or identity is gone)
    };
    Q_ENUM(Delivery)

    /// The roles of data(). Enums are returned as int.
    enum Role {
        /// QString: the message text as written (render as plain text, never markup), or the
        /// notice's translated text.
        TextRole = Qt::DisplayRole,
        /// int (Kind): Mine, Theirs or System.
        KindRole = Qt::UserRole + 1,
        /// QDateTime in UTC: the server's timestamp once stored; the local send time while
        /// pending; when a notice was added. Converting to local time is the view's job.
        TimeRole,
        /// int (Delivery): Pending, Sent or Failed for Mine rows; None otherwise.
        DeliveryRole,
        /// qint64: the stored message id; an invalid QVariant for pending rows and notices.
        IdRole,
        /// QString: the client nonce of our messages; an invalid QVariant otherwise.
        NonceRole,
    };
    Q_ENUM(Role)

    /// One row.
    struct Entry {
        Kind kind = Kind::System;
        QString text;
        QDateTime time;
        Delivery delivery = Delivery::None;
        qint64 id = 0; ///< 0: none (ids of stored messages start at 1)
        QString nonce;
    };

    /// What appendMessage() did.
    enum class Outcome {
        Added,        ///< a new row
        Acknowledged, ///< our pending (or failed) row with the same nonce became Sent
        Duplicate,    ///< already shown; nothing changed
    };
    Q_ENUM(Outcome)

    explicit MessageListModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    int count() const { return int(m_rows.size()); }
    /// The row `row` (0 <= row < count()).
    const Entry &entry(int row) const { return m_rows.at(row); }
    /// Row of the message with stored id `id` / nonce `nonce`, or -1.
    int rowOfId(qint64 id) const { return m_byId.value(id, -1); }
    int rowOfNonce(const QString &nonce) const { return m_byNonce.value(nonce, -1); }
    /// How many rows of `kind` there are.
    int count(Kind kind) const;

    /// Our message just sent (or queued while reconnecting), awaiting its ack. Returns its row;
    /// an existing row when `nonce` is already known. `time` defaults to now.
    int appendPending(const QString &text, const QString &nonce, const QDateTime &time = {});
    /// A stored message from the server: ours (`mine`, the ack when it carries our nonce) or
    /// the partner's.
    Outcome appendMessage(const protocol::NewMessage &message, bool mine);
    /// Our pending message `nonce` will not be delivered. False if there is no such pending row.
    bool markFailed(const QString &nonce);
    /// A notice (already translated). Returns its row. `time` defaults to now.
    int appendSystem(const QString &text, const QDateTime &time = {});
    /// Empties the list (a new conversation).
    void clear();

signals:
    void countChanged();

private:
    int append(Entry entry);
    void changed(int row, const QList<int> &roles);

    QVector<Entry> m_rows;
    QHash<qint64, int> m_byId;
    QHash<QString, int> m_byNonce;
};

} // namespace anonchat::client
