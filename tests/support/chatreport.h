// A report made the way users make one, for the suites of the moderation kit's clients.
#pragma once

#include "tests/support/rawwebsocket.h"

#include <QByteArray>
#include <QHostAddress>
#include <QString>

namespace anonchat::test {

/// The loopback address 127.0.0.`last` (Linux routes all of 127/8 to lo): clients bound to
/// different ones count as different addresses for the server's bans.
inline QHostAddress loopbackAddress(int last)
{
    return QHostAddress(QStringLiteral("127.0.0.%1").arg(last));
}

/// `reporter` and `reported` (both open on the server) join the queue and are paired;
/// `reported` says `text`, `reporter` reports the chat with `reason` and is acknowledged.
inline bool pairAndReport(RawWebSocket &reporter, RawWebSocket &reported, const QByteArray &text,
                          const QByteArray &reason = "spam")
{
    reported.sendEvent("join_queue");
    reporter.sendEvent("join_queue");
    if (!reporter.takeEvent(QStringLiteral("matched")) ||
        !reported.takeEvent(QStringLiteral("matched")))
        return false;
    reported.sendText(R"({"event":"send_message","data":{"content":")" + text + R"("}})");
    if (!reporter.takeEvent(QStringLiteral("new_message")))
        return false;
    reporter.sendText(R"({"event":"report","data":{"reason":")" + reason + R"("}})");
    return reporter.takeEvent(QStringLiteral("reported")).has_value();
}

} // namespace anonchat::test
