#pragma once

#include <string_view>

#include "http/beast.h"

namespace tollgate {

// A refusal as API Gateway sends it: JSON {"message": ...} and the
// x-amzn-ErrorType header the AWS clients read the error code from.
HttpResponse error_response(http::status status, std::string_view error_type,
                            std::string_view message);

HttpResponse json_response(http::status status, std::string body);

}  // namespace tollgate
