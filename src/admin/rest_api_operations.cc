#include <algorithm>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

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

// AWS answers a resource policy escaped once more than JSON needs: the
// string's text is the policy with " as \", / as \/ and \ as \\. Clients
// (Terraform's provider among them) unescape it before they compare.
std::string escaped_policy(std::string_view policy) {
  std::string out;
  out.reserve(policy.size() + policy.size() / 4);
  for (char c : policy) {
    if (c == '"' || c == '\\' || c == '/') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

json::object api_json(const RestApi& api) {
  json::object o = to_json(api);
  o.erase("resources");
  o.erase("authorizers");
  if (!api.policy.empty()) o["policy"] = escaped_policy(api.policy);
  return o;
}

namespace {

// A resource policy is a JSON object, kept compact (and so without the raw
// line breaks the escaped form AWS answers cannot carry); tollgate does not
// enforce it.
std::string compact_policy(const std::string& policy) {
  constexpr std::size_t kMaxPolicySize = 8192;
  if (policy.empty()) return policy;
  boost::system::error_code ec;
  const json::value parsed = json::parse(policy, ec);
  if (ec || !parsed.is_object()) bad_request("Invalid policy document: it must be a JSON object");
  std::string compact = json::serialize(parsed);
  if (compact.size() > kMaxPolicySize)
    bad_request("Invalid policy document: it can be at most " + std::to_string(kMaxPolicySize) +
                " characters");
  return compact;
}

// Loudly, since a policy that limits callers has no effect here.
void warn_if_policy(const RestApi& api) {
  if (!api.policy.empty())
    spdlog::warn("REST API {} has a resource policy; tollgate keeps it but does not enforce it",
                 api.id);
}

void check_minimum_compression_size(std::int64_t size) {
  if (size < 0 || size > 10485760)
    bad_request("Invalid minimumCompressionSize " + std::to_string(size) +
                ": it must be between 0 and 10485760");
}

void check_ip_address_type(const std::string& type) {
  if (!type.empty() && type != "ipv4" && type != "dualstack")
    bad_request("Invalid ipAddressType '" + type + "': use ipv4 or dualstack");
}

constexpr const char* kRestApiPaths =
    "/name, /description, /version, /apiKeySource, /binaryMediaTypes/{type}, "
    "/minimumCompressionSize, "
    "/policy, /disableExecuteApiEndpoint, /endpointConfiguration/types/0, "
    "/endpointConfiguration/vpcEndpointIds, /endpointConfiguration/ipAddressType";

void apply_rest_api_op(RestApi& a, const PatchOperation& op) {
  if (op.op == "replace" && op.path == "/name") {
    if (op.value.empty()) bad_request("Invalid REST API name specified");
    a.name = op.value;
  } else if (op.op == "replace" && op.path == "/description") {
    a.description = op.value;
  } else if (op.op == "replace" && op.path == "/version") {
    a.version = op.value;
  } else if (op.op == "replace" && op.path == "/apiKeySource") {
    auto parsed = api_key_source_from(op.value);
    if (!parsed)
      bad_request("Invalid apiKeySource '" + op.value + "': must be HEADER or AUTHORIZER");
    a.api_key_source = *parsed;
  } else if (auto type = patch_member(op, "/binaryMediaTypes/")) {
    patch_name_list(a.binary_media_types, *type, op);
  } else if (op.op == "replace" && op.path == "/minimumCompressionSize") {
    // No value (or an empty one) turns compression off.
    a.minimum_compression_size.reset();
    if (!op.value.empty()) {
      a.minimum_compression_size = patch_int(op);
      check_minimum_compression_size(*a.minimum_compression_size);
    }
  } else if (op.op == "replace" && op.path == "/policy") {
    a.policy = compact_policy(op.value);
  } else if (op.op == "replace" && op.path == "/disableExecuteApiEndpoint") {
    a.disable_execute_api_endpoint = patch_bool(op);
  } else if (op.op == "replace" && op.path == "/endpointConfiguration/types/0") {
    if (!is_endpoint_type(op.value))
      bad_request("Invalid endpoint configuration type '" + op.value +
                  "': use EDGE, REGIONAL or PRIVATE");
    a.endpoint_type = op.value;
  } else if (op.path == "/endpointConfiguration/vpcEndpointIds" && op.op != "replace") {
    if (op.value.empty()) bad_request("A VPC endpoint id is required for " + op.path);
    patch_name_list(a.vpc_endpoint_ids, op.value, op);
  } else if (op.op == "replace" && op.path == "/endpointConfiguration/ipAddressType") {
    check_ip_address_type(op.value);
    a.ip_address_type = op.value;
  } else {
    invalid_patch_path(op, kRestApiPaths);
  }
}

json::object resource_json(const Resource& r, bool embed_methods) {
  json::object o = to_json(r);
  if (!embed_methods && o.contains("resourceMethods")) {
    json::object summary;
    for (const auto& [name, m] : r.methods) summary[name] = json::object{};
    o["resourceMethods"] = std::move(summary);
  }
  return o;
}

// Whether `part` may go below `parent`, beside its other children than `self`.
void check_place(const RestApi& api, const Resource& parent, const std::string& part,
                 const std::string& self) {
  validate_path_part(part);
  if (parent.path_part.size() > 2 && parent.path_part.ends_with("+}"))
    bad_request("A greedy path parameter resource {" + parent.path_part + "} cannot have children");
  for (const auto& r : api.resources) {
    if (r.parent_id != parent.id || r.id == self) continue;
    if (r.path_part == part)
      conflict("Another resource with the same parent already has this name: " + part);
    if (r.path_part.front() == '{' && part.front() == '{')
      bad_request("A sibling (" + r.path_part +
                  ") of this resource already has a variable path part -- only one is allowed");
  }
}

std::string child_path(const Resource& parent, const std::string& part) {
  return (parent.path == "/" ? "" : parent.path) + "/" + part;
}

// The resource `id` and everything below it.
std::set<std::string> subtree_of(const RestApi& api, const std::string& id) {
  std::set<std::string> below{id};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& r : api.resources)
      if (below.count(r.parent_id) && below.insert(r.id).second) grew = true;
  }
  return below;
}

// Recomputes the path of every resource below `id` after it moved or was renamed.
void repath_below(RestApi& api, const std::string& id) {
  std::map<std::string, Resource*> by_id;
  for (auto& r : api.resources) by_id[r.id] = &r;
  std::vector<std::string> todo{id};
  while (!todo.empty()) {
    const Resource& parent = *by_id.at(todo.back());
    todo.pop_back();
    for (auto& r : api.resources)
      if (r.parent_id == parent.id) {
        r.path = child_path(parent, r.path_part);
        todo.push_back(r.id);
      }
  }
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
  const char* where = "createRestApiInput";
  if (const json::value* endpoint = body.if_contains("endpointConfiguration");
      endpoint && endpoint->is_object()) {
    const std::string here = std::string(where) + ".endpointConfiguration";
    api.vpc_endpoint_ids = get_string_list(endpoint->get_object(), "vpcEndpointIds", here);
    api.ip_address_type = get_string(endpoint->get_object(), "ipAddressType", here);
    check_ip_address_type(api.ip_address_type);
  }
  api.binary_media_types = get_string_list(body, "binaryMediaTypes", where);
  if (const json::value* size = body.if_contains("minimumCompressionSize");
      size && !size->is_null()) {
    api.minimum_compression_size = get_int(body, "minimumCompressionSize", 0, where);
    check_minimum_compression_size(*api.minimum_compression_size);
  }
  api.policy = compact_policy(get_string(body, "policy", where));
  api.version = get_string(body, "version", where);
  if (!get_string(body, "cloneFrom", where).empty())
    bad_request("cloneFrom is not supported: export the API (get-export) and import it instead");
  api.disable_execute_api_endpoint = get_bool(body, "disableExecuteApiEndpoint", false, where);
  api.tags = get_string_map(body, "tags", where);
  check_tags(api.tags);
  api.id = random_id(10);
  api.created_date = ctx.now_s();
  api.resources.push_back(Resource{random_id(10), "", "", "/", {}});
  ctx.edit([&](ControlState& s) {
    s.apis.push_back(api);
    return 0;
  });
  warn_if_policy(api);
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
  std::vector<std::string> keys;
  for (const auto& a : s.apis) keys.push_back(created_order_key(a.created_date, a.id));
  const PageRange page = page_of(keys, ListingOrder::kCreated, req);
  json::array items;
  for (std::size_t i = page.begin; i < page.end; ++i) items.push_back(api_json(s.apis[i]));
  return admin_json(http::status::ok, page_json(std::move(items), page));
}

HttpResponse update_rest_api(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateRestApiInput");
  const RestApi api = ctx.edit([&](ControlState& s) {
    RestApi& a = find_api(s, req.segments()[1], ctx.account_id);
    for (const auto& op : ops) apply_rest_api_op(a, op);
    return a;
  });
  warn_if_policy(api);
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
  // Listed by path, which is unique within an API: the root comes first.
  std::sort(api.resources.begin(), api.resources.end(),
            [](const Resource& a, const Resource& b) { return a.path < b.path; });
  std::vector<std::string> paths;
  for (const auto& r : api.resources) paths.push_back(r.path);
  const PageRange page = page_of(paths, ListingOrder::kPath, req);
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
    check_place(api, parent, part, "");
    Resource r;
    r.id = random_id(6);
    r.parent_id = parent.id;
    r.path_part = part;
    r.path = child_path(parent, part);
    api.resources.push_back(r);
    return r;
  });
  return admin_json(http::status::created, resource_json(created, false));
}

