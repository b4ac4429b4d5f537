// The deployments of a REST API: snapshots of its resources that stages serve.

#include <algorithm>
#include <optional>

#include "admin/lookups.h"
#include "admin/operations.h"
#include "admin/paging.h"
#include "admin/patch_operations.h"
#include "core/ids.h"
#include "model/json_fields.h"
#include "model/validate.h"

namespace tollgate {
namespace json = boost::json;

namespace {

json::object deployment_json(const Deployment& d) {
  json::object o{{"id", d.id}, {"createdDate", d.created_date}};
  if (!d.description.empty()) o["description"] = d.description;
  return o;
}

std::optional<bool> optional_bool(const json::object& body, std::string_view key) {
  const json::value* v = body.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  return get_bool(body, key, false, "createDeploymentInput");
}

// What GetDeployment's embed=apisummary adds: each path's methods and how
// they are called.
json::object api_summary(const Deployment& d) {
  json::object summary;
  for (const auto& r : d.resources) {
    if (r.methods.empty()) continue;
    json::object methods;
    for (const auto& [name, m] : r.methods)
      methods[name] = json::object{{"authorizationType", m.authorization_type},
                                   {"apiKeyRequired", m.api_key_required}};
    summary[r.path] = std::move(methods);
  }
  return summary;
}

// A deployment needs methods, each with an integration (spec §9.5).
void check_deployable(const RestApi& api) {
  bool any = false;
  for (const auto& r : api.resources)
    for (const auto& [name, m] : r.methods) {
      any = true;
      if (!m.integration) bad_request("No integration defined for method");
    }
  if (!any) bad_request("The REST API doesn't contain any methods");
}

}  // namespace

HttpResponse create_deployment(AdminContext& ctx, const AdminRequest& req) {
  const json::object body = req.json();
  const std::string stage_name = get_string(body, "stageName", "createDeploymentInput");
  const std::string stage_description =
      get_string(body, "stageDescription", "createDeploymentInput");
  if (!stage_name.empty()) validate_stage_name(stage_name);
  // The stage variables of the stage the deployment creates or moves.
  const auto variables = get_string_map(body, "variables", "createDeploymentInput");
  validate_stage_variables(variables);
  refuse_unsupported_stage_settings(body, "createDeploymentInput");
  // Settings of the stage the deployment creates or moves; nothing without one.
  const std::optional<bool> tracing = optional_bool(body, "tracingEnabled");
  const std::optional<bool> cache_enabled = optional_bool(body, "cacheClusterEnabled");
  const std::string cache_size = get_string(body, "cacheClusterSize", "createDeploymentInput");
  check_cache_cluster_size(cache_size);
  const Deployment d = ctx.edit([&](ControlState& s) {
    RestApi& api = find_api(s, req.segments()[1], ctx.account_id);
    check_deployable(api);
    Deployment dep{
        api.id,      random_id(6),  get_string(body, "description", "createDeploymentInput"),
        ctx.now_s(), api.resources, api.authorizers};
    s.deployments.push_back(dep);
    if (!stage_name.empty()) {
      auto st = std::find_if(s.stages.begin(), s.stages.end(), [&](const Stage& x) {
        return x.api_id == api.id && x.stage_name == stage_name;
      });
      if (st == s.stages.end()) {
        Stage stage;
        stage.api_id = api.id;
        stage.stage_name = stage_name;
        stage.description = stage_description;
        stage.created_date = ctx.now_s();
        s.stages.push_back(std::move(stage));
        st = s.stages.end() - 1;
      }
      st->deployment_id = dep.id;
      st->last_updated_date = ctx.now_s();
      for (const auto& [name, value] : variables) st->variables[name] = value;
      if (tracing) st->tracing_enabled = *tracing;
      if (cache_enabled) st->cache_cluster_enabled = *cache_enabled;
      if (!cache_size.empty()) st->cache_cluster_size = cache_size;
    }
    return dep;
  });
  return admin_json(http::status::created, deployment_json(d));
}

HttpResponse get_deployments(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  const std::string api_id = find_api(s, req.segments()[1], ctx.account_id).id;
  std::vector<const Deployment*> list;
  for (const auto& d : s.deployments)
    if (d.api_id == api_id) list.push_back(&d);
  std::sort(list.begin(), list.end(), [](auto* a, auto* b) {
    return std::tie(a->created_date, a->id) < std::tie(b->created_date, b->id);
  });
  std::vector<std::string> keys;
  for (auto* d : list) keys.push_back(created_order_key(d->created_date, d->id));
  const PageRange page = page_of(keys, ListingOrder::kCreated, req);
  json::array items;
  for (std::size_t i = page.begin; i < page.end; ++i) items.push_back(deployment_json(*list[i]));
  return admin_json(http::status::ok, page_json(std::move(items), page));
}

HttpResponse get_deployment(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  const std::string api_id = find_api(s, req.segments()[1], ctx.account_id).id;
  const Deployment& d = find_deployment(s, api_id, req.segments()[3]);
  json::object out = deployment_json(d);
  for (const auto& embed : req.query_all("embed")) {
    if (embed != "apisummary")
      bad_request("Invalid embed '" + embed + "': the one embed of a deployment is apisummary");
    out["apiSummary"] = api_summary(d);
  }
  return admin_json(http::status::ok, out);
}

HttpResponse update_deployment(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateDeploymentInput");
  const Deployment d = ctx.edit([&](ControlState& s) {
    const std::string api_id = find_api(s, req.segments()[1], ctx.account_id).id;
    Deployment& dep = find_deployment(s, api_id, req.segments()[3]);
    for (const auto& op : ops) {
      if (op.op == "replace" && op.path == "/description")
        dep.description = op.value;
      else
        invalid_patch_path(op, "/description");
    }
    return dep;
  });
  return admin_json(http::status::ok, deployment_json(d));
}

HttpResponse delete_deployment(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState& s) {
    const std::string api_id = find_api(s, req.segments()[1], ctx.account_id).id;
    const std::string id = find_deployment(s, api_id, req.segments()[3]).id;
    for (const auto& st : s.stages)
      if (st.api_id == api_id && st.deployment_id == id)
        bad_request("Active stages pointing to this deployment must be moved or deleted");
    std::erase_if(s.deployments,
                  [&](const Deployment& d) { return d.api_id == api_id && d.id == id; });
    return 0;
  });
  return admin_empty(http::status::accepted);
}

}  // namespace tollgate
