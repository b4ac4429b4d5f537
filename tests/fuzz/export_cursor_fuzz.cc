// Fuzzes the cursor `usage export --after` takes: the input is the cursor.
// A cursor is refused (std::invalid_argument) or names a position whose id
// is the cursor again, parsed to the same position; nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "metering/record_id.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view cursor(reinterpret_cast<const char*>(data), size);
  tollgate::RecordPosition at;
  try {
    at = tollgate::parse_record_id(cursor);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  const tollgate::RecordPosition again = tollgate::parse_record_id(tollgate::record_id(at));
  if (again.day != at.day || again.kind != at.kind || again.plan_id != at.plan_id ||
      again.key_id != at.key_id || again.customer_id != at.customer_id ||
      again.adjustment_id != at.adjustment_id)
    std::abort();
  return 0;
}
