#pragma once
// A free TCP port on 127.0.0.1, for a server a test starts itself (redis-server, nginx).

#include <QHostAddress>
#include <QTcpServer>

namespace anonchat::test {

/// A port nothing listens on right now, or 0 if none was found. Someone else may take it before
/// the caller does.
inline quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

} // namespace anonchat::test
