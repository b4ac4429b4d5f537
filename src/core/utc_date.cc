#include "core/utc_date.h"

#include <charconv>
#include <cstdio>

namespace tollgate {

// Howard Hinnant's days_from_civil / civil_from_days algorithms.
std::int64_t days_from_civil(CivilDate d) {
  const std::int64_t y = static_cast<std::int64_t>(d.year) - (d.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = d.month > 2 ? d.month - 3 : d.month + 9;
  const unsigned doy = (153 * mp + 2) / 5 + d.day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CivilDate civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
  return CivilDate{static_cast<int>(year), month, day};
}

std::int64_t day_of_unix_seconds(std::int64_t seconds) {
  constexpr std::int64_t kDay = 86400;
  return seconds >= 0 ? seconds / kDay : -((-seconds + kDay - 1) / kDay);
}

unsigned weekday_from_days(std::int64_t days) {
  // 1970-01-01 was a Thursday (4).
  return static_cast<unsigned>(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

std::string format_date(std::int64_t days) {
  const CivilDate d = civil_from_days(days);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

std::string format_timestamp(std::int64_t seconds) {
  const std::int64_t day = day_of_unix_seconds(seconds);
  const std::int64_t in_day = seconds - day * 86400;
  char buf[16];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02dZ", static_cast<int>(in_day / 3600),
                static_cast<int>(in_day / 60 % 60), static_cast<int>(in_day % 60));
  return format_date(day) + buf;
}

std::optional<std::int64_t> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    int value = 0;
    const char* first = text.data() + pos;
    auto [ptr, ec] = std::from_chars(first, first + len, value);
    if (ec != std::errc{} || ptr != first + len) return std::nullopt;
    return value;
  };
  const auto year = number(0, 4), month = number(5, 2), day = number(8, 2);
  if (!year || !month || !day || *month < 1 || *month > 12 || *day < 1) return std::nullopt;
  const CivilDate date{*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)};
  const std::int64_t days = days_from_civil(date);
  if (civil_from_days(days) != date) return std::nullopt;  // e.g. 2023-02-30
  return days;
}

}  // namespace tollgate
