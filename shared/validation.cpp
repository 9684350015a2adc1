// The field rules shared by every decoder: code points counted, interests normalised.
#include "shared/codec.h"

namespace anonchat::protocol {

int codePointCount(QStringView text)
{
    int count = 0;
    const qsizetype n = text.size();
    for (qsizetype i = 0; i < n; ++i) {
        if (text[i].isHighSurrogate() && i + 1 < n && text[i + 1].isLowSurrogate())
            ++i;
        ++count;
    }
    return count;
}

bool normaliseInterests(const QStringList &raw, QStringList &out)
{
    QStringList result;
    for (const QString &item : raw) {
        const QString s = item.trimmed().toCaseFolded();
        if (s.isEmpty())
            continue;
        if (codePointCount(s) > kMaxInterestChars)
            return false;
        if (!result.contains(s))
            result.append(s);
    }
    if (result.size() > kMaxInterests)
        return false;
    out = result;
    return true;
}

namespace {

bool isAsciiLetter(QChar c)
{
    return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z');
}

bool isAsciiAlphanumeric(QChar c)
{
    return isAsciiLetter(c) || (c >= u'0' && c <= u'9');
}

} // namespace

bool normaliseLanguage(const QString &raw, QString &out)
{
    if (raw.size() > kMaxLanguageChars)
        return false;
    if (raw.isEmpty()) {
        out.clear();
        return true;
    }
    qsizetype primaryEnd = -1;
    qsizetype subtagStart = 0;
    for (qsizetype i = 0; i <= raw.size(); ++i) {
        const bool end = i == raw.size() || raw[i] == u'-' || raw[i] == u'_';
        if (!end) {
            const bool ok = primaryEnd < 0 ? isAsciiLetter(raw[i]) : isAsciiAlphanumeric(raw[i]);
            if (!ok)
                return false;
            continue;
        }
        const qsizetype length = i - subtagStart;
        if (primaryEnd < 0 ? (length < 2 || length > 3) : (length < 1 || length > 8))
            return false;
        if (primaryEnd < 0)
            primaryEnd = i;
        subtagStart = i + 1;
    }
    out = raw.left(primaryEnd).toLower();
    return true;
}

} // namespace anonchat::protocol
