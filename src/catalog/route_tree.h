#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tollgate {

inline constexpr std::size_t kMaxPathParams = 16;

struct PathParam {
  std::string_view name;
  std::string_view value;  // raw, as in the request path
};

// Path parameters captured by a match; views into the tree and the request.
// Only the first `size` items are set: one is made per request, and zeroing
// all of them would cost more than the match.
struct PathParams {
  PathParams() {}  // leaves `items` unset
  union {
    PathParam items[kMaxPathParams];
  };
  std::size_t size = 0;

  std::string_view find(std::string_view name) const;
};

// Resources of one deployed stage, matched segment by segment: a literal
// segment wins over {param}, which wins over a greedy {proxy+}; a method wins
// over ANY. Immutable once built; matching allocates nothing.
class RouteTree {
 public:
  static constexpr std::uint32_t kNoMatch = UINT32_MAX;

  RouteTree();
  // Registers `http_method` (or "ANY") on the resource at `resource_path`
  // ("/", "/pets/{petId}", "/files/{proxy+}") under `method_index`.
  void add(std::string_view resource_path, std::string_view http_method,
           std::uint32_t method_index);
  // The method index serving (`path`, `http_method`), or kNoMatch.
  std::uint32_t match(std::string_view path, std::string_view http_method,
                      PathParams& params) const;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Node {
    std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> literals;
    std::uint32_t param_child = kNoMatch;
    std::string param_name;
    std::uint32_t greedy_child = kNoMatch;
    std::string greedy_name;
    std::vector<std::pair<std::string, std::uint32_t>> methods;
  };

  std::uint32_t method_at(const Node& node, std::string_view http_method) const;
  bool match_from(std::uint32_t node, std::string_view rest, std::string_view http_method,
                  PathParams& params, std::uint32_t& out) const;
  std::uint32_t child(std::uint32_t parent, std::string_view part);

  std::vector<Node> nodes_;
};

}  // namespace tollgate
