// The QJsonDocument frame writer: client frames, and the tests' reference server encoder.
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QString>

namespace anonchat::protocol::internal {

/// `{"data":{...},"event":"..."}` in compact JSON (`data` left out when empty), with a U+FEFF at
/// the start of a string escaped: Qt 6.4's reader would drop it raw, as a byte order mark.
QByteArray jsonFrame(const QString &event, const QJsonObject &data);

} // namespace anonchat::protocol::internal
