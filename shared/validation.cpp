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

} // namespace anonchat::protocol
