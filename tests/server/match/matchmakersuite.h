// The helpers of the tst_matchmaker suites: the interest wait they use, and match checks.
#pragma once

#include "server/match/matchmaker.h"

#include <QHash>
#include <QMap>
#include <QRandomGenerator>
#include <QSet>
#include <QTest>
#include <map>

namespace anonchat::test::matchmaking {

using anonchat::server::Match;
using anonchat::server::Matchmaker;
using anonchat::server::UserKey;

constexpr qint64 Wait = 5000;

inline bool isMatch(const std::optional<Match> &match, UserKey first, UserKey second)
{
    return match && match->first == first && match->second == second;
}

inline bool isMatch(const Match &match, UserKey first, UserKey second)
{
    return match.first == first && match.second == second;
}

} // namespace anonchat::test::matchmaking
