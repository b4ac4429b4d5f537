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
  if (i.cache_namespace.empty()) o["cacheNamespace"] = resource_id;
  return o;
}

MethodResponse& method_response_of(Method& m, const std::string& code) {
  auto it = m.method_responses.find(code);
  if (it == m.method_responses.end()) not_found("Invalid Response status code specified");
  return it->second;
}

IntegrationResponse& integration_response_of(Integration& i, const std::string& code) {
  auto it = i.integration_responses.find(code);
  if (it == i.integration_responses.end()) not_found("Invalid Response status code specified");
  return it->second;
}

// Validation failures of a changed object are the request's fault.
template <typename Check>
void check_input(Check check) {
  try {
    check();
  } catch (const std::invalid_argument& e) {
    bad_request(e.what());
  }
}

// HTTP integrations need an http:// URI (or a stage variable that gives one).
void check_integration(const Integration& i) {
  const bool http = i.type == IntegrationType::kHttp || i.type == IntegrationType::kHttpProxy;
  if (i.type != IntegrationType::kMock && i.http_method.empty())
    bad_request("Enumeration value for HttpMethod must be non-empty");
  if (http && i.uri.rfind("http://", 0) != 0 && i.uri.rfind("${stageVariables.", 0) != 0)
    bad_request("Invalid HTTP endpoint specified for URI");
  check_input([&] { validate_integration(i, "integration"); });
}

// tollgate reaches backends over the network it runs in; there are no VPC links.
void check_connection(const PatchOperation& op) {
  if (op.has_value && !op.value.empty() && op.value != "INTERNET" && op.path == "/connectionType")
    bad_request("Invalid connectionType '" + op.value + "': only INTERNET is supported");
  if (op.has_value && !op.value.empty() && op.path == "/connectionId")
    bad_request("VPC links are not supported: connectionId must be empty");
}

// NONE, or CUSTOM with one of the API's authorizers (its id checked by
// check_method_authorizer); IAM and Cognito are not tollgate's.
void check_authorization_type(const std::string& type) {
  if (type != "NONE" && type != "CUSTOM")
    bad_request("Invalid authorization type specified: " + type +
                ". Use NONE, or CUSTOM with an authorizer; AWS_IAM and COGNITO_USER_POOLS are "
                "not supported");
}

// A CUSTOM method names an authorizer of its own API; any other keeps none.
void check_method_authorizer(RestApi& api, Method& m) {
  if (m.authorization_type != "CUSTOM") {
    m.authorizer_id.clear();
    return;
  }
  const bool known = std::any_of(api.authorizers.begin(), api.authorizers.end(),
                                 [&](const Authorizer& a) { return a.id == m.authorizer_id; });
  if (!known)
    bad_request(
        "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
        "COGNITO_USER_POOLS requires a valid authorizer.");
}

constexpr const char* kMethodPaths =
    "/apiKeyRequired, /authorizationType, /authorizerId, /operationName, "
    "/requestParameters/{name}, "
    "/requestModels/{contentType}, /requestValidatorId";

void apply_method_op(Method& m, const PatchOperation& op) {
  if (op.op == "replace" && op.path == "/apiKeyRequired") {
    m.api_key_required = patch_bool(op);
  } else if (op.op == "replace" && op.path == "/authorizationType") {
    check_authorization_type(op.value);
    m.authorization_type = op.value;
  } else if (op.op == "replace" && op.path == "/authorizerId") {
    m.authorizer_id = op.value;
  } else if (op.op == "replace" && op.path == "/operationName") {
    m.operation_name = op.value;  // no value clears it
  } else if (op.op == "replace" && op.path == "/requestValidatorId") {
    if (!op.value.empty()) bad_request("Invalid Request Validator identifier specified");
  } else if (auto name = patch_member(op, "/requestParameters/")) {
    patch_map(m.request_parameters, *name, op);
  } else if (auto type = patch_member(op, "/requestModels/")) {
    patch_map(m.request_models, *type, op);
  } else {
    invalid_patch_path(op, kMethodPaths);
  }
}

