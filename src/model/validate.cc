#include "model/validate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/request_parameters.h"

#include "model/key_id_index.h"

namespace tollgate {
namespace {

[[noreturn]] void fail(std::string message) { throw std::invalid_argument(std::move(message)); }

}  // namespace

void validate_throttle(const Throttle& t, std::string_view where) {
  if (!std::isfinite(t.rate_limit) || t.rate_limit < 0)
    fail(std::string(where) + ".rateLimit must be a number >= 0");
  if (t.burst_limit < 0) fail(std::string(where) + ".burstLimit must be an integer >= 0");
}

void validate_method_throttle(const MethodSetting& m, std::string_view where) {
  validate_throttle({m.throttling_rate_limit == -1 ? 0 : m.throttling_rate_limit,
                     m.throttling_burst_limit == -1 ? 0 : m.throttling_burst_limit},
                    where);
}

void validate_quota(const Quota& q, std::string_view where) {
  if (q.limit < 0) fail(std::string(where) + ".limit must be an integer >= 0");
  if (q.offset < 0) fail(std::string(where) + ".offset must be an integer >= 0");

  if (q.offset > 0 && q.offset >= q.limit)
    fail(std::string(where) + ".offset must be less than " + std::string(where) + ".limit");
}

void validate_key_value(std::string_view value) {
  if (value.size() < 20) fail("API Key value should be at least 20 characters");
  if (value.size() > kMaxKeyValueSize) fail("API Key value exceeds maximum size of 128 characters");
  for (char c : value) {
    // Printable ASCII except space and comma, so CSV import round-trips.
    if (c <= ' ' || c > '~' || c == ',')
      fail("API Key value may contain only printable ASCII characters other than space and ','");
  }
}

void validate_customer_id(std::string_view customer_id) {
  if (customer_id.size() > kMaxCustomerIdSize)
    fail("Invalid customerId: it can be at most 1024 characters");
}

namespace {

// Characters, not bytes, as AWS counts a tag's length.
std::size_t code_points(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

void validate_tags(const std::map<std::string, std::string>& tags) {
  if (tags.size() > kMaxTags)
    fail("Too many tags: a resource has at most " + std::to_string(kMaxTags));
  for (const auto& [key, value] : tags) {
    if (key.empty() || code_points(key) > 128)
      fail("Invalid tag key '" + key + "': it must be 1 to 128 characters");
    if (key.starts_with("aws:"))
      fail("Invalid tag key '" + key + "': keys starting with 'aws:' are reserved");
    if (code_points(value) > 256)
      fail("Invalid value for tag '" + key + "': it can be at most 256 characters");
  }
}

void validate_path_part(std::string_view part) {
  if (part.empty()) fail("Resource pathPart must not be empty");
  std::string_view inner = part;
  if (part.front() == '{') {
    if (part.size() < 3 || part.back() != '}')
      fail("Invalid resource path part '" + std::string(part) + "'");
    inner = part.substr(1, part.size() - 2);
    if (inner.back() == '+') inner.remove_suffix(1);
    if (inner.empty()) fail("Invalid resource path part '" + std::string(part) + "'");
  }
  for (char c : inner) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == ':';
    if (!ok)
      fail("Invalid resource path part '" + std::string(part) +
           "': use letters, digits, '.', '_', '-', or {name} / {name+}");
  }
}

namespace {

void check_enum(std::string_view where, const std::string& value,
                std::initializer_list<std::string_view> allowed, bool empty_ok) {
  if (value.empty() && empty_ok) return;
  std::string list;
  for (std::string_view a : allowed) {
    if (value == a) return;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  fail(std::string(where) + ": Value '" + value + "' must be one of [" + list + "]");
}

// "prefix{place}.NAME" with a place from `places` and a non-empty name.
void check_parameter_name(std::string_view where, std::string_view name, std::string_view prefix,
                          std::initializer_list<std::string_view> places) {
  if (name.starts_with(prefix)) {
    const std::string_view rest = name.substr(prefix.size());
    for (std::string_view place : places)
      if (rest.size() > place.size() + 1 && rest.starts_with(place) && rest[place.size()] == '.')
        return;
  }
  std::string forms;
  for (std::string_view place : places)
    forms += (forms.empty() ? "" : ", ") + std::string(prefix) + std::string(place) + ".NAME";
  fail(std::string(where) + ": Invalid parameter name '" + std::string(name) + "': use " + forms);
}

}  // namespace

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// "prefix" followed by a name of [a-zA-Z0-9._-]+.
bool is_source(std::string_view source, std::string_view prefix) {
  if (!source.starts_with(prefix) || source.size() == prefix.size()) return false;
  source.remove_prefix(prefix.size());
  return std::all_of(source.begin(), source.end(), is_name_char);
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

void validate_authorizer(const Authorizer& a) {
  if (a.name.empty()) fail("Invalid authorizer name specified: name is required");
  if (a.authorizer_uri.starts_with("arn:"))
    fail("Invalid authorizerUri '" + a.authorizer_uri +
         "': Lambda functions are not supported; give the http:// or https:// URL of an endpoint "
         "that answers as a Lambda authorizer does");
  if (!a.authorizer_uri.starts_with("http://") && !a.authorizer_uri.starts_with("https://"))
    fail("Invalid authorizerUri '" + a.authorizer_uri + "': use an http:// or https:// URL");
  if (a.result_ttl_seconds && (*a.result_ttl_seconds < 0 || *a.result_ttl_seconds > 3600))
    fail("Invalid authorizerResultTtlInSeconds " + std::to_string(*a.result_ttl_seconds) +
         ": it must be between 0 and 3600");
  if (a.type == AuthorizerType::kToken) {
    if (!is_source(a.identity_source, "method.request.header."))
      fail("Invalid token source expression: " + a.identity_source +
           ". The source must be a method request header, matching "
           "'method.request.header.[a-zA-Z0-9._-]+'.");
    // Bounded, since compiling a regular expression recurses on its nesting.
    constexpr std::size_t kMaxExpression = 1024;
    if (a.identity_validation_expression.size() > kMaxExpression)
      fail("Invalid identityValidationExpression: it can be at most " +
           std::to_string(kMaxExpression) + " characters");
    try {
      std::regex check(a.identity_validation_expression, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      fail("Invalid identityValidationExpression '" + a.identity_validation_expression +
           "': it is not a regular expression");
    }
    return;
  }
  std::string_view rest = a.identity_source;
  if (trimmed(rest).empty()) {
    if (a.result_ttl_seconds.value_or(300) > 0)
      fail("Identity source must be set if authorizer caching is enabled (TTL is greater than 0)");
    return;
  }
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view source = trimmed(rest.substr(0, comma));
    rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    if (!is_source(source, "method.request.header.") &&
        !is_source(source, "method.request.querystring.") &&
        !is_source(source, "stageVariables.") && !is_source(source, "context."))
      fail("Invalid identity source '" + std::string(source) +
           "': use method.request.header.NAME, method.request.querystring.NAME, "
           "stageVariables.NAME or context.NAME, separated by commas");
  }
}

void validate_method_request(const Method& m, std::string_view where) {
  for (const auto& [name, required] : m.request_parameters)
    check_parameter_name(
        std::string(where) + ".requestParameters", name, "method.request.",
        {"path", "querystring", "header", "multivaluequerystring", "multivalueheader"});
}

void validate_method_response(const MethodResponse& r, std::string_view where) {
  for (const auto& [name, required] : r.response_parameters)
    check_parameter_name(std::string(where) + ".responseParameters", name, "method.response.",
                         {"header"});
}

void validate_integration(const Integration& i, std::string_view where) {
  check_enum(std::string(where) + ".contentHandling", i.content_handling,
             {"CONVERT_TO_BINARY", "CONVERT_TO_TEXT"}, true);
  check_enum(std::string(where) + ".passthroughBehavior", i.passthrough_behavior,
             {"WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"}, false);
  for (const auto& [code, r] : i.integration_responses)
    check_enum(std::string(where) + ".integrationResponses." + code + ".contentHandling",
               r.content_handling, {"CONVERT_TO_BINARY", "CONVERT_TO_TEXT"}, true);
  for (const auto& [key, value] : i.request_parameters) {
    const ParsedRequestParameter parsed = parse_request_parameter(key, value);
    if (!parsed.parameter) fail(std::string(where) + ".requestParameters: " + parsed.error);
  }
  if (i.type != IntegrationType::kHttp && i.type != IntegrationType::kHttpProxy) return;
  // A stage variable may give the whole address; each stage's is checked
  // when the stage is served.
  if (i.uri.rfind("http://", 0) != 0 && i.uri.rfind("https://", 0) != 0 &&
      i.uri.rfind("${stageVariables.", 0) != 0)
    fail(std::string(where) + ".uri: Invalid HTTP endpoint specified for URI");
  if (i.uri.rfind("https://", 0) == 0)
    fail(std::string(where) + ".uri: https backends are not supported yet");
  if (!i.http_method.empty() && !is_http_method(i.http_method))
    fail(std::string(where) + ".httpMethod '" + i.http_method + "' is not an HTTP method");
  if (i.timeout_ms < 50 || i.timeout_ms > 29000)
    fail(std::string(where) + ".timeoutInMillis must be between 50 and 29000");
}

void validate_stage_variables(const std::map<std::string, std::string>& variables) {
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  for (const auto& [name, value] : variables) {
    if (name.empty() || name.size() > 64 ||
        !std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '_'; }))
      fail("Invalid stage variable name '" + name + "': use 1-64 letters, digits and underscores");
    if (value.empty() || value.size() > 512 ||
        !std::all_of(value.begin(), value.end(), [&](char c) {
          return alnum(c) || std::string_view("-._~:/?#&=,").find(c) != std::string_view::npos;
        }))
      fail("Invalid stage variable value for '" + name +
           "': use 1-512 letters, digits and -._~:/?#&=,");
  }
}

void validate_control_state(const ControlState& state) {
  validate_throttle(state.account.throttle, "account.throttleSettings");
  std::set<std::pair<std::string, std::string>> stages;
  for (const auto& s : state.stages) stages.emplace(s.api_id, s.stage_name);

  std::map<std::string, const UsagePlan*> plans;
  for (const auto& p : state.usage_plans) {
    plans[p.id] = &p;
    const std::string where = "usage plan '" + p.name + "'";
    if (p.throttle) validate_throttle(*p.throttle, where + " throttle");
    if (p.quota) validate_quota(*p.quota, where + " quota");
    for (const auto& s : p.api_stages) {
      if (!stages.count({s.api_id, s.stage}))
        fail("Invalid API Stage {api: " + s.api_id + ", stage: " + s.stage +
             "} specified for usageplan " + p.id);
      for (const auto& [key, t] : s.throttle) validate_throttle(t, where + " throttle " + key);
    }
  }

  std::vector<std::uint32_t> key_of;  // per usage plan key, its key's position
  key_of.reserve(state.usage_plan_keys.size());
  if (const std::optional<std::vector<MemberKey>> in_order = member_keys_in_key_order(state)) {
    for (const MemberKey& m : *in_order) key_of.push_back(m.position);
  } else {
    const KeyIdIndex keys(state.api_keys);
    for (const auto& pk : state.usage_plan_keys) {
      const auto key = keys.find(pk.key_id);
      if (!key) fail("Invalid API Key identifier specified: " + pk.key_id);
      key_of.push_back(*key);
    }
  }
  std::vector<std::uint8_t> plans_of_key(state.api_keys.size());
  for (std::size_t i = 0; i < state.usage_plan_keys.size(); ++i) {
    const UsagePlanKey& pk = state.usage_plan_keys[i];
    if (!plans.count(pk.plan_id)) fail("Invalid Usage Plan ID specified: " + pk.plan_id);
    if (plans_of_key[key_of[i]] < 2) ++plans_of_key[key_of[i]];
  }

  // (key, api, stage) → plan id: a key may be in one plan per stage, which
  // only a key in two plans or more can break.
  std::unordered_map<std::string, std::string_view> owner;
  for (std::size_t i = 0; i < state.usage_plan_keys.size(); ++i) {
    if (plans_of_key[key_of[i]] < 2) continue;
    const UsagePlanKey& pk = state.usage_plan_keys[i];
    const ApiKey& key = state.api_keys[key_of[i]];
    const UsagePlan& plan = *plans.at(pk.plan_id);
    for (const auto& s : plan.api_stages) {
      auto [it, inserted] = owner.emplace(pk.key_id + '\n' + s.api_id + '\n' + s.stage, pk.plan_id);
      if (!inserted && it->second != pk.plan_id) {
        const std::string key_name = key.name.empty() ? pk.key_id : key.name;
        fail("API key '" + key_name + "' cannot be in usage plans '" +
             plans[std::string(it->second)]->name + "' and '" + plan.name + "': both cover stage " +
             s.api_id + ":" + s.stage + ", and a key may be in only one usage plan per stage");
      }
    }
  }
}

}  // namespace tollgate
