// Differential: whatever the whole-message parser reads, Beast's parser (as
// MessageReader drives it) must read from the same bytes, to the same
// message. The first byte picks request or response, a HEAD request's
// response, and tight or loose limits, so that each limit's edge is met.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "whole_message_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tollgate;
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool tight = (flags & 4) != 0;
  const WholeMessageLimits limits{tight ? 96u : 8192u, tight ? 8u : 65536u,
                                  tight ? RequestRules{16, 3} : RequestRules{}};
  const auto r = testing::read_both_ways(wire, limits, (flags & 1) != 0, (flags & 2) != 0);
  if (r.whole_used != 0 && !r.agree()) __builtin_trap();
  return 0;
}
