#include "cli/apply.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <stdexcept>
#include <string_view>

#include "core/flat_index.h"
#include "core/ids.h"
#include "model/resource_tree.h"
#include "model/validate.h"
#include "store/control_diff.h"

namespace tollgate {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

template <typename T, typename Pred>
T* find_if_ptr(std::vector<T>& items, Pred pred) {
  auto it = std::find_if(items.begin(), items.end(), pred);
  return it == items.end() ? nullptr : &*it;
}

void validate_entity_id(const std::string& id, const std::string& what) {
  const bool ok = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
  if (!ok) fail(what + " id '" + id + "' must be 1-64 letters, digits, '-' or '_'");
}

void merge_api(ControlState& next, const DeclaredApi& declared, std::int64_t now_s) {
  RestApi* api = nullptr;
  if (!declared.id.empty()) {
    validate_entity_id(declared.id, "api '" + declared.name + "'");
    api = find_if_ptr(next.apis, [&](const RestApi& a) { return a.id == declared.id; });
  } else {
    api = find_if_ptr(next.apis, [&](const RestApi& a) { return a.name == declared.name; });
  }
  if (!api) {
    RestApi fresh;
    fresh.id = declared.id.empty() ? random_id(10) : declared.id;
    fresh.created_date = now_s;
    next.apis.push_back(std::move(fresh));
    api = &next.apis.back();
  }
  api->name = declared.name;
  api->description = declared.description;
  api->api_key_source = declared.api_key_source;
  try {
    api->resources = build_resource_tree(declared.resources, api->resources);
  } catch (const std::invalid_argument& e) {
    fail("api '" + declared.name + "' " + e.what());
  }

  std::string new_deployment;  // one per apply, shared by the stages that need it
  for (const auto& ds : declared.stages) {
    if (ds.stage_name.empty() ||
        !std::all_of(ds.stage_name.begin(), ds.stage_name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        }))
      fail("api '" + declared.name + "' stage '" + ds.stage_name +
           "': use letters, digits, '-' and '_'");
    Stage* stage = find_if_ptr(next.stages, [&](const Stage& s) {
      return s.api_id == api->id && s.stage_name == ds.stage_name;
    });
    if (!stage) {
      Stage fresh;
      fresh.api_id = api->id;
      fresh.stage_name = ds.stage_name;
      fresh.created_date = fresh.last_updated_date = now_s;
      next.stages.push_back(std::move(fresh));
      stage = &next.stages.back();
    }
    const Deployment* current = find_if_ptr(next.deployments, [&](const Deployment& d) {
      return d.api_id == api->id && d.id == stage->deployment_id;
    });
    if (!current || current->resources != api->resources) {
      if (new_deployment.empty()) {
        new_deployment = random_id(6);
        next.deployments.push_back(Deployment{api->id, new_deployment, "tollgate apply", now_s,
                                              api->resources, api->authorizers});
      }
      stage->deployment_id = new_deployment;
    }
    stage->description = ds.description;
    stage->method_settings = ds.method_settings;
    if (ds.variables) stage->variables = *ds.variables;
  }
}

// Where each API key of the state being merged sits, by id, by value and by
// name: a declaration may hold a million keys, and a scan per key would
// make applying it quadratic. The maps view the keys' own texts (the
// vector holding them has room for every key declared, so they stay put);
// a key is removed before its texts change and added again after.
class KeyIndex {
 public:
  // Room for `more` keys besides `keys`: a declaration of a million keys
  // fills the maps without growing them.
  KeyIndex(const std::vector<ApiKey>& keys, std::size_t more) {
    by_id_.reserve(keys.size() + more);
    by_value_.reserve(keys.size() + more);
    by_name_.reserve(keys.size() + more);
    for (std::size_t i = 0; i < keys.size(); ++i) add(keys[i], i);
  }
  void add(const ApiKey& key, std::size_t at) {
    by_id_.emplace(key.id, at);
    by_value_.emplace(key.value, at);
    by_name_.emplace(key.name, at);
  }
  void remove(const ApiKey& key, std::size_t at) {
    by_id_.erase(key.id);
    if (auto it = by_value_.find(key.value); it != by_value_.end() && it->second == at)
      by_value_.erase(it);
    auto [first, last] = by_name_.equal_range(key.name);
    for (auto it = first; it != last; ++it)
      if (it->second == at) {
        by_name_.erase(it);
        break;
      }
  }
  std::optional<std::size_t> by_id(std::string_view id) const { return find(by_id_, id); }
  std::optional<std::size_t> by_value(std::string_view value) const {
    return find(by_value_, value);
  }
  // The first key named `name`; `count` says how many carry it.
  std::optional<std::size_t> by_name(std::string_view name) const {
    std::optional<std::size_t> first;
    auto [begin, end] = by_name_.equal_range(name);
    for (auto it = begin; it != end; ++it)
      if (!first || it->second < *first) first = it->second;
    return first;
  }
  std::size_t count_named(std::string_view name) const { return by_name_.count(name); }

