// tst_server, operations: a storage failure answered with `internal`, shutdown with 1001, and the
// /metrics page.

#include "tests/server/chat/chatsuite.h"

using namespace anonchat::test::chat;

class TstServerOperations : public ChatSuite
{
    Q_OBJECT

private slots:
    void storageFailure();
    void shutdown();
    void metrics();

private:
    /// The server's own QWebSocket for `client`, if it is one of the server's children (a
    /// connection on the first node).
    QWebSocket *serverSideOf(const TestClient &client) const;
};

QWebSocket *TstServerOperations::serverSideOf(const TestClient &client) const
{
    for (QWebSocket *ws : m_server->findChildren<QWebSocket *>()) {
        if (ws->peerPort() == client.localPort())
            return ws;
    }
    return nullptr;
}

void TstServerOperations::storageFailure()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    Db db(m_dbPath);
    QVERIFY2(db.ok(), qPrintable(db.error()));
    QTRY_VERIFY_WITH_TIMEOUT(
        !db.row(QStringLiteral("SELECT id FROM chat_rooms WHERE id = ?"), {room}).isEmpty(), kWait);
    QVERIFY2(db.exec(QStringLiteral("CREATE TRIGGER tst_fail BEFORE INSERT ON messages "
                                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END;")),
             qPrintable(db.error()));

    a.sendText(QStringLiteral("lost"), QStringLiteral("n1"));
    QJsonObject e;
    TAKE_ERROR(a, "internal", &e);
    QCOMPARE(str(e, "event"), QStringLiteral("send_message"));
    QCOMPARE(a.count(QStringLiteral("new_message")), 0);
    QUIET(b);
    QCOMPARE(db.value(QStringLiteral("SELECT COUNT(*) FROM messages")).toInt(), 0);

    QVERIFY2(db.exec(QStringLiteral("DROP TRIGGER tst_fail")), qPrintable(db.error()));
    // The same nonce again: it was never stored, so now it is.
    a.sendText(QStringLiteral("lost"), QStringLiteral("n1"));
    QJsonObject ma;
    QJsonObject mb;
    TAKE_NEXT(a, "new_message", &ma);
    TAKE_NEXT(b, "new_message", &mb);
    QCOMPARE(str(ma, "nonce"), QStringLiteral("n1"));
    QCOMPARE(str(mb, "content"), QStringLiteral("lost"));
    a.sendText(QStringLiteral("and more"));
    TAKE_NEXT(a, "new_message", nullptr);
    TAKE_NEXT(b, "new_message", nullptr);
    QCOMPARE(
        db.value(QStringLiteral("SELECT COUNT(*) FROM messages WHERE room_id = ?"), {room}).toInt(),
        2);

    const QHash<QString, double> m = metricsNow();
    QCOMPARE(m.value(QStringLiteral("anonchat_errors_total{code=\"internal\"}"), -1), 1.0);
    QCOMPARE(m.value(QStringLiteral("anonchat_messages_stored_total"), -1), 2.0);
    QUIET(a);
    QUIET(b);
}

void TstServerOperations::shutdown()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B"));
    qint64 room = 0;
    PAIR(a, b, room);
    const quint16 serverPort = port();
    QSignalSpy stopped(m_server.get(), &ChatServer::stopped);

    // Shut down right after the server has taken the message in, before its commit is reported:
    // the message is pending at that moment. The server's own QWebSocket for A (the first
    // connection: on the first node, whose objects are the server's children) reports the frame
    // to the server first, then to this slot, connected after it.
    bool hooked = false;
    QWebSocket *serverSide = serverSideOf(a);
    QVERIFY(serverSide);
    connect(serverSide, &QWebSocket::textMessageReceived, m_server.get(),
            [server = m_server.get(), &hooked](const QString &text) {
                if (text.contains(QLatin1String("send_message"))) {
                    hooked = true;
                    server->shutdown();
                }
            });
    a.sendText(QStringLiteral("last words"), QStringLiteral("z"));

    QVERIFY(stopped.wait(5000));
    QVERIFY(hooked);
    QCOMPARE(stopped.count(), 1);
    // The pending message was committed and acknowledged before the close.
    QJsonObject ma;
    QJsonObject mb;
    TAKE(a, "new_message", &ma);
    QCOMPARE(str(ma, "nonce"), QStringLiteral("z"));
    TAKE(b, "new_message", &mb);
    QCOMPARE(mb.value(QLatin1String("id")), ma.value(QLatin1String("id")));
    QVERIFY(a.waitDisconnected());
    QVERIFY(b.waitDisconnected());
    QCOMPARE(a.closeCode(), 1001);
    QCOMPARE(b.closeCode(), 1001);

    m_server->shutdown(); // idempotent
    QTest::qWait(50);
    QCOMPARE(stopped.count(), 1);

    Db db(m_dbPath);
    QVERIFY2(db.ok(), qPrintable(db.error()));
    QCOMPARE(db.value(QStringLiteral("SELECT content FROM messages WHERE id = ?"),
                      {ma.value(QLatin1String("id")).toInteger()})
                 .toString(),
             QStringLiteral("last words"));
    QCOMPARE(
        db.value(QStringLiteral("SELECT is_active FROM chat_rooms WHERE id = ?"), {room}).toInt(),
        0);

    // No longer accepting.
    TestClient c(QStringLiteral("C"));
    QVERIFY(!c.connectSocket(serverPort));
}

