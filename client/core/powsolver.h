// PowSolver: the search for a `welcome.pow` nonce, on a thread of its own.
#pragma once

#include "shared/messages.h"

#include <QObject>
#include <atomic>
#include <memory>
#include <thread>

namespace anonchat::client {

/**
 * Searches the nonce of a `welcome.pow` challenge (PROTOCOL.md, "Admission by proof of work") on
 * a worker thread, so the window never waits for it. One search at a time: start() cancels the
 * one before, and so do cancel() and the destructor (the search looks at its cancel flag every
 * 4096 hashes, well under a millisecond). Signals arrive on the solver's own thread, and only for
 * the search running now.
 */
class PowSolver : public QObject
{
    Q_OBJECT
public:
    explicit PowSolver(QObject *parent = nullptr);
    ~PowSolver() override;

    void start(const protocol::PowChallenge &pow);
    void cancel();
    bool isRunning() const { return m_running; }

signals:
    /// Hashes tried so far, as a percentage of the expected 2^bits (at most 99).
    void progress(int percent);
    void solved(const QByteArray &challenge, const QString &nonce);

private:
    void stopThread();

    std::thread m_thread;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    quint64 m_generation = 0; ///< of the search running now; older ones' signals are dropped
    bool m_running = false;
};

} // namespace anonchat::client
