#include "openapi/openapi_import.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "core/ascii.h"
#include "model/request_parameters.h"
#include "model/validate.h"
#include "openapi/openapi_document.h"

namespace tollgate {
namespace json = boost::json;

namespace {

// More than this many warnings are summed up in one last line.
constexpr std::size_t kMaxWarnings = 1000;

constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kOperations = {{
    {"get", "GET"},
    {"put", "PUT"},
    {"post", "POST"},
    {"delete", "DELETE"},
    {"options", "OPTIONS"},
    {"head", "HEAD"},
    {"patch", "PATCH"},
    {"x-amazon-apigateway-any-method", "ANY"},
}};

std::string text_of(const json::value* v) {
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The path segments of a base path or a server URL's path, without the
// empty ones.
std::vector<std::string> segments_of(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    if (!part.empty()) out.emplace_back(part);
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
  }
  return out;
}

class Importer {
 public:
  Importer(const OpenApiDocument& doc, const ImportOptions& options)
      : doc_(doc), root_(doc.root()), options_(options) {}

  ImportedApi run() {
    read_info();
    read_top_level();
    read_security_schemes();
    const std::string base = base_path();
    if (const json::value* paths = doc_.member(root_, "paths"))
      for (const auto& [path, item] : paths->get_object())
        read_path(std::string(path), base, doc_.resolve(item));
    if (out_.warnings.size() > kMaxWarnings) {
      const std::size_t more = out_.warnings.size() - kMaxWarnings;
      out_.warnings.resize(kMaxWarnings);
      out_.warnings.push_back("... and " + std::to_string(more) + " more warnings");
    }
    return std::move(out_);
  }

 private:
  void warn(const std::string& where, const std::string& what) {
    out_.warnings.push_back(where + ": " + what);
  }

  void read_info() {
    const json::value* info = doc_.member(root_, "info");
    if (!info || !info->is_object()) return;
    out_.title = text_of(doc_.member(info->get_object(), "title"));
    out_.description = text_of(doc_.member(info->get_object(), "description"));
  }

  void read_top_level() {
    for (const auto& [name, value] : root_) {
      if (name == "x-amazon-apigateway-api-key-source") {
        const std::optional<ApiKeySource> source =
            api_key_source_from(ascii_upper(text_of(&value)));
        if (source)
          out_.api_key_source = source;
        else
          warn(std::string(name), "must be HEADER or AUTHORIZER; ignored");
      } else if (name == "x-amazon-apigateway-binary-media-types") {
        out_.binary_media_types = string_list(std::string(name), value);
      } else if (name == "x-amazon-apigateway-minimum-compression-size") {
        const json::value& size = doc_.resolve(value);
        if (size.is_int64() && size.get_int64() >= 0 && size.get_int64() <= 10485760)
          out_.minimum_compression_size = size.get_int64();
        else
          warn(std::string(name), "must be an integer from 0 to 10485760; ignored");
      } else if (name == "x-amazon-apigateway-policy") {
        const json::value& policy = doc_.resolve(value);
        if (policy.is_object())
          out_.policy = json::serialize(policy);
        else
          warn(std::string(name), "must be a policy document (an object); ignored");
      } else if (name == "x-amazon-apigateway-endpoint-configuration") {
        read_endpoint_configuration(std::string(name), doc_.resolve(value));
      } else if (name == "x-amazon-apigateway-documentation") {
        if (!options_.ignore_documentation)
          warn(std::string(name), "documentation parts are not kept; ignored");
      } else if (name.starts_with("x-amazon-apigateway-")) {
        warn(std::string(name), "not supported; ignored");
      }
    }
  }

  // A list of strings, or nothing (with a warning) when it is not one.
  std::optional<std::vector<std::string>> string_list(const std::string& where,
                                                      const json::value& value) {
    const json::value& list = doc_.resolve(value);
    std::vector<std::string> out;
    if (list.is_array())
      for (const auto& item : list.get_array())
        if (item.is_string()) out.emplace_back(item.get_string());
    if (!list.is_array() || out.size() != list.get_array().size()) {
      warn(where, "must be a list of strings; ignored");
      return std::nullopt;
    }
    return out;
  }

