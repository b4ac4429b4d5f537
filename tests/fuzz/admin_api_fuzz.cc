// Fuzzes the management API: the input's first line is "METHOD TARGET", the
// rest the JSON body. Any answer is fine but a crash or a 5xx.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "admin_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static tollgate::AdminFixture admin;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t line_end = std::min(input.find('\n'), input.size());
  const std::string_view line = input.substr(0, line_end);
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return 0;
  const tollgate::http::verb method = tollgate::http::string_to_verb(line.substr(0, space));
  const std::string_view target = line.substr(space + 1);
  if (method == tollgate::http::verb::unknown || target.empty() || target.front() != '/') return 0;
  // Beast refuses to build a request whose target has bytes HTTP forbids.
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return 0;
  const std::string_view body =
      line_end < input.size() ? input.substr(line_end + 1) : std::string_view();
  tollgate::require_client_error_or_success(
      admin.call(method, std::string(target), std::string(body)));
  return 0;
}