constexpr const char* kIntegrationPaths =
    "/uri, /httpMethod, /timeoutInMillis, /cacheNamespace, /contentHandling, "
    "/passthroughBehavior, /credentials, /connectionType, /connectionId, "
    "/tlsConfig/insecureSkipVerification, /requestParameters/{name}, "
    "/requestTemplates/{contentType}, /cacheKeyParameters/{name}";

void apply_integration_op(Integration& i, const PatchOperation& op) {
  if (op.op == "replace" && op.path == "/uri") {
    i.uri = op.value;
  } else if (op.op == "replace" && op.path == "/httpMethod") {
    i.http_method = op.value;
  } else if (op.op == "replace" && op.path == "/timeoutInMillis") {
    i.timeout_ms = patch_int(op);
  } else if (op.op == "replace" && op.path == "/cacheNamespace") {
    i.cache_namespace = op.value;
  } else if (op.op == "replace" && op.path == "/contentHandling") {
    i.content_handling = op.value;
  } else if (op.op == "replace" && op.path == "/passthroughBehavior") {
    i.passthrough_behavior = op.value;
  } else if (op.op == "replace" && op.path == "/credentials") {
    i.credentials = op.value;
  } else if (op.op == "replace" && (op.path == "/connectionType" || op.path == "/connectionId")) {
    check_connection(op);
  } else if (op.op == "replace" && op.path == "/tlsConfig/insecureSkipVerification") {
    i.tls_insecure_skip_verification = patch_bool(op);
  } else if (auto name = patch_member(op, "/requestParameters/")) {
    patch_map(i.request_parameters, *name, op);
  } else if (auto type = patch_member(op, "/requestTemplates/")) {
    patch_map(i.request_templates, *type, op);
  } else if (auto key = patch_member(op, "/cacheKeyParameters/")) {
    patch_name_list(i.cache_key_parameters, *key, op);
  } else {
    invalid_patch_path(op, kIntegrationPaths);
  }
}

constexpr const char* kIntegrationResponsePaths =
    "/selectionPattern, /contentHandling, /responseTemplates/{contentType}, "
    "/responseParameters/{name}";

void apply_integration_response_op(IntegrationResponse& r, const PatchOperation& op) {
  if (op.op == "replace" && op.path == "/selectionPattern") {
    r.selection_pattern = op.value;
  } else if (op.op == "replace" && op.path == "/contentHandling") {
    r.content_handling = op.value;
  } else if (auto type = patch_member(op, "/responseTemplates/")) {
    patch_map(r.response_templates, *type, op);
  } else if (auto name = patch_member(op, "/responseParameters/")) {
    patch_map(r.response_parameters, *name, op);
  } else {
    invalid_patch_path(op, kIntegrationResponsePaths);
  }
}

