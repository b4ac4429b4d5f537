#include <algorithm>
#include <array>

#include "admin/lookups.h"
#include "admin/operations.h"
#include "admin/paging.h"
#include "admin/patch_operations.h"
#include "core/ids.h"
#include "model/json_codec.h"
#include "model/json_fields.h"
#include "model/validate.h"

namespace tollgate {
namespace json = boost::json;

namespace {

json::object stage_json(const Stage& s) {
  json::object o = to_json(s);
  o.erase("restApiId");
  return o;
}

// The settings a method's entry has, as the last two segments of a path.
constexpr std::array<std::string_view, 10> kSettingFields = {
    "throttling/rateLimit",
    "throttling/burstLimit",
    "metrics/enabled",
    "logging/loglevel",
    "logging/dataTrace",
    "caching/enabled",
    "caching/ttlInSeconds",
    "caching/dataEncrypted",
    "caching/requireAuthorizationForCacheControl",
    "caching/unauthorizedCacheControlHeaderStrategy"};

// "/~1pets/GET/throttling/rateLimit" → ("~1pets/GET", "throttling/rateLimit");
// "/pets/{id}/GET/logging/loglevel" (a Terraform method_path, unescaped) →
// ("pets/{id}/GET", "logging/loglevel"); "/~1pets/GET" → ("~1pets/GET", "").
bool split_setting_path(const std::string& path, std::string& key, std::string& field) {
  if (path.size() < 2 || path[0] != '/') return false;
  const std::string_view rest = std::string_view(path).substr(1);
  field.clear();
  for (std::string_view f : kSettingFields)
    if (rest.size() > f.size() + 1 && rest.ends_with(f) && rest[rest.size() - f.size() - 1] == '/')
      field = f;
  key = rest.substr(0, rest.size() - (field.empty() ? 0 : field.size() + 1));
  // A key is a resource path and a method: at least two segments.
  return key.find('/') != std::string::npos && !key.starts_with('/') && !key.ends_with('/');
}

const char* kSettingPaths =
    "/deploymentId, /description, /variables/{name}, /accessLogSettings/destinationArn, "
    "/accessLogSettings/format, /accessLogSettings (remove), /clientCertificateId (empty), "
    "/tracingEnabled, /cacheClusterEnabled, "
    "/cacheClusterSize, /{resourcePath}/{httpMethod}/throttling/rateLimit, "
    "/{resourcePath}/{httpMethod}/throttling/burstLimit, "
    "/{resourcePath}/{httpMethod}/metrics/enabled, /{resourcePath}/{httpMethod}/logging/loglevel, "
    "/{resourcePath}/{httpMethod}/logging/dataTrace, /{resourcePath}/{httpMethod}/caching/enabled, "
    "/{resourcePath}/{httpMethod}/caching/ttlInSeconds, "
    "/{resourcePath}/{httpMethod}/caching/dataEncrypted, "
    "/{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, "
    "/{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, "
    "/*/*/throttling/rateLimit, /*/*/throttling/burstLimit";

constexpr std::string_view kVariables = "/variables/";

void check_one_of(const PatchOperation& op, std::initializer_list<std::string_view> allowed) {
  for (std::string_view a : allowed)
    if (op.value == a) return;
  std::string list;
  for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  bad_request("Invalid value '" + op.value + "' for " + op.path + ": use one of " + list);
}

void apply_stage_op(ControlState& s, Stage& stage, const PatchOperation& op) {
  if (op.op == "replace" && op.path == "/description") {
    stage.description = op.value;
    return;
  }
  if (op.path.starts_with(kVariables) && op.path.size() > kVariables.size()) {
    const std::string name = op.path.substr(kVariables.size());
    if (op.op == "replace" || op.op == "add") {
      validate_stage_variables({{name, op.value}});
      stage.variables[name] = op.value;
    } else if (op.op == "remove") {
      stage.variables.erase(name);
    } else {
      bad_request("Invalid patch operation '" + op.op + "' for " + op.path);
    }
    return;
  }
  if (op.op == "replace" && op.path == "/accessLogSettings/destinationArn") {
    if (!op.value.empty() && !op.value.starts_with("arn:"))
      bad_request("Invalid access log destination ARN: " + op.value);
    stage.access_log_destination_arn = op.value;
    return;
  }
  if (op.op == "replace" && op.path == "/accessLogSettings/format") {
    stage.access_log_format = op.value;
    return;
  }
  if (op.op == "remove" && op.path == "/accessLogSettings") {
    stage.access_log_destination_arn.clear();
    stage.access_log_format.clear();
    return;
  }
  // No client certificate and no canary is all a stage has here: setting
  // those to nothing is accepted, anything else refused.
  if (op.op == "replace" && op.path == "/clientCertificateId") {
    if (!op.value.empty())
      bad_request(
          "Client certificates are not supported: tollgate calls backends over plain "
          "HTTP from where it runs");
    return;
  }
  if (op.op == "remove" && op.path == "/canarySettings") return;
  if (op.path.starts_with("/canarySettings/"))
    bad_request("canary settings are not supported; deploy to a second stage instead");
  if (op.op == "replace" && op.path == "/tracingEnabled") {
    stage.tracing_enabled = patch_bool(op);
    return;
  }
  if (op.op == "replace" && op.path == "/cacheClusterEnabled") {
    stage.cache_cluster_enabled = patch_bool(op);
    return;
  }
  if (op.op == "replace" && op.path == "/cacheClusterSize") {
    check_cache_cluster_size(op.value);
    stage.cache_cluster_size = op.value;
    return;
  }
  if (op.op == "replace" && op.path == "/deploymentId") {
    const bool exists = std::any_of(
        s.deployments.begin(), s.deployments.end(),
        [&](const Deployment& d) { return d.api_id == stage.api_id && d.id == op.value; });
    if (!exists) bad_request("Invalid deployment identifier specified");
    stage.deployment_id = op.value;
    return;
  }
  std::string key, field;
  if (!split_setting_path(op.path, key, field))
    bad_request("Invalid method setting path: " + op.path + ". Must be one of: [" + kSettingPaths +
                "]");
  if (op.op == "remove" && field.empty()) {
    if (!stage.method_settings.erase(key))
      bad_request("Cannot remove method setting " + key +
                  " because there is no method setting for this method ");
    return;
  }
  if (op.op != "replace")
    bad_request("Invalid patch operation '" + op.op + "' for " + op.path +
                "; use replace, or remove on a method");
  auto it = stage.method_settings.find(key);
  if (it == stage.method_settings.end()) {
    // A new method entry starts from "*/*" as it is now, else the defaults.
    auto all = stage.method_settings.find("*/*");
    it = stage.method_settings
             .emplace(key, all != stage.method_settings.end() ? all->second : MethodSetting{})
             .first;
  }
  MethodSetting& m = it->second;
  if (field == "throttling/rateLimit") {
    m.throttling_rate_limit = patch_double(op);
    validate_method_throttle(m, op.path);
  } else if (field == "throttling/burstLimit") {
    m.throttling_burst_limit = patch_int(op);
    validate_method_throttle(m, op.path);
  } else if (field == "metrics/enabled") {
    m.metrics_enabled = patch_bool(op);
  } else if (field == "logging/dataTrace") {
    m.data_trace_enabled = patch_bool(op);
  } else if (field == "caching/enabled") {
    m.caching_enabled = patch_bool(op);
  } else if (field == "caching/ttlInSeconds") {
    m.cache_ttl_seconds = patch_int(op);
  } else if (field == "logging/loglevel") {
    check_one_of(op, {"OFF", "ERROR", "INFO"});
    m.logging_level = op.value;
  } else if (field == "caching/dataEncrypted") {
    m.cache_data_encrypted = patch_bool(op);
  } else if (field == "caching/requireAuthorizationForCacheControl") {
    m.require_authorization_for_cache_control = patch_bool(op);
  } else if (field == "caching/unauthorizedCacheControlHeaderStrategy") {
    check_one_of(
        op, {"FAIL_WITH_403", "SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER"});
    m.unauthorized_cache_control_header_strategy = op.value;
  } else {
    bad_request("Invalid method setting path: " + op.path + ". Must be one of: [" + kSettingPaths +
                "]");
  }
}

}  // namespace

HttpResponse create_stage(AdminContext& ctx, const AdminRequest& req) {
  const json::object body = req.json();
  Stage stage;
  stage.stage_name = get_string(body, "stageName", "createStageInput");
  stage.deployment_id = get_string(body, "deploymentId", "createStageInput");
  stage.description = get_string(body, "description", "createStageInput");
  stage.variables = get_string_map(body, "variables", "createStageInput");
  validate_stage_variables(stage.variables);
  stage.tracing_enabled = get_bool(body, "tracingEnabled", false, "createStageInput");
  stage.cache_cluster_enabled = get_bool(body, "cacheClusterEnabled", false, "createStageInput");
  stage.cache_cluster_size = get_string(body, "cacheClusterSize", "createStageInput");
  check_cache_cluster_size(stage.cache_cluster_size);
  stage.tags = get_string_map(body, "tags", "createStageInput");
  check_tags(stage.tags);
  refuse_unsupported_stage_settings(body, "createStageInput");
  validate_stage_name(stage.stage_name);
  if (stage.deployment_id.empty())
    bad_request("Invalid deployment identifier specified: deploymentId is required");
  stage = ctx.edit([&](ControlState& s) {
    stage.api_id = find_api(s, req.segments()[1], ctx.account_id).id;
    const bool deployed =
        std::any_of(s.deployments.begin(), s.deployments.end(), [&](const Deployment& d) {
          return d.api_id == stage.api_id && d.id == stage.deployment_id;
        });
    if (!deployed) bad_request("Invalid deployment identifier specified");
    for (const auto& st : s.stages)
      if (st.api_id == stage.api_id && st.stage_name == stage.stage_name)
        conflict("Stage already exists");
    stage.created_date = stage.last_updated_date = ctx.now_s();
    s.stages.push_back(stage);
    return stage;
  });
  return admin_json(http::status::created, stage_json(stage));
}

HttpResponse get_stage(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  find_api(s, req.segments()[1], ctx.account_id);
  return admin_json(http::status::ok,
                    stage_json(find_stage(s, req.segments()[1], req.segments()[3])));
}

HttpResponse get_stages(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  const std::string api_id = find_api(s, req.segments()[1], ctx.account_id).id;
  const auto deployment = req.query("deploymentId");
  json::array items;
  for (const auto& st : s.stages)
    if (st.api_id == api_id && (!deployment || st.deployment_id == *deployment))
      items.push_back(stage_json(st));
  return admin_json(http::status::ok, json::object{{"item", std::move(items)}});
}

HttpResponse update_stage(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateStageInput");
  const Stage stage = ctx.edit([&](ControlState& s) {
    find_api(s, req.segments()[1], ctx.account_id);
    Stage& st = find_stage(s, req.segments()[1], req.segments()[3]);
    for (const auto& op : ops) apply_stage_op(s, st, op);
    st.last_updated_date = ctx.now_s();
    return st;
  });
  return admin_json(http::status::ok, stage_json(stage));
}

HttpResponse delete_stage(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState& s) {
    find_api(s, req.segments()[1], ctx.account_id);
    const Stage st = find_stage(s, req.segments()[1], req.segments()[3]);
    // As AWS does: the stage leaves the usage plans that cover it.
    for (UsagePlan& plan : s.usage_plans)
      std::erase_if(plan.api_stages, [&](const ApiStage& as) {
        return as.api_id == st.api_id && as.stage == st.stage_name;
      });
    std::erase_if(s.stages, [&](const Stage& x) {
      return x.api_id == st.api_id && x.stage_name == st.stage_name;
    });
    return 0;
  });
  return admin_empty(http::status::accepted);
}

}  // namespace tollgate
