#include "catalog/catalog.h"

#include <spdlog/spdlog.h>

#include <array>
#include <climits>
#include <map>
#include <string_view>
#include <unordered_map>

#include "catalog/backend_uri.h"
#include "core/utc_date.h"
#include "limits/quota_window.h"
#include "model/key_id_index.h"

namespace tollgate {

const StageEntry* Catalog::stage(std::string_view api_id, std::string_view stage_name) const {
  auto api = apis_.find(api_id);
  if (api == apis_.end()) return nullptr;
  auto stage = api->second.find(stage_name);
  return stage == api->second.end() ? nullptr : &stage->second;
}

class CatalogBuilder {
 public:
  CatalogBuilder(LimitStates& limits, const UsageLoader& load_usage, const MemberProvider& members,
                 UnixNanos now, MetricsRegistry* metrics, double throttle_share, bool quota_leased)
      : limits_(limits),
        load_usage_(load_usage),
        members_(members),
        now_s_(now / kNanosPerSecond),
        metrics_(metrics),
        throttle_share_(throttle_share),
        quota_leased_(quota_leased) {}

  std::shared_ptr<const Catalog> build(const ControlState& state, std::uint64_t version,
                                       std::shared_ptr<const KeyHasher> key_hasher,
                                       const std::vector<MemberKey>& member_keys) {
    auto catalog = std::make_shared<Catalog>();
    catalog->version_ = version;
    catalog->quota_leased_ = quota_leased_;
    catalog->key_hasher_ = std::move(key_hasher);
    catalog->account_ = limit_ref("account", state.account.throttle);
    add_stages(*catalog, state);
    add_keys(*catalog, state, member_keys);
    return catalog;
  }

 private:
  void add_stages(Catalog& catalog, const ControlState& state) {
    std::map<std::pair<std::string, std::string>, const Deployment*> deployments;
    for (const auto& d : state.deployments) deployments[{d.api_id, d.id}] = &d;
    for (const auto& api : state.apis) catalog.apis_[api.id];
    for (const auto& s : state.stages) {
      auto api = std::find_if(state.apis.begin(), state.apis.end(),
                              [&](const RestApi& a) { return a.id == s.api_id; });
      auto d = deployments.find({s.api_id, s.deployment_id});
      if (api == state.apis.end() || d == deployments.end()) {
        spdlog::warn("stage {}:{} has no deployment {}; not served", s.api_id, s.stage_name,
                     s.deployment_id);
        continue;
      }
      StageEntry& entry = catalog.apis_[s.api_id][s.stage_name];
      entry.api_id = s.api_id;
      entry.stage_name = s.stage_name;
      entry.key_source = api->api_key_source;
      for (const auto& resource : d->second->resources)
        for (const auto& [name, method] : resource.methods) add_method(entry, s, resource, method);
    }
  }

  void add_method(StageEntry& entry, const Stage& stage, const Resource& resource,
                  const Method& method) {
    RouteMethod m;
    m.resource_path = resource.path;
    m.http_method = method.http_method;
    m.api_key_required = method.api_key_required;
    if (method.integration) {
      const Integration& i = *method.integration;
      m.type = i.type;
      m.timeout_ms = i.timeout_ms;
      if (i.type == IntegrationType::kMock) {
        m.mock = mock_response_of(i);
      } else {
        auto backend = parse_backend_uri(i.uri);
        if (!backend) {
          spdlog::warn("{} {} on {}:{}: bad integration uri '{}'; not served", method.http_method,
                       resource.path, stage.api_id, stage.stage_name, i.uri);
          return;
        }
        m.backend = std::move(*backend);
        if (i.http_method != "ANY") m.backend_method = i.http_method;
      }
    } else {
      // A method without integration answers like AWS's unconfigured method.
      m.mock.status = 500;
      m.mock.body = R"({"message": "Internal server error"})";
    }
    // "*/*" is the default for each method, not one limit shared by all of
    // them: every method has its own bucket.
    const std::string setting_key = method_setting_key(resource.path, method.http_method);
    auto setting = stage.method_settings.find(setting_key);
    if (setting == stage.method_settings.end()) setting = stage.method_settings.find("*/*");
    if (setting != stage.method_settings.end()) {
      const std::string scope = "stage\n" + stage.api_id + "\n" + stage.stage_name + "\n" + setting_key;
      const Throttle t{setting->second.throttling_rate_limit, setting->second.throttling_burst_limit};
      m.stage_limit = limit_ref(scope, t);
    }
    if (metrics_) m.counters = &metrics_->route(stage.api_id, stage.stage_name, resource.path, method.http_method);
    const auto index = static_cast<std::uint32_t>(entry.methods.size());
    entry.routes.add(resource.path, method.http_method, index);
    entry.methods.push_back(std::move(m));
  }

