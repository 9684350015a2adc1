#pragma once
// WebSocket frames and the upgrade request as bytes, for clients written by hand over a TCP socket
// (tests/support/rawwebsocket.h, the bench's idle connections): client frames built with any first
// byte, mask and length form, and server frames taken off a receive buffer.

#include <QByteArray>
#include <array>
#include <optional>

namespace anonchat::test::wire {

enum Opcode : quint8 {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};
constexpr quint8 kFin = 0x80;

/// How the payload length is written: the shortest form (RFC 6455), or a forced 16/64-bit one.
enum class Length { Shortest, Bits16, Bits64 };

inline constexpr std::array<quint8, 4> kMask = {0x37, 0xfa, 0x21, 0x3d};

/// The head of a client frame: `firstByte` (FIN|RSV|opcode), the mask bit, the announced length in
/// the chosen form, the masking key when masked.
inline QByteArray frameHead(quint8 firstByte, quint64 length, bool masked = true,
                            Length form = Length::Shortest,
                            const std::array<quint8, 4> &mask = kMask)
{
    QByteArray out;
    out.append(char(firstByte));
    const quint8 maskBit = masked ? 0x80 : 0x00;
    if (form == Length::Shortest)
        form = length <= 125      ? Length::Shortest
               : length <= 0xffff ? Length::Bits16
                                  : Length::Bits64;
    if (form == Length::Shortest) {
        out.append(char(maskBit | length));
    } else if (form == Length::Bits16) {
        out.append(char(maskBit | 126));
        out.append(char((length >> 8) & 0xff));
        out.append(char(length & 0xff));
    } else {
        out.append(char(maskBit | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.append(char((length >> shift) & 0xff));
    }
    if (masked) {
        for (const quint8 byte : mask)
            out.append(char(byte));
    }
    return out;
}

/// One whole client frame (head and payload, masked with `mask` when `masked`).
inline QByteArray frame(quint8 firstByte, const QByteArray &payload, bool masked = true,
                        Length form = Length::Shortest, const std::array<quint8, 4> &mask = kMask)
{
    QByteArray out = frameHead(firstByte, quint64(payload.size()), masked, form, mask);
    const qsizetype start = out.size();
    out.append(payload);
    if (masked) {
        for (qsizetype i = 0; i < payload.size(); ++i)
            out[start + i] = char(quint8(payload[i]) ^ mask[size_t(i % 4)]);
    }
    return out;
}

/// The body of a close frame: the code (big-endian), then the reason.
inline QByteArray closeBody(quint16 code, const QByteArray &reason = {})
{
    QByteArray body;
    body.append(char(code >> 8));
    body.append(char(code & 0xff));
    return body + reason;
}

/// The upgrade request of PROTOCOL.md for `GET /ws` with the `Host` header `host`;
/// `extraHeaders` (each ending in CRLF) go before the blank line.
inline QByteArray upgradeRequestFor(const QByteArray &host, const QByteArray &extraHeaders = {})
{
    return "GET /ws HTTP/1.1\r\n"
           "Host: " +
           host +
           "\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n" +
           extraHeaders + "\r\n";
}

/// The same for a server on 127.0.0.1:`port`.
inline QByteArray upgradeRequest(quint16 port, const QByteArray &extraHeaders = {})
{
    return upgradeRequestFor("127.0.0.1:" + QByteArray::number(port), extraHeaders);
}

/// One frame as received: its first byte (FIN, RSV, opcode), whether it was masked, its payload
/// (unmasked).
struct Frame {
    quint8 first = 0;
    bool masked = false;
    QByteArray payload;
    int opcode() const { return first & 0x0f; }
};

/// Takes the first frame off `buffer`; nothing (and `buffer` untouched) while it is not whole.
inline std::optional<Frame> takeFrame(QByteArray &buffer)
{
    if (buffer.size() < 2)
        return std::nullopt;
    const auto b1 = quint8(buffer[1]);
    qsizetype header = 2;
    quint64 length = b1 & 0x7f;
    if (length >= 126) {
        const int bytes = length == 126 ? 2 : 8;
        if (buffer.size() < 2 + bytes)
            return std::nullopt;
        length = 0;
        for (int i = 0; i < bytes; ++i)
            length = (length << 8) | quint8(buffer[2 + i]);
        header += bytes;
    }
    Frame f;
    f.first = quint8(buffer[0]);
    f.masked = b1 & 0x80;
    const qsizetype maskAt = header;
    if (f.masked)
        header += 4;
    if (quint64(buffer.size()) < quint64(header) + length)
        return std::nullopt;
    f.payload = buffer.mid(header, qsizetype(length));
    if (f.masked) {
        for (qsizetype i = 0; i < f.payload.size(); ++i)
            f.payload[i] = char(f.payload[i] ^ buffer[maskAt + i % 4]);
    }
    buffer.remove(0, header + qsizetype(length));
    return f;
}

} // namespace anonchat::test::wire
