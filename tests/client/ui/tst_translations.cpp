// The Chinese translation is complete: every user-facing string of the app, its in-process
// server and the client core (everything lupdate finds in client/, server/ and shared/) has a
// finished, non-empty translation in translations/anonchat_zh_CN.ts with the same placeholders,
// and the built translation loads and is used.

#include "client/ui/languagemanager.h"

#include <QCoreApplication>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>
#include <QXmlStreamReader>
#include <algorithm>

namespace {

const QString kSourceDir = QStringLiteral(ANONCHAT_SOURCE_DIR);
const QString kTsFile = kSourceDir + QStringLiteral("/translations/anonchat_zh_CN.ts");

/// One <message> of a .ts file.
struct Message {
    QString context;
    QString source;
    QString comment;
    QString type;             ///< "" (finished), "unfinished", "vanished", "obsolete"
    QStringList translations; ///< one, or the numerus forms
    bool numerus = false;
    QString id() const
    {
        return context + QStringLiteral(" | ") + source +
               (comment.isEmpty() ? QString() : QStringLiteral(" (") + comment + ')');
    }
};

QList<Message> readTs(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = file.errorString();
        return {};
    }
    QList<Message> messages;
    QXmlStreamReader xml(&file);
    QString context;
    Message current;
    bool inMessage = false;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement()) {
            const auto name = xml.name();
            if (name == QLatin1String("context")) {
                context.clear();
            } else if (name == QLatin1String("name") && !inMessage) {
                context = xml.readElementText();
            } else if (name == QLatin1String("message")) {
                inMessage = true;
                current = Message();
                current.context = context;
                current.numerus = xml.attributes().value("numerus") == QLatin1String("yes");
            } else if (inMessage && name == QLatin1String("source")) {
                current.source = xml.readElementText();
            } else if (inMessage && name == QLatin1String("comment")) {
                current.comment = xml.readElementText();
            } else if (inMessage && name == QLatin1String("translation")) {
                current.type = xml.attributes().value("type").toString();
                if (!current.numerus)
                    current.translations.append(xml.readElementText());
            } else if (inMessage && name == QLatin1String("numerusform")) {
                current.translations.append(xml.readElementText());
            }
        } else if (xml.isEndElement() && xml.name() == QLatin1String("message")) {
            inMessage = false;
            messages.append(current);
        }
    }
    if (xml.hasError())
        *error = xml.errorString();
    return messages;
}

/// The placeholders of a string: %1…%99 and %n, sorted, duplicates removed.
QStringList placeholders(const QString &text)
{
    static const QRegularExpression pattern(QStringLiteral("%(\\d{1,2}|n)"));
    QSet<QString> found;
    for (auto it = pattern.globalMatch(text); it.hasNext();)
        found.insert(it.next().captured());
    QStringList list(found.begin(), found.end());
    list.sort();
    return list;
}

/// Problems of a finished translation, or empty.
QStringList problems(const QList<Message> &messages)
{
    QStringList out;
    for (const Message &m : messages) {
        if (m.type == QLatin1String("vanished") || m.type == QLatin1String("obsolete")) {
            out << QStringLiteral("obsolete entry: ") + m.id();
            continue;
        }
        if (m.type == QLatin1String("unfinished")) {
            out << QStringLiteral("unfinished: ") + m.id();
            continue;
        }
        if (m.translations.isEmpty()) {
            out << QStringLiteral("no translation: ") + m.id();
            continue;
        }
        for (const QString &t : m.translations) {
            if (t.trimmed().isEmpty()) {
                out << QStringLiteral("empty translation: ") + m.id();
                break;
            }
            QStringList expected = placeholders(m.source);
            QStringList got = placeholders(t);
            if (m.numerus) { // a language with one form may leave the number out of the text
                expected.removeAll(QStringLiteral("%n"));
                got.removeAll(QStringLiteral("%n"));
            }
            if (expected != got) {
                out << QStringLiteral("placeholders %1 vs %2: ")
                               .arg(expected.join(','), got.join(',')) +
                           m.id();
                break;
            }
        }
    }
    return out;
}

} // namespace