void apply_method_response_op(MethodResponse& r, const PatchOperation& op) {
  if (auto name = patch_member(op, "/responseParameters/"))
    patch_map(r.response_parameters, *name, op);
  else if (auto type = patch_member(op, "/responseModels/"))
    patch_map(r.response_models, *type, op);
  else
    invalid_patch_path(op, "/responseParameters/{name}, /responseModels/{contentType}");
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
  constexpr std::string_view kInput = "putIntegrationResponseInput";
  IntegrationResponse r;
  r.status_code = code;
  r.response_templates = get_string_map(body, "responseTemplates", kInput);
  r.response_parameters = get_string_map(body, "responseParameters", kInput);
  r.selection_pattern = get_string(body, "selectionPattern", kInput);
  r.content_handling = get_string(body, "contentHandling", kInput);
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
  check_authorization_type(m.authorization_type);
  m.authorizer_id = get_string(body, "authorizerId", "putMethodInput");
  m.api_key_required = get_bool(body, "apiKeyRequired", false, "putMethodInput");
  m.operation_name = get_string(body, "operationName", "putMethodInput");
  m.request_parameters = get_bool_map(body, "requestParameters", "putMethodInput");
  m.request_models = get_string_map(body, "requestModels", "putMethodInput");
  if (!get_string(body, "requestValidatorId", "putMethodInput").empty())
    bad_request("Invalid Request Validator identifier specified");
  check_input([&] { validate_method_request(m, "putMethodInput"); });
  ctx.edit([&](ControlState& s) {
    RestApi& api = find_api(s, p.api, ctx.account_id);
    Resource& r = find_resource(api, p.resource);
    if (r.methods.count(p.method)) conflict("Method already exists for this resource");
    check_method_authorizer(api, m);
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
    const MethodPath p = method_path(req);
    RestApi& api = find_api(s, p.api, ctx.account_id);
    Method& method = find_method(find_resource(api, p.resource), p.method);
    Method next = method;
    for (const auto& op : ops) apply_method_op(next, op);
    check_input([&] { validate_method_request(next, "updateMethodInput"); });
    check_method_authorizer(api, next);
    method = next;
    return next;
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
  const json::object body = req.json();
  MethodResponse r;
  r.status_code = code;
  r.response_parameters = get_bool_map(body, "responseParameters", "putMethodResponseInput");
  r.response_models = get_string_map(body, "responseModels", "putMethodResponseInput");
  check_input([&] { validate_method_response(r, "putMethodResponseInput"); });
  ctx.edit([&](ControlState& s) {
    find_method_at(ctx, s, method_path(req)).method_responses[code] = r;
    return 0;
  });
  return admin_json(http::status::created, to_json(r));
}

HttpResponse get_method_response(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  return admin_json(http::status::ok,
                    to_json(method_response_of(find_method_at(ctx, s, method_path(req)),
                                               status_code_at(req, 7))));
}

HttpResponse update_method_response(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateMethodResponseInput");
  const MethodResponse r = ctx.edit([&](ControlState& s) {
    MethodResponse& stored =
        method_response_of(find_method_at(ctx, s, method_path(req)), status_code_at(req, 7));
    MethodResponse next = stored;
    for (const auto& op : ops) apply_method_response_op(next, op);
    check_input([&] { validate_method_response(next, "updateMethodResponseInput"); });
    stored = next;
    return next;
  });
  return admin_json(http::status::ok, to_json(r));
}

HttpResponse delete_method_response(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState& s) {
    Method& m = find_method_at(ctx, s, method_path(req));
    const std::string& code = status_code_at(req, 7);
    method_response_of(m, code);  // 404 when absent
    m.method_responses.erase(code);
    return 0;
  });
  return admin_empty(http::status::no_content);
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
  for (const char* field : {"connectionType", "connectionId"})
    check_connection(PatchOperation{"replace", std::string("/") + field,
                                    get_string(body, field, "putIntegrationInput"), true});
  Integration i = integration_from_json(body, "putIntegrationInput");
  check_integration(i);
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

HttpResponse update_integration(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateIntegrationInput");
  const MethodPath p = method_path(req);
  const Integration i = ctx.edit([&](ControlState& s) {
    Integration& stored = integration_of(find_method_at(ctx, s, p));
    Integration next = stored;
    for (const auto& op : ops) apply_integration_op(next, op);
    check_integration(next);
    stored = next;
    return next;
  });
  return admin_json(http::status::ok, integration_json(i, p.resource));
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
    Integration& i = integration_of(find_method_at(ctx, s, method_path(req)));
    i.integration_responses[code] = r;
    check_integration(i);
    return 0;
  });
  return admin_json(http::status::created, to_json(r));
}

HttpResponse get_integration_response(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  Integration& i = integration_of(find_method_at(ctx, s, method_path(req)));
  return admin_json(http::status::ok, to_json(integration_response_of(i, status_code_at(req, 8))));
}

HttpResponse update_integration_response(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateIntegrationResponseInput");
  const IntegrationResponse r = ctx.edit([&](ControlState& s) {
    Integration& i = integration_of(find_method_at(ctx, s, method_path(req)));
    IntegrationResponse& stored = integration_response_of(i, status_code_at(req, 8));
    IntegrationResponse next = stored;
    for (const auto& op : ops) apply_integration_response_op(next, op);
    stored = next;
    check_integration(i);
    return next;
  });
  return admin_json(http::status::ok, to_json(r));
}

HttpResponse delete_integration_response(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState& s) {
    Integration& i = integration_of(find_method_at(ctx, s, method_path(req)));
    const std::string& code = status_code_at(req, 8);
    integration_response_of(i, code);  // 404 when absent
    i.integration_responses.erase(code);
    return 0;
  });
  return admin_empty(http::status::no_content);
}

}  // namespace tollgate
