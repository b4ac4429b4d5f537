#include "catalog/route_tree.h"

namespace tollgate {
namespace {

// Splits off the first non-empty segment of `rest`, skipping slashes.
std::string_view next_segment(std::string_view& rest) {
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  const std::size_t end = rest.find('/');
  std::string_view segment = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return segment;
}

bool only_slashes(std::string_view s) { return s.find_first_not_of('/') == std::string_view::npos; }

}  // namespace

std::string_view PathParams::find(std::string_view name) const {
  for (std::size_t i = 0; i < size; ++i)
    if (items[i].name == name) return items[i].value;
  return {};
}

RouteTree::RouteTree() { nodes_.emplace_back(); }

std::uint32_t RouteTree::child(std::uint32_t parent, std::string_view part) {
  const auto next = static_cast<std::uint32_t>(nodes_.size());
  if (part.size() > 2 && part.front() == '{' && part.back() == '}') {
    std::string_view name = part.substr(1, part.size() - 2);
    const bool greedy = name.back() == '+';
    if (greedy) name.remove_suffix(1);
    std::uint32_t& slot = greedy ? nodes_[parent].greedy_child : nodes_[parent].param_child;
    if (slot != kNoMatch) return slot;
    slot = next;
    (greedy ? nodes_[parent].greedy_name : nodes_[parent].param_name) = std::string(name);
    nodes_.emplace_back();
    return next;
  }
  auto [it, inserted] = nodes_[parent].literals.emplace(std::string(part), next);
  if (inserted) nodes_.emplace_back();
  return it->second;
}

void RouteTree::add(std::string_view resource_path, std::string_view http_method,
                    std::uint32_t method_index) {
  std::uint32_t node = 0;
  std::string_view rest = resource_path;
  while (!only_slashes(rest)) node = child(node, next_segment(rest));
  nodes_[node].methods.emplace_back(std::string(http_method), method_index);
}

std::uint32_t RouteTree::method_at(const Node& node, std::string_view http_method) const {
  std::uint32_t any = kNoMatch;
  for (const auto& [name, index] : node.methods) {
    if (name == http_method) return index;
    if (name == "ANY") any = index;
  }
  return any;
}

bool RouteTree::match_from(std::uint32_t node, std::string_view rest, std::string_view http_method,
                           PathParams& params, std::uint32_t& out) const {
  const Node& n = nodes_[node];
  if (only_slashes(rest)) {
    out = method_at(n, http_method);
    return out != kNoMatch;
  }
  std::string_view after = rest;
  const std::string_view segment = next_segment(after);

  if (auto it = n.literals.find(segment); it != n.literals.end())
    if (match_from(it->second, after, http_method, params, out)) return true;

  if (n.param_child != kNoMatch && params.size < kMaxPathParams) {
    params.items[params.size++] = {n.param_name, segment};
    if (match_from(n.param_child, after, http_method, params, out)) return true;
    --params.size;
  }

  if (n.greedy_child != kNoMatch && params.size < kMaxPathParams) {
    std::string_view value = rest;
    while (!value.empty() && value.front() == '/') value.remove_prefix(1);
    while (!value.empty() && value.back() == '/') value.remove_suffix(1);
    out = method_at(nodes_[n.greedy_child], http_method);
    if (out != kNoMatch) {
      params.items[params.size++] = {n.greedy_name, value};
      return true;
    }
  }
  return false;
}

std::uint32_t RouteTree::match(std::string_view path, std::string_view http_method,
                               PathParams& params) const {
  params.size = 0;
  std::uint32_t out = kNoMatch;
  return match_from(0, path, http_method, params, out) ? out : kNoMatch;
}

}  // namespace tollgate
