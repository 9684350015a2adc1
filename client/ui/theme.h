// Theme: the app's light and dark colours, palette and style sheet.
#pragma once

#include <QColor>
#include <QIcon>
#include <QPalette>
#include <QString>

class QWidget;

namespace anonchat::client {

/**
 * The app's colours, the same as the web page's (resources/web/static/style.css), in a light
 * and a dark set. Which set is used follows the system palette (Mode::System: a dark window
 * colour means dark) unless the user chose one in the settings; then the application palette is
 * replaced by the matching one. Widgets read the colours with Theme::current().
 */
struct Theme {
    enum class Mode { System, Light, Dark };

    bool isDark = false;
    QColor background; ///< behind the conversation
    QColor surface;    ///< header, composer
    QColor field;      ///< inputs
    QColor text;
    QColor muted;
    QColor border;
    QColor accent;
    QColor accent2; ///< the end of the accent gradient
    QColor accentText;
    QColor accentSoft; ///< system notices, pills
    QColor accentSoftText;
    QColor theirs;
    QColor theirsText;
    QColor danger;
    QColor dangerSoft;
    QColor ok;
    QColor amber;

    static Theme light();
    static Theme dark();
    /// The set that fits `palette` (dark when its window colour is dark).
    static Theme forPalette(const QPalette &palette);
    /// The set for the application's current palette.
    static Theme current();

    /// A complete widget palette built from this set.
    QPalette palette() const;
    /// The style sheet of the main window's own widgets (by object name).
    QString styleSheet() const;

    /// Applies `mode` to the application: System restores `systemPalette`, Light and Dark set
    /// the app's own palette.
    static void apply(Mode mode, const QPalette &systemPalette);
    static QString modeKey(Mode mode);
    /// The app icon (resources/icons: the SVG drawn for it, rendered to PNGs at the usual
    /// sizes so that no SVG plugin is needed).
    static QIcon appIcon();
    static Mode modeFromKey(const QString &key);
};

} // namespace anonchat::client
