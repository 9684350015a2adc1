#include "server/moderation/moderationservice.h"

#include <QLoggingCategory>
#include <QPointer>
#include <QSet>
#include <QThread>
#include <QTimer>
#include <chrono>

namespace anonchat::server {

namespace {

Q_LOGGING_CATEGORY(lcModeration, "anonchat.moderation", QtInfoMsg)

constexpr auto kPurgeInterval = std::chrono::hours(1);
constexpr int kMaxHashDays = 30;

QDateTime now()
{
    return QDateTime::currentDateTimeUtc();
}

} // namespace

ModerationService::ModerationService(ModerationConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
{}

ModerationService::~ModerationService()
{
    stop();
}

bool ModerationService::start(QString *error)
{
    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("moderation"));
    m_worker = new QObject;
    m_worker->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread->start();
    bool ok = false;
    QByteArray secret;
    QVector<Ban> live;
    QString why;
    // The connection is made, used and closed on the store's thread only.
    QMetaObject::invokeMethod(
        m_worker,
        [&] {
            m_store = new ModerationStore(m_config.database, m_config.connectionName);
            ok = m_store->open(&why) && m_store->readSecret(&secret, &why) &&
                 m_store->liveBans(now(), &live, &why);
        },
        Qt::BlockingQueuedConnection);
    if (!ok) {
        *error = QStringLiteral("moderation: %1").arg(why);
        stop();
        return false;
    }
    m_hasher = std::make_shared<const AddressHasher>(secret);
    m_bans->replace(live);
    m_pollTimer = new QTimer(this);
    connect(m_pollTimer, &QTimer::timeout, this, &ModerationService::poll);
    m_pollTimer->start(m_config.pollMs);
    m_purgeTimer = new QTimer(this);
    connect(m_purgeTimer, &QTimer::timeout, this, &ModerationService::purge);
    m_purgeTimer->start(kPurgeInterval);
    purge();
    return true;
}

void ModerationService::stop()
{
    if (!m_thread)
        return;
    delete m_pollTimer;
    m_pollTimer = nullptr;
    delete m_purgeTimer;
    m_purgeTimer = nullptr;
    QMetaObject::invokeMethod(
        m_worker,
        [this] {
            delete m_store;
            m_store = nullptr;
        },
        Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    m_worker = nullptr;
}

template <typename Result>
void ModerationService::call(std::function<Result(ModerationStore &)> work,
                             std::function<void(Result)> done)
{
    if (!m_thread) {
        return;
    }
    QPointer<ModerationService> self(this);
    QMetaObject::invokeMethod(
        m_worker, [this, self, work = std::move(work), done = std::move(done)] {
            if (!m_store)
                return;
            Result result = work(*m_store);
            QMetaObject::invokeMethod(self.data(),
                                      [done, result = std::move(result)] { done(result); });
        });
}

void ModerationService::listReports(const ReportQuery &query,
                                    std::function<void(bool, const QVector<ReportView> &)> done)
{
    using Result = std::pair<bool, QVector<ReportView>>;
    call<Result>(
        [query](ModerationStore &store) {
            Result r;
            QString error;
            r.first = store.reports(query, &r.second, &error);
            if (!r.first)
                qCWarning(lcModeration) << "reading reports failed:" << error;
            return r;
        },
        [done = std::move(done)](Result r) { done(r.first, r.second); });
}

void ModerationService::dismiss(qint64 reportId, std::function<void(Outcome)> done)
{
    call<Outcome>(
        [reportId](ModerationStore &store) {
            QString error;
            const Outcome o = store.dismiss(reportId, &error);
            if (o == Outcome::Failed)
                qCWarning(lcModeration) << "dismissing a report failed:" << error;
            return o;
        },
        std::move(done));
}

void ModerationService::ban(qint64 reportId, int hours, const QString &note,
                            std::function<void(Outcome, const Ban &)> done)
{
    using Result = std::pair<Outcome, Ban>;
    call<Result>(
        [reportId, hours, note](ModerationStore &store) {
            Result r;
            QString error;
            r.first = store.banFromReport(reportId, hours, note, now(), &r.second, &error);
            if (r.first == Outcome::Failed)
                qCWarning(lcModeration) << "storing a ban failed:" << error;
            return r;
        },
        [this, done = std::move(done)](Result r) {
            if (r.first == Outcome::Done)
                adopt(r.second);
            done(r.first, r.second);
        });
}

void ModerationService::listBans(std::function<void(bool, const QVector<Ban> &)> done)
{
    using Result = std::pair<bool, QVector<Ban>>;
    call<Result>(
        [](ModerationStore &store) {
            Result r;
            QString error;
            r.first = store.liveBans(now(), &r.second, &error);
            if (!r.first)
                qCWarning(lcModeration) << "reading bans failed:" << error;
            return r;
        },
        [done = std::move(done)](Result r) { done(r.first, r.second); });
}

void ModerationService::lift(qint64 banId, std::function<void(Outcome)> done)
{
    call<Outcome>(
        [banId](ModerationStore &store) {
            QString error;
            const Outcome o = store.lift(banId, now(), &error);
            if (o == Outcome::Failed)
                qCWarning(lcModeration) << "lifting a ban failed:" << error;
            return o;
        },
        [this, banId, done = std::move(done)](Outcome o) {
            if (o == Outcome::Done)
                m_bans->lift(banId);
            done(o);
        });
}

void ModerationService::reportStored(const QString &reportedHash)
{
    if (m_config.autoBanReports <= 0 || reportedHash.isEmpty())
        return;
    // From a node's thread: over to this one, then to the store's.
    QMetaObject::invokeMethod(this, [this, reportedHash] {
        const int threshold = m_config.autoBanReports;
        call<std::optional<Ban>>(
            [reportedHash, threshold](ModerationStore &store) {
                std::optional<Ban> ban;
                QString error;
                if (!store.autoBan(reportedHash, threshold, now(), &ban, &error))
                    qCWarning(lcModeration) << "the automatic ban check failed:" << error;
                return ban;
            },
            [this](std::optional<Ban> ban) {
                if (!ban)
                    return;
                qCInfo(lcModeration).noquote()
                    << "banned an address until" << ban->until.toString(Qt::ISODate) << "-"
                    << ban->note;
                adopt(*ban);
            });
    });
}

void ModerationService::adopt(const Ban &ban)
{
    m_bans->add(ban);
    emit banned(ban.addressHash);
}

// Bans made or lifted by other servers on the same database.
void ModerationService::poll()
{
    if (m_polling)
        return; // the last read is still under way
    m_polling = true;
    listBans([this](bool ok, const QVector<Ban> &live) {
        m_polling = false;
        if (!ok)
            return;
        const QDateTime at = now();
        QVector<Ban> fresh;
        for (const Ban &ban : live) {
            if (!m_bans->bannedUntil(ban.addressHash, at))
                fresh.append(ban);
        }
        m_bans->replace(live);
        for (const Ban &ban : std::as_const(fresh))
            emit banned(ban.addressHash);
    });
}

void ModerationService::purge()
{
    const int days = std::clamp(m_config.hashRetentionDays, 1, kMaxHashDays);
    call<bool>(
        [days](ModerationStore &store) {
            QString error;
            const bool ok = store.purgeHashes(days, now(), &error);
            if (!ok)
                qCWarning(lcModeration) << "forgetting old address hashes failed:" << error;
            return ok;
        },
        [](bool) {});
}

} // namespace anonchat::server
