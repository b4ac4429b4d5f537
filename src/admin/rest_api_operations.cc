#include <algorithm>
#include <set>

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

json::object api_json(const RestApi& api) {
  json::object o = to_json(api);
  o.erase("resources");
  return o;
}

namespace {

json::object resource_json(const Resource& r, bool embed_methods) {
  json::object o = to_json(r);
  if (!embed_methods && o.contains("resourceMethods")) {
    json::object summary;
    for (const auto& [name, m] : r.methods) summary[name] = json::object{};
    o["resourceMethods"] = std::move(summary);
  }
  return o;
}

}  // namespace

HttpResponse create_rest_api(AdminContext& ctx, const AdminRequest& req) {
  const json::object body = req.json();
  RestApi api;
  api.name = get_string(body, "name", "createRestApiInput");
  if (api.name.empty()) bad_request("Invalid REST API name specified: name is required");
  api.description = get_string(body, "description", "createRestApiInput");
  if (const std::string source = get_string(body, "apiKeySource", "createRestApiInput");
      !source.empty()) {
    auto parsed = api_key_source_from(source);
    if (!parsed)
      validation_error(
          "1 validation error detected: Value '" + source +
          "' at 'createRestApiInput.apiKeySource' failed to satisfy constraint: Member must "
          "satisfy enum value set: [HEADER, AUTHORIZER]");
    api.api_key_source = *parsed;
  }
  if (std::optional<std::string> type = endpoint_type_of(body)) {
    if (!is_endpoint_type(*type))
      validation_error("1 validation error detected: Value '" + *type +
                       "' at 'createRestApiInput.endpointConfiguration.types' failed to satisfy "
                       "constraint: Member must satisfy enum value set: [EDGE, REGIONAL, PRIVATE]");
    api.endpoint_type = *type;
  }
  api.id = random_id(10);
  api.created_date = ctx.now_s();
  api.resources.push_back(Resource{random_id(10), "", "", "/", {}});
  ctx.edit([&](ControlState& s) {
    s.apis.push_back(api);
    return 0;
  });
  return admin_json(http::status::created, api_json(api));
}

HttpResponse get_rest_api(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  return admin_json(http::status::ok, api_json(find_api(s, req.segments()[1], ctx.account_id)));
}

HttpResponse get_rest_apis(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  std::sort(s.apis.begin(), s.apis.end(), [](const RestApi& a, const RestApi& b) {
    return std::tie(a.created_date, a.id) < std::tie(b.created_date, b.id);
  });
  std::vector<std::string> ids;
  for (const auto& a : s.apis) ids.push_back(a.id);
  const PageRange page = page_of(ids, req);
  json::array items;
  for (std::size_t i = page.begin; i < page.end; ++i) items.push_back(api_json(s.apis[i]));
  return admin_json(http::status::ok, page_json(std::move(items), page));
}

HttpResponse update_rest_api(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateRestApiInput");
  const RestApi api = ctx.edit([&](ControlState& s) {
    RestApi& a = find_api(s, req.segments()[1], ctx.account_id);
    for (const auto& op : ops) {
      if (op.op == "replace" && op.path == "/name") {
        if (op.value.empty()) bad_request("Invalid REST API name specified");
        a.name = op.value;
      } else if (op.op == "replace" && op.path == "/description") {
        a.description = op.value;
      } else if (op.op == "replace" && op.path == "/apiKeySource") {
        auto parsed = api_key_source_from(op.value);
        if (!parsed)
          bad_request("Invalid apiKeySource '" + op.value + "': must be HEADER or AUTHORIZER");
        a.api_key_source = *parsed;
      } else {
        invalid_patch_path(op, "/name, /description, /apiKeySource");
      }
    }
    return a;
  });
  return admin_json(http::status::ok, api_json(api));
}

HttpResponse delete_rest_api(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState& s) {
    const std::string id = find_api(s, req.segments()[1], ctx.account_id).id;
    refuse_if_in_usage_plan(s, id, nullptr);
    std::erase_if(s.apis, [&](const RestApi& a) { return a.id == id; });
    std::erase_if(s.deployments, [&](const Deployment& d) { return d.api_id == id; });
    std::erase_if(s.stages, [&](const Stage& st) { return st.api_id == id; });
    return 0;
  });
  return admin_empty(http::status::accepted);
}

HttpResponse get_resources(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  RestApi& api = find_api(s, req.segments()[1], ctx.account_id);
  const auto embed = req.query_all("embed");
  const bool methods = std::find(embed.begin(), embed.end(), "methods") != embed.end();
  std::vector<std::string> ids;
  for (const auto& r : api.resources) ids.push_back(r.id);
  const PageRange page = page_of(ids, req);
  json::array items;
  for (std::size_t i = page.begin; i < page.end; ++i)
    items.push_back(resource_json(api.resources[i], methods));
  return admin_json(http::status::ok, page_json(std::move(items), page));
}

HttpResponse get_resource(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  Resource& r = find_resource(find_api(s, req.segments()[1], ctx.account_id), req.segments()[3]);
  const auto embed = req.query_all("embed");
  return admin_json(http::status::ok, resource_json(r, std::find(embed.begin(), embed.end(),
                                                                 "methods") != embed.end()));
}

HttpResponse create_resource(AdminContext& ctx, const AdminRequest& req) {
  const json::object body = req.json();
  const std::string part = get_string(body, "pathPart", "createResourceInput");
  const Resource created = ctx.edit([&](ControlState& s) {
    RestApi& api = find_api(s, req.segments()[1], ctx.account_id);
    const Resource parent = find_resource(api, req.segments()[3]);
    validate_path_part(part);
    if (parent.path_part.size() > 2 && parent.path_part.ends_with("+}"))
      bad_request("A greedy path parameter resource {" + parent.path_part +
                  "} cannot have children");
    for (const auto& r : api.resources) {
      if (r.parent_id != parent.id) continue;
      if (r.path_part == part)
        conflict("Another resource with the same parent already has this name: " + part);
      const bool both_params = r.path_part.front() == '{' && part.front() == '{';
      if (both_params)
        bad_request("A sibling (" + r.path_part +
                    ") of this resource already has a variable path part -- only one is allowed");
    }
    Resource r;
    r.id = random_id(6);
    r.parent_id = parent.id;
    r.path_part = part;
    r.path = (parent.path == "/" ? "" : parent.path) + "/" + part;
    api.resources.push_back(r);
    return r;
  });
  return admin_json(http::status::created, resource_json(created, false));
}

HttpResponse delete_resource(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState& s) {
    RestApi& api = find_api(s, req.segments()[1], ctx.account_id);
    const Resource target = find_resource(api, req.segments()[3]);
    if (target.parent_id.empty()) bad_request("Cannot delete the root resource of a REST API");
    // The resource and everything below it.
    std::set<std::string> doomed{target.id};
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& r : api.resources)
        if (doomed.count(r.parent_id) && doomed.insert(r.id).second) grew = true;
    }
    std::erase_if(api.resources, [&](const Resource& r) { return doomed.count(r.id) > 0; });
    return 0;
  });
  return admin_empty(http::status::accepted);
}

}  // namespace tollgate