class TestTranslations : public QObject
{
    Q_OBJECT

private slots:
    void committedFileIsComplete()
    {
        QString error;
        const QList<Message> messages = readTs(kTsFile, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY(messages.size() > 100);
        const QStringList found = problems(messages);
        QVERIFY2(found.isEmpty(), qPrintable(QStringLiteral("\n") + found.join('\n')));
    }

    void everySourceStringIsTranslated()
    {
        // lupdate over the current sources, merged into a copy of the committed file: a string
        // added or changed since the .ts was last updated comes out unfinished.
        const QString lupdate = QStringLiteral(ANONCHAT_LUPDATE);
        if (!QFile::exists(lupdate))
            QSKIP("lupdate not found");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString copy = dir.filePath(QStringLiteral("anonchat_zh_CN.ts"));
        QVERIFY(QFile::copy(kTsFile, copy));
        QFile::setPermissions(copy, QFile::ReadOwner | QFile::WriteOwner);
        QProcess process;
        process.setWorkingDirectory(kSourceDir);
        process.setProcessChannelMode(QProcess::MergedChannels);
        // The same sources as qt_add_translations in client/CMakeLists.txt.
        process.start(lupdate, {QStringLiteral("-no-obsolete"), QStringLiteral("-locations"),
                                QStringLiteral("none"), QStringLiteral("-I"), kSourceDir,
                                QStringLiteral("client/core"), QStringLiteral("client/app"),
                                QStringLiteral("client/ui"), QStringLiteral("client/main.cpp"),
                                QStringLiteral("server"), QStringLiteral("shared"),
                                QStringLiteral("-ts"), copy});
        QVERIFY(process.waitForFinished(120000));
        const QString output = QString::fromLocal8Bit(process.readAll());
        QVERIFY2(process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0,
                 qPrintable(output));
        QString error;
        const QList<Message> messages = readTs(copy, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QStringList missing;
        for (const Message &m : messages) {
            const bool finished = m.type.isEmpty() && !m.translations.isEmpty() &&
                                  std::all_of(m.translations.begin(), m.translations.end(),
                                              [](const QString &t) { return !t.isEmpty(); });
            if (!finished)
                missing << m.id();
        }
        QVERIFY2(missing.isEmpty(),
                 qPrintable(QStringLiteral("%1 source string(s) without a finished Chinese "
                                           "translation (run the anonchat_ui_lupdate target, "
                                           "then translate them in %2):\n")
                                .arg(missing.size())
                                .arg(kTsFile) +
                            missing.join('\n')));
        // Nothing is stale either: the committed file has exactly the current strings.
        QString committedError;
        QCOMPARE(readTs(kTsFile, &committedError).size(), messages.size());
    }

    void builtTranslationIsUsed()
    {
        anonchat::client::LanguageManager languages;
        QVERIFY(languages.setLanguage(QStringLiteral("zh_CN")));
        QCOMPARE(QCoreApplication::translate("anonchat::client::ChatControls", "Start"),
                 QStringLiteral("开始"));
        QCOMPARE(
            QCoreApplication::translate("anonchat::client::HeaderBar", "%n online", nullptr, 3),
            QStringLiteral("3 人在线"));
        QCOMPARE(QLocale().language(), QLocale::Chinese);
        QVERIFY(languages.setLanguage(QStringLiteral("en")));
        QCOMPARE(QCoreApplication::translate("anonchat::client::ChatControls", "Start"),
                 QStringLiteral("Start"));
        QCOMPARE(QLocale().language(), QLocale::English);
        QCOMPARE(anonchat::client::LanguageManager::resolve(QStringLiteral("zh_CN")),
                 QStringLiteral("zh_CN"));
        QVERIFY(anonchat::client::LanguageManager::languages().contains("system"));
    }
};

QTEST_GUILESS_MAIN(TestTranslations)
#include "tst_translations.moc"
