#include "server/chat/roomtable.h"

namespace anonchat::server {

Room &RoomTable::add(const Room &room)
{
    if (!room.owned)
        ++m_foreign;
    return *m_rooms.insert(room.id, room);
}

void RoomTable::remove(qint64 id)
{
    const auto it = m_rooms.find(id);
    if (it == m_rooms.end())
        return;
    if (it->ending)
        --m_ending;
    else if (!it->owned)
        --m_foreign;
    m_rooms.erase(it);
}

void RoomTable::markEnding(Room &room)
{
    room.ending = true;
    ++m_ending;
    if (!room.owned)
        --m_foreign;
}

void RoomTable::own(Room &room)
{
    if (!room.owned && !room.ending)
        --m_foreign;
    room.owned = true;
}

Room *RoomTable::find(qint64 id)
{
    const auto it = m_rooms.find(id);
    return it == m_rooms.end() ? nullptr : &it.value();
}

const Room *RoomTable::find(qint64 id) const
{
    const auto it = m_rooms.constFind(id);
    return it == m_rooms.cend() ? nullptr : &it.value();
}

} // namespace anonchat::server
