#include "admin/lookups.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "admin/admin_error.h"
#include "model/validate.h"

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
  if (Resource* r = find_in(api.resources, [&](const Resource& r) { return r.id == resource_id; }))
    return *r;
  not_found("Invalid Resource identifier specified");
}

Method& find_method(Resource& resource, const std::string& http_method) {
  auto it = resource.methods.find(http_method);
  if (it == resource.methods.end()) not_found("Invalid Method identifier specified");
  return it->second;
}

Authorizer& find_authorizer(RestApi& api, const std::string& authorizer_id) {
  if (Authorizer* a =
          find_in(api.authorizers, [&](const Authorizer& a) { return a.id == authorizer_id; }))
    return *a;
  not_found("Invalid Authorizer identifier specified");
}

Stage& find_stage(ControlState& s, const std::string& api_id, const std::string& stage_name) {
  if (Stage* st = find_in(s.stages, [&](const Stage& x) {
        return x.api_id == api_id && x.stage_name == stage_name;
      }))
    return *st;
  not_found("Invalid stage identifier specified");
}

UsagePlan& find_usage_plan(ControlState& s, const std::string& plan_id) {
  if (UsagePlan* p = find_in(s.usage_plans, [&](const UsagePlan& p) { return p.id == plan_id; }))
    return *p;
  not_found("Invalid Usage Plan ID specified");
}

void check_cache_cluster_size(const std::string& size) {
  static const std::vector<std::string> kSizes = {"0.5",  "1.6",  "6.1", "13.5",
                                                  "28.4", "58.2", "118", "237"};
  if (!size.empty() && std::find(kSizes.begin(), kSizes.end(), size) == kSizes.end())
    bad_request("Invalid cacheClusterSize '" + size +
                "': use one of 0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118, 237");
}

void refuse_unsupported_stage_settings(const boost::json::object& body, const char* where) {
  const boost::json::value* canary = body.if_contains("canarySettings");
  if (canary && !canary->is_null())
    bad_request(std::string(where) +
                ": canary settings are not supported; deploy to a second stage instead");
  const boost::json::value* docs = body.if_contains("documentationVersion");
  if (docs && !(docs->is_null() || (docs->is_string() && docs->get_string().empty())))
    bad_request(std::string(where) + ": documentation versions are not supported");
}

void check_tags(const std::map<std::string, std::string>& tags) {
  try {
    validate_tags(tags);
  } catch (const std::invalid_argument& e) {
    bad_request(e.what());
  }
}

ApiKey find_api_key(ControlReads& reads, const std::string& key_id) {
  if (std::optional<ApiKey> k = reads.api_key(key_id)) return std::move(*k);
  not_found("Invalid API Key identifier specified");
}

UsagePlanKey find_membership(ControlReads& reads, const std::string& plan_id,
                             const std::string& key_id) {
  if (std::optional<UsagePlanKey> m = reads.membership(plan_id, key_id)) return std::move(*m);
  not_found("Invalid API Key identifier specified: " + key_id + " is not in usage plan " + plan_id);
}

namespace {

bool same_stage(const ApiStage& a, const ApiStage& b) {
  return a.api_id == b.api_id && a.stage == b.stage;
}

std::string conflict_message(const std::string& key_id, const std::string& other_plan_id,
                             const ApiStage& stage) {
  return "API key " + key_id + " is already in usage plan " + other_plan_id + " for stage " +
         stage.api_id + ":" + stage.stage + "; a key may be in only one usage plan per stage";
}

}  // namespace

std::string plan_stage_conflict(const ControlState& few, const UsagePlan& plan,
                                const std::string& key_id,
                                const std::vector<UsagePlanKey>& key_plans, const ApiStage* stage) {
  for (const UsagePlanKey& m : key_plans) {
    if (m.plan_id == plan.id) continue;
    for (const UsagePlan& other : few.usage_plans) {
      if (other.id != m.plan_id) continue;
      for (const ApiStage& a : other.api_stages)
        for (const ApiStage& b : plan.api_stages)
          if (same_stage(a, b) && (!stage || same_stage(*stage, b)))
            return conflict_message(key_id, other.id, a);
    }
  }
  return {};
}

std::string plan_keys_stage_conflict(const ControlState& few, ControlReads& reads,
                                     const UsagePlan& plan, const ApiStage& stage) {
  for (const UsagePlan& other : few.usage_plans) {
    if (other.id == plan.id) continue;
    for (const ApiStage& a : other.api_stages)
      if (same_stage(a, stage))
        if (const std::optional<std::string> key_id = reads.key_in_both(plan.id, other.id))
          return conflict_message(*key_id, other.id, a);
  }
  return {};
}

void refuse_if_in_usage_plan(const ControlState& s, const std::string& api_id,
                             const std::string* stage) {
  for (const auto& p : s.usage_plans)
    for (const auto& as : p.api_stages)
      if (as.api_id == api_id && (!stage || as.stage == *stage))
        bad_request("Cannot delete " + (stage ? "stage " + *stage : "REST API " + api_id) +
                    " because usage plan " + p.id + " is associated with " + as.api_id + ":" +
                    as.stage + "; remove the stage from the usage plan first");
}

Deployment& find_deployment(ControlState& s, const std::string& api_id,
                            const std::string& deployment_id) {
  for (auto& d : s.deployments)
    if (d.api_id == api_id && d.id == deployment_id) return d;
  not_found("Invalid Deployment identifier specified");
}

void validate_stage_name(const std::string& name) {
  if (name.empty()) bad_request("Invalid stage name specified: stageName is required");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      bad_request("Stage name only allows a-zA-Z0-9_-: " + name);
}

}  // namespace tollgate
