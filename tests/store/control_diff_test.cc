#include "store/control_diff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <tuple>

#include "store/sqlite_store.h"

#include "temp_dir.h"

namespace tollgate {
namespace {

ApiKey key(const std::string& id, const std::string& name) {
  return ApiKey{id, "value-of-" + id + "-0123456789", name, "", "", true, 1, 1, {}};
}

// A store holding keys k00..k19, each in plan p1.
class ControlDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tx = store.begin();
    UsagePlan plan;
    plan.id = "p1";
    plan.name = "gold";
    tx->put(plan);
    for (int i = 0; i < 20; ++i) {
      const std::string id = (i < 10 ? "k0" : "k") + std::to_string(i);
      tx->put(key(id, "key " + id));
      tx->put(UsagePlanKey{"p1", id, 1});
    }
    tx->commit();
  }

  // Writes what `edit` changes and commits; the diff's report.
  template <typename Edit>
  DiffReport apply(Edit edit) {
    auto tx = store.begin();
    const ControlState before = tx->state();
    ControlState after = before;
    edit(after);
    const DiffReport report = write_diff(*tx, before, after);
    tx->commit();
    expected = after;
    return report;
  }

  // The store holds what the edit made, whatever the order it was made in.
  void expect_stored() {
    ControlState stored = store.load_control_state();
    const auto by_id = [](const ApiKey& a, const ApiKey& b) { return a.id < b.id; };
    std::sort(expected.api_keys.begin(), expected.api_keys.end(), by_id);
    const auto by_pair = [](const UsagePlanKey& a, const UsagePlanKey& b) {
      return std::tie(a.plan_id, a.key_id) < std::tie(b.plan_id, b.key_id);
    };
    std::sort(expected.usage_plan_keys.begin(), expected.usage_plan_keys.end(), by_pair);
    EXPECT_EQ(stored.api_keys, expected.api_keys);
    EXPECT_EQ(stored.usage_plan_keys, expected.usage_plan_keys);
  }

  TempDir temp_;
  SqliteStore store{temp_.path() / "t.db"};
  ControlState expected;
};

TEST_F(ControlDiffTest, AChangeInTheMiddleIsTheOnlyWrite) {
  const DiffReport report = apply([](ControlState& s) { s.api_keys[7].name = "renamed"; });
  EXPECT_EQ(report.changes, 1u);
  ASSERT_EQ(report.lines.size(), 1u);
  EXPECT_EQ(report.lines[0], "updated api key renamed (id k07)");
  expect_stored();
}

TEST_F(ControlDiffTest, AnAppendedAndAnErasedItemAreFoundAmongTheUnchanged) {
  const DiffReport report = apply([](ControlState& s) {
    s.api_keys.erase(s.api_keys.begin() + 3);
    std::erase_if(s.usage_plan_keys, [](const UsagePlanKey& m) { return m.key_id == "k03"; });
    s.api_keys.push_back(key("k99", "new"));
    s.usage_plan_keys.push_back({"p1", "k99", 2});
    s.api_keys[15].enabled = false;
  });
  EXPECT_EQ(report.changes, 5u);  // the key and its membership gone, both new, one updated
  expect_stored();
}

TEST_F(ControlDiffTest, AReorderedStateIsNoChange) {
  const DiffReport report = apply([](ControlState& s) {
    std::reverse(s.api_keys.begin(), s.api_keys.end());
    std::rotate(s.usage_plan_keys.begin(), s.usage_plan_keys.begin() + 5, s.usage_plan_keys.end());
  });
  EXPECT_EQ(report.changes, 0u);
  expect_stored();
}

TEST_F(ControlDiffTest, EveryItemChangedAndTheFirstAndLastErased) {
  const DiffReport report = apply([](ControlState& s) {
    s.api_keys.erase(s.api_keys.begin());
    s.api_keys.pop_back();
    for (ApiKey& k : s.api_keys) k.description = "changed";
    s.usage_plan_keys.erase(s.usage_plan_keys.begin());
    s.usage_plan_keys.pop_back();
  });
  EXPECT_EQ(report.changes, 18u + 4u);
  expect_stored();
}

}  // namespace
}  // namespace tollgate
