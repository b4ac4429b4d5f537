#include "http/data_plane.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <ctime>

#include "core/ids.h"

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
  // 1xx, 204 and 304 carry no body; Beast refuses to serialise one.
  const bool bodiless = m.status < 200 || m.status == 204 || m.status == 304;
  if (!bodiless) res.body() = m.body;
  res.prepare_payload();
  if (bodiless) res.erase(http::field::content_length);
  return res;
}

void add_limit_fields(HttpResponse& res, const GateDecision& d) {
  if (!d.report.policy) return;
  const RateLimitFields fields(d.report);
  res.set("RateLimit-Policy", fields.policy());
  res.set("RateLimit", fields.state());
}

// A JSON string literal of `s`, quotes included.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        // Control bytes and any byte past ASCII (which may not be valid
        // UTF-8) are escaped, so every line stays parseable JSON.
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        else
          out += c;
    }
  }
  out += '"';
  return out;
}

HttpResponse refusal(Outcome outcome) {
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

}  // namespace

DataPlane::DataPlane(asio::any_io_executor executor, const CatalogHolder& catalogs, const Clock& clock,
                     Stats& stats, MetricsRegistry& metrics, AccessLog* access_log, unsigned worker_id)
    : catalogs_(catalogs),
      clock_(clock),
      stats_(stats),
      metrics_(metrics),
      access_log_(access_log),
      upstreams_(std::move(executor)),
      // Unique across processes and workers without coordination.
      request_id_prefix_(random_id(8) + "-" + std::to_string(worker_id) + "-") {}

asio::awaitable<HttpResponse> DataPlane::handle(HttpRequest& request) {
  RequestRecord record;
  record.start = std::chrono::steady_clock::now();
  // Held for the whole request: a reload never changes a request in flight.
  const std::shared_ptr<const Catalog> catalog = catalogs_.get();
  HttpResponse response = co_await serve(request, catalog.get(), record);
  finish(request, response, record);
  co_return response;
}

asio::awaitable<HttpResponse> DataPlane::serve(HttpRequest& request, const Catalog* catalog,
                                               RequestRecord& record) {
  InvokeTarget target;
  record.outcome = Outcome::kMissingToken;
  if (!catalog || !parse_invoke_target(request[http::field::host], request.target(), target))
    co_return refusal(record.outcome);
  record.api = target.api_id;
  record.stage = target.stage;
  record.outcome = Outcome::kForbidden;
  const StageEntry* stage = catalog->stage(target.api_id, target.stage);
  if (!stage) co_return refusal(record.outcome);
  PathParams params;
  const std::uint32_t index = stage->routes.match(target.path, request.method_string(), params);
  record.outcome = Outcome::kMissingToken;
  if (index == RouteTree::kNoMatch) co_return refusal(record.outcome);
  const RouteMethod& method = stage->methods[index];
  record.method = &method;

  std::optional<std::string_view> key;
  if (auto it = request.find("x-api-key"); it != request.end()) key = it->value();
  record.decision = admit(*catalog, *stage, index, key, clock_.now());
  const GateDecision& decision = record.decision;

  HttpResponse response;
  switch (decision.verdict) {
    case Verdict::kForbidden:
      record.outcome = Outcome::kForbidden;
      co_return refusal(record.outcome);
    case Verdict::kThrottled:
    case Verdict::kQuotaExceeded:
      record.outcome = decision.verdict == Verdict::kThrottled ? Outcome::kThrottled : Outcome::kQuotaExceeded;
      response = refusal(record.outcome);
      response.set(http::field::retry_after, std::to_string(decision.retry_after_s));
      add_limit_fields(response, decision);
      co_return response;
    case Verdict::kAllow:
      break;
  }

  if (method.type == IntegrationType::kMock) {
    record.outcome = Outcome::kAllowed;
    response = mock(method.mock);
  } else {
    response = co_await proxy(method, params, target.query, request, record);
  }
  add_limit_fields(response, decision);
  co_return response;
}

