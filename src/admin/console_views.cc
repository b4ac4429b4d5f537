#include "admin/console_views.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <unordered_map>

#include "admin/paging.h"
#include "core/utc_date.h"
#include "limits/quota_window.h"

namespace tollgate {
namespace json = boost::json;
namespace {

constexpr std::size_t kNearQuotaShown = 10;

struct QuotaUse {
  std::string key_id;
  std::string key_name;
  std::string plan_id;
  std::string plan_name;
  std::int64_t used = 0;
  std::int64_t limit = 0;
  bool has_quota = false;
  double percent() const { return limit > 0 ? 100.0 * static_cast<double>(used) / static_cast<double>(limit) : 100.0; }
};

json::object quota_use_json(const QuotaUse& q) {
  return {{"keyId", q.key_id}, {"keyName", q.key_name}, {"planId", q.plan_id}, {"planName", q.plan_name},
          {"used", q.used},    {"limit", q.limit},      {"percent", std::round(q.percent() * 10) / 10}};
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

}  // namespace

json::value console_overview(AdminContext& ctx, const AdminRequest& request) {
  // Counts not yet flushed are shown too.
  ctx.meter.flush();
  const ControlState s = ctx.read();
  const std::int64_t now = ctx.now_s();
  const std::int64_t today = day_of_unix_seconds(now);

  std::unordered_map<std::string, std::int64_t> today_by_key;
  ctx.store.scan_usage(today, today, UsageRow{}, [&](const UsageRow& r) {
    today_by_key[r.key_id] += r.used;
    return true;
  });

  std::unordered_map<std::string, const ApiKey*> keys_by_id;
  for (const ApiKey& k : s.api_keys) keys_by_id[k.id] = &k;
  std::unordered_map<std::string, const UsagePlan*> plans_by_id;
  for (const UsagePlan& p : s.usage_plans) plans_by_id[p.id] = &p;

  // What each key used of each plan's quota in the plan's current period.
  std::unordered_map<std::string, std::unordered_map<std::string, std::int64_t>> used_by_plan;
  for (const UsagePlan& p : s.usage_plans) {
    if (!p.quota) continue;
    const QuotaWindow w = quota_window(p.quota->period, now);
    used_by_plan[p.id] = ctx.store.quota_used_by_key(p.id, w.first_day, w.last_day);
  }
  std::unordered_map<std::string, std::size_t> key_count;
  std::unordered_map<std::string, std::vector<QuotaUse>> uses_by_key;
  std::vector<QuotaUse> uses;
  for (const UsagePlanKey& m : s.usage_plan_keys) {
    ++key_count[m.plan_id];
    const auto plan = plans_by_id.find(m.plan_id);
    const auto key = keys_by_id.find(m.key_id);
    if (plan == plans_by_id.end() || key == keys_by_id.end()) continue;
    const UsagePlan& p = *plan->second;
    QuotaUse use{m.key_id, key->second->name, p.id, p.name, 0, 0, p.quota.has_value()};
    if (p.quota) {
      const QuotaWindow w = quota_window(p.quota->period, now);
      use.limit = quota_limit_for(*p.quota, w.id, quota_window(p.quota->period, m.created_date).id);
      const auto& used = used_by_plan[p.id];
      if (auto u = used.find(m.key_id); u != used.end()) use.used = u->second;
      uses.push_back(use);
    }
    uses_by_key[m.key_id].push_back(use);
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
  const std::string name_query = request.query("nameQuery").value_or("");
  std::vector<const ApiKey*> listed;
  for (const ApiKey& k : s.api_keys)
    if (k.name.starts_with(name_query)) listed.push_back(&k);
  std::sort(listed.begin(), listed.end(),
            [](const ApiKey* a, const ApiKey* b) { return std::tie(a->name, a->id) < std::tie(b->name, b->id); });
  std::vector<std::string> ids;
  ids.reserve(listed.size());
  for (const ApiKey* k : listed) ids.push_back(k->id);
  const PageRange page = page_of(ids, request);
  json::array keys;
  for (std::size_t i = page.begin; i < page.end; ++i) {
    const ApiKey& k = *listed[i];
    json::array in_plans;
    for (const QuotaUse& u : uses_by_key[k.id])
      in_plans.push_back(u.has_quota ? quota_use_json(u) : json::object{{"planId", u.plan_id}, {"planName", u.plan_name}});
    keys.push_back(json::object{{"id", k.id},
                                {"name", k.name},
                                {"customerId", k.customer_id},
                                {"enabled", k.enabled},
                                {"today", today_by_key[k.id]},
                                {"plans", std::move(in_plans)}});
  }
  const std::size_t shown = std::min(kNearQuotaShown, uses.size());
  std::partial_sort(uses.begin(), uses.begin() + static_cast<std::ptrdiff_t>(shown), uses.end(),
                    [](const QuotaUse& a, const QuotaUse& b) { return a.percent() > b.percent(); });
  json::array near;
  for (std::size_t i = 0; i < shown; ++i) near.push_back(quota_use_json(uses[i]));
  json::object answer{{"apis", std::move(apis)},
                      {"plans", std::move(plans)},
                      {"keys", std::move(keys)},
                      {"keyCount", listed.size()},
                      {"nearQuota", std::move(near)}};
  if (!page.next_position.empty()) answer["keysPosition"] = page.next_position;
  return answer;
}

json::value console_daily_usage(AdminContext& ctx, const std::string& plan_id,
                                const std::optional<std::string>& key_id, int days) {
  ctx.meter.flush();
  const std::int64_t today = day_of_unix_seconds(ctx.now_s());
  const std::int64_t first = today - days + 1;
  std::map<std::int64_t, std::int64_t> by_day;
  if (key_id) {
    for (const DailyUsage& d : ctx.store.usage_days(plan_id, *key_id, first, today)) by_day[d.day] += d.used;
  } else {
    ctx.store.scan_usage(first, today, UsageRow{}, [&](const UsageRow& r) {
      if (r.plan_id == plan_id) by_day[r.day] += r.used;
      return true;
    });
  }
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
