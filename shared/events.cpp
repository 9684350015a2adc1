#include "shared/events.h"

namespace anonchat::protocol {

namespace {

template <typename Enum, int N>
std::optional<Enum> lookup(const char *const (&names)[N], QStringView name)
{
    for (int i = 0; i < N; ++i) {
        if (name == QLatin1String(names[i]))
            return static_cast<Enum>(i);
    }
    return std::nullopt;
}

#define ANONCHAT_NAME_ENTRY(type, name) name,
const char *const kClientNames[] = {ANONCHAT_CLIENT_EVENTS(ANONCHAT_NAME_ENTRY)};
const char *const kServerNames[] = {ANONCHAT_SERVER_EVENTS(ANONCHAT_NAME_ENTRY)};
const char *const kErrorNames[] = {ANONCHAT_ERROR_CODES(ANONCHAT_NAME_ENTRY)};
#undef ANONCHAT_NAME_ENTRY
const char *const kLeaveReasonNames[] = {"left", "next", "disconnected"};

} // namespace

QString eventName(ClientEvent event)
{
    return QLatin1String(kClientNames[static_cast<int>(event)]);
}

QString eventName(ServerEvent event)
{
    return QLatin1String(kServerNames[static_cast<int>(event)]);
}

QString errorCodeName(ErrorCode code)
{
    return QLatin1String(kErrorNames[static_cast<int>(code)]);
}

std::optional<ClientEvent> clientEventFromName(QStringView name)
{
    return lookup<ClientEvent>(kClientNames, name);
}

std::optional<ServerEvent> serverEventFromName(QStringView name)
{
    return lookup<ServerEvent>(kServerNames, name);
}

std::optional<ErrorCode> errorCodeFromName(QStringView name)
{
    return lookup<ErrorCode>(kErrorNames, name);
}

QString leaveReasonName(LeaveReason reason)
{
    return QLatin1String(kLeaveReasonNames[static_cast<int>(reason)]);
}

std::optional<LeaveReason> leaveReasonFromName(QStringView name)
{
    return lookup<LeaveReason>(kLeaveReasonNames, name);
}

} // namespace anonchat::protocol
