#include "metricsprobe.h"

#include <QElapsedTimer>
#include <QNetworkProxy>
#include <QTcpSocket>

namespace anonchat::bench {

namespace {

/// The whole answer to one GET (the server closes the connection after it), or empty.
QByteArray httpGet(const QUrl &url, int timeoutMs)
{
    QTcpSocket socket;
    socket.setProxy(QNetworkProxy::NoProxy);
    socket.connectToHost(url.host(), quint16(url.port(80)));
    if (!socket.waitForConnected(timeoutMs))
        return {};
    socket.write("GET " + url.path().toUtf8() + " HTTP/1.1\r\nHost: " + url.authority().toUtf8() +
                 "\r\nConnection: close\r\n\r\n");
    QByteArray answer;
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeoutMs) {
        if (socket.bytesAvailable() == 0 &&
            !socket.waitForReadyRead(int(timeoutMs - timer.elapsed())))
            break;
        answer += socket.readAll();
    }
    answer += socket.readAll();
    return answer.startsWith("HTTP/1.1 200") ? answer : QByteArray();
}

} // namespace

QHash<QByteArray, double> scrapeMetrics(const QUrl &webSocketUrl, int timeoutMs)
{
    QUrl url = webSocketUrl;
    url.setScheme(QStringLiteral("http"));
    url.setPath(QStringLiteral("/metrics"));
    const QByteArray answer = httpGet(url, timeoutMs);
    const qsizetype body = answer.indexOf("\r\n\r\n");
    QHash<QByteArray, double> samples;
    if (body < 0)
        return samples;
    for (const QByteArray &line : answer.mid(body + 4).split('\n')) {
        if (line.isEmpty() || line.startsWith('#') || line.contains('{'))
            continue;
        const qsizetype space = line.indexOf(' ');
        bool ok = false;
        const double value = line.mid(space + 1).trimmed().toDouble(&ok);
        if (space > 0 && ok)
            samples.insert(line.left(space), value);
    }
    return samples;
}

double sumMetric(const QList<QUrl> &urls, const QByteArray &name)
{
    double sum = 0;
    for (const QUrl &url : urls) {
        const QHash<QByteArray, double> samples = scrapeMetrics(url);
        const auto it = samples.constFind(name);
        if (it == samples.cend())
            return -1;
        sum += *it;
    }
    return sum;
}

} // namespace anonchat::bench
