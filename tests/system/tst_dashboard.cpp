// docs/grafana/anonchat.json against the real `anonchat-server`: every metric (and grouping label)
// the dashboard's PromQL queries use is one the server's /metrics exports, and every metric
// family the server exports has a panel.
#include "tests/support/serverprocess.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

using namespace anonchat::test;

namespace {

/// Metric names and label names one /metrics text exports. A histogram's family name counts
/// too, and its _bucket/_sum/_count series.
struct Exported {
    QSet<QString> metrics;
    QSet<QString> families; // from the # TYPE lines
    QSet<QString> labels;
};

Exported parseExposition(const QString &text)
{
    Exported out;
    static const QRegularExpression sample(
        QStringLiteral(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s)"));
    static const QRegularExpression label(QStringLiteral(R"(([a-zA-Z_][a-zA-Z0-9_]*)=")"));
    for (const QString &line : text.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
        if (line.startsWith(QLatin1String("# TYPE "))) {
            const QStringList parts = line.split(QLatin1Char(' '));
            out.families.insert(parts.value(2));
            out.metrics.insert(parts.value(2));
            continue;
        }
        const QRegularExpressionMatch m = sample.match(line);
        if (!m.hasMatch())
            continue;
        out.metrics.insert(m.captured(1));
        auto labels = label.globalMatch(m.captured(2));
        while (labels.hasNext())
            out.labels.insert(labels.next().captured(1));
    }
    return out;
}

/// What one PromQL expression refers to: metric names and the labels of `by (...)`.
struct QueryNames {
    QSet<QString> metrics;
    QSet<QString> groupLabels;
};

QueryNames parsePromQl(QString expr)
{
    QueryNames out;
    static const QRegularExpression by(QStringLiteral(R"(\b(?:by|without)\s*\(([^)]*)\))"));
    auto groups = by.globalMatch(expr);
    while (groups.hasNext()) {
        for (const QString &name : groups.next().captured(1).split(QLatin1Char(',')))
            out.groupLabels.insert(name.trimmed());
    }
    // What is not a metric name: strings, label matchers, ranges, grouping clauses, variables.
    for (const char *pattern : {R"("[^"]*")", R"(\{[^}]*\})", R"(\[[^\]]*\])",
                                R"(\b(?:by|without|on|ignoring)\s*\([^)]*\))", R"(\$\w+)"})
        expr.remove(QRegularExpression(QString::fromLatin1(pattern)));
    static const QSet<QString> keywords{"and",    "or",         "unless",     "bool",
                                        "offset", "group_left", "group_right"};
    static const QRegularExpression identifier(
        QStringLiteral(R"((?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?)"));
    auto it = identifier.globalMatch(expr);
    while (it.hasNext()) {
        const QRegularExpressionMatch m = it.next();
        if (m.captured(2).isEmpty() && !keywords.contains(m.captured(1)))
            out.metrics.insert(m.captured(1)); // followed by "(" it is a function
    }
    return out;
}

/// Every query of the dashboard: the panels' targets and the template variables' queries.
QStringList dashboardQueries(const QJsonObject &dashboard)
{
    QStringList out;
    for (const QJsonValue &panel : dashboard.value(QLatin1String("panels")).toArray()) {
        for (const QJsonValue &target : panel.toObject().value(QLatin1String("targets")).toArray())
            out.append(target.toObject().value(QLatin1String("expr")).toString());
    }
    const QJsonArray variables = dashboard.value(QLatin1String("templating"))
                                     .toObject()
                                     .value(QLatin1String("list"))
                                     .toArray();
    for (const QJsonValue &variable : variables) {
        static const QRegularExpression labelValues(
            QStringLiteral(R"(^label_values\((.*),\s*\w+\)$)"));
        const QString definition =
            variable.toObject().value(QLatin1String("definition")).toString();
        const QRegularExpressionMatch m = labelValues.match(definition);
        out.append(m.hasMatch() ? m.captured(1) : definition);
    }
    return out;
}

} // namespace

