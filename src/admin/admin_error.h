#pragma once

#include <stdexcept>
#include <string>

#include "http/beast.h"

namespace tollgate {

// A management API refusal: the HTTP status, the x-amzn-ErrorType the AWS
// clients read as the error code, and the message. Thrown by handlers, turned
// into a response by the dispatcher. Control plane only.
class AdminError : public std::runtime_error {
 public:
  AdminError(http::status status, std::string type, const std::string& message)
      : std::runtime_error(message), status_(status), type_(std::move(type)) {}
  http::status status() const { return status_; }
  const std::string& type() const { return type_; }

 private:
  http::status status_;
  std::string type_;
};

[[noreturn]] inline void bad_request(const std::string& message) {
  throw AdminError(http::status::bad_request, "BadRequestException", message);
}
[[noreturn]] inline void not_found(const std::string& message) {
  throw AdminError(http::status::not_found, "NotFoundException", message);
}
[[noreturn]] inline void conflict(const std::string& message) {
  throw AdminError(http::status::conflict, "ConflictException", message);
}
// An enum or constraint violation, worded as AWS's request validation does.
[[noreturn]] inline void validation_error(const std::string& message) {
  throw AdminError(http::status::bad_request, "ValidationException", message);
}

}  // namespace tollgate
