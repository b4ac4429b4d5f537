#include "core/key_plan_ids.h"

#include <gtest/gtest.h>

#include <string>

namespace tollgate {
namespace {

TEST(KeyPlanIds, InternsPairsDenselyAndFindsThemAgain) {
  KeyPlanIds ids;
  EXPECT_FALSE(ids.find("gold", "k1"));
  const auto a = ids.intern("gold", "k1");
  const auto b = ids.intern("silver", "k1");
  const auto again = ids.intern("gold", "k1");
  EXPECT_TRUE(a.created);
  EXPECT_TRUE(b.created);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(a.id, 0u);
  EXPECT_EQ(b.id, 1u);
  EXPECT_EQ(again.id, a.id);
  EXPECT_EQ(ids.plan_id(b.id), "silver");
  EXPECT_EQ(ids.key_id(b.id), "k1");
  EXPECT_FALSE(ids.find("gold", "k2"));
  EXPECT_FALSE(ids.find("bronze", "k1"));
}

TEST(KeyPlanIds, KeepsEveryPairThroughGrowth) {
  KeyPlanIds ids;
  constexpr int kPairs = 20000;
  for (int i = 0; i < kPairs; ++i) ids.intern(i % 2 ? "odd" : "even", "key-" + std::to_string(i));
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kPairs));
  for (int i = 0; i < kPairs; ++i) {
    const auto id = ids.find(i % 2 ? "odd" : "even", "key-" + std::to_string(i));
    ASSERT_TRUE(id) << i;
    EXPECT_EQ(*id, static_cast<std::uint32_t>(i));
    EXPECT_FALSE(ids.find(i % 2 ? "even" : "odd", "key-" + std::to_string(i)));
  }
}

}  // namespace
}  // namespace tollgate
