#include "limits/quota_window.h"

#include <gtest/gtest.h>

#include "core/utc_date.h"

namespace tollgate {
namespace {

std::int64_t at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return days_from_civil({y, m, d}) * 86400 + hh * 3600 + mm * 60 + ss;
}

TEST(QuotaWindow, DayTurnsAtUtcMidnight) {
  const auto before = quota_window(QuotaPeriod::kDay, at(2024, 3, 9, 23, 59, 59));
  const auto after = quota_window(QuotaPeriod::kDay, at(2024, 3, 10));
  EXPECT_EQ(after.id, before.id + 1);
  EXPECT_EQ(before.end_unix_s, at(2024, 3, 10));
  EXPECT_EQ(after.start_unix_s, at(2024, 3, 10));
}

TEST(QuotaWindow, WeekStartsSundayMidnight) {
  // 2024-03-10 is a Sunday.
  const auto saturday = quota_window(QuotaPeriod::kWeek, at(2024, 3, 9, 23, 59, 59));
  const auto sunday = quota_window(QuotaPeriod::kWeek, at(2024, 3, 10));
  EXPECT_EQ(sunday.id, saturday.id + 1);
  EXPECT_EQ(sunday.start_unix_s, at(2024, 3, 10));
  EXPECT_EQ(sunday.end_unix_s, at(2024, 3, 17));
  EXPECT_EQ(quota_window(QuotaPeriod::kWeek, at(2024, 3, 16, 12)).id, sunday.id);
  EXPECT_EQ(weekday_from_days(sunday.first_day), 0u);
}

TEST(QuotaWindow, MonthEndsOnTheLastDayInclFebruary) {
  const auto feb_leap = quota_window(QuotaPeriod::kMonth, at(2024, 2, 15));
  EXPECT_EQ(feb_leap.start_unix_s, at(2024, 2, 1));
  EXPECT_EQ(feb_leap.end_unix_s, at(2024, 3, 1));
  EXPECT_EQ(feb_leap.last_day - feb_leap.first_day + 1, 29);
  const auto feb = quota_window(QuotaPeriod::kMonth, at(2023, 2, 28, 23, 59, 59));
  EXPECT_EQ(feb.last_day - feb.first_day + 1, 28);
  EXPECT_EQ(quota_window(QuotaPeriod::kMonth, at(2023, 3, 1)).id, feb.id + 1);
  const auto century = quota_window(QuotaPeriod::kMonth, at(2100, 2, 10));
  EXPECT_EQ(century.last_day - century.first_day + 1, 28);  // 2100 is not a leap year
  const auto y2000 = quota_window(QuotaPeriod::kMonth, at(2000, 2, 10));
  EXPECT_EQ(y2000.last_day - y2000.first_day + 1, 29);
}

TEST(QuotaWindow, DecemberRollsIntoNextYear) {
  const auto dec = quota_window(QuotaPeriod::kMonth, at(2025, 12, 31, 23, 59, 59));
  EXPECT_EQ(dec.end_unix_s, at(2026, 1, 1));
  EXPECT_EQ(quota_window(QuotaPeriod::kMonth, at(2026, 1, 1)).id, dec.id + 1);
}

TEST(QuotaWindow, CachedWindowFollowsTheClockAcrossBoundaries) {
  for (std::int64_t t = at(2024, 2, 28, 23, 59, 58); t < at(2024, 3, 1, 0, 0, 2); t += 1) {
    for (QuotaPeriod p : {QuotaPeriod::kDay, QuotaPeriod::kWeek, QuotaPeriod::kMonth}) {
      const QuotaWindow expected = quota_window(p, t);
      const QuotaWindow& cached = current_quota_window(p, t);
      ASSERT_EQ(cached.id, expected.id) << t;
      ASSERT_EQ(cached.end_unix_s, expected.end_unix_s) << t;
    }
    if (t == at(2024, 2, 29, 0, 0, 2))
      t = at(2024, 2, 29, 23, 59, 58);  // skip the middle of the day
  }
  // Back in time again (a clock step) still gives the right window.
  EXPECT_EQ(current_quota_window(QuotaPeriod::kDay, at(2020, 1, 1)).id,
            quota_window(QuotaPeriod::kDay, at(2020, 1, 1)).id);
}

TEST(QuotaWindow, OffsetIsTakenOffTheInitialPeriodOnly) {
  const Quota q{1000, 200, QuotaPeriod::kMonth};
  EXPECT_EQ(quota_limit_for(q, 5, 5), 800);
  EXPECT_EQ(quota_limit_for(q, 6, 5), 1000);
}

}  // namespace
}  // namespace tollgate
