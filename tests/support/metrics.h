// The server's /metrics page (Prometheus text) read into a table, for the suites that check it.
#pragma once

#include <QByteArray>
#include <QHash>
#include <QString>

namespace anonchat::test {

/// `name{labels} value` lines as name{labels} -> value; comments and blank lines skipped.
inline QHash<QString, double> parseMetrics(const QByteArray &text)
{
    QHash<QString, double> out;
    for (const QByteArray &line : text.split('\n')) {
        if (line.isEmpty() || line.startsWith('#'))
            continue;
        const qsizetype space = line.lastIndexOf(' ');
        if (space > 0)
            out.insert(QString::fromUtf8(line.left(space)), line.mid(space + 1).toDouble());
    }
    return out;
}

} // namespace anonchat::test
