#include "openapi/openapi_import.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "model/resource_tree.h"
#include "openapi/openapi_document.h"
#include "openapi/openapi_export.h"
#include "core/yaml_to_json.h"

namespace tollgate {
namespace {

const char* kOpenApi = R"(
openapi: 3.0.1
info: {title: Shop, description: Pets for sale}
x-amazon-apigateway-api-key-source: HEADER
components:
  securitySchemes:
    api_key: {type: apiKey, name: x-api-key, in: header}
paths:
  /pets:
    get:
      security: [{api_key: []}]
      responses: {"200": {description: ok, headers: {X-Total: {schema: {type: integer}}}}}
      x-amazon-apigateway-integration:
        type: http
        httpMethod: GET
        uri: http://127.0.0.1:9000/pets
        timeoutInMillis: 5000
        requestParameters:
          integration.request.querystring.kind: method.request.querystring.type
          integration.request.header.X-Shop: "'pets'"
  /pets/{petId}:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration:
        type: HTTP_PROXY
        httpMethod: ANY
        uri: http://127.0.0.1:9000/pets/{id}
        requestParameters:
          integration.request.path.id: method.request.path.petId
  /files/{proxy+}:
    get:
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "http://127.0.0.1:9000/{proxy}"}
  /:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 201}'}
        responses:
          default:
            statusCode: "201"
            responseTemplates: {text/plain: made}
)";

TEST(OpenApiImport, ReadsPathsMethodsAndIntegrations) {
  const ImportedApi api = import_openapi(kOpenApi);
  EXPECT_EQ(api.title, "Shop");
  EXPECT_EQ(api.description, "Pets for sale");
  EXPECT_EQ(api.api_key_source, ApiKeySource::kHeader);
  EXPECT_TRUE(api.warnings.empty()) << api.warnings.front();

  const Method& list = api.paths.at("/pets").at("GET");
  EXPECT_TRUE(list.api_key_required);
  ASSERT_EQ(list.method_responses.size(), 1u);
  EXPECT_EQ(list.method_responses.at("200").status_code, "200");
  EXPECT_EQ(list.method_responses.at("200").response_parameters,
            (std::map<std::string, bool>{{"method.response.header.X-Total", false}}));
  ASSERT_TRUE(list.integration);
  EXPECT_EQ(list.integration->type, IntegrationType::kHttp);
  EXPECT_EQ(list.integration->timeout_ms, 5000);
  EXPECT_EQ(list.integration->request_parameters.at("integration.request.header.X-Shop"), "'pets'");

  const Method& any = api.paths.at("/pets/{petId}").at("ANY");
  EXPECT_FALSE(any.api_key_required);
  EXPECT_EQ(any.integration->type, IntegrationType::kHttpProxy);

  EXPECT_TRUE(api.paths.at("/files/{proxy+}").contains("GET"));
  const Method& root = api.paths.at("/").at("GET");
  EXPECT_EQ(root.integration->type, IntegrationType::kMock);
  EXPECT_EQ(root.integration->integration_responses.at("201").response_templates.at("text/plain"),
            "made");
}

TEST(OpenApiImport, ReadsSwaggerTwo) {
  const ImportedApi api = import_openapi(R"({
    "swagger": "2.0", "info": {"title": "S"}, "basePath": "/v1",
    "securityDefinitions": {"key": {"type": "apiKey", "name": "X-API-Key", "in": "header"}},
    "security": [{"key": []}],
    "paths": {"/a": {"post": {"x-amazon-apigateway-integration":
        {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}}}}})");
  EXPECT_TRUE(api.paths.at("/a").at("POST").api_key_required);  // the global requirement
  EXPECT_TRUE(api.warnings.empty());
}

std::vector<std::string> warnings_of(const std::string& text) {
  return import_openapi(text).warnings;
}

bool has_warning(const std::vector<std::string>& warnings, std::string_view start) {
  return std::any_of(warnings.begin(), warnings.end(),
                     [&](const std::string& w) { return w.starts_with(start); });
}

