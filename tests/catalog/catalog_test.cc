#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include <map>

#include "limits/limit_states.h"

#include "control_state_builders.h"

namespace tollgate {
namespace {

// API "shop": deployment d1 has GET /items/{id}; the working copy has since
// gained GET /new, not deployed. Stage prod serves d1 with a stage throttle
// on GET /items/{id}; stage dev serves d1 too. Plan "gold" covers prod only.
class CatalogBuildTest : public ::testing::Test {
 protected:
  CatalogBuildTest() {
    RestApi api;
    api.id = "shop";
    api.name = "shop";
    Resource root{"r0", "", "", "/", {}};
    Resource items{"r1", "r0", "items", "/items", {}};
    Resource item{"r2", "r1", "{id}", "/items/{id}", {}};
    item.methods["GET"] = proxy_method("GET", true, "http://127.0.0.1:9000/v1/items/{id}", 500);
    api.resources = {root, items, item};
    state.deployments.push_back({"shop", "d1", "", 0, api.resources, {}});
    Resource added{"r3", "r0", "new", "/new", {}};
    added.methods["GET"] = proxy_method("GET", false, "http://127.0.0.1:9000/new", 500);
    api.resources.push_back(added);
    state.apis.push_back(api);
    Stage prod = stage_of("shop", "prod", "d1");
    MethodSetting setting;
    setting.throttling_rate_limit = 5;
    setting.throttling_burst_limit = 2;
    prod.method_settings["~1items~1{id}/GET"] = setting;
    state.stages.push_back(prod);
    state.stages.push_back(stage_of("shop", "dev", "d1"));
    state.api_keys.push_back({"k1", "alice-key-0123456789", "alice", "acme", "", true, 0, 0, {}});
    UsagePlan gold = usage_plan("gold", "Gold", {{"shop", "prod", {}}});
    gold.throttle = Throttle{10, 20};
    gold.quota = Quota{1000, 0, QuotaPeriod::kMonth};
    state.usage_plans.push_back(gold);
    state.usage_plan_keys = {{"gold", "k1", 0}};
  }

  std::shared_ptr<const Catalog> build() {
    const MemberProvider slots = [this](std::size_t i) {
      const UsagePlanKey& m = state.usage_plan_keys[i];
      return MemberRefs{&slots_[m.plan_id + '\n' + m.key_id], std::nullopt};
    };
    return build_catalog(state, limits, no_stored_usage(), slots, CatalogBuild{.version = 7});
  }

  ControlState state;
  LimitStates limits;
  std::map<std::string, UsageSlot> slots_;
};

TEST_F(CatalogBuildTest, AStageServesItsDeploymentNotTheWorkingCopy) {
  const auto catalog = build();
  EXPECT_EQ(catalog->version(), 7u);
  const StageEntry* prod = catalog->stage("shop", "prod");
  ASSERT_NE(prod, nullptr);
  EXPECT_EQ(catalog->stage("shop", "staging"), nullptr);
  PathParams params;
  const std::uint32_t index = prod->routes.match("/items/42", "GET", params);
  ASSERT_NE(index, RouteTree::kNoMatch);
  EXPECT_EQ(params.find("id"), "42");
  EXPECT_EQ(prod->routes.match("/new", "GET", params), RouteTree::kNoMatch);

  const RouteMethod& method = prod->methods[index];
  EXPECT_EQ(method.resource_path, "/items/{id}");
  EXPECT_TRUE(method.api_key_required);
  EXPECT_EQ(method.type, IntegrationType::kHttpProxy);
  EXPECT_EQ(method.backend.pool_key, "127.0.0.1:9000");
  EXPECT_EQ(method.backend.target, "/v1/items/{id}");
  EXPECT_EQ(method.timeout_ms, 500);
}

TEST_F(CatalogBuildTest, AStageMethodSettingBecomesTheMethodsStageThrottle) {
  const auto catalog = build();
  PathParams params;
  for (const char* name : {"prod", "dev"}) {
    const StageEntry* stage = catalog->stage("shop", name);
    const RouteMethod& m = stage->methods[stage->routes.match("/items/1", "GET", params)];
    if (std::string(name) == "prod") {
      ASSERT_TRUE(m.stage_limit);
      EXPECT_EQ(m.stage_limit->params.burst, 2);
      EXPECT_DOUBLE_EQ(m.stage_limit->params.rate_per_sec, 5.0);
    } else {
      EXPECT_FALSE(m.stage_limit) << "dev has no method setting";
    }
  }
}

TEST_F(CatalogBuildTest, AKeyIsBoundToItsPlanOnTheStagesThePlanCoversOnly) {
  const auto catalog = build();
  EXPECT_EQ(catalog->key_count(), 1u);
  const Catalog::Key key = catalog->find_key("alice-key-0123456789");
  ASSERT_TRUE(key);
  EXPECT_EQ(key.id(), "k1");
  const KeyBinding prod = key.binding(catalog->stage("shop", "prod"));
  ASSERT_NE(prod.plan, nullptr);
  EXPECT_EQ(prod.plan->plan_id, "gold");
  EXPECT_EQ(prod.plan->plan_name, "Gold");
  ASSERT_TRUE(prod.plan->key_throttle);
  EXPECT_EQ(prod.plan->key_throttle->burst, 20);
  EXPECT_EQ(prod.plan->quota->limit, 1000);
  EXPECT_NE(prod.usage, nullptr);
  EXPECT_EQ(key.binding(catalog->stage("shop", "dev")).plan, nullptr);
  EXPECT_FALSE(catalog->find_key("nobody-0123456789abc"));
}

TEST_F(CatalogBuildTest, EachNodeEnforcesItsShareOfEveryThrottle) {
  const MemberProvider slots = [this](std::size_t) {
    return MemberRefs{&slots_["one"], std::nullopt};
  };
  const auto catalog = build_catalog(state, limits, no_stored_usage(), slots,
                                     CatalogBuild{.version = 1, .throttle_share = 0.5});
  const KeyBinding b =
      catalog->find_key("alice-key-0123456789").binding(catalog->stage("shop", "prod"));
  EXPECT_EQ(b.plan->key_throttle->burst, 10);
  EXPECT_DOUBLE_EQ(b.plan->key_throttle->rate_per_sec, 5.0);
  EXPECT_EQ(b.plan->throttle->burst_limit, 20) << "the plan as declared, for the usage page";
}

}  // namespace
}  // namespace tollgate
