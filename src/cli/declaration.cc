#include "cli/declaration.h"

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <optional>
#include <stdexcept>

#include "core/yaml_to_json.h"
#include "model/json_codec.h"
#include "model/json_fields.h"
#include "model/validate.h"
#include "openapi/openapi_document.h"
#include "openapi/openapi_import.h"

namespace tollgate {
namespace json = boost::json;

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::invalid_argument(where + ": " + what);
}

const json::object& object_at(const json::value& v, const std::string& where) {
  if (!v.is_object()) fail(where, "must be a mapping");
  return v.get_object();
}

const json::array& array_at(const json::value& v, const std::string& where) {
  if (!v.is_array()) fail(where, "must be a list");
  return v.get_array();
}

// Unknown members are refused so that a typo does not silently do nothing.
void allow_only(const json::object& o, std::initializer_list<std::string_view> names,
                const std::string& where) {
  for (const auto& [key, value] : o) {
    bool known = false;
    for (auto n : names) known = known || key == n;
    if (!known) {
      std::string list;
      for (auto n : names) list += (list.empty() ? "" : ", ") + std::string(n);
      fail(where, "unknown field '" + std::string(key) + "' (expected one of: " + list + ")");
    }
  }
}

const json::value* member(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

std::string text(const json::object& o, std::string_view name, const std::string& where,
                 bool required = false) {
  const json::value* v = member(o, name);
  if (!v) {
    if (required) fail(where, "'" + std::string(name) + "' is required");
    return {};
  }
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  fail(where + "." + std::string(name), "must be a string");
}

bool flag(const json::object& o, std::string_view name, bool fallback, const std::string& where) {
  const json::value* v = member(o, name);
  if (!v) return fallback;
  if (!v->is_bool()) fail(where + "." + std::string(name), "must be true or false");
  return v->get_bool();
}

Integration parse_integration(const json::value& v, const std::string& where) {
  json::object o = object_at(v, where);
  allow_only(o,
             {"type", "uri", "httpMethod", "timeoutInMillis", "statusCode", "body", "contentType",
              "headers", "requestParameters", "requestTemplates", "integrationResponses"},
             where);
  // The MOCK shorthand: statusCode/body/contentType/headers become the
  // request template and integration response API Gateway would hold.
  json::value status = o.contains("statusCode") ? o["statusCode"] : json::value(200);
  const bool shorthand = o.contains("statusCode") || o.contains("body") || o.contains("headers") ||
                         o.contains("contentType");
  json::object mock;
  if (shorthand) {
    if (!status.is_int64() || status.get_int64() < 100 || status.get_int64() > 599)
      fail(where + ".statusCode", "must be an HTTP status between 100 and 599");
    const std::string code = std::to_string(status.get_int64());
    const std::string content_type =
        text(o, "contentType", where).empty() ? "application/json" : text(o, "contentType", where);
    json::object response{
        {"statusCode", code},
        {"responseTemplates", json::object{{content_type, text(o, "body", where)}}}};
    if (const json::value* headers = member(o, "headers")) {
      json::object params;
      for (const auto& [name, value] : object_at(*headers, where + ".headers")) {
        if (!value.is_string() && !value.is_int64() && !value.is_bool())
          fail(where + ".headers." + std::string(name), "must be a string");
        const std::string s =
            value.is_string() ? std::string(value.get_string()) : json::serialize(value);
        params["method.response.header." + std::string(name)] = "'" + s + "'";
      }
      response["responseParameters"] = std::move(params);
    }
    o["requestTemplates"] = json::object{{"application/json", "{\"statusCode\": " + code + "}"}};
    o["integrationResponses"] = json::object{{code, std::move(response)}};
    for (auto name : {"statusCode", "body", "contentType", "headers"}) o.erase(name);
  }
  Integration i = integration_from_json(o, where);
  if (shorthand && i.type != IntegrationType::kMock)
    fail(where, "statusCode/body/contentType/headers are for MOCK integrations");
  validate_integration(i, where);
  return i;
}

Method parse_method(const std::string& http_method, const json::value& v,
                    const std::string& where) {
  const auto& o = object_at(v, where);
  allow_only(o, {"apiKeyRequired", "authorizationType", "integration"}, where);
  Method m;
  m.http_method = http_method;
  m.api_key_required = flag(o, "apiKeyRequired", false, where);
  m.authorization_type = text(o, "authorizationType", where);
  if (m.authorization_type.empty()) m.authorization_type = "NONE";
  const json::value* integration = member(o, "integration");
  if (!integration) fail(where, "'integration' is required");
  m.integration = parse_integration(*integration, where + ".integration");
  return m;
}

DeclaredApi parse_api(const json::value& v, const std::string& where) {
  const auto& o = object_at(v, where);
  allow_only(o, {"id", "name", "description", "apiKeySource", "openapi", "resources", "stages"},
             where);
  DeclaredApi api;
  api.id = text(o, "id", where);
  api.openapi = text(o, "openapi", where);
  if (!api.openapi.empty() && member(o, "resources"))
    fail(where, "give its resources or an openapi file, not both");
  // A definition's info.title names the API when the declaration does not.
  api.name = text(o, "name", where, api.openapi.empty());
  api.description = text(o, "description", where);
  if (const std::string source = text(o, "apiKeySource", where); !source.empty()) {
    auto parsed = api_key_source_from(source);
    if (!parsed) fail(where + ".apiKeySource", "must be HEADER or AUTHORIZER");
    api.api_key_source = *parsed;
  }
  if (const json::value* resources = member(o, "resources")) {
    for (const auto& [path, methods] : object_at(*resources, where + ".resources")) {
      const std::string rwhere = where + ".resources." + std::string(path);
      if (path.empty() || path.front() != '/') fail(rwhere, "a resource path starts with '/'");
      auto& declared = api.resources[std::string(path)];
      if (methods.is_null()) continue;
      for (const auto& [name, spec] : object_at(methods, rwhere)) {
        if (!is_http_method(name))
          fail(rwhere, "'" + std::string(name) +
                           "' is not a method (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY)");
        declared[std::string(name)] =
            parse_method(std::string(name), spec, rwhere + "." + std::string(name));
      }
    }
  }
  if (const json::value* stages = member(o, "stages")) {
    std::size_t n = 0;
    for (const auto& sv : array_at(*stages, where + ".stages")) {
      const std::string swhere = where + ".stages[" + std::to_string(n++) + "]";
      const auto& so = object_at(sv, swhere);
      allow_only(so, {"stageName", "description", "methodSettings", "variables"}, swhere);
      DeclaredStage s;
      s.stage_name = text(so, "stageName", swhere, true);
      s.description = text(so, "description", swhere);
      if (const json::value* settings = member(so, "methodSettings")) {
        json::object holder{{"methodSettings", *settings}};
        s.method_settings = stage_from_json(holder).method_settings;
        for (const auto& [key, m] : s.method_settings)
          validate_method_throttle(m, swhere + ".methodSettings." + key);
      }
      if (const json::value* variables = member(so, "variables")) {
        s.variables = get_string_map(json::object{{"variables", *variables}}, "variables", swhere);
        try {
          validate_stage_variables(*s.variables);
        } catch (const std::invalid_argument& e) {
          fail(swhere + ".variables", e.what());
        }
      }
      api.stages.push_back(std::move(s));
    }
  }
  return api;
}

ApiKey parse_key(const json::value& v, const std::string& where) {
  const auto& o = object_at(v, where);
  allow_only(o, {"id", "name", "value", "enabled", "customerId", "description", "tags"}, where);
  ApiKey k;
  k.id = text(o, "id", where);
  k.name = text(o, "name", where, true);
  k.value = text(o, "value", where);
  if (!k.value.empty()) {
    try {
      validate_key_value(k.value);
    } catch (const std::invalid_argument& e) {
      fail(where + ".value", e.what());
    }
  }
  k.enabled = flag(o, "enabled", true, where);
  k.customer_id = text(o, "customerId", where);
  try {
    validate_customer_id(k.customer_id);
  } catch (const std::invalid_argument& e) {
    fail(where + ".customerId", e.what());
  }
  k.description = text(o, "description", where);
  if (const json::value* tags = member(o, "tags")) {
    for (const auto& [tk, tv] : object_at(*tags, where + ".tags"))
      k.tags[std::string(tk)] = tv.is_string() ? std::string(tv.get_string()) : json::serialize(tv);
    try {
      validate_tags(k.tags);
    } catch (const std::invalid_argument& e) {
      fail(where + ".tags", e.what());
    }
  }
  return k;
}

DeclaredPlan parse_plan(const json::value& v, const std::string& where) {
  const auto& o = object_at(v, where);
  allow_only(o, {"id", "name", "description", "throttle", "quota", "apiStages", "apiKeys"}, where);
  DeclaredPlan p;
  p.id = text(o, "id", where);
  p.name = text(o, "name", where, true);
  p.description = text(o, "description", where);
  if (const json::value* t = member(o, "throttle")) {
    allow_only(object_at(*t, where + ".throttle"), {"rateLimit", "burstLimit"},
               where + ".throttle");
    p.throttle = throttle_from_json(*t, where + ".throttle");
    validate_throttle(*p.throttle, where + ".throttle");
  }
  if (const json::value* q = member(o, "quota")) {
    allow_only(object_at(*q, where + ".quota"), {"limit", "offset", "period"}, where + ".quota");
    p.quota = quota_from_json(*q, where + ".quota");
    validate_quota(*p.quota, where + ".quota");
  }
  if (const json::value* stages = member(o, "apiStages")) {
    std::size_t n = 0;
    for (const auto& sv : array_at(*stages, where + ".apiStages")) {
      const std::string swhere = where + ".apiStages[" + std::to_string(n++) + "]";
      const auto& so = object_at(sv, swhere);
      allow_only(so, {"apiId", "stage", "throttle"}, swhere);
      DeclaredPlanStage s;
      s.api = text(so, "apiId", swhere, true);
      s.stage = text(so, "stage", swhere, true);
      if (const json::value* t = member(so, "throttle")) {
        for (const auto& [key, tv] : object_at(*t, swhere + ".throttle")) {
          const std::string twhere = swhere + ".throttle." + std::string(key);
          s.throttle[std::string(key)] = throttle_from_json(tv, twhere);
          validate_throttle(s.throttle[std::string(key)], twhere);
        }
      }
      p.api_stages.push_back(std::move(s));
    }
  }
  if (const json::value* keys = member(o, "apiKeys")) {
    for (const auto& kv : array_at(*keys, where + ".apiKeys")) {
      if (!kv.is_string()) fail(where + ".apiKeys", "lists API key names");
      p.api_keys.emplace_back(kv.get_string());
    }
  }
  return p;
}

}  // namespace

