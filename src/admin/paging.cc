#include "admin/paging.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tollgate {

std::size_t page_limit(const AdminRequest& request) {
  std::size_t limit = 25;
  if (auto text = request.query("limit")) {
    long long value = 0;
    auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || ptr != text->data() + text->size())
      bad_request("Invalid limit '" + *text + "': must be an integer");
    // AWS answers a normal page for -1; past 500 we clamp.
    if (value > 0) limit = static_cast<std::size_t>(std::min<long long>(value, 500));
  }
  return limit;
}

namespace {

bool is_id(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// Whether `token` could be a key of a listing in `order`.
bool well_formed(std::string_view token, ListingOrder order) {
  switch (order) {
    case ListingOrder::kCreated:
      return token.size() > 21 && token[20] == '.' &&
             std::all_of(token.begin(), token.begin() + 20,
                         [](char c) { return c >= '0' && c <= '9'; }) &&
             is_id(token.substr(21));
    case ListingOrder::kPath:
      return token.starts_with('/');
    case ListingOrder::kId:
      return is_id(token);
  }
  return false;
}

}  // namespace

PageRange page_of(const std::vector<std::string>& keys, ListingOrder order,
                  const AdminRequest& request) {
  const std::size_t limit = page_limit(request);
  PageRange page;
  if (auto position = request.query("position"); position && !position->empty()) {
    if (!well_formed(*position, order)) bad_request("Invalid position parameter");
    page.begin = static_cast<std::size_t>(std::lower_bound(keys.begin(), keys.end(), *position) -
                                          keys.begin());
  }
  page.end = std::min(keys.size(), page.begin + limit);
  if (page.end < keys.size()) page.next_position = keys[page.end];
  return page;
}

std::string created_order_key(std::int64_t created, const std::string& id) {
  return fmt::format("{:020}.{}", created, id);
}

boost::json::object page_json(boost::json::array items, const PageRange& page) {
  return page_json(std::move(items), page.next_position);
}

boost::json::object page_json(boost::json::array items, const std::string& next_position) {
  boost::json::object o{{"item", std::move(items)}};
  if (!next_position.empty()) o["position"] = next_position;
  return o;
}

}  // namespace tollgate
