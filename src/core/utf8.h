#pragma once

#include <cstddef>
#include <string_view>

namespace tollgate {

// Where the first byte that is not part of well-formed UTF-8 is (RFC 3629:
// no overlong forms, no surrogates, nothing past U+10FFFF); npos if none.
// Every string tollgate stores is UTF-8, as JSON requires.
std::size_t invalid_utf8_at(std::string_view text);

inline bool is_valid_utf8(std::string_view text) {
  return invalid_utf8_at(text) == std::string_view::npos;
}

}  // namespace tollgate
