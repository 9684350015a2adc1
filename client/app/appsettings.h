// AppSettings: the desktop app's saved settings (QSettings).
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <QUrl>
#include <memory>

class QSettings;

namespace anonchat::client {

/**
 * The desktop app's saved settings (QSettings): where to chat (host a server here, or connect
 * to a URL), the language, the theme, the last interests, the window geometry. Defaults: host
 * on port 5000 for this computer only, the system's language and theme.
 */
class AppSettings
{
public:
    /// The user's settings (~/.config/anonchat/anonchat.conf on Linux).
    AppSettings();
    /// Settings kept in the INI file `path` (tests).
    explicit AppSettings(const QString &path);
    ~AppSettings();
    AppSettings(const AppSettings &) = delete;
    AppSettings &operator=(const AppSettings &) = delete;

    bool hostLocally() const;
    void setHostLocally(bool host);
    int port() const;
    void setPort(int port);
    /// Listen on every address so others on the network can join.
    bool shareOnNetwork() const;
    void setShareOnNetwork(bool share);
    QUrl remoteUrl() const;
    void setRemoteUrl(const QUrl &url);

    /// "system", "zh_CN" or "en".
    QString language() const;
    void setLanguage(const QString &language);
    /// "system", "light" or "dark".
    QString theme() const;
    void setTheme(const QString &theme);

    QString interests() const;
    void setInterests(const QString &interests);
    bool confirmLeave() const;
    void setConfirmLeave(bool confirm);
    QByteArray windowGeometry() const;
    void setWindowGeometry(const QByteArray &geometry);

    void sync();

private:
    std::unique_ptr<QSettings> m_settings;
};

} // namespace anonchat::client
