#pragma once

#include <QtGlobal>

namespace anonchat::server {

/**
 * A token bucket: `ratePerSecond` tokens per second, holding at most `burst`. A rate of 0 means
 * no limit. Time comes in as a monotonic millisecond count, so it is exact in tests.
 */
class TokenBucket
{
public:
    TokenBucket() = default;
    TokenBucket(double ratePerSecond, double burst, qint64 nowMs);

    /// Takes one token. Returns 0 if allowed, otherwise the milliseconds until one is available.
    qint64 take(qint64 nowMs);

    bool unlimited() const { return m_rate <= 0; }

private:
    void refill(qint64 nowMs);

    double m_rate = 0;
    double m_burst = 0;
    double m_tokens = 0;
    qint64 m_lastMs = 0;
};

/// The per-user limits of PROTOCOL.md: messages, typing and queue events each have a bucket of
/// N per second with bursts up to 2N; everything else shares one more; repeated refusals drain
/// an abuse bucket, and an empty abuse bucket means "sustained abuse" (close 1008).
class RateLimiter
{
public:
    enum class Kind { Message, Typing, Queue, Other };

    RateLimiter() = default;
    RateLimiter(int perSecond, qint64 nowMs);

    /// 0 if allowed, otherwise retry-after in milliseconds.
    qint64 check(Kind kind, qint64 nowMs);

    /// Records a refused or invalid frame; true when the client is now far over its limits.
    bool strike(qint64 nowMs);

private:
    TokenBucket m_buckets[4];
    TokenBucket m_abuse;
};

} // namespace anonchat::server
