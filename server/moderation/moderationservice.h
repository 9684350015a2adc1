#pragma once

// Moderation: reports, bans and the address hash, served off the network threads.

#include "server/moderation/addresshasher.h"
#include "server/moderation/banlist.h"
#include "server/moderation/moderationstore.h"

#include <QObject>
#include <QString>
#include <functional>
#include <memory>

class QThread;
class QTimer;

namespace anonchat::server {

/// What ModerationService is told at start.
struct ModerationConfig {
    QString database;
    QString connectionName;
    int autoBanReports = 3; ///< distinct reporter addresses in 24 h that ban for an hour; 0: off
    int hashRetentionDays = 30; ///< reports' address hashes kept no longer (at most 30)
    int pollMs = 1000;          ///< how often bans made by other servers are read
};

/**
 * The operator's side of the server (PROTOCOL.md, "Moderation"): the ModerationStore on a thread
 * of its own (the admin API's requests never wait on the network threads, nor these on it), the
 * AddressHasher keyed with the database's secret, and the BanList every node checks. Bans made
 * here are in the list at once; those made or lifted by other servers sharing the database are
 * read every `pollMs`. banned() says when a ban comes into force, so live sessions of that
 * address are closed. Callbacks run on the thread that made the service.
 */
class ModerationService : public QObject
{
    Q_OBJECT
public:
    using Outcome = ModerationStore::Outcome;

    ModerationService(ModerationConfig config, QObject *parent = nullptr);
    ~ModerationService() override;

    /// Opens the store (the database already migrated), reads the secret and the live bans.
    bool start(QString *error);
    void stop();

    std::shared_ptr<const AddressHasher> hasher() const { return m_hasher; }
    std::shared_ptr<BanList> bans() const { return m_bans; }

    void listReports(const ReportQuery &query,
                     std::function<void(bool ok, const QVector<ReportView> &)> done);
    void dismiss(qint64 reportId, std::function<void(Outcome)> done);
    void ban(qint64 reportId, int hours, const QString &note,
             std::function<void(Outcome, const Ban &)> done);
    void listBans(std::function<void(bool ok, const QVector<Ban> &)> done);
    void lift(qint64 banId, std::function<void(Outcome)> done);
    /// A report against `reportedHash` was stored: bans it when enough addresses reported it
    /// (`autoBanReports`). Any thread.
    void reportStored(const QString &reportedHash);

signals:
    /// A ban came into force (made here, or read from the database).
    void banned(const QString &addressHash);

private:
    /// Runs `work` on the store's thread, then `done` with its result on this one.
    template <typename Result>
    void call(std::function<Result(ModerationStore &)> work, std::function<void(Result)> done);
    void poll();
    void purge();
    void adopt(const Ban &ban);

    ModerationConfig m_config;
    QThread *m_thread = nullptr;
    QObject *m_worker = nullptr; ///< lives on m_thread, owns the store
    ModerationStore *m_store = nullptr;
    std::shared_ptr<const AddressHasher> m_hasher;
    std::shared_ptr<BanList> m_bans = std::make_shared<BanList>();
    QTimer *m_pollTimer = nullptr;
    QTimer *m_purgeTimer = nullptr;
    bool m_polling = false;
};

} // namespace anonchat::server
