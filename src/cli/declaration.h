#pragma once

// What a `tollgate apply -f FILE` document declares, before it is merged with
// the store. Field names follow the AWS model (spec §4–§9); the file format is
// documented in README.md.

#include <boost/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/resource_tree.h"
#include "model/types.h"

namespace tollgate {

struct DeclaredStage {
  std::string stage_name;
  std::string description;
  std::map<std::string, MethodSetting> method_settings;
  // Stage variables, when the declaration has them; otherwise the stage keeps
  // those set through the management API.
  std::optional<std::map<std::string, std::string>> variables;
};

struct DeclaredApi {
  std::string id;  // empty: match by name, or generate
  std::string name;
  std::string description;
  ApiKeySource api_key_source = ApiKeySource::kHeader;
  // An OpenAPI definition (a path relative to the declaration) that gives
  // the resources, read by load_declaration; else `resources` as written.
  std::string openapi;
  PathMethods resources;
  std::vector<DeclaredStage> stages;
};

struct DeclaredPlanStage {
  std::string api;  // API id or name
  std::string stage;
  std::map<std::string, Throttle> throttle;
};

struct DeclaredPlan {
  std::string id;  // empty: match by name, or generate
  std::string name;
  std::string description;
  std::optional<Throttle> throttle;
  std::optional<Quota> quota;
  std::vector<DeclaredPlanStage> api_stages;
  std::vector<std::string> api_keys;  // key names
};

struct Declaration {
  std::optional<AccountSettings> account;
  std::vector<DeclaredApi> apis;
  std::vector<ApiKey> api_keys;  // id and value may be empty
  std::vector<DeclaredPlan> usage_plans;
  // What the OpenAPI definitions named hold that is not served.
  std::vector<std::string> warnings;
};

// Reads a declaration from the JSON form of the YAML file. Throws
// std::invalid_argument naming the field at fault.
Declaration parse_declaration(const boost::json::value& doc);

// Parses a YAML document and reads the OpenAPI definitions it names, from
// paths relative to `dir`. Throws std::invalid_argument naming what is wrong.
Declaration load_declaration(std::string_view yaml, const std::string& dir = ".");

// Reads and parses a YAML file.
Declaration load_declaration_file(const std::string& path);

}  // namespace tollgate
