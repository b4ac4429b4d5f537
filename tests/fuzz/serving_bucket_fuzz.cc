// Fuzzes the serving buckets a node reads from Redis at its start: the input
// is a bucket's value. It is refused (std::invalid_argument), or its entries
// (each key's flag, value, plans and customer) written again read back the
// same; nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/redis_layout.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tollgate::redis_layout;
  const std::string_view bucket(reinterpret_cast<const char*>(data), size);
  std::string again;
  try {
    for (const auto& [id, entry] : bucket_entries(bucket)) {
      const ServingEntry e = parse_serving_entry(entry);
      const PlansSince plans = plans_of_entry(e.plans);
      if (e.value.find(kSep) != std::string_view::npos) std::abort();
      append_bucket_entry(again, id, serving_entry(e.enabled, e.value, plans, e.customer_id));
    }
  } catch (const std::invalid_argument&) {
    return 0;
  }
  // What was written reads back as what was read.
  std::string twice;
  for (const auto& [id, entry] : bucket_entries(again)) {
    const ServingEntry e = parse_serving_entry(entry);
    append_bucket_entry(twice, id,
                        serving_entry(e.enabled, e.value, plans_of_entry(e.plans), e.customer_id));
  }
  if (twice != again) std::abort();
  return 0;
}
