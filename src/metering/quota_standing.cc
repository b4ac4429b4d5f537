#include "metering/quota_standing.h"

namespace tollgate {

std::int64_t initial_window_id(const Quota& quota, std::int64_t joined_unix_s) {
  return quota_window(quota.period, joined_unix_s).id;
}

QuotaStanding quota_standing(const Quota& quota, std::int64_t initial_window_id, std::int64_t now_s,
                             std::int64_t used) {
  QuotaStanding s;
  s.window = quota_window(quota.period, now_s);
  s.limit = quota_limit_for(quota, s.window.id, initial_window_id);
  s.used = used;
  return s;
}

QuotaStanding quota_standing(Store& store, const std::string& plan_id, const std::string& key_id,
                             const Quota& quota, std::int64_t initial_window_id, std::int64_t now_s,
                             const QuotaCounter* live) {
  QuotaStanding s = quota_standing(quota, initial_window_id, now_s, 0);
  s.used = live ? live->used(s.window.id)
                : quota_used_between(store, plan_id, key_id, quota.period, s.window.first_day,
                                     s.window.last_day);
  return s;
}

KeyPlanUsage key_plan_usage(Store& store, const std::string& plan_id, const std::string& key_id,
                            const std::optional<Quota>& quota, std::int64_t initial_window_id,
                            std::int64_t first_day, std::int64_t last_day, std::int64_t now_s,
                            const QuotaCounter* live) {
  KeyPlanUsage usage;
  usage.days = store.usage_days(plan_id, key_id, first_day, last_day);
  if (quota)
    usage.quota = quota_standing(store, plan_id, key_id, *quota, initial_window_id, now_s, live);
  return usage;
}

}  // namespace tollgate
