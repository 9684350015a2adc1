// Timestamps written as `2026-11-23T22:41:07.123Z` by hand: QDateTime's formatter is slow.
#pragma once

#include <QtGlobal>

namespace anonchat::protocol::internal {

constexpr int kTimestampChars = 24; // 2026-11-23T22:41:07.123Z

/// Writes kTimestampChars characters at `p`; false for a year outside 1-9999 (QDate has no
/// year 0, so earlier years are numbered differently: Qt's format then).
bool writeTimestamp(char *p, qint64 msecs);

} // namespace anonchat::protocol::internal
