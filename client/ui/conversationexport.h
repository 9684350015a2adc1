// ConversationExport: "Save conversation…" as a text file or a standalone HTML page.
#pragma once

#include <QString>

namespace anonchat::client {

class MessageListModel;

/**
 * "Save conversation…": the conversation of a MessageListModel as a plain text file (one line
 * per message, "[time] You: text") or as a standalone HTML page (bubbles, everything escaped,
 * no scripts, no external resources). Times are local; the labels are translated.
 */
class ConversationExport
{
public:
    enum class Format { Text, Html };

    static QString toText(const MessageListModel &model);
    static QString toHtml(const MessageListModel &model);
    /// The format a file name asks for (.html/.htm: HTML, anything else text).
    static Format formatForFile(const QString &fileName);
    /// Writes the conversation to `fileName` (UTF-8). False with a translated `error`.
    static bool save(const MessageListModel &model, const QString &fileName, QString *error);
};

} // namespace anonchat::client
