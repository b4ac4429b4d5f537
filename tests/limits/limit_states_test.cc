#include "limits/limit_states.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(LimitStates, AKeyPlanStateIsMadeOnceAndKeepsItsPlace) {
  LimitStates limits;
  const KeyPlanHandle a = limits.key_plan("gold", "k1");
  const KeyPlanHandle b = limits.key_plan("silver", "k1");
  const KeyPlanHandle again = limits.key_plan("gold", "k1");
  EXPECT_TRUE(a.created);
  EXPECT_TRUE(b.created);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.state, a.state);
  EXPECT_NE(b.state, a.state);
  EXPECT_EQ(limits.key_plan_count(), 2u);
  // States never move, however many follow.
  for (int i = 0; i < 10000; ++i) limits.key_plan("gold", "key-" + std::to_string(i));
  EXPECT_EQ(limits.key_plan("gold", "k1").state, a.state);
}

TEST(LimitStates, PairsNumberedByTheMeterFirstAreStillNewStates) {
  KeyPlanIds ids;
  ids.intern("gold", "k0");
  ids.intern("gold", "k1");
  LimitStates limits(&ids);
  const KeyPlanHandle k1 = limits.key_plan("gold", "k1");
  EXPECT_TRUE(k1.created);
  EXPECT_FALSE(limits.key_plan("gold", "k1").created);
  EXPECT_EQ(limits.key_plan_count(), 1u);
  EXPECT_EQ(ids.size(), 2u);
}

TEST(LimitStates, APlanThrottleChangeIsReportedOnce) {
  LimitStates limits;
  const BucketParams slow = BucketParams::from(Throttle{1.0, 5});
  const BucketParams fast = BucketParams::from(Throttle{100.0, 50});
  EXPECT_FALSE(limits.plan_throttle_changed("gold", slow));  // first seen
  EXPECT_FALSE(limits.plan_throttle_changed("gold", slow));
  EXPECT_TRUE(limits.plan_throttle_changed("gold", fast));
  EXPECT_FALSE(limits.plan_throttle_changed("gold", fast));
  EXPECT_TRUE(limits.plan_throttle_changed("gold", std::nullopt));
  EXPECT_TRUE(limits.plan_throttle_changed("gold", fast));
}

}  // namespace
}  // namespace tollgate
