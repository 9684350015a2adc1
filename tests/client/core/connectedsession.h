#pragma once
// A ChatSession of the desktop client connected to a test's in-process server, for the suites
// of tests/client/core that talk to one.
#include "client/core/chatsession.h"
#include "client/core/connection.h"

#include <QTest>
#include <QUrl>
#include <memory>

namespace anonchat::test {

/// A session opened on `url` (quick reconnects) once it is Idle; nullptr if it never gets there.
inline std::unique_ptr<client::ChatSession> connectedSession(const QUrl &url)
{
    auto s = std::make_unique<client::ChatSession>();
    s->connection()->setReconnectDelays(50, 400);
    if (!s->open(url))
        return nullptr;
    if (!QTest::qWaitFor([&] { return s->state() == client::ChatSession::State::Idle; }, 5000))
        return nullptr;
    return s;
}

} // namespace anonchat::test
