#include "client/ui/theme.h"

#include <QApplication>

namespace anonchat::client {

Theme Theme::light()
{
    Theme t;
    t.isDark = false;
    t.background = QColor(0xf3, 0xf4, 0xfa);
    t.surface = QColor(0xff, 0xff, 0xff);
    t.field = QColor(0xf4, 0xf5, 0xfa);
    t.text = QColor(0x14, 0x17, 0x26);
    t.muted = QColor(0x5a, 0x5f, 0x73);
    t.border = QColor(0xe2, 0xe5, 0xef);
    t.accent = QColor(0x4f, 0x46, 0xe5);
    t.accent2 = QColor(0x7c, 0x3a, 0xed);
    t.accentText = Qt::white;
    t.accentSoft = QColor(0xee, 0xf0, 0xff);
    t.accentSoftText = QColor(0x3b, 0x36, 0xb8);
    t.theirs = QColor(0xff, 0xff, 0xff);
    t.theirsText = QColor(0x14, 0x17, 0x26);
    t.danger = QColor(0xc2, 0x25, 0x3f);
    t.dangerSoft = QColor(0xfd, 0xec, 0xef);
    t.ok = QColor(0x14, 0x91, 0x5a);
    t.amber = QColor(0xb4, 0x6a, 0x00);
    return t;
}

Theme Theme::dark()
{
    Theme t;
    t.isDark = true;
    t.background = QColor(0x0c, 0x0e, 0x16);
    t.surface = QColor(0x15, 0x18, 0x23);
    t.field = QColor(0x1d, 0x21, 0x30);
    t.text = QColor(0xe9, 0xeb, 0xf4);
    t.muted = QColor(0xa0, 0xa6, 0xbb);
    t.border = QColor(0x27, 0x2b, 0x3a);
    t.accent = QColor(0x63, 0x66, 0xf1);
    t.accent2 = QColor(0x8b, 0x5c, 0xf6);
    t.accentText = Qt::white;
    t.accentSoft = QColor(0x23, 0x25, 0x4a);
    t.accentSoftText = QColor(0xc7, 0xc9, 0xff);
    t.theirs = QColor(0x23, 0x28, 0x38);
    t.theirsText = QColor(0xe9, 0xeb, 0xf4);
    t.danger = QColor(0xff, 0x6b, 0x81);
    t.dangerSoft = QColor(0x3a, 0x1a, 0x22);
    t.ok = QColor(0x34, 0xd3, 0x99);
    t.amber = QColor(0xfb, 0xbf, 0x24);
    return t;
}

Theme Theme::forPalette(const QPalette &palette)
{
    return palette.color(QPalette::Window).lightness() < 128 ? dark() : light();
}

Theme Theme::current()
{
    return forPalette(QApplication::palette());
}

QPalette Theme::palette() const
{
    QPalette p;
    const QColor window = isDark ? surface : QColor(0xf6, 0xf7, 0xfb);
    const QColor disabledText = isDark ? QColor(0x6b, 0x70, 0x85) : QColor(0xa0, 0xa4, 0xb4);
    for (const QPalette::ColorGroup group : {QPalette::Active, QPalette::Inactive}) {
        p.setColor(group, QPalette::Window, window);
        p.setColor(group, QPalette::WindowText, text);
        p.setColor(group, QPalette::Base, isDark ? field : surface);
        p.setColor(group, QPalette::AlternateBase, isDark ? theirs : field);
        p.setColor(group, QPalette::ToolTipBase, isDark ? theirs : text);
        p.setColor(group, QPalette::ToolTipText, isDark ? text : surface);
        p.setColor(group, QPalette::PlaceholderText, muted);
        p.setColor(group, QPalette::Text, text);
        p.setColor(group, QPalette::Button, isDark ? theirs : surface);
        p.setColor(group, QPalette::ButtonText, text);
        p.setColor(group, QPalette::BrightText, Qt::white);
        p.setColor(group, QPalette::Highlight, accent);
        p.setColor(group, QPalette::HighlightedText, accentText);
        p.setColor(group, QPalette::Link, isDark ? accentSoftText : accent);
        p.setColor(group, QPalette::LinkVisited, accent2);
        p.setColor(group, QPalette::Light, isDark ? QColor(0x3a, 0x3f, 0x52) : Qt::white);
        p.setColor(group, QPalette::Midlight, isDark ? QColor(0x2c, 0x31, 0x42) : border);
        p.setColor(group, QPalette::Mid,
                   isDark ? QColor(0x20, 0x24, 0x33) : QColor(0xc8, 0xcc, 0xd9));
        p.setColor(group, QPalette::Dark,
                   isDark ? QColor(0x08, 0x09, 0x0f) : QColor(0x9a, 0x9f, 0xb2));
        p.setColor(group, QPalette::Shadow, Qt::black);
    }
    p.setColor(QPalette::Disabled, QPalette::Window, window);
    p.setColor(QPalette::Disabled, QPalette::Base, isDark ? field : surface);
    p.setColor(QPalette::Disabled, QPalette::Button, isDark ? theirs : surface);
    p.setColor(QPalette::Disabled, QPalette::WindowText, disabledText);
    p.setColor(QPalette::Disabled, QPalette::Text, disabledText);
    p.setColor(QPalette::Disabled, QPalette::ButtonText, disabledText);
    p.setColor(QPalette::Disabled, QPalette::Highlight, muted);
    p.setColor(QPalette::Disabled, QPalette::HighlightedText, surface);
    p.setColor(QPalette::Disabled, QPalette::PlaceholderText, disabledText);
    return p;
}

QString Theme::styleSheet() const
{
    const auto c = [](const QColor &color) { return color.name(QColor::HexArgb); };
    const QColor accentHover = isDark ? accent.lighter(112) : accent.darker(110);
    const QColor disabledButton = isDark ? QColor(0x2a, 0x2e, 0x3e) : QColor(0xe4, 0xe6, 0xf0);
    const QColor disabledButtonText = isDark ? QColor(0x6b, 0x70, 0x85) : QColor(0x9a, 0x9f, 0xb2);
    const QColor hover = isDark ? QColor(0x2a, 0x2f, 0x42) : QColor(0xee, 0xf0, 0xf7);
    QString css = QStringLiteral(R"(
#header { background: %surface; border-bottom: 1px solid %border; }
#brand { font-weight: 700; color: %text; }
#stateLabel { color: %muted; }
#onlinePill { background: %accentSoft; color: %accentSoftText; border-radius: 11px;
              padding: 3px 10px; font-weight: 600; }
#controls { background: %surface; border-bottom: 1px solid %border; }
#interestsEdit { background: %field; color: %text; border: 1px solid %border; border-radius: 10px;
                 padding: 6px 10px; selection-background-color: %accent; }
#interestsEdit:focus { border: 1px solid %accent; }
#conversation { background: %background; border: none; }
#typingLabel { color: %muted; background: %background; padding: 2px 18px 4px 18px; }
#composer { background: %surface; border-top: 1px solid %border; }
#messageInput { background: %field; color: %text; border: 1px solid %border; border-radius: 14px;
                padding: 6px 8px; selection-background-color: %accent; }
