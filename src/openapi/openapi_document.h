#pragma once

// An OpenAPI 3.0 or Swagger 2.0 definition as read from a file: JSON or YAML
// parsed, every $ref checked once, so that readers follow them freely.

#include <boost/json.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tollgate {

// The largest definition taken, as Amazon API Gateway's import quota.
inline constexpr std::size_t kMaxDefinitionBytes = 6 * 1024 * 1024;

// A definition that cannot be imported at all; the management API answers
// 400 BadRequestException with the message.
class OpenApiError : public std::invalid_argument {
 public:
  explicit OpenApiError(const std::string& why)
      : std::invalid_argument("Invalid OpenAPI input: " + why) {}
};

class OpenApiDocument {
 public:
  enum class Version { kSwagger2, kOpenApi3 };

  // Throws OpenApiError: too large, neither JSON nor YAML, no `swagger: "2.0"`
  // or `openapi: 3.0.x`, a $ref outside the file, to nowhere, or into a cycle.
  explicit OpenApiDocument(std::string_view text);

  Version version() const { return version_; }
  const boost::json::object& root() const { return root_.get_object(); }

  // `v` with its $ref followed to what it names; `v` itself when it is no
  // reference.
  const boost::json::value& resolve(const boost::json::value& v) const;
  // The member `name` of `o`, resolved; null when absent.
  const boost::json::value* member(const boost::json::object& o, std::string_view name) const;

 private:
  void check_references() const;
  const boost::json::value& target_of(std::string_view ref) const;

  boost::json::value root_;
  Version version_ = Version::kOpenApi3;
};

// A JSON pointer's token as written in a $ref: "/" as "~1", "~" as "~0".
std::string pointer_token(std::string_view name);

}  // namespace tollgate
