#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
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

// The member a path names below `prefix`, JSON-pointer decoded:
// "/requestTemplates/application~1json" under "/requestTemplates/" is
// "application/json". Nothing when the path is not below the prefix.
std::optional<std::string> patch_member(const PatchOperation& op, std::string_view prefix);

// add and replace set `map[name]` to the op's value, remove erases it (and
// is no error when it is absent: clients remove before they add).
void patch_map(std::map<std::string, std::string>& map, const std::string& name,
               const PatchOperation& op);
void patch_map(std::map<std::string, bool>& map, const std::string& name, const PatchOperation& op);
// add inserts `name` once, remove erases it; for lists of names such as
// /cacheKeyParameters/{name} and /binaryMediaTypes/{type}.
void patch_name_list(std::vector<std::string>& list, const std::string& name,
                     const PatchOperation& op);

}  // namespace tollgate
