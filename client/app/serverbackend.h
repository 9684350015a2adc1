// ServerBackend: the server the window chats on, hosted here or remote.
#pragma once

#include "client/app/localserverhost.h"
#include "server/app/serverconfig.h"

#include <QObject>
#include <QPointer>
#include <QUrl>
#include <optional>

namespace anonchat::client {

/**
 * Where the window's chat runs: a server hosted in this process (LocalServerHost), or a remote
 * one. apply() switches between them; a running local server is stopped gracefully (everything
 * committed) before the next one starts, so changing the port in the settings never loses a
 * message and the port is free again.
 */
class ServerBackend : public QObject
{
    Q_OBJECT
public:
    /// What to run.
    struct Target {
        bool host = true;            ///< host locally (else connect to remoteUrl)
        server::ServerConfig config; ///< the local server's configuration
        QUrl remoteUrl;              ///< the server to join when not hosting
    };

    explicit ServerBackend(QObject *parent = nullptr);
    ~ServerBackend() override;

    /// Switches to `target`: emits ready() with the URL the chat should open, or failed().
    void apply(const Target &target);
    /// Stops the local server (if any) gracefully; emits stopped() when done (at once if there
    /// is none).
    void shutdown();

    bool isHosting() const;
    bool isBusy() const { return m_busy; }
    /// The server the chat uses (valid after ready()).
    QUrl serverUrl() const { return m_serverUrl; }
    /// The URL others on the network can open, when hosting with sharing on; else empty.
    QUrl lanUrl() const;
    /// The local server, while hosting.
    LocalServerHost *host() const { return m_host; }
    const Target &target() const { return m_target; }

signals:
    /// The server is ready (a local one listening, or a remote URL accepted).
    void ready(const QUrl &serverUrl);
    /// A local server started (its loopback URL); after ready().
    void hostingStarted(const QUrl &url);
    /// The target cannot be used (one line, translated).
    void failed(const QString &error);
    void stopped();

private:
    void startTarget();
    void stopHost();

    QPointer<LocalServerHost> m_host;
    Target m_target;
    std::optional<Target> m_pending;
    QUrl m_serverUrl;
    bool m_busy = false;
    bool m_shuttingDown = false;
};

} // namespace anonchat::client
