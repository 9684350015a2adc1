#include "client/ui/settingsdialog.h"

#include "client/app/appsettings.h"
#include "client/app/localserverhost.h"
#include "client/core/connection.h"

#include <QApplication>
#include <QButtonGroup>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QEvent>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>

namespace anonchat::client {

SettingsDialog::Values SettingsDialog::Values::load(const AppSettings &settings)
{
    Values v;
    v.hostLocally = settings.hostLocally();
    v.port = settings.port();
    v.shareOnNetwork = settings.shareOnNetwork();
    v.remoteUrl = settings.remoteUrl();
    v.language = settings.language();
    v.theme = settings.theme();
    v.confirmLeave = settings.confirmLeave();
    return v;
}

void SettingsDialog::Values::store(AppSettings &settings) const
{
    settings.setHostLocally(hostLocally);
    settings.setPort(port);
    settings.setShareOnNetwork(shareOnNetwork);
    settings.setRemoteUrl(remoteUrl);
    settings.setLanguage(language);
    settings.setTheme(theme);
    settings.setConfirmLeave(confirmLeave);
}

bool SettingsDialog::Values::operator==(const Values &o) const
{
    return hostLocally == o.hostLocally && port == o.port && shareOnNetwork == o.shareOnNetwork &&
           remoteUrl == o.remoteUrl && language == o.language && theme == o.theme &&
           confirmLeave == o.confirmLeave;
}

bool SettingsDialog::Values::serverDiffers(const Values &o) const
{
    if (hostLocally != o.hostLocally)
        return true;
    if (hostLocally)
        return port != o.port || shareOnNetwork != o.shareOnNetwork;
    return remoteUrl != o.remoteUrl;
}

SettingsDialog::SettingsDialog(QWidget *parent)
    : QDialog(parent)
{
    setObjectName(QStringLiteral("settingsDialog"));
    setMinimumWidth(480);

    buildServerBox();
    buildAppearanceBox();
    m_confirmLeave = new QCheckBox(this);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);

    auto *layout = new QVBoxLayout(this);
    layout->setSpacing(12);
    layout->addWidget(m_serverBox);
    layout->addWidget(m_appearanceBox);
    layout->addWidget(m_confirmLeave);
    layout->addStretch();
    layout->addWidget(m_buttons);

    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_hostRadio, &QRadioButton::toggled, this, &SettingsDialog::updateEnabled);
    connect(m_share, &QCheckBox::toggled, this, &SettingsDialog::updateEnabled);
    connect(m_port, &QSpinBox::valueChanged, this, &SettingsDialog::updateShareUrl);
    connect(m_url, &QLineEdit::textChanged, this, &SettingsDialog::validate);
    connect(m_copyButton, &QPushButton::clicked, this, [this] {
        QApplication::clipboard()->setText(m_shareUrl->text());
        m_copyButton->setText(tr("Copied"));
        QTimer::singleShot(1500, this, [this] { m_copyButton->setText(tr("Copy")); });
    });

    retranslate();
    setValues(Values());
}

void SettingsDialog::buildServerBox()
{
    m_serverBox = new QGroupBox(this);
    m_hostRadio = new QRadioButton(m_serverBox);
    m_connectRadio = new QRadioButton(m_serverBox);
    auto *modes = new QButtonGroup(this);
    modes->addButton(m_hostRadio);
    modes->addButton(m_connectRadio);

    m_portLabel = new QLabel(m_serverBox);
    m_port = new QSpinBox(m_serverBox);
    m_port->setRange(0, 65535);
    m_port->setValue(5000);
    m_portLabel->setBuddy(m_port);
    m_share = new QCheckBox(m_serverBox);
    m_share->setObjectName(QStringLiteral("shareCheck"));
    m_shareHint = new QLabel(m_serverBox);
    m_shareHint->setWordWrap(true);
    m_shareHint->setForegroundRole(QPalette::PlaceholderText);
    m_shareUrl = new QLineEdit(m_serverBox);
    m_shareUrl->setReadOnly(true);
    m_shareUrl->setObjectName(QStringLiteral("shareUrl"));
    m_copyButton = new QPushButton(m_serverBox);
    m_copyButton->setObjectName(QStringLiteral("copyShareUrl"));

    m_urlLabel = new QLabel(m_serverBox);
    m_url = new QLineEdit(m_serverBox);
    m_url->setObjectName(QStringLiteral("remoteUrl"));
    m_url->setClearButtonEnabled(true);
    m_urlLabel->setBuddy(m_url);
    m_urlError = new QLabel(m_serverBox);
    m_urlError->setWordWrap(true);
    QPalette errorPalette = m_urlError->palette();
    errorPalette.setColor(QPalette::WindowText, QColor(0xc2, 0x25, 0x3f));
    m_urlError->setPalette(errorPalette);
    layoutServerBox();
}

