#include "metering/record_id.h"

#include <charconv>
#include <stdexcept>
#include <vector>

#include "core/percent_encoding.h"
#include "core/utc_date.h"

namespace tollgate {
namespace {

void append_part(std::string& out, std::string_view part) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '/';
  for (const char c : part) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '%' || c == '/') {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += c;
    }
  }
}

std::string usage_id(const RecordPosition& at) {
  std::string id = format_date(at.day);
  append_part(id, at.plan_id);
  append_part(id, at.key_id);
  append_part(id, at.customer_id);
  return id;
}

[[noreturn]] void malformed(std::string_view id, const char* why) {
  throw std::invalid_argument("malformed cursor '" + std::string(id) + "': " + why);
}

std::string decoded(std::string_view id, std::string_view part) {
  std::optional<std::string> text = percent_decode(part);
  if (!text) malformed(id, "a bad %-escape");
  return std::move(*text);
}

}  // namespace

std::string record_id(const RecordPosition& at) {
  std::string id = usage_id(at);
  if (at.kind == RecordPosition::Kind::kAdjustment)
    id += "/adjustment-" + std::to_string(at.adjustment_id);
  return id;
}

std::string provisional_record_id(const RecordPosition& at, std::int64_t count) {
  return usage_id(at) + "/open-" + std::to_string(count);
}

RecordPosition parse_record_id(std::string_view id) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t slash = id.find('/', start);
    parts.push_back(id.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 3 || parts.size() > 5) malformed(id, "not the id of a usage export's record");
  RecordPosition at;
  const std::optional<std::int64_t> day = parse_date(parts[0]);
  if (!day) malformed(id, "it does not begin with a day, yyyy-MM-dd");
  at.day = *day;
  at.plan_id = decoded(id, parts[1]);
  at.key_id = decoded(id, parts[2]);
  if (parts.size() == 3) {
    // Past any customer: no UTF-8 text has the byte 0xFF.
    at.customer_id = "\xff";
    at.whole_key = true;
    return at;
  }
  at.customer_id = decoded(id, parts[3]);
  if (parts.size() == 5) {
    constexpr std::string_view kAdjustment = "adjustment-";
    if (parts[4].starts_with("open-"))
      malformed(id,
                "an open day's record is provisional; resume after the cursor the export printed");
    const std::string_view number = parts[4].substr(std::min(kAdjustment.size(), parts[4].size()));
    const auto [end, error] =
        std::from_chars(number.data(), number.data() + number.size(), at.adjustment_id);
    if (!parts[4].starts_with(kAdjustment) || error != std::errc() ||
        end != number.data() + number.size())
      malformed(id, "not the id of a usage export's record");
    at.kind = RecordPosition::Kind::kAdjustment;
  }
  return at;
}

}  // namespace tollgate
