// SettingsDialog: where to chat (host or connect), language, theme, leave confirmation.
#pragma once

#include <QDialog>
#include <QUrl>

class QButtonGroup;
class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QRadioButton;
class QSpinBox;

namespace anonchat::client {

class AppSettings;

/**
 * The settings: host a server on this computer (its port; "share on my network", which
 * listens on every address and shows the URL others open, with a copy button) or connect to a
 * server's URL; the language (system, 简体中文, English) and theme (system, light, dark); the
 * confirmation before leaving a chat. It only edits values; the main window applies them.
 */
class SettingsDialog : public QDialog
{
    Q_OBJECT
public:
    /// Everything the dialog edits.
    struct Values {
        bool hostLocally = true;
        int port = 5000;
        bool shareOnNetwork = false;
        QUrl remoteUrl;
        QString language = QStringLiteral("system");
        QString theme = QStringLiteral("system");
        bool confirmLeave = true;

        static Values load(const AppSettings &settings);
        void store(AppSettings &settings) const;
        bool operator==(const Values &other) const;
        bool operator!=(const Values &other) const { return !(*this == other); }
        /// Whether going from `other` to this changes the server the chat uses.
        bool serverDiffers(const Values &other) const;
    };

    explicit SettingsDialog(QWidget *parent = nullptr);

    Values values() const;
    void setValues(const Values &values);
    /// The port the local server really uses now for `configuredPort` (the next free one when
    /// it was taken), so the shared URL shown is the one that works.
    void setRunningPort(int configuredPort, int actualPort);
    /// The URL shown for others on the network (empty when sharing is off or there is no
    /// network).
    QUrl shareUrl() const;

    QPushButton *copyButton() const { return m_copyButton; }
    QDialogButtonBox *buttons() const { return m_buttons; }

protected:
    void changeEvent(QEvent *event) override;

private:
    void buildServerBox();
    void layoutServerBox();
    void buildAppearanceBox();
    void retranslate();
    void updateEnabled();
    void updateShareUrl();
    void validate();

    QGroupBox *m_serverBox = nullptr;
    QRadioButton *m_hostRadio = nullptr;
    QRadioButton *m_connectRadio = nullptr;
    QLabel *m_portLabel = nullptr;
    QSpinBox *m_port = nullptr;
    QCheckBox *m_share = nullptr;
    QLabel *m_shareHint = nullptr;
    QLineEdit *m_shareUrl = nullptr;
    QPushButton *m_copyButton = nullptr;
    QLabel *m_urlLabel = nullptr;
    QLineEdit *m_url = nullptr;
    QLabel *m_urlError = nullptr;
    QGroupBox *m_appearanceBox = nullptr;
    QLabel *m_languageLabel = nullptr;
    QComboBox *m_language = nullptr;
    QLabel *m_themeLabel = nullptr;
    QComboBox *m_theme = nullptr;
    QCheckBox *m_confirmLeave = nullptr;
    QDialogButtonBox *m_buttons = nullptr;
    int m_configuredPort = -1;
    int m_actualPort = -1;
};

} // namespace anonchat::client