#messageInput:focus { border: 1px solid %accent; }
#counterLabel { color: %muted; }
#counterLabel[level="warn"] { color: %amber; }
#counterLabel[level="over"] { color: %danger; font-weight: 700; }
#moderationError { color: %danger; }
QPushButton#primaryButton, QPushButton#sendButton {
    background: qlineargradient(x1:0, y1:0, x2:1, y2:1, stop:0 %accent, stop:1 %accent2);
    color: %accentText; border: none; border-radius: 10px; padding: 7px 16px; font-weight: 600; }
QPushButton#primaryButton:hover, QPushButton#sendButton:hover { background: %accentHover; }
QPushButton#primaryButton:disabled, QPushButton#sendButton:disabled {
    background: %disabledButton; color: %disabledButtonText; }
QPushButton#secondaryButton { background: %surface; color: %text; border: 1px solid %border;
    border-radius: 10px; padding: 7px 16px; font-weight: 600; }
QPushButton#secondaryButton:hover { background: %hover; }
QPushButton#secondaryButton:disabled { color: %disabledButtonText; }
QPushButton#dangerButton { background: %surface; color: %danger; border: 1px solid %border;
    border-radius: 10px; padding: 7px 16px; font-weight: 600; }
QPushButton#dangerButton:hover { background: %dangerSoft; }
QPushButton#dangerButton:disabled { color: %disabledButtonText; }
QStatusBar { background: %surface; color: %muted; border-top: 1px solid %border; }
QStatusBar QLabel { color: %muted; }
QStatusBar::item { border: none; }
QToolButton#copyHostButton { color: %accent; border: none; padding: 2px 10px; font-weight: 600; }
QToolButton#copyHostButton:hover { background: %hover; border-radius: 6px; }
QToolButton#settingsButton { color: %muted; border: none; border-radius: 8px; padding: 2px 6px; }
QToolButton#settingsButton:hover { background: %hover; color: %text; }
#hostLabel { padding-right: 2px; }
)");
    const std::pair<const char *, QColor> vars[] = {
        {"%surface", surface},
        {"%border", border},
        {"%text", text},
        {"%muted", muted},
        {"%accentSoftText", accentSoftText},
        {"%accentSoft", accentSoft},
        {"%accentText", accentText},
        {"%accentHover", accentHover},
        {"%accent2", accent2},
        {"%accent", accent},
        {"%field", field},
        {"%background", background},
        {"%amber", amber},
        {"%dangerSoft", dangerSoft},
        {"%danger", danger},
        {"%disabledButtonText", disabledButtonText},
        {"%disabledButton", disabledButton},
        {"%hover", hover},
    };
    // Longest names first (the list is ordered so) so %accent does not eat %accentSoft.
    for (const auto &[name, color] : vars)
        css.replace(QLatin1String(name), c(color));
    return css;
}

void Theme::apply(Mode mode, const QPalette &systemPalette)
{
    switch (mode) {
    case Mode::System: QApplication::setPalette(systemPalette); break;
    case Mode::Light: QApplication::setPalette(light().palette()); break;
    case Mode::Dark: QApplication::setPalette(dark().palette()); break;
    }
}

QIcon Theme::appIcon()
{
    QIcon icon;
    for (const int size : {16, 24, 32, 48, 64, 128, 256})
        icon.addFile(QStringLiteral(":/icons/anonchat-%1.png").arg(size), QSize(size, size));
    return icon;
}

QString Theme::modeKey(Mode mode)
{
    switch (mode) {
    case Mode::Light: return QStringLiteral("light");
    case Mode::Dark: return QStringLiteral("dark");
    case Mode::System: break;
    }
    return QStringLiteral("system");
}

Theme::Mode Theme::modeFromKey(const QString &key)
{
    if (key == QLatin1String("light"))
        return Mode::Light;
    if (key == QLatin1String("dark"))
        return Mode::Dark;
    return Mode::System;
}

} // namespace anonchat::client
