#pragma once

// Plain value types of the control state, named and shaped after the Amazon API
// Gateway model (spec §4–§9). No I/O here; see json_codec.h for the wire form
// and validate.h for the rules.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tollgate {

struct Throttle {
  double rate_limit = 0;         // requests per second, may be fractional
  std::int64_t burst_limit = 0;  // bucket capacity in requests
  bool operator==(const Throttle&) const = default;
};

enum class QuotaPeriod : std::uint8_t { kDay, kWeek, kMonth };

struct Quota {
  std::int64_t limit = 0;
  std::int64_t offset = 0;  // requests taken off the initial period
  QuotaPeriod period = QuotaPeriod::kMonth;
  bool operator==(const Quota&) const = default;
};

struct IntegrationResponse {
  std::string status_code;                                 // "200"
  std::map<std::string, std::string> response_templates;   // content type → body
  std::map<std::string, std::string> response_parameters;  // method.response.header.X → 'v'
  // Kept and returned: which backend answers this response serves, and body
  // conversion. tollgate maps no HTTP integration's responses (a MOCK picks
  // its response by the status its request template names).
  std::string selection_pattern;
  std::string content_handling;  // empty, CONVERT_TO_BINARY or CONVERT_TO_TEXT
  bool operator==(const IntegrationResponse&) const = default;
};

// AWS and AWS_PROXY (a Lambda or an AWS service) come in only by an OpenAPI
// import: tollgate cannot run them, and such a method answers 500.
enum class IntegrationType { kHttpProxy, kHttp, kMock, kAws, kAwsProxy };

struct Integration {
  IntegrationType type = IntegrationType::kMock;
  std::string http_method;  // backend method; empty = same as the request's
  std::string uri;          // backend URL for HTTP/HTTP_PROXY; may hold {param}
  std::int64_t timeout_ms = 29000;
  // integration.request.{path|querystring|header}.X → method.request.… or 'static'
  // (model/request_parameters.h).
  std::map<std::string, std::string> request_parameters;
  std::map<std::string, std::string> request_templates;
  std::map<std::string, IntegrationResponse> integration_responses;  // by status code
  // Kept and returned as set, so a client reads back what it wrote; tollgate
  // has no cache, passes bodies through, and calls backends without AWS
  // credentials.
  std::string cache_namespace;  // empty: the resource's id, as AWS reports it
  std::vector<std::string> cache_key_parameters;
  std::string content_handling;  // empty, CONVERT_TO_BINARY or CONVERT_TO_TEXT
  std::string passthrough_behavior = "WHEN_NO_MATCH";
  std::string credentials;
  // tlsConfig.insecureSkipVerification; tlsConfig is reported only when it
  // is true, as an unset one reads back as no tlsConfig at all.
  bool tls_insecure_skip_verification = false;
  bool operator==(const Integration&) const = default;
};

struct MethodResponse {
  std::string status_code;
  std::map<std::string, bool> response_parameters;     // method.response.header.X → required
  std::map<std::string, std::string> response_models;  // content type → model name
  bool operator==(const MethodResponse&) const = default;
};

struct Method {
  std::string http_method;                  // GET, POST, ..., ANY
  std::string authorization_type = "NONE";  // NONE or CUSTOM
  std::string authorizer_id;                // CUSTOM: one of the API's authorizers
  bool api_key_required = false;
  std::optional<Integration> integration;
  std::map<std::string, MethodResponse> method_responses;  // by status code
  // Kept and returned as set; tollgate validates no request against them.
  std::string operation_name;
  std::map<std::string, bool> request_parameters;     // method.request.{path|querystring|header}.X
  std::map<std::string, std::string> request_models;  // content type → model name
  bool operator==(const Method&) const = default;
};

struct Resource {
  std::string id;
  std::string parent_id;                  // empty for the root
  std::string path_part;                  // empty for the root
  std::string path;                       // "/" for the root, "/pets/{petId}" below it
  std::map<std::string, Method> methods;  // by http_method
  bool operator==(const Resource&) const = default;
};

