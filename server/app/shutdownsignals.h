#pragma once

#include <QObject>

class QSocketNotifier;

namespace anonchat::server {

/// Turns SIGINT and SIGTERM into a Qt signal, delivered in the event loop (self-pipe), so the
/// server can shut down gracefully instead of dying inside a signal handler.
class ShutdownSignals : public QObject
{
    Q_OBJECT
public:
    explicit ShutdownSignals(QObject *parent = nullptr);
    ~ShutdownSignals() override;

signals:
    void received(int signal);

private:
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace anonchat::server
