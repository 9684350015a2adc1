#include "client/app/serverbackend.h"

#include "client/app/localserverhost.h"
#include "client/core/connection.h"

namespace anonchat::client {

ServerBackend::ServerBackend(QObject *parent)
    : QObject(parent)
{}

ServerBackend::~ServerBackend()
{
    // A server still running here is destroyed with us (its destructor closes what is open);
    // the app calls shutdown() first to commit everything.
    delete m_host.data();
}

bool ServerBackend::isHosting() const
{
    return m_host && m_host->isRunning();
}

QUrl ServerBackend::lanUrl() const
{
    return isHosting() ? m_host->lanUrl() : QUrl();
}

void ServerBackend::apply(const Target &target)
{
    m_pending = target;
    m_shuttingDown = false;
    if (m_busy)
        return; // taken up when the running stop finishes
    if (m_host) {
        stopHost();
        return;
    }
    startTarget();
}

void ServerBackend::shutdown()
{
    m_pending.reset();
    m_shuttingDown = true;
    if (m_busy)
        return;
    if (m_host) {
        stopHost();
        return;
    }
    emit stopped();
}

void ServerBackend::stopHost()
{
    m_busy = true;
    m_serverUrl = QUrl();
    LocalServerHost *host = m_host;
    connect(host, &LocalServerHost::stopped, this, [this, host] {
        host->deleteLater();
        m_host = nullptr;
        m_busy = false;
        if (m_shuttingDown && !m_pending) {
            emit stopped();
            return;
        }
        if (m_pending)
            startTarget();
    });
    if (host->isRunning())
        host->shutdown();
    else
        emit host->stopped();
}

void ServerBackend::startTarget()
{
    if (!m_pending)
        return;
    m_target = *m_pending;
    m_pending.reset();
    if (!m_target.host) {
        if (!Connection::webSocketUrl(m_target.remoteUrl).isValid()) {
            m_serverUrl = QUrl();
            emit failed(tr("'%1' is not a server address (use http://, https://, ws://…/ws or "
                           "wss://…/ws)")
                            .arg(m_target.remoteUrl.toString()));
            return;
        }
        m_serverUrl = m_target.remoteUrl;
        emit ready(m_serverUrl);
        return;
    }
    m_host = new LocalServerHost(this);
    QString error;
    if (!m_host->start(m_target.config, &error)) {
        delete m_host.data();
        m_serverUrl = QUrl();
        emit failed(tr("Could not start the local server: %1").arg(error));
        return;
    }
    m_serverUrl = m_host->url();
    emit ready(m_serverUrl);
    emit hostingStarted(m_serverUrl);
}

} // namespace anonchat::client
