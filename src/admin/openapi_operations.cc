#include <fmt/format.h>

#include "admin/lookups.h"
#include "admin/operations.h"
#include "core/ids.h"
#include "core/utc_date.h"
#include "core/yaml_to_json.h"
#include "model/resource_tree.h"
#include "openapi/openapi_document.h"
#include "openapi/openapi_export.h"
#include "openapi/openapi_import.h"

namespace tollgate {
namespace json = boost::json;

namespace {

// The `parameters` of ImportRestApi and PutRestApi (sent as query
// parameters), and failOnWarnings.
struct ImportRequest {
  ImportOptions options;
  bool fail_on_warnings = false;
  std::string endpoint_type;  // empty: as it is
};

ImportRequest import_request(const AdminRequest& req) {
  ImportRequest r;
  r.fail_on_warnings = req.query_flag("failonwarnings") || req.query_flag("failOnWarnings");
  if (const auto base = req.query("basepath")) {
    if (*base == "ignore")
      r.options.base_path = ImportOptions::BasePath::kIgnore;
    else if (*base == "prepend")
      r.options.base_path = ImportOptions::BasePath::kPrepend;
    else if (*base == "split")
      r.options.base_path = ImportOptions::BasePath::kSplit;
    else
      bad_request("Invalid basepath '" + *base + "': use ignore, prepend or split");
  }
  if (const auto ignore = req.query("ignore")) {
    if (*ignore != "documentation")
      bad_request("Invalid ignore '" + *ignore + "': only documentation can be ignored");
    r.options.ignore_documentation = true;
  }
  if (const auto types = req.query("endpointConfigurationTypes")) {
    if (!is_endpoint_type(*types))
      bad_request("Invalid endpointConfigurationTypes '" + *types +
                  "': use EDGE, REGIONAL or PRIVATE");
    r.endpoint_type = *types;
  }
  return r;
}

// The definition in the body, read; with failOnWarnings any warning refuses
// it before anything changes.
ImportedApi read_definition(const AdminRequest& req, const ImportRequest& r) {
  ImportedApi imported = import_openapi(req.body(), r.options);
  if (r.fail_on_warnings && !imported.warnings.empty()) {
    std::string message = "Warnings found during import:";
    for (const auto& w : imported.warnings) message += "\n\t" + w;
    bad_request(message);
  }
  return imported;
}

json::object with_warnings(json::object api, const std::vector<std::string>& warnings) {
  if (!warnings.empty()) {
    json::array list;
    for (const auto& w : warnings) list.push_back(json::string(w));
    api["warnings"] = std::move(list);
  }
  return api;
}

// The resources of the paths; a tree they cannot make is the definition's fault.
std::vector<Resource> resource_tree_of(const PathMethods& paths,
                                       const std::vector<Resource>& existing) {
  try {
    return build_resource_tree(paths, existing);
  } catch (const std::invalid_argument& e) {
    throw OpenApiError(e.what());
  }
}

// The definition's name, description and key source over the API's.
void take_info(RestApi& api, const ImportedApi& imported) {
  if (!imported.title.empty()) api.name = imported.title;
  if (!imported.description.empty()) api.description = imported.description;
  if (imported.api_key_source) api.api_key_source = *imported.api_key_source;
  if (imported.binary_media_types) api.binary_media_types = *imported.binary_media_types;
  if (imported.minimum_compression_size)
    api.minimum_compression_size = imported.minimum_compression_size;
  if (imported.policy) api.policy = *imported.policy;
  if (imported.disable_execute_api_endpoint)
    api.disable_execute_api_endpoint = *imported.disable_execute_api_endpoint;
  if (imported.vpc_endpoint_ids) api.vpc_endpoint_ids = *imported.vpc_endpoint_ids;
}

}  // namespace

HttpResponse import_rest_api(AdminContext& ctx, const AdminRequest& req) {
  const ImportRequest r = import_request(req);
  const ImportedApi imported = read_definition(req, r);
  RestApi api;
  take_info(api, imported);
  if (api.name.empty()) bad_request("Invalid OpenAPI input: the API needs a name (info.title)");
  if (!r.endpoint_type.empty()) api.endpoint_type = r.endpoint_type;
  api.id = random_id(10);
  api.created_date = ctx.now_s();
  api.resources = resource_tree_of(imported.paths, {});
  ctx.edit([&](ControlState& s) {
    s.apis.push_back(api);
    return 0;
  });
  return admin_json(http::status::created, with_warnings(api_json(api), imported.warnings));
}

HttpResponse put_rest_api(AdminContext& ctx, const AdminRequest& req) {
  const std::string mode = req.query("mode").value_or("merge");
  if (mode != "merge" && mode != "overwrite")
    bad_request("Invalid mode '" + mode + "': use merge or overwrite");
  const ImportRequest r = import_request(req);
  const ImportedApi imported = read_definition(req, r);
  const RestApi api = ctx.edit([&](ControlState& s) {
    RestApi& a = find_api(s, req.segments()[1], ctx.account_id);
    PathMethods paths;
    if (mode == "merge") {
      // The file's methods over the API's: a method in both is the file's.
      paths = path_methods_of(a.resources);
      for (const auto& [path, methods] : imported.paths)
        for (const auto& [name, method] : methods) paths[path][name] = method;
    } else {
      paths = imported.paths;
    }
    take_info(a, imported);
    if (!r.endpoint_type.empty()) a.endpoint_type = r.endpoint_type;
    a.resources = resource_tree_of(paths, a.resources);
    return a;
  });
  return admin_json(http::status::ok, with_warnings(api_json(api), imported.warnings));
}

HttpResponse get_export(AdminContext& ctx, const AdminRequest& req) {
  ExportOptions options;
  const std::string& type = req.segments()[5];
  if (type == "oas30")
    options.type = ExportOptions::Type::kOas30;
  else if (type == "swagger")
    options.type = ExportOptions::Type::kSwagger;
  else
    bad_request("Invalid export type '" + type + "': use oas30 or swagger");
  for (const auto& list : req.query_all("extensions")) {
    std::string_view rest = list;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view name = rest.substr(0, comma);
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
      if (name == "integrations")
        options.integrations = true;
      else if (name == "apigateway")
        options.apigateway = true;
      else if (name != "authorizers" && name != "postman")
        bad_request("Invalid extensions '" + std::string(name) +
                    "': use integrations, apigateway, authorizers or postman");
    }
  }
  const std::string& accept = req.accept();
  const bool yaml = accept.find("yaml") != std::string::npos;
  if (!yaml && !accept.empty() && accept.find("json") == std::string::npos &&
      accept.find("*/*") == std::string::npos)
    bad_request("Unsupported Accept '" + accept + "': use application/json or application/yaml");

  ControlState s = ctx.few();
  RestApi& api = find_api(s, req.segments()[1], ctx.account_id);
  const Stage& stage = find_stage(s, api.id, req.segments()[3]);
  const auto deployment = std::find_if(
      s.deployments.begin(), s.deployments.end(),
      [&](const Deployment& d) { return d.api_id == api.id && d.id == stage.deployment_id; });
  if (deployment == s.deployments.end())
    not_found("Invalid Stage identifier specified: the stage has no deployment");
  const json::object doc = export_openapi(api, stage, *deployment, options);
  HttpResponse res =
      yaml ? admin_document(http::status::ok, "application/yaml", json_to_yaml(doc))
           : admin_document(http::status::ok, "application/json", json::serialize(doc));
  res.set(http::field::content_disposition,
          fmt::format("attachment; filename=\"{}_{}.{}\"", type,
                      format_date(day_of_unix_seconds(deployment->created_date)),
                      yaml ? "yaml" : "json"));
  return res;
}

}  // namespace tollgate
