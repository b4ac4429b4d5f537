#include "admin/console_views.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "admin/admin_error.h"
#include "admin/paging.h"
#include "core/utc_date.h"
#include "limits/quota_window.h"
#include "metering/quota_standing.h"

namespace tollgate {
namespace json = boost::json;
namespace {

constexpr std::size_t kNearQuotaShown = 10;

// What a key used of a plan's quota in the plan's current period.
struct QuotaUse {
  std::string key_id;
  const UsagePlan* plan = nullptr;
  std::int64_t used = 0;
  std::int64_t limit = 0;
  double percent() const {
    return limit > 0 ? 100.0 * static_cast<double>(used) / static_cast<double>(limit) : 100.0;
  }
};

json::object quota_use_json(const QuotaUse& q, const std::string& key_name) {
  json::object out{{"keyId", q.key_id},
                   {"keyName", key_name},
                   {"planId", q.plan->id},
                   {"planName", q.plan->name}};
  if (!q.plan->quota) return out;
  out["used"] = q.used;
  out["limit"] = q.limit;
  out["percent"] = std::round(q.percent() * 10) / 10;
  return out;
}

json::object plan_json(const UsagePlan& p, std::size_t key_count) {
  json::object out{{"id", p.id}, {"name", p.name}, {"keyCount", key_count}};
  json::array stages;
  for (const ApiStage& s : p.api_stages) stages.emplace_back(s.api_id + "/" + s.stage);
  out["apiStages"] = std::move(stages);
  if (p.throttle)
    out["throttle"] = {{"rateLimit", p.throttle->rate_limit},
                       {"burstLimit", p.throttle->burst_limit}};
  if (p.quota)
    out["quota"] = {{"limit", p.quota->limit},
                    {"offset", p.quota->offset},
                    {"period", to_string(p.quota->period)}};
  return out;
}

// The quota use of the keys of plans with a quota that used any of it:
// read per plan in one grouped query, never per member.
class QuotaUses {
 public:
  QuotaUses(AdminContext& ctx, const std::vector<UsagePlan>& plans, std::int64_t now) : now_(now) {
    for (const UsagePlan& p : plans) {
      Plan& plan = plans_[p.id];
      plan.plan = &p;
      if (!p.quota) continue;
      plan.window = quota_window(p.quota->period, now);
      plan.used = ctx.store.quota_used_by_key(p.id, p.quota->period, plan.window.first_day,
                                              plan.window.last_day);
    }
  }
  // Null plan when the member's plan is gone.
  QuotaUse of(const UsagePlanKey& m) const {
    const auto found = plans_.find(m.plan_id);
    if (found == plans_.end()) return {};
    const Plan& plan = found->second;
    QuotaUse use{m.key_id, plan.plan, 0, 0};
    const std::optional<Quota>& quota = plan.plan->quota;
    if (!quota) return use;
    const auto u = plan.used.find(m.key_id);
    const QuotaStanding standing = quota_standing(*quota, initial_window_id(*quota, m.created_date),
                                                  now_, u == plan.used.end() ? 0 : u->second);
    use.limit = standing.limit;
    use.used = standing.used;
    return use;
  }

  // The members closest to their quota, closest first, at most `n`. Only
  // keys that used some quota are candidates; each is looked up as a
  // member (it may have left the plan) in order of what it used of the
  // plan's limit, and an offset, which lowers the limit of a key's first
  // period, is taken into account for every candidate of a plan that has one.
  std::vector<QuotaUse> nearest(ControlReads& reads, std::size_t n) const {
    struct Candidate {
      const Plan* plan;
      const std::string* key_id;
      double percent;
    };
    std::vector<Candidate> candidates;
    for (const auto& [id, plan] : plans_) {
      if (!plan.plan->quota) continue;
      const std::int64_t limit = quota_limit_for(*plan.plan->quota, plan.window.id, INT64_MIN);
      for (const auto& [key_id, used] : plan.used) {
        const double percent = plan.plan->quota->offset != 0 ? 101.0 + static_cast<double>(used)
                               : limit > 0
                                   ? 100.0 * static_cast<double>(used) / static_cast<double>(limit)
                                   : 100.0;
        candidates.push_back({&plan, &key_id, percent});
      }
    }
    std::sort(candidates.begin(), candidates.end(),
              [](const Candidate& a, const Candidate& b) { return a.percent > b.percent; });
    std::vector<QuotaUse> out;
    std::vector<QuotaUse> offset;  // of plans with an offset: all looked up, then ranked
    for (const Candidate& c : candidates) {
      const bool exact = c.plan->plan->quota->offset == 0;
      if (exact && out.size() >= n) break;
      const std::optional<UsagePlanKey> m = reads.membership(c.plan->plan->id, *c.key_id);
      if (!m) continue;
      (exact ? out : offset).push_back(of(*m));
    }
    out.insert(out.end(), offset.begin(), offset.end());
    std::stable_sort(out.begin(), out.end(), [](const QuotaUse& a, const QuotaUse& b) {
      return a.percent() > b.percent();
    });
    if (out.size() > n) out.resize(n);
    return out;
  }

