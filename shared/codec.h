// The protocol library's API: frames decoded, validated and encoded (PROTOCOL.md).
#pragma once

#include "shared/messages.h"

#include <QByteArray>
#include <QString>
#include <variant>

namespace anonchat::protocol {

/// Why a frame was refused: the `error` the server answers with.
struct DecodeError {
    ErrorCode code = ErrorCode::BadJson;
    QString message;
    QString event; ///< the event name, when the frame got that far
};

using ClientDecodeResult = std::variant<ClientMessage, DecodeError>;
using ServerDecodeResult = std::variant<ServerMessage, DecodeError>;

/// Decodes and validates one text frame from a client (UTF-8 JSON). Every rule of PROTOCOL.md
/// ("Message rules", field types and sizes) is checked here; the server acts only on what passes.
ClientDecodeResult decodeClientFrame(const QByteArray &utf8);
ClientDecodeResult decodeClientFrame(const QString &text);
/// The same for bytes already known to be valid UTF-8 (the server's WebSocket layer checks).
ClientDecodeResult decodeCheckedClientFrame(const QByteArray &utf8);

/// Decodes one text frame from the server, for clients. Fields of the wrong type are
/// `invalid_data`; unknown keys are ignored.
ServerDecodeResult decodeServerFrame(const QByteArray &utf8);
ServerDecodeResult decodeServerFrame(const QString &text);

/// Compact UTF-8 JSON for one frame.
QByteArray encode(const ClientMessage &message);
QByteArray encode(const ServerMessage &message);

/// `new_message` for its sender (with the nonce, when there is one) and for the partner (without),
/// from one serialisation of the content: byte for byte what encode() gives for each.
struct NewMessageFrames {
    QByteArray sender;
    QByteArray partner;
};
NewMessageFrames encodeNewMessage(const NewMessage &message);

/// The same as text, for QWebSocket::sendTextMessage().
QString encodeText(const ClientMessage &message);
QString encodeText(const ServerMessage &message);

/// Number of Unicode code points (a surrogate pair counts once).
int codePointCount(QStringView text);

/// `2026-11-23T22:41:07.123Z`
QString formatTimestamp(const QDateTime &utc);
QDateTime parseTimestamp(const QString &text);

/// Interests as the server compares them: trimmed, case-folded, unique, empty ones dropped.
/// Returns false (and leaves `out` alone) when there are too many or one is too long.
bool normaliseInterests(const QStringList &raw, QStringList &out);

/// A `lang` tag as the server compares it: its primary subtag, lower case (`zh-Hant-TW` and
/// `zh_TW` give `zh`); an empty tag gives an empty one (no language). Returns false (and leaves
/// `out` alone) unless the tag is at most kMaxLanguageChars characters of the form
/// `[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*`.
bool normaliseLanguage(const QString &raw, QString &out);

} // namespace anonchat::protocol
