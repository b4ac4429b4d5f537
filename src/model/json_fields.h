#pragma once

// Typed reads of JSON members for the control plane. Absent or null members
// give the fallback; a member of the wrong type throws std::invalid_argument
// naming it ("where.key must be a string").

#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate {

// A value outside its enum or constraint. Still an std::invalid_argument for
// callers that only care that the input was bad; the management API answers
// it as AWS's request validation does (ValidationException).
class ConstraintViolation : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

[[noreturn]] void fail_field(std::string_view where, std::string_view what);
// Throws ConstraintViolation: "where: Value 'value' failed to satisfy
// constraint: Member must satisfy enum value set: [allowed]".
[[noreturn]] void fail_enum(std::string_view where, std::string_view value,
                            std::string_view allowed);
const boost::json::object& as_object(const boost::json::value& v, std::string_view where);
std::string get_string(const boost::json::object& o, std::string_view key, std::string_view where);
bool get_bool(const boost::json::object& o, std::string_view key, bool fallback,
              std::string_view where);
double get_double(const boost::json::object& o, std::string_view key, double fallback,
                  std::string_view where);
std::int64_t get_int(const boost::json::object& o, std::string_view key, std::int64_t fallback,
                     std::string_view where);
std::map<std::string, std::string> get_string_map(const boost::json::object& o,
                                                  std::string_view key, std::string_view where);
std::map<std::string, bool> get_bool_map(const boost::json::object& o, std::string_view key,
                                         std::string_view where);
std::vector<std::string> get_string_list(const boost::json::object& o, std::string_view key,
                                         std::string_view where);

}  // namespace tollgate
