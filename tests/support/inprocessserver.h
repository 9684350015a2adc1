// An in-process ChatServer for the suites that drive one directly (serverprocess.h: the binary).
#pragma once

#include "server/app/chatserver.h"
#include "server/app/serverconfig.h"

#include <QDebug>
#include <QString>
#include <QtGlobal>
#include <algorithm>
#include <memory>

namespace anonchat::test {

/// The config a test server starts from: any free port (0), the database file `database`, and
/// `instanceName`, which must differ between servers alive at once in one process.
inline server::ServerConfig testServerConfig(const QString &database, const QString &instanceName)
{
    server::ServerConfig config;
    config.port = 0;
    config.database = database;
    config.instanceName = instanceName;
    return config;
}

/// The nodes (`--threads`) of a suite that ctest runs twice: ANONCHAT_TEST_THREADS (2 for the
/// `_threads` run), else 1.
inline int testThreads()
{
    return std::max(1, qEnvironmentVariableIntValue("ANONCHAT_TEST_THREADS"));
}

/// Replaces `server` with a ChatServer for `config` and starts it: true once it listens. The new
/// server is made before the old one goes, as `server = std::make_unique<...>` does. On failure
/// the reason is logged and put in `error` when given.
inline bool startChatServer(std::unique_ptr<server::ChatServer> &server,
                            const server::ServerConfig &config, QString *error = nullptr)
{
    server = std::make_unique<server::ChatServer>(config);
    QString why;
    if (!server->start(&why)) {
        qWarning() << "server did not start:" << why;
        if (error)
            *error = why;
        return false;
    }
    return server->port() != 0;
}

} // namespace anonchat::test
