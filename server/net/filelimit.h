#pragma once

namespace anonchat::server {

/// The process's open-file limit (RLIMIT_NOFILE): what it was and what it is now.
struct OpenFileLimit {
    long long before = -1; ///< the soft limit found at start; -1 unknown
    long long now = -1;    ///< the soft limit in force; -1 unknown or unlimited
};

/// Raises the soft open-file limit to the hard one (every connection is a descriptor; Debian's
/// default soft limit is 1,024). Call once at start, before any thread is made.
OpenFileLimit raiseOpenFileLimit();

/// The soft open-file limit in force; -1 when unknown or unlimited.
long long openFileLimit();

} // namespace anonchat::server
