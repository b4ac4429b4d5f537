#include "admin/patch_operations.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "admin/admin_error.h"
#include "core/json_pointer.h"

namespace tollgate {

std::vector<PatchOperation> patch_operations(const AdminRequest& request,
                                             const std::string& input_name) {
  const boost::json::object body = request.json();
  std::vector<PatchOperation> out;
  auto it = body.find("patchOperations");
  if (it == body.end() || it->value().is_null()) return out;
  if (!it->value().is_array()) bad_request("patchOperations must be a list");
  std::size_t n = 0;
  for (const auto& v : it->value().get_array()) {
    ++n;
    if (!v.is_object()) bad_request("patchOperations entries must be objects");
    const auto& o = v.get_object();
    PatchOperation p;
    auto text = [&](const char* key, bool& present) {
      auto f = o.find(key);
      present = f != o.end() && !f->value().is_null();
      if (!present) return std::string();
      if (!f->value().is_string())
        bad_request(std::string("patchOperations.") + key + " must be a string");
      return std::string(f->value().get_string());
    };
    bool present = false;
    p.op = text("op", present);
    p.path = text("path", present);
    p.value = text("value", p.has_value);
    static const std::vector<std::string> kOps = {"add",  "remove", "replace",
                                                  "move", "test",   "copy"};
    if (std::find(kOps.begin(), kOps.end(), p.op) == kOps.end())
      validation_error(
          "1 validation error detected: Value '" + p.op + "' at '" + input_name +
          ".patchOperations." + std::to_string(n) +
          ".member.op' failed to satisfy constraint: Member must satisfy enum value set: "
          "[add, remove, move, test, replace, copy]");
    out.push_back(std::move(p));
  }
  return out;
}

void invalid_patch_path(const PatchOperation& op, const std::string& allowed) {
  bad_request("Invalid patch path  '" + op.path + "' specified for op '" + op.op +
              "'. Must be one of: [" + allowed + "]");
}

std::int64_t patch_int(const PatchOperation& op) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(op.value.data(), op.value.data() + op.value.size(), v);
  if (!op.has_value || ec != std::errc{} || ptr != op.value.data() + op.value.size())
    bad_request("Invalid value '" + op.value + "' for " + op.path + ": must be an integer");
  return v;
}

double patch_double(const PatchOperation& op) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(op.value.data(), op.value.data() + op.value.size(), v);
  if (!op.has_value || ec != std::errc{} || ptr != op.value.data() + op.value.size() ||
      !std::isfinite(v))
    bad_request("Invalid value '" + op.value + "' for " + op.path + ": must be a number");
  return v;
}

bool patch_bool(const PatchOperation& op) {
  std::string v = op.value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v == "true";
}

std::optional<std::string> patch_member(const PatchOperation& op, std::string_view prefix) {
  if (!op.path.starts_with(prefix) || op.path.size() == prefix.size()) return std::nullopt;
  return unescape_json_pointer(std::string_view(op.path).substr(prefix.size()));
}

namespace {

[[noreturn]] void invalid_op_for(const PatchOperation& op, std::string_view allowed) {
  bad_request("Invalid patch operation '" + op.op + "' for " + op.path + "; use " +
              std::string(allowed));
}

template <typename Value, typename ValueOf>
void patch_map_entry(std::map<std::string, Value>& map, const std::string& name,
                     const PatchOperation& op, ValueOf value_of) {
  if (op.op == "add" || op.op == "replace")
    map[name] = value_of(op);
  else if (op.op == "remove")
    map.erase(name);
  else
    invalid_op_for(op, "add, replace or remove");
}

}  // namespace

void patch_map(std::map<std::string, std::string>& map, const std::string& name,
               const PatchOperation& op) {
  patch_map_entry(map, name, op, [](const PatchOperation& o) { return o.value; });
}

void patch_map(std::map<std::string, bool>& map, const std::string& name,
               const PatchOperation& op) {
  patch_map_entry(map, name, op, patch_bool);
}

void patch_name_list(std::vector<std::string>& list, const std::string& name,
                     const PatchOperation& op) {
  const auto at = std::find(list.begin(), list.end(), name);
  if (op.op == "add" || op.op == "replace") {
    if (at == list.end()) list.push_back(name);
  } else if (op.op == "remove") {
    if (at != list.end()) list.erase(at);
  } else {
    invalid_op_for(op, "add or remove");
  }
}

}  // namespace tollgate
