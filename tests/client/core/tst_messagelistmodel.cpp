// MessageListModel: QAbstractItemModelTester (Fatal) through every kind of change, role values,
// and deduplication by id and by nonce.

#include "client/core/messagelistmodel.h"

#include <QAbstractItemModelTester>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTest>

using namespace anonchat::client;
using namespace anonchat::protocol;
using Kind = MessageListModel::Kind;
using Delivery = MessageListModel::Delivery;
using Outcome = MessageListModel::Outcome;

namespace {

NewMessage message(qint64 id, const QString &sender, const QString &content,
                   const QString &nonce = {})
{
    NewMessage m;
    m.id = id;
    m.roomId = 7;
    m.senderId = sender;
    m.content = content;
    m.timestamp = QDateTime(QDate(2026, 11, 23), QTime(22, 41, 7, 123), Qt::UTC).addSecs(id);
    m.nonce = nonce;
    return m;
}

} // namespace

class TestMessageListModel : public QObject
{
    Q_OBJECT
private slots:
    void init();
    void cleanup();

    void emptyModel();
    void roleNames();
    void pendingThenAck();
    void ackWithoutPendingRowAddsSentRow();
    void theirsAndSystemRoles();
    void dedupeById();
    void dedupeByNonce();
    void failedThenLateAck();
    void markFailedOnlyPending();
    void clearAndReuse();
    void manyRowsUnderTester();

private:
    MessageListModel *m_model = nullptr;
    QAbstractItemModelTester *m_tester = nullptr;
};

void TestMessageListModel::init()
{
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*"))); // the tester warns first
    m_model = new MessageListModel;
    m_tester = new QAbstractItemModelTester(m_model,
                                            QAbstractItemModelTester::FailureReportingMode::Fatal);
}

void TestMessageListModel::cleanup()
{
    delete m_tester;
    m_tester = nullptr;
    delete m_model;
    m_model = nullptr;
}

void TestMessageListModel::emptyModel()
{
    QCOMPARE(m_model->rowCount(), 0);
    QCOMPARE(m_model->count(), 0);
    QVERIFY(!m_model->data(m_model->index(0), MessageListModel::TextRole).isValid());
    QCOMPARE(m_model->rowOfNonce(QStringLiteral("x")), -1);
    QCOMPARE(m_model->rowOfId(1), -1);
    m_model->clear(); // nothing to reset
    QCOMPARE(m_model->rowCount(), 0);
}

void TestMessageListModel::roleNames()
{
    const QHash<int, QByteArray> names = m_model->roleNames();
    QCOMPARE(names.value(Qt::DisplayRole), QByteArray("text"));
    QCOMPARE(names.value(MessageListModel::KindRole), QByteArray("kind"));
    QCOMPARE(names.value(MessageListModel::TimeRole), QByteArray("time"));
    QCOMPARE(names.value(MessageListModel::DeliveryRole), QByteArray("delivery"));
    QCOMPARE(names.value(MessageListModel::IdRole), QByteArray("messageId"));
    QCOMPARE(names.value(MessageListModel::NonceRole), QByteArray("nonce"));
    QCOMPARE(int(MessageListModel::TextRole), int(Qt::DisplayRole));
}