void SettingsDialog::layoutServerBox()
{
    auto *portRow = new QHBoxLayout;
    portRow->addWidget(m_portLabel);
    portRow->addWidget(m_port);
    portRow->addStretch();
    auto *shareRow = new QHBoxLayout;
    shareRow->addWidget(m_shareUrl, 1);
    shareRow->addWidget(m_copyButton);
    auto *hostBlock = new QVBoxLayout;
    hostBlock->setContentsMargins(26, 0, 0, 6);
    hostBlock->addLayout(portRow);
    hostBlock->addWidget(m_share);
    hostBlock->addWidget(m_shareHint);
    hostBlock->addLayout(shareRow);
    auto *urlRow = new QHBoxLayout;
    urlRow->addWidget(m_urlLabel);
    urlRow->addWidget(m_url, 1);
    auto *connectBlock = new QVBoxLayout;
    connectBlock->setContentsMargins(26, 0, 0, 0);
    connectBlock->addLayout(urlRow);
    connectBlock->addWidget(m_urlError);
    auto *serverLayout = new QVBoxLayout(m_serverBox);
    serverLayout->addWidget(m_hostRadio);
    serverLayout->addLayout(hostBlock);
    serverLayout->addWidget(m_connectRadio);
    serverLayout->addLayout(connectBlock);
}

void SettingsDialog::buildAppearanceBox()
{
    m_appearanceBox = new QGroupBox(this);
    m_languageLabel = new QLabel(m_appearanceBox);
    m_language = new QComboBox(m_appearanceBox);
    m_language->setObjectName(QStringLiteral("languageCombo"));
    m_languageLabel->setBuddy(m_language);
    m_themeLabel = new QLabel(m_appearanceBox);
    m_theme = new QComboBox(m_appearanceBox);
    m_theme->setObjectName(QStringLiteral("themeCombo"));
    m_themeLabel->setBuddy(m_theme);
    for (int i = 0; i < 3; ++i) {
        m_language->addItem(QString());
        m_theme->addItem(QString());
    }
    // Each language in its own words, the same whatever the interface language is.
    m_language->setItemData(0, QStringLiteral("system"));
    m_language->setItemText(1, QStringLiteral("简体中文"));
    m_language->setItemData(1, QStringLiteral("zh_CN"));
    m_language->setItemText(2, QStringLiteral("English"));
    m_language->setItemData(2, QStringLiteral("en"));
    m_theme->setItemData(0, QStringLiteral("system"));
    m_theme->setItemData(1, QStringLiteral("light"));
    m_theme->setItemData(2, QStringLiteral("dark"));
    auto *appearance = new QFormLayout(m_appearanceBox);
    appearance->addRow(m_languageLabel, m_language);
    appearance->addRow(m_themeLabel, m_theme);
}

