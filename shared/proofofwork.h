#pragma once

// Proof of work for admission (`--pow-bits`, PROTOCOL.md "Admission"): the check the server
// makes and the search a client makes, one definition for both.

#include "shared/limits.h"

#include <QByteArray>
#include <QString>
#include <atomic>
#include <functional>
#include <optional>

namespace anonchat::protocol {

/// Leading zero bits of `digest`, from the most significant bit of its first byte on.
int leadingZeroBits(const QByteArray &digest);

/// SHA-256 of the challenge's bytes followed by the nonce's UTF-8.
QByteArray powDigest(const QByteArray &challenge, const QString &nonce);

/// Whether `nonce` solves `challenge` (raw bytes) at `bits`.
bool powSolves(const QByteArray &challenge, const QString &nonce, int bits);

/// Searches nonces "0", "1", "2"... (decimal) until one solves `challenge` at `bits`; every
/// 4096 tries it calls `progress` (if set) with the count so far and stops (nullopt) once
/// `cancel` is true. Runs on the calling thread.
std::optional<QString> solvePow(const QByteArray &challenge, int bits,
                                const std::atomic<bool> &cancel,
                                const std::function<void(quint64 tries)> &progress = {});

} // namespace anonchat::protocol
