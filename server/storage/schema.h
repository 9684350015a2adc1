#pragma once
// The tables' version and the numbered steps that bring a database up to it.

#include <QString>

namespace anonchat::server {

class Database;

/**
 * The schema version, kept in the `schema_version` table, and one function per upgrade step:
 * step N brings a database at version N - 1 to version N, each step in its own transaction. A
 * database made by the original Flask app has no `schema_version` and counts as version 0 (its
 * tables are kept by name and meaning). A database newer than this build is refused untouched.
 */
class Schema
{
public:
    explicit Schema(Database &db);

    /// The version this build migrates to.
    static int latestVersion();

    /// 0 if there is no `schema_version` table (a new database, or the Flask app's).
    bool readVersion(int *version, QString *error);
    /// Fails, with a message saying so, if the database is newer than this build.
    bool refuseNewer(QString *error);
    /// Applies the missing steps up to `target`, under the dialect's migration lock, then moves
    /// the id sequences (if any) past the ids already in the tables.
    bool migrate(QString *error, int target = latestVersion());

private:
    bool migrateUnlocked(int target, QString *error);
    bool applyStep(int version, QString *error);
    bool upgradeTo1(QString *error);
    bool upgradeTo2(QString *error);
    bool upgradeTo3(QString *error);
    bool upgradeTo4(QString *error);
    bool setVersion(int version, QString *error);
    bool hasColumn(const QString &table, const QString &column, bool *has, QString *error);
    bool addColumnIfMissing(const QString &table, const QString &column, QString *error);
    bool syncSequences(QString *error);

    Database &m_db;
};

} // namespace anonchat::server
