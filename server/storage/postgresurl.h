#pragma once
// PostgreSQL connection URLs: recognising, checking and splitting them, and hiding the password.

#include <QString>

namespace anonchat::server {

/// The parts of a `postgresql://user:pass@host:port/dbname?option=value` URL.
class PostgresUrl
{
public:
    QString user;
    QString password;
    QString host;
    int port = 5432;
    QString databaseName;
    QString options; ///< QSqlDatabase::setConnectOptions() form: name=value;name=value

    /// True for a `postgresql://` or `postgres://` URL.
    static bool isPostgresUrl(const QString &database);
    /// Empty when `text` is a usable PostgreSQL URL (then `out`, if given, holds its parts),
    /// else why not, without quoting the password.
    static QString parse(const QString &text, PostgresUrl *out);
    /// `database` as it may be logged or shown: a PostgreSQL URL without its password.
    static QString displayName(const QString &database);
};

} // namespace anonchat::server
