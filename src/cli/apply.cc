#include "cli/apply.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "core/ids.h"
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
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
  if (!ok) fail(what + " id '" + id + "' must be 1-64 letters, digits, '-' or '_'");
}

std::string parent_path(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The declared resource tree, keeping the ids of resources that already exist.
std::vector<Resource> build_resources(const DeclaredApi& declared, const RestApi* existing,
                                      const std::string& api_name) {
  std::map<std::string, Resource> by_path;
  std::map<std::string, std::string> old_ids;
  if (existing)
    for (const auto& r : existing->resources) old_ids[r.path] = r.id;
  auto ensure = [&](const std::string& path, auto& self) -> Resource& {
    auto it = by_path.find(path);
    if (it != by_path.end()) return it->second;
    Resource r;
    r.path = path;
    auto old = old_ids.find(path);
    r.id = old != old_ids.end() ? old->second : random_id(path == "/" ? 10 : 6);
    if (path != "/") {
      r.path_part = path.substr(path.rfind('/') + 1);
      try {
        validate_path_part(r.path_part);
      } catch (const std::invalid_argument& e) {
        fail("api '" + api_name + "' resource " + path + ": " + e.what());
      }
      const Resource& parent = self(parent_path(path), self);
      if (parent.path_part.size() > 1 && parent.path_part.back() == '}' &&
          parent.path_part[parent.path_part.size() - 2] == '+')
        fail("api '" + api_name + "' resource " + path + ": a greedy {proxy+} resource has no children");
      r.parent_id = parent.id;
    }
    return by_path.emplace(path, std::move(r)).first->second;
  };
  ensure("/", ensure);
  for (const auto& [path, methods] : declared.resources) {
    std::string normalized = path;
    while (normalized.size() > 1 && normalized.back() == '/') normalized.pop_back();
    if (normalized.find("//") != std::string::npos) fail("api '" + api_name + "' resource " + path + ": empty path part");
    Resource& r = ensure(normalized, ensure);
    for (const auto& [name, method] : methods) r.methods[name] = method;
  }
  std::vector<Resource> out;
  for (auto& [path, r] : by_path) out.push_back(std::move(r));
  return out;
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
  api->resources = build_resources(declared, api, declared.name);

  std::string new_deployment;  // one per apply, shared by the stages that need it
  for (const auto& ds : declared.stages) {
    if (ds.stage_name.empty() ||
        !std::all_of(ds.stage_name.begin(), ds.stage_name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        }))
      fail("api '" + declared.name + "' stage '" + ds.stage_name + "': use letters, digits, '-' and '_'");
    Stage* stage = find_if_ptr(next.stages, [&](const Stage& s) {
      return s.api_id == api->id && s.stage_name == ds.stage_name;
    });
    if (!stage) {
      next.stages.push_back(Stage{api->id, ds.stage_name, "", "", now_s, now_s, {}});
      stage = &next.stages.back();
    }
    const Deployment* current = find_if_ptr(next.deployments, [&](const Deployment& d) {
      return d.api_id == api->id && d.id == stage->deployment_id;
    });
    if (!current || current->resources != api->resources) {
      if (new_deployment.empty()) {
        new_deployment = random_id(6);
        next.deployments.push_back(Deployment{api->id, new_deployment, "tollgate apply", now_s, api->resources});
      }
      stage->deployment_id = new_deployment;
    }
    stage->description = ds.description;
    stage->method_settings = ds.method_settings;
  }
}

