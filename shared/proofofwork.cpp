// Proof of work: SHA-256(challenge bytes ‖ UTF-8 nonce) with at least N leading zero bits.
#include "shared/proofofwork.h"

#include <QCryptographicHash>

namespace anonchat::protocol {

int leadingZeroBits(const QByteArray &digest)
{
    int bits = 0;
    for (const char c : digest) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte == 0) {
            bits += 8;
            continue;
        }
        for (unsigned mask = 0x80; (byte & mask) == 0; mask >>= 1)
            ++bits;
        break;
    }
    return bits;
}

QByteArray powDigest(const QByteArray &challenge, const QString &nonce)
{
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(challenge);
    hash.addData(nonce.toUtf8());
    return hash.result();
}

bool powSolves(const QByteArray &challenge, const QString &nonce, int bits)
{
    // A lone surrogate has no UTF-8 form (toUtf8() would substitute one).
    if (!nonce.isValidUtf16())
        return false;
    return leadingZeroBits(powDigest(challenge, nonce)) >= bits;
}

std::optional<QString> solvePow(const QByteArray &challenge, int bits,
                                const std::atomic<bool> &cancel,
                                const std::function<void(quint64 tries)> &progress)
{
    QCryptographicHash hash(QCryptographicHash::Sha256);
    for (quint64 n = 0;; ++n) {
        if ((n & 4095) == 0 && n > 0) {
            if (cancel.load(std::memory_order_relaxed))
                return std::nullopt;
            if (progress)
                progress(n);
        }
        const QByteArray nonce = QByteArray::number(n);
        hash.reset();
        hash.addData(challenge);
        hash.addData(nonce);
        if (leadingZeroBits(hash.result()) >= bits)
            return QString::fromLatin1(nonce);
    }
}

} // namespace anonchat::protocol
