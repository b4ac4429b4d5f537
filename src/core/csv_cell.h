#pragma once

#include <string>

namespace tollgate {

// A CSV cell: quoted, with quotes doubled, when it holds a comma, quote or
// line break (RFC 4180).
inline std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace tollgate