// An HTTP endpoint that decides who may call a method, standing where AWS
// calls a Lambda authorizer: tollgate POSTs it the event a Lambda authorizer
// receives and reads the answer one returns.
enum class AuthorizerType : std::uint8_t { kToken, kRequest };

struct Authorizer {
  std::string id;
  std::string name;
  AuthorizerType type = AuthorizerType::kToken;
  std::string authorizer_uri;  // http:// or https://
  // TOKEN: method.request.header.NAME; REQUEST: a comma-separated list of
  // method.request.{header|querystring}.NAME, stageVariables.NAME, context.NAME.
  std::string identity_source;
  std::string identity_validation_expression;  // TOKEN: a regular expression
  // Unset means 300 s, and is not reported, as AWS does; 0 caches nothing.
  std::optional<std::int64_t> result_ttl_seconds;
  std::string auth_type = "custom";  // free text, kept and returned
  bool operator==(const Authorizer&) const = default;
};

enum class ApiKeySource { kHeader, kAuthorizer };

struct RestApi {
  std::string id;
  std::string name;
  std::string description;
  ApiKeySource api_key_source = ApiKeySource::kHeader;
  std::string endpoint_type = "EDGE";  // EDGE, REGIONAL or PRIVATE: reported, not acted on
  std::int64_t created_date = 0;       // epoch seconds
  // Kept and returned as set; none changes how tollgate serves the API
  // (docs/aws-compatibility.md says why each is safe to keep).
  std::vector<std::string> binary_media_types;
  std::optional<std::int64_t> minimum_compression_size;
  std::string policy;  // the resource policy's JSON text, as given
  std::string version;
  bool disable_execute_api_endpoint = false;
  std::vector<std::string> vpc_endpoint_ids;
  std::string ip_address_type;  // empty when never set
  std::map<std::string, std::string> tags;
  std::vector<Resource> resources;      // the working copy; stages serve deployments
  std::vector<Authorizer> authorizers;  // the working copy, deployed with the resources
  bool operator==(const RestApi&) const = default;
};

// A snapshot of an API's resources; what a stage serves.
struct Deployment {
  std::string api_id;
  std::string id;
  std::string description;
  std::int64_t created_date = 0;
  std::vector<Resource> resources;
  std::vector<Authorizer> authorizers;
  bool operator==(const Deployment&) const = default;
};

struct MethodSetting {
  bool metrics_enabled = false;
  bool data_trace_enabled = false;
  std::int64_t throttling_burst_limit = 5000;
  double throttling_rate_limit = 10000.0;
  bool caching_enabled = false;
  std::int64_t cache_ttl_seconds = 300;
  // Kept and returned as set, so that a client sees what it wrote; tollgate
  // neither logs to CloudWatch nor caches.
  std::string logging_level = "OFF";
  bool cache_data_encrypted = false;
  bool require_authorization_for_cache_control = true;
  std::string unauthorized_cache_control_header_strategy = "SUCCEED_WITH_RESPONSE_HEADER";
  // The throttle the stage puts on the method. -1 is AWS's "throttling
  // disabled" (Terraform writes it for a field left unset): a rate of -1 puts
  // no limit of the stage's on the method, a burst of -1 leaves the burst to
  // the account's.
  std::optional<Throttle> stage_throttle(const Throttle& account) const {
    if (throttling_rate_limit < 0) return std::nullopt;
    return Throttle{throttling_rate_limit,
                    throttling_burst_limit < 0 ? account.burst_limit : throttling_burst_limit};
  }
  bool operator==(const MethodSetting&) const = default;
};

