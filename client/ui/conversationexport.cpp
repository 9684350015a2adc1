#include "client/ui/conversationexport.h"

#include "client/core/messagelistmodel.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QLocale>
#include <QSaveFile>

namespace anonchat::client {

namespace {

QString timeOf(const MessageListModel::Entry &entry)
{
    return entry.time.isValid()
               ? QLocale().toString(entry.time.toLocalTime(), QStringLiteral("yyyy-MM-dd HH:mm:ss"))
               : QString();
}

/// The page up to `<body>`: its language, title and style sheet (light and dark).
QString htmlHead(const QString &title)
{
    QString out;
    out += QStringLiteral("<!doctype html>\n<html lang=\"%1\">\n<head>\n<meta charset=\"utf-8\">\n")
               .arg(QLocale().bcp47Name().toHtmlEscaped());
    out += QStringLiteral("<title>%1</title>\n").arg(title.toHtmlEscaped());
    out += QStringLiteral(
        "<style>\n"
        ":root{color-scheme:light dark}\n"
        "body{font-family:system-ui,sans-serif;max-width:760px;margin:2em auto;padding:0 1em;"
        "background:#f3f4fa;color:#141726}\n"
        "h1{font-size:1.3em}\n"
        ".row{display:flex;margin:6px 0}.mine{justify-content:flex-end}"
        ".system{justify-content:center}\n"
        ".bubble{max-width:72%;padding:8px 12px;border-radius:16px;white-space:pre-wrap;"
        "overflow-wrap:anywhere}\n"
        ".mine .bubble{background:linear-gradient(135deg,#4f46e5,#7c3aed);color:#fff}\n"
        ".theirs .bubble{background:#fff;border:1px solid #e2e5ef}\n"
        ".system .bubble{background:#eef0ff;color:#3b36b8;font-size:.9em}\n"
        "time{display:block;font-size:.75em;opacity:.75;margin-top:2px;text-align:right}\n"
        "@media (prefers-color-scheme:dark){body{background:#0c0e16;color:#e9ebf4}"
        ".theirs .bubble{background:#232838;border-color:#232838}"
        ".system .bubble{background:#23254a;color:#c7c9ff}}\n"
        "</style>\n</head>\n<body>\n");
    return out;
}

/// One message as a bubble: its class (mine, theirs, system), who sent it, text and time.
QString htmlBubble(const MessageListModel::Entry &e)
{
    QString cls;
    QString who;
    switch (e.kind) {
    case MessageListModel::Kind::Mine:
        cls = QStringLiteral("mine");
        who = QCoreApplication::translate("ConversationExport", "You");
        break;
    case MessageListModel::Kind::Theirs:
        cls = QStringLiteral("theirs");
        who = QCoreApplication::translate("ConversationExport", "Stranger");
        break;
    case MessageListModel::Kind::System: cls = QStringLiteral("system"); break;
    }
    QString time = timeOf(e);
    if (e.kind == MessageListModel::Kind::Mine && e.delivery == MessageListModel::Delivery::Failed)
        time += QStringLiteral(" · ") +
                QCoreApplication::translate("ConversationExport", "not delivered");
    return QStringLiteral("<div class=\"row %1\"><div class=\"bubble\"%2>%3<time>%4</time>"
                          "</div></div>\n")
        .arg(cls,
             who.isEmpty() ? QString() : QStringLiteral(" title=\"%1\"").arg(who.toHtmlEscaped()),
             e.text.toHtmlEscaped(), time.toHtmlEscaped());
}

} // namespace

QString ConversationExport::toText(const MessageListModel &model)
{
    QString out;
    out += QCoreApplication::translate("ConversationExport", "anonchat conversation, saved %1")
               .arg(QLocale().toString(QDateTime::currentDateTime(), QLocale::LongFormat));
    out += QStringLiteral("\n\n");
    for (int row = 0; row < model.count(); ++row) {
        const MessageListModel::Entry &e = model.entry(row);
        QString text = e.text;
        text.replace(QLatin1Char('\n'), QStringLiteral("\n    "));
        out += QLatin1Char('[') + timeOf(e) + QStringLiteral("] ");
        switch (e.kind) {
        case MessageListModel::Kind::Mine:
            out += QCoreApplication::translate("ConversationExport", "You") + QStringLiteral(": ") +
                   text;
            if (e.delivery == MessageListModel::Delivery::Failed)
                out += QStringLiteral(" (") +
                       QCoreApplication::translate("ConversationExport", "not delivered") +
                       QLatin1Char(')');
            break;
        case MessageListModel::Kind::Theirs:
            out += QCoreApplication::translate("ConversationExport", "Stranger") +
                   QStringLiteral(": ") + text;
            break;
        case MessageListModel::Kind::System: out += QStringLiteral("* ") + text; break;
        }
        out += QLatin1Char('\n');
    }
    return out;
}

QString ConversationExport::toHtml(const MessageListModel &model)
{
    const QString title =
        QCoreApplication::translate("ConversationExport", "anonchat conversation");
    QString out = htmlHead(title);
    out += QStringLiteral("<h1>%1</h1>\n<p>%2</p>\n")
               .arg(title.toHtmlEscaped(),
                    QCoreApplication::translate("ConversationExport", "Saved %1")
                        .arg(QLocale().toString(QDateTime::currentDateTime(), QLocale::LongFormat))
                        .toHtmlEscaped());
    for (int row = 0; row < model.count(); ++row)
        out += htmlBubble(model.entry(row));
    out += QStringLiteral("</body>\n</html>\n");
    return out;
}

ConversationExport::Format ConversationExport::formatForFile(const QString &fileName)
{
    const QString lower = fileName.toLower();
    if (lower.endsWith(QLatin1String(".html")) || lower.endsWith(QLatin1String(".htm")))
        return Format::Html;
    return Format::Text;
}

bool ConversationExport::save(const MessageListModel &model, const QString &fileName,
                              QString *error)
{
    const QString content = formatForFile(fileName) == Format::Html ? toHtml(model) : toText(model);
    QSaveFile file(fileName);
    if (!file.open(QIODevice::WriteOnly) || file.write(content.toUtf8()) < 0 || !file.commit()) {
        *error = QCoreApplication::translate("ConversationExport", "Could not save %1: %2")
                     .arg(fileName, file.errorString());
        return false;
    }
    return true;
}

} // namespace anonchat::client
