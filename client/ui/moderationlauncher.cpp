#include "client/ui/moderationlauncher.h"

#include "client/app/serverbackend.h"
#include "client/core/moderationclient.h"
#include "client/ui/moderationwindow.h"

#include <QInputDialog>
#include <QLineEdit>
#include <QMessageBox>

namespace anonchat::client {

ModerationLauncher::ModerationLauncher(ServerBackend &backend, QWidget *parent)
    : QObject(parent)
    , m_backend(backend)
    , m_parent(parent)
    , m_client(new ModerationClient(this))
{
    connect(m_client, &ModerationClient::failed, this, [this](ModerationClient::Failure failure) {
        if (failure == ModerationClient::Failure::TokenRefused && !m_backend.isHosting())
            m_remoteToken.clear(); // asked again next time
    });
}

ModerationLauncher::~ModerationLauncher()
{
    delete m_window.data();
}

void ModerationLauncher::open()
{
    const QUrl server = m_backend.serverUrl();
    if (!server.isValid()) {
        QMessageBox::information(m_parent, tr("Moderation"), tr("Not connected to a server yet."));
        return;
    }
    const QByteArray key = token();
    if (key.isEmpty())
        return;
    const QUrl api = ModerationClient::apiUrl(server);
    if (m_window && m_client->apiUrl() == api) {
        m_client->setServer(server, key);
        m_window->refresh();
    } else {
        delete m_window.data();
        m_client->setServer(server, key);
        m_window = new ModerationWindow(m_client, m_parent);
    }
    m_window->show();
    m_window->raise();
    m_window->activateWindow();
}

QByteArray ModerationLauncher::token()
{
    if (m_backend.isHosting() && m_backend.host())
        return m_backend.host()->config().adminToken;
    const QUrl server = m_backend.serverUrl();
    if (m_remoteUrl != server) {
        m_remoteUrl = server;
        m_remoteToken.clear();
    }
    if (m_remoteToken.isEmpty()) {
        bool ok = false;
        const QString typed = QInputDialog::getText(
            m_parent, tr("Moderation token"),
            tr("The moderation token of %1\n(the contents of its --admin-token-file):")
                .arg(server.toDisplayString()),
            QLineEdit::Password, QString(), &ok);
        if (ok)
            m_remoteToken = typed.trimmed().toUtf8();
    }
    return m_remoteToken;
}

} // namespace anonchat::client
