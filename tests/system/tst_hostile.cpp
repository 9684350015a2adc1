// Hostile clients against the real `anonchat-server` on one thread (tests/support/serverprocess.h),
// flooding from a thread of their own (tests/support/hostile.h): a ping flood that never reads is
// closed and leaves the server's memory bounded; a flood beside a client whose round trips, and a
// GET /healthz, must stay short (PROTOCOL.md, "Transport": what a connection is served per turn).
#include "tests/support/hostile.h"
#include "tests/support/rawwebsocket.h"
#include "tests/support/serverprocess.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>
#include <limits>
#include <memory>

using anonchat::test::Flooder;
using anonchat::test::median;
using anonchat::test::RawWebSocket;
using anonchat::test::timedGet;

namespace {

constexpr int kWait = 5000;
const QByteArray kStats = "{\"event\":\"get_stats\"}";

#define TAKE_EVENT(raw, event)                                                                     \
    QVERIFY2((raw).takeEvent(QStringLiteral(event)).has_value(),                                   \
             qPrintable(QStringLiteral("no %1; pending: %2").arg(event, (raw).describePending())))

} // namespace

class TstHostile : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void pingFloodNotReading();
    void floodDoesNotStarveOthers();

private:
    bool startProcess(anonchat::test::ServerProcess &server, qint64 *rssBoundKiB = nullptr);

    std::unique_ptr<QTemporaryDir> m_dir;
};

void TstHostile::init()
{
    RawWebSocket::violations().clear();
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TstHostile::cleanup()
{
    m_dir.reset();
    const QStringList violations = RawWebSocket::violations();
    QVERIFY2(violations.isEmpty(), qPrintable(violations.join(QLatin1Char('\n'))));
}

// The real binary on one thread; `rssBoundKiB`: see floodRssBoundKiB().
bool TstHostile::startProcess(anonchat::test::ServerProcess &server, qint64 *rssBoundKiB)
{
    if (rssBoundKiB)
        *rssBoundKiB = anonchat::test::floodRssBoundKiB(server);
    QString why;
    const bool ok = server.start({QStringLiteral("--port"), QStringLiteral("0"),
                                  QStringLiteral("--threads"), QStringLiteral("1"),
                                  QStringLiteral("--db"), m_dir->filePath(QStringLiteral("p.db"))},
                                 &why);
    if (!ok)
        qWarning() << "anonchat-server did not start:" << why;
    return ok;
}

// A client that sends pings flat out and never reads: the server's pongs queue up for it; past
// 1 MiB queued it is closed (1008 or the TCP dropped), and the server's memory stays bounded.
void TstHostile::pingFloodNotReading()
{
    anonchat::test::ServerProcess server;
    qint64 rssBound = 0;
    QVERIFY(startProcess(server, &rssBound));
    RawWebSocket warm;
    QVERIFY(warm.open(server.port()));
    const qint64 rssBefore = server.rssKiB();
    QVERIFY(rssBefore > 0);

    constexpr qint64 kMaxFlood = 48ll << 20;
    Flooder flood;
    QVERIFY(flood.open(server.port(), 4096));
    flood.start(false, kMaxFlood, 10000);
    qint64 rssPeak = rssBefore;
    while (flood.running()) {
        QTest::qWait(20);
        rssPeak = std::max(rssPeak, server.rssKiB());
    }
    flood.stop();
    const qint64 written = flood.written;
    const char *when = flood.ended() ? "while flooding" : "after the flood";
    const bool ended = flood.drain(5000);
    rssPeak = std::max(rssPeak, server.rssKiB());
    qInfo("pings written %lld KiB, pongs read %lld KiB, close %d, TCP ended %s, RSS %lld -> peak "
          "%lld KiB",
          written >> 10, flood.received() >> 10, flood.closeCode(), ended ? when : "never",
          rssBefore, rssPeak);
    QVERIFY2(ended, "the server never ended the flooding connection");
    QVERIFY2(written < kMaxFlood, "the flood ran to its end without being closed");
    if (flood.closeCode() != -1)
        QCOMPARE(flood.closeCode(), 1008);
    // Read back: at most the 1 MiB queue plus what the kernel buffers held.
    QVERIFY2(flood.received() < (8ll << 20), qPrintable(QString::number(flood.received())));
    QVERIFY2(rssPeak - rssBefore < rssBound,
             qPrintable(QStringLiteral("RSS grew by %1 KiB").arg(rssPeak - rssBefore)));
    QVERIFY(server.running());
    warm.sendText(kStats);
    TAKE_EVENT(warm, "stats");
}

// With one thread, a client streaming pings (and reading the pongs) does not starve another:
// its get_stats round trip and a GET /healthz each take under 1 s (median of 5).
void TstHostile::floodDoesNotStarveOthers()
{
    anonchat::test::ServerProcess server;
    QVERIFY(startProcess(server));
    RawWebSocket other;
    QVERIFY(other.open(server.port()));
    Flooder flood;
    QVERIFY(flood.open(server.port()));
    flood.start(true, std::numeric_limits<qint64>::max(), 20000);
    QTRY_VERIFY_WITH_TIMEOUT(flood.written > (1 << 20), kWait); // flooding in earnest

    QList<qint64> stats, healthz;
    const qint64 floodedBefore = flood.written;
    for (int i = 0; i < 5; ++i) {
        QElapsedTimer clock;
        clock.start();
        other.sendText(kStats);
        stats << (other.takeEvent(QStringLiteral("stats"), 3000) ? clock.elapsed() : 3000);
        int status = 0;
        const qint64 ms = timedGet(server.port(), "/healthz", &status);
        healthz << (status == 200 ? ms : 3000);
    }
    const qint64 flooded = flood.written - floodedBefore;
    flood.stop();
    qInfo("get_stats %lld ms, /healthz %lld ms (medians); the flood wrote %lld KiB meanwhile",
          median(stats), median(healthz), flooded >> 10);
    QVERIFY2(flooded > (1 << 20), "the flood did not go on during the measurements");
    QVERIFY2(median(stats) < 1000, qPrintable(QString::number(median(stats))));
    QVERIFY2(median(healthz) < 1000, qPrintable(QString::number(median(healthz))));
}

QTEST_GUILESS_MAIN(TstHostile)
#include "tst_hostile.moc"
