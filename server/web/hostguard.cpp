#include "server/web/hostguard.h"

#include <QUrl>

namespace anonchat::server {

namespace {

bool isLoopback(const QHostAddress &address)
{
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    return isV4 ? QHostAddress(v4).isLoopback() : address.isLoopback();
}

bool allDigits(const QByteArray &s)
{
    if (s.isEmpty() || s.size() > 5)
        return false;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
    }
    return true;
}

} // namespace

HostGuard::HostGuard(const QHostAddress &listenAddress, const QStringList &allowedOrigins)
    : m_active(isLoopback(listenAddress))
{
    for (const QString &origin : allowedOrigins) {
        const QString host = QUrl(origin).host(); // lower case; an IPv6 literal without brackets
        if (!host.isEmpty())
            m_allowedHosts.append(host.toLatin1());
    }
}

QByteArray HostGuard::hostPart(const QByteArray &host)
{
    QByteArray name;
    if (host.startsWith('[')) {
        const qsizetype close = host.indexOf(']');
        if (close < 0)
            return {};
        const QByteArray rest = host.mid(close + 1);
        if (!rest.isEmpty() && !(rest.startsWith(':') && allDigits(rest.mid(1))))
            return {};
        name = host.mid(1, close - 1);
        if (QHostAddress(QString::fromLatin1(name)).protocol() != QAbstractSocket::IPv6Protocol)
            return {};
    } else {
        const qsizetype colon = host.indexOf(':');
        if (colon >= 0 && (host.indexOf(':', colon + 1) >= 0 || !allDigits(host.mid(colon + 1))))
            return {};
        name = colon < 0 ? host : host.left(colon);
        if (name.endsWith('.'))
            name.chop(1); // `localhost.` is the same name, fully qualified
    }
    if (name.isEmpty())
        return {};
    return name.toLower();
}

bool HostGuard::allows(const QByteArray &host) const
{
    if (!m_active || host.isEmpty())
        return true;
    const QByteArray name = hostPart(host);
    if (name.isEmpty())
        return false;
    if (name == "localhost")
        return true;
    QHostAddress address;
    if (address.setAddress(QString::fromLatin1(name)) && isLoopback(address))
        return true;
    return m_allowedHosts.contains(name);
}

} // namespace anonchat::server
