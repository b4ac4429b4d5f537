#pragma once

// The position token of a store listing: the id of the page's first item
// and, after a '.', where that item sorts (its creation time or its name).
// A listing goes on from where the item sorted, so an item deleted between
// two pages does not stop it. A token of an id alone, as earlier versions
// wrote, is looked up.

#include <optional>
#include <string>
#include <string_view>

namespace tollgate {

struct PageToken {
  std::string id;
  std::optional<std::string> sort;
};

// Ids are letters and digits, so the first '.' ends one.
inline PageToken parse_page_token(std::string_view token) {
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos) return {std::string(token), std::nullopt};
  return {std::string(token.substr(0, dot)), std::string(token.substr(dot + 1))};
}

inline std::string page_token(std::string_view id, std::string_view sort) {
  std::string token(id);
  token += '.';
  token += sort;
  return token;
}

}  // namespace tollgate
