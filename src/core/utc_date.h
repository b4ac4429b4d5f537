#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate {

// A proleptic Gregorian calendar date in UTC.
struct CivilDate {
  int year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
  auto operator<=>(const CivilDate&) const = default;
};

// Days since 1970-01-01 for a civil date, and back.
std::int64_t days_from_civil(CivilDate d);
CivilDate civil_from_days(std::int64_t days);

// Day number (days since the epoch) of a Unix time in seconds; floors for
// negative times.
std::int64_t day_of_unix_seconds(std::int64_t seconds);

// 0 = Sunday ... 6 = Saturday.
unsigned weekday_from_days(std::int64_t days);

// "yyyy-MM-dd".
std::string format_date(std::int64_t days);
std::optional<std::int64_t> parse_date(std::string_view text);

// "yyyy-MM-ddTHH:mm:ssZ" of a Unix time in seconds.
std::string format_timestamp(std::int64_t seconds);

}  // namespace tollgate
