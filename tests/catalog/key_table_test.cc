#include "catalog/key_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tollgate {
namespace {

const StageEntry* stage_at(std::uintptr_t n) { return reinterpret_cast<const StageEntry*>(n * 64); }

TEST(KeyTable, FindsEveryKeyByValueAndNothingElse) {
  KeyTable keys;
  constexpr int kKeys = 5000;
  keys.reserve(kKeys, kKeys * 40);
  for (int i = 0; i < kKeys; ++i)
    keys.add_key("value-" + std::to_string(i) + "-0123456789", "id" + std::to_string(i),
                 i % 3 != 0);
  EXPECT_EQ(keys.size(), static_cast<std::size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) {
    const KeyTable::Record* r = keys.find("value-" + std::to_string(i) + "-0123456789");
    ASSERT_NE(r, nullptr) << i;
    EXPECT_EQ(keys.id(*r), "id" + std::to_string(i));
    EXPECT_EQ(keys.enabled(*r), i % 3 != 0);
  }
  EXPECT_EQ(keys.find("value-5000-0123456789"), nullptr);
  EXPECT_EQ(keys.find(""), nullptr);
}

TEST(KeyTable, AValueAddedAgainReplacesTheKey) {
  KeyTable keys;
  keys.reserve(2, 100);
  keys.add_key("same-value-0123456789", "old", true);
  keys.add_key("same-value-0123456789", "new", false);
  EXPECT_EQ(keys.size(), 1u);
  const KeyTable::Record* r = keys.find("same-value-0123456789");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(keys.id(*r), "new");
  EXPECT_FALSE(keys.enabled(*r));
}

PlanStage plan_stage(const StageEntry* stage, const std::string& plan_id,
                     bool method_throttles = false) {
  PlanStage p;
  p.stage = stage;
  p.plan_id = plan_id;
  p.method_throttles = method_throttles;
  return p;
}

TEST(KeyTable, BindingsAreFoundByStageWithTheirMethodLimits) {
  KeyTable keys;
  keys.reserve(2, 100);
  KeyTable::Record& alice = keys.add_key("alice-key-0123456789", "k1", true);
  KeyTable::Record& bob = keys.add_key("bob-key-0123456789ab", "k2", true);
  const std::uint16_t gold_prod = keys.add_plan_stage(plan_stage(stage_at(1), "gold"));
  const std::uint16_t silver_beta =
      keys.add_plan_stage(plan_stage(stage_at(2), "silver", /*method_throttles=*/true));
  KeyPlanState states[3];
  UsageSlot slots[3];
  TokenBucket method_bucket;
  keys.bind(alice, gold_prod, &states[0], &slots[0], 7, {});
  keys.bind(bob, gold_prod, &states[1], &slots[1], 0, {});
  keys.bind(alice, silver_beta, &states[2], &slots[2], 9, {{3, LimitRef{&method_bucket, {}}}});

  const KeyBinding prod = keys.binding(alice, stage_at(1));
  ASSERT_NE(prod.plan, nullptr);
  EXPECT_EQ(prod.plan->plan_id, "gold");
  EXPECT_EQ(prod.state, &states[0]);
  EXPECT_EQ(prod.usage, &slots[0]);
  EXPECT_EQ(prod.initial_window_id, 7);
  EXPECT_EQ(prod.method_limit(3), nullptr);

  const KeyBinding beta = keys.binding(alice, stage_at(2));
  ASSERT_NE(beta.plan, nullptr);
  EXPECT_EQ(beta.plan->plan_id, "silver");
  EXPECT_EQ(beta.state, &states[2]);
  EXPECT_EQ(beta.initial_window_id, 9);
  ASSERT_NE(beta.method_limit(3), nullptr);
  EXPECT_EQ(beta.method_limit(3)->bucket, &method_bucket);

  EXPECT_EQ(keys.binding(bob, stage_at(2)).plan, nullptr);
  EXPECT_EQ(keys.binding(alice, stage_at(3)).plan, nullptr);

  // Every binding of a key, for the usage page.
  const std::vector<KeyBinding> all = keys.bindings(alice);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].plan->plan_id, "gold");
  EXPECT_EQ(all[1].plan->plan_id, "silver");
  EXPECT_EQ(keys.bindings(bob).size(), 1u);
}

}  // namespace
}  // namespace tollgate