void DataPlane::finish(const HttpRequest& request, HttpResponse& response, RequestRecord& record) {
  char id[48];
  const std::size_t prefix = std::min(request_id_prefix_.size(), sizeof id - 24);
  std::memcpy(id, request_id_prefix_.data(), prefix);
  const auto end = std::to_chars(id + prefix, id + sizeof id, ++request_sequence_).ptr;
  const std::string_view request_id(id, static_cast<std::size_t>(end - id));
  response.set("x-amzn-RequestId", request_id);

  stats_.count(record.outcome);
  (record.method && record.method->counters ? *record.method->counters : metrics_.unrouted()).count(record.outcome);
  const std::int64_t total_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - record.start).count();
  metrics_.overhead().observe_ns(total_ns - record.upstream_ns);
  if (record.upstream_ns > 0) metrics_.upstream().observe_ns(record.upstream_ns);
  if (access_log_.enabled()) log_access(request, response, record, request_id, total_ns);
}

void DataPlane::log_access(const HttpRequest& request, const HttpResponse& response, const RequestRecord& record,
                           std::string_view request_id, std::int64_t total_ns) {
  const std::int64_t now_ms = clock_.now() / 1'000'000;
  const std::time_t seconds = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::string& out = access_log_.line();
  const GateDecision& d = record.decision;
  fmt::format_to(std::back_inserter(out),
                 "{{\"requestId\":\"{}\",\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"api\":{},"
                 "\"stage\":{},\"resource\":{},\"method\":{},\"path\":{},\"status\":{},\"keyId\":{},"
                 "\"plan\":{},\"outcome\":\"{}\",\"limit\":{},\"bytesIn\":{},\"bytesOut\":{},"
                 "\"latencyMs\":{:.3f},\"upstreamMs\":{:.3f}}}\n",
                 request_id, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 now_ms % 1000, json_string(record.api), json_string(record.stage),
                 json_string(record.method ? std::string_view(record.method->resource_path) : ""),
                 json_string(request.method_string()), json_string(request.target()), response.result_int(),
                 json_string(d.key ? std::string_view(d.key->id) : ""),
                 json_string(d.binding ? std::string_view(d.binding->plan_id) : ""), outcome_name(record.outcome),
                 json_string(d.report.policy ? d.report.policy : ""), std::max(record.bytes_in, request.body().size()),
                 response.body().size(),
                 static_cast<double>(total_ns) / 1e6, static_cast<double>(record.upstream_ns) / 1e6);
  access_log_.line_done();
}

asio::awaitable<HttpResponse> DataPlane::proxy(const RouteMethod& method, const PathParams& params,
                                               std::string_view query, HttpRequest& request,
                                               RequestRecord& record) {
  const Backend& backend = method.backend;
  HttpRequest upstream;
  if (method.backend_method.empty())
    upstream.method_string(request.method_string());
  else
    upstream.method_string(method.backend_method);
  upstream.target(backend_target(backend, params, query));
  upstream.version(11);
  for (const auto& field : request) {
    // Expect was settled with the client: tollgate already holds the whole body.
    if (is_hop_by_hop(field.name()) || field.name() == http::field::host || field.name() == http::field::expect)
      continue;
    upstream.insert(field.name_string(), field.value());
  }
  upstream.set(http::field::host, backend.host_header);
  upstream.keep_alive(true);
  record.bytes_in = request.body().size();
  upstream.body() = std::move(request.body());
  upstream.prepare_payload();

  const auto sent = std::chrono::steady_clock::now();
  UpstreamResult result =
      co_await upstreams_.exchange(backend, upstream, std::chrono::milliseconds(method.timeout_ms));
  record.upstream_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - sent).count();
  record.outcome = result.error == UpstreamError::kNone ? Outcome::kAllowed : Outcome::kUpstreamError;
  switch (result.error) {
    case UpstreamError::kNone:
      break;
    case UpstreamError::kTimeout:
      co_return error_response(http::status::gateway_timeout, "GatewayTimeoutException",
                               "Endpoint request timed out");
    case UpstreamError::kUnreachable:
    case UpstreamError::kBadResponse:
      co_return error_response(http::status::bad_gateway, "BadGatewayException",
                               "Bad Gateway: the integration endpoint could not be reached");
  }
  HttpResponse& response = result.response;
  response.version(11);  // we speak HTTP/1.1 to the client whatever the backend spoke
  for (auto it = response.begin(); it != response.end();) {
    it = is_hop_by_hop(it->name()) ? response.erase(it) : std::next(it);
  }
  if (request.method() != http::verb::head) response.prepare_payload();
  co_return std::move(response);
}

}  // namespace tollgate