 private:
  static std::optional<std::size_t> find(
      const std::unordered_map<std::string_view, std::size_t>& map, std::string_view k) {
    auto it = map.find(k);
    return it == map.end() ? std::nullopt : std::optional<std::size_t>(it->second);
  }
  std::unordered_map<std::string_view, std::size_t> by_id_;
  std::unordered_map<std::string_view, std::size_t> by_value_;
  std::unordered_multimap<std::string_view, std::size_t> by_name_;
};

// The first of `n` texts that an earlier one repeats (empty ones aside,
// with `skip_empty`). Open addressing over their indexes: a declaration of
// a million keys is checked without a million allocations.
template <typename TextOf>
std::optional<std::uint32_t> first_repeated(std::size_t n, TextOf text_of, bool skip_empty) {
  const auto hash_of = [&](std::uint32_t i) { return std::hash<std::string_view>{}(text_of(i)); };
  FlatIndex seen;
  seen.reserve(n, hash_of);
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::string_view text = text_of(i);
    if (skip_empty && text.empty()) continue;
    const std::uint64_t hash = hash_of(i);
    if (seen.find(hash, [&](std::uint32_t j) { return text_of(j) == text; })) return i;
    seen.insert(hash, i, hash_of);
  }
  return std::nullopt;
}

void merge_key(ControlState& next, KeyIndex& index, const ApiKey& declared, std::int64_t now_s) {
  std::optional<std::size_t> at;
  if (!declared.id.empty()) {
    validate_entity_id(declared.id, "api key '" + declared.name + "'");
    at = index.by_id(declared.id);
  }
  if (!at && !declared.value.empty()) at = index.by_value(declared.value);
  if (!at && declared.id.empty()) at = index.by_name(declared.name);
  if (!at) {
    if (next.keys_hashed && declared.value.empty())
      fail("api key '" + declared.name +
           "' needs a value: the store keeps keys hashed, so a value made here "
           "could never be read back");
    ApiKey fresh;
    // A declared id is free here (a key that has it was matched above).
    fresh.id = declared.id;
    while (fresh.id.empty() || index.by_id(fresh.id)) fresh.id = new_key_id(now_s);
    fresh.created_date = now_s;
    if (declared.value.empty()) fresh.value = random_key_value();
    next.api_keys.push_back(std::move(fresh));
    at = next.api_keys.size() - 1;
  } else {
    index.remove(next.api_keys[*at], *at);
  }
  ApiKey* key = &next.api_keys[*at];
  const ApiKey before = *key;
  key->name = declared.name;
  if (!declared.value.empty()) key->value = declared.value;
  key->enabled = declared.enabled;
  key->customer_id = declared.customer_id;
  key->description = declared.description;
  key->tags = declared.tags;
  if (*key != before && before.created_date != 0) key->last_updated_date = now_s;
  if (key->last_updated_date == 0) key->last_updated_date = now_s;
  if (index.by_value(key->value)) fail("api key '" + declared.name + "': API Key already exists");
  index.add(*key, *at);
}

std::vector<Resource> const* resources_of(const ControlState& s, const std::string& api_id) {
  for (const auto& a : s.apis)
    if (a.id == api_id) return &a.resources;
  return nullptr;
}

