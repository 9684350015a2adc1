#include "shared/timestamp.h"
#include "shared/codec.h"

#include <QDateTime>

namespace anonchat::protocol {

namespace {

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days).
void civilFromDays(qint64 days, qint64 &year, int &month, int &day)
{
    days += 719468;
    const qint64 era = (days >= 0 ? days : days - 146096) / 146097;
    const qint64 doe = days - era * 146097;                                   // [0, 146096]
    const qint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // [0, 399]
    const qint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               // [0, 365]
    const qint64 mp = (5 * doy + 2) / 153;                                    // [0, 11]
    day = int(doy - (153 * mp + 2) / 5 + 1);
    month = int(mp < 10 ? mp + 3 : mp - 9);
    year = yoe + era * 400 + (month <= 2 ? 1 : 0);
}

} // namespace

namespace internal {

bool writeTimestamp(char *p, qint64 msecs)
{
    constexpr qint64 kDayMs = 86400000;
    qint64 days = msecs / kDayMs;
    qint64 ms = msecs % kDayMs;
    if (ms < 0) {
        ms += kDayMs;
        --days;
    }
    qint64 year = 0;
    int month = 0;
    int day = 0;
    civilFromDays(days, year, month, day);
    if (year < 1 || year > 9999)
        return false;
    const auto two = [](char *q, int v) {
        q[0] = char('0' + v / 10);
        q[1] = char('0' + v % 10);
    };
    two(p, int(year / 100));
    two(p + 2, int(year % 100));
    p[4] = '-';
    two(p + 5, month);
    p[7] = '-';
    two(p + 8, day);
    p[10] = 'T';
    const int msOfDay = int(ms);
    two(p + 11, msOfDay / 3600000);
    p[13] = ':';
    two(p + 14, msOfDay / 60000 % 60);
    p[16] = ':';
    two(p + 17, msOfDay / 1000 % 60);
    p[19] = '.';
    p[20] = char('0' + msOfDay % 1000 / 100);
    two(p + 21, msOfDay % 100);
    p[23] = 'Z';
    return true;
}

} // namespace internal

QString formatTimestamp(const QDateTime &utc)
{
    char text[internal::kTimestampChars];
    if (!utc.isValid() || !internal::writeTimestamp(text, utc.toMSecsSinceEpoch()))
        return utc.toUTC().toString(Qt::ISODateWithMs);
    return QString::fromLatin1(text, internal::kTimestampChars);
}

QDateTime parseTimestamp(const QString &text)
{
    QDateTime t = QDateTime::fromString(text, Qt::ISODateWithMs);
    if (!t.isValid())
        t = QDateTime::fromString(text, Qt::ISODate);
    return t.toUTC();
}

} // namespace anonchat::protocol
