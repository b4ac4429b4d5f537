#include "http/usage_page.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "core/utc_date.h"
#include "gate/gate.h"
#include "metering/quota_standing.h"
#include "web/pages.h"

namespace tollgate {
namespace json = boost::json;

struct UsagePage::PlanUsage {
  std::string id;
  std::string name;
  std::vector<std::string> stages;  // "api/stage"
  std::optional<Throttle> throttle;
  std::optional<Quota> quota;
  std::int64_t initial_window_id = 0;
  const QuotaCounter* live = nullptr;  // the node's counter of the quota, when it counts it
  KeyPlanUsage usage;                  // read from the store
};

namespace {

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

std::string iso_time(std::int64_t unix_s) {
  const CivilDate d = civil_from_days(day_of_unix_seconds(unix_s));
  const std::int64_t s = unix_s - day_of_unix_seconds(unix_s) * 86400;
  char out[32];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02dZ", d.year, d.month, d.day,
                static_cast<int>(s / 3600), static_cast<int>(s / 60 % 60),
                static_cast<int>(s % 60));
  return out;
}

void set_json_reply(Reply& reply, unsigned status, const json::value& body) {
  reply.start(status);
  reply.add("Content-Type", "application/json");
  reply.add("Cache-Control", "no-store");
  reply.body() = json::serialize(body);
}

}  // namespace

UsagePage::UsagePage(Options options, Store& store, Executor store_executor, const Clock& clock)
    : options_(std::move(options)),
      store_(store),
      store_executor_(store_executor),
      clock_(clock),
      by_address_(BucketParams::from(Throttle{options_.rate, options_.burst})) {}

bool UsagePage::serves(std::string_view target) const {
  if (options_.path.empty()) return false;
  const std::string_view path = path_of(target);
  if (!path.starts_with(options_.path)) return false;
  const std::string_view rest = path.substr(options_.path.size());
  return rest.empty() || rest == "/" || rest == "/api";
}

Task<void> UsagePage::answer(const InboundMessage& request, std::shared_ptr<const Catalog> catalog,
                             const asio::ip::address& peer, Reply& reply) {
  if (request.verb != http::verb::get && request.verb != http::verb::head) {
    set_error_reply(reply, 405, "MethodNotAllowedException", "The usage page answers GET only");
    reply.add("Allow", "GET, HEAD");
    co_return;
  }
  if (!by_address_.try_take(peer, clock_.now())) {
    set_error_reply(reply, 429, "TooManyRequestsException", "Too Many Requests");
    reply.add("Retry-After", "1");
    co_return;
  }
  if (!path_of(request.target).ends_with("/api")) {
    reply.start(200);
    reply.add("Content-Type", "text/html; charset=utf-8");
    reply.add("Cache-Control", "no-store");
    reply.add("Content-Security-Policy",
              "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
              "connect-src 'self'; form-action 'none'; frame-ancestors 'none'");
    reply.add("X-Content-Type-Options", "nosniff");
    reply.body() = kUsagePageHtml;
    co_return;
  }

  const std::string_view key = request.fields.find("x-api-key");
  const Catalog::Key record = catalog && !key.empty() ? find_key(*catalog, key) : Catalog::Key{};
  if (!record || !record.enabled()) {
    set_json_reply(reply, 403, json::object{{"message", "Forbidden"}});
    co_return;
  }
  const std::string key_id(record.id());
  const std::int64_t now_s = clock_.now() / kNanosPerSecond;
  std::vector<PlanUsage> plans;
  for (const KeyBinding& b : record.bindings()) {
    const PlanStage& ps = *b.plan;
    auto it = std::find_if(plans.begin(), plans.end(),
                           [&](const PlanUsage& p) { return p.id == ps.plan_id; });
    if (it == plans.end()) {
      PlanUsage p{ps.plan_id, ps.plan_name,        {},      ps.throttle,
                  ps.quota,   b.initial_window_id, nullptr, {}};
      // A leased quota's counter holds the node's lease: the store is read.
      if (ps.quota && !catalog->quota_leased()) p.live = &b.state->quota_for(ps.quota->period);
      plans.push_back(std::move(p));
      it = plans.end() - 1;
    }
    it->stages.push_back(ps.stage->api_id + "/" + ps.stage->stage_name);
  }

  const std::int64_t today = day_of_unix_seconds(now_s);
  const std::int64_t first_day = today - options_.days + 1;
  bool failed = false;
  auto read_store = [&]() -> Task<void> {
    try {
      for (PlanUsage& p : plans)
        p.usage = key_plan_usage(store_, p.id, key_id, p.quota, p.initial_window_id, first_day,
                                 today, now_s, p.live);
    } catch (const std::exception& e) {
      spdlog::error("usage page: the store could not be read: {}", e.what());
      failed = true;
    }
    co_return;
  };
  co_await asio::co_spawn(store_executor_, read_store(), asio::use_awaitable_t<Executor>{});
  if (failed) {
    set_error_reply(reply, 503, "ServiceUnavailableException",
                    "Usage cannot be read now; retry later");
    reply.add("Retry-After", "1");
    co_return;
  }
  set_json_reply(reply, 200, api_answer(plans, key_id, first_day, today));
}

json::value UsagePage::api_answer(const std::vector<PlanUsage>& plans, std::string_view key_id,
                                  std::int64_t first_day, std::int64_t last_day) const {
  json::array out;
  for (const PlanUsage& p : plans) {
    json::object plan{{"id", p.id}, {"name", p.name}};
    json::array stages;
    for (const auto& s : p.stages) stages.emplace_back(s);
    plan["stages"] = std::move(stages);
    if (p.throttle)
      plan["throttle"] = {{"rateLimit", p.throttle->rate_limit},
                          {"burstLimit", p.throttle->burst_limit}};
    if (p.usage.quota) {
      const QuotaStanding& q = *p.usage.quota;
      plan["quota"] = {{"limit", q.limit},
                       {"period", to_string(p.quota->period)},
                       {"used", q.used},
                       {"remaining", q.remaining()},
                       {"resetsAt", iso_time(q.window.end_unix_s)}};
    }
    std::map<std::int64_t, std::int64_t> by_day;
    for (const DailyUsage& d : p.usage.days) by_day[d.day] += d.used;
    json::array daily;
    for (std::int64_t day = first_day; day <= last_day; ++day)
      daily.push_back(json::object{{"date", format_date(day)}, {"used", by_day[day]}});
    plan["daily"] = std::move(daily);
    out.push_back(std::move(plan));
  }
  return json::object{{"keyId", key_id}, {"plans", std::move(out)}};
}

}  // namespace tollgate
