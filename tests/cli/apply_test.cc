#include "cli/apply.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "core/yaml_to_json.h"
#include "store/sqlite_store.h"

#include "temp_dir.h"

namespace tollgate {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;

Declaration parse(const std::string& yaml) {
  return parse_declaration(yaml_to_json(YAML::Load(yaml)));
}

const char* kBase = R"(
apis:
  - id: api1
    name: shop
    resources:
      /pets:
        GET:
          apiKeyRequired: true
          integration: {type: HTTP_PROXY, uri: "http://127.0.0.1:9000/pets"}
      /pets/{id}:
        ANY:
          integration: {type: MOCK, statusCode: 201, body: made, contentType: text/plain}
    stages:
      - stageName: prod
        methodSettings:
          "*/*": {throttlingRateLimit: 100, throttlingBurstLimit: 50}
apiKeys:
  - name: alice
    value: alice-key-0123456789abcdef
  - name: bob
    enabled: false
usagePlans:
  - name: gold
    throttle: {rateLimit: 10, burstLimit: 20}
    quota: {limit: 1000, period: MONTH}
    apiStages:
      - apiId: shop
        stage: prod
        throttle: {"/pets/GET": {rateLimit: 1.5, burstLimit: 2}}
    apiKeys: [alice, bob]
)";

class ApplyTest : public ::testing::Test {
 protected:
  TempDir temp_;
  const std::filesystem::path dir = temp_.path();

  void SetUp() override { store = std::make_unique<SqliteStore>(dir / "t.db"); }
  std::unique_ptr<SqliteStore> store;
};

TEST_F(ApplyTest, CreatesEverythingThenChangesNothing) {
  const ApplyReport first = apply_declaration(*store, parse(kBase), kNow);
  EXPECT_EQ(first.changes, 8u);  // api, deployment, stage, 2 keys, plan, 2 plan keys
  const std::uint64_t version = store->control_version();
  const ApplyReport second = apply_declaration(*store, parse(kBase), kNow + 10);
  EXPECT_EQ(second.changes, 0u);
  EXPECT_EQ(store->control_version(), version);

  const ControlState s = store->load_control_state();
  ASSERT_EQ(s.apis.size(), 1u);
  EXPECT_EQ(s.apis[0].resources.size(), 3u);  // "/", "/pets", "/pets/{id}"
  ASSERT_EQ(s.api_keys.size(), 2u);
  for (const auto& k : s.api_keys) {
    EXPECT_GE(k.value.size(), 20u);
    EXPECT_EQ(k.enabled, k.name == "alice");
  }
  ASSERT_EQ(s.usage_plans.size(), 1u);
  EXPECT_EQ(s.usage_plans[0].api_stages[0].api_id, "api1");
  EXPECT_DOUBLE_EQ(s.usage_plans[0].api_stages[0].throttle.at("/pets/GET").rate_limit, 1.5);
  EXPECT_EQ(s.stages[0].method_settings.at("*/*").throttling_burst_limit, 50);
}