TEST(OpenApiImport, WarnsWhereSomethingIsLeftOut) {
  const auto w = warnings_of(R"(
openapi: 3.0.1
info: {title: W}
x-amazon-apigateway-gateway-responses: {}
components:
  securitySchemes:
    auth: {type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authorizer: {type: token}}
paths:
  /pets:
    get:
      security: [{auth: []}]
      x-amazon-apigateway-request-validator: all
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations
    post:
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: POST
        uri: http://127.0.0.1:1/x
        requestParameters: {integration.request.header.id: context.requestId}
    put:
      x-amazon-apigateway-integration: {type: http, httpMethod: PUT, uri: "https://example.com/"}
)");
  EXPECT_TRUE(has_warning(w, "x-amazon-apigateway-gateway-responses: "));
  EXPECT_TRUE(has_warning(w, "components.securitySchemes.auth.x-amazon-apigateway-authorizer: "));
  EXPECT_TRUE(has_warning(w, "paths./pets.get.security.auth: "));
  EXPECT_TRUE(has_warning(w, "paths./pets.get.x-amazon-apigateway-request-validator: "));
  EXPECT_TRUE(has_warning(w, "paths./pets.get.x-amazon-apigateway-integration.type: aws_proxy"));
  EXPECT_TRUE(has_warning(w,
                          "paths./pets.post.x-amazon-apigateway-integration.requestParameters."
                          "integration.request.header.id: "));
  EXPECT_TRUE(has_warning(w, "paths./pets.put.x-amazon-apigateway-integration.uri: "));
  EXPECT_TRUE(has_warning(w, "paths./pets.put: no usable x-amazon-apigateway-integration"));
}

TEST(OpenApiImport, AwsIntegrationsAreKeptToAnswer500) {
  const ImportedApi api = import_openapi(R"(
swagger: "2.0"
info: {title: L}
paths:
  /f:
    get:
      x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: "arn:aws:lambda"}
)");
  EXPECT_EQ(api.paths.at("/f").at("GET").integration->type, IntegrationType::kAwsProxy);
}

void expect_refused(const std::string& text, std::string_view why) {
  try {
    import_openapi(text);
    ADD_FAILURE() << "imported: " << text;
  } catch (const OpenApiError& e) {
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
}

TEST(OpenApiImport, RefusesWhatCannotBeImported) {
  expect_refused("{not json: [", "neither JSON nor YAML");
  expect_refused("title: x\n", "no `openapi` or `swagger`");
  expect_refused("openapi: 3.1.0\ninfo: {title: x}\npaths: {}\n", "only OpenAPI 3.0.x");
  expect_refused(
      "openapi: 3.0.1\ninfo: {title: x}\npaths:\n  /a: {$ref: 'other.yaml#/paths/~1a'}\n",
      "points outside the file");
  expect_refused("openapi: 3.0.1\ninfo: {title: x}\npaths:\n  /a: {$ref: '#/nowhere'}\n",
                 "names nothing");
  expect_refused(
      "openapi: 3.0.1\ninfo: {title: x}\nx-a: {$ref: '#/x-b'}\nx-b: {$ref: '#/x-a'}\npaths: {}\n",
      "a cycle of $refs");
  expect_refused("openapi: 3.0.1\ninfo: {title: x}\npaths:\n  /a/{proxy+}/b: {}\n",
                 "must be the last");
  expect_refused("openapi: 3.0.1\ninfo: {title: x}\npaths:\n  a: {}\n", "starts with /");
  std::string big = "{\"openapi\": \"3.0.1\", \"paths\": {";
  for (int i = 0; big.size() < kMaxDefinitionBytes; ++i)
    big += "\"/p" + std::to_string(i) + "\": {},";
  big += "\"/\": {}}}";
  expect_refused(big, "the limit is");
}

TEST(OpenApiImport, FollowsReferencesWithinTheFile) {
  const ImportedApi api = import_openapi(R"(
openapi: 3.0.1
info: {title: R}
components:
  x-integrations:
    pets: {type: mock, requestTemplates: {application/json: '{"statusCode": 204}'}}
paths:
  /pets:
    get:
      x-amazon-apigateway-integration: {$ref: '#/components/x-integrations/pets'}
  /cats: {$ref: '#/paths/~1pets'}
)");
  EXPECT_EQ(api.paths.at("/cats").at("GET").integration->type, IntegrationType::kMock);
}

TEST(OpenApiImport, BasePathIgnoredPrependedOrSplit) {
  const std::string text = R"(
swagger: "2.0"
info: {title: B}
basePath: /v1/shop
paths:
  /pets: {get: {x-amazon-apigateway-integration: {type: mock}}}
)";
  EXPECT_TRUE(import_openapi(text).paths.contains("/pets"));
  ImportOptions prepend;
  prepend.base_path = ImportOptions::BasePath::kPrepend;
  EXPECT_TRUE(import_openapi(text, prepend).paths.contains("/v1/shop/pets"));
  ImportOptions split;
  split.base_path = ImportOptions::BasePath::kSplit;
  EXPECT_TRUE(import_openapi(text, split).paths.contains("/shop/pets"));
}

