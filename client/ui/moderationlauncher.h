// ModerationLauncher: opens the moderation window on the server the app chats on.
#pragma once

#include "client/ui/moderationwindow.h"

#include <QByteArray>
#include <QObject>
#include <QPointer>
#include <QUrl>

class QWidget;

namespace anonchat::client {

class ServerBackend;

/**
 * Server › Moderation…: finds the server and its moderation token and shows one
 * ModerationWindow for it. The server the app hosts needs nothing (LocalServerHost gave it a
 * random token); for a remote one the user types the token (its `--admin-token-file`), kept for
 * this session only, never saved, and forgotten when the server refuses it.
 */
class ModerationLauncher : public QObject
{
    Q_OBJECT
public:
    /// `backend` must outlive the launcher; the window is a child window of `parent`.
    ModerationLauncher(ServerBackend &backend, QWidget *parent);
    ~ModerationLauncher() override;

    /// Shows the window (made again when the server changed); asks for a remote server's token
    /// first when none is known. Does nothing when there is no server or the user cancels.
    void open();
    /// The window, once opened.
    ModerationWindow *window() const { return m_window; }

private:
    /// The token for the current server, asking for it if needed; empty if there is none.
    QByteArray token();

    ServerBackend &m_backend;
    QWidget *m_parent = nullptr;
    QPointer<ModerationWindow> m_window;
    ModerationClient *m_client = nullptr;
    QUrl m_remoteUrl;         ///< the remote server m_remoteToken is for
    QByteArray m_remoteToken; ///< typed by the user, this session only
};

} // namespace anonchat::client
