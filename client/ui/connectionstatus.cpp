#include "client/ui/connectionstatus.h"

#include "client/app/serverbackend.h"
#include "client/ui/theme.h"

#include <QApplication>
#include <QClipboard>
#include <QLabel>
#include <QStatusBar>
#include <QToolButton>

namespace anonchat::client {

ConnectionStatus::ConnectionStatus(QStatusBar *bar, const ServerBackend &backend)
    : QObject(bar)
    , m_bar(bar)
    , m_backend(backend)
{
    m_connectionLabel = new QLabel(bar);
    m_connectionLabel->setObjectName(QStringLiteral("connectionLabel"));
    m_connectionLabel->setTextFormat(Qt::RichText);
    m_connectionLabel->setContentsMargins(10, 0, 0, 0);
    m_hostLabel = new QLabel(bar);
    m_hostLabel->setObjectName(QStringLiteral("hostLabel"));
    m_hostLabel->setTextFormat(Qt::PlainText);
    m_hostLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_copyHostButton = new QToolButton(bar);
    m_copyHostButton->setAutoRaise(true);
    m_copyHostButton->setObjectName(QStringLiteral("copyHostButton"));
    m_copyHostButton->setCursor(Qt::PointingHandCursor);
    connect(m_copyHostButton, &QToolButton::clicked, this, &ConnectionStatus::copyHostUrl);
    bar->setSizeGripEnabled(false);
    bar->addWidget(m_connectionLabel, 1);
    bar->addPermanentWidget(m_hostLabel);
    bar->addPermanentWidget(m_copyHostButton);
}

void ConnectionStatus::retranslate()
{
    m_copyHostButton->setText(tr("Copy"));
    m_copyHostButton->setToolTip(tr("Copy the address others can open"));
}

void ConnectionStatus::copyHostUrl()
{
    const QUrl url = m_backend.lanUrl().isValid() ? m_backend.lanUrl() : m_backend.serverUrl();
    QApplication::clipboard()->setText(url.toString());
    m_bar->showMessage(tr("Copied %1").arg(url.toString()), 3000);
}

void ConnectionStatus::showConnection(Connection::State state, const QString &backendError)
{
    const Theme theme = Theme::current();
    QColor dot = theme.muted;
    QString text;
    const QUrl url = m_backend.serverUrl();
    const bool local = m_backend.isHosting();
    const QString where = url.isValid() ? url.authority() : QString();
    switch (state) {
    case Connection::State::Disconnected:
        dot = backendError.isEmpty() ? theme.muted : theme.danger;
        text = backendError.isEmpty() ? tr("Not connected") : backendError;
        break;
    case Connection::State::Connecting:
        dot = theme.amber;
        text = tr("Connecting to %1…").arg(where);
        break;
    case Connection::State::Connected:
        dot = theme.ok;
        text = local ? tr("Connected to the server on this computer")
                     : tr("Connected to %1").arg(where);
        break;
    case Connection::State::Reconnecting:
        dot = theme.amber;
        text = tr("Connection lost. Reconnecting to %1…").arg(where);
        break;
    }
    m_connectionLabel->setText(QStringLiteral("<span style=\"color:%1\">●</span>&nbsp; %2")
                                   .arg(dot.name(), text.toHtmlEscaped()));
    m_connectionLabel->setToolTip(text);
}

void ConnectionStatus::showHost()
{
    if (!m_backend.isHosting()) {
        m_hostLabel->clear();
        m_hostLabel->setVisible(false);
        m_copyHostButton->setVisible(false);
        return;
    }
    const QUrl lan = m_backend.lanUrl();
    if (lan.isValid())
        m_hostLabel->setText(tr("Shared on your network: %1").arg(lan.toString()));
    else
        m_hostLabel->setText(tr("Hosting at %1").arg(m_backend.serverUrl().toString()));
    m_hostLabel->setVisible(true);
    m_copyHostButton->setVisible(true);
}

} // namespace anonchat::client
