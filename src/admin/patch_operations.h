#pragma once

#include <string>
#include <vector>

#include "admin/admin_request.h"

namespace tollgate {

struct PatchOperation {
  std::string op;  // add, remove, replace, move, copy, test
  std::string path;
  std::string value;
  bool has_value = false;
};

// The body's patchOperations. Enum and shape violations are 400s.
std::vector<PatchOperation> patch_operations(const AdminRequest& request,
                                             const std::string& input_name);

// 400 "Invalid patch path  '{path}' specified for op '{op}'. Must be one of: [...]"
[[noreturn]] void invalid_patch_path(const PatchOperation& op, const std::string& allowed);

// Parses patch values, 400 naming the path when malformed.
std::int64_t patch_int(const PatchOperation& op);
double patch_double(const PatchOperation& op);
bool patch_bool(const PatchOperation& op);  // anything but "true" is false, as AWS does

}  // namespace tollgate