TEST_F(ApplyTest, StageVariablesAreSetAndChecked) {
  std::string with_variables = kBase;
  const std::string at = "        methodSettings:";
  with_variables.insert(with_variables.find(at),
                        "        variables: {backend: \"127.0.0.1:9000\", tier: gold}\n");
  EXPECT_EQ(apply_declaration(*store, parse(with_variables), kNow).changes, 8u);
  EXPECT_EQ(store->load_control_state().stages[0].variables,
            (std::map<std::string, std::string>{{"backend", "127.0.0.1:9000"}, {"tier", "gold"}}));
  // Without variables the declaration leaves them as they are; empty ones
  // take them away.
  EXPECT_EQ(apply_declaration(*store, parse(kBase), kNow).changes, 0u);
  std::string emptied = kBase;
  emptied.insert(emptied.find(at), "        variables: {}\n");
  EXPECT_EQ(apply_declaration(*store, parse(emptied), kNow).changes, 1u);
  EXPECT_TRUE(store->load_control_state().stages[0].variables.empty());

  std::string bad = kBase;
  bad.insert(bad.find(at), "        variables: {\"bad name\": x}\n");
  try {
    parse(bad);
    FAIL() << "a bad stage variable name was taken";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("stages[0].variables: Invalid stage variable name"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ApplyTest, HashedStoreMatchesDeclaredValuesByDigest) {
  apply_declaration(*store, parse(kBase), kNow);
  const KeyHashing hashing(dir);
  hash_stored_keys(*store, hashing);
  const std::uint64_t version = store->control_version();
  // alice's value is matched through its digest: nothing to change.
  EXPECT_EQ(apply_declaration(*store, parse(kBase), kNow + 10, &hashing).changes, 0u);
  EXPECT_EQ(store->control_version(), version);

  std::string with_carol = kBase;
  with_carol.insert(with_carol.find("usagePlans:"),
                    "  - name: carol\n    value: carol-key-0123456789abcdef\n");
  EXPECT_EQ(apply_declaration(*store, parse(with_carol), kNow + 20, &hashing).changes, 1u);
  const ControlState s = store->load_control_state();
  for (const auto& k : s.api_keys)
    if (k.name == "carol") {
      EXPECT_EQ(k.value, hashing.stored_value(s, "carol-key-0123456789abcdef"));
    }

  // A new key without a value would have one nobody could ever read.
  std::string with_dave = kBase;
  with_dave.insert(with_dave.find("usagePlans:"), "  - name: dave\n");
  EXPECT_THROW(apply_declaration(*store, parse(with_dave), kNow + 30, &hashing),
               std::invalid_argument);
  // Without the secret a hashed store takes nothing.
  EXPECT_THROW(apply_declaration(*store, parse(with_carol), kNow + 40), std::runtime_error);
}

TEST_F(ApplyTest, ChangedResourcesGetANewDeploymentAndKeepIds) {
  apply_declaration(*store, parse(kBase), kNow);
  const ControlState before = store->load_control_state();
  std::string changed = kBase;
  changed.replace(changed.find("/pets/{id}:"), 11, "/pets/{id}/toys:");
  apply_declaration(*store, parse(changed), kNow);
  const ControlState after = store->load_control_state();
  EXPECT_EQ(after.deployments.size(), 2u);
  EXPECT_NE(after.stages[0].deployment_id, before.stages[0].deployment_id);
  for (const auto& r : after.apis[0].resources)
    if (r.path == "/pets") {
      EXPECT_EQ(r.id, before.apis[0].resources[1].id);
    }
}

TEST_F(ApplyTest, KeyInTwoPlansOnOneStageIsRefused) {
  std::string twice = std::string(kBase) + R"(
  - name: silver
    apiStages: [{apiId: api1, stage: prod}]
    apiKeys: [alice]
)";
  try {
    apply_declaration(*store, parse(twice), kNow);
    FAIL() << "expected a refusal";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("only one usage plan per stage"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(store->control_version(), 0u);  // nothing written
}

TEST_F(ApplyTest, RefusesBadInputNamingTheField) {
  auto message = [&](const std::string& yaml) {
    try {
      apply_declaration(*store, parse(yaml), kNow);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("apiKeys: [{name: a, value: short}]").find("at least 20"), std::string::npos);
  EXPECT_NE(message("usagePlans: [{name: p, quota: {limit: 5, period: YEAR}}]").find("YEAR"),
            std::string::npos);
  EXPECT_NE(message("apis: [{name: a, colour: red}]").find("unknown field 'colour'"),
            std::string::npos);
  EXPECT_NE(message("usagePlans: [{name: p, throttle: {rateLimit: -1, burstLimit: 1}}]")
                .find("rateLimit"),
            std::string::npos);
  EXPECT_NE(
      message("usagePlans: [{name: p, apiStages: [{apiId: nope, stage: prod}]}]").find("nope"),
      std::string::npos);
  EXPECT_NE(message("usagePlans: [{name: p, apiKeys: [ghost]}]").find("ghost"), std::string::npos);
  EXPECT_NE(message(R"(apis: [{name: a, resources: {"/a b": {GET: {integration: {type: MOCK}}}}}])")
                .find("path part"),
            std::string::npos);
  EXPECT_NE(
      message(
          R"(apis: [{name: a, resources: {"/x": {GET: {integration: {type: HTTP_PROXY, uri: "ftp://x"}}}}}])")
          .find("uri"),
      std::string::npos);
}

TEST_F(ApplyTest, DuplicateKeyValueIsAConflict) {
  EXPECT_THROW(apply_declaration(*store,
                                 parse("apiKeys: [{name: a, value: same-value-0123456789}, "
                                       "{name: b, value: same-value-0123456789}]"),
                                 kNow),
               std::invalid_argument);
}

TEST_F(ApplyTest, MockShorthandBecomesTheAwsForm) {
  apply_declaration(*store, parse(kBase), kNow);
  const ControlState s = store->load_control_state();
  for (const auto& r : s.apis[0].resources) {
    if (r.path != "/pets/{id}") continue;
    const Integration& i = *r.methods.at("ANY").integration;
    EXPECT_EQ(i.request_templates.at("application/json"), "{\"statusCode\": 201}");
    EXPECT_EQ(i.integration_responses.at("201").response_templates.at("text/plain"), "made");
  }
}

TEST_F(ApplyTest, AnApiFromAnOpenApiFileAppliedTwiceChangesNothingTheSecondTime) {
  std::filesystem::create_directories(dir / "defs");
  std::ofstream(dir / "defs" / "shop.yaml") << R"(
openapi: 3.0.1
info: {title: shop-from-file}
x-amazon-apigateway-request-validators: {}
paths:
  /pets/{petId}:
    get:
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: http://127.0.0.1:9000/pets/{id}
        requestParameters: {integration.request.path.id: method.request.path.petId}
)";
  std::ofstream(dir / "tollgate.yaml") << R"(
apis:
  - openapi: defs/shop.yaml
    stages: [{stageName: prod}]
)";
  const Declaration declared = load_declaration_file((dir / "tollgate.yaml").string());
  ASSERT_EQ(declared.warnings.size(), 1u);
  EXPECT_NE(declared.warnings[0].find("x-amazon-apigateway-request-validators"), std::string::npos);
  EXPECT_EQ(apply_declaration(*store, declared, kNow).changes, 3u);  // api, deployment, stage
  EXPECT_EQ(
      apply_declaration(*store, load_declaration_file((dir / "tollgate.yaml").string()), kNow + 10)
          .changes,
      0u);
  const ControlState s = store->load_control_state();
  ASSERT_EQ(s.apis.size(), 1u);
  EXPECT_EQ(s.apis[0].name, "shop-from-file");
  bool mapped = false;
  for (const auto& r : s.apis[0].resources)
    if (r.path == "/pets/{petId}")
      mapped = r.methods.at("GET").integration->request_parameters.size() == 1;
  EXPECT_TRUE(mapped);
}

TEST_F(ApplyTest, AnOpenApiFileAndResourcesTogetherAreRefused) {
  EXPECT_THROW(parse("apis: [{name: a, openapi: x.yaml, resources: {}}]"), std::invalid_argument);
}

}  // namespace
}  // namespace tollgate
