#include "model/json_codec.h"

#include "model/json_fields.h"

#include <stdexcept>

namespace tollgate {
namespace json = boost::json;

namespace {

json::object string_map_json(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

void put_if(json::object& o, std::string_view key, const std::string& v) {
  if (!v.empty()) o[key] = v;
}

json::object bool_map_json(const std::map<std::string, bool>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

json::array string_list_json(const std::vector<std::string>& list) {
  json::array a;
  for (const auto& v : list) a.push_back(json::string(v));
  return a;
}

}  // namespace

json::object to_json(const Throttle& t) {
  return {{"burstLimit", t.burst_limit}, {"rateLimit", t.rate_limit}};
}

json::object to_json(const Quota& q) {
  return {{"limit", q.limit}, {"offset", q.offset}, {"period", to_string(q.period)}};
}

json::object to_json(const IntegrationResponse& r) {
  json::object o{{"statusCode", r.status_code}};
  if (!r.response_templates.empty()) o["responseTemplates"] = string_map_json(r.response_templates);
  if (!r.response_parameters.empty())
    o["responseParameters"] = string_map_json(r.response_parameters);
  put_if(o, "selectionPattern", r.selection_pattern);
  put_if(o, "contentHandling", r.content_handling);
  return o;
}

json::object to_json(const MethodResponse& r) {
  json::object o{{"statusCode", r.status_code}};
  if (!r.response_parameters.empty())
    o["responseParameters"] = bool_map_json(r.response_parameters);
  if (!r.response_models.empty()) o["responseModels"] = string_map_json(r.response_models);
  return o;
}

json::object to_json(const Integration& i) {
  json::object o{{"type", to_string(i.type)}, {"timeoutInMillis", i.timeout_ms}};
  put_if(o, "httpMethod", i.http_method);
  put_if(o, "uri", i.uri);
  if (!i.request_parameters.empty()) o["requestParameters"] = string_map_json(i.request_parameters);
  if (!i.request_templates.empty()) o["requestTemplates"] = string_map_json(i.request_templates);
  o["passthroughBehavior"] = i.passthrough_behavior;
  o["connectionType"] = "INTERNET";
  put_if(o, "cacheNamespace", i.cache_namespace);
  o["cacheKeyParameters"] = string_list_json(i.cache_key_parameters);
  put_if(o, "contentHandling", i.content_handling);
  put_if(o, "credentials", i.credentials);
  if (i.tls_insecure_skip_verification)
    o["tlsConfig"] = json::object{{"insecureSkipVerification", true}};
  if (!i.integration_responses.empty()) {
    json::object responses;
    for (const auto& [code, r] : i.integration_responses) responses[code] = to_json(r);
    o["integrationResponses"] = std::move(responses);
  }
  return o;
}

json::object to_json(const Method& m) {
  json::object o{{"httpMethod", m.http_method},
                 {"authorizationType", m.authorization_type},
                 {"apiKeyRequired", m.api_key_required}};
  put_if(o, "authorizerId", m.authorizer_id);
  if (m.integration) o["methodIntegration"] = to_json(*m.integration);
  if (!m.method_responses.empty()) {
    json::object responses;
    for (const auto& [code, r] : m.method_responses) responses[code] = to_json(r);
    o["methodResponses"] = std::move(responses);
  }
  put_if(o, "operationName", m.operation_name);
  if (!m.request_parameters.empty()) o["requestParameters"] = bool_map_json(m.request_parameters);
  if (!m.request_models.empty()) o["requestModels"] = string_map_json(m.request_models);
  return o;
}

json::object to_json(const Resource& r) {
  json::object o{{"id", r.id}, {"path", r.path}};
  put_if(o, "parentId", r.parent_id);
  put_if(o, "pathPart", r.path_part);
  if (!r.methods.empty()) {
    json::object methods;
    for (const auto& [name, m] : r.methods) methods[name] = to_json(m);
    o["resourceMethods"] = std::move(methods);
  }
  return o;
}

json::array to_json(const std::vector<Resource>& resources) {
  json::array a;
  for (const auto& r : resources) a.push_back(to_json(r));
  return a;
}

json::object to_json(const Authorizer& a) {
  json::object o{
      {"id", a.id}, {"name", a.name}, {"type", to_string(a.type)}, {"authType", a.auth_type}};
  put_if(o, "authorizerUri", a.authorizer_uri);
  put_if(o, "identitySource", a.identity_source);
  put_if(o, "identityValidationExpression", a.identity_validation_expression);
  if (a.result_ttl_seconds) o["authorizerResultTtlInSeconds"] = *a.result_ttl_seconds;
  return o;
}

namespace {

json::array to_json(const std::vector<Authorizer>& authorizers) {
  json::array out;
  for (const auto& a : authorizers) out.push_back(to_json(a));
  return out;
}

std::vector<Authorizer> authorizers_from_json(const json::object& o, std::string_view where) {
  std::vector<Authorizer> out;
  auto it = o.find("authorizers");
  if (it == o.end() || it->value().is_null()) return out;
  const std::string here = std::string(where) + ".authorizers";
  if (!it->value().is_array()) fail_field(here, "must be an array");
  for (const auto& item : it->value().get_array()) out.push_back(authorizer_from_json(item, here));
  return out;
}

}  // namespace

json::object to_json(const RestApi& api) {
  json::object o{{"id", api.id},
                 {"name", api.name},
                 {"createdDate", api.created_date},
                 {"apiKeySource", to_string(api.api_key_source)},
                 {"disableExecuteApiEndpoint", api.disable_execute_api_endpoint}};
  json::object endpoint{{"types", json::array{json::string(api.endpoint_type)}}};
  if (!api.vpc_endpoint_ids.empty())
    endpoint["vpcEndpointIds"] = string_list_json(api.vpc_endpoint_ids);
  put_if(endpoint, "ipAddressType", api.ip_address_type);
  o["endpointConfiguration"] = std::move(endpoint);
  put_if(o, "description", api.description);
  if (!api.binary_media_types.empty())
    o["binaryMediaTypes"] = string_list_json(api.binary_media_types);
  if (api.minimum_compression_size) o["minimumCompressionSize"] = *api.minimum_compression_size;
  put_if(o, "policy", api.policy);
  put_if(o, "version", api.version);
  if (!api.tags.empty()) o["tags"] = string_map_json(api.tags);
  for (const auto& r : api.resources)
    if (r.parent_id.empty()) o["rootResourceId"] = r.id;
  o["resources"] = to_json(api.resources);
  if (!api.authorizers.empty()) o["authorizers"] = to_json(api.authorizers);
  return o;
}

json::object to_json(const Deployment& d) {
  json::object o{{"id", d.id}, {"createdDate", d.created_date}, {"restApiId", d.api_id}};
  put_if(o, "description", d.description);
  o["resources"] = to_json(d.resources);
  if (!d.authorizers.empty()) o["authorizers"] = to_json(d.authorizers);
  return o;
}

json::object to_json(const Stage& s) {
  json::object settings;
  for (const auto& [key, m] : s.method_settings) {
    settings[key] = json::object{
        {"metricsEnabled", m.metrics_enabled},
        {"dataTraceEnabled", m.data_trace_enabled},
        {"throttlingBurstLimit", m.throttling_burst_limit},
        {"throttlingRateLimit", m.throttling_rate_limit},
        {"cachingEnabled", m.caching_enabled},
        {"cacheTtlInSeconds", m.cache_ttl_seconds},
        {"loggingLevel", m.logging_level},
        {"cacheDataEncrypted", m.cache_data_encrypted},
        {"requireAuthorizationForCacheControl", m.require_authorization_for_cache_control},
        {"unauthorizedCacheControlHeaderStrategy", m.unauthorized_cache_control_header_strategy}};
  }
  json::object o{{"restApiId", s.api_id},
                 {"deploymentId", s.deployment_id},
                 {"stageName", s.stage_name},
                 {"cacheClusterEnabled", s.cache_cluster_enabled},
                 {"cacheClusterStatus", s.cache_cluster_enabled ? "AVAILABLE" : "NOT_AVAILABLE"},
                 {"methodSettings", std::move(settings)},
                 {"tracingEnabled", s.tracing_enabled},
                 {"createdDate", s.created_date},
                 {"lastUpdatedDate", s.last_updated_date}};
  put_if(o, "description", s.description);
  put_if(o, "cacheClusterSize", s.cache_cluster_size);
  if (!s.variables.empty()) o["variables"] = string_map_json(s.variables);
  if (!s.access_log_destination_arn.empty() || !s.access_log_format.empty()) {
    json::object access_log;
    put_if(access_log, "destinationArn", s.access_log_destination_arn);
    put_if(access_log, "format", s.access_log_format);
    o["accessLogSettings"] = std::move(access_log);
  }
  if (!s.tags.empty()) o["tags"] = string_map_json(s.tags);
  return o;
}

json::object to_json(const ApiKey& k, bool include_value) {
  json::object o{{"id", k.id},
                 {"enabled", k.enabled},
                 {"createdDate", k.created_date},
                 {"lastUpdatedDate", k.last_updated_date},
                 {"stageKeys", json::array{}}};
  if (include_value) o["value"] = k.value;
  put_if(o, "name", k.name);
  put_if(o, "customerId", k.customer_id);
  put_if(o, "description", k.description);
  o["tags"] = string_map_json(k.tags);
  return o;
}

json::object to_json(const UsagePlan& p) {
  json::array stages;
  for (const auto& s : p.api_stages) {
    json::object so{{"apiId", s.api_id}, {"stage", s.stage}};
    if (!s.throttle.empty()) {
      json::object t;
      for (const auto& [key, th] : s.throttle) t[key] = to_json(th);
      so["throttle"] = std::move(t);
    }
    stages.push_back(std::move(so));
  }
  json::object o{{"id", p.id}, {"name", p.name}, {"apiStages", std::move(stages)}};
  put_if(o, "description", p.description);
  if (p.throttle) o["throttle"] = to_json(*p.throttle);
  if (p.quota) o["quota"] = to_json(*p.quota);
  put_if(o, "productCode", p.product_code);
  o["tags"] = string_map_json(p.tags);
  return o;
}

json::object to_json(const AccountSettings& a) {
  json::object o{{"throttleSettings", to_json(a.throttle)},
                 {"features", json::array{"UsagePlans"}},
                 {"apiKeyVersion", "4"}};
  put_if(o, "cloudwatchRoleArn", a.cloudwatch_role_arn);
  return o;
}

Throttle throttle_from_json(const json::value& v, std::string_view where) {
  const auto& o = as_object(v, where);
  return Throttle{get_double(o, "rateLimit", 0, where), get_int(o, "burstLimit", 0, where)};
}

Quota quota_from_json(const json::value& v, std::string_view where) {
  const auto& o = as_object(v, where);
  Quota q;
  q.limit = get_int(o, "limit", 0, where);
  q.offset = get_int(o, "offset", 0, where);
  const std::string period = get_string(o, "period", where);
  auto parsed = quota_period_from(period);
  if (!parsed) fail_enum(std::string(where) + ".period", period, "DAY, WEEK, MONTH");
  q.period = *parsed;
  return q;
}

Integration integration_from_json(const json::value& v, std::string_view where) {
  const auto& o = as_object(v, where);
  Integration i;
  const std::string type = get_string(o, "type", where);
  auto parsed = integration_type_from(type);
  if (!parsed)
    fail_enum(std::string(where) + ".type", type, "HTTP, MOCK, HTTP_PROXY, AWS, AWS_PROXY");
  i.type = *parsed;
  i.http_method = get_string(o, "httpMethod", where);
  i.uri = get_string(o, "uri", where);
  i.timeout_ms = get_int(o, "timeoutInMillis", 29000, where);
  i.request_parameters = get_string_map(o, "requestParameters", where);
  i.request_templates = get_string_map(o, "requestTemplates", where);
  i.cache_namespace = get_string(o, "cacheNamespace", where);
  i.cache_key_parameters = get_string_list(o, "cacheKeyParameters", where);
  i.content_handling = get_string(o, "contentHandling", where);
  if (std::string passthrough = get_string(o, "passthroughBehavior", where); !passthrough.empty())
    i.passthrough_behavior = std::move(passthrough);
  i.credentials = get_string(o, "credentials", where);
  if (auto it = o.find("tlsConfig"); it != o.end() && !it->value().is_null()) {
    const std::string here = std::string(where) + ".tlsConfig";
    i.tls_insecure_skip_verification =
        get_bool(as_object(it->value(), here), "insecureSkipVerification", false, here);
  }
  if (auto it = o.find("integrationResponses"); it != o.end() && !it->value().is_null()) {
    const std::string here = std::string(where) + ".integrationResponses";
    for (const auto& [code, rv] : as_object(it->value(), here)) {
      const std::string rhere = here + "." + std::string(code);
      const auto& ro = as_object(rv, rhere);
      IntegrationResponse r;
      r.status_code = get_string(ro, "statusCode", rhere);
      if (r.status_code.empty()) r.status_code = std::string(code);
      r.response_templates = get_string_map(ro, "responseTemplates", rhere);
      r.response_parameters = get_string_map(ro, "responseParameters", rhere);
      r.selection_pattern = get_string(ro, "selectionPattern", rhere);
      r.content_handling = get_string(ro, "contentHandling", rhere);
      i.integration_responses.emplace(std::string(code), std::move(r));
    }
  }
  return i;
}

MethodResponse method_response_from_json(const json::value& v, std::string_view status_code,
                                         std::string_view where) {
  const auto& o = as_object(v, where);
  MethodResponse r;
  r.status_code = status_code;
  r.response_parameters = get_bool_map(o, "responseParameters", where);
  r.response_models = get_string_map(o, "responseModels", where);
  return r;
}

Method method_from_json(const json::value& v, std::string_view where) {
  const auto& o = as_object(v, where);
  Method m;
  m.http_method = get_string(o, "httpMethod", where);
  m.authorization_type = get_string(o, "authorizationType", where);
  if (m.authorization_type.empty()) m.authorization_type = "NONE";
  m.api_key_required = get_bool(o, "apiKeyRequired", false, where);
  m.authorizer_id = get_string(o, "authorizerId", where);
  if (auto it = o.find("methodIntegration"); it != o.end() && !it->value().is_null())
    m.integration = integration_from_json(it->value(), std::string(where) + ".methodIntegration");
  if (auto it = o.find("methodResponses"); it != o.end() && !it->value().is_null()) {
    const std::string here = std::string(where) + ".methodResponses";
    for (const auto& [code, rv] : as_object(it->value(), here))
      m.method_responses.emplace(
          std::string(code), method_response_from_json(rv, code, here + "." + std::string(code)));
  }
  m.operation_name = get_string(o, "operationName", where);
  m.request_parameters = get_bool_map(o, "requestParameters", where);
  m.request_models = get_string_map(o, "requestModels", where);
  return m;
}

Resource resource_from_json(const json::value& v, std::string_view where) {
  const auto& o = as_object(v, where);
  Resource r;
  r.id = get_string(o, "id", where);
  r.parent_id = get_string(o, "parentId", where);
  r.path_part = get_string(o, "pathPart", where);
  r.path = get_string(o, "path", where);
  if (auto it = o.find("resourceMethods"); it != o.end() && !it->value().is_null()) {
    const std::string here = std::string(where) + ".resourceMethods";
    for (const auto& [name, mv] : as_object(it->value(), here)) {
      Method m = method_from_json(mv, here + "." + std::string(name));
      if (m.http_method.empty()) m.http_method = std::string(name);
      r.methods.emplace(std::string(name), std::move(m));
    }
  }
  return r;
}

std::vector<Resource> resources_from_json(const json::value& v, std::string_view where) {
  std::vector<Resource> out;
  if (v.is_null()) return out;
  if (!v.is_array()) fail_field(where, "must be an array");
  std::size_t n = 0;
  for (const auto& item : v.get_array())
    out.push_back(resource_from_json(item, std::string(where) + "[" + std::to_string(n++) + "]"));
  return out;
}

std::optional<std::string> endpoint_type_of(const json::object& api) {
  const json::value* config = api.if_contains("endpointConfiguration");
  const json::object* fields = config ? config->if_object() : nullptr;
  const json::value* types = fields ? fields->if_contains("types") : nullptr;
  if (!types || !types->is_array() || types->get_array().empty() ||
      !types->get_array()[0].is_string())
    return std::nullopt;
  return std::string(types->get_array()[0].get_string());
}

Authorizer authorizer_from_json(const json::value& v, std::string_view where) {
  const auto& o = as_object(v, where);
  Authorizer a;
  a.id = get_string(o, "id", where);
  a.name = get_string(o, "name", where);
  const std::string type = get_string(o, "type", where);
  const std::optional<AuthorizerType> parsed = authorizer_type_from(type);
  if (!parsed) fail_enum(std::string(where) + ".type", type, "TOKEN, REQUEST");
  a.type = *parsed;
  a.authorizer_uri = get_string(o, "authorizerUri", where);
  a.identity_source = get_string(o, "identitySource", where);
  a.identity_validation_expression = get_string(o, "identityValidationExpression", where);
  if (const json::value* ttl = o.if_contains("authorizerResultTtlInSeconds");
      ttl && !ttl->is_null())
    a.result_ttl_seconds = get_int(o, "authorizerResultTtlInSeconds", 300, where);
  if (std::string auth_type = get_string(o, "authType", where); !auth_type.empty())
    a.auth_type = std::move(auth_type);
  return a;
}

RestApi rest_api_from_json(const json::value& v) {
  const auto& o = as_object(v, "restApi");
  RestApi api;
  api.id = get_string(o, "id", "restApi");
  api.name = get_string(o, "name", "restApi");
  api.description = get_string(o, "description", "restApi");
  api.created_date = get_int(o, "createdDate", 0, "restApi");
  api.api_key_source =
      api_key_source_from(get_string(o, "apiKeySource", "restApi")).value_or(ApiKeySource::kHeader);
  if (std::optional<std::string> type = endpoint_type_of(o)) api.endpoint_type = *type;
  if (auto it = o.find("endpointConfiguration"); it != o.end() && it->value().is_object()) {
    const auto& endpoint = it->value().get_object();
    api.vpc_endpoint_ids =
        get_string_list(endpoint, "vpcEndpointIds", "restApi.endpointConfiguration");
    api.ip_address_type = get_string(endpoint, "ipAddressType", "restApi.endpointConfiguration");
  }
  api.binary_media_types = get_string_list(o, "binaryMediaTypes", "restApi");
  if (auto it = o.find("minimumCompressionSize"); it != o.end() && !it->value().is_null())
    api.minimum_compression_size = get_int(o, "minimumCompressionSize", 0, "restApi");
  api.policy = get_string(o, "policy", "restApi");
  api.version = get_string(o, "version", "restApi");
  api.disable_execute_api_endpoint = get_bool(o, "disableExecuteApiEndpoint", false, "restApi");
  api.tags = get_string_map(o, "tags", "restApi");
  if (auto it = o.find("resources"); it != o.end())
    api.resources = resources_from_json(it->value(), "restApi.resources");
  api.authorizers = authorizers_from_json(o, "restApi");
  return api;
}

Deployment deployment_from_json(const json::value& v) {
  const auto& o = as_object(v, "deployment");
  Deployment d;
  d.id = get_string(o, "id", "deployment");
  d.api_id = get_string(o, "restApiId", "deployment");
  d.description = get_string(o, "description", "deployment");
  d.created_date = get_int(o, "createdDate", 0, "deployment");
  if (auto it = o.find("resources"); it != o.end())
    d.resources = resources_from_json(it->value(), "deployment.resources");
  d.authorizers = authorizers_from_json(o, "deployment");
  return d;
}

Stage stage_from_json(const json::value& v) {
  const auto& o = as_object(v, "stage");
  Stage s;
  s.api_id = get_string(o, "restApiId", "stage");
  s.stage_name = get_string(o, "stageName", "stage");
  s.deployment_id = get_string(o, "deploymentId", "stage");
  s.description = get_string(o, "description", "stage");
  s.created_date = get_int(o, "createdDate", 0, "stage");
  s.last_updated_date = get_int(o, "lastUpdatedDate", 0, "stage");
  if (auto it = o.find("methodSettings"); it != o.end() && !it->value().is_null()) {
    for (const auto& [key, mv] : as_object(it->value(), "stage.methodSettings")) {
      const std::string here = "stage.methodSettings." + std::string(key);
      const auto& mo = as_object(mv, here);
      MethodSetting m;
      m.metrics_enabled = get_bool(mo, "metricsEnabled", false, here);
      m.data_trace_enabled = get_bool(mo, "dataTraceEnabled", false, here);
      m.throttling_burst_limit = get_int(mo, "throttlingBurstLimit", 5000, here);
      m.throttling_rate_limit = get_double(mo, "throttlingRateLimit", 10000.0, here);
      m.caching_enabled = get_bool(mo, "cachingEnabled", false, here);
      m.cache_ttl_seconds = get_int(mo, "cacheTtlInSeconds", 300, here);
      if (std::string level = get_string(mo, "loggingLevel", here); !level.empty())
        m.logging_level = std::move(level);
      m.cache_data_encrypted = get_bool(mo, "cacheDataEncrypted", false, here);
      m.require_authorization_for_cache_control =
          get_bool(mo, "requireAuthorizationForCacheControl", true, here);
      if (std::string strategy = get_string(mo, "unauthorizedCacheControlHeaderStrategy", here);
          !strategy.empty())
        m.unauthorized_cache_control_header_strategy = std::move(strategy);
      s.method_settings.emplace(std::string(key), m);
    }
  }
  s.variables = get_string_map(o, "variables", "stage");
  s.tracing_enabled = get_bool(o, "tracingEnabled", false, "stage");
  s.cache_cluster_enabled = get_bool(o, "cacheClusterEnabled", false, "stage");
  s.cache_cluster_size = get_string(o, "cacheClusterSize", "stage");
  s.tags = get_string_map(o, "tags", "stage");
  if (auto it = o.find("accessLogSettings"); it != o.end() && !it->value().is_null()) {
    const auto& access_log = as_object(it->value(), "stage.accessLogSettings");
    s.access_log_destination_arn =
        get_string(access_log, "destinationArn", "stage.accessLogSettings");
    s.access_log_format = get_string(access_log, "format", "stage.accessLogSettings");
  }
  return s;
}

ApiKey api_key_from_json(const json::value& v) {
  const auto& o = as_object(v, "apiKey");
  ApiKey k;
  k.id = get_string(o, "id", "apiKey");
  k.value = get_string(o, "value", "apiKey");
  k.name = get_string(o, "name", "apiKey");
  k.customer_id = get_string(o, "customerId", "apiKey");
  k.description = get_string(o, "description", "apiKey");
  k.enabled = get_bool(o, "enabled", false, "apiKey");
  k.created_date = get_int(o, "createdDate", 0, "apiKey");
  k.last_updated_date = get_int(o, "lastUpdatedDate", 0, "apiKey");
  k.tags = get_string_map(o, "tags", "apiKey");
  return k;
}

UsagePlan usage_plan_from_json(const json::value& v) {
  const auto& o = as_object(v, "usagePlan");
  UsagePlan p;
  p.id = get_string(o, "id", "usagePlan");
  p.name = get_string(o, "name", "usagePlan");
  p.description = get_string(o, "description", "usagePlan");
  p.product_code = get_string(o, "productCode", "usagePlan");
  p.tags = get_string_map(o, "tags", "usagePlan");
  if (auto it = o.find("throttle"); it != o.end() && !it->value().is_null())
    p.throttle = throttle_from_json(it->value(), "usagePlan.throttle");
  if (auto it = o.find("quota"); it != o.end() && !it->value().is_null())
    p.quota = quota_from_json(it->value(), "usagePlan.quota");
  if (auto it = o.find("apiStages"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_array()) fail_field("usagePlan.apiStages", "must be an array");
    std::size_t n = 0;
    for (const auto& sv : it->value().get_array()) {
      const std::string here = "usagePlan.apiStages[" + std::to_string(n++) + "]";
      const auto& so = as_object(sv, here);
      ApiStage s;
      s.api_id = get_string(so, "apiId", here);
      s.stage = get_string(so, "stage", here);
      if (auto t = so.find("throttle"); t != so.end() && !t->value().is_null()) {
        for (const auto& [key, tv] : as_object(t->value(), here + ".throttle"))
          s.throttle.emplace(std::string(key),
                             throttle_from_json(tv, here + ".throttle." + std::string(key)));
      }
      p.api_stages.push_back(std::move(s));
    }
  }
  return p;
}

AccountSettings account_from_json(const json::value& v) {
  const auto& o = as_object(v, "account");
  AccountSettings a;
  if (auto it = o.find("throttleSettings"); it != o.end() && !it->value().is_null())
    a.throttle = throttle_from_json(it->value(), "account.throttleSettings");
  a.cloudwatch_role_arn = get_string(o, "cloudwatchRoleArn", "account");
  return a;
}

}  // namespace tollgate
