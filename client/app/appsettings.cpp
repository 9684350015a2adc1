#include "client/app/appsettings.h"

#include <QSettings>

namespace anonchat::client {

namespace {
const QString kHost = QStringLiteral("server/hostLocally");
const QString kPort = QStringLiteral("server/port");
const QString kShare = QStringLiteral("server/shareOnNetwork");
const QString kRemote = QStringLiteral("server/remoteUrl");
const QString kLanguage = QStringLiteral("ui/language");
const QString kTheme = QStringLiteral("ui/theme");
const QString kGeometry = QStringLiteral("ui/geometry");
const QString kInterests = QStringLiteral("chat/interests");
const QString kConfirm = QStringLiteral("chat/confirmLeave");
} // namespace

AppSettings::AppSettings()
    // ~/.config/anonchat/anonchat.conf; no organization name is set, so that the data folder
    // is ~/.local/share/anonchat rather than anonchat/anonchat.
    : m_settings(
          std::make_unique<QSettings>(QStringLiteral("anonchat"), QStringLiteral("anonchat")))
{}

AppSettings::AppSettings(const QString &path)
    : m_settings(std::make_unique<QSettings>(path, QSettings::IniFormat))
{}

AppSettings::~AppSettings() = default;

bool AppSettings::hostLocally() const
{
    return m_settings->value(kHost, true).toBool();
}

void AppSettings::setHostLocally(bool host)
{
    m_settings->setValue(kHost, host);
}

int AppSettings::port() const
{
    const int port = m_settings->value(kPort, 5000).toInt();
    return port >= 0 && port <= 65535 ? port : 5000;
}

void AppSettings::setPort(int port)
{
    m_settings->setValue(kPort, port);
}

bool AppSettings::shareOnNetwork() const
{
    return m_settings->value(kShare, false).toBool();
}

void AppSettings::setShareOnNetwork(bool share)
{
    m_settings->setValue(kShare, share);
}

QUrl AppSettings::remoteUrl() const
{
    return QUrl(m_settings->value(kRemote).toString());
}

void AppSettings::setRemoteUrl(const QUrl &url)
{
    m_settings->setValue(kRemote, url.toString());
}

QString AppSettings::language() const
{
    const QString language = m_settings->value(kLanguage, QStringLiteral("system")).toString();
    if (language == QLatin1String("zh_CN") || language == QLatin1String("en"))
        return language;
    return QStringLiteral("system");
}

void AppSettings::setLanguage(const QString &language)
{
    m_settings->setValue(kLanguage, language);
}

QString AppSettings::theme() const
{
    return m_settings->value(kTheme, QStringLiteral("system")).toString();
}

void AppSettings::setTheme(const QString &theme)
{
    m_settings->setValue(kTheme, theme);
}

QString AppSettings::interests() const
{
    return m_settings->value(kInterests).toString();
}

void AppSettings::setInterests(const QString &interests)
{
    m_settings->setValue(kInterests, interests);
}

bool AppSettings::confirmLeave() const
{
    return m_settings->value(kConfirm, true).toBool();
}

void AppSettings::setConfirmLeave(bool confirm)
{
    m_settings->setValue(kConfirm, confirm);
}

QByteArray AppSettings::windowGeometry() const
{
    return m_settings->value(kGeometry).toByteArray();
}

void AppSettings::setWindowGeometry(const QByteArray &geometry)
{
    m_settings->setValue(kGeometry, geometry);
}

void AppSettings::sync()
{
    m_settings->sync();
}

} // namespace anonchat::client
