#include "catalog/backend_uri.h"

#include <charconv>

namespace tollgate {

std::optional<Backend> parse_backend_uri(std::string_view uri) {
  constexpr std::string_view kScheme = "http://";
  if (uri.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  std::string_view rest = uri.substr(kScheme.size());
  const std::size_t path_start = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, path_start);
  if (authority.empty()) return std::nullopt;
  Backend b;
  b.host_header = std::string(authority);
  if (authority.front() == '[') {  // [v6]:port
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    b.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    b.port = after.size() > 1 && after.front() == ':' ? std::string(after.substr(1)) : "80";
  } else {
    const std::size_t colon = authority.rfind(':');
    b.host = std::string(authority.substr(0, colon));
    b.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
  }
  int port = 0;
  auto [ptr, ec] = std::from_chars(b.port.data(), b.port.data() + b.port.size(), port);
  if (b.host.empty() || ec != std::errc{} || ptr != b.port.data() + b.port.size() || port <= 0 ||
      port > 65535)
    return std::nullopt;
  b.pool_key = b.host + ':' + b.port;
  const std::string_view target =
      path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (target.empty() || target.front() == '?') b.target = "/";
  b.target.append(target);
  return b;
}

std::string with_stage_variables(std::string_view uri,
                                 const std::map<std::string, std::string>& variables) {
  constexpr std::string_view kOpen = "${stageVariables.";
  std::string out;
  while (!uri.empty()) {
    const std::size_t open = uri.find(kOpen);
    const std::size_t close = open == std::string_view::npos ? open : uri.find('}', open);
    if (close == std::string_view::npos) {
      out += uri;
      break;
    }
    out += uri.substr(0, open);
    const std::string name(uri.substr(open + kOpen.size(), close - open - kOpen.size()));
    if (auto it = variables.find(name); it != variables.end()) out += it->second;
    uri.remove_prefix(close + 1);
  }
  return out;
}

MockResponse internal_server_error() {
  MockResponse m;
  m.status = 500;
  m.body = R"({"message": "Internal server error"})";
  return m;
}

MockResponse authorizer_configuration_error() {
  MockResponse m;
  m.status = 500;
  m.body = R"({"message":null})";
  m.headers.emplace_back("x-amzn-ErrorType", "AuthorizerConfigurationException");
  return m;
}

MockResponse mock_response_of(const Integration& integration) {
  MockResponse m;
  // The request template names the status: {"statusCode": 200}.
  for (const auto& [type, tmpl] : integration.request_templates) {
    const std::size_t key = tmpl.find("statusCode");
    if (key == std::string::npos) continue;
    const std::size_t digits = tmpl.find_first_of("0123456789", key);
    if (digits == std::string::npos) continue;
    int status = 0;
    std::from_chars(tmpl.data() + digits, tmpl.data() + tmpl.size(), status);
    if (status >= 100 && status <= 599) m.status = status;
    break;
  }
  auto it = integration.integration_responses.find(std::to_string(m.status));
  if (it == integration.integration_responses.end()) it = integration.integration_responses.begin();
  if (it == integration.integration_responses.end()) return m;
  const IntegrationResponse& r = it->second;
  if (!r.response_templates.empty()) {
    m.content_type = r.response_templates.begin()->first;
    m.body = r.response_templates.begin()->second;
  }
  constexpr std::string_view kHeaderPrefix = "method.response.header.";
  for (const auto& [name, value] : r.response_parameters) {
    if (name.rfind(kHeaderPrefix, 0) != 0) continue;
    std::string v = value;
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') v = v.substr(1, v.size() - 2);
    m.headers.emplace_back(name.substr(kHeaderPrefix.size()), std::move(v));
  }
  return m;
}

}  // namespace tollgate
