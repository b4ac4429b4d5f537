#include "admin/admin_api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "admin/operations.h"
#include "core/ids.h"
#include "model/json_fields.h"

namespace tollgate {
namespace {

struct Route {
  http::verb verb;
  std::vector<std::string_view> pattern;  // "*" matches one segment
  AdminOperation operation;
};

using V = http::verb;

const std::vector<Route>& routes() {
  using Pattern = std::vector<std::string_view>;
  static const Pattern kMethodResponse = {"restapis", "*", "resources", "*",
                                          "methods",  "*", "responses", "*"};
  static const Pattern kIntegration = {"restapis", "*", "resources",  "*",
                                       "methods",  "*", "integration"};
  static const Pattern kIntegrationResponse = {
      "restapis", "*", "resources", "*", "methods", "*", "integration", "responses", "*"};
  static const std::vector<Route> kRoutes = {
      {V::get, {"restapis"}, get_rest_apis},
      {V::post, {"restapis"}, create_rest_api},
      {V::get, {"restapis", "*"}, get_rest_api},
      {V::patch, {"restapis", "*"}, update_rest_api},
      {V::put, {"restapis", "*"}, put_rest_api},
      {V::delete_, {"restapis", "*"}, delete_rest_api},
      {V::get, {"restapis", "*", "resources"}, get_resources},
      {V::get, {"restapis", "*", "resources", "*"}, get_resource},
      {V::post, {"restapis", "*", "resources", "*"}, create_resource},
      {V::patch, {"restapis", "*", "resources", "*"}, update_resource},
      {V::delete_, {"restapis", "*", "resources", "*"}, delete_resource},
      {V::put, {"restapis", "*", "resources", "*", "methods", "*"}, put_method},
      {V::get, {"restapis", "*", "resources", "*", "methods", "*"}, get_method},
      {V::patch, {"restapis", "*", "resources", "*", "methods", "*"}, update_method},
      {V::delete_, {"restapis", "*", "resources", "*", "methods", "*"}, delete_method},
      {V::put, kMethodResponse, put_method_response},
      {V::get, kMethodResponse, get_method_response},
      {V::patch, kMethodResponse, update_method_response},
      {V::delete_, kMethodResponse, delete_method_response},
      {V::put, kIntegration, put_integration},
      {V::get, kIntegration, get_integration},
      {V::patch, kIntegration, update_integration},
      {V::delete_, kIntegration, delete_integration},
      {V::put, kIntegrationResponse, put_integration_response},
      {V::get, kIntegrationResponse, get_integration_response},
      {V::patch, kIntegrationResponse, update_integration_response},
      {V::delete_, kIntegrationResponse, delete_integration_response},
      {V::post, {"restapis", "*", "authorizers"}, create_authorizer},
      {V::get, {"restapis", "*", "authorizers"}, get_authorizers},
      {V::get, {"restapis", "*", "authorizers", "*"}, get_authorizer},
      {V::patch, {"restapis", "*", "authorizers", "*"}, update_authorizer},
      {V::delete_, {"restapis", "*", "authorizers", "*"}, delete_authorizer},
      {V::post, {"restapis", "*", "deployments"}, create_deployment},
      {V::get, {"restapis", "*", "deployments"}, get_deployments},
      {V::get, {"restapis", "*", "deployments", "*"}, get_deployment},
      {V::patch, {"restapis", "*", "deployments", "*"}, update_deployment},
      {V::delete_, {"restapis", "*", "deployments", "*"}, delete_deployment},
      {V::post, {"restapis", "*", "stages"}, create_stage},
      {V::get, {"restapis", "*", "stages"}, get_stages},
      {V::get, {"restapis", "*", "stages", "*"}, get_stage},
      {V::patch, {"restapis", "*", "stages", "*"}, update_stage},
      {V::delete_, {"restapis", "*", "stages", "*"}, delete_stage},
      {V::get, {"restapis", "*", "stages", "*", "exports", "*"}, get_export},
      {V::get, {"apikeys"}, get_api_keys},
      {V::post, {"apikeys"}, create_api_key},
      {V::get, {"apikeys", "*"}, get_api_key},
      {V::patch, {"apikeys", "*"}, update_api_key},
      {V::delete_, {"apikeys", "*"}, delete_api_key},
      {V::get, {"usageplans"}, get_usage_plans},
      {V::post, {"usageplans"}, create_usage_plan},
      {V::get, {"usageplans", "*"}, get_usage_plan},
      {V::patch, {"usageplans", "*"}, update_usage_plan},
      {V::delete_, {"usageplans", "*"}, delete_usage_plan},
      {V::get, {"usageplans", "*", "keys"}, get_usage_plan_keys},
      {V::post, {"usageplans", "*", "keys"}, create_usage_plan_key},
      {V::get, {"usageplans", "*", "keys", "*"}, get_usage_plan_key},
      {V::delete_, {"usageplans", "*", "keys", "*"}, delete_usage_plan_key},
      {V::get, {"usageplans", "*", "usage"}, get_usage},
      {V::patch, {"usageplans", "*", "keys", "*", "usage"}, update_usage},
      {V::get, {"account"}, get_account},
      {V::patch, {"account"}, update_account},
      {V::get, {"tags", "*"}, get_tags},
      {V::put, {"tags", "*"}, tag_resource},
      {V::delete_, {"tags", "*"}, untag_resource},
  };
  return kRoutes;
}

AdminOperation find_operation(const AdminRequest& req) {
  const auto& segments = req.segments();
  for (const auto& r : routes()) {
    if (r.verb != req.method() || r.pattern.size() != segments.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < segments.size() && match; ++i)
      match = r.pattern[i] == "*" || r.pattern[i] == segments[i];
    if (!match) continue;
    // ImportApiKeys is POST /apikeys?mode=import and ImportRestApi POST
    // /restapis?mode=import: the query picks the operation.
    if (r.operation == create_api_key && req.query("mode") == "import") return import_api_keys;
    if (r.operation == create_rest_api && req.query("mode") == "import") return import_rest_api;
    return r.operation;
  }
  return nullptr;
}

// The headers every management response carries, without a body.
HttpResponse admin_response(http::status status) {
  HttpResponse res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set("x-amzn-RequestId",
          random_id(8) + "-" + random_id(4) + "-" + random_id(4) + "-" + random_id(12));
  return res;
}

HttpResponse error(http::status status, const std::string& type, const std::string& message) {
  HttpResponse res = admin_json(status, boost::json::object{{"message", message}});
  res.set("x-amzn-ErrorType", type);
  return res;
}

}  // namespace

HttpResponse admin_json(http::status status, const boost::json::value& body) {
  HttpResponse res = admin_response(status);
  res.body() = boost::json::serialize(body);
  res.prepare_payload();
  return res;
}

HttpResponse admin_empty(http::status status) {
  // Never via admin_json: prepare_payload() throws on a 204 that carries the
  // "{}" it would serialize, and the change would be reported as a 400.
  HttpResponse res = admin_response(status);
  res.prepare_payload();
  return res;
}

HttpResponse admin_document(http::status status, std::string_view content_type, std::string body) {
  HttpResponse res = admin_response(status);
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

HttpResponse AdminApi::health() const {
  const auto catalog = catalogs_.current();
  boost::json::object outcomes;
  for (int i = 0; i < static_cast<int>(Outcome::kCount); ++i)
    outcomes[outcome_name(static_cast<Outcome>(i))] = stats_.get(static_cast<Outcome>(i));
  return admin_json(http::status::ok,
                    boost::json::object{{"status", catalog ? "ok" : "starting"},
                                        {"catalogVersion", catalog ? catalog->version() : 0},
                                        {"apiKeys", catalog ? catalog->key_count() : 0},
                                        {"outcomes", std::move(outcomes)}});
}

HttpResponse AdminApi::metrics() {
  std::string out;
  gauges_.metrics.render(out);
  const auto catalog = catalogs_.current();
  auto gauge = [&](const char* name, const char* help, double value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, value);
  };
  gauge("tollgate_upstream_idle_connections",
        "Keep-alive connections to backends waiting for reuse.",
        static_cast<double>(gauges_.upstream_idle_connections()));
  gauge("tollgate_client_connections", "Client connections open on the data plane.",
        static_cast<double>(gauges_.client_connections()));
  gauge("tollgate_limit_buckets",
        "Account, stage and per-method token buckets held by the limiter.",
        static_cast<double>(context_.limits.bucket_count()));
  gauge("tollgate_limit_key_plans",
        "Per key and plan states (the key's bucket, quota and usage) held.",
        static_cast<double>(context_.limits.key_plan_count()));
  gauge("tollgate_usage_flush_lag_seconds", "Seconds since usage was last flushed to the store.",
        context_.meter.flush_lag_seconds());
  gauge("tollgate_catalog_version", "Control-state version the data plane serves.",
        catalog ? static_cast<double>(catalog->version()) : 0.0);
  gauge("tollgate_api_keys", "API keys in the served catalog.",
        catalog ? static_cast<double>(catalog->key_count()) : 0.0);
  gauges_.store_metrics(out);
  gauges_.worker_metrics(out);
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, "text/plain; version=0.0.4");
  res.body() = std::move(out);
  res.prepare_payload();
  return res;
}

