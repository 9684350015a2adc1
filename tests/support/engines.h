#pragma once
// Test support for the suites that use the real PostgreSQL and Redis of the ctest fixtures
// (scripts/pg.sh, scripts/redis.sh write each server's URL to a file).

#include "server/cluster/redisclient.h"

#include <QFile>
#include <QSqlDatabase>
#include <QTest>
#include <QUrl>

namespace anonchat::test {

/// The URL a fixture script wrote to `path`; empty if there is none.
inline QString readUrlFile(const QString &path)
{
    QFile file(path);
    if (path.isEmpty() || !file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(file.readAll()).trimmed();
}

/// A QPSQL connection called `name` to a postgresql:// URL, not opened yet.
inline QSqlDatabase addPostgres(const QString &name, const QString &urlText)
{
    const QUrl url(urlText);
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), name);
    db.setHostName(url.host());
    db.setPort(url.port(5432));
    db.setUserName(url.userName());
    db.setPassword(url.password());
    db.setDatabaseName(url.path().mid(1));
    return db;
}

/// Empties the Redis database a redis:// URL names (FLUSHDB).
inline bool flushRedis(const QString &urlText)
{
    QUrl url;
    QString why;
    if (!server::RedisClient::parseUrl(urlText, &url, &why))
        return false;
    server::RedisClient redis(url);
    if (!redis.waitConnected(5000))
        return false;
    bool done = false;
    redis.command({"FLUSHDB"}, [&done](const server::RedisReply &) { done = true; });
    return QTest::qWaitFor([&done] { return done; }, 5000);
}

} // namespace anonchat::test
