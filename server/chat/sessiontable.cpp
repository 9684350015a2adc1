#include "server/chat/sessiontable.h"

#include "server/net/clientsocket.h"

#include <QRandomGenerator>

namespace anonchat::server {

UserKey SessionTable::newKey(int clusterNode) const
{
    UserKey key = 0;
    do {
        key = QRandomGenerator::global()->generate();
        if (clusterNode > 0)
            key = quint32(clusterNode & 0xff) << 24 | (key & 0xffffff);
    } while (key == 0 || m_sessions.count(key));
    return key;
}

QString SessionTable::newResumeToken()
{
    QByteArray bytes(24, Qt::Uninitialized); // 192 bits
    QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(bytes.data()),
                                          bytes.size() / 4);
    return QString::fromLatin1(
        bytes.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
}

Session &SessionTable::add(std::unique_ptr<Session> session)
{
    Session &s = *session;
    m_byToken.insert(s.resumeToken, s.key);
    if (s.socket)
        m_bySocket.insert(s.socket, s.key);
    m_sessions.emplace(s.key, std::move(session));
    return s;
}

void SessionTable::remove(UserKey key)
{
    const auto it = m_sessions.find(key);
    if (it == m_sessions.end())
        return;
    m_byToken.remove(it->second->resumeToken);
    m_sessions.erase(it);
}

Session *SessionTable::find(UserKey key) const
{
    const auto it = m_sessions.find(key);
    return it == m_sessions.end() ? nullptr : it->second.get();
}

Session *SessionTable::find(const QString &userId) const
{
    bool ok = false;
    const UserKey key = userId.toUInt(&ok, 16);
    Session *s = ok ? find(key) : nullptr;
    return s && s->userId == userId ? s : nullptr;
}

Session *SessionTable::findByToken(const QString &token) const
{
    const auto it = m_byToken.constFind(token);
    return it == m_byToken.cend() ? nullptr : find(it.value());
}

Session *SessionTable::findBySocket(ClientSocket *socket) const
{
    const auto it = m_bySocket.constFind(socket);
    return it == m_bySocket.cend() ? nullptr : find(it.value());
}

void SessionTable::attach(Session &s, ClientSocket *socket)
{
    s.socket = socket;
    m_bySocket.insert(socket, s.key);
}

Session *SessionTable::detach(ClientSocket *socket)
{
    const auto it = m_bySocket.find(socket);
    if (it == m_bySocket.end())
        return nullptr;
    const UserKey key = it.value();
    m_bySocket.erase(it);
    return find(key);
}

void SessionTable::setToken(Session &s, const QString &token)
{
    m_byToken.remove(s.resumeToken);
    s.resumeToken = token;
    m_byToken.insert(token, s.key);
}

} // namespace anonchat::server