  void add_keys(Catalog& catalog, const ControlState& state, const std::vector<MemberKey>& member_keys) {
    std::size_t text_bytes = 0;
    for (const auto& k : state.api_keys) text_bytes += KeyTable::text_bytes(k.value, k.id, k.customer_id);
    KeyTable& keys = catalog.keys_;
    keys.reserve(state.api_keys.size(), text_bytes);
    std::vector<KeyTable::Record*> records;  // by position in state.api_keys
    records.reserve(state.api_keys.size());
    constexpr std::size_t kAhead = 8;  // adds land at random: overlap their misses
    for (std::size_t i = 0; i < state.api_keys.size(); ++i) {
      if (i + kAhead < state.api_keys.size()) keys.prefetch(state.api_keys[i + kAhead].value);
      const ApiKey& k = state.api_keys[i];
      records.push_back(&keys.add_key(k.value, k.id, k.enabled, k.customer_id));
    }

    // Each plan's stages, as served: what the plan's keys share.
    struct PlanStages {
      const UsagePlan* plan;
      struct Served {
        const ApiStage* api_stage;
        const StageEntry* stage;
        std::uint16_t index;
      };
      std::vector<Served> stages;
      bool throttle_changed = false;
    };
    std::unordered_map<std::string_view, PlanStages> plans;
    for (const auto& p : state.usage_plans) {
      PlanStages& entry = plans[p.id];
      entry.plan = &p;
      std::optional<BucketParams> throttle;
      if (p.throttle) throttle = params_of(*p.throttle);
      entry.throttle_changed = limits_.plan_throttle_changed(p.id, throttle);
      for (const auto& api_stage : p.api_stages) {
        const StageEntry* stage = catalog.stage(api_stage.api_id, api_stage.stage);
        if (!stage) continue;
        PlanStage shared{stage, p.id, std::nullopt, p.quota, !api_stage.throttle.empty(), p.name, p.throttle};
        if (p.throttle) shared.key_throttle = params_of(*p.throttle);
        entry.stages.push_back({&api_stage, stage, keys.add_plan_stage(std::move(shared))});
      }
    }

    limits_.reserve_key_plans(state.usage_plan_keys.size());
    // Each membership's key record is a random place of its own: fetched
    // four memberships ahead, so that the misses overlap.
    const std::vector<UsagePlanKey>& members = state.usage_plan_keys;
    constexpr std::size_t kFound = kAhead / 2;
    const auto fetch = [&](std::size_t j) {
      if (member_keys[j].position != MemberKey::kNone) __builtin_prefetch(records[member_keys[j].position], 1);
    };
    for (std::size_t j = 0; j < members.size() && j < kFound; ++j) fetch(j);
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i + kFound < members.size()) fetch(i + kFound);
      const std::uint32_t key = member_keys[i].position;
      const UsagePlanKey& pk = members[i];
      auto plan = plans.find(pk.plan_id);
      if (plan == plans.end() || key == MemberKey::kNone || plan->second.stages.empty()) continue;
      const UsagePlan& p = *plan->second.plan;
      const MemberRefs member = members_(i);
      const KeyPlanHandle state_handle = key_plan_state(p, pk.key_id, member.pair_id);
      // A raised limit takes effect at once.
      if (plan->second.throttle_changed && !state_handle.created) state_handle.state->bucket.reset();
      UsageSlot* usage = member.usage;
      const std::int64_t initial_window_id = p.quota ? initial_window(p.quota->period, pk.created_date) : 0;
      for (const auto& served : plan->second.stages)
        keys.bind(*records[key], served.index, state_handle.state, usage, initial_window_id,
                  method_limits(p, *served.api_stage, *served.stage, pk.key_id));
    }
  }

  // The key's per-method throttles under the plan on one stage: each method
  // has a bucket per key.
  std::vector<MethodLimit> method_limits(const UsagePlan& plan, const ApiStage& api_stage, const StageEntry& stage,
                                         const std::string& key_id) {
    std::vector<MethodLimit> out;
    for (const auto& [method_key, throttle] : api_stage.throttle) {
      for (std::uint32_t i = 0; i < stage.methods.size(); ++i) {
        const RouteMethod& m = stage.methods[i];
        if (plan_method_key(m.resource_path, m.http_method) != method_key) continue;
        const std::string scope = "key\n" + plan.id + "\n" + key_id + "\n" + stage.api_id + "\n" +
                                  stage.stage_name + "\n" + method_key;
        out.push_back({i, limit_ref(scope, throttle)});
      }
    }
    return out;
  }

  // A throttle as this node enforces it: its share of the rate and burst.
  BucketParams params_of(const Throttle& t) const {
    if (throttle_share_ >= 1.0) return BucketParams::from(t);
    const std::int64_t burst =
        t.burst_limit <= 0 ? t.burst_limit
                           : std::max<std::int64_t>(1, std::llround(static_cast<double>(t.burst_limit) * throttle_share_));
    return BucketParams::from(Throttle{t.rate_limit * throttle_share_, burst});
  }

  LimitRef limit_ref(const std::string& scope, const Throttle& throttle) {
    const BucketParams params = params_of(throttle);
    return LimitRef{&limits_.bucket(scope, params), params};
  }

  // The key's counters under the plan. The quota is seeded from the store
  // when the counter is new to this process or the quota period changed (the
  // reloader flushes the meter first, so the store holds every count). A
  // leased quota is not: its counter holds the lease, and starts empty.
  KeyPlanHandle key_plan_state(const UsagePlan& plan, const std::string& key_id,
                               std::optional<std::uint32_t> pair_id) {
    const KeyPlanHandle handle = pair_id ? limits_.key_plan_at(*pair_id) : limits_.key_plan(plan.id, key_id);
    std::lock_guard lock(*handle.seed_mutex);
    std::optional<QuotaPeriod>& counted = *handle.counted_period;
    if (!plan.quota) {
      counted.reset();  // a quota added back later is recounted
    } else if (quota_leased_) {
      counted = plan.quota->period;
    } else if (counted != plan.quota->period) {
      const QuotaWindow& w = current_quota_window(plan.quota->period, now_s_);
      handle.state->quota_for(plan.quota->period)
          .set_used(w.id, load_usage_(plan.id, key_id, plan.quota->period, w.first_day, w.last_day));
      counted = plan.quota->period;
    }
    return handle;
  }

  // The id of the quota window a membership made at `created_s` began in.
  // Memberships made together share a day, so the calendar arithmetic is
  // done once per day and period rather than once per membership.
  std::int64_t initial_window(QuotaPeriod period, std::int64_t created_s) {
    WindowOfDay& w = initial_windows_[static_cast<std::size_t>(period)];
    const std::int64_t day = day_of_unix_seconds(created_s);
    if (w.day != day) w = {day, quota_window(period, created_s).id};
    return w.id;
  }

  struct WindowOfDay {
    std::int64_t day = INT64_MIN;
    std::int64_t id = 0;
  };
  std::array<WindowOfDay, 3> initial_windows_{};  // by QuotaPeriod
  LimitStates& limits_;
  const UsageLoader& load_usage_;
  const MemberProvider& members_;
  std::int64_t now_s_;
  MetricsRegistry* metrics_;
  double throttle_share_;
  bool quota_leased_;
};

std::shared_ptr<const Catalog> build_catalog(const ControlState& state, LimitStates& limits,
                                             const UsageLoader& load_usage,
                                             const MemberProvider& members, UnixNanos now,
                                             std::uint64_t version, MetricsRegistry* metrics,
                                             std::shared_ptr<const KeyHasher> key_hasher, double throttle_share,
                                             bool quota_leased, const std::vector<MemberKey>* member_keys) {
  if (state.keys_hashed && !key_hasher) throw std::invalid_argument("the keys are hashed, and no hasher was given");
  const std::vector<MemberKey> found = member_keys ? std::vector<MemberKey>() : tollgate::member_keys(state);
  return CatalogBuilder(limits, load_usage, members, now, metrics, throttle_share, quota_leased)
      .build(state, version, state.keys_hashed ? std::move(key_hasher) : nullptr, member_keys ? *member_keys : found);
}

}  // namespace tollgate
