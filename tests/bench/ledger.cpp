#include "ledger.h"

#include <QMutexLocker>

namespace anonchat::bench {

namespace {
constexpr int kSamples = 10;
} // namespace

Ledger::Room &Ledger::room(qint64 roomId)
{
    return m_rooms[roomId];
}

Ledger::Member *Ledger::member(Room &room, const QString &userId)
{
    for (Member &m : room.members) {
        if (m.userId == userId)
            return &m;
    }
    return nullptr;
}

void Ledger::joined(qint64 roomId, const QString &userId, const QString &partnerId)
{
    QMutexLocker lock(&m_mutex);
    Room &r = room(roomId);
    if (r.members[0].userId.isEmpty()) {
        r.members[0].userId = userId;
        r.members[1].userId = partnerId;
    }
}

void Ledger::acked(qint64 roomId, qint64 messageId, const QString &senderId, qint64 nowNs)
{
    QMutexLocker lock(&m_mutex);
    Message &m = room(roomId).messages[messageId];
    m.senderId = senderId;
    if (m.ackNs < 0)
        m.ackNs = nowNs;
}

void Ledger::received(qint64 roomId, qint64 messageId)
{
    QMutexLocker lock(&m_mutex);
    ++room(roomId).messages[messageId].copies;
}

void Ledger::ended(qint64 roomId, const QString &userId, qint64 atNs, EndKind kind)
{
    QMutexLocker lock(&m_mutex);
    const auto it = m_rooms.find(roomId);
    if (it == m_rooms.end())
        return;
    Member *m = member(*it, userId);
    if (m && m->endNs < 0) {
        m->endNs = atNs;
        m->kind = kind;
    }
}

void Ledger::judge(qint64 roomId, const Room &room)
{
    ++m_totals.rooms;
    for (auto it = room.messages.cbegin(); it != room.messages.cend(); ++it) {
        const Message &m = it.value();
        if (m.ackNs < 0)
            continue; // its sender dropped before the acknowledgement came
        ++m_totals.acked;
        const Member &receiver =
            room.members[0].userId == m.senderId ? room.members[1] : room.members[0];
        if (m.copies > 1) {
            m_totals.duplicates += m.copies - 1;
            if (m_totals.duplicateSamples.size() < kSamples)
                m_totals.duplicateSamples.append(
                    QStringLiteral("room %1 message %2 from %3: %4 copies")
                        .arg(roomId)
                        .arg(it.key())
                        .arg(m.senderId)
                        .arg(m.copies));
        }
        if (receiver.kind == EndKind::Dropped || receiver.endNs < 0 || m.ackNs >= receiver.endNs)
            continue;
        ++m_totals.owed;
        if (m.copies > 0)
            continue;
        ++m_totals.lost;
        if (m_totals.lostSamples.size() < kSamples)
            m_totals.lostSamples.append(
                QStringLiteral("room %1 message %2 from %3 to %4 (ended %5)")
                    .arg(roomId)
                    .arg(it.key())
                    .arg(m.senderId, receiver.userId)
                    .arg(receiver.kind == EndKind::Left          ? "left"
                         : receiver.kind == EndKind::PartnerLeft ? "partner_left"
                                                                 : "stopped"));
    }
}

void Ledger::sweep(qint64 nowNs, qint64 graceNs)
{
    QMutexLocker lock(&m_mutex);
    for (auto it = m_rooms.begin(); it != m_rooms.end();) {
        const Member *m = it->members;
        const bool done = graceNs < 0 || (m[0].endNs >= 0 && m[1].endNs >= 0 &&
                                          qMax(m[0].endNs, m[1].endNs) < nowNs - graceNs);
        if (!done) {
            ++it;
            continue;
        }
        judge(it.key(), it.value());
        it = m_rooms.erase(it);
    }
}

LedgerTotals Ledger::totals() const
{
    QMutexLocker lock(&m_mutex);
    return m_totals;
}

int Ledger::openRooms() const
{
    QMutexLocker lock(&m_mutex);
    return int(m_rooms.size());
}

} // namespace anonchat::bench
