#pragma once

// A deployed API → an OpenAPI 3.0.1 or Swagger 2.0 definition, with the
// x-amazon-apigateway-* extensions asked for. What import_openapi reads back
// as the same resources and methods.

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "model/types.h"

namespace tollgate {

struct ExportOptions {
  enum class Type { kOas30, kSwagger };
  Type type = Type::kOas30;
  // x-amazon-apigateway-integration on each operation ("integrations"), and
  // with it the API's own extensions ("apigateway").
  bool integrations = false;
  bool apigateway = false;
};

// What `stage` serves: its `deployment`'s resources.
boost::json::object export_openapi(const RestApi& api, const Stage& stage,
                                   const Deployment& deployment, const ExportOptions& options);

}  // namespace tollgate