void TestMessageListModel::pendingThenAck()
{
    QSignalSpy inserted(m_model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changed(m_model, &QAbstractItemModel::dataChanged);
    QSignalSpy count(m_model, &MessageListModel::countChanged);
    const QDateTime sentAt = QDateTime::currentDateTimeUtc();
    const int row = m_model->appendPending(QStringLiteral("héllo 👋"), QStringLiteral("n1"), sentAt);
    QCOMPARE(row, 0);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(count.count(), 1);
    const QModelIndex i = m_model->index(0);
    QCOMPARE(i.data(Qt::DisplayRole).toString(), QStringLiteral("héllo 👋"));
    QCOMPARE(i.data(MessageListModel::KindRole).toInt(), int(Kind::Mine));
    QCOMPARE(i.data(MessageListModel::DeliveryRole).toInt(), int(Delivery::Pending));
    QCOMPARE(i.data(MessageListModel::TimeRole).toDateTime(), sentAt);
    QVERIFY(!i.data(MessageListModel::IdRole).isValid());
    QCOMPARE(i.data(MessageListModel::NonceRole).toString(), QStringLiteral("n1"));

    // The same nonce again (a double click resent) does not add a row.
    QCOMPARE(m_model->appendPending(QStringLiteral("héllo 👋"), QStringLiteral("n1")), 0);
    QCOMPARE(m_model->rowCount(), 1);

    const NewMessage ack =
        message(42, QStringLiteral("aaaaaaaa"), QStringLiteral("héllo 👋"), QStringLiteral("n1"));
    QCOMPARE(m_model->appendMessage(ack, true), Outcome::Acknowledged);
    QCOMPARE(m_model->rowCount(), 1);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(changed.count(), 1);
    const QList<int> roles = changed.at(0).at(2).value<QList<int>>();
    QVERIFY(roles.contains(MessageListModel::DeliveryRole));
    QVERIFY(roles.contains(MessageListModel::IdRole));
    QCOMPARE(i.data(MessageListModel::DeliveryRole).toInt(), int(Delivery::Sent));
    QCOMPARE(i.data(MessageListModel::IdRole).toLongLong(), 42);
    QCOMPARE(i.data(MessageListModel::TimeRole).toDateTime(), ack.timestamp);
    QCOMPARE(i.data(MessageListModel::TimeRole).toDateTime().timeSpec(), Qt::UTC);
    QCOMPARE(m_model->rowOfId(42), 0);
    QCOMPARE(m_model->rowOfNonce(QStringLiteral("n1")), 0);

    // The ack again (resume replay, or a resend answered with the stored message).
    QCOMPARE(m_model->appendMessage(ack, true), Outcome::Duplicate);
    QCOMPARE(m_model->rowCount(), 1);
    QCOMPARE(changed.count(), 1);
}

void TestMessageListModel::ackWithoutPendingRowAddsSentRow()
{
    // Our message from another device state (e.g. the model was rebuilt): shown as Sent.
    const NewMessage m =
        message(5, QStringLiteral("aaaaaaaa"), QStringLiteral("x"), QStringLiteral("n9"));
    QCOMPARE(m_model->appendMessage(m, true), Outcome::Added);
    QCOMPARE(m_model->entry(0).kind, Kind::Mine);
    QCOMPARE(m_model->entry(0).delivery, Delivery::Sent);
    QCOMPARE(m_model->entry(0).nonce, QStringLiteral("n9"));
    QCOMPARE(m_model->appendMessage(m, true), Outcome::Duplicate);
    QCOMPARE(m_model->rowCount(), 1);
}

void TestMessageListModel::theirsAndSystemRoles()
{
    const NewMessage theirs = message(3, QStringLiteral("bbbbbbbb"), QStringLiteral("<b>hi</b>"));
    QCOMPARE(m_model->appendMessage(theirs, false), Outcome::Added);
    const int sys = m_model->appendSystem(QStringLiteral("You're now chatting"));
    QCOMPARE(sys, 1);

    const QModelIndex t = m_model->index(0);
    QCOMPARE(t.data().toString(), QStringLiteral("<b>hi</b>")); // as written: text, not markup
    QCOMPARE(t.data(MessageListModel::KindRole).toInt(), int(Kind::Theirs));
    QCOMPARE(t.data(MessageListModel::DeliveryRole).toInt(), int(Delivery::None));
    QCOMPARE(t.data(MessageListModel::IdRole).toLongLong(), 3);
    QVERIFY(!t.data(MessageListModel::NonceRole).isValid());
    QCOMPARE(t.data(MessageListModel::TimeRole).toDateTime(), theirs.timestamp);

    const QModelIndex s = m_model->index(1);
    QCOMPARE(s.data().toString(), QStringLiteral("You're now chatting"));
    QCOMPARE(s.data(MessageListModel::KindRole).toInt(), int(Kind::System));
    QCOMPARE(s.data(MessageListModel::DeliveryRole).toInt(), int(Delivery::None));
    QVERIFY(!s.data(MessageListModel::IdRole).isValid());
    QVERIFY(!s.data(MessageListModel::NonceRole).isValid());
    QVERIFY(s.data(MessageListModel::TimeRole).toDateTime().isValid());
    QVERIFY(!s.data(Qt::DecorationRole).isValid());

    QCOMPARE(m_model->count(Kind::Theirs), 1);
    QCOMPARE(m_model->count(Kind::System), 1);
    QCOMPARE(m_model->count(Kind::Mine), 0);
}

void TestMessageListModel::dedupeById()
{
    const NewMessage theirs = message(10, QStringLiteral("bbbbbbbb"), QStringLiteral("once"));
    QCOMPARE(m_model->appendMessage(theirs, false), Outcome::Added);
    QCOMPARE(m_model->appendMessage(theirs, false), Outcome::Duplicate);
    // A replay through resume has no nonce and the same id.
    NewMessage replay = theirs;
    QCOMPARE(m_model->appendMessage(replay, false), Outcome::Duplicate);
    QCOMPARE(m_model->rowCount(), 1);
    QCOMPARE(m_model->appendMessage(message(11, QStringLiteral("bbbbbbbb"), QStringLiteral("two")),
                                    false),
             Outcome::Added);
    QCOMPARE(m_model->rowCount(), 2);
    QCOMPARE(m_model->rowOfId(11), 1);
}

void TestMessageListModel::dedupeByNonce()
{
    m_model->appendPending(QStringLiteral("a"), QStringLiteral("na"));
    m_model->appendPending(QStringLiteral("b"), QStringLiteral("nb"));
    m_model->appendSystem(QStringLiteral("notice"));
    // Acks in a different order than sent, the second one twice.
    QCOMPARE(
        m_model->appendMessage(
            message(21, QStringLiteral("me"), QStringLiteral("b"), QStringLiteral("nb")), true),
        Outcome::Acknowledged);
    QCOMPARE(
        m_model->appendMessage(
            message(20, QStringLiteral("me"), QStringLiteral("a"), QStringLiteral("na")), true),
        Outcome::Acknowledged);
    QCOMPARE(
        m_model->appendMessage(
            message(21, QStringLiteral("me"), QStringLiteral("b"), QStringLiteral("nb")), true),
        Outcome::Duplicate);
    QCOMPARE(m_model->rowCount(), 3);
    QCOMPARE(m_model->entry(0).id, 20);
    QCOMPARE(m_model->entry(1).id, 21);
    QCOMPARE(m_model->entry(0).delivery, Delivery::Sent);
    QCOMPARE(m_model->entry(1).delivery, Delivery::Sent);
    // The server trims: the stored text wins.
    m_model->appendPending(QStringLiteral("  padded  "), QStringLiteral("nc"));
    m_model->appendMessage(
        message(22, QStringLiteral("me"), QStringLiteral("padded"), QStringLiteral("nc")), true);
    QCOMPARE(m_model->entry(3).text, QStringLiteral("padded"));
}

void TestMessageListModel::failedThenLateAck()
{
    m_model->appendPending(QStringLiteral("late"), QStringLiteral("nl"));
    QSignalSpy changed(m_model, &QAbstractItemModel::dataChanged);
    QVERIFY(m_model->markFailed(QStringLiteral("nl")));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(m_model->index(0).data(MessageListModel::DeliveryRole).toInt(), int(Delivery::Failed));
    // It was stored after all (the ack of a room that ended meanwhile): Sent, still one row.
    QCOMPARE(
        m_model->appendMessage(
            message(30, QStringLiteral("me"), QStringLiteral("late"), QStringLiteral("nl")), true),
        Outcome::Acknowledged);
    QCOMPARE(m_model->rowCount(), 1);
    QCOMPARE(m_model->entry(0).delivery, Delivery::Sent);
}

void TestMessageListModel::markFailedOnlyPending()
{
    QVERIFY(!m_model->markFailed(QStringLiteral("unknown")));
    QVERIFY(!m_model->markFailed(QString()));
    m_model->appendPending(QStringLiteral("x"), QStringLiteral("nx"));
    m_model->appendMessage(
        message(40, QStringLiteral("me"), QStringLiteral("x"), QStringLiteral("nx")), true);
    QVERIFY(!m_model->markFailed(QStringLiteral("nx"))); // Sent stays Sent
    QCOMPARE(m_model->entry(0).delivery, Delivery::Sent);
    m_model->appendPending(QStringLiteral("y"), QStringLiteral("ny"));
    QVERIFY(m_model->markFailed(QStringLiteral("ny")));
    QVERIFY(!m_model->markFailed(QStringLiteral("ny"))); // already failed
}

void TestMessageListModel::clearAndReuse()
{
    m_model->appendPending(QStringLiteral("x"), QStringLiteral("n1"));
    m_model->appendMessage(message(50, QStringLiteral("bbbbbbbb"), QStringLiteral("y")), false);
    m_model->appendSystem(QStringLiteral("z"));
    QSignalSpy reset(m_model, &QAbstractItemModel::modelReset);
    QSignalSpy count(m_model, &MessageListModel::countChanged);
    m_model->clear();
    QCOMPARE(reset.count(), 1);
    QCOMPARE(count.count(), 1);
    QCOMPARE(m_model->rowCount(), 0);
    QCOMPARE(m_model->rowOfId(50), -1);
    QCOMPARE(m_model->rowOfNonce(QStringLiteral("n1")), -1);
    // After a clear the same id or nonce is a new row again (a new conversation).
    QCOMPARE(
        m_model->appendMessage(message(50, QStringLiteral("bbbbbbbb"), QStringLiteral("y")), false),
        Outcome::Added);
    QCOMPARE(m_model->appendPending(QStringLiteral("x"), QStringLiteral("n1")), 1);
    QCOMPARE(m_model->rowCount(), 2);
}

void TestMessageListModel::manyRowsUnderTester()
{
    // A long mixed conversation; the tester checks every signal and index on the way.
    for (int i = 1; i <= 200; ++i) {
        switch (i % 4) {
        case 0: m_model->appendPending(QString::number(i), QStringLiteral("n%1").arg(i)); break;
        case 1:
            m_model->appendMessage(message(i, QStringLiteral("bbbbbbbb"), QString::number(i)),
                                   false);
            break;
        case 2: m_model->appendSystem(QString::number(i)); break;
        case 3:
            m_model->appendPending(QString::number(i), QStringLiteral("n%1").arg(i));
            m_model->markFailed(QStringLiteral("n%1").arg(i));
            break;
        }
        if (i % 4 == 0 && i > 4)
            m_model->appendMessage(message(1000 + i, QStringLiteral("me"), QString::number(i - 4),
                                           QStringLiteral("n%1").arg(i - 4)),
                                   true);
    }
    QCOMPARE(m_model->rowCount(), 200);
    QCOMPARE(m_model->count(Kind::Mine), 100);
    QCOMPARE(m_model->count(Kind::Theirs), 50);
    QCOMPARE(m_model->count(Kind::System), 50);
    int sent = 0, pending = 0, failed = 0;
    for (int r = 0; r < m_model->rowCount(); ++r) {
        switch (m_model->entry(r).delivery) {
        case Delivery::Sent: ++sent; break;
        case Delivery::Pending: ++pending; break;
        case Delivery::Failed: ++failed; break;
        case Delivery::None: break;
        }
    }
    QCOMPARE(sent, 49);
    QCOMPARE(pending, 1);
    QCOMPARE(failed, 50);
    m_model->clear();
    QCOMPARE(m_model->rowCount(), 0);
}

QTEST_GUILESS_MAIN(TestMessageListModel)
#include "tst_messagelistmodel.moc"
