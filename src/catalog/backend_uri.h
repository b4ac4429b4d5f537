#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "catalog/catalog.h"

namespace tollgate {

// Splits "http://host[:port][/path][?query]" into a Backend. Braces are kept
// in the target so {param} placeholders survive. nullopt if not http://.
std::optional<Backend> parse_backend_uri(std::string_view uri);

// `uri` with each ${stageVariables.NAME} replaced by the stage's variable
// (empty when the stage has none of that name), as AWS does per stage.
std::string with_stage_variables(std::string_view uri,
                                 const std::map<std::string, std::string>& variables);

// Parses the status a MOCK integration answers with and its response.
MockResponse mock_response_of(const Integration& integration);

// AWS's answer from a method it cannot run: no integration, or one (a
// Lambda) that tollgate has no way to call.
MockResponse internal_server_error();
// 500 {"message":null} with x-amzn-ErrorType AuthorizerConfigurationException:
// what AWS answers when a method's authorizer cannot be used.
MockResponse authorizer_configuration_error();

}  // namespace tollgate