void TstServerOperations::metrics()
{
    QVERIFY(startServer());
    TestClient a(QStringLiteral("A")), b(QStringLiteral("B")), c(QStringLiteral("C"));
    qint64 room = 0;
    PAIR(a, b, room);
    OPEN(c);
    for (int i = 0; i < 3; ++i) {
        a.sendText(QStringLiteral("m%1").arg(i));
        TAKE_NEXT(a, "new_message", nullptr);
        TAKE_NEXT(b, "new_message", nullptr);
    }
    c.sendText(QStringLiteral("nobody here"));
    TAKE_ERROR(c, "not_in_room", nullptr);
    c.send(proto::Typing{true});
    TAKE_ERROR(c, "not_in_room", nullptr);
    c.sendRaw(QStringLiteral("nope"));
    TAKE_ERROR(c, "bad_json", nullptr);
    c.send(proto::LeaveQueue{});
    TAKE_ERROR(c, "not_in_queue", nullptr);

    int status = 0;
    const QByteArray body = httpGet(QStringLiteral("/metrics"), &status);
    QCOMPARE(status, 200);
    const QHash<QString, double> m = parseMetrics(body);
    QCOMPARE(m.value(QStringLiteral("anonchat_messages_stored_total"), -1), 3.0);
    QCOMPARE(m.value(QStringLiteral("anonchat_connections"), -1), 3.0);
    QCOMPARE(m.value(QStringLiteral("anonchat_queued_users"), -1), 0.0);
    QCOMPARE(m.value(QStringLiteral("anonchat_active_rooms"), -1), 1.0);
    QVERIFY(m.value(QStringLiteral("anonchat_commit_seconds_count"), -1) >= 1.0);
    for (int i = 0; i < proto::kErrorCodeCount; ++i) {
        const QString code = proto::errorCodeName(static_cast<proto::ErrorCode>(i));
        const QString key = QStringLiteral("anonchat_errors_total{code=\"%1\"}").arg(code);
        double expected = 0;
        if (code == QLatin1String("not_in_room"))
            expected = 2;
        else if (code == QLatin1String("bad_json") || code == QLatin1String("not_in_queue"))
            expected = 1;
        QVERIFY2(m.contains(key), qPrintable(key));
        QCOMPARE(m.value(key), expected);
    }
}

QTEST_GUILESS_MAIN(TstServerOperations)
#include "tst_server_operations.moc"