void merge_plan(ControlState& next, const KeyIndex& keys, const DeclaredPlan& declared,
                std::int64_t now_s) {
  UsagePlan* plan = nullptr;
  if (!declared.id.empty()) {
    validate_entity_id(declared.id, "usage plan '" + declared.name + "'");
    plan = find_if_ptr(next.usage_plans, [&](const UsagePlan& p) { return p.id == declared.id; });
  } else {
    plan =
        find_if_ptr(next.usage_plans, [&](const UsagePlan& p) { return p.name == declared.name; });
  }
  if (!plan) {
    UsagePlan fresh;
    fresh.id = declared.id.empty() ? random_id(6) : declared.id;
    next.usage_plans.push_back(std::move(fresh));
    plan = &next.usage_plans.back();
  }
  const std::string where = "usage plan '" + declared.name + "'";
  plan->name = declared.name;
  plan->description = declared.description;
  plan->throttle = declared.throttle;
  plan->quota = declared.quota;
  plan->api_stages.clear();
  for (const auto& ds : declared.api_stages) {
    const RestApi* api = nullptr;
    for (const auto& a : next.apis)
      if (a.id == ds.api || (!api && a.name == ds.api)) api = &a;
    if (!api) fail(where + ": apiStages names API '" + ds.api + "', which does not exist");
    for (const auto& [key, throttle] : ds.throttle) {
      bool found = false;
      for (const auto& r : *resources_of(next, api->id))
        for (const auto& [m, method] : r.methods)
          found = found || plan_method_key(r.path, m) == key;
      if (!found)
        fail(where + ": throttle '" + key + "' names no method of API '" + api->name +
             "' (write it as {resourcePath}/{METHOD}, e.g. /pets/GET)");
    }
    plan->api_stages.push_back(ApiStage{api->id, ds.stage, ds.throttle});
  }
  // Views of ids that stay put: the keys are not added to here, and the
  // memberships have room for every key declared.
  next.usage_plan_keys.reserve(next.usage_plan_keys.size() + declared.api_keys.size());
  std::unordered_set<std::string_view> members;
  for (const auto& pk : next.usage_plan_keys)
    if (pk.plan_id == plan->id) members.insert(pk.key_id);
  members.reserve(members.size() + declared.api_keys.size());
  for (const auto& key_name : declared.api_keys) {
    if (keys.count_named(key_name) > 1)
      fail(where + ": more than one API key is named '" + key_name + "'");
    const std::optional<std::size_t> at = keys.by_name(key_name);
    if (!at) fail(where + ": apiKeys names '" + key_name + "', which is not a known API key");
    const std::string& key_id = next.api_keys[*at].id;
    if (members.insert(key_id).second) next.usage_plan_keys.push_back({plan->id, key_id, now_s});
  }
}

}  // namespace

ControlState merge_declaration(const ControlState& current, const Declaration& declared,
                               std::int64_t now_s) {
  ControlState next = current;
  if (declared.account) next.account = *declared.account;
  std::set<std::string> names;
  for (const auto& api : declared.apis) {
    if (!names.insert(api.id.empty() ? "name:" + api.name : "id:" + api.id).second)
      fail("api '" + api.name + "' is declared twice");
    merge_api(next, api, now_s);
  }
  names.clear();
  const std::vector<ApiKey>& declared_keys = declared.api_keys;
  if (const auto i = first_repeated(
          declared_keys.size(),
          [&](std::uint32_t j) { return std::string_view(declared_keys[j].name); }, false))
    fail("api key '" + declared_keys[*i].name + "' is declared twice");
  if (const auto i = first_repeated(
          declared_keys.size(),
          [&](std::uint32_t j) { return std::string_view(declared_keys[j].value); }, true))
    fail("api key '" + declared_keys[*i].name +
         "': API Key already exists (another key in the file has its value)");
  next.api_keys.reserve(next.api_keys.size() + declared_keys.size());
  KeyIndex keys(next.api_keys, declared_keys.size());
  for (const auto& key : declared_keys) merge_key(next, keys, key, now_s);
  for (const auto& plan : declared.usage_plans) {
    if (!names.insert(plan.name).second) fail("usage plan '" + plan.name + "' is declared twice");
    merge_plan(next, keys, plan, now_s);
  }
  validate_control_state(next);
  return next;
}

namespace {

ApplyReport write_merged(ControlTransaction& tx, const ControlState& current,
                         const Declaration& declared, std::int64_t now_s) {
  const ControlState next = merge_declaration(current, declared, now_s);
  const DiffReport diff = write_diff(tx, current, next);
  tx.commit();
  return {diff.lines, diff.changes};
}

}  // namespace

ApplyReport apply_declaration(Store& store, const Declaration& declared, std::int64_t now_s,
                              const KeyHashing* hashing) {
  auto tx = store.begin();
  const ControlState current = tx->state();
  if (!current.keys_hashed) return write_merged(*tx, current, declared, now_s);
  if (!hashing)
    throw std::runtime_error("the store keeps keys hashed; this process has no key secret");
  // Declared values are matched and kept as the store keeps them.
  Declaration hashed = declared;
  for (ApiKey& key : hashed.api_keys)
    if (!key.value.empty()) key.value = hashing->stored_value(current, key.value);
  return write_merged(*tx, current, hashed, now_s);
}

}  // namespace tollgate
