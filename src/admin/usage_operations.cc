#include <algorithm>
#include <map>

#include "admin/lookups.h"
#include "admin/operations.h"
#include "admin/paging.h"
#include "admin/patch_operations.h"
#include "core/utc_date.h"
#include "limits/quota_window.h"
#include "metering/quota_standing.h"

namespace tollgate {
namespace json = boost::json;

namespace {

constexpr std::int64_t kMaxRangeDays = 90;
constexpr std::int64_t kSecondsPerDay = 86400;

std::int64_t date_param(const AdminRequest& req, const char* name) {
  const auto text = req.query(name);
  if (!text || text->empty())
    bad_request(std::string("Invalid ") + name + ": " + name + " is required (yyyy-MM-dd)");
  const auto day = parse_date(*text);
  if (!day) bad_request(std::string("Invalid ") + name + " '" + *text + "': use yyyy-MM-dd");
  return *day;
}

// A key whose usage is reported: a member of the plan, or one that was
// (it left the plan, was deleted, or the plan was), whose usage is kept.
struct Reported {
  std::string key_id;
  std::optional<UsagePlanKey> member;  // none: no longer a member
};

// [used, remaining] per day of [first, last] for one key. `remaining` is the
// quota left in that day's window at the end of the day: 0 without a quota,
// and for a key that is no longer in the plan (or whose plan is gone).
json::array daily_usage(AdminContext& ctx, const std::string& plan_id, const UsagePlan* plan,
                        const Reported& key, std::int64_t first, std::int64_t last) {
  const std::optional<Quota> quota = plan && key.member ? plan->quota : std::nullopt;
  std::int64_t from = first;
  if (quota) from = quota_window(quota->period, first * kSecondsPerDay).first_day;
  std::map<std::int64_t, std::int64_t> used;
  std::map<std::int64_t, std::int64_t> adjusted;
  for (const auto& d : ctx.store.usage_days(plan_id, key.key_id, from, last)) used[d.day] = d.used;
  // An adjustment counts in windows of the period it was made under only.
  if (quota)
    for (const auto& a : ctx.store.adjustments(plan_id, key.key_id, from, last))
      if (a.period == quota->period) adjusted[a.day] += a.delta;

  json::array out;
  std::int64_t window_id = INT64_MIN;
  std::int64_t window_used = 0;
  for (std::int64_t day = from; day <= last; ++day) {
    const std::int64_t served = used.count(day) ? used[day] : 0;
    std::int64_t remaining = 0;
    if (quota) {
      const QuotaWindow w = quota_window(quota->period, day * kSecondsPerDay);
      if (w.id != window_id) {
        window_id = w.id;
        window_used = 0;
      }
      window_used += served + (adjusted.count(day) ? adjusted[day] : 0);
      const std::int64_t initial = quota_window(quota->period, key.member->created_date).id;
      remaining = std::max<std::int64_t>(0, quota_limit_for(*quota, w.id, initial) - window_used);
    }
    if (day >= first) out.push_back(json::array{served, remaining});
  }
  return out;
}

}  // namespace

HttpResponse get_usage(AdminContext& ctx, const AdminRequest& req) {
  const std::int64_t first = date_param(req, "startDate");
  const std::int64_t last = date_param(req, "endDate");
  if (first > last) bad_request("Invalid date range: startDate is after endDate");
  if (last - first + 1 > kMaxRangeDays)
    bad_request("Invalid date range: at most " + std::to_string(kMaxRangeDays) +
                " days per request");
  const ControlState s = ctx.few();
  const std::string& plan_id = req.segments()[1];
  const auto found = std::find_if(s.usage_plans.begin(), s.usage_plans.end(),
                                  [&](const UsagePlan& p) { return p.id == plan_id; });
  const UsagePlan* plan = found == s.usage_plans.end() ? nullptr : &*found;
  const auto key_id = req.query("keyId");
  // Every admitted request is reported, not just the flushed ones.
  if (key_id)
    ctx.meter.flush(plan_id, *key_id);
  else
    ctx.meter.flush();
  std::optional<UsagePlanKey> member;
  if (plan && key_id) member = ctx.store.membership(plan_id, *key_id);
  // Usage is kept when a key leaves the plan, is deleted, or the plan is:
  // a former member is reported for the days it used the plan.
  std::vector<std::string> former;
  if (!plan || !key_id || !member) former = ctx.store.former_members(plan_id);
  if (!plan && former.empty()) not_found("Invalid Usage Plan ID specified");
  const auto used_in_range = [&](const std::string& id) {
    return !ctx.store.usage_days(plan_id, id, first, last).empty() ||
           !ctx.store.adjustments(plan_id, id, first, last).empty();
  };
  std::vector<std::string> ids;
  if (key_id) {
    if (!member && !std::binary_search(former.begin(), former.end(), *key_id))
      find_membership(ctx.store, plan_id, *key_id);  // 404
    ids.push_back(*key_id);
  } else {
    ids = plan ? ctx.store.plan_key_ids(plan_id) : std::vector<std::string>();
    const std::size_t members = ids.size();
    for (const std::string& id : former)
      if (used_in_range(id)) ids.push_back(id);
    std::inplace_merge(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(members), ids.end());
  }
  const PageRange page = page_of(ids, ListingOrder::kId, req);
  std::vector<Reported> reported;
  for (std::size_t i = page.begin; i < page.end; ++i)
    reported.push_back(
        {ids[i], key_id ? member : (plan ? ctx.store.membership(plan_id, ids[i]) : std::nullopt)});
  json::object values;
  for (const Reported& r : reported)
    values[r.key_id] = daily_usage(ctx, plan_id, plan, r, first, last);
  json::object out{{"usagePlanId", plan_id},
                   {"startDate", format_date(first)},
                   {"endDate", format_date(last)},
                   {"values", std::move(values)}};
  if (!page.next_position.empty()) out["position"] = page.next_position;
  return admin_json(http::status::ok, out);
}

HttpResponse update_usage(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateUsageInput");
  if (ops.size() != 1 || ops[0].op != "replace" || ops[0].path != "/remaining") {
    if (ops.empty()) bad_request("Invalid patch operations: replace /remaining is required");
    invalid_patch_path(ops[0], "/remaining");
  }
  const std::int64_t remaining = patch_int(ops[0]);
  if (remaining < 0) bad_request("Invalid value for /remaining: must be 0 or more");

  ControlState s = ctx.few();
  const UsagePlan& plan = find_usage_plan(s, req.segments()[1]);
  const UsagePlanKey member = find_membership(ctx.store, plan.id, req.segments()[3]);
  if (!plan.quota) bad_request("Usage plan " + plan.id + " has no quota to update");
  const QuotaPeriod period = plan.quota->period;
  const std::string customer_id = find_api_key(ctx.store, member.key_id).customer_id;

  ctx.meter.flush(plan.id, member.key_id);
  const std::int64_t now = ctx.now_s();
  const std::int64_t today = day_of_unix_seconds(now);
  const std::int64_t initial = initial_window_id(*plan.quota, member.created_date);
  std::int64_t delta = 0;
  if (ctx.leases) {
    // The quota is leased: Redis knows what every node served, and moves.
    const QuotaStanding before =
        quota_standing(ctx.store, plan.id, member.key_id, *plan.quota, initial, now);
    const QuotaWindow& w = before.window;
    delta = ctx.leases->set_remaining(
        {plan.id, member.key_id, w.id, w.end_unix_s, before.limit, before.used, 0}, remaining);
    ctx.store.add_adjustment(
        {plan.id, member.key_id, today, delta, now, req.actor(), period, customer_id});
  } else {
    const KeyPlanHandle state = ctx.limits.key_plan(plan.id, member.key_id);
    std::lock_guard seeding(*state.seed_mutex);
    QuotaCounter& counter = state.state->quota_for(period);
    // The node's counter is live once the key's quota in this period was seeded.
    const bool live = *state.counted_period == period;
    const QuotaStanding before = quota_standing(ctx.store, plan.id, member.key_id, *plan.quota,
                                                initial, now, live ? &counter : nullptr);
    delta = (before.limit - remaining) - before.used;
    // The ledger entry first: a crash after it replays the change on restart.
    ctx.store.add_adjustment(
        {plan.id, member.key_id, today, delta, now, req.actor(), period, customer_id});
    if (live) counter.adjust(before.window.id, delta);
  }

  json::object out{
      {"usagePlanId", plan.id},
      {"startDate", format_date(today)},
      {"endDate", format_date(today)},
      {"values",
       json::object{{member.key_id,
                     daily_usage(ctx, plan.id, &plan, {member.key_id, member}, today, today)}}}};
  return admin_json(http::status::ok, out);
}

}  // namespace tollgate
