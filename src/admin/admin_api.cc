#include "admin/admin_api.h"

#include <boost/json.hpp>

#include "http/responses.h"

namespace tollgate {

asio::awaitable<HttpResponse> AdminApi::handle(HttpRequest& request) {
  const std::string_view path = request.target().substr(0, request.target().find('?'));
  if (path == "/health") {
    if (request.method() != http::verb::get && request.method() != http::verb::head)
      co_return error_response(http::status::method_not_allowed, "BadRequestException",
                               "Use GET /health");
    const auto catalog = catalogs_.current();
    boost::json::object outcomes;
    for (int i = 0; i < static_cast<int>(Outcome::kCount); ++i)
      outcomes[outcome_name(static_cast<Outcome>(i))] = stats_.get(static_cast<Outcome>(i));
    boost::json::object body{{"status", catalog ? "ok" : "starting"},
                             {"catalogVersion", catalog ? catalog->version() : 0},
                             {"apiKeys", catalog ? catalog->key_count() : 0},
                             {"outcomes", std::move(outcomes)}};
    co_return json_response(http::status::ok, boost::json::serialize(body));
  }
  co_return error_response(http::status::not_found, "NotFoundException",
                           "No admin resource at " + std::string(path));
}

}  // namespace tollgate
