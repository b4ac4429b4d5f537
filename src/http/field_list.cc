#include "http/field_list.h"

#include <boost/beast/core/string.hpp>

namespace tollgate {

void FieldList::add(http::field id, std::string_view name, std::string_view value) {
  Span s{id, static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(name.size()), 0,
         static_cast<std::uint32_t>(value.size())};
  arena_.append(name);
  s.value_at = static_cast<std::uint32_t>(arena_.size());
  arena_.append(value);
  spans_.push_back(s);
}

void FieldList::add_from(const char* block, http::field id, std::string_view name,
                         std::string_view value) {
  const auto at = [&](std::string_view part) {
    return static_cast<std::uint32_t>(arena_.size() +
                                      static_cast<std::size_t>(part.data() - block));
  };
  spans_.push_back({id, at(name), static_cast<std::uint32_t>(name.size()), at(value),
                    static_cast<std::uint32_t>(value.size())});
}

std::string_view FieldList::find(http::field id) const {
  for (std::size_t i = 0; i < spans_.size(); ++i)
    if (spans_[i].id == id) return (*this)[i].value;
  return {};
}

std::string_view FieldList::find(std::string_view name) const {
  for (std::size_t i = 0; i < spans_.size(); ++i) {
    const Field f = (*this)[i];
    if (beast::iequals(f.name, name)) return f.value;
  }
  return {};
}

bool FieldList::contains(http::field id) const {
  for (const Span& s : spans_)
    if (s.id == id) return true;
  return false;
}

bool connection_lists(std::string_view connection_value, std::string_view name) {
  std::string_view rest = connection_value;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    std::string_view token = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (beast::iequals(token, name)) return true;
  }
  return false;
}

bool is_hop_by_hop(http::field f) {
  switch (f) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::proxy_authenticate:
    case http::field::proxy_authorization:
    case http::field::te:
    case http::field::trailer:
    case http::field::transfer_encoding:
    case http::field::upgrade:
      return true;
    default:
      return false;
  }
}

}  // namespace tollgate
