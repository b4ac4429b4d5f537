#pragma once

// The position token of a store listing: the id of the page's first item
// and, after a '.', where that item sorts (its creation time or its name).
// A listing goes on from where the item sorted, so an item deleted between
// two pages does not stop it. A token of an id alone, as earlier versions
// wrote, is looked up.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate {

struct PageToken {
  std::string id;
  std::optional<std::string> sort;
};

// Ids never hold a '.' (they are letters, digits, '-' and '_'), so the
// first '.' ends one.
inline PageToken parse_page_token(std::string_view token) {
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos) return {std::string(token), std::nullopt};
  return {std::string(token.substr(0, dot)), std::string(token.substr(dot + 1))};
}

// The creation time a token gives, or nothing when it gives no number.
inline std::optional<std::int64_t> created_of(const PageToken& token) {
  if (!token.sort) return std::nullopt;
  std::int64_t created = 0;
  const std::string& text = *token.sort;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), created);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return created;
}

inline std::string page_token(std::string_view id, std::string_view sort) {
  std::string token(id);
  token += '.';
  token += sort;
  return token;
}

}  // namespace tollgate
