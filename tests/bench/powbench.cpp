// anonchat-pow-bench: what `--pow-bits` costs (docs/performance.md, "Proof of work"). The
// desktop app's search (protocol::solvePow, the function PowSolver runs on its thread) for each N
// over several random challenges, and the server's check of one `join_queue`: decoding the frame
// and verifying its nonce (protocol::powSolves), per call.
//
//   anonchat-pow-bench [--challenges K] [--bits 16,18,20]

#include "shared/codec.h"
#include "shared/proofofwork.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QTextStream>
#include <algorithm>
#include <atomic>
#include <ctime>
#include <vector>

using namespace anonchat::protocol;

namespace {

QByteArray randomChallenge()
{
    QByteArray bytes(kPowChallengeBytes, Qt::Uninitialized);
    QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(bytes.data()),
                                          kPowChallengeBytes / 4);
    return bytes;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void benchSolver(QTextStream &out, int bits, int challenges)
{
    std::vector<double> ms;
    double tries = 0;
    double totalMs = 0;
    const std::atomic<bool> cancel{false};
    const std::clock_t cpuStart = std::clock();
    for (int i = 0; i < challenges; ++i) {
        const QByteArray challenge = randomChallenge();
        QElapsedTimer t;
        t.start();
        const std::optional<QString> nonce = solvePow(challenge, bits, cancel);
        const double elapsed = double(t.nsecsElapsed()) / 1e6;
        ms.push_back(elapsed);
        totalMs += elapsed;
        tries += double(nonce->toULongLong() + 1);
    }
    const double cpuS = double(std::clock() - cpuStart) / CLOCKS_PER_SEC;
    const double rate = tries / (totalMs / 1000);
    // CPU time too: on a shared machine the wall clock also counts other processes' turns.
    out << QStringLiteral("app solver  N=%1: median %2 ms, mean %3 ms over %4 challenges; "
                          "%5 hashes/s (%6 per CPU second), so 2^N hashes (the mean work) take "
                          "%7 ms (%8 ms of CPU)\n")
               .arg(bits)
               .arg(median(ms), 0, 'f', 1)
               .arg(totalMs / challenges, 0, 'f', 1)
               .arg(challenges)
               .arg(rate, 0, 'f', 0)
               .arg(tries / cpuS, 0, 'f', 0)
               .arg(double(1u << bits) / rate * 1000, 0, 'f', 1)
               .arg(double(1u << bits) / (tries / cpuS) * 1000, 0, 'f', 1);
    out.flush();
}

void benchCheck(QTextStream &out, int bits)
{
    const QByteArray challenge = randomChallenge();
    const std::atomic<bool> cancel{false};
    const QString nonce = *solvePow(challenge, bits, cancel);
    const QByteArray frame =
        QStringLiteral(R"({"event":"join_queue","data":{"pow_nonce":"%1"}})").arg(nonce).toUtf8();
    constexpr int kCalls = 200000;
    int ok = 0;
    QElapsedTimer t;
    t.start();
    for (int i = 0; i < kCalls; ++i)
        ok += powSolves(challenge, nonce, bits) ? 1 : 0;
    const double verifyUs = double(t.nsecsElapsed()) / 1e3 / kCalls;
    t.restart();
    for (int i = 0; i < kCalls; ++i) {
        const ClientDecodeResult r = decodeClientFrame(frame);
        const auto &join = std::get<JoinQueue>(std::get<ClientMessage>(r));
        ok += powSolves(challenge, join.powNonce, bits) ? 1 : 0;
    }
    const double decodeUs = double(t.nsecsElapsed()) / 1e3 / kCalls;
    out << QStringLiteral("server check: %1 µs per nonce verified (SHA-256 of %2 bytes); %3 µs "
                          "per join_queue decoded and verified (%4 calls each, %5 accepted)\n")
               .arg(verifyUs, 0, 'f', 2)
               .arg(kPowChallengeBytes + nonce.size())
               .arg(decodeUs, 0, 'f', 2)
               .arg(kCalls)
               .arg(ok);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    parser.addOptions(
        {{"challenges", "Random challenges per N (default 15).", "K", "15"},
         {"bits", "The Ns, comma-separated (default 16,18,20).", "LIST", "16,18,20"}});
    parser.process(app);
    const int challenges = std::max(1, parser.value("challenges").toInt());
    QTextStream out(stdout);
    for (const QString &n : parser.value("bits").split(QLatin1Char(','))) {
        const int bits = n.toInt();
        if (bits < 1 || bits > kMaxPowBits) {
            QTextStream(stderr) << "--bits: each N is 1.." << kMaxPowBits << "\n";
            return 2;
        }
        benchSolver(out, bits, challenges);
    }
    benchCheck(out, 20);
    return 0;
}
