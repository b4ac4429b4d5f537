#include "catalog/catalog.h"

#include <spdlog/spdlog.h>

#include <map>
#include <string_view>
#include <unordered_map>

#include "catalog/backend_uri.h"
#include "limits/quota_window.h"

namespace tollgate {

const LimitRef* PlanBinding::method_limit(std::uint32_t method_index) const {
  for (const auto& m : method_limits)
    if (m.method_index == method_index) return &m.limit;
  return nullptr;
}

const PlanBinding* KeyEntry::binding_for(const StageEntry* stage) const {
  for (const auto& b : bindings)
    if (b.stage == stage) return &b;
  return nullptr;
}

const StageEntry* Catalog::stage(std::string_view api_id, std::string_view stage_name) const {
  auto api = apis_.find(api_id);
  if (api == apis_.end()) return nullptr;
  auto stage = api->second.find(stage_name);
  return stage == api->second.end() ? nullptr : &stage->second;
}

const KeyEntry* Catalog::key(std::string_view value) const {
  auto it = keys_.find(value);
  return it == keys_.end() ? nullptr : &it->second;
}

class CatalogBuilder {
 public:
  CatalogBuilder(LimitStates& limits, const UsageLoader& load_usage, const UsageSlotProvider& usage_slots,
                 UnixNanos now, MetricsRegistry* metrics)
      : limits_(limits),
        load_usage_(load_usage),
        usage_slots_(usage_slots),
        now_s_(now / kNanosPerSecond),
        metrics_(metrics) {}

  std::shared_ptr<const Catalog> build(const ControlState& state, std::uint64_t version) {
    auto catalog = std::make_shared<Catalog>();
    catalog->version_ = version;
    catalog->account_ = limit_ref("account", state.account.throttle);
    add_stages(*catalog, state);
    add_keys(*catalog, state);
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

  void add_keys(Catalog& catalog, const ControlState& state) {
    std::map<std::string, const UsagePlan*> plans;
    for (const auto& p : state.usage_plans) plans[p.id] = &p;
    std::unordered_map<std::string_view, KeyEntry*> by_id;
    by_id.reserve(state.api_keys.size());
    catalog.keys_.reserve(state.api_keys.size());
    for (const auto& k : state.api_keys) {
      KeyEntry& entry = catalog.keys_[k.value];
      entry.id = k.id;
      entry.enabled = k.enabled;
      by_id[k.id] = &entry;
    }
    for (const auto& pk : state.usage_plan_keys) {
      auto plan = plans.find(pk.plan_id);
      auto key = by_id.find(pk.key_id);
      if (plan == plans.end() || key == by_id.end()) continue;
      for (const auto& api_stage : plan->second->api_stages) {
        const StageEntry* stage = catalog.stage(api_stage.api_id, api_stage.stage);
        if (stage) key->second->bindings.push_back(bind(*plan->second, api_stage, *stage, pk));
      }
    }
  }

  PlanBinding bind(const UsagePlan& plan, const ApiStage& api_stage, const StageEntry& stage,
                   const UsagePlanKey& pk) {
    PlanBinding b;
    b.stage = &stage;
    b.plan_id = plan.id;
    b.state = &key_plan_state(plan, pk.key_id);
    if (plan.throttle) {
      const BucketParams params = BucketParams::from(*plan.throttle);
      b.plan_limit = LimitRef{&b.state->bucket_for(params), params};
    }
    if (plan.quota) {
      b.quota = plan.quota;
      b.initial_window_id = quota_window(plan.quota->period, pk.created_date).id;
    }
    for (const auto& [method_key, throttle] : api_stage.throttle) {
      for (std::uint32_t i = 0; i < stage.methods.size(); ++i) {
        const RouteMethod& m = stage.methods[i];
        if (plan_method_key(m.resource_path, m.http_method) != method_key) continue;
        const std::string scope = "key\n" + plan.id + "\n" + pk.key_id + "\n" + stage.api_id + "\n" +
                                  stage.stage_name + "\n" + method_key;
        b.method_limits.push_back({i, limit_ref(scope, throttle)});
      }
    }
    return b;
  }

  LimitRef limit_ref(const std::string& scope, const Throttle& throttle) {
    const BucketParams params = BucketParams::from(throttle);
    return LimitRef{&limits_.bucket(scope, params), params};
  }

  // The key's counters under the plan. The quota is seeded from the store
  // when the counter is new to this process or the quota period changed (the
  // reloader flushes the meter first, so the store holds every count).
  KeyPlanState& key_plan_state(const UsagePlan& plan, const std::string& key_id) {
    bool created = false;
    KeyPlanState& state = limits_.key_plan(plan.id, key_id, created);
    if (!state.usage) state.usage = usage_slots_(plan.id, key_id);
    std::lock_guard lock(state.seed_mutex);
    if (!plan.quota) {
      state.counted_period.reset();  // a quota added back later is recounted
    } else if (state.counted_period != plan.quota->period) {
      const QuotaWindow w = quota_window(plan.quota->period, now_s_);
      state.quota_for(plan.quota->period).set_used(w.id, load_usage_(plan.id, key_id, w.first_day, w.last_day));
      state.counted_period = plan.quota->period;
    }
    return state;
  }

  LimitStates& limits_;
  const UsageLoader& load_usage_;
  const UsageSlotProvider& usage_slots_;
  std::int64_t now_s_;
  MetricsRegistry* metrics_;
};

std::shared_ptr<const Catalog> build_catalog(const ControlState& state, LimitStates& limits,
                                             const UsageLoader& load_usage,
                                             const UsageSlotProvider& usage_slots, UnixNanos now,
                                             std::uint64_t version, MetricsRegistry* metrics) {
  return CatalogBuilder(limits, load_usage, usage_slots, now, metrics).build(state, version);
}

}  // namespace tollgate
