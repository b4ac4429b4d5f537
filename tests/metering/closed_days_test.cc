#include "metering/closed_days.h"

#include <gtest/gtest.h>

#include "core/utc_date.h"

namespace tollgate {
namespace {

const std::int64_t kToday = days_from_civil({2026, 12, 1});
const UnixNanos kNow = kToday * 86400 * kNanosPerSecond + 3600 * kNanosPerSecond;

TEST(ClosedDays, TodayIsOpenAndEveryEarlierDayClosedWithNoNodeBehind) {
  const ClosedDays closed =
      closed_days({{"a", kToday, true, 0}, {"b", kToday - 9, false, 0}}, kNow);
  EXPECT_EQ(closed.first_open_day, kToday);
  EXPECT_NE(closed.why_open.find("2026-12-01 has not ended"), std::string::npos);
}

TEST(ClosedDays, ARunningNodeBehindKeepsItsFirstUnwrittenDayOpen) {
  const ClosedDays closed = closed_days(
      {{"a", kToday, true, 0}, {"b", kToday - 2, true, (kToday - 2) * 86400 + 5}}, kNow);
  EXPECT_EQ(closed.first_open_day, kToday - 2);
  EXPECT_NE(closed.why_open.find("node b"), std::string::npos);
  EXPECT_NE(closed.why_open.find("2026-11-29T00:00:05Z"), std::string::npos);
}

TEST(ClosedDays, ADayThisMachineHoldsForAStoreItCouldNotWriteIsOpen) {
  const ClosedDays closed = closed_days({{"a", kToday, false, 0}}, kNow, kToday - 3);
  EXPECT_EQ(closed.first_open_day, kToday - 3);
  EXPECT_NE(closed.why_open.find("counters/held"), std::string::npos);
}

TEST(ClosedDays, ADayEndsAFewSecondsAfterItsMidnight) {
  const UnixNanos midnight = kToday * 86400 * kNanosPerSecond;
  EXPECT_EQ(closed_days({}, midnight + kNanosPerSecond).first_open_day, kToday - 1);
  EXPECT_EQ(closed_days({}, midnight + 10 * kNanosPerSecond).first_open_day, kToday);
}

}  // namespace
}  // namespace tollgate
