#pragma once

#include <string_view>

namespace tollgate {

// Which API and stage a data-plane request addresses, and the resource path
// inside the stage. Views into the request.
struct InvokeTarget {
  std::string_view api_id;
  std::string_view stage;
  std::string_view path;   // "/pets/1"; "/" for the stage root
  std::string_view query;  // without '?'
};

// Host style: Host "{apiId}.execute-api.<anything>", target "/{stage}/{path}".
// Path style: target "/restapis/{apiId}/{stage}/_user_request_/{path}".
// False when the request names no API.
bool parse_invoke_target(std::string_view host, std::string_view target, InvokeTarget& out);

}  // namespace tollgate