HttpResponse update_resource(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateResourceInput");
  const Resource updated = ctx.edit([&](ControlState& s) {
    RestApi& api = find_api(s, req.segments()[1], ctx.account_id);
    Resource next = find_resource(api, req.segments()[3]);
    for (const auto& op : ops) {
      if (op.op == "replace" && op.path == "/pathPart")
        next.path_part = op.value;
      else if (op.op == "replace" && op.path == "/parentId")
        next.parent_id = op.value;
      else
        invalid_patch_path(op, "/pathPart, /parentId");
    }
    const Resource& before = find_resource(api, next.id);
    if (next.parent_id == before.parent_id && next.path_part == before.path_part) return before;
    if (before.parent_id.empty()) bad_request("The root resource of a REST API cannot be changed");
    if (subtree_of(api, next.id).count(next.parent_id))
      bad_request("A resource cannot move below itself");
    const Resource parent = find_resource(api, next.parent_id);
    check_place(api, parent, next.path_part, next.id);
    if (next.path_part.ends_with("+}") && subtree_of(api, next.id).size() > 1)
      bad_request("A greedy path parameter resource " + next.path_part + " cannot have children");
    next.path = child_path(parent, next.path_part);
    find_resource(api, next.id) = next;
    repath_below(api, next.id);
    return next;
  });
  return admin_json(http::status::ok, resource_json(updated, false));
}

HttpResponse delete_resource(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState& s) {
    RestApi& api = find_api(s, req.segments()[1], ctx.account_id);
    const Resource target = find_resource(api, req.segments()[3]);
    if (target.parent_id.empty()) bad_request("Cannot delete the root resource of a REST API");
    const std::set<std::string> doomed = subtree_of(api, target.id);
    std::erase_if(api.resources, [&](const Resource& r) { return doomed.count(r.id) > 0; });
    return 0;
  });
  return admin_empty(http::status::accepted);
}

}  // namespace tollgate
