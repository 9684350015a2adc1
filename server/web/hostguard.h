#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QStringList>

namespace anonchat::server {

/**
 * Against DNS rebinding (a page of `rebind.example` whose name is made to resolve to 127.0.0.1
 * reads the server as its own origin): while the server listens on a loopback address only
 * (127.0.0.0/8, ::1), a request must name the server by a loopback name or address
 * (`localhost`, `127.x.y.z`, `[::1]`, any port) or by the host of an `--allowed-origin`. A
 * server listening on 0.0.0.0, :: or any other address takes every Host (it is reachable under
 * names we cannot know).
 */
class HostGuard
{
public:
    HostGuard() = default;
    HostGuard(const QHostAddress &listenAddress, const QStringList &allowedOrigins);

    /// Whether the check applies at all (a loopback listening address).
    bool active() const { return m_active; }
    /// True for a Host header value that may reach this server. An empty value (HTTP/1.0 without
    /// Host; a browser always sends one) is allowed.
    bool allows(const QByteArray &host) const;

    /// The host part of a Host value (`name`, `a.b.c.d`, `[v6]`), lower case, without the port
    /// and, for an IPv6 literal, without the brackets. Empty when the value is malformed.
    static QByteArray hostPart(const QByteArray &host);

private:
    bool m_active = false;
    QList<QByteArray> m_allowedHosts; ///< hosts of --allowed-origin, as hostPart() gives them
};

} // namespace anonchat::server
