#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

namespace tollgate {

// Converts a YAML document to JSON: plain scalars that read as booleans or
// numbers become such, quoted scalars stay strings. Throws
// std::invalid_argument with the line of anything JSON cannot hold.
boost::json::value yaml_to_json(const YAML::Node& node);

}  // namespace tollgate
