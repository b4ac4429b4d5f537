#include "core/key_plan_ids.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

TEST(KeyPlanIds, FindEachAnswersEveryPairInOrder) {
  KeyPlanIds ids;
  for (int i = 0; i < 30; ++i) ids.intern("gold", "key-" + std::to_string(i));
  // More pairs than are fetched ahead, with unknown keys and plans among them.
  std::vector<std::pair<std::string, std::string>> asked;
  for (int i = 0; i < 40; ++i)
    asked.emplace_back(i % 7 == 3 ? "tin" : "gold", "key-" + std::to_string(i));
  std::vector<std::optional<std::uint32_t>> answers;
  ids.find_each(
      asked.size(),
      [&](std::size_t i) {
        return std::pair<std::string_view, std::string_view>(asked[i].first, asked[i].second);
      },
      [&](std::size_t i, std::optional<std::uint32_t> id) {
        EXPECT_EQ(i, answers.size());
        answers.push_back(id);
      });
  ASSERT_EQ(answers.size(), asked.size());
  for (int i = 0; i < 40; ++i) {
    if (i % 7 == 3 || i >= 30)
      EXPECT_FALSE(answers[i]) << i;
    else
      EXPECT_EQ(answers[i], std::optional<std::uint32_t>(i)) << i;
  }
  int calls = 0;
  ids.find_each(
      0, [&](std::size_t) { return std::pair<std::string_view, std::string_view>(); },
      [&](std::size_t, std::optional<std::uint32_t>) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace tollgate
