#include "client/ui/languagemanager.h"

#include <QCoreApplication>
#include <QLibraryInfo>
#include <QLocale>

namespace anonchat::client {

LanguageManager::LanguageManager(QObject *parent)
    : QObject(parent)
{}

LanguageManager::~LanguageManager()
{
    removeTranslators();
}

QStringList LanguageManager::languages()
{
    return {QStringLiteral("system"), QStringLiteral("zh_CN"), QStringLiteral("en")};
}

QString LanguageManager::systemLanguage()
{
    const QStringList ui = QLocale::system().uiLanguages();
    for (const QString &name : ui) {
        if (name.startsWith(QLatin1String("zh"), Qt::CaseInsensitive))
            return QStringLiteral("zh_CN");
        if (name.startsWith(QLatin1String("en"), Qt::CaseInsensitive))
            return QStringLiteral("en");
    }
    return QLocale::system().language() == QLocale::Chinese ? QStringLiteral("zh_CN")
                                                            : QStringLiteral("en");
}

QString LanguageManager::resolve(const QString &language)
{
    if (language == QLatin1String("zh_CN") || language == QLatin1String("en"))
        return language;
    return systemLanguage();
}

void LanguageManager::removeTranslators()
{
    if (m_appInstalled)
        QCoreApplication::removeTranslator(&m_app);
    if (m_qtInstalled)
        QCoreApplication::removeTranslator(&m_qt);
    m_appInstalled = m_qtInstalled = false;
}

bool LanguageManager::setLanguage(const QString &language)
{
    m_language = languages().contains(language) ? language : QStringLiteral("system");
    const QString effective = resolve(m_language);
    removeTranslators();
    bool ok = true;
    if (effective == QLatin1String("zh_CN")) {
        ok = m_app.load(QStringLiteral(":/i18n/anonchat_zh_CN.qm"));
        if (ok) {
            m_appInstalled = QCoreApplication::installTranslator(&m_app);
            // Qt's own strings (standard buttons, file dialogs); optional.
            if (m_qt.load(QStringLiteral("qtbase_zh_CN"),
                          QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
                m_qtInstalled = QCoreApplication::installTranslator(&m_qt);
        }
    }
    m_effective = ok ? effective : QStringLiteral("en");
    // Keep the system's formats where they already are in that language.
    const QLocale system = QLocale::system();
    if (m_effective == QLatin1String("zh_CN"))
        QLocale::setDefault(system.language() == QLocale::Chinese
                                ? system
                                : QLocale(QLocale::Chinese, QLocale::China));
    else
        QLocale::setDefault(system.language() == QLocale::English
                                ? system
                                : QLocale(QLocale::English, QLocale::UnitedStates));
    if (!m_appInstalled && !m_qtInstalled) {
        // No translator changed hands: tell the widgets anyway (English after Chinese).
        QEvent event(QEvent::LanguageChange);
        QCoreApplication::sendEvent(QCoreApplication::instance(), &event);
    }
    emit languageChanged(m_effective);
    return ok;
}

} // namespace anonchat::client
