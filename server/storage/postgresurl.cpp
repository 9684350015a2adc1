#include "server/storage/postgresurl.h"

#include <QStringList>
#include <QUrl>
#include <QUrlQuery>

namespace anonchat::server {

namespace {

constexpr int kPostgresPort = 5432;
constexpr int kConnectTimeoutSeconds = 5;

} // namespace

bool PostgresUrl::isPostgresUrl(const QString &database)
{
    return database.startsWith(QLatin1String("postgresql://"), Qt::CaseInsensitive) ||
           database.startsWith(QLatin1String("postgres://"), Qt::CaseInsensitive);
}

QString PostgresUrl::parse(const QString &text, PostgresUrl *out)
{
    const QUrl url(text, QUrl::StrictMode);
    if (!url.isValid())
        return QStringLiteral("not a valid URL"); // errorString() would quote the password
    if (url.scheme() != QLatin1String("postgresql") && url.scheme() != QLatin1String("postgres"))
        return QStringLiteral("the scheme must be postgresql:// or postgres://");
    if (url.host().isEmpty())
        return QStringLiteral("no host");
    const QString name = url.path(QUrl::FullyDecoded).mid(1);
    if (name.isEmpty() || name.contains(QLatin1Char('/')))
        return QStringLiteral("no database name (…/dbname)");
    if (url.userName().isEmpty())
        return QStringLiteral("no user name (user:pass@…)");
    PostgresUrl parts;
    parts.user = url.userName(QUrl::FullyDecoded);
    parts.password = url.password(QUrl::FullyDecoded);
    parts.host = url.host();
    parts.port = url.port(kPostgresPort);
    parts.databaseName = name;
    QStringList options{QStringLiteral("connect_timeout=%1").arg(kConnectTimeoutSeconds)};
    for (const auto &[key, value] : QUrlQuery(url).queryItems(QUrl::FullyDecoded)) {
        if (key.isEmpty() || value.contains(QLatin1Char(';')))
            return QStringLiteral("invalid option '%1'").arg(key);
        options.append(key + QLatin1Char('=') + value);
    }
    parts.options = options.join(QLatin1Char(';'));
    if (out)
        *out = parts;
    return {};
}

QString PostgresUrl::displayName(const QString &database)
{
    if (!isPostgresUrl(database))
        return database;
    const QUrl url(database);
    return url.isValid() ? url.toDisplayString(QUrl::RemovePassword)
                         : database.section(QLatin1Char('@'), -1);
}

} // namespace anonchat::server
