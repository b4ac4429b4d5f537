#include "admin/lookups.h"

#include <algorithm>

#include "admin/admin_error.h"

namespace tollgate {
namespace {

template <typename T, typename Pred>
T* find_in(std::vector<T>& items, Pred pred) {
  auto it = std::find_if(items.begin(), items.end(), pred);
  return it == items.end() ? nullptr : &*it;
}

}  // namespace

RestApi& find_api(ControlState& s, const std::string& api_id, const std::string& account_id) {
  if (RestApi* a = find_in(s.apis, [&](const RestApi& a) { return a.id == api_id; })) return *a;
  not_found("Invalid API identifier specified " + account_id + ":" + api_id);
}

Resource& find_resource(RestApi& api, const std::string& resource_id) {
  if (Resource* r = find_in(api.resources, [&](const Resource& r) { return r.id == resource_id; })) return *r;
  not_found("Invalid Resource identifier specified");
}

Method& find_method(Resource& resource, const std::string& http_method) {
  auto it = resource.methods.find(http_method);
  if (it == resource.methods.end()) not_found("Invalid Method identifier specified");
  return it->second;
}

Stage& find_stage(ControlState& s, const std::string& api_id, const std::string& stage_name) {
  if (Stage* st = find_in(s.stages, [&](const Stage& x) { return x.api_id == api_id && x.stage_name == stage_name; }))
    return *st;
  not_found("Invalid stage identifier specified");
}

ApiKey& find_api_key(ControlState& s, const std::string& key_id) {
  if (ApiKey* k = find_in(s.api_keys, [&](const ApiKey& k) { return k.id == key_id; })) return *k;
  not_found("Invalid API Key identifier specified");
}

UsagePlan& find_usage_plan(ControlState& s, const std::string& plan_id) {
  if (UsagePlan* p = find_in(s.usage_plans, [&](const UsagePlan& p) { return p.id == plan_id; })) return *p;
  not_found("Invalid Usage Plan ID specified");
}

PlansOfKeys::PlansOfKeys(const ControlState& s) {
  for (const auto& pk : s.usage_plan_keys) add(pk.key_id, pk.plan_id);
}

bool PlansOfKeys::contains(const std::string& key_id, const std::string& plan_id) const {
  const std::vector<std::string>& plans = of(key_id);
  return std::find(plans.begin(), plans.end(), plan_id) != plans.end();
}

const std::vector<std::string>& PlansOfKeys::of(const std::string& key_id) const {
  static const std::vector<std::string> none;
  const auto it = plans_.find(key_id);
  return it == plans_.end() ? none : it->second;
}

std::string plan_stage_conflict(const ControlState& s, const UsagePlan& plan, const std::string& key_id,
                                const ApiStage* stage) {
  PlansOfKeys one_key(ControlState{});
  for (const auto& pk : s.usage_plan_keys)
    if (pk.key_id == key_id) one_key.add(key_id, pk.plan_id);
  return plan_stage_conflict(s, plan, key_id, one_key, stage);
}

std::string plan_stage_conflict(const ControlState& s, const UsagePlan& plan, const std::string& key_id,
                                const PlansOfKeys& plans_of_keys, const ApiStage* stage) {
  for (const auto& other_id : plans_of_keys.of(key_id)) {
    if (other_id == plan.id) continue;
    for (const auto& other : s.usage_plans) {
      if (other.id != other_id) continue;
      for (const auto& a : other.api_stages)
        for (const auto& b : plan.api_stages)
          if (a.api_id == b.api_id && a.stage == b.stage && (!stage || (stage->api_id == b.api_id && stage->stage == b.stage)))
            return "API key " + key_id + " is already in usage plan " + other.id + " for stage " + a.api_id +
                   ":" + a.stage + "; a key may be in only one usage plan per stage";
    }
  }
  return {};
}

void refuse_if_in_usage_plan(const ControlState& s, const std::string& api_id, const std::string* stage) {
  for (const auto& p : s.usage_plans)
    for (const auto& as : p.api_stages)
      if (as.api_id == api_id && (!stage || as.stage == *stage))
        bad_request("Cannot delete " + (stage ? "stage " + *stage : "REST API " + api_id) +
                    " because usage plan " + p.id + " is associated with " + as.api_id + ":" + as.stage +
                    "; remove the stage from the usage plan first");
}

}  // namespace tollgate
