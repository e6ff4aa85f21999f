#include "server/follows/snapshot_retention.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/time/civil_time.h"

namespace followgate {

std::vector<int64_t> SnapshotsToPrune(std::vector<RetentionCandidate> complete,
                                      int64_t total_bytes, absl::Time now,
                                      const RetentionLimits& limits) {
  std::sort(complete.begin(), complete.end(),
            [](const RetentionCandidate& a, const RetentionCandidate& b) { return a.id < b.id; });
  // Newest first per query, and the newest per query and UTC day.
  std::map<std::string, std::vector<int64_t>> newest_first;
  std::map<std::pair<std::string, absl::CivilDay>, int64_t> newest_of_day;
  for (auto it = complete.rbegin(); it != complete.rend(); ++it) {
    newest_first[it->query_key].push_back(it->id);
    const absl::CivilDay day = absl::ToCivilDay(it->completed_at, absl::UTCTimeZone());
    newest_of_day.emplace(std::make_pair(it->query_key, day), it->id);
  }
  std::set<int64_t> kept_newest, newest, day_newest;
  for (const auto& [key, ids] : newest_first) {
    newest.insert(ids[0]);
    for (size_t i = 0; i < ids.size() && i < static_cast<size_t>(limits.keep_newest); ++i) {
      kept_newest.insert(ids[i]);
    }
  }
  for (const auto& [key_day, id] : newest_of_day) day_newest.insert(id);

  const absl::Time cutoff = now - limits.max_age;
  std::vector<int64_t> deleted;
  for (const RetentionCandidate& c : complete) {
    if (c.held) continue;
    const bool too_old = c.started_at < cutoff;
    const bool superseded = kept_newest.count(c.id) == 0 && day_newest.count(c.id) == 0;
    const bool too_big = total_bytes > limits.max_bytes && newest.count(c.id) == 0;
    if (!too_old && !superseded && !too_big) continue;
    deleted.push_back(c.id);
    total_bytes -= c.bytes;
  }
  return deleted;
}

}  // namespace followgate
