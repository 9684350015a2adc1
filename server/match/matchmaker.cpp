#include "server/match/matchmaker.h"

#include <algorithm>

namespace anonchat::server {

namespace {

qint64 saturatingAdd(qint64 a, qint64 b)
{
    // b >= 0 here (the wait is clamped), so only the upper bound can be crossed.
    if (a > std::numeric_limits<qint64>::max() - b) {
        return std::numeric_limits<qint64>::max();
    }
    return a + b;
}

template <typename Index, typename Key, typename Sequence>
void eraseFrom(Index &index, const Key &key, Sequence sequence)
{
    auto users = index.find(key);
    if (users != index.end()) {
        users->erase(sequence);
        if (users->empty()) {
            index.erase(users);
        }
    }
}

} // namespace

Matchmaker::Matchmaker(qint64 interestWaitMs)
    : m_interestWaitMs(std::max<qint64>(0, interestWaitMs))
{}

std::optional<Match> Matchmaker::enqueue(UserKey user, const QStringList &interests, qint64 nowMs)
{
    return enqueue(user, interests, QString(), nowMs);
}

std::optional<Match> Matchmaker::enqueue(UserKey user, const QStringList &interests,
                                         const QString &language, qint64 nowMs)
{
    m_lastNowMs = std::max(m_lastNowMs, nowMs);
    if (m_sequenceOf.contains(user)) {
        return std::nullopt; // idempotent: same place, same interests, same wait
    }

    Entry entry;
    entry.user = user;
    for (const QString &interest : interests) {
        if (!entry.interests.contains(interest)) {
            entry.interests.append(interest);
        }
    }
    entry.language = language;
    entry.enqueuedAtMs = nowMs;
    const bool hasInterests = !entry.interests.isEmpty();
    const bool hasLanguage = !language.isEmpty();
    entry.languageFromMs = languageFromMs(hasInterests, hasLanguage, nowMs, m_interestWaitMs);
    entry.waitEndMs = waitEndMs(hasInterests, hasLanguage, nowMs, m_interestWaitMs);
    entry.sequence = m_nextSequence++;
    entry.open = openToAnyone(entry, nowMs);
    entry.inLanguage = languagePhase(entry, nowMs);

    if (const std::optional<Sequence> partner = findPartner(entry, nowMs, false)) {
        const Entry &waiting = m_queue.at(*partner);
        Match match = makeMatch(waiting, entry);
        takeOut(waiting.user);
        return match;
    }
    insert(std::move(entry));
    return std::nullopt;
}

qint64 Matchmaker::languageFromMs(bool hasInterests, bool hasLanguage, qint64 enqueuedAtMs,
                                  qint64 waitMs)
{
    if (!hasInterests) {
        return enqueuedAtMs;
    }
    if (!hasLanguage) {
        return saturatingAdd(enqueuedAtMs, std::max<qint64>(0, waitMs));
    }
    return saturatingAdd(enqueuedAtMs, std::max<qint64>(0, waitMs) / 2);
}

qint64 Matchmaker::waitEndMs(bool hasInterests, bool hasLanguage, qint64 enqueuedAtMs,
                             qint64 waitMs)
{
    if (!hasInterests && !hasLanguage) {
        return enqueuedAtMs;
    }
    return saturatingAdd(enqueuedAtMs, std::max<qint64>(0, waitMs));
}

bool Matchmaker::remove(UserKey user)
{
    if (!m_sequenceOf.contains(user)) {
        return false;
    }
    takeOut(user);
    return true;
}

bool Matchmaker::contains(UserKey user) const
{
    return m_sequenceOf.contains(user);
}

int Matchmaker::queuedCount() const
{
    return static_cast<int>(m_queue.size());
}

std::vector<Match> Matchmaker::expire(qint64 nowMs)
{
    m_lastNowMs = std::max(m_lastNowMs, nowMs);
    std::vector<Match> matches;

    // Everyone whose language phase has started, or whose wait has ended, moves on before anyone
    // picks, so that the longest waiting of them can pick among all of them.
    std::vector<Sequence> due;
    while (!m_languageWaiting.empty() && m_languageWaiting.begin()->first <= nowMs) {
        const Sequence sequence = m_languageWaiting.begin()->second;
        m_languageWaiting.erase(m_languageWaiting.begin());
        Entry &entry = m_queue.at(sequence);
        entry.inLanguage = true;
        m_byLanguage[entry.language].insert(sequence);
        due.push_back(sequence);
    }
    while (!m_waiting.empty() && m_waiting.begin()->first <= nowMs) {
        const Sequence sequence = m_waiting.begin()->second;
        m_waiting.erase(m_waiting.begin());
        m_queue.at(sequence).open = true;
        m_open.insert(sequence);
        due.push_back(sequence);
    }
    due.insert(due.end(), m_recheck.cbegin(), m_recheck.cend());
    m_recheck.clear();
    std::sort(due.begin(), due.end());
    due.erase(std::unique(due.begin(), due.end()), due.end());

    for (const Sequence sequence : due) {
        const auto it = m_queue.find(sequence);
        if (it == m_queue.end()) {
            continue; // already taken by an earlier one
        }
        const Entry &entry = it->second;
        if (const std::optional<Sequence> partner = findPartner(entry, nowMs, true)) {
            const Entry &other = m_queue.at(*partner);
            const bool entryFirst = entry.sequence < other.sequence;
            matches.push_back(entryFirst ? makeMatch(entry, other) : makeMatch(other, entry));
            const UserKey a = entry.user;
            const UserKey b = other.user;
            takeOut(a);
            takeOut(b);
        }
    }

    // Previous partners may be paired once nobody else is left: after the matches above, or
    // after a remove() since the last call.
    if (m_queue.size() == 2) {
        const Entry &first = m_queue.begin()->second;
        const Entry &second = std::next(m_queue.begin())->second;
        if (canMatch(first, second, nowMs, 2)) {
            matches.push_back(makeMatch(first, second));
            const UserKey a = first.user;
            const UserKey b = second.user;
            takeOut(a);
            takeOut(b);
        }
    }
    return matches;
}

std::optional<qint64> Matchmaker::nextDeadline() const
{
    std::optional<qint64> deadline;
    if (!m_waiting.empty()) {
        deadline = m_waiting.begin()->first;
    }
    if (!m_languageWaiting.empty()) {
        const qint64 start = m_languageWaiting.begin()->first;
        deadline = deadline ? std::min(*deadline, start) : start;
    }
    bool now = !m_recheck.empty();
    if (m_queue.size() == 2) {
        const Entry &first = m_queue.begin()->second;
        const Entry &second = std::next(m_queue.begin())->second;
        now = now || canMatch(first, second, m_lastNowMs, 2);
    }
    if (now) {
        deadline = deadline ? std::min(*deadline, m_lastNowMs) : m_lastNowMs;
    }
    return deadline;
}

void Matchmaker::block(UserKey a, UserKey b)
{
    if (a == b) {
        return;
    }
    m_blocked[a].insert(b);
    m_blocked[b].insert(a);
}

bool Matchmaker::isBlocked(UserKey a, UserKey b) const
{
    const auto it = m_blocked.constFind(a);
    return it != m_blocked.constEnd() && it->contains(b);
}

void Matchmaker::setPreviousPartners(UserKey a, UserKey b)
{
    if (a == b) {
        return;
    }
    const auto link = [this](UserKey from, UserKey to) {
        const auto old = m_previousPartner.constFind(from);
        if (old != m_previousPartner.constEnd()) {
            // Overwriting may free a queued pair (the server only does this for users in a room).
            const auto fromQueued = m_sequenceOf.constFind(from);
            if (*old != to && fromQueued != m_sequenceOf.constEnd() &&
                m_sequenceOf.contains(*old)) {
                m_recheck.insert(*fromQueued);
            }
            auto reverse = m_previousPartnerOf.find(*old);
            if (reverse != m_previousPartnerOf.end()) {
                reverse->remove(from);
                if (reverse->isEmpty()) {
                    m_previousPartnerOf.erase(reverse);
                }
            }
        }
        m_previousPartner.insert(from, to);
        m_previousPartnerOf[to].insert(from);
    };
    link(a, b);
    link(b, a);
}

void Matchmaker::forget(UserKey user)
{
    if (m_sequenceOf.contains(user)) {
        takeOut(user);
    }

    const QSet<UserKey> blocked = m_blocked.take(user);
    for (const UserKey other : blocked) {
        auto it = m_blocked.find(other);
        if (it != m_blocked.end()) {
            it->remove(user);
            if (it->isEmpty()) {
                m_blocked.erase(it);
            }
        }
    }

    const auto partner = m_previousPartner.constFind(user);
    if (partner != m_previousPartner.constEnd()) {
        auto reverse = m_previousPartnerOf.find(*partner);
        if (reverse != m_previousPartnerOf.end()) {
            reverse->remove(user);
            if (reverse->isEmpty()) {
                m_previousPartnerOf.erase(reverse);
            }
        }
        m_previousPartner.erase(partner);
    }
    const QSet<UserKey> pointingHere = m_previousPartnerOf.take(user);
    for (const UserKey other : pointingHere) {
        m_previousPartner.remove(other);
    }
}

bool Matchmaker::openToAnyone(const Entry &entry, qint64 nowMs) const
{
    return entry.open || nowMs >= entry.waitEndMs;
}

bool Matchmaker::languagePhase(const Entry &entry, qint64 nowMs) const
{
    return !entry.language.isEmpty() &&
           (entry.inLanguage || entry.open || nowMs >= entry.languageFromMs);
}

bool Matchmaker::compatibleLanguages(const Entry &a, const Entry &b)
{
    return a.language.isEmpty() || b.language.isEmpty() || a.language == b.language;
}

bool Matchmaker::sharesInterest(const Entry &a, const Entry &b) const
{
    return std::any_of(a.interests.cbegin(), a.interests.cend(),
                       [&b](const QString &interest) { return b.interests.contains(interest); });
}

bool Matchmaker::arePreviousPartners(UserKey a, UserKey b) const
{
    const auto ofA = m_previousPartner.constFind(a);
    if (ofA != m_previousPartner.constEnd() && *ofA == b) {
        return true;
    }
    const auto ofB = m_previousPartner.constFind(b);
    return ofB != m_previousPartner.constEnd() && *ofB == a;
}

bool Matchmaker::allowedPair(const Entry &a, const Entry &b, int queuedWithBoth) const
{
    if (a.user == b.user || isBlocked(a.user, b.user)) {
        return false;
    }
    // The previous partner only when nobody else is in the queue.
    return queuedWithBoth == 2 || !arePreviousPartners(a.user, b.user);
}

bool Matchmaker::canMatch(const Entry &a, const Entry &b, qint64 nowMs, int queuedWithBoth) const
{
    if (!allowedPair(a, b, queuedWithBoth)) {
        return false;
    }
    if (compatibleLanguages(a, b) && sharesInterest(a, b)) {
        return true; // tier 1
    }
    if (a.language == b.language && languagePhase(a, nowMs) && languagePhase(b, nowMs)) {
        return true; // tier 2 (languagePhase() is false without a language)
    }
    return openToAnyone(a, nowMs) && openToAnyone(b, nowMs);
}

std::optional<Matchmaker::Sequence> Matchmaker::findPartner(const Entry &entry, qint64 nowMs,
                                                            bool queued) const
{
    const int queuedWithBoth = static_cast<int>(m_queue.size()) + (queued ? 0 : 1);
    if (const std::optional<Sequence> best = findByInterest(entry, queuedWithBoth)) {
        return best;
    }
    if (languagePhase(entry, nowMs)) {
        if (const std::optional<Sequence> best = findByLanguage(entry, nowMs, queuedWithBoth)) {
            return best;
        }
    }
    if (!openToAnyone(entry, nowMs)) {
        return std::nullopt;
    }
    return findOpen(entry, nowMs, queuedWithBoth);
}

std::optional<Matchmaker::Sequence> Matchmaker::firstAllowed(const std::set<Sequence> *users,
                                                             const Entry &entry,
                                                             int queuedWithBoth) const
{
    // Queued users of one index are mostly pairwise unmatchable, so a scan stops at the first
    // allowed one.
    if (users) {
        for (const Sequence sequence : *users) {
            if (sequence != entry.sequence &&
                allowedPair(entry, m_queue.at(sequence), queuedWithBoth)) {
                return sequence;
            }
        }
    }
    return std::nullopt;
}

std::optional<Matchmaker::Sequence> Matchmaker::findByInterest(const Entry &entry,
                                                               int queuedWithBoth) const
{
    // Tier 1: a shared interest, and no other language. Without a language, any language.
    const auto lookup = [](const auto &index, const auto &key) {
        const auto it = index.constFind(key);
        return it == index.constEnd() ? nullptr : &*it;
    };
    std::optional<Sequence> best;
    const auto consider = [&best](std::optional<Sequence> found) {
        if (found && (!best || *found < *best)) {
            best = found;
        }
    };
    for (const QString &interest : entry.interests) {
        if (entry.language.isEmpty()) {
            consider(firstAllowed(lookup(m_byInterest, interest), entry, queuedWithBoth));
            continue;
        }
        consider(firstAllowed(lookup(m_byInterestLanguage, InterestLanguage(interest, {})), entry,
                              queuedWithBoth));
        consider(
            firstAllowed(lookup(m_byInterestLanguage, InterestLanguage(interest, entry.language)),
                         entry, queuedWithBoth));
    }
    return best;
}

std::optional<Matchmaker::Sequence> Matchmaker::findByLanguage(const Entry &entry, qint64 nowMs,
                                                               int queuedWithBoth) const
{
    // Tier 2: the same language, both in their language phase.
    std::optional<Sequence> best;
    const auto users = m_byLanguage.constFind(entry.language);
    if (users != m_byLanguage.constEnd()) {
        best = firstAllowed(&*users, entry, queuedWithBoth);
    }
    // Phases that have started but that expire() has not handled yet.
    for (auto it = m_languageWaiting.cbegin(); it != m_languageWaiting.cend() && it->first <= nowMs;
         ++it) {
        const Sequence sequence = it->second;
        if (sequence == entry.sequence || (best && sequence >= *best)) {
            continue;
        }
        const Entry &other = m_queue.at(sequence);
        if (other.language == entry.language && allowedPair(entry, other, queuedWithBoth)) {
            best = sequence;
        }
    }
    return best;
}

std::optional<Matchmaker::Sequence> Matchmaker::findOpen(const Entry &entry, qint64 nowMs,
                                                         int queuedWithBoth) const
{
    // Tier 3: anyone open.
    std::optional<Sequence> best = firstAllowed(&m_open, entry, queuedWithBoth);
    // Waits that have ended but that expire() has not handled yet (it runs late, or not yet).
    for (auto it = m_waiting.cbegin(); it != m_waiting.cend() && it->first <= nowMs; ++it) {
        const Sequence sequence = it->second;
        if (sequence == entry.sequence || (best && sequence >= *best)) {
            continue;
        }
        if (allowedPair(entry, m_queue.at(sequence), queuedWithBoth)) {
            best = sequence;
        }
    }
    return best;
}

Match Matchmaker::makeMatch(const Entry &first, const Entry &second) const
{
    Match match;
    match.first = first.user;
    match.second = second.user;
    for (const QString &interest : first.interests) {
        if (second.interests.contains(interest)) {
            match.commonInterests.append(interest);
        }
    }
    match.commonInterests.sort();
    if (first.language == second.language) {
        match.commonLanguage = first.language;
    }
    return match;
}

void Matchmaker::insert(Entry entry)
{
    const Sequence sequence = entry.sequence;
    m_sequenceOf.insert(entry.user, sequence);
    for (const QString &interest : std::as_const(entry.interests)) {
        m_byInterest[interest].insert(sequence);
        m_byInterestLanguage[InterestLanguage(interest, entry.language)].insert(sequence);
    }
    if (entry.inLanguage) {
        m_byLanguage[entry.language].insert(sequence);
    } else if (!entry.language.isEmpty()) {
        m_languageWaiting.insert({entry.languageFromMs, sequence});
    }
    if (entry.open) {
        m_open.insert(sequence);
    } else {
        m_waiting.insert({entry.waitEndMs, sequence});
    }
    m_queue.emplace(sequence, std::move(entry));
}

void Matchmaker::takeOut(UserKey user)
{
    const auto found = m_sequenceOf.constFind(user);
    if (found == m_sequenceOf.constEnd()) {
        return;
    }
    const Sequence sequence = *found;
    m_sequenceOf.erase(found);
    const auto it = m_queue.find(sequence);
    const Entry &entry = it->second;
    for (const QString &interest : entry.interests) {
        eraseFrom(m_byInterest, interest, sequence);
        eraseFrom(m_byInterestLanguage, InterestLanguage(interest, entry.language), sequence);
    }
    if (entry.inLanguage) {
        eraseFrom(m_byLanguage, entry.language, sequence);
    } else if (!entry.language.isEmpty()) {
        m_languageWaiting.erase({entry.languageFromMs, sequence});
    }
    if (entry.open) {
        m_open.erase(sequence);
    } else {
        m_waiting.erase({entry.waitEndMs, sequence});
    }
    m_recheck.erase(sequence);
    m_queue.erase(it);
}

} // namespace anonchat::server
