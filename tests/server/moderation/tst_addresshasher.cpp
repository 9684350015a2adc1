// AddressHasher: the keyed hash that stands for an address in reports and bans (PROTOCOL.md,
// "Bans and address hashes"): HMAC-SHA-256 of the address's prefix, keyed with the secret.

#include "server/moderation/addresshasher.h"
#include "server/moderation/banlist.h"

#include <QMessageAuthenticationCode>
#include <QTest>

using anonchat::server::AddressHasher;
using anonchat::server::Ban;
using anonchat::server::BanList;

class TestAddressHasher : public QObject
{
    Q_OBJECT

private slots:
    void isTheHmacOfTheIpv4Address()
    {
        const QByteArray secret = QByteArray::fromHex("00112233445566778899aabbccddeeff");
        const AddressHasher hasher(secret);
        const QString expected =
            QString::fromLatin1(QMessageAuthenticationCode::hash(QByteArray::fromHex("c0000201"),
                                                                 secret, QCryptographicHash::Sha256)
                                    .toHex());
        QCOMPARE(hasher.hash(QHostAddress(QStringLiteral("192.0.2.1"))), expected);
        QCOMPARE(expected.size(), 64);
        // IPv4-mapped IPv6 is the same address.
        QCOMPARE(hasher.hash(QHostAddress(QStringLiteral("::ffff:192.0.2.1"))), expected);
        QVERIFY(hasher.hash(QHostAddress(QStringLiteral("192.0.2.2"))) != expected);
    }

    void anIpv6Slash64IsOneAddress()
    {
        const QByteArray secret(32, 'k');
        const AddressHasher hasher(secret);
        const QString a = hasher.hash(QHostAddress(QStringLiteral("2001:db8:1:2::1")));
        QCOMPARE(hasher.hash(QHostAddress(QStringLiteral("2001:db8:1:2:ffff:1:2:3"))), a);
        QVERIFY(hasher.hash(QHostAddress(QStringLiteral("2001:db8:1:3::1"))) != a);
        const QString expected = QString::fromLatin1(
            QMessageAuthenticationCode::hash(QByteArray::fromHex("20010db800010002"), secret,
                                             QCryptographicHash::Sha256)
                .toHex());
        QCOMPARE(a, expected);
    }

    void anotherSecretGivesAnotherHash()
    {
        const QHostAddress peer(QStringLiteral("127.0.0.2"));
        QVERIFY(AddressHasher(QByteArray(32, 'a')).hash(peer) !=
                AddressHasher(QByteArray(32, 'b')).hash(peer));
    }

    void banListHoldsUntilTheLatestEnd()
    {
        const QDateTime now = QDateTime::currentDateTimeUtc();
        BanList bans;
        QVERIFY(!bans.bannedUntil(QStringLiteral("h"), now));
        bans.add(Ban{1, QStringLiteral("h"), now.addSecs(60), {}, now, 0});
        bans.add(Ban{2, QStringLiteral("h"), now.addSecs(3600), {}, now, 0});
        QCOMPARE(*bans.bannedUntil(QStringLiteral("h"), now), now.addSecs(3600));
        QVERIFY(!bans.bannedUntil(QStringLiteral("h"), now.addSecs(3600))); // over
        bans.lift(2);
        QCOMPARE(*bans.bannedUntil(QStringLiteral("h"), now), now.addSecs(60));
        bans.replace({});
        QVERIFY(!bans.bannedUntil(QStringLiteral("h"), now));
        QCOMPARE(bans.size(), 0);
    }
};

QTEST_GUILESS_MAIN(TestAddressHasher)
#include "tst_addresshasher.moc"
