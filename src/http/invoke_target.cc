#include "http/invoke_target.h"

namespace tollgate {
namespace {

// Pops "/segment" off the front of `rest`.
std::string_view pop_segment(std::string_view& rest) {
  if (rest.empty() || rest.front() != '/') return {};
  rest.remove_prefix(1);
  const std::size_t end = rest.find('/');
  std::string_view segment = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return segment;
}

std::string_view or_root(std::string_view path) {
  return path.empty() ? std::string_view("/") : path;
}

}  // namespace

bool parse_invoke_target(std::string_view host, std::string_view target, InvokeTarget& out) {
  const std::size_t q = target.find('?');
  out.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  std::string_view rest = target.substr(0, q);

  constexpr std::string_view kHostMarker = ".execute-api.";
  if (const std::size_t marker = host.find(kHostMarker);
      marker != std::string_view::npos && marker > 0) {
    out.api_id = host.substr(0, marker);
    out.stage = pop_segment(rest);
    out.path = or_root(rest);
    return !out.stage.empty();
  }

  if (pop_segment(rest) != "restapis") return false;
  out.api_id = pop_segment(rest);
  out.stage = pop_segment(rest);
  if (out.api_id.empty() || out.stage.empty() || pop_segment(rest) != "_user_request_")
    return false;
  out.path = or_root(rest);
  return true;
}

}  // namespace tollgate
