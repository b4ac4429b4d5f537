#include "openapi/openapi_export.h"

#include <algorithm>
#include <unordered_set>

#include "catalog/backend_uri.h"
#include "core/ascii.h"
#include "core/utc_date.h"

namespace tollgate {
namespace json = boost::json;

namespace {

constexpr std::string_view kKeyScheme = "api_key";

json::object string_map(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

// The {name} and {name+} parts of a resource path, as path parameters.
json::array path_parameters(const std::string& path, bool swagger) {
  json::array out;
  std::size_t at = 0;
  while ((at = path.find('{', at)) != std::string::npos) {
    const std::size_t close = path.find('}', at);
    if (close == std::string::npos) break;
    std::string name = path.substr(at + 1, close - at - 1);
    if (!name.empty() && name.back() == '+') name.pop_back();
    json::object p{{"name", name}, {"in", "path"}, {"required", true}};
    if (swagger)
      p["type"] = "string";
    else
      p["schema"] = json::object{{"type", "string"}};
    out.push_back(std::move(p));
    at = close + 1;
  }
  return out;
}

// A method response with the headers its parameters name.
json::object method_response_json(const MethodResponse& r, bool swagger) {
  json::object o{{"description", r.status_code + " response"}};
  constexpr std::string_view kHeader = "method.response.header.";
  json::object headers;
  for (const auto& [name, required] : r.response_parameters) {
    if (!name.starts_with(kHeader)) continue;
    json::object type{{"type", "string"}};
    headers[name.substr(kHeader.size())] =
        swagger ? type : json::object{{"schema", std::move(type)}};
  }
  if (!headers.empty()) o["headers"] = std::move(headers);
  return o;
}

json::object integration_json(const Integration& i) {
  json::object o{{"type", ascii_lower(to_string(i.type))}};
  if (!i.http_method.empty()) o["httpMethod"] = i.http_method;
  if (!i.uri.empty()) o["uri"] = i.uri;
  if (!i.request_parameters.empty()) o["requestParameters"] = string_map(i.request_parameters);
  if (!i.request_templates.empty()) o["requestTemplates"] = string_map(i.request_templates);
  if (!i.integration_responses.empty()) {
    // The response a mock answers with, or the first, is the default; the
    // others are keyed by their status.
    std::string chosen = i.integration_responses.begin()->first;
    if (i.type == IntegrationType::kMock) chosen = std::to_string(mock_response_of(i).status);
    if (!i.integration_responses.contains(chosen)) chosen = i.integration_responses.begin()->first;
    json::object responses;
    for (const auto& [code, r] : i.integration_responses) {
      json::object response{{"statusCode", r.status_code}};
      if (!r.response_templates.empty())
        response["responseTemplates"] = string_map(r.response_templates);
      if (!r.response_parameters.empty())
        response["responseParameters"] = string_map(r.response_parameters);
      responses[code == chosen ? std::string("default") : code] = std::move(response);
    }
    o["responses"] = std::move(responses);
  }
  o["passthroughBehavior"] = "when_no_match";
  o["timeoutInMillis"] = i.timeout_ms;
  return o;
}

json::object operation_json(const Resource& r, const Method& m, const ExportOptions& options) {
  const bool swagger = options.type == ExportOptions::Type::kSwagger;
  json::object op;
  if (json::array params = path_parameters(r.path, swagger); !params.empty())
    op["parameters"] = std::move(params);
  json::object responses;
  for (const auto& [code, r] : m.method_responses)
    responses[code] = method_response_json(r, swagger);
  // An operation has at least one response; "default" reads back as none.
  if (responses.empty()) responses["default"] = json::object{{"description", "Default response"}};
  op["responses"] = std::move(responses);
  if (m.api_key_required) op["security"] = json::array{json::object{{kKeyScheme, json::array{}}}};
  if ((options.integrations || options.apigateway) && m.integration)
    op["x-amazon-apigateway-integration"] = integration_json(*m.integration);
  return op;
}

// The API-wide x-amazon-apigateway-* settings, as an import reads them back.
void add_api_settings(json::object& doc, const RestApi& api) {
  doc["x-amazon-apigateway-api-key-source"] = to_string(api.api_key_source);
  if (!api.binary_media_types.empty()) {
    json::array types;
    for (const auto& t : api.binary_media_types) types.push_back(json::string(t));
    doc["x-amazon-apigateway-binary-media-types"] = std::move(types);
  }
  if (api.minimum_compression_size)
    doc["x-amazon-apigateway-minimum-compression-size"] = *api.minimum_compression_size;
  if (!api.policy.empty()) {
    boost::system::error_code ec;
    json::value policy = json::parse(api.policy, ec);
    if (!ec) doc["x-amazon-apigateway-policy"] = std::move(policy);
  }
  if (api.disable_execute_api_endpoint || !api.vpc_endpoint_ids.empty()) {
    json::object endpoint;
    if (!api.vpc_endpoint_ids.empty()) {
      json::array ids;
      for (const auto& id : api.vpc_endpoint_ids) ids.push_back(json::string(id));
      endpoint["vpcEndpointIds"] = std::move(ids);
    }
    if (api.disable_execute_api_endpoint) endpoint["disableExecuteApiEndpoint"] = true;
    doc["x-amazon-apigateway-endpoint-configuration"] = std::move(endpoint);
  }
}

}  // namespace

json::object export_openapi(const RestApi& api, const Stage& stage, const Deployment& deployment,
                            const ExportOptions& options) {
  const bool swagger = options.type == ExportOptions::Type::kSwagger;
  json::object doc;
  if (swagger)
    doc["swagger"] = "2.0";
  else
    doc["openapi"] = "3.0.1";
  json::object info{{"title", api.name}};
  if (!api.description.empty()) info["description"] = api.description;
  // The deployment's time names the version served.
  info["version"] = format_timestamp(deployment.created_date);
  doc["info"] = std::move(info);
  if (swagger) {
    doc["basePath"] = "/" + stage.stage_name;
  } else {
    doc["servers"] = json::array{json::object{
        {"url", "/{basePath}"},
        {"variables", json::object{{"basePath", json::object{{"default", stage.stage_name}}}}}}};
  }
  std::vector<const Resource*> resources;
  for (const auto& r : deployment.resources) resources.push_back(&r);
  std::sort(resources.begin(), resources.end(),
            [](const Resource* a, const Resource* b) { return a->path < b->path; });
  std::unordered_set<std::string_view> parents;
  for (const Resource* r : resources) parents.insert(r->parent_id);
  json::object paths;
  bool keyed = false;
  for (const Resource* r : resources) {
    // A resource without methods is implied by its children; a leaf one is
    // kept as an empty path item.
    const bool leaf = !parents.contains(r->id);
    if (r->methods.empty() && (!leaf || r->path == "/")) continue;
    json::object item;
    for (const auto& [name, m] : r->methods) {
      const std::string key = name == "ANY" ? "x-amazon-apigateway-any-method" : ascii_lower(name);
      item[key] = operation_json(*r, m, options);
      keyed = keyed || m.api_key_required;
    }
    paths[r->path] = std::move(item);
  }
  doc["paths"] = std::move(paths);
  const json::object key_scheme{{"type", "apiKey"}, {"name", "x-api-key"}, {"in", "header"}};
  if (swagger) {
    if (keyed) doc["securityDefinitions"] = json::object{{kKeyScheme, key_scheme}};
  } else {
    json::object components;
    if (keyed) components["securitySchemes"] = json::object{{kKeyScheme, key_scheme}};
    doc["components"] = std::move(components);
  }
  if (options.apigateway) add_api_settings(doc, api);
  return doc;
}

}  // namespace tollgate
