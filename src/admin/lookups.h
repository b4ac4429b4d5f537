#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

#include "model/types.h"
#include "store/control_reads.h"

namespace tollgate {

// Finds an entity in a control state or throws the NotFoundException AWS
// answers with.
RestApi& find_api(ControlState& s, const std::string& api_id, const std::string& account_id);
Resource& find_resource(RestApi& api, const std::string& resource_id);
Method& find_method(Resource& resource, const std::string& http_method);
Authorizer& find_authorizer(RestApi& api, const std::string& authorizer_id);
Stage& find_stage(ControlState& s, const std::string& api_id, const std::string& stage_name);
UsagePlan& find_usage_plan(ControlState& s, const std::string& plan_id);
Deployment& find_deployment(ControlState& s, const std::string& api_id,
                            const std::string& deployment_id);

// 400 unless `name` can name a stage: letters, digits, '-' and '_'.
void validate_stage_name(const std::string& name);

// 400 unless `size` is a cache cluster size AWS offers (0.5 … 237), or empty.
void check_cache_cluster_size(const std::string& size);

// 400 for stage settings tollgate does not have: canary settings and
// documentation versions (the members' presence in a create input).
void refuse_unsupported_stage_settings(const boost::json::object& body, const char* where);

// 400 unless the tags are within AWS's limits (model/validate.h).
void check_tags(const std::map<std::string, std::string>& tags);

// The key or the membership, or the NotFoundException AWS answers with.
ApiKey find_api_key(ControlReads& reads, const std::string& key_id);
UsagePlanKey find_membership(ControlReads& reads, const std::string& plan_id,
                             const std::string& key_id);

// The message of the one-plan-per-stage rule (spec §6.2) if `key_id`, in
// the plans `key_plans`, joining `plan` would put it in two plans on one
// stage, else empty. With `stage`, only that stage of the plan is considered.
std::string plan_stage_conflict(const ControlState& few, const UsagePlan& plan,
                                const std::string& key_id,
                                const std::vector<UsagePlanKey>& key_plans,
                                const ApiStage* stage = nullptr);

// The same for every key of `plan` once it covers `stage`: read through the
// plans that already cover the stage, one indexed join each.
std::string plan_keys_stage_conflict(const ControlState& few, ControlReads& reads,
                                     const UsagePlan& plan, const ApiStage& stage);

// 400 when a usage plan still covers the API (or, with `stage`, that stage of
// it): deleting it would silently change what keys may call.
void refuse_if_in_usage_plan(const ControlState& s, const std::string& api_id,
                             const std::string* stage);

}  // namespace tollgate
