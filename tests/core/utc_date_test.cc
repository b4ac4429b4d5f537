#include "core/utc_date.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

TEST(UtcDate, RoundTripsAcrossCenturies) {
  for (std::int64_t d = -800000; d < 800000; d += 37)
    EXPECT_EQ(days_from_civil(civil_from_days(d)), d);
}

TEST(UtcDate, KnownDates) {
  EXPECT_EQ(days_from_civil({1970, 1, 1}), 0);
  EXPECT_EQ(days_from_civil({2000, 3, 1}), 11017);
  EXPECT_EQ(format_date(days_from_civil({2024, 2, 29})), "2024-02-29");
  EXPECT_EQ(weekday_from_days(0), 4u);  // Thursday
  EXPECT_EQ(weekday_from_days(-4), 0u);
  EXPECT_EQ(weekday_from_days(-5), 6u);
}

TEST(UtcDate, ParsesOnlyRealDates) {
  EXPECT_EQ(parse_date("2024-02-29"), days_from_civil({2024, 2, 29}));
  EXPECT_FALSE(parse_date("2023-02-29"));
  EXPECT_FALSE(parse_date("2023-13-01"));
  EXPECT_FALSE(parse_date("2023-1-01"));
  EXPECT_FALSE(parse_date("yesterday"));
}

TEST(UtcDate, DayOfNegativeSecondsFloors) {
  EXPECT_EQ(day_of_unix_seconds(-1), -1);
  EXPECT_EQ(day_of_unix_seconds(86399), 0);
  EXPECT_EQ(day_of_unix_seconds(86400), 1);
}

}  // namespace
}  // namespace tollgate