class TestDashboard : public QObject
{
    Q_OBJECT

private slots:
    void promQlParsing();
    void queriesUseExportedMetrics();

private:
    QByteArray fetchMetrics(quint16 port);
};

// The parser itself, so that a query it misreads cannot pass unnoticed.
void TestDashboard::promQlParsing()
{
    const QueryNames q = parsePromQl(QStringLiteral(
        R"(histogram_quantile(0.99, sum by (le) (rate(a_bucket{instance=~"$instance"}[$__rate_interval]))) / b_total offset 5m and on (x) process_cpu_seconds_total)"));
    QCOMPARE(q.metrics, (QSet<QString>{"a_bucket", "b_total", "process_cpu_seconds_total"}));
    QCOMPARE(q.groupLabels, (QSet<QString>{"le"}));
    const Exported e = parseExposition(QStringLiteral(
        "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_sum 0.1\nc_total{code=\"x\"} 2\n"));
    QCOMPARE(e.metrics, (QSet<QString>{"h", "h_bucket", "h_sum", "c_total"}));
    QCOMPARE(e.families, (QSet<QString>{"h"}));
    QCOMPARE(e.labels, (QSet<QString>{"le", "code"}));
}

QByteArray TestDashboard::fetchMetrics(quint16 port)
{
    QNetworkAccessManager network;
    QNetworkReply *reply =
        network.get(QNetworkRequest(QUrl(QStringLiteral("http://127.0.0.1:%1/metrics").arg(port))));
    if (!QTest::qWaitFor([reply] { return reply->isFinished(); }, kWaitMs))
        return {};
    reply->deleteLater();
    if (reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() != 200)
        return {};
    return reply->readAll();
}

void TestDashboard::queriesUseExportedMetrics()
{
    QFile file(QStringLiteral(ANONCHAT_SOURCE_DIR "/docs/grafana/anonchat.json"));
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(file.fileName()));
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &error);
    QVERIFY2(doc.isObject(), qPrintable(error.errorString()));
    const QStringList queries = dashboardQueries(doc.object());
    QVERIFY2(queries.size() >= 8, "the dashboard has (almost) no queries");

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    ServerProcess server;
    QString why;
    QVERIFY2(server.start({"--port", "0", "--db", dir.filePath("chat.db")}, &why), qPrintable(why));
    const QByteArray text = fetchMetrics(server.port());
    QVERIFY2(!text.isEmpty(), "no /metrics");
    const Exported exported = parseExposition(QString::fromUtf8(text));
    QVERIFY(exported.families.size() >= 5);

    QSet<QString> used;
    for (const QString &query : queries) {
        QVERIFY2(!query.trimmed().isEmpty(), "a panel target without a query");
        const QueryNames names = parsePromQl(query);
        QVERIFY2(!names.metrics.isEmpty(), qPrintable("no metric in: " + query));
        for (const QString &metric : names.metrics) {
            QVERIFY2(
                exported.metrics.contains(metric),
                qPrintable(QStringLiteral("'%1' is not exported (query: %2)").arg(metric, query)));
            used.insert(metric);
        }
        for (const QString &label : names.groupLabels) {
            QVERIFY2(
                exported.labels.contains(label),
                qPrintable(
                    QStringLiteral("label '%1' is not exported (query: %2)").arg(label, query)));
        }
    }
    // The other way round: nothing the server exports is missing from the dashboard.
    for (const QString &family : exported.families) {
        const bool shown = std::any_of(used.cbegin(), used.cend(), [&family](const QString &m) {
            return m == family || m == family + "_bucket" || m == family + "_sum" ||
                   m == family + "_count";
        });
        QVERIFY2(shown, qPrintable(QStringLiteral("no panel shows '%1'").arg(family)));
    }
}

QTEST_GUILESS_MAIN(TestDashboard)
#include "tst_dashboard.moc"
