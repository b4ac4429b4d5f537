#include "http/responses.h"

#include <boost/json.hpp>

namespace tollgate {

HttpResponse json_response(http::status status, std::string body) {
  HttpResponse res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

HttpResponse error_response(http::status status, std::string_view error_type,
                            std::string_view message) {
  HttpResponse res =
      json_response(status, boost::json::serialize(boost::json::object{{"message", message}}));
  res.set("x-amzn-ErrorType", error_type);
  return res;
}

}  // namespace tollgate
