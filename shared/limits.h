#pragma once

#include <QtGlobal>

namespace anonchat::protocol {

/// Wire protocol version announced in `welcome`.
inline constexpr int kProtocolVersion = 1;

/// Limits of PROTOCOL.md, shared by every side so they can never disagree.
inline constexpr int kMaxMessageChars = 500; ///< code points, after trimming
inline constexpr int kMaxInterests = 5;
inline constexpr int kMaxInterestChars = 32; ///< code points, after trimming
inline constexpr int kMaxNonceChars = 64;
inline constexpr int kMaxReportReasonChars = 200;
inline constexpr int kMaxResumeTokenChars = 128;
inline constexpr int kMaxPowNonceChars = 64; ///< characters of `join_queue`'s `pow_nonce`
/// Random bytes of a proof-of-work challenge (sent as twice as many lowercase hex digits).
inline constexpr int kPowChallengeBytes = 16;
/// The largest `--pow-bits`: 2^24 hashes on average, tens of seconds in a browser.
inline constexpr int kMaxPowBits = 24;
inline constexpr int kMaxLanguageChars = 35; ///< characters of a `lang` tag as sent
inline constexpr qint64 kMaxFrameBytes = 16 * 1024;
inline constexpr int kTypingExpiryMs = 6000;

} // namespace anonchat::protocol