TEST(OpenApiImport, SiblingParametersCannotBeATree) {
  const ImportedApi api = import_openapi(R"(
openapi: 3.0.1
info: {title: T}
paths:
  /x/{a}: {get: {}}
  /x/{b}: {get: {}}
)");
  EXPECT_THROW(build_resource_tree(api.paths, {}), std::invalid_argument);
}

// Import → export → import gives the same resources and methods, in both
// formats and both encodings.
TEST(OpenApiExport, ReadsBackAsTheSameApi) {
  const ImportedApi first = import_openapi(kOpenApi);
  RestApi api;
  api.name = first.title;
  api.description = first.description;
  api.binary_media_types = {"image/png", "*/*"};
  api.minimum_compression_size = 0;
  api.policy = R"({"Version":"2012-10-17","Statement":[]})";
  api.disable_execute_api_endpoint = true;
  api.vpc_endpoint_ids = {"vpce-0123"};
  Deployment deployment;
  deployment.resources = build_resource_tree(first.paths, {});
  Stage stage;
  stage.stage_name = "prod";
  for (const auto type : {ExportOptions::Type::kOas30, ExportOptions::Type::kSwagger}) {
    ExportOptions options;
    options.type = type;
    options.apigateway = true;
    const boost::json::object doc = export_openapi(api, stage, deployment, options);
    for (const std::string& text : {boost::json::serialize(doc), json_to_yaml(doc)}) {
      const ImportedApi again = import_openapi(text);
      EXPECT_EQ(again.title, "Shop");
      EXPECT_TRUE(again.warnings.empty()) << again.warnings.front();
      EXPECT_EQ(again.binary_media_types, api.binary_media_types);
      EXPECT_EQ(again.minimum_compression_size, api.minimum_compression_size);
      EXPECT_EQ(again.policy, api.policy);
      EXPECT_EQ(again.disable_execute_api_endpoint, true);
      EXPECT_EQ(again.vpc_endpoint_ids, api.vpc_endpoint_ids);
      EXPECT_EQ(path_methods_of(build_resource_tree(again.paths, {})),
                path_methods_of(deployment.resources))
          << text;
    }
  }
}

TEST(OpenApiExport, WithoutExtensionsHasNoIntegrations) {
  const ImportedApi first = import_openapi(kOpenApi);
  Deployment deployment;
  deployment.resources = build_resource_tree(first.paths, {});
  const boost::json::object doc = export_openapi({}, {}, deployment, {});
  EXPECT_FALSE(doc.at("paths").at("/pets").at("get").as_object().contains(
      "x-amazon-apigateway-integration"));
  EXPECT_EQ(doc.at("components").at("securitySchemes").at("api_key").at("name"), "x-api-key");
}

}  // namespace
}  // namespace tollgate