 private:
  struct Plan {
    const UsagePlan* plan = nullptr;
    QuotaWindow window;                                  // the current period, with a quota
    std::unordered_map<std::string, std::int64_t> used;  // by the keys that used any
  };
  std::int64_t now_;
  std::unordered_map<std::string_view, Plan> plans_;
};

}  // namespace

// With a million keys this reads the page of keys through an index, the
// plans' key counts, and the keys that used some quota: never every key.
json::value console_overview(AdminContext& ctx, const AdminRequest& request) {
  // Counts not yet flushed are shown too.
  ctx.meter.flush();
  const ControlState s = ctx.few();
  const std::int64_t now = ctx.now_s();

  // The page of keys: by name, those whose name starts with the query and,
  // when it names one, in the plan.
  KeyQuery query;
  query.name_prefix = request.query("nameQuery").value_or("");
  query.plan_id = request.query("planId");
  query.position = request.query("position").value_or("");
  query.limit = page_limit(request);
  query.by_name = true;
  query.with_total = true;
  const KeyListing listing = ctx.store.list_api_keys(query);
  if (!listing.position_found) bad_request("Invalid position parameter");

  const QuotaUses quota_uses(ctx, s.usage_plans, now);
  const std::int64_t day = day_of_unix_seconds(now);
  json::array keys;
  for (const ApiKey& k : listing.keys) {
    std::int64_t today = 0;
    json::array in_plans;
    for (const UsagePlanKey& m : ctx.store.plans_of_key(k.id)) {
      for (const DailyUsage& d : ctx.store.usage_days(m.plan_id, k.id, day, day)) today += d.used;
      const QuotaUse use = quota_uses.of(m);
      if (use.plan) in_plans.push_back(quota_use_json(use, k.name));
    }
    keys.push_back(json::object{{"id", k.id},
                                {"name", k.name},
                                {"customerId", k.customer_id},
                                {"enabled", k.enabled},
                                {"today", today},
                                {"plans", std::move(in_plans)}});
  }

  json::array near_json;
  for (const QuotaUse& u : quota_uses.nearest(ctx.store, kNearQuotaShown)) {
    const std::optional<ApiKey> key = ctx.store.api_key(u.key_id);
    near_json.push_back(quota_use_json(u, key ? key->name : std::string()));
  }

  json::array apis;
  for (const RestApi& a : s.apis) {
    json::array stages;
    for (const Stage& st : s.stages)
      if (st.api_id == a.id) stages.emplace_back(st.stage_name);
    apis.push_back(json::object{{"id", a.id}, {"name", a.name}, {"stages", std::move(stages)}});
  }
  json::array plans;
  for (const UsagePlan& p : s.usage_plans)
    plans.push_back(plan_json(p, ctx.store.plan_key_count(p.id)));
  json::object answer{{"apis", std::move(apis)},
                      {"plans", std::move(plans)},
                      {"keys", std::move(keys)},
                      {"keyCount", listing.total},
                      {"nearQuota", std::move(near_json)}};
  if (!listing.next_position.empty()) answer["keysPosition"] = listing.next_position;
  return answer;
}

json::value console_daily_usage(AdminContext& ctx, const std::string& plan_id,
                                const std::optional<std::string>& key_id, int days) {
  key_id ? ctx.meter.flush(plan_id, *key_id) : ctx.meter.flush();
  const std::int64_t today = day_of_unix_seconds(ctx.now_s());
  const std::int64_t first = today - days + 1;
  std::map<std::int64_t, std::int64_t> by_day;
  for (const DailyUsage& d : key_id ? ctx.store.usage_days(plan_id, *key_id, first, today)
                                    : ctx.store.plan_usage_days(plan_id, first, today))
    by_day[d.day] = d.used;
  json::array out;
  for (std::int64_t day = first; day <= today; ++day)
    out.push_back(json::object{{"date", format_date(day)}, {"used", by_day[day]}});
  json::object answer{{"planId", plan_id}, {"days", std::move(out)}};
  if (key_id) answer["keyId"] = *key_id;
  return answer;
}

json::value console_recent_requests(AdminContext& ctx, const std::string& plan_id,
                                    const std::optional<std::string>& key_id) {
  constexpr std::int64_t kMinutesShown = 60;
  key_id ? ctx.meter.flush(plan_id, *key_id) : ctx.meter.flush();
  const std::int64_t now = ctx.now_s();
  const std::int64_t last = now / 60;
  const std::int64_t first = last - kMinutesShown + 1;
  std::map<std::int64_t, MinuteCounts> by_minute;
  for (const MinuteCounts& c : ctx.store.minute_counts(plan_id, key_id.value_or(""), first, last))
    by_minute[c.minute] = c;
  json::array minutes;
  for (std::int64_t minute = first; minute <= last; ++minute) {
    const MinuteCounts& c = by_minute[minute];
    minutes.push_back(json::object{{"start", minute * 60},
                                   {"seconds", minute == last ? now - minute * 60 + 1 : 60},
                                   {"allowed", c.allowed},
                                   {"throttled", c.throttled},
                                   {"quotaExceeded", c.quota_exceeded}});
  }
  json::object answer{{"planId", plan_id}, {"minutes", std::move(minutes)}};
  if (key_id) answer["keyId"] = *key_id;
  return answer;
}

}  // namespace tollgate
