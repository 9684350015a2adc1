#include "server/net/filelimit.h"

#include <sys/resource.h>

namespace anonchat::server {

namespace {

long long finite(rlim_t value)
{
    return value == RLIM_INFINITY ? -1 : static_cast<long long>(value);
}

} // namespace

OpenFileLimit raiseOpenFileLimit()
{
    OpenFileLimit out;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return out;
    out.before = finite(limit.rlim_cur);
    if (limit.rlim_cur != limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    out.now = finite(limit.rlim_cur);
    return out;
}

long long openFileLimit()
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return -1;
    return finite(limit.rlim_cur);
}

} // namespace anonchat::server
