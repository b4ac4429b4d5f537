// Fuzzes the change log entries a node reads from Redis: the input is an
// entry's text. It is refused (std::invalid_argument), asks for a rebuild,
// or names keys that written again read back the same; nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/redis_layout.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tollgate::redis_layout;
  const std::string_view entry(reinterpret_cast<const char*>(data), size);
  std::optional<std::vector<LoggedKey>> keys;
  try {
    keys = parse_logged_keys(entry);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  if (!keys) return 0;
  std::string again;
  for (const LoggedKey& k : *keys) append_logged_key(again, k.id, k.former_value);
  const std::optional<std::vector<LoggedKey>> reread = parse_logged_keys(again);
  if (!reread || reread->size() != keys->size()) std::abort();
  for (std::size_t i = 0; i < keys->size(); ++i)
    if ((*reread)[i].id != (*keys)[i].id || (*reread)[i].former_value != (*keys)[i].former_value)
      std::abort();
  return 0;
}
