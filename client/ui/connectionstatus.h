// ConnectionStatus: the status bar's connection line and the local server's address.
#pragma once

#include "client/core/connection.h"

#include <QObject>

class QLabel;
class QStatusBar;
class QToolButton;

namespace anonchat::client {

class ServerBackend;

/**
 * What the window's status bar says about the server: the connection as a coloured dot and a
 * line ("Connected to the server on this computer"), and while hosting the address others can
 * open with a Copy button.
 */
class ConnectionStatus : public QObject
{
    Q_OBJECT
public:
    /// Puts its widgets into `bar`; `backend` must outlive it.
    ConnectionStatus(QStatusBar *bar, const ServerBackend &backend);

    void retranslate();
    /// Shows the connection's `state`; `backendError`, if any, is why there is no server.
    void showConnection(Connection::State state, const QString &backendError);
    /// Shows the local server's address, or hides it when not hosting.
    void showHost();

    QLabel *connectionLabel() const { return m_connectionLabel; }
    QLabel *hostLabel() const { return m_hostLabel; }

private:
    void copyHostUrl();

    QStatusBar *m_bar = nullptr;
    const ServerBackend &m_backend;
    QLabel *m_connectionLabel = nullptr;
    QLabel *m_hostLabel = nullptr;
    QToolButton *m_copyHostButton = nullptr;
};

} // namespace anonchat::client
