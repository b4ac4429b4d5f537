#include "model/request_parameters.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/ascii.h"

namespace tollgate {
namespace {

// "path.NAME", "querystring.NAME" or "header.NAME" after `prefix`.
std::optional<std::pair<ParameterPlace, std::string_view>> place_and_name(std::string_view text,
                                                                          std::string_view prefix) {
  if (!text.starts_with(prefix)) return std::nullopt;
  text.remove_prefix(prefix.size());
  static constexpr std::array<std::pair<std::string_view, ParameterPlace>, 3> kPlaces = {{
      {"path.", ParameterPlace::kPath},
      {"querystring.", ParameterPlace::kQuery},
      {"header.", ParameterPlace::kHeader},
  }};
  for (const auto& [word, place] : kPlaces)
    if (text.starts_with(word)) return std::pair{place, text.substr(word.size())};
  return std::nullopt;
}

// RFC 9110 token characters: what a header field name is made of.
bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Fields that frame the backend request or route it: the gateway writes them.
bool frames_the_message(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kFraming = {
      "host", "content-length", "transfer-encoding", "connection", "upgrade",
      "te",   "trailer",        "keep-alive"};
  const std::string lowered = ascii_lower(name);
  return std::find(kFraming.begin(), kFraming.end(), lowered) != kFraming.end();
}

bool has_control_byte(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

ParsedRequestParameter parse_request_parameter(std::string_view key, std::string_view value) {
  const auto target = place_and_name(key, "integration.request.");
  if (!target || target->second.empty())
    return {std::nullopt, "Invalid mapping expression specified: " + std::string(key) +
                              " (the target must be integration.request.path|querystring|"
                              "header.NAME)"};
  RequestParameter p;
  p.target = target->first;
  p.name = std::string(target->second);
  if (p.target == ParameterPlace::kHeader && !is_token(p.name))
    return {std::nullopt,
            "Invalid mapping expression specified: " + std::string(key) + " (not a header name)"};
  if (p.target == ParameterPlace::kHeader && frames_the_message(p.name))
    return {std::nullopt, "Invalid mapping expression specified: " + std::string(key) +
                              " (the gateway sets this header itself)"};
  if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
    p.source = ParameterPlace::kStatic;
    p.from = std::string(value.substr(1, value.size() - 2));
    if (has_control_byte(p.from))
      return {std::nullopt, "Invalid mapping expression specified: " + std::string(key) +
                                " (a static value holds a control character)"};
    return {std::move(p), {}};
  }
  const auto source = place_and_name(value, "method.request.");
  if (!source || source->second.empty())
    return {std::nullopt, "Invalid mapping expression specified: " + std::string(value) + " for " +
                              std::string(key) +
                              " (tollgate maps method.request.path|querystring|header.NAME "
                              "or a 'static' value)"};
  p.source = source->first;
  p.from = std::string(source->second);
  return {std::move(p), {}};
}

}  // namespace tollgate