struct Stage {
  std::string api_id;
  std::string stage_name;
  std::string deployment_id;
  std::string description;
  std::int64_t created_date = 0;
  std::int64_t last_updated_date = 0;
  // "*/*" for every method, "~1pets/GET" for one (resource path with / as ~1).
  std::map<std::string, MethodSetting> method_settings;
  std::map<std::string, std::string> variables;  // stage variables
  // Kept and returned as set; tollgate has no cache cluster and no tracing.
  bool tracing_enabled = false;
  bool cache_cluster_enabled = false;
  std::string cache_cluster_size;
  // accessLogSettings, kept and returned: tollgate writes its own access log
  // (--access-log), not to CloudWatch or Firehose.
  std::string access_log_destination_arn;
  std::string access_log_format;
  std::map<std::string, std::string> tags;
  bool operator==(const Stage&) const = default;
};

// The longest API key value (as Amazon API Gateway allows).
inline constexpr std::size_t kMaxKeyValueSize = 128;

struct ApiKey {
  std::string id;
  std::string value;
  std::string name;
  std::string customer_id;
  std::string description;
  bool enabled = false;
  std::int64_t created_date = 0;
  std::int64_t last_updated_date = 0;
  std::map<std::string, std::string> tags;
  bool operator==(const ApiKey&) const = default;
};

struct ApiStage {
  std::string api_id;
  std::string stage;
  // Per-client per-method throttles keyed "{resourcePath}/{METHOD}", e.g. "/pets/GET".
  std::map<std::string, Throttle> throttle;
  bool operator==(const ApiStage&) const = default;
};

struct UsagePlan {
  std::string id;
  std::string name;
  std::string description;
  std::vector<ApiStage> api_stages;
  std::optional<Throttle> throttle;
  std::optional<Quota> quota;
  std::string product_code;
  std::map<std::string, std::string> tags;
  bool operator==(const UsagePlan&) const = default;
};

struct UsagePlanKey {
  std::string plan_id;
  std::string key_id;
  std::int64_t created_date = 0;  // when the key joined the plan: starts its initial quota period
  bool operator==(const UsagePlanKey&) const = default;
};

struct AccountSettings {
  Throttle throttle{10000.0, 5000};
  std::string cloudwatch_role_arn;  // kept and returned; tollgate writes no CloudWatch logs
  bool operator==(const AccountSettings&) const = default;
};

// Everything the data plane serves from, as read from the store.
struct ControlState {
  std::vector<RestApi> apis;
  std::vector<Deployment> deployments;
  std::vector<Stage> stages;
  std::vector<ApiKey> api_keys;
  std::vector<UsagePlan> usage_plans;
  std::vector<UsagePlanKey> usage_plan_keys;
  AccountSettings account;
  // The store keeps API key values as HMAC digests (core/key_hasher.h), not
  // as given; once on, for good.
  bool keys_hashed = false;
};

const char* to_string(QuotaPeriod p);
std::optional<QuotaPeriod> quota_period_from(std::string_view s);
const char* to_string(IntegrationType t);
std::optional<IntegrationType> integration_type_from(std::string_view s);
const char* to_string(ApiKeySource s);
const char* to_string(AuthorizerType t);
std::optional<AuthorizerType> authorizer_type_from(std::string_view s);
std::optional<ApiKeySource> api_key_source_from(std::string_view s);

// "~1pets~1{id}/GET": the stage methodSettings key of a resource path and method.
std::string method_setting_key(std::string_view resource_path, std::string_view http_method);
// The key's resource path and method as plan_method_key writes them:
// "~1pets~1{id}/GET" and "pets/{id}/GET" (as Terraform writes a method_path)
// are both "/pets/{id}/GET". "*/*" stays as it is.
std::string method_setting_path(std::string_view key);
// "/pets/{id}/GET": the usage plan apiStages throttle key.
std::string plan_method_key(std::string_view resource_path, std::string_view http_method);

bool is_http_method(std::string_view m);    // GET ... OPTIONS, ANY
bool is_endpoint_type(std::string_view t);  // EDGE, REGIONAL, PRIVATE

}  // namespace tollgate