void SettingsDialog::retranslate()
{
    setWindowTitle(tr("Settings"));
    m_serverBox->setTitle(tr("Where to chat"));
    m_hostRadio->setText(tr("&Host a server on this computer"));
    m_connectRadio->setText(tr("&Connect to a server"));
    m_portLabel->setText(tr("&Port:"));
    m_port->setToolTip(tr("If this port is taken, the next free one is used."));
    m_share->setText(tr("&Share on my network"));
    m_shareHint->setText(tr("Listens on all addresses: people on the same network can join from "
                            "their browser at this address."));
    m_copyButton->setText(tr("Copy"));
    m_copyButton->setToolTip(tr("Copy the address to the clipboard"));
    m_urlLabel->setText(tr("Server &URL:"));
    m_url->setPlaceholderText(tr("https://chat.example.org/"));
    m_appearanceBox->setTitle(tr("Appearance"));
    m_languageLabel->setText(tr("&Language:"));
    m_language->setItemText(0, tr("System"));
    m_themeLabel->setText(tr("&Theme:"));
    m_theme->setItemText(0, tr("System"));
    m_theme->setItemText(1, tr("Light"));
    m_theme->setItemText(2, tr("Dark"));
    m_confirmLeave->setText(tr("Ask before leaving a chat that has messages"));
    updateShareUrl();
    validate();
}

void SettingsDialog::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QDialog::changeEvent(event);
}

SettingsDialog::Values SettingsDialog::values() const
{
    Values v;
    v.hostLocally = m_hostRadio->isChecked();
    v.port = m_port->value();
    v.shareOnNetwork = m_share->isChecked();
    v.remoteUrl = QUrl(m_url->text().trimmed());
    v.language = m_language->currentData().toString();
    v.theme = m_theme->currentData().toString();
    v.confirmLeave = m_confirmLeave->isChecked();
    return v;
}

void SettingsDialog::setValues(const Values &v)
{
    m_hostRadio->setChecked(v.hostLocally);
    m_connectRadio->setChecked(!v.hostLocally);
    m_port->setValue(v.port);
    m_share->setChecked(v.shareOnNetwork);
    m_url->setText(v.remoteUrl.toString());
    m_language->setCurrentIndex(qMax(0, m_language->findData(v.language)));
    m_theme->setCurrentIndex(qMax(0, m_theme->findData(v.theme)));
    m_confirmLeave->setChecked(v.confirmLeave);
    updateEnabled();
}

void SettingsDialog::setRunningPort(int configuredPort, int actualPort)
{
    m_configuredPort = configuredPort;
    m_actualPort = actualPort;
    updateShareUrl();
}

QUrl SettingsDialog::shareUrl() const
{
    return QUrl(m_shareUrl->text());
}

void SettingsDialog::updateEnabled()
{
    const bool host = m_hostRadio->isChecked();
    m_portLabel->setEnabled(host);
    m_port->setEnabled(host);
    m_share->setEnabled(host);
    const bool share = host && m_share->isChecked();
    m_shareHint->setVisible(share);
    m_shareUrl->setVisible(share);
    m_copyButton->setVisible(share);
    m_urlLabel->setEnabled(!host);
    m_url->setEnabled(!host);
    updateShareUrl();
    validate();
}

void SettingsDialog::updateShareUrl()
{
    const QHostAddress lan = LocalServerHost::firstLanAddress();
    int port = m_port->value();
    if (port == m_configuredPort && m_actualPort > 0)
        port = m_actualPort;
    if (lan.isNull() || port == 0) {
        m_shareUrl->clear();
        m_shareUrl->setPlaceholderText(lan.isNull() ? tr("No network connection found")
                                                    : tr("The address is shown once it runs"));
        m_copyButton->setEnabled(false);
        return;
    }
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(lan.toString());
    url.setPort(port);
    url.setPath(QStringLiteral("/"));
    m_shareUrl->setText(url.toString());
    m_copyButton->setEnabled(true);
}

void SettingsDialog::validate()
{
    const bool host = m_hostRadio->isChecked();
    const bool usable = Connection::webSocketUrl(QUrl(m_url->text().trimmed())).isValid();
    const bool bad = !host && !usable;
    m_urlError->setVisible(bad && !m_url->text().trimmed().isEmpty());
    m_urlError->setText(tr("Use http://, https://, ws://…/ws or wss://…/ws."));
    if (QPushButton *ok = m_buttons ? m_buttons->button(QDialogButtonBox::Ok) : nullptr)
        ok->setEnabled(!bad);
}

} // namespace anonchat::client
