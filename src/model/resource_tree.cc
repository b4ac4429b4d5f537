#include "model/resource_tree.h"

#include <stdexcept>
#include <unordered_map>

#include "core/ids.h"
#include "model/validate.h"

namespace tollgate {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw std::invalid_argument("resource " + path + ": " + why);
}

std::string parent_path(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool is_greedy(const std::string& part) { return part.size() > 2 && part.ends_with("+}"); }

class TreeBuilder {
 public:
  explicit TreeBuilder(const std::vector<Resource>& existing) {
    for (const auto& r : existing) old_ids_.emplace(r.path, r.id);
  }

  Resource& ensure(const std::string& path) {
    auto it = by_path_.find(path);
    if (it != by_path_.end()) return it->second;
    Resource r;
    r.path = path;
    auto old = old_ids_.find(path);
    r.id = old != old_ids_.end() ? old->second : random_id(path == "/" ? 10 : 6);
    if (path != "/") {
      r.path_part = path.substr(path.rfind('/') + 1);
      try {
        validate_path_part(r.path_part);
      } catch (const std::invalid_argument& e) {
        fail(path, e.what());
      }
      const Resource& parent = ensure(parent_path(path));
      if (is_greedy(parent.path_part)) fail(path, "a greedy {proxy+} resource has no children");
      if (r.path_part.front() == '{') {
        auto [param, fresh] = param_child_.emplace(parent.path, r.path_part);
        if (!fresh && param->second != r.path_part)
          fail(path, "a sibling (" + param->second +
                         ") already has a variable path part -- only one is allowed");
      }
      r.parent_id = parent.id;
    }
    return by_path_.emplace(path, std::move(r)).first->second;
  }

  std::vector<Resource> take() {
    std::vector<Resource> out;
    out.reserve(by_path_.size());
    for (auto& [path, r] : by_path_) out.push_back(std::move(r));
    return out;
  }

 private:
  std::unordered_map<std::string, std::string> old_ids_;
  std::map<std::string, Resource> by_path_;
  std::unordered_map<std::string, std::string> param_child_;  // parent path → {param}
};

}  // namespace

std::vector<Resource> build_resource_tree(const PathMethods& paths,
                                          const std::vector<Resource>& existing) {
  TreeBuilder tree(existing);
  tree.ensure("/");
  for (const auto& [path, methods] : paths) {
    std::string normalized = path;
    while (normalized.size() > 1 && normalized.back() == '/') normalized.pop_back();
    if (normalized.empty() || normalized.front() != '/') fail(path, "a path starts with /");
    if (normalized.find("//") != std::string::npos) fail(path, "empty path part");
    Resource& r = tree.ensure(normalized);
    for (const auto& [name, method] : methods) r.methods[name] = method;
  }
  return tree.take();
}

PathMethods path_methods_of(const std::vector<Resource>& resources) {
  PathMethods out;
  for (const auto& r : resources) out[r.path] = r.methods;
  return out;
}

}  // namespace tollgate