Declaration parse_declaration(const json::value& doc) {
  Declaration d;
  if (doc.is_null()) return d;
  const auto& root = object_at(doc, "file");
  allow_only(root, {"account", "apis", "apiKeys", "usagePlans"}, "file");
  if (const json::value* account = member(root, "account")) {
    const auto& ao = object_at(*account, "account");
    allow_only(ao, {"throttle"}, "account");
    AccountSettings a;
    if (const json::value* t = member(ao, "throttle"))
      a.throttle = throttle_from_json(*t, "account.throttle");
    validate_throttle(a.throttle, "account.throttle");
    d.account = a;
  }
  std::size_t n = 0;
  if (const json::value* apis = member(root, "apis"))
    for (const auto& v : array_at(*apis, "apis"))
      d.apis.push_back(parse_api(v, "apis[" + std::to_string(n++) + "]"));
  n = 0;
  if (const json::value* keys = member(root, "apiKeys"))
    for (const auto& v : array_at(*keys, "apiKeys"))
      d.api_keys.push_back(parse_key(v, "apiKeys[" + std::to_string(n++) + "]"));
  n = 0;
  if (const json::value* plans = member(root, "usagePlans"))
    for (const auto& v : array_at(*plans, "usagePlans"))
      d.usage_plans.push_back(parse_plan(v, "usagePlans[" + std::to_string(n++) + "]"));
  return d;
}

