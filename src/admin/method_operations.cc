#include "admin/lookups.h"
#include "admin/operations.h"
#include "admin/patch_operations.h"
#include "model/json_codec.h"
#include "model/json_fields.h"
#include "model/validate.h"

namespace tollgate {
namespace json = boost::json;

namespace {

// segments: restapis/{api}/resources/{resource}/methods/{method}[/...]
struct MethodPath {
  const std::string& api;
  const std::string& resource;
  const std::string& method;
};

MethodPath method_path(const AdminRequest& req) {
  return {req.segments()[1], req.segments()[3], req.segments()[5]};
}

Method& find_method_at(AdminContext& ctx, ControlState& s, const MethodPath& p) {
  return find_method(find_resource(find_api(s, p.api, ctx.account_id), p.resource), p.method);
}

json::object integration_json(const Integration& i, const std::string& resource_id) {
  json::object o = to_json(i);
  o["cacheNamespace"] = resource_id;
  return o;
}

// The three-digit status code in path segment `index`.
const std::string& status_code_at(const AdminRequest& req, std::size_t index) {
  const std::string& code = req.segments()[index];
  if (code.size() != 3 || code.find_first_not_of("0123456789") != std::string::npos)
    bad_request("Invalid status code specified: " + code);
  return code;
}

Integration& integration_of(Method& m) {
  if (!m.integration) not_found("Invalid Integration identifier specified");
  return *m.integration;
}

IntegrationResponse integration_response_from(const json::object& body, const std::string& code) {
  IntegrationResponse r;
  r.status_code = code;
  r.response_templates = get_string_map(body, "responseTemplates", "putIntegrationResponseInput");
  r.response_parameters = get_string_map(body, "responseParameters", "putIntegrationResponseInput");
  return r;
}

}  // namespace

HttpResponse put_method(AdminContext& ctx, const AdminRequest& req) {
  const MethodPath p = method_path(req);
  if (!is_http_method(p.method))
    bad_request(
        "Invalid HttpMethod specified. Valid options are "
        "GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY");
  const json::object body = req.json();
  Method m;
  m.http_method = p.method;
  m.authorization_type = get_string(body, "authorizationType", "putMethodInput");
  if (m.authorization_type.empty())
    bad_request("Invalid authorization type specified: authorizationType is required");
  if (m.authorization_type != "NONE")
    bad_request(
        "Invalid authorization type specified. Only NONE is supported; API keys are checked with "
        "apiKeyRequired");
  m.api_key_required = get_bool(body, "apiKeyRequired", false, "putMethodInput");
  ctx.edit([&](ControlState& s) {
    Resource& r = find_resource(find_api(s, p.api, ctx.account_id), p.resource);
    if (r.methods.count(p.method)) conflict("Method already exists for this resource");
    r.methods[p.method] = m;
    return 0;
  });
  return admin_json(http::status::created, to_json(m));
}

HttpResponse get_method(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  return admin_json(http::status::ok, to_json(find_method_at(ctx, s, method_path(req))));
}

HttpResponse update_method(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateMethodInput");
  const Method m = ctx.edit([&](ControlState& s) {
    Method& method = find_method_at(ctx, s, method_path(req));
    for (const auto& op : ops) {
      if (op.op == "replace" && op.path == "/apiKeyRequired")
        method.api_key_required = patch_bool(op);
      else if (op.op == "replace" && op.path == "/authorizationType" && op.value == "NONE")
        method.authorization_type = op.value;
      else
        invalid_patch_path(op, "/apiKeyRequired, /authorizationType");
    }
    return method;
  });
  return admin_json(http::status::ok, to_json(m));
}

HttpResponse delete_method(AdminContext& ctx, const AdminRequest& req) {
  const MethodPath p = method_path(req);
  ctx.edit([&](ControlState& s) {
    Resource& r = find_resource(find_api(s, p.api, ctx.account_id), p.resource);
    find_method(r, p.method);
    r.methods.erase(p.method);
    return 0;
  });
  return admin_empty(http::status::no_content);
}

HttpResponse put_method_response(AdminContext& ctx, const AdminRequest& req) {
  const std::string& code = status_code_at(req, 7);
  ctx.edit([&](ControlState& s) {
    Method& m = find_method_at(ctx, s, method_path(req));
    if (std::find(m.method_responses.begin(), m.method_responses.end(), code) ==
        m.method_responses.end())
      m.method_responses.push_back(code);
    return 0;
  });
  return admin_json(http::status::created, json::object{{"statusCode", code}});
}

HttpResponse put_integration(AdminContext& ctx, const AdminRequest& req) {
  json::object body = req.json();
  const std::string type = get_string(body, "type", "putIntegrationInput");
  if (type.empty()) bad_request("Invalid integration type specified: type is required");
  if (!integration_type_from(type))
    validation_error(
        "1 validation error detected: Value '" + type +
        "' at 'putIntegrationInput.type' failed to satisfy constraint: Member must satisfy "
        "enum value set: [HTTP, MOCK, HTTP_PROXY, AWS, AWS_PROXY]");
  body.erase("integrationResponses");
  Integration i = integration_from_json(body, "putIntegrationInput");
  const bool http = i.type == IntegrationType::kHttp || i.type == IntegrationType::kHttpProxy;
  if (i.type != IntegrationType::kMock && i.http_method.empty())
    bad_request("Enumeration value for HttpMethod must be non-empty");
  if (http && i.uri.rfind("http://", 0) != 0 && i.uri.rfind("${stageVariables.", 0) != 0)
    bad_request("Invalid HTTP endpoint specified for URI");
  validate_integration(i, "integration");
  const MethodPath p = method_path(req);
  ctx.edit([&](ControlState& s) {
    Method& m = find_method_at(ctx, s, p);
    // Integration responses survive a new PutIntegration, as they do on AWS.
    if (m.integration) i.integration_responses = m.integration->integration_responses;
    m.integration = i;
    return 0;
  });
  return admin_json(http::status::created, integration_json(i, p.resource));
}

HttpResponse get_integration(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  const MethodPath p = method_path(req);
  return admin_json(http::status::ok,
                    integration_json(integration_of(find_method_at(ctx, s, p)), p.resource));
}

HttpResponse delete_integration(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState& s) {
    Method& m = find_method_at(ctx, s, method_path(req));
    integration_of(m);
    m.integration.reset();
    return 0;
  });
  return admin_empty(http::status::no_content);
}

HttpResponse put_integration_response(AdminContext& ctx, const AdminRequest& req) {
  const std::string& code = status_code_at(req, 8);
  const IntegrationResponse r = integration_response_from(req.json(), code);
  ctx.edit([&](ControlState& s) {
    integration_of(find_method_at(ctx, s, method_path(req))).integration_responses[code] = r;
    return 0;
  });
  return admin_json(http::status::created, to_json(r));
}

HttpResponse get_integration_response(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  const Integration& i = integration_of(find_method_at(ctx, s, method_path(req)));
  auto it = i.integration_responses.find(req.segments()[8]);
  if (it == i.integration_responses.end()) not_found("Invalid Response status code specified");
  return admin_json(http::status::ok, to_json(it->second));
}

}  // namespace tollgate
