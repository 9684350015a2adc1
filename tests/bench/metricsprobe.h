#pragma once

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QUrl>

namespace anonchat::bench {

/// The unlabelled samples of GET /metrics (Prometheus text format), by metric name. Empty when the
/// server has no /metrics (the Node relay) or does not answer within `timeoutMs`. Blocking: for
/// the bench's main thread, between phases.
QHash<QByteArray, double> scrapeMetrics(const QUrl &webSocketUrl, int timeoutMs = 2000);

/// The sum of `name` over the servers at `urls`; -1 if any of them lacks it.
double sumMetric(const QList<QUrl> &urls, const QByteArray &name);

} // namespace anonchat::bench
