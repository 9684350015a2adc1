// libFuzzer target: normaliseInterests and codePointCount (shared/codec.*), which decide what the
// matchmaker compares. The input is a list of strings, one a line: as UTF-8 when the first byte
// is even, as raw UTF-16 (lone surrogates included) when it is odd. The normalised list must hold
// at most kMaxInterests unique, non-empty, trimmed, case-folded strings of at most
// kMaxInterestChars code points; normalising it again must change nothing; a refusal must leave
// the output alone and happen exactly when the limits are broken.

#include "shared/codec.h"
#include "shared/limits.h"

#include <QSet>
#include <QStringList>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace anonchat::protocol;

namespace {

void check(bool condition, const char *what, const QStringList &list = {})
{
    if (condition)
        return;
    std::fprintf(stderr, "fuzz_interests: %s\n", what);
    for (const QString &s : list)
        std::fprintf(stderr, "  [%s]\n", s.toUtf8().toPercentEncoding(" ").constData());
    std::abort();
}

// codePointCount against an independent count: UTF-32 conversion turns a lone surrogate into
// one replacement character, a pair into one code point.
void checkCount(const QString &s)
{
    const int n = codePointCount(s);
    check(n >= 0 && n <= s.size(), "codePointCount out of range", {s});
    check(n == s.toUcs4().size(), "codePointCount != toUcs4().size()", {s});
}

// What normaliseInterests promises, written the obvious way.
bool expectedAccept(const QStringList &raw)
{
    QSet<QString> unique;
    for (const QString &item : raw) {
        const QString s = item.trimmed().toCaseFolded();
        if (s.isEmpty())
            continue;
        if (s.toUcs4().size() > kMaxInterestChars)
            return false;
        unique.insert(s);
    }
    return unique.size() <= kMaxInterests;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 4096)
        return 0;
    const char *bytes = reinterpret_cast<const char *>(data) + 1;
    const qsizetype n = qsizetype(size - 1);
    const QString text =
        (data[0] & 1)
            ? QString(reinterpret_cast<const QChar *>(QByteArray(bytes, n).constData()), n / 2)
            : QString::fromUtf8(bytes, n);
    const QStringList raw = text.split(QLatin1Char('\n'));
    for (const QString &s : raw)
        checkCount(s);

    const QStringList sentinel{QStringLiteral("untouched")};
    QStringList out = sentinel;
    const bool ok = normaliseInterests(raw, out);
    check(ok == expectedAccept(raw), "accepted or refused against the limits", raw);
    if (!ok) {
        check(out == sentinel, "a refusal changed the output", out);
        return 0;
    }
    check(out.size() <= kMaxInterests, "too many interests", out);
    QSet<QString> seen;
    for (const QString &s : out) {
        checkCount(s);
        check(!s.isEmpty(), "an empty interest", out);
        check(s == s.trimmed(), "an interest not trimmed", out);
        check(s == s.toCaseFolded(), "an interest not case-folded", out);
        check(codePointCount(s) <= kMaxInterestChars, "an interest too long", out);
        check(!seen.contains(s), "a duplicate interest", out);
        seen.insert(s);
    }
    QStringList again;
    check(normaliseInterests(out, again), "a normalised list is refused", out);
    check(again == out, "normalising twice changes the list", again);
    return 0;
}
