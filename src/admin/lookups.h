#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "model/types.h"

namespace tollgate {

// Finds an entity in a control state or throws the NotFoundException AWS
// answers with.
RestApi& find_api(ControlState& s, const std::string& api_id, const std::string& account_id);
Resource& find_resource(RestApi& api, const std::string& resource_id);
Method& find_method(Resource& resource, const std::string& http_method);
Stage& find_stage(ControlState& s, const std::string& api_id, const std::string& stage_name);
ApiKey& find_api_key(ControlState& s, const std::string& key_id);
UsagePlan& find_usage_plan(ControlState& s, const std::string& plan_id);

// The plans each key is in, so that checks over many keys (an import, a
// stage added to a plan with many keys) need not scan every membership per
// key.
class PlansOfKeys {
 public:
  explicit PlansOfKeys(const ControlState& s);
  bool contains(const std::string& key_id, const std::string& plan_id) const;
  const std::vector<std::string>& of(const std::string& key_id) const;
  void add(const std::string& key_id, const std::string& plan_id) { plans_[key_id].push_back(plan_id); }

 private:
  std::unordered_map<std::string, std::vector<std::string>> plans_;
};

// The message of the one-plan-per-stage rule (spec §6.2) if `key_id` joining
// `plan` would put it in two plans on one stage, else empty. With `stage`,
// only that stage of the plan is considered.
std::string plan_stage_conflict(const ControlState& s, const UsagePlan& plan, const std::string& key_id,
                                const ApiStage* stage = nullptr);
std::string plan_stage_conflict(const ControlState& s, const UsagePlan& plan, const std::string& key_id,
                                const PlansOfKeys& plans_of_keys, const ApiStage* stage = nullptr);

// 400 when a usage plan still covers the API (or, with `stage`, that stage of
// it): deleting it would silently change what keys may call.
void refuse_if_in_usage_plan(const ControlState& s, const std::string& api_id, const std::string* stage);

}  // namespace tollgate
