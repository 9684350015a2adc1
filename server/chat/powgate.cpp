#include "server/chat/powgate.h"

#include "server/chat/session.h"
#include "shared/proofofwork.h"

#include <QRandomGenerator>

namespace anonchat::server {

using namespace anonchat::protocol;

QByteArray PowGate::newChallenge() const
{
    if (!enabled())
        return {};
    QByteArray bytes(kPowChallengeBytes, Qt::Uninitialized);
    QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(bytes.data()),
                                          kPowChallengeBytes / int(sizeof(quint32)));
    return bytes;
}

std::optional<PowChallenge> PowGate::welcomeFor(const Session &s) const
{
    if (!enabled())
        return std::nullopt;
    return PowChallenge{s.powChallenge, m_bits};
}

std::optional<PowGate::Refusal> PowGate::admit(Session &s, const QString &powNonce) const
{
    if (!enabled() || s.powAdmitted)
        return std::nullopt;
    if (powNonce.isEmpty())
        return Refusal{ErrorCode::PowRequired,
                       tr("solve welcome.pow and send its nonce as pow_nonce")};
    if (!powSolves(s.powChallenge, powNonce, m_bits))
        return Refusal{ErrorCode::PowInvalid, tr("pow_nonce does not solve this connection's "
                                                 "challenge")};
    s.powAdmitted = true;
    return std::nullopt;
}

} // namespace anonchat::server
