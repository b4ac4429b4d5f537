#include "admin/admin_request.h"

#include <algorithm>

#include "admin/admin_error.h"
#include "core/percent_encoding.h"
#include "core/utf8.h"

namespace tollgate {

AdminRequest::AdminRequest(const HttpRequest& request, std::string actor)
    : method_(request.method()),
      body_(request.body()),
      actor_(std::move(actor)),
      accept_(request[http::field::accept]) {
  const std::string_view target = request.target();
  const std::size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  while (!path.empty()) {
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    if (path.empty()) break;
    const std::size_t slash = path.find('/');
    auto segment = percent_decode(path.substr(0, slash));
    if (!segment || !is_valid_utf8(*segment))
      bad_request("Malformed percent-encoding in the request path (it must decode to UTF-8)");
    segments_.push_back(std::move(*segment));
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash);
  }
  for (const auto& [raw_name, raw_value] :
       split_query(q == std::string_view::npos ? "" : target.substr(q + 1))) {
    auto name = percent_decode(raw_name);
    auto value = percent_decode(raw_value);
    if (!name || !value || !is_valid_utf8(*name) || !is_valid_utf8(*value))
      bad_request("Malformed percent-encoding in the query string (it must decode to UTF-8)");
    query_.emplace(std::move(*name), std::move(*value));
  }
}

std::optional<std::string> AdminRequest::query(const std::string& name) const {
  auto it = query_.find(name);
  if (it == query_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> AdminRequest::query_all(const std::string& name) const {
  std::vector<std::string> out;
  auto [first, last] = query_.equal_range(name);
  for (auto it = first; it != last; ++it) out.push_back(it->second);
  return out;
}

bool AdminRequest::query_flag(const std::string& name) const {
  std::string v = query(name).value_or("");
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v == "true";
}

boost::json::object AdminRequest::json() const {
  if (body_.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body_, ec);
  if (ec) bad_request("Could not parse request body into json: " + ec.message());
  if (!v.is_object()) bad_request("Request body must be a JSON object");
  return std::move(v.get_object());
}

}  // namespace tollgate
