#pragma once

// Admission by proof of work (`--pow-bits`, PROTOCOL.md "Admission by proof of work").

#include "shared/events.h"
#include "shared/messages.h"

#include <QCoreApplication>
#include <optional>

namespace anonchat::server {

struct Session;

/**
 * The node's gate for `--pow-bits`: a fresh challenge for each session, the `welcome.pow` it is
 * sent, and whether a `join_queue`/`next` may queue it: an admitted session passes, one whose
 * `pow_nonce` solves its challenge is admitted for its life (and across a resume), any other is
 * refused. With 0 bits every session is admitted and there is no challenge.
 */
class PowGate
{
    Q_DECLARE_TR_FUNCTIONS(PowGate)
public:
    explicit PowGate(int bits)
        : m_bits(bits)
    {}

    bool enabled() const { return m_bits > 0; }
    /// kPowChallengeBytes from the system CSPRNG; empty when off.
    QByteArray newChallenge() const;
    /// What `welcome.data.pow` carries for `s` (nothing when off).
    std::optional<protocol::PowChallenge> welcomeFor(const Session &s) const;

    struct Refusal {
        protocol::ErrorCode code;
        QString message;
    };
    /// Admits `s` when `powNonce` solves its challenge; the error to send otherwise.
    std::optional<Refusal> admit(Session &s, const QString &powNonce) const;

private:
    int m_bits = 0;
};

} // namespace anonchat::server
