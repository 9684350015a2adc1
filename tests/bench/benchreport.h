#pragma once

#include "benchrun.h"

#include <QJsonObject>

namespace anonchat::bench {

/// anonchat-bench's result as one JSON object (what scripts/bench.sh reads).
QJsonObject benchReport(const Options &o, const Measurements &m);

/// The same result as lines of text for a person.
void printBenchReport(const Options &o, const Measurements &m, const QJsonObject &report);

} // namespace anonchat::bench
