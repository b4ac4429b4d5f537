#include "admin/console_views.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "admin/paging.h"
#include "core/utc_date.h"
#include "limits/quota_window.h"

namespace tollgate {
namespace json = boost::json;
namespace {

constexpr std::size_t kNearQuotaShown = 10;

// What a key used of a plan's quota in the plan's current period.
struct QuotaUse {
  const UsagePlanKey* member = nullptr;
  const UsagePlan* plan = nullptr;
  std::int64_t used = 0;
  std::int64_t limit = 0;
  double percent() const { return limit > 0 ? 100.0 * static_cast<double>(used) / static_cast<double>(limit) : 100.0; }
};

json::object quota_use_json(const QuotaUse& q, const std::string& key_name) {
  json::object out{{"keyId", q.member->key_id}, {"keyName", key_name}, {"planId", q.plan->id},
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
  if (p.throttle) out["throttle"] = {{"rateLimit", p.throttle->rate_limit}, {"burstLimit", p.throttle->burst_limit}};
  if (p.quota)
    out["quota"] = {{"limit", p.quota->limit}, {"offset", p.quota->offset}, {"period", to_string(p.quota->period)}};
  return out;
}

// The quota use of every key in a plan with a quota, one at a time.
class QuotaUses {
 public:
  QuotaUses(AdminContext& ctx, const std::vector<UsagePlan>& plans, std::int64_t now) {
    for (const UsagePlan& p : plans) {
      Plan& plan = plans_[p.id];
      plan.plan = &p;
      if (!p.quota) continue;
      plan.window = quota_window(p.quota->period, now);
      plan.used = ctx.store.quota_used_by_key(p.id, p.quota->period, plan.window.first_day, plan.window.last_day);
    }
  }
  // Null plan when the member's plan is gone.
  QuotaUse of(const UsagePlanKey& m) const {
    const auto found = plans_.find(m.plan_id);
    if (found == plans_.end()) return {};
    const Plan& plan = found->second;
    QuotaUse use{&m, plan.plan, 0, 0};
    const std::optional<Quota>& quota = plan.plan->quota;
    if (!quota) return use;
    use.limit = quota_limit_for(*quota, plan.window.id, quota_window(quota->period, m.created_date).id);
    if (const auto u = plan.used.find(m.key_id); u != plan.used.end()) use.used = u->second;
    return use;
  }

 private:
  struct Plan {
    const UsagePlan* plan = nullptr;
    QuotaWindow window;  // the current period, with a quota
    std::unordered_map<std::string, std::int64_t> used;  // by the keys that used any
  };
  std::unordered_map<std::string_view, Plan> plans_;
};

}  // namespace

// With a million keys this stays a few passes over the control state: maps
// are made only of the plans, the keys that used a quota, and the page.
json::value console_overview(AdminContext& ctx, const AdminRequest& request) {
  // Counts not yet flushed are shown too.
  ctx.meter.flush();
  const ControlState s = ctx.read();
  const std::int64_t now = ctx.now_s();

  // The page of keys: by name, those whose name starts with the query and,
  // when it names one, in the plan.
  const std::string name_query = request.query("nameQuery").value_or("");
  const std::optional<std::string> in_plan = request.query("planId");
  std::unordered_set<std::string_view> plan_keys;
  if (in_plan)
    for (const UsagePlanKey& m : s.usage_plan_keys)
      if (m.plan_id == *in_plan) plan_keys.insert(m.key_id);
  std::vector<const ApiKey*> listed;
  for (const ApiKey& k : s.api_keys)
    if (k.name.starts_with(name_query) && (!in_plan || plan_keys.contains(k.id))) listed.push_back(&k);
  std::sort(listed.begin(), listed.end(),
            [](const ApiKey* a, const ApiKey* b) { return std::tie(a->name, a->id) < std::tie(b->name, b->id); });
  std::vector<std::string> ids;
  ids.reserve(listed.size());
  for (const ApiKey* k : listed) ids.push_back(k->id);
  const PageRange page = page_of(ids, request);
  std::unordered_map<std::string_view, std::size_t> on_page;  // key id → place on the page
  for (std::size_t i = page.begin; i < page.end; ++i) on_page.emplace(listed[i]->id, i - page.begin);

  std::vector<std::int64_t> today(page.end - page.begin, 0);
  const std::int64_t day = day_of_unix_seconds(now);
  ctx.store.scan_usage(day, day, UsageRow{}, [&](const UsageRow& r) {
    if (const auto at = on_page.find(r.key_id); at != on_page.end()) today[at->second] += r.used;
    return true;
  });

  // One pass over the plans' keys: how many each plan has, the uses of the
  // keys on the page, and the keys closest to their quota.
  const QuotaUses quota_uses(ctx, s.usage_plans, now);
  std::unordered_map<std::string_view, std::size_t> key_count;
  std::vector<std::vector<QuotaUse>> page_uses(today.size());
  const auto nearer = [](const QuotaUse& a, const QuotaUse& b) { return a.percent() > b.percent(); };
  std::vector<QuotaUse> near;  // a heap whose top is the farthest of those kept
  for (const UsagePlanKey& m : s.usage_plan_keys) {
    ++key_count[m.plan_id];
    const QuotaUse use = quota_uses.of(m);
    if (!use.plan) continue;
    if (const auto at = on_page.find(m.key_id); at != on_page.end()) page_uses[at->second].push_back(use);
    if (!use.plan->quota) continue;
    if (near.size() < kNearQuotaShown) {
      near.push_back(use);
      std::push_heap(near.begin(), near.end(), nearer);
    } else if (nearer(use, near.front())) {
      std::pop_heap(near.begin(), near.end(), nearer);
      near.back() = use;
      std::push_heap(near.begin(), near.end(), nearer);
    }
  }
  std::sort_heap(near.begin(), near.end(), nearer);

  // The names of the keys closest to their quota.
  std::unordered_map<std::string_view, const std::string*> near_names;
  for (const QuotaUse& u : near) near_names.emplace(u.member->key_id, nullptr);
  for (const ApiKey& k : s.api_keys)
    if (const auto n = near_names.find(k.id); n != near_names.end()) n->second = &k.name;
  json::array near_json;
  for (const QuotaUse& u : near) {
    const std::string* name = near_names.at(u.member->key_id);
    near_json.push_back(quota_use_json(u, name ? *name : std::string()));
  }

  json::array apis;
  for (const RestApi& a : s.apis) {
    json::array stages;
    for (const Stage& st : s.stages)
      if (st.api_id == a.id) stages.emplace_back(st.stage_name);
    apis.push_back(json::object{{"id", a.id}, {"name", a.name}, {"stages", std::move(stages)}});
  }
  json::array plans;
  for (const UsagePlan& p : s.usage_plans) plans.push_back(plan_json(p, key_count[p.id]));
  json::array keys;
  for (std::size_t i = 0; i < today.size(); ++i) {
    const ApiKey& k = *listed[page.begin + i];
    json::array in_plans;
    for (const QuotaUse& u : page_uses[i]) in_plans.push_back(quota_use_json(u, k.name));
    keys.push_back(json::object{{"id", k.id},
                                {"name", k.name},
                                {"customerId", k.customer_id},
                                {"enabled", k.enabled},
                                {"today", today[i]},
                                {"plans", std::move(in_plans)}});
  }
  json::object answer{{"apis", std::move(apis)},
                      {"plans", std::move(plans)},
                      {"keys", std::move(keys)},
                      {"keyCount", listed.size()},
                      {"nearQuota", std::move(near_json)}};
  if (!page.next_position.empty()) answer["keysPosition"] = page.next_position;
  return answer;
}

json::value console_daily_usage(AdminContext& ctx, const std::string& plan_id,
                                const std::optional<std::string>& key_id, int days) {
  ctx.meter.flush();
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
  ctx.meter.flush();
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
