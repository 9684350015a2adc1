#include "client/core/powsolver.h"

#include "shared/proofofwork.h"

#include <QMetaObject>
#include <algorithm>
#include <cmath>

namespace anonchat::client {

PowSolver::PowSolver(QObject *parent)
    : QObject(parent)
{}

PowSolver::~PowSolver()
{
    stopThread();
}

void PowSolver::cancel()
{
    stopThread();
    ++m_generation;
    m_running = false;
}

void PowSolver::stopThread()
{
    if (m_cancel)
        m_cancel->store(true);
    if (m_thread.joinable())
        m_thread.join();
    m_cancel.reset();
}

void PowSolver::start(const protocol::PowChallenge &pow)
{
    cancel();
    m_running = true;
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    const quint64 generation = m_generation;
    const double expected = std::ldexp(1.0, pow.bits);
    m_thread = std::thread([this, pow, generation, expected, cancel = m_cancel] {
        // Signals are posted to this object's thread; ones of a cancelled search are dropped
        // there (the generation moved on).
        const auto report = [this, generation, expected, last = -1](quint64 tries) mutable {
            const int percent = int(std::min(99.0, 100.0 * double(tries) / expected));
            if (percent == last)
                return;
            last = percent;
            QMetaObject::invokeMethod(this, [this, generation, percent] {
                if (generation == m_generation)
                    emit progress(percent);
            });
        };
        const std::optional<QString> nonce =
            protocol::solvePow(pow.challenge, pow.bits, *cancel, report);
        if (!nonce)
            return;
        QMetaObject::invokeMethod(this, [this, generation, challenge = pow.challenge, n = *nonce] {
            if (generation != m_generation)
                return;
            m_running = false;
            emit solved(challenge, n);
        });
    });
}

} // namespace anonchat::client
