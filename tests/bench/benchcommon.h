#pragma once

#include <QList>
#include <QObject>
#include <QString>
#include <QThread>
#include <QUrl>
#include <memory>

class QCommandLineParser;
class QCoreApplication;
class QWebSocket;

namespace anonchat::bench {

// What anonchat-bench and anonchat-soak share besides procstats.h.

/// Qt's glib event dispatcher costs O(sockets) per wake-up; its own poll dispatcher is lighter.
/// Call before the QCoreApplication is made.
void preferQtEventDispatcher();

/// Prints "<application name>: message" to stderr and exits with 2 (a bad command line).
[[noreturn]] void fail(const QString &message);

/// Processes the command line with `parser`'s options (--help included); fail() on a positional
/// argument.
void processCommandLine(QCommandLineParser &parser, const QCoreApplication &app);

/// The value of option --name as a number within [low, high]; fail() otherwise.
double numberOption(const QCommandLineParser &parser, const char *name, double low, double high);

/// localhost, 127.0.0.0/8 or ::1: these tools load only servers on this machine.
bool isLoopback(const QString &host);

/// The servers of option --url (repeated, or a comma list): ws://HOST:PORT/ws on loopback, from 1
/// to 16 of them; fail() otherwise.
QList<QUrl> loopbackUrls(const QCommandLineParser &parser);

/// A client QWebSocket owned by `owner`, never through a proxy.
QWebSocket *newClientSocket(QObject *owner);

/// Cuts `socket` off from `receiver`'s slots and aborts it; deletes it now, or later when this
/// may run inside one of its signals. Sets it to nullptr.
void discardSocket(QWebSocket *&socket, QObject *receiver, bool later = false);

/// A worker object and the thread whose event loop drives it.
template <typename Worker>
struct ThreadedWorker {
    std::unique_ptr<QThread> thread;
    Worker *worker = nullptr;

    /// Moves a new Worker(args...) to a new thread called `name` and starts the thread.
    template <typename... Args>
    static ThreadedWorker start(const QString &name, Args &&...args)
    {
        ThreadedWorker w;
        w.thread = std::make_unique<QThread>();
        w.thread->setObjectName(name);
        w.worker = new Worker(std::forward<Args>(args)...);
        w.worker->moveToThread(w.thread.get());
        w.thread->start();
        return w;
    }
    /// Ends the thread and deletes the worker.
    void finish()
    {
        thread->quit();
        thread->wait();
        delete worker;
        worker = nullptr;
    }
};

} // namespace anonchat::bench
