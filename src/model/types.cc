#include "model/types.h"

#include <array>

#include "core/json_pointer.h"

namespace tollgate {

const char* to_string(QuotaPeriod p) {
  switch (p) {
    case QuotaPeriod::kDay:
      return "DAY";
    case QuotaPeriod::kWeek:
      return "WEEK";
    case QuotaPeriod::kMonth:
      return "MONTH";
  }
  return "MONTH";
}

std::optional<QuotaPeriod> quota_period_from(std::string_view s) {
  if (s == "DAY") return QuotaPeriod::kDay;
  if (s == "WEEK") return QuotaPeriod::kWeek;
  if (s == "MONTH") return QuotaPeriod::kMonth;
  return std::nullopt;
}

const char* to_string(IntegrationType t) {
  switch (t) {
    case IntegrationType::kHttpProxy:
      return "HTTP_PROXY";
    case IntegrationType::kHttp:
      return "HTTP";
    case IntegrationType::kMock:
      return "MOCK";
    case IntegrationType::kAws:
      return "AWS";
    case IntegrationType::kAwsProxy:
      return "AWS_PROXY";
  }
  return "MOCK";
}

std::optional<IntegrationType> integration_type_from(std::string_view s) {
  if (s == "HTTP_PROXY") return IntegrationType::kHttpProxy;
  if (s == "HTTP") return IntegrationType::kHttp;
  if (s == "MOCK") return IntegrationType::kMock;
  if (s == "AWS") return IntegrationType::kAws;
  if (s == "AWS_PROXY") return IntegrationType::kAwsProxy;
  return std::nullopt;
}

const char* to_string(ApiKeySource s) {
  return s == ApiKeySource::kAuthorizer ? "AUTHORIZER" : "HEADER";
}

std::optional<ApiKeySource> api_key_source_from(std::string_view s) {
  if (s == "HEADER") return ApiKeySource::kHeader;
  if (s == "AUTHORIZER") return ApiKeySource::kAuthorizer;
  return std::nullopt;
}

const char* to_string(AuthorizerType t) {
  return t == AuthorizerType::kRequest ? "REQUEST" : "TOKEN";
}

std::optional<AuthorizerType> authorizer_type_from(std::string_view s) {
  if (s == "TOKEN") return AuthorizerType::kToken;
  if (s == "REQUEST") return AuthorizerType::kRequest;
  return std::nullopt;
}

std::string method_setting_key(std::string_view resource_path, std::string_view http_method) {
  std::string key;
  for (char c : resource_path) {
    if (c == '/')
      key += "~1";
    else
      key += c;
  }
  key += '/';
  key += http_method;
  return key;
}

std::string method_setting_path(std::string_view key) {
  std::string path = unescape_json_pointer(key);
  if (key != "*/*" && !path.starts_with('/')) path.insert(path.begin(), '/');
  return path;
}

std::string plan_method_key(std::string_view resource_path, std::string_view http_method) {
  std::string key(resource_path);
  key += '/';
  key += http_method;
  return key;
}

bool is_http_method(std::string_view m) {
  static constexpr std::array<std::string_view, 8> kMethods = {"GET",    "POST", "PUT",     "PATCH",
                                                               "DELETE", "HEAD", "OPTIONS", "ANY"};
  for (auto k : kMethods)
    if (k == m) return true;
  return false;
}

bool is_endpoint_type(std::string_view t) {
  return t == "EDGE" || t == "REGIONAL" || t == "PRIVATE";
}

}  // namespace tollgate
