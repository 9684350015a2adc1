#pragma once

#include "loadworker.h"

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QUrl>
#include <vector>

class QTcpSocket;

namespace anonchat::bench {

/**
 * One thread's share of the idle connections. Each is a TCP socket bound, before it connects, to
 * the next of the source addresses (127.0.0.x: every source address has its own ~28,000
 * ephemeral ports towards one server port, and Qt's QWebSocket cannot choose its source), upgraded
 * by hand (tests/support/wireframes.h) and then left idle but alive: it answers the server's pings
 * and reads whatever else comes. Counts `welcome`s, failures and drops in SharedState as
 * LoadWorker does. Every method but the constructor runs on the worker's thread.
 */
class IdleWorker : public QObject
{
    Q_OBJECT
public:
    IdleWorker(const QList<QUrl> &urls, const QList<QHostAddress> &sources, int index,
               SharedState *shared);
    ~IdleWorker() override;

    /// Opens `count` more connections, at most `maxInFlight` handshakes at a time.
    void open(int count, int maxInFlight);
    /// Closes and deletes every connection.
    void closeAll();

private:
    enum class State { Connecting, Upgrading, Open, Gone };
    struct Connection {
        QTcpSocket *socket = nullptr;
        State state = State::Connecting;
        bool welcomed = false;
        QByteArray buffer;
    };

    void openMore();
    void onConnected(int index);
    void onReadyRead(int index);
    /// The frames of an open connection: its welcome counted, pings answered.
    void takeFrames(Connection &c);
    void onGone(int index);

    QList<QUrl> m_urls;
    QList<QHostAddress> m_sources;
    int m_index = 0;
    SharedState *m_shared;
    std::vector<Connection> m_connections;
    int m_toOpen = 0;
    int m_inFlight = 0;
    int m_maxInFlight = 1;
    bool m_closing = false;
};

} // namespace anonchat::bench
