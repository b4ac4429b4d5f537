#pragma once

// An integration's requestParameters: which value of the client's request (or
// which static text) goes into which part of the backend request. Keys are
// "integration.request.{path|querystring|header}.NAME"; values are
// "method.request.{path|querystring|header}.NAME" or 'static text'. Other
// AWS sources (context.*, stageVariables.*, multi-value forms, bodies) are
// not served.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate {

enum class ParameterPlace : std::uint8_t { kPath, kQuery, kHeader, kStatic };

struct RequestParameter {
  ParameterPlace target = ParameterPlace::kHeader;  // never kStatic
  std::string name;                                 // the backend's parameter or header
  ParameterPlace source = ParameterPlace::kStatic;
  std::string from;  // the client's parameter or header; the text when static
  bool operator==(const RequestParameter&) const = default;
};

// The mapping `key` = `value`, or a message saying why it cannot be served.
struct ParsedRequestParameter {
  std::optional<RequestParameter> parameter;
  std::string error;
};
ParsedRequestParameter parse_request_parameter(std::string_view key, std::string_view value);

}  // namespace tollgate