  void read_endpoint_configuration(const std::string& where, const json::value& value) {
    if (!value.is_object()) {
      warn(where, "must be an object; ignored");
      return;
    }
    for (const auto& [name, member] : value.get_object()) {
      const std::string here = where + "." + std::string(name);
      if (name == "vpcEndpointIds") {
        out_.vpc_endpoint_ids = string_list(here, member);
      } else if (name == "disableExecuteApiEndpoint") {
        const json::value& flag = doc_.resolve(member);
        if (flag.is_bool())
          out_.disable_execute_api_endpoint = flag.get_bool();
        else
          warn(here, "must be true or false; ignored");
      } else {
        warn(here, "not supported; ignored");
      }
    }
  }

  // Which security schemes are the API key in x-api-key; the others are
  // remembered so that the operations naming them are warned about.
  void read_security_schemes() {
    const json::value* schemes = nullptr;
    std::string where;
    if (doc_.version() == OpenApiDocument::Version::kSwagger2) {
      schemes = doc_.member(root_, "securityDefinitions");
      where = "securityDefinitions";
    } else if (const json::value* components = doc_.member(root_, "components");
               components && components->is_object()) {
      schemes = doc_.member(components->get_object(), "securitySchemes");
      where = "components.securitySchemes";
    }
    if (!schemes || !schemes->is_object()) return;
    for (const auto& [name, value] : schemes->get_object()) {
      const json::value& scheme = doc_.resolve(value);
      const std::string here = where + "." + std::string(name);
      if (!scheme.is_object()) continue;
      const json::object& s = scheme.get_object();
      const bool authorizer = s.contains("x-amazon-apigateway-authorizer") ||
                              s.contains("x-amazon-apigateway-authtype");
      if (!authorizer && text_of(doc_.member(s, "type")) == "apiKey" &&
          ascii_lower(text_of(doc_.member(s, "name"))) == "x-api-key" &&
          text_of(doc_.member(s, "in")) == "header") {
        key_schemes_.insert(std::string(name));
      } else if (authorizer) {
        warn(here + ".x-amazon-apigateway-authorizer",
             "custom authorizers are not supported yet; methods that name it are served without "
             "it");
      } else {
        warn(here,
             "only an apiKey scheme named x-api-key in the header is supported; methods "
             "that name it are served without it");
      }
    }
  }

  std::string base_path() const {
    std::string path;
    if (doc_.version() == OpenApiDocument::Version::kSwagger2) {
      path = text_of(doc_.member(root_, "basePath"));
    } else if (const json::value* servers = doc_.member(root_, "servers");
               servers && servers->is_array() && !servers->get_array().empty() &&
               servers->get_array()[0].is_object()) {
      const json::object& server = doc_.resolve(servers->get_array()[0]).get_object();
      const json::value* variables = doc_.member(server, "variables");
      const json::value* base = variables && variables->is_object()
                                    ? doc_.member(variables->get_object(), "basePath")
                                    : nullptr;
      if (base && base->is_object()) {
        path = text_of(doc_.member(base->get_object(), "default"));
      } else {
        // The path of the URL: after "scheme://authority", or all of it.
        std::string url = text_of(doc_.member(server, "url"));
        const std::size_t scheme = url.find("://");
        if (scheme != std::string::npos) {
          const std::size_t slash = url.find('/', scheme + 3);
          url = slash == std::string::npos ? "" : url.substr(slash);
        }
        path = url;
      }
    }
    std::vector<std::string> segments = segments_of(path);
    if (options_.base_path == ImportOptions::BasePath::kIgnore || segments.empty()) return "";
    if (options_.base_path == ImportOptions::BasePath::kSplit) segments.erase(segments.begin());
    std::string out;
    for (const auto& s : segments) out += "/" + s;
    return out;
  }

  void read_path(const std::string& path, const std::string& base, const json::value& item) {
    const std::string where = "paths." + path;
    if (path.empty() || path.front() != '/') throw OpenApiError(where + ": a path starts with /");
    std::string full = base + path;
    while (full.size() > 1 && full.back() == '/') full.pop_back();
    if (full.empty()) full = "/";
    check_route(where, full);
    if (!item.is_object()) throw OpenApiError(where + ": a path item is an object");
    auto& methods = out_.paths[full];  // a path without operations is still a resource
    for (const auto& member : item.get_object()) {
      const std::string_view name = member.key();
      const json::value& value = member.value();
      auto op = std::find_if(kOperations.begin(), kOperations.end(),
                             [&](const auto& o) { return o.first == name; });
      if (op != kOperations.end()) {
        const json::value& operation = doc_.resolve(value);
        if (!operation.is_object())
          throw OpenApiError(where + "." + std::string(name) + ": an operation is an object");
        methods[std::string(op->second)] = read_operation(
            where + "." + std::string(name), std::string(op->second), operation.get_object());
      } else if (name.starts_with("x-amazon-apigateway-") || name == "trace" || name == "servers") {
        warn(where + "." + std::string(name), "not supported; ignored");
      }
    }
  }

