#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tollgate {

struct CsvRow {
  std::size_t line = 0;  // 1-based line the row starts on
  std::vector<std::string> cells;
};

// Splits CSV text into rows of trimmed cells. A cell may be quoted with double
// quotes ("" is a literal quote) or, as API Gateway's key import allows for
// lists of usage plan ids, with single quotes. Handles CRLF, a UTF-8 BOM and
// blank lines. Throws std::invalid_argument on an unterminated quote or text
// that is not UTF-8.
std::vector<CsvRow> read_csv(std::string_view text);

}  // namespace tollgate
