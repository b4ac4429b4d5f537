#include "admin/patch_operations.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "admin/admin_error.h"

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

}  // namespace tollgate
