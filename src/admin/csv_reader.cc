#include "admin/csv_reader.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/utf8.h"

namespace tollgate {
namespace {

std::string trim(std::string_view s) {
  const std::size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const std::size_t last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

}  // namespace

std::vector<CsvRow> read_csv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (const std::size_t bad = invalid_utf8_at(text); bad != std::string_view::npos) {
    const auto line =
        1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n');
    throw std::invalid_argument("line " + std::to_string(line) + " is not valid UTF-8");
  }
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string cell;
  std::size_t line = 1;
  row.line = line;
  bool cell_started = false;
  auto end_cell = [&] {
    row.cells.push_back(trim(cell));
    cell.clear();
    cell_started = false;
  };
  auto end_row = [&] {
    end_cell();
    const bool blank = row.cells.size() == 1 && row.cells[0].empty();
    if (!blank) rows.push_back(std::move(row));
    row = CsvRow{};
    row.line = line;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if ((c == '"' || c == '\'') && cell.find_first_not_of(" \t") == std::string::npos &&
        !cell_started) {
      const char quote = c;
      const std::size_t quote_line = line;
      cell.clear();
      ++i;
      for (;;) {
        if (i >= text.size())
          throw std::invalid_argument("Line " + std::to_string(quote_line) +
                                      ": unterminated quoted value");
        if (text[i] == quote) {
          if (quote == '"' && i + 1 < text.size() && text[i + 1] == '"') {
            cell += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        cell += text[i++];
      }
      cell_started = true;
      continue;
    }
    if (c == ',') {
      end_cell();
    } else if (c == '\n') {
      ++line;
      end_row();
    } else if (c != '\r') {
      if (!cell_started) cell += c;
    }
    ++i;
  }
  if (!cell.empty() || cell_started || !row.cells.empty()) end_row();
  return rows;
}

}  // namespace tollgate
