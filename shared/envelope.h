// A frame's envelope (`event` and `data`) read from UTF-8 JSON, shared by both frame decoders.
#pragma once

#include "shared/codec.h"

#include <QJsonObject>

namespace anonchat::protocol::internal {

struct Envelope {
    QString event;
    QJsonObject data;
    bool dataIsObject = true; ///< checked only once the event is known to be one of ours
};

/// `validUtf8`: the bytes come from QString::toUtf8(), which never makes invalid UTF-8 (a lone
/// surrogate becomes '?'), so they need no second check.
bool readEnvelope(const QByteArray &utf8, Envelope &env, DecodeError &error,
                  bool validUtf8 = false);

/// `invalid_data` for a `data` that is neither an object nor null.
DecodeError dataNotObject(const Envelope &env);
/// `unknown_event` for an event name not in the table.
DecodeError unknownEvent(const Envelope &env);

} // namespace anonchat::protocol::internal
