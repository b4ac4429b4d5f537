#pragma once

// RFC 6901 escapes, as patch paths and method-setting keys carry names:
// "~1" stands for '/' and "~0" for '~'.

#include <string>
#include <string_view>

namespace tollgate {

inline std::string unescape_json_pointer(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '~' && i + 1 < text.size() && (text[i + 1] == '0' || text[i + 1] == '1'))
      out += text[++i] == '0' ? '~' : '/';
    else
      out += text[i];
  }
  return out;
}

}  // namespace tollgate
