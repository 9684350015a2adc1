// FieldReader: typed, validated reads of an event's `data` fields, for the frame decoders.
#pragma once

#include "shared/codec.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>

namespace anonchat::protocol::internal {

// Reads typed fields from an event's `data`, recording the first problem as `invalid_data`.
class FieldReader
{
public:
    FieldReader(const QJsonObject &data, DecodeError &error)
        : m_data(data)
        , m_error(error)
    {}

    bool ok() const { return m_ok; }

    bool fail(const QString &message)
    {
        if (m_ok) {
            m_ok = false;
            m_error.code = ErrorCode::InvalidData;
            m_error.message = message;
        }
        return false;
    }

    /// A string field; absent gives `fallback` unless required. maxChars < 0: no limit.
    QString string(const char *key, bool required, int maxChars = -1, QString fallback = {})
    {
        const QJsonValue v = m_data.value(QLatin1String(key));
        if (v.isUndefined() || (v.isNull() && !required)) {
            if (required)
                fail(QStringLiteral("'%1' is required").arg(QLatin1String(key)));
            return fallback;
        }
        if (!v.isString()) {
            fail(QStringLiteral("'%1' must be a string").arg(QLatin1String(key)));
            return fallback;
        }
        QString s = v.toString();
        if (maxChars >= 0 && codePointCount(s) > maxChars) {
            fail(QStringLiteral("'%1' is longer than %2 characters")
                     .arg(QLatin1String(key))
                     .arg(maxChars));
            return fallback;
        }
        return s;
    }

    bool boolean(const char *key, bool required, bool fallback = false)
    {
        const QJsonValue v = m_data.value(QLatin1String(key));
        if (v.isUndefined()) {
            if (required)
                fail(QStringLiteral("'%1' is required").arg(QLatin1String(key)));
            return fallback;
        }
        if (!v.isBool()) {
            fail(QStringLiteral("'%1' must be true or false").arg(QLatin1String(key)));
            return fallback;
        }
        return v.toBool();
    }

    qint64 integer(const char *key, bool required, qint64 fallback = 0)
    {
        const QJsonValue v = m_data.value(QLatin1String(key));
        if (v.isUndefined() || (v.isNull() && !required)) {
            if (required)
                fail(QStringLiteral("'%1' is required").arg(QLatin1String(key)));
            return fallback;
        }
        const double d = v.toDouble(-1.5);
        // The range first: casting a double outside qint64's range (1e300) is undefined.
        if (!v.isDouble() || !(d >= -1e15 && d <= 1e15) ||
            d != static_cast<double>(static_cast<qint64>(d))) {
            fail(QStringLiteral("'%1' must be an integer").arg(QLatin1String(key)));
            return fallback;
        }
        return static_cast<qint64>(d);
    }

    QStringList stringList(const char *key, bool required)
    {
        const QJsonValue v = m_data.value(QLatin1String(key));
        if (v.isUndefined() || v.isNull()) {
            if (required)
                fail(QStringLiteral("'%1' is required").arg(QLatin1String(key)));
            return {};
        }
        if (!v.isArray()) {
            fail(QStringLiteral("'%1' must be a list of strings").arg(QLatin1String(key)));
            return {};
        }
        QStringList out;
        for (const QJsonValue &item : v.toArray()) {
            if (!item.isString()) {
                fail(QStringLiteral("'%1' must be a list of strings").arg(QLatin1String(key)));
                return {};
            }
            out.append(item.toString());
        }
        return out;
    }

    QJsonObject object(const char *key)
    {
        const QJsonValue v = m_data.value(QLatin1String(key));
        if (v.isUndefined() || v.isNull())
            return {};
        if (!v.isObject()) {
            fail(QStringLiteral("'%1' must be an object").arg(QLatin1String(key)));
            return {};
        }
        return v.toObject();
    }

private:
    const QJsonObject &m_data;
    DecodeError &m_error;
    bool m_ok = true;
};

/// `interests`, normalised; too many or too long ones are `invalid_data`.
inline bool readInterests(FieldReader &r, QStringList &out)
{
    const QStringList raw = r.stringList("interests", false);
    if (!r.ok())
        return false;
    if (!normaliseInterests(raw, out))
        return r.fail(QStringLiteral("at most %1 interests of at most %2 characters each")
                          .arg(kMaxInterests)
                          .arg(kMaxInterestChars));
    return true;
}

/// `lang`, normalised to its primary subtag; absent, null or "" is no language.
inline bool readLanguage(FieldReader &r, QString &out)
{
    const QString raw = r.string("lang", false);
    if (!r.ok())
        return false;
    if (!normaliseLanguage(raw, out))
        return r.fail(QStringLiteral("'lang' must be a language tag such as \"zh\" or \"en-US\""));
    return true;
}

} // namespace anonchat::protocol::internal