namespace {

// The file's text; past `limit` bytes only the first limit + 1 (enough for
// the reader to refuse it), so that a device or a huge file is not read whole.
std::string read_file(const std::string& path,
                      std::size_t limit = std::numeric_limits<std::size_t>::max() - 1) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + path);
  std::string text;
  char chunk[64 * 1024];
  while (text.size() <= limit && in.read(chunk, sizeof chunk).gcount() > 0)
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
  if (in.bad()) throw std::invalid_argument("cannot read " + path);
  if (text.size() > limit + 1) text.resize(limit + 1);
  return text;
}

// The resources (and the name, description and key source where the
// declaration leaves them out) of an API declared by an OpenAPI file.
void read_openapi(DeclaredApi& api, const std::string& dir, std::vector<std::string>& warnings) {
  const std::filesystem::path file = std::filesystem::path(dir) / api.openapi;
  const std::string where =
      "api '" + (api.name.empty() ? api.openapi : api.name) + "' openapi " + file.string() + ": ";
  ImportedApi imported;
  try {
    imported = import_openapi(read_file(file.string(), kMaxDefinitionBytes));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(where + e.what());
  }
  if (api.name.empty()) api.name = imported.title;
  if (api.name.empty()) throw std::invalid_argument(where + "no name: set name or info.title");
  if (api.description.empty()) api.description = imported.description;
  if (imported.api_key_source) api.api_key_source = *imported.api_key_source;
  api.resources = std::move(imported.paths);
  for (const auto& w : imported.warnings) warnings.push_back(where + w);
}

}  // namespace

Declaration load_declaration(std::string_view yaml, const std::string& dir) {
  Declaration d = parse_declaration(parse_json_or_yaml(yaml));
  for (DeclaredApi& api : d.apis)
    if (!api.openapi.empty()) read_openapi(api, dir, d.warnings);
  return d;
}

Declaration load_declaration_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return load_declaration(text, std::filesystem::path(path).parent_path().string());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path + ": " + e.what());
  }
}

}  // namespace tollgate
