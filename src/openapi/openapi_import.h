#pragma once

// An OpenAPI 3.0 / Swagger 2.0 definition with x-amazon-apigateway-*
// extensions → the model's resources and methods, and a warning for each
// thing in the file tollgate does not serve. Pure: the callers (the
// management API's ImportRestApi and PutRestApi, `tollgate apply`) decide
// what to do with the result.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/resource_tree.h"
#include "model/types.h"

namespace tollgate {

struct ImportOptions {
  // What becomes of the definition's base path (Swagger's basePath, the path
  // of OpenAPI's first server): dropped; put before every path; or put before
  // every path less its first segment (that one being the stage).
  enum class BasePath { kIgnore, kPrepend, kSplit };
  BasePath base_path = BasePath::kIgnore;
  bool ignore_documentation = false;
};

struct ImportedApi {
  std::string title;  // info.title: the API's name
  std::string description;
  std::optional<ApiKeySource> api_key_source;
  // The API-wide x-amazon-apigateway-* settings, where the definition has them.
  std::optional<std::vector<std::string>> binary_media_types;
  std::optional<std::int64_t> minimum_compression_size;
  std::optional<std::string> policy;  // JSON text
  std::optional<bool> disable_execute_api_endpoint;
  std::optional<std::vector<std::string>> vpc_endpoint_ids;
  PathMethods paths;
  // "paths./pets.get.x-amazon-apigateway-request-validator: ..." : what was
  // left out, and where.
  std::vector<std::string> warnings;
};

// Throws OpenApiError (openapi_document.h) when the text cannot be imported.
ImportedApi import_openapi(std::string_view text, const ImportOptions& options = {});

}  // namespace tollgate
