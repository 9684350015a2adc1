// LanguageManager: switches the app's language (translations, locale) while it runs.
#pragma once

#include <QObject>
#include <QString>
#include <QTranslator>

namespace anonchat::client {

/**
 * Switches the app's language while it runs: installs the app's translation (built from
 * translations/anonchat_<lang>.ts into the resources at :/i18n) and Qt's own for the standard
 * dialogs, and sets the default QLocale (times, lists). Every widget gets a LanguageChange
 * event and retranslates itself. Languages: "system" (Chinese for any zh locale, else
 * English), "zh_CN" and "en" (the source language: no translator).
 */
class LanguageManager : public QObject
{
    Q_OBJECT
public:
    explicit LanguageManager(QObject *parent = nullptr);
    ~LanguageManager() override;

    /// The language codes offered, in order: "system", "zh_CN", "en".
    static QStringList languages();
    /// The concrete language "system" stands for on this machine ("zh_CN" or "en").
    static QString systemLanguage();
    /// "zh_CN" or "en" for any setting value.
    static QString resolve(const QString &language);

    /// Applies `language` (a value of languages()). False if its translation could not be
    /// loaded (English is used then).
    bool setLanguage(const QString &language);
    /// The setting last applied ("system", "zh_CN" or "en").
    QString language() const { return m_language; }
    /// The concrete language in effect ("zh_CN" or "en").
    QString effectiveLanguage() const { return m_effective; }

signals:
    void languageChanged(const QString &effectiveLanguage);

private:
    void removeTranslators();

    QTranslator m_app;
    QTranslator m_qt;
    bool m_appInstalled = false;
    bool m_qtInstalled = false;
    QString m_language = QStringLiteral("system");
    QString m_effective = QStringLiteral("en");
};

} // namespace anonchat::client
