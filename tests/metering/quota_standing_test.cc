#include "metering/quota_standing.h"

#include <gtest/gtest.h>

#include "core/utc_date.h"
#include "store/sqlite_store.h"

#include "temp_dir.h"

namespace tollgate {
namespace {

const std::int64_t kMarch = days_from_civil({2026, 3, 1});
const std::int64_t kNow = (kMarch + 14) * 86400 + 3600;  // 15 March, 01:00 UTC

class QuotaStandingTest : public ::testing::Test {
 protected:
  TempDir temp_;
  SqliteStore store{temp_.path() / "t.db"};
  const Quota monthly{100, 0, QuotaPeriod::kMonth};
};

TEST_F(QuotaStandingTest, UsedIsServedPlusTheAdjustmentsOfThePeriodInTheCurrentWindow) {
  store.add_usage({{"p", "k", kMarch - 1, 50},  // February: another window
                   {"p", "k", kMarch, 10},
                   {"p", "k", kMarch + 14, 5}});
  store.add_adjustment({"p", "k", kMarch + 2, -3, 0, "admin", QuotaPeriod::kMonth});
  store.add_adjustment(
      {"p", "k", kMarch + 2, 40, 0, "admin", QuotaPeriod::kDay});  // made under another period
  const QuotaStanding s =
      quota_standing(store, "p", "k", monthly, initial_window_id(monthly, 0), kNow);
  EXPECT_EQ(s.used, 12);
  EXPECT_EQ(s.limit, 100);
  EXPECT_EQ(s.remaining(), 88);
  EXPECT_EQ(s.window.first_day, kMarch);
  EXPECT_EQ(s.window.end_unix_s, days_from_civil({2026, 4, 1}) * 86400);
}

TEST_F(QuotaStandingTest, TheNodesLiveCounterIsReadInsteadOfTheStore) {
  store.add_usage({{"p", "k", kMarch, 10}});
  QuotaCounter live;
  const std::int64_t window = quota_window(QuotaPeriod::kMonth, kNow).id;
  live.set_used(window, 42);
  const QuotaStanding s =
      quota_standing(store, "p", "k", monthly, initial_window_id(monthly, 0), kNow, &live);
  EXPECT_EQ(s.used, 42);
  EXPECT_EQ(s.remaining(), 58);
}

TEST_F(QuotaStandingTest, AnOffsetShortensOnlyTheFirstPeriodAndRemainingIsNeverNegative) {
  const Quota offset{100, 30, QuotaPeriod::kMonth};
  const std::int64_t joined_this_month = (kMarch + 3) * 86400;
  EXPECT_EQ(quota_standing(offset, initial_window_id(offset, joined_this_month), kNow, 0).limit,
            70);
  EXPECT_EQ(quota_standing(offset, initial_window_id(offset, 0), kNow, 0).limit, 100);
  EXPECT_EQ(
      quota_standing(offset, initial_window_id(offset, joined_this_month), kNow, 90).remaining(),
      0);
}

}  // namespace
}  // namespace tollgate