asio::awaitable<HttpResponse> AdminApi::handle(HttpRequest& request,
                                               const asio::ip::address& peer) {
  co_return respond(request, peer);
}

HttpResponse AdminApi::respond(const HttpRequest& request, const asio::ip::address& peer) {
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const bool read = request.method() == http::verb::get || request.method() == http::verb::head;
  if (path == "/health" && read) return health();
  if (path == "/metrics" && read) return metrics();

  if (Console::serves(path)) return console_.respond(request, peer);

  const SignatureCheck auth = verify_sigv4(request, credentials_, context_.now_s());
  if (!auth.ok) {
    spdlog::warn("admin {} {}: refused, {}", request.method_string(), path, auth.error_type);
    return error(http::status::forbidden, auth.error_type, auth.message);
  }
  return operate(request, auth.access_key_id);
}

HttpResponse AdminApi::operate(const HttpRequest& request, const std::string& actor) {
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  HttpResponse response;
  try {
    const AdminRequest req(request, actor);
    const AdminOperation operation = find_operation(req);
    if (!operation)
      response = error(http::status::not_found, "NotFoundException",
                       "No management operation at " + std::string(request.method_string()) + " " +
                           std::string(path));
    else
      response = operation(context_, req);
  } catch (const AdminError& e) {
    response = error(e.status(), e.type(), e.what());
  } catch (const ConstraintViolation& e) {
    response = error(http::status::bad_request, "ValidationException",
                     std::string("1 validation error detected: ") + e.what());
  } catch (const std::invalid_argument& e) {
    response = error(http::status::bad_request, "BadRequestException", e.what());
  } catch (const StoreUnavailable& e) {
    spdlog::error("admin {} {}: store unavailable: {}", request.method_string(), path, e.what());
    response = error(http::status::service_unavailable, "ServiceUnavailableException",
                     std::string("The store is unavailable (") + e.what() +
                         "); the change was not applied. "
                         "Try again later.");
    response.set(http::field::retry_after, "1");
  } catch (const std::exception& e) {
    spdlog::error("admin {} {}: {}", request.method_string(), path, e.what());
    response = error(http::status::internal_server_error, "InternalServerErrorException",
                     "Internal error; the change was not applied");
  }
  spdlog::info("admin {} {} by {}: {}", request.method_string(), path, actor,
               response.result_int());
  return response;
}

}  // namespace tollgate