void merge_key(ControlState& next, const ApiKey& declared, std::int64_t now_s) {
  ApiKey* key = nullptr;
  if (!declared.id.empty()) {
    validate_entity_id(declared.id, "api key '" + declared.name + "'");
    key = find_if_ptr(next.api_keys, [&](const ApiKey& k) { return k.id == declared.id; });
  }
  if (!key && !declared.value.empty())
    key = find_if_ptr(next.api_keys, [&](const ApiKey& k) { return k.value == declared.value; });
  if (!key && declared.id.empty())
    key = find_if_ptr(next.api_keys, [&](const ApiKey& k) { return k.name == declared.name; });
  if (!key) {
    ApiKey fresh;
    fresh.id = declared.id.empty() ? random_id(10) : declared.id;
    fresh.created_date = now_s;
    fresh.value = random_key_value();
    next.api_keys.push_back(std::move(fresh));
    key = &next.api_keys.back();
  }
  const ApiKey before = *key;
  key->name = declared.name;
  if (!declared.value.empty()) key->value = declared.value;
  key->enabled = declared.enabled;
  key->customer_id = declared.customer_id;
  key->description = declared.description;
  key->tags = declared.tags;
  if (*key != before && before.created_date != 0) key->last_updated_date = now_s;
  if (key->last_updated_date == 0) key->last_updated_date = now_s;
  for (const auto& other : next.api_keys)
    if (&other != key && other.value == key->value) fail("api key '" + declared.name + "': API Key already exists");
}

std::vector<Resource> const* resources_of(const ControlState& s, const std::string& api_id) {
  for (const auto& a : s.apis)
    if (a.id == api_id) return &a.resources;
  return nullptr;
}

void merge_plan(ControlState& next, const DeclaredPlan& declared, std::int64_t now_s) {
  UsagePlan* plan = nullptr;
  if (!declared.id.empty()) {
    validate_entity_id(declared.id, "usage plan '" + declared.name + "'");
    plan = find_if_ptr(next.usage_plans, [&](const UsagePlan& p) { return p.id == declared.id; });
  } else {
    plan = find_if_ptr(next.usage_plans, [&](const UsagePlan& p) { return p.name == declared.name; });
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
        for (const auto& [m, method] : r.methods) found = found || plan_method_key(r.path, m) == key;
      if (!found)
        fail(where + ": throttle '" + key + "' names no method of API '" + api->name +
             "' (write it as {resourcePath}/{METHOD}, e.g. /pets/GET)");
    }
    plan->api_stages.push_back(ApiStage{api->id, ds.stage, ds.throttle});
  }
  for (const auto& key_name : declared.api_keys) {
    const ApiKey* key = nullptr;
    for (const auto& k : next.api_keys) {
      if (k.name != key_name) continue;
      if (key) fail(where + ": more than one API key is named '" + key_name + "'");
      key = &k;
    }
    if (!key) fail(where + ": apiKeys names '" + key_name + "', which is not a known API key");
    const bool present = std::any_of(next.usage_plan_keys.begin(), next.usage_plan_keys.end(),
                                     [&](const UsagePlanKey& pk) { return pk.plan_id == plan->id && pk.key_id == key->id; });
    if (!present) next.usage_plan_keys.push_back({plan->id, key->id, now_s});
  }
}

}  // namespace

ControlState merge_declaration(const ControlState& current, const Declaration& declared, std::int64_t now_s) {
  ControlState next = current;
  if (declared.account) next.account = *declared.account;
  std::set<std::string> names;
  for (const auto& api : declared.apis) {
    if (!names.insert(api.id.empty() ? "name:" + api.name : "id:" + api.id).second)
      fail("api '" + api.name + "' is declared twice");
    merge_api(next, api, now_s);
  }
  names.clear();
  std::set<std::string> values;
  for (const auto& key : declared.api_keys) {
    if (!names.insert(key.name).second) fail("api key '" + key.name + "' is declared twice");
    if (!key.value.empty() && !values.insert(key.value).second)
      fail("api key '" + key.name + "': API Key already exists (another key in the file has its value)");
    merge_key(next, key, now_s);
  }
  names.clear();
  for (const auto& plan : declared.usage_plans) {
    if (!names.insert(plan.name).second) fail("usage plan '" + plan.name + "' is declared twice");
    merge_plan(next, plan, now_s);
  }
  validate_control_state(next);
  return next;
}

ApplyReport apply_declaration(Store& store, const Declaration& declared, std::int64_t now_s) {
  auto tx = store.begin();
  const ControlState current = tx->state();
  const ControlState next = merge_declaration(current, declared, now_s);
  const DiffReport diff = write_diff(*tx, current, next);
  tx->commit();
  return {diff.lines, diff.changes};
}

}  // namespace tollgate
