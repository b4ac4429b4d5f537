// Fuzzes the OpenAPI import: the input is a definition, JSON or YAML. A
// refusal (std::invalid_argument naming what is wrong) is fine; a crash, a
// hang or any other exception is not. What imports must also export and read
// back as the same resources and methods, in JSON and in YAML.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "core/yaml_to_json.h"
#include "model/resource_tree.h"
#include "openapi/openapi_export.h"
#include "openapi/openapi_import.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tollgate;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Deployment deployment;
  RestApi api;
  try {
    const ImportedApi imported = import_openapi(text);
    deployment.resources = build_resource_tree(imported.paths, {});
    api.name = imported.title;
  } catch (const std::invalid_argument&) {
    return 0;
  }
  ExportOptions options;
  options.apigateway = true;
  const boost::json::object doc = export_openapi(api, {}, deployment, options);
  const PathMethods served = path_methods_of(deployment.resources);
  for (const std::string& out : {boost::json::serialize(doc), json_to_yaml(doc)}) {
    const ImportedApi again = import_openapi(out);
    if (path_methods_of(build_resource_tree(again.paths, {})) != served) std::abort();
  }
  return 0;
}
