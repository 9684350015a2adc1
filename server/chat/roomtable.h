#pragma once

// A node's rooms by id, with the count of those this node stores and reports.

#include "server/chat/room.h"

#include <QHash>

namespace anonchat::server {

/**
 * Owns a node's Rooms. A room is counted in this node's active rooms while it is not ending and
 * is `owned` (its row was stored here; a room whose other member sits on another node is counted
 * by the node that stored it). The counts follow add(), remove(), markEnding() and own().
 */
class RoomTable
{
public:
    Room &add(const Room &room);
    void remove(qint64 id);
    /// Its end is being stored: no longer active.
    void markEnding(Room &room);
    /// Stored elsewhere, counted here from now on (the other node let go of it).
    void own(Room &room);

    Room *find(qint64 id);
    const Room *find(qint64 id) const;
    bool contains(qint64 id) const { return m_rooms.contains(id); }
    int activeHere() const { return int(m_rooms.size()) - m_ending - m_foreign; }

    auto begin() { return m_rooms.begin(); }
    auto end() { return m_rooms.end(); }
    auto begin() const { return m_rooms.cbegin(); }
    auto end() const { return m_rooms.cend(); }

private:
    QHash<qint64, Room> m_rooms;
    int m_ending = 0;  ///< rooms whose end is being stored (still here)
    int m_foreign = 0; ///< rooms not ending, stored and counted by another node
};

} // namespace anonchat::server
