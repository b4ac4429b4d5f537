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

// A usage plan as the catalog binds keys to it: the stages of it served,
// what every key of the plan shares there.
struct PlanEntry {
  UsagePlan plan;
  struct Served {
    std::size_t api_stage;  // in plan.api_stages
    const StageEntry* stage;
    std::uint16_t index;  // the key tables' plan stage
  };
  std::vector<Served> stages;
  bool throttle_changed = false;  // since the catalog before: buckets start full again
};

const StageEntry* Catalog::stage(std::string_view api_id, std::string_view stage_name) const {
  auto api = routes_->find(api_id);
  if (api == routes_->end()) return nullptr;
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
    catalog->throttle_share_ = throttle_share_;
    catalog->key_hasher_ = std::move(key_hasher);
    catalog->account_ = limit_ref("account", state.account.throttle);
    account_throttle_ = state.account.throttle;
    auto routes = std::make_shared<Catalog::Routes>();
    add_stages(*routes, state);
    catalog->routes_ = std::move(routes);
    auto keys = std::make_shared<KeyTable>();
    auto plans = std::make_shared<Catalog::Plans>();
    add_plans(*catalog, *keys, *plans, state);
    add_keys(*keys, *plans, state, member_keys);
    catalog->key_count_ = keys->size();
    catalog->keys_ = std::move(keys);
    catalog->plans_ = std::move(plans);
    return catalog;
  }

  // `current` with `changes` applied to its keys (see apply_key_changes).
  std::shared_ptr<const Catalog> apply(const Catalog& current,
                                       const std::vector<ChangedKey>& changes,
                                       std::uint64_t version, std::size_t max_recent) {
    auto catalog = std::make_shared<Catalog>(current);
    catalog->version_ = version;
    std::size_t text_bytes = 0;
    std::size_t records = 0;
    for (const ChangedKey& c : changes) {
      for (const std::string& v : c.former_values) text_bytes += KeyTable::text_bytes(v, {}, {});
      records += c.former_values.size() + 1;
      if (c.now) text_bytes += KeyTable::text_bytes(c.now->value, c.id, c.now->customer_id);
    }
    // This delta's table: the values the changed keys had hidden, then the
    // keys as they are now (a value may pass from one key to another).
    auto added = std::make_shared<KeyTable>();
    added->reserve(records, text_bytes);
    added->share_plan_stages(*current.keys_);
    for (const ChangedKey& c : changes)
      for (const std::string& v : c.former_values) added->add_removed(v);
    std::size_t member = 0;
    for (const ChangedKey& c : changes) {
      if (!c.now) continue;
      KeyTable::Record& record =
          added->add_key(c.now->value, c.id, c.now->enabled, c.now->customer_id);
      for (const UsagePlanKey& pk : c.now->memberships) {
        const MemberRefs refs = members_(member++);
        const auto plan = current.plans_->find(pk.plan_id);
        if (plan == current.plans_->end() || plan->second.stages.empty()) continue;
        bind_member(*added, record, plan->second, pk, refs, false);
      }
    }
    // The count moves by what this table adds or hides of what was served.
    std::size_t count = current.key_count_;
    added->each([&](const KeyTable::Record& r) {
      const bool was = static_cast<bool>(current.find_key(added->value(r)));
      if (KeyTable::removed(r) && was) --count;
      if (!KeyTable::removed(r) && !was) ++count;
    });
    catalog->key_count_ = count;
    // Laid over the tables before it; merged with them past a few.
    Layers laid;
    laid[0] = std::move(added);
    for (std::size_t i = 0; i < current.recent_count_; ++i) laid[i + 1] = current.recent_[i];
    const std::size_t layers = current.recent_count_ + 1;
    std::size_t recent_keys = 0;
    for (std::size_t i = 0; i < layers; ++i) recent_keys += laid[i]->size();
    catalog->recent_ = {};
    catalog->recent_count_ = 0;
    if (recent_keys > max_recent) {
      // Merged first: each of the million keys is then looked for once.
      catalog->keys_ = compacted(*current.keys_, *merged(laid, layers, *current.keys_));
    } else if (layers > Catalog::kRecentTables) {
      catalog->recent_[0] = merged(laid, layers, *current.keys_);
      catalog->recent_count_ = 1;
    } else {
      for (std::size_t i = 0; i < layers; ++i) catalog->recent_[i] = std::move(laid[i]);
      catalog->recent_count_ = layers;
    }
    return catalog;
  }

 private:
  using Layers = std::array<std::shared_ptr<const KeyTable>, Catalog::kRecentTables + 1>;

  // The record the newest of the first `n` layers holds for `value`.
  static const KeyTable::Record* newest(const Layers& layers, std::size_t n,
                                        std::string_view value) {
    for (std::size_t i = 0; i < n; ++i)
      if (const KeyTable::Record* r = layers[i]->find(value)) return r;
    return nullptr;
  }

  // One table of what `layers` hold, the newest record of each value kept
  // (removal marks too: they hide keys of the table of all keys).
  static std::shared_ptr<const KeyTable> merged(const Layers& layers, std::size_t n,
                                                const KeyTable& all) {
    std::size_t keys = 0;
    std::size_t text = 0;
    for (std::size_t i = 0; i < n; ++i) {
      keys += layers[i]->size();
      text += layers[i]->text_size();
    }
    auto out = std::make_shared<KeyTable>();
    out->reserve(keys, text);
    out->share_plan_stages(all);
    for (std::size_t i = 0; i < n; ++i)
      layers[i]->each([&](const KeyTable::Record& r) {
        if (newest(layers, n, layers[i]->value(r)) != &r) return;
        if (KeyTable::removed(r))
          out->add_removed(layers[i]->value(r));
        else
          out->add_copy(*layers[i], r);
      });
    return out;
  }

  // One table of all keys: those of `all` that `recent` does not hide or
  // replace, and the live keys of `recent`.
  static std::shared_ptr<const KeyTable> compacted(const KeyTable& all, const KeyTable& recent) {
    auto out = std::make_shared<KeyTable>();
    out->reserve(all.size() + recent.size(), all.text_size() + recent.text_size());
    out->share_plan_stages(all);
    all.each([&](const KeyTable::Record& r) {
      if (!recent.find(all.value(r))) out->add_copy(all, r);
    });
    recent.each([&](const KeyTable::Record& r) {
      if (!KeyTable::removed(r)) out->add_copy(recent, r);
    });
    return out;
  }

  void add_stages(Catalog::Routes& routes, const ControlState& state) {
    std::map<std::pair<std::string, std::string>, const Deployment*> deployments;
    for (const auto& d : state.deployments) deployments[{d.api_id, d.id}] = &d;
    for (const auto& api : state.apis) routes[api.id];
    for (const auto& s : state.stages) {
      auto api = std::find_if(state.apis.begin(), state.apis.end(),
                              [&](const RestApi& a) { return a.id == s.api_id; });
      auto d = deployments.find({s.api_id, s.deployment_id});
      if (api == state.apis.end() || d == deployments.end()) {
        spdlog::warn("stage {}:{} has no deployment {}; not served", s.api_id, s.stage_name,
                     s.deployment_id);
        continue;
      }
      StageEntry& entry = routes[s.api_id][s.stage_name];
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
    if (method.authorization_type == "CUSTOM") {
      // Authorizers are not called yet: such a method is refused, never
      // served without the check its owner asked for.
      m.type = IntegrationType::kMock;
      m.mock = authorizer_configuration_error();
    } else if (method.integration) {
      const Integration& i = *method.integration;
      m.type = i.type;
      m.timeout_ms = i.timeout_ms;
      if (i.type == IntegrationType::kMock) {
        m.mock = mock_response_of(i);
      } else if (i.type == IntegrationType::kAws || i.type == IntegrationType::kAwsProxy) {
        // Imported from a file; there is no Lambda here to call.
        m.type = IntegrationType::kMock;
        m.mock = internal_server_error();
      } else {
        const std::string uri = with_stage_variables(i.uri, stage.variables);
        auto backend = parse_backend_uri(uri);
        if (!backend) {
          spdlog::warn("{} {} on {}:{}: bad integration uri '{}'; not served", method.http_method,
                       resource.path, stage.api_id, stage.stage_name, uri);
          return;
        }
        m.backend = std::move(*backend);
        if (i.http_method != "ANY") m.backend_method = i.http_method;
        for (const auto& [key, value] : i.request_parameters)
          if (auto parsed = parse_request_parameter(key, value).parameter)
            m.request_parameters.push_back(std::move(*parsed));
      }
    } else {
      // A method without integration answers like AWS's unconfigured method.
      m.mock = internal_server_error();
    }
    // "*/*" is the default for each method, not one limit shared by all of
    // them: every method has its own bucket.
    const std::string setting_key = method_setting_key(resource.path, method.http_method);
    auto setting = stage.method_settings.find(setting_key);
    if (setting == stage.method_settings.end()) {
      const std::string path = plan_method_key(resource.path, method.http_method);
      setting = std::find_if(stage.method_settings.begin(), stage.method_settings.end(),
                             [&](const auto& s) { return method_setting_path(s.first) == path; });
    }
    if (setting == stage.method_settings.end()) setting = stage.method_settings.find("*/*");
    if (setting != stage.method_settings.end())
      if (const std::optional<Throttle> t = setting->second.stage_throttle(account_throttle_)) {
        const std::string scope =
            "stage\n" + stage.api_id + "\n" + stage.stage_name + "\n" + setting_key;
        m.stage_limit = limit_ref(scope, *t);
      }
    if (metrics_)
      m.counters =
          &metrics_->route(stage.api_id, stage.stage_name, resource.path, method.http_method);
    const auto index = static_cast<std::uint32_t>(entry.methods.size());
    entry.routes.add(resource.path, method.http_method, index);
    entry.methods.push_back(std::move(m));
  }

  // Each plan's stages, as served: what the plan's keys share.
  void add_plans(const Catalog& catalog, KeyTable& keys, Catalog::Plans& plans,
                 const ControlState& state) {
    for (const auto& p : state.usage_plans) {
      PlanEntry& entry = plans[p.id];
      entry.plan = p;
      std::optional<BucketParams> throttle;
      if (p.throttle) throttle = params_of(*p.throttle);
      entry.throttle_changed = limits_.plan_throttle_changed(p.id, throttle);
      for (std::size_t i = 0; i < p.api_stages.size(); ++i) {
        const ApiStage& api_stage = p.api_stages[i];
        const StageEntry* stage = catalog.stage(api_stage.api_id, api_stage.stage);
        if (!stage) continue;
        PlanStage shared{stage,  p.id,      std::nullopt, p.quota, !api_stage.throttle.empty(),
                         p.name, p.throttle};
        if (p.throttle) shared.key_throttle = params_of(*p.throttle);
        entry.stages.push_back({i, stage, keys.add_plan_stage(std::move(shared))});
      }
    }
  }

  void add_keys(KeyTable& keys, const Catalog::Plans& plans, const ControlState& state,
                const std::vector<MemberKey>& member_keys) {
    std::size_t text_bytes = 0;
    for (const auto& k : state.api_keys)
      text_bytes += KeyTable::text_bytes(k.value, k.id, k.customer_id);
    keys.reserve(state.api_keys.size(), text_bytes);
    std::vector<KeyTable::Record*> records;  // by position in state.api_keys
    records.reserve(state.api_keys.size());
    constexpr std::size_t kAhead = 8;  // adds land at random: overlap their misses
    for (std::size_t i = 0; i < state.api_keys.size(); ++i) {
      if (i + kAhead < state.api_keys.size()) keys.prefetch(state.api_keys[i + kAhead].value);
      const ApiKey& k = state.api_keys[i];
      records.push_back(&keys.add_key(k.value, k.id, k.enabled, k.customer_id));
    }

    limits_.reserve_key_plans(state.usage_plan_keys.size());
    // Each membership's key record is a random place of its own: fetched
    // four memberships ahead, so that the misses overlap.
    const std::vector<UsagePlanKey>& members = state.usage_plan_keys;
    constexpr std::size_t kFound = kAhead / 2;
    const auto fetch = [&](std::size_t j) {
      if (member_keys[j].position != MemberKey::kNone)
        __builtin_prefetch(records[member_keys[j].position], 1);
    };
    for (std::size_t j = 0; j < members.size() && j < kFound; ++j) fetch(j);
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i + kFound < members.size()) fetch(i + kFound);
      const std::uint32_t key = member_keys[i].position;
      const UsagePlanKey& pk = members[i];
      auto plan = plans.find(pk.plan_id);
      if (plan == plans.end() || key == MemberKey::kNone || plan->second.stages.empty()) continue;
      bind_member(keys, *records[key], plan->second, pk, members_(i),
                  plan->second.throttle_changed);
    }
  }

  // Binds a key to each stage of a plan it is a member of.
  void bind_member(KeyTable& keys, KeyTable::Record& record, const PlanEntry& plan,
                   const UsagePlanKey& pk, const MemberRefs& member, bool throttle_changed) {
    const UsagePlan& p = plan.plan;
    const KeyPlanHandle state_handle = key_plan_state(p, pk.key_id, member.pair_id);
    // A raised limit takes effect at once.
    if (throttle_changed && !state_handle.created) state_handle.state->bucket.reset();
    const std::int64_t initial_window_id =
        p.quota ? initial_window(p.quota->period, pk.created_date) : 0;
    for (const auto& served : plan.stages)
      keys.bind(record, served.index, state_handle.state, member.usage, initial_window_id,
                method_limits(p, p.api_stages[served.api_stage], *served.stage, pk.key_id));
  }

  // The key's per-method throttles under the plan on one stage: each method
  // has a bucket per key.
  std::vector<MethodLimit> method_limits(const UsagePlan& plan, const ApiStage& api_stage,
                                         const StageEntry& stage, const std::string& key_id) {
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
        t.burst_limit <= 0
            ? t.burst_limit
            : std::max<std::int64_t>(
                  1, std::llround(static_cast<double>(t.burst_limit) * throttle_share_));
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
    const KeyPlanHandle handle =
        pair_id ? limits_.key_plan_at(*pair_id) : limits_.key_plan(plan.id, key_id);
    std::lock_guard lock(*handle.seed_mutex);
    std::optional<QuotaPeriod>& counted = *handle.counted_period;
    if (!plan.quota) {
      counted.reset();  // a quota added back later is recounted
    } else if (quota_leased_) {
      counted = plan.quota->period;
    } else if (counted != plan.quota->period) {
      const QuotaWindow& w = current_quota_window(plan.quota->period, now_s_);
      handle.state->quota_for(plan.quota->period)
          .set_used(w.id,
                    load_usage_(plan.id, key_id, plan.quota->period, w.first_day, w.last_day));
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
  Throttle account_throttle_;  // of the state being built: fills a method burst of -1
};

std::shared_ptr<const Catalog> apply_key_changes(const Catalog& current,
                                                 const std::vector<ChangedKey>& changes,
                                                 LimitStates& limits, const UsageLoader& load_usage,
                                                 const MemberProvider& members, UnixNanos now,
                                                 std::uint64_t version, std::size_t max_recent) {
  return CatalogBuilder(limits, load_usage, members, now, nullptr, current.throttle_share(),
                        current.quota_leased())
      .apply(current, changes, version, max_recent);
}

std::vector<UsagePlanKey> memberships_of(const std::vector<ChangedKey>& changes) {
  std::vector<UsagePlanKey> out;
  for (const ChangedKey& c : changes)
    if (c.now) out.insert(out.end(), c.now->memberships.begin(), c.now->memberships.end());
  return out;
}

std::shared_ptr<const Catalog> build_catalog(const ControlState& state, LimitStates& limits,
                                             const UsageLoader& load_usage,
                                             const MemberProvider& members,
                                             const CatalogBuild& build) {
  if (state.keys_hashed && !build.key_hasher)
    throw std::invalid_argument("the keys are hashed, and no hasher was given");
  const std::vector<MemberKey> found =
      build.member_keys ? std::vector<MemberKey>() : member_keys(state);
  return CatalogBuilder(limits, load_usage, members, build.now, build.metrics, build.throttle_share,
                        build.quota_leased)
      .build(state, build.version, state.keys_hashed ? build.key_hasher : nullptr,
             build.member_keys ? *build.member_keys : found);
}

}  // namespace tollgate
