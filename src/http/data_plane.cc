#include "http/data_plane.h"

#include "gate/gate.h"
#include "http/invoke_target.h"
#include "http/ratelimit_fields.h"
#include "http/responses.h"

namespace tollgate {
namespace {

// Headers that describe one hop, not the message (RFC 9110 §7.6.1).
bool is_hop_by_hop(http::field f) {
  switch (f) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::proxy_authenticate:
    case http::field::proxy_authorization:
    case http::field::te:
    case http::field::trailer:
    case http::field::transfer_encoding:
    case http::field::upgrade:
      return true;
    default:
      return false;
  }
}

// The backend target: {name} placeholders filled from the matched path, then
// the client's query string.
std::string backend_target(const Backend& backend, const PathParams& params, std::string_view query) {
  std::string out;
  out.reserve(backend.target.size() + query.size() + 32);
  std::string_view t = backend.target;
  while (!t.empty()) {
    const std::size_t open = t.find('{');
    const std::size_t close = open == std::string_view::npos ? open : t.find('}', open);
    if (close == std::string_view::npos) {
      out += t;
      break;
    }
    out += t.substr(0, open);
    std::string_view name = t.substr(open + 1, close - open - 1);
    if (!name.empty() && name.back() == '+') name.remove_suffix(1);
    out += params.find(name);
    t.remove_prefix(close + 1);
  }
  if (!query.empty()) {
    out += out.find('?') == std::string::npos ? '?' : '&';
    out += query;
  }
  return out;
}

HttpResponse mock(const MockResponse& m) {
  HttpResponse res{static_cast<http::status>(m.status), 11};
  res.set(http::field::content_type, m.content_type);
  for (const auto& [name, value] : m.headers) res.set(name, value);
  res.body() = m.body;
  res.prepare_payload();
  return res;
}

void add_limit_fields(HttpResponse& res, const GateDecision& d) {
  if (!d.report.policy) return;
  const RateLimitFields fields(d.report);
  res.set("RateLimit-Policy", fields.policy());
  res.set("RateLimit", fields.state());
}

}  // namespace

HttpResponse DataPlane::refuse(Outcome outcome) {
  stats_.count(outcome);
  switch (outcome) {
    case Outcome::kMissingToken:
      return error_response(http::status::forbidden, "MissingAuthenticationTokenException",
                            "Missing Authentication Token");
    case Outcome::kThrottled:
      return error_response(http::status::too_many_requests, "TooManyRequestsException",
                            "Too Many Requests");
    case Outcome::kQuotaExceeded:
      return error_response(http::status::too_many_requests, "LimitExceededException", "Limit Exceeded");
    default:
      return error_response(http::status::forbidden, "ForbiddenException", "Forbidden");
  }
}

asio::awaitable<HttpResponse> DataPlane::handle(HttpRequest& request) {
  // Held for the whole request: a reload never changes a request in flight.
  const std::shared_ptr<const Catalog> catalog = catalogs_.get();
  InvokeTarget target;
  if (!catalog || !parse_invoke_target(request[http::field::host], request.target(), target))
    co_return refuse(Outcome::kMissingToken);
  const StageEntry* stage = catalog->stage(target.api_id, target.stage);
  if (!stage) co_return refuse(Outcome::kForbidden);
  PathParams params;
  const std::uint32_t index = stage->routes.match(target.path, request.method_string(), params);
  if (index == RouteTree::kNoMatch) co_return refuse(Outcome::kMissingToken);

  std::optional<std::string_view> key;
  if (auto it = request.find("x-api-key"); it != request.end()) key = it->value();
  const GateDecision decision = admit(*catalog, *stage, index, key, clock_.now());

  HttpResponse response;
  switch (decision.verdict) {
    case Verdict::kForbidden:
      co_return refuse(Outcome::kForbidden);
    case Verdict::kThrottled:
    case Verdict::kQuotaExceeded:
      response = refuse(decision.verdict == Verdict::kThrottled ? Outcome::kThrottled
                                                                : Outcome::kQuotaExceeded);
      response.set(http::field::retry_after, std::to_string(decision.retry_after_s));
      add_limit_fields(response, decision);
      co_return response;
    case Verdict::kAllow:
      break;
  }

  const RouteMethod& method = stage->methods[index];
  if (method.type == IntegrationType::kMock) {
    stats_.count(Outcome::kAllowed);
    response = mock(method.mock);
  } else {
    response = co_await proxy(method, params, target.query, request);
  }
  add_limit_fields(response, decision);
  co_return response;
}

asio::awaitable<HttpResponse> DataPlane::proxy(const RouteMethod& method, const PathParams& params,
                                               std::string_view query, HttpRequest& request) {
  const Backend& backend = method.backend;
  HttpRequest upstream;
  if (method.backend_method.empty())
    upstream.method_string(request.method_string());
  else
    upstream.method_string(method.backend_method);
  upstream.target(backend_target(backend, params, query));
  upstream.version(11);
  for (const auto& field : request) {
    if (is_hop_by_hop(field.name()) || field.name() == http::field::host) continue;
    upstream.insert(field.name_string(), field.value());
  }
  upstream.set(http::field::host, backend.host_header);
  upstream.keep_alive(true);
  upstream.body() = std::move(request.body());
  upstream.prepare_payload();

  UpstreamResult result =
      co_await upstreams_.exchange(backend, upstream, std::chrono::milliseconds(method.timeout_ms));
  switch (result.error) {
    case UpstreamError::kNone:
      break;
    case UpstreamError::kTimeout:
      stats_.count(Outcome::kUpstreamError);
      co_return error_response(http::status::gateway_timeout, "GatewayTimeoutException",
                               "Endpoint request timed out");
    case UpstreamError::kUnreachable:
    case UpstreamError::kBadResponse:
      stats_.count(Outcome::kUpstreamError);
      co_return error_response(http::status::bad_gateway, "BadGatewayException",
                               "Bad Gateway: the integration endpoint could not be reached");
  }
  stats_.count(Outcome::kAllowed);
  HttpResponse& response = result.response;
  response.version(11);  // we speak HTTP/1.1 to the client whatever the backend spoke
  for (auto it = response.begin(); it != response.end();) {
    it = is_hop_by_hop(it->name()) ? response.erase(it) : std::next(it);
  }
  if (request.method() != http::verb::head) response.prepare_payload();
  co_return std::move(response);
}

}  // namespace tollgate
