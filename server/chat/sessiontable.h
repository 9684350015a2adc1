#pragma once

// A node's sessions, found by key, user id, resume token and socket.

#include "server/chat/session.h"

#include <QHash>
#include <QList>
#include <memory>
#include <unordered_map>

namespace anonchat::server {

/**
 * Owns a node's Sessions and keeps their three indexes true: by resume token (every session),
 * and by socket (connected ones). A session's socket and token change only through attach(),
 * detach() and setToken().
 */
class SessionTable
{
public:
    SessionTable() = default;
    SessionTable(const SessionTable &) = delete;
    SessionTable &operator=(const SessionTable &) = delete;

    /// A fresh random key not in use; in a cluster its top byte is the node's number, so that
    /// keys are unique over the cluster. Never 0.
    UserKey newKey(int clusterNode) const;
    /// A fresh resume token (192 random bits, URL-safe base64).
    static QString newResumeToken();

    /// Takes `session` (its key, token and socket set) and indexes it.
    Session &add(std::unique_ptr<Session> session);
    /// Drops the session and its indexes (not its socket).
    void remove(UserKey key);

    Session *find(UserKey key) const;
    /// By the 8-hex user id (only if it names this very session).
    Session *find(const QString &userId) const;
    Session *findByToken(const QString &token) const;
    Session *findBySocket(ClientSocket *socket) const;

    /// `s` is served by `socket` from now on.
    void attach(Session &s, ClientSocket *socket);
    /// Forgets `socket`; returns the session it served (null: none, or replaced already). The
    /// session's own pointer is left for the caller to judge.
    Session *detach(ClientSocket *socket);
    void setToken(Session &s, const QString &token);

    int size() const { return int(m_sessions.size()); }
    int connectedCount() const { return int(m_bySocket.size()); }
    QList<ClientSocket *> sockets() const { return m_bySocket.keys(); }

    /// For `for (const auto &[key, session] : table)`.
    auto begin() const { return m_sessions.begin(); }
    auto end() const { return m_sessions.end(); }

private:
    std::unordered_map<UserKey, std::unique_ptr<Session>> m_sessions;
    QHash<ClientSocket *, UserKey> m_bySocket;
    QHash<QString, UserKey> m_byToken;
};

} // namespace anonchat::server
