#pragma once

#include <boost/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "http/beast.h"

namespace tollgate {

// A management API request taken apart: decoded path segments and query
// parameters, and the body. Parsing errors throw AdminError (400).
class AdminRequest {
 public:
  AdminRequest(const HttpRequest& request, std::string actor);

  http::verb method() const { return method_; }
  const std::vector<std::string>& segments() const { return segments_; }
  const std::string& body() const { return body_; }
  const std::string& actor() const { return actor_; }
  // The Accept field; empty when the client sent none.
  const std::string& accept() const { return accept_; }

  std::optional<std::string> query(const std::string& name) const;
  std::vector<std::string> query_all(const std::string& name) const;
  bool query_flag(const std::string& name) const;  // "true", case-insensitive
  // The body as a JSON object; an empty body is {}. 400 when malformed.
  boost::json::object json() const;

 private:
  http::verb method_;
  std::vector<std::string> segments_;
  std::multimap<std::string, std::string> query_;
  std::string body_;
  std::string actor_;
  std::string accept_;
};

}  // namespace tollgate
