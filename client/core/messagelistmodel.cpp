#include "client/core/messagelistmodel.h"

namespace anonchat::client {

MessageListModel::MessageListModel(QObject *parent)
    : QAbstractListModel(parent)
{}

int MessageListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant MessageListModel::data(const QModelIndex &index, int role) const
{
    // Asking for a row that does not exist is allowed (and answered with nothing).
    if (!index.isValid() || index.model() != this || index.parent().isValid() ||
        index.row() >= int(m_rows.size()))
        return {};
    const Entry &e = m_rows.at(index.row());
    switch (role) {
    case TextRole: return e.text;
    case KindRole: return int(e.kind);
    case TimeRole: return e.time;
    case DeliveryRole: return int(e.delivery);
    case IdRole: return e.id > 0 ? QVariant(e.id) : QVariant();
    case NonceRole: return e.nonce.isEmpty() ? QVariant() : QVariant(e.nonce);
    default: return {};
    }
}

QHash<int, QByteArray> MessageListModel::roleNames() const
{
    return {
        {TextRole, "text"},         {KindRole, "kind"},    {TimeRole, "time"},
        {DeliveryRole, "delivery"}, {IdRole, "messageId"}, {NonceRole, "nonce"},
    };
}

int MessageListModel::count(Kind kind) const
{
    return int(std::count_if(m_rows.cbegin(), m_rows.cend(),
                             [kind](const Entry &e) { return e.kind == kind; }));
}

int MessageListModel::appendPending(const QString &text, const QString &nonce,
                                    const QDateTime &time)
{
    if (const int row = rowOfNonce(nonce); !nonce.isEmpty() && row >= 0)
        return row;
    Entry e;
    e.kind = Kind::Mine;
    e.text = text;
    e.time = time.isValid() ? time.toUTC() : QDateTime::currentDateTimeUtc();
    e.delivery = Delivery::Pending;
    e.nonce = nonce;
    return append(std::move(e));
}

MessageListModel::Outcome MessageListModel::appendMessage(const protocol::NewMessage &message,
                                                          bool mine)
{
    if (message.id > 0 && m_byId.contains(message.id))
        return Outcome::Duplicate;
    if (mine && !message.nonce.isEmpty()) {
        const int row = rowOfNonce(message.nonce);
        if (row >= 0) {
            Entry &e = m_rows[row];
            if (e.delivery == Delivery::Sent)
                return Outcome::Duplicate;
            e.delivery = Delivery::Sent;
            e.text = message.content; // as stored (trimmed by the server)
            if (message.timestamp.isValid())
                e.time = message.timestamp;
            if (message.id > 0) {
                e.id = message.id;
                m_byId.insert(e.id, row);
            }
            changed(row, {TextRole, TimeRole, DeliveryRole, IdRole});
            return Outcome::Acknowledged;
        }
    }
    Entry e;
    e.kind = mine ? Kind::Mine : Kind::Theirs;
    e.text = message.content;
    e.time = message.timestamp.isValid() ? message.timestamp : QDateTime::currentDateTimeUtc();
    e.delivery = mine ? Delivery::Sent : Delivery::None;
    e.id = message.id;
    if (mine)
        e.nonce = message.nonce;
    append(std::move(e));
    return Outcome::Added;
}

bool MessageListModel::markFailed(const QString &nonce)
{
    const int row = nonce.isEmpty() ? -1 : rowOfNonce(nonce);
    if (row < 0 || m_rows[row].delivery != Delivery::Pending)
        return false;
    m_rows[row].delivery = Delivery::Failed;
    changed(row, {DeliveryRole});
    return true;
}

int MessageListModel::appendSystem(const QString &text, const QDateTime &time)
{
    Entry e;
    e.kind = Kind::System;
    e.text = text;
    e.time = time.isValid() ? time.toUTC() : QDateTime::currentDateTimeUtc();
    return append(std::move(e));
}

void MessageListModel::clear()
{
    if (m_rows.isEmpty())
        return;
    beginResetModel();
    m_rows.clear();
    m_byId.clear();
    m_byNonce.clear();
    endResetModel();
    emit countChanged();
}

int MessageListModel::append(Entry entry)
{
    const int row = int(m_rows.size());
    beginInsertRows(QModelIndex(), row, row);
    if (entry.id > 0)
        m_byId.insert(entry.id, row);
    if (!entry.nonce.isEmpty())
        m_byNonce.insert(entry.nonce, row);
    m_rows.append(std::move(entry));
    endInsertRows();
    emit countChanged();
    return row;
}

void MessageListModel::changed(int row, const QList<int> &roles)
{
    const QModelIndex i = index(row);
    emit dataChanged(i, i, roles);
}

} // namespace anonchat::client
