#include "model/json_fields.h"

#include <cmath>
#include <stdexcept>

namespace tollgate {
namespace json = boost::json;

[[noreturn]] void fail_field(std::string_view where, std::string_view what) {
  throw std::invalid_argument(std::string(where) + ": " + std::string(what));
}

[[noreturn]] void fail_enum(std::string_view where, std::string_view value,
                            std::string_view allowed) {
  throw ConstraintViolation(
      std::string(where) + ": Value '" + std::string(value) +
      "' failed to satisfy constraint: Member must satisfy enum value set: [" +
      std::string(allowed) + "]");
}

const json::object& as_object(const json::value& v, std::string_view where) {
  if (!v.is_object()) fail_field(where, "must be an object");
  return v.get_object();
}

std::string get_string(const json::object& o, std::string_view key, std::string_view where) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return {};
  if (!it->value().is_string())
    fail_field(std::string(where) + "." + std::string(key), "must be a string");
  return std::string(it->value().get_string());
}

bool get_bool(const json::object& o, std::string_view key, bool fallback, std::string_view where) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return fallback;
  if (!it->value().is_bool())
    fail_field(std::string(where) + "." + std::string(key), "must be a boolean");
  return it->value().get_bool();
}

double get_double(const json::object& o, std::string_view key, double fallback,
                  std::string_view where) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return fallback;
  const json::value& v = it->value();
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  fail_field(std::string(where) + "." + std::string(key), "must be a number");
}

std::int64_t get_int(const json::object& o, std::string_view key, std::int64_t fallback,
                     std::string_view where) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return fallback;
  const json::value& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.get_uint64());
  // Integral doubles (1e3) are accepted; the range check comes first, since
  // converting an out-of-range double to int64 is undefined.
  if (v.is_double() && std::abs(v.get_double()) < 9.2e18 &&
      v.get_double() == std::trunc(v.get_double()))
    return static_cast<std::int64_t>(v.get_double());
  fail_field(std::string(where) + "." + std::string(key), "must be an integer");
}

std::map<std::string, std::string> get_string_map(const json::object& o, std::string_view key,
                                                  std::string_view where) {
  std::map<std::string, std::string> out;
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return out;
  const std::string here = std::string(where) + "." + std::string(key);
  for (const auto& [k, v] : as_object(it->value(), here)) {
    if (!v.is_string()) fail_field(here + "." + std::string(k), "must be a string");
    out.emplace(std::string(k), std::string(v.get_string()));
  }
  return out;
}

std::map<std::string, bool> get_bool_map(const json::object& o, std::string_view key,
                                         std::string_view where) {
  std::map<std::string, bool> out;
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return out;
  const std::string here = std::string(where) + "." + std::string(key);
  for (const auto& [k, v] : as_object(it->value(), here)) {
    if (!v.is_bool()) fail_field(here + "." + std::string(k), "must be a boolean");
    out.emplace(std::string(k), v.get_bool());
  }
  return out;
}

std::vector<std::string> get_string_list(const json::object& o, std::string_view key,
                                         std::string_view where) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return out;
  const std::string here = std::string(where) + "." + std::string(key);
  if (!it->value().is_array()) fail_field(here, "must be a list");
  for (const auto& v : it->value().get_array()) {
    if (!v.is_string()) fail_field(here, "must be a list of strings");
    out.emplace_back(v.get_string());
  }
  return out;
}

}  // namespace tollgate
