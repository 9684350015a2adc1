#include "server/net/ratelimiter.h"

#include <algorithm>
#include <cmath>

namespace anonchat::server {

TokenBucket::TokenBucket(double ratePerSecond, double burst, qint64 nowMs)
    : m_rate(ratePerSecond)
    , m_burst(burst)
    , m_tokens(burst)
    , m_lastMs(nowMs)
{}

void TokenBucket::refill(qint64 nowMs)
{
    if (nowMs > m_lastMs) {
        m_tokens = std::min(m_burst, m_tokens + double(nowMs - m_lastMs) * m_rate / 1000.0);
        m_lastMs = nowMs;
    }
}

qint64 TokenBucket::take(qint64 nowMs)
{
    if (unlimited())
        return 0;
    refill(nowMs);
    if (m_tokens >= 1.0) {
        m_tokens -= 1.0;
        return 0;
    }
    return std::max<qint64>(1, qint64(std::ceil((1.0 - m_tokens) * 1000.0 / m_rate)));
}

RateLimiter::RateLimiter(int perSecond, qint64 nowMs)
{
    if (perSecond <= 0)
        return;
    for (TokenBucket &bucket : m_buckets)
        bucket = TokenBucket(perSecond, 2.0 * perSecond, nowMs);
    // Far over the limit: about five bursts' worth of refused frames in a short time.
    m_abuse = TokenBucket(perSecond, 10.0 * perSecond, nowMs);
}

qint64 RateLimiter::check(Kind kind, qint64 nowMs)
{
    return m_buckets[static_cast<int>(kind)].take(nowMs);
}

bool RateLimiter::strike(qint64 nowMs)
{
    return m_abuse.take(nowMs) > 0;
}

} // namespace anonchat::server
