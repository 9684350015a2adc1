#include "benchcommon.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QHostAddress>
#include <QNetworkProxy>
#include <QWebSocket>
#include <cstdio>
#include <cstdlib>

namespace anonchat::bench {

void preferQtEventDispatcher()
{
    if (qEnvironmentVariableIsEmpty("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
}

void fail(const QString &message)
{
    std::fprintf(stderr, "%s: %s\n", qPrintable(QCoreApplication::applicationName()),
                 qPrintable(message));
    std::exit(2);
}

void processCommandLine(QCommandLineParser &parser, const QCoreApplication &app)
{
    parser.process(app);
    if (!parser.positionalArguments().isEmpty())
        fail(QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first()));
}

double numberOption(const QCommandLineParser &parser, const char *name, double low, double high)
{
    bool ok = false;
    const double value = parser.value(QLatin1String(name)).toDouble(&ok);
    if (!ok || value < low || value > high)
        fail(QStringLiteral("--%1 must be a number from %2 to %3")
                 .arg(QLatin1String(name))
                 .arg(low)
                 .arg(high));
    return value;
}

bool isLoopback(const QString &host)
{
    if (host.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
        return true;
    QHostAddress address;
    return address.setAddress(host) && address.isLoopback();
}

QList<QUrl> loopbackUrls(const QCommandLineParser &parser)
{
    QList<QUrl> urls;
    for (const QString &value : parser.values(QStringLiteral("url"))) {
        for (const QString &text : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            const QUrl url(text.trimmed());
            if (!url.isValid() || (url.scheme() != QLatin1String("ws")) || url.host().isEmpty())
                fail(QStringLiteral("--url must be ws://HOST:PORT/ws"));
            if (!isLoopback(url.host()))
                fail(QStringLiteral("--url must be on loopback (127.0.0.0/8, ::1, localhost): "
                                    "this tool loads only servers on this machine"));
            urls.append(url);
        }
    }
    if (urls.isEmpty() || urls.size() > 16)
        fail(QStringLiteral("--url: from 1 to 16 servers"));
    return urls;
}

QWebSocket *newClientSocket(QObject *owner)
{
    auto *socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, owner);
    socket->setProxy(QNetworkProxy::NoProxy);
    return socket;
}

void discardSocket(QWebSocket *&socket, QObject *receiver, bool later)
{
    if (!socket)
        return;
    QObject::disconnect(socket, nullptr, receiver, nullptr);
    socket->abort();
    if (later)
        socket->deleteLater();
    else
        delete socket;
    socket = nullptr;
}

} // namespace anonchat::bench
