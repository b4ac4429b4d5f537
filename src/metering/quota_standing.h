#pragma once

// "Quota used and remaining for a key now", one answer for the readers of
// it: the customer usage page, the management API (UpdateUsage) and the
// console. The gate does not ask: it takes from the counter itself.
// Also the usage page's whole read of a key, so that the data plane reads
// the store only through here.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "limits/quota_counter.h"
#include "limits/quota_window.h"
#include "model/types.h"
#include "store/store.h"

namespace tollgate {

struct QuotaStanding {
  QuotaWindow window;      // the current period
  std::int64_t limit = 0;  // the key's quota in it: the offset shortens its first period
  std::int64_t used = 0;   // requests served plus the adjustments made under the period
  std::int64_t remaining() const { return std::max<std::int64_t>(0, limit - used); }
};

// The quota window a key's first period is: the one it joined the plan in
// (`joined_unix_s`, UsagePlanKey::created_date).
std::int64_t initial_window_id(const Quota& quota, std::int64_t joined_unix_s);

// The key's standing at `now_s` when it has used `used` of the period (read
// by the caller, e.g. for every key of a plan in one grouped query).
QuotaStanding quota_standing(const Quota& quota, std::int64_t initial_window_id, std::int64_t now_s,
                             std::int64_t used);

// The key's standing at `now_s`, `used` read from `live`, the node's counter
// of the key's quota, when the node counts it itself (an unleased quota);
// otherwise (`live` null) from the store. Reads the store: not for the
// thread that handles signals, nor for a worker's.
QuotaStanding quota_standing(Store& store, const std::string& plan_id, const std::string& key_id,
                             const Quota& quota, std::int64_t initial_window_id, std::int64_t now_s,
                             const QuotaCounter* live = nullptr);

// One key's usage under one plan as its customer sees it: the requests served
// on each day of [first_day, last_day] and, with a quota, its standing now
// (`live` as for quota_standing). Reads the store: as above.
struct KeyPlanUsage {
  std::vector<DailyUsage> days;
  std::optional<QuotaStanding> quota;
};
KeyPlanUsage key_plan_usage(Store& store, const std::string& plan_id, const std::string& key_id,
                            const std::optional<Quota>& quota, std::int64_t initial_window_id,
                            std::int64_t first_day, std::int64_t last_day, std::int64_t now_s,
                            const QuotaCounter* live = nullptr);

}  // namespace tollgate
