#pragma once
// main() for the suites that ctest runs twice: on Qt's default event dispatcher and, with
// ANONCHAT_TEST_DISPATCHER=epoll, on anonchat-server's own (as in production).

#include "server/net/epolldispatcher.h"

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QTest>

namespace anonchat::test {

template <typename Suite>
int runOnChosenDispatcher(int argc, char *argv[])
{
    const bool epoll = qgetenv("ANONCHAT_TEST_DISPATCHER") == "epoll";
    if (epoll)
        QCoreApplication::setEventDispatcher(new server::EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    if (epoll &&
        !qobject_cast<server::EpollEventDispatcher *>(QAbstractEventDispatcher::instance())) {
        qCritical("the epoll dispatcher is not installed");
        return 1;
    }
    Suite suite;
    return QTest::qExec(&suite, argc, argv);
}

} // namespace anonchat::test