  // A path that no resource tree could hold is an error, not a warning: the
  // import would otherwise serve something else than the file says.
  static void check_route(const std::string& where, const std::string& path) {
    if (path == "/") return;
    if (path.find("//") != std::string::npos) throw OpenApiError(where + ": empty path part");
    std::string_view rest(path);
    rest.remove_prefix(1);
    while (!rest.empty()) {
      const std::size_t slash = rest.find('/');
      const std::string_view part = rest.substr(0, slash);
      try {
        validate_path_part(part);
      } catch (const std::invalid_argument& e) {
        throw OpenApiError(where + ": " + e.what());
      }
      rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
      if (part.ends_with("+}") && !rest.empty())
        throw OpenApiError(where + ": a greedy " + std::string(part) +
                           " path part must be the last");
    }
  }

  // The headers a response declares become its method response parameters,
  // not required, as AWS imports them.
  MethodResponse read_method_response(std::string_view code, const json::value& value) {
    MethodResponse r;
    r.status_code = code;
    const json::value& response = doc_.resolve(value);
    const json::value* headers =
        response.is_object() ? doc_.member(response.get_object(), "headers") : nullptr;
    if (headers && headers->is_object())
      for (const auto& [name, unused] : headers->get_object())
        r.response_parameters.emplace("method.response.header." + std::string(name), false);
    return r;
  }

