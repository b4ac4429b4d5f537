#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tollgate {

// Where a daily export record stands in the order exports write them: by
// day; within a day the usage by plan, key and customer, then the
// adjustments (UpdateUsage corrections) by id. Its id says the same, and is
// the cursor an export resumes after:
//
//   2026-11-14/gold/k1abc/acme                  usage of a closed day
//   2026-11-14/gold/k1abc/acme/adjustment-17    a correction
//   2026-11-14/gold/k1abc/acme/open-523         usage of a day still open,
//                                               523 requests so far
//
// The plan, key and customer are percent-encoded where they hold '/', '%',
// spaces, controls or bytes past ASCII, so the parts always split apart. A
// key with no customer has an empty last part.
struct RecordPosition {
  enum class Kind : std::uint8_t { kUsage, kAdjustment };
  std::int64_t day = -1;  // -1: before every record
  Kind kind = Kind::kUsage;
  std::string plan_id;
  std::string key_id;
  std::string customer_id;
  std::int64_t adjustment_id = 0;
  // A cursor from before ids named the customer ("{day}/{plan}/{key}"):
  // after the key's records of that day, whatever their customers.
  bool whole_key = false;
};

// The id of a final record (usage of a closed day, or an adjustment).
std::string record_id(const RecordPosition& at);
// The id of an open day's usage record, so far at `count`: never a final
// record's id, and the same only for the same count, so that a billing
// system deduplicating by id never keeps it in place of the final one.
std::string provisional_record_id(const RecordPosition& at, std::int64_t count);
// The position of a final record's id (or of an older cursor, without its
// customer). Throws std::invalid_argument for anything else, a provisional
// id included.
RecordPosition parse_record_id(std::string_view id);

}  // namespace tollgate
