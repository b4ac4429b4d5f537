#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

namespace tollgate {

// Converts a YAML document to JSON: plain scalars that read as booleans or
// numbers become such, quoted scalars stay strings. Throws
// std::invalid_argument with the line of anything JSON cannot hold.
boost::json::value yaml_to_json(const YAML::Node& node);

// Reads a document written in YAML or in JSON (which is YAML too: a text
// starting with '{' is tried with the JSON parser first, ten times as fast
// on a generated file). Throws std::invalid_argument naming what is wrong
// and where.
boost::json::value parse_json_or_yaml(std::string_view text);

// Writes JSON as block-style YAML that parse_json_or_yaml (and any YAML 1.1
// or 1.2 reader) reads back as the same value: strings that would read as
// something else are quoted.
std::string json_to_yaml(const boost::json::value& value);

}  // namespace tollgate