  Method read_operation(const std::string& where, const std::string& http_method,
                        const json::object& op) {
    Method m;
    m.http_method = http_method;
    for (const auto& [name, value] : op) {
      if (name == "x-amazon-apigateway-integration") {
        m.integration = read_integration(where + "." + std::string(name), doc_.resolve(value));
      } else if (name == "responses") {
        const json::value& responses = doc_.resolve(value);
        if (responses.is_object())
          for (const auto& [code, response] : responses.get_object())
            if (code.size() == 3 &&
                std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
              m.method_responses.emplace(std::string(code), read_method_response(code, response));
      } else if (name.starts_with("x-amazon-apigateway-")) {
        warn(where + "." + std::string(name), "not supported; ignored");
      }
    }
    const json::value* security = doc_.member(op, "security");
    std::string security_where = where + ".security";
    if (!security) {
      security = doc_.member(root_, "security");
      security_where = "security";
    }
    if (security && security->is_array())
      for (const auto& requirement : security->get_array()) {
        const json::value& r = doc_.resolve(requirement);
        if (!r.is_object()) continue;
        for (const auto& [scheme, scopes] : r.get_object()) {
          if (key_schemes_.contains(std::string(scheme)))
            m.api_key_required = true;
          else
            warn(where + ".security." + std::string(scheme),
                 "not an API key scheme tollgate checks; the method is served without it");
        }
      }
    if (!m.integration)
      warn(where,
           "no usable x-amazon-apigateway-integration; the method answers 500 until it "
           "has one");
    return m;
  }

  std::optional<Integration> read_integration(const std::string& where, const json::value& v) {
    if (!v.is_object()) {
      warn(where, "not an object; ignored");
      return std::nullopt;
    }
    const json::object& o = v.get_object();
    Integration i;
    const std::string type = ascii_upper(text_of(doc_.member(o, "type")));
    const std::optional<IntegrationType> parsed = integration_type_from(type);
    if (!parsed) {
      warn(where + ".type", "'" + type + "' is not an integration type tollgate has; ignored");
      return std::nullopt;
    }
    i.type = *parsed;
    const bool http = i.type == IntegrationType::kHttp || i.type == IntegrationType::kHttpProxy;
    if (i.type == IntegrationType::kAws || i.type == IntegrationType::kAwsProxy)
      warn(where + ".type", ascii_lower(type) +
                                " (a Lambda or AWS service) cannot be called from "
                                "tollgate; the method answers 500 until it has an http or "
                                "http_proxy integration");
    i.http_method = ascii_upper(text_of(doc_.member(o, "httpMethod")));
    if (!i.http_method.empty() && !is_http_method(i.http_method)) {
      warn(where + ".httpMethod", "'" + i.http_method +
                                      "' is not an HTTP method; the client's "
                                      "method is used");
      i.http_method.clear();
    }
    i.uri = text_of(doc_.member(o, "uri"));
    if (http && !i.uri.starts_with("http://") && !i.uri.starts_with("${stageVariables.")) {
      warn(where + ".uri", "'" + i.uri + "': tollgate calls http:// backends only; ignored");
      return std::nullopt;
    }
    if (const json::value* timeout = doc_.member(o, "timeoutInMillis")) {
      const std::int64_t* ms = timeout->if_int64();
      if (ms && *ms >= 50 && *ms <= 29000)
        i.timeout_ms = *ms;
      else
        warn(where + ".timeoutInMillis", "must be 50 to 29000; 29000 is used");
    }
    i.request_parameters = read_string_map(where + ".requestParameters", o, "requestParameters");
    for (auto it = i.request_parameters.begin(); it != i.request_parameters.end();) {
      const ParsedRequestParameter p = parse_request_parameter(it->first, it->second);
      if (p.parameter) {
        ++it;
        continue;
      }
      warn(where + ".requestParameters." + it->first, p.error + "; ignored");
      it = i.request_parameters.erase(it);
    }
    i.request_templates = read_string_map(where + ".requestTemplates", o, "requestTemplates");
    if (!i.request_templates.empty() && http)
      warn(where + ".requestTemplates",
           "request templates are not applied: the client's body passes through");
    read_responses(where + ".responses", o, i);
    for (const auto& [name, value] : o) {
      static constexpr std::array<std::string_view, 11> kRead = {"type",
                                                                 "httpMethod",
                                                                 "uri",
                                                                 "timeoutInMillis",
                                                                 "requestParameters",
                                                                 "requestTemplates",
                                                                 "responses",
                                                                 "passthroughBehavior",
                                                                 "cacheNamespace",
                                                                 "cacheKeyParameters",
                                                                 "contentHandling"};
      if (std::find(kRead.begin(), kRead.end(), name) != kRead.end()) continue;
      if (name == "connectionType" && ascii_upper(text_of(&value)) == "INTERNET") continue;
      warn(where + "." + std::string(name), "not supported; ignored");
    }
    try {
      validate_integration(i, where);
    } catch (const std::invalid_argument& e) {
      warn(where, std::string(e.what()) + "; ignored");
      return std::nullopt;
    }
    return i;
  }

  void read_responses(const std::string& where, const json::object& o, Integration& i) {
    const json::value* responses = doc_.member(o, "responses");
    if (!responses || !responses->is_object()) return;
    for (const auto& [selection, value] : responses->get_object()) {
      const std::string here = where + "." + std::string(selection);
      const json::value& r = doc_.resolve(value);
      if (!r.is_object()) continue;
      IntegrationResponse response;
      response.status_code = text_of(doc_.member(r.get_object(), "statusCode"));
      if (const json::value* code = doc_.member(r.get_object(), "statusCode");
          code && code->is_int64())
        response.status_code = std::to_string(code->get_int64());
      if (response.status_code.size() != 3 ||
          response.status_code.find_first_not_of("0123456789") != std::string::npos) {
        warn(here + ".statusCode", "not a three-digit status; ignored");
        continue;
      }
      response.response_templates =
          read_string_map(here + ".responseTemplates", r.get_object(), "responseTemplates");
      response.response_parameters =
          read_string_map(here + ".responseParameters", r.get_object(), "responseParameters");
      if (i.type != IntegrationType::kMock &&
          (!response.response_templates.empty() || !response.response_parameters.empty()))
        warn(here,
             "response mapping is applied to mock integrations only; the backend's answer "
             "passes through");
      i.integration_responses[response.status_code] = std::move(response);
    }
  }

  std::map<std::string, std::string> read_string_map(const std::string& where,
                                                     const json::object& o, std::string_view name) {
    std::map<std::string, std::string> out;
    const json::value* v = doc_.member(o, name);
    if (!v || !v->is_object()) return out;
    for (const auto& [key, value] : v->get_object()) {
      const json::value& text = doc_.resolve(value);
      if (text.is_string())
        out.emplace(std::string(key), std::string(text.get_string()));
      else
        warn(where + "." + std::string(key), "not a string; ignored");
    }
    return out;
  }

  const OpenApiDocument& doc_;
  const json::object& root_;
  const ImportOptions& options_;
  std::set<std::string> key_schemes_;
  ImportedApi out_;
};

}  // namespace

ImportedApi import_openapi(std::string_view text, const ImportOptions& options) {
  const OpenApiDocument doc(text);
  return Importer(doc, options).run();
}

}  // namespace tollgate
