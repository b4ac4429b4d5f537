#include "openapi/openapi_document.h"

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/percent_encoding.h"
#include "core/yaml_to_json.h"

namespace tollgate {
namespace json = boost::json;

namespace {

const json::string* ref_of(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return nullptr;
  auto it = o->find("$ref");
  return it == o->end() ? nullptr : it->value().if_string();
}

}  // namespace

std::string pointer_token(std::string_view name) {
  std::string out;
  for (const char c : name) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

OpenApiDocument::OpenApiDocument(std::string_view text) {
  if (text.size() > kMaxDefinitionBytes)
    throw OpenApiError("the definition is " + std::to_string(text.size()) +
                       " bytes; the limit is " + std::to_string(kMaxDefinitionBytes) + " (6 MB)");
  try {
    root_ = parse_json_or_yaml(text);
  } catch (const std::invalid_argument& e) {
    throw OpenApiError(std::string("the body is neither JSON nor YAML: ") + e.what());
  }
  if (!root_.is_object()) throw OpenApiError("the definition is not an object");
  const json::object& o = root_.get_object();
  const json::value* swagger = o.if_contains("swagger");
  const json::value* openapi = o.if_contains("openapi");
  if (swagger && swagger->is_string() && swagger->get_string() == "2.0") {
    version_ = Version::kSwagger2;
  } else if (openapi && openapi->is_string() && openapi->get_string().starts_with("3.0")) {
    version_ = Version::kOpenApi3;
  } else if (openapi || swagger) {
    throw OpenApiError(
        "only OpenAPI 3.0.x (openapi: 3.0.1) and Swagger 2.0 (swagger: \"2.0\") "
        "are imported");
  } else {
    throw OpenApiError("not an OpenAPI definition: it has no `openapi` or `swagger` field");
  }
  if (const json::value* paths = o.if_contains("paths"); paths && !paths->is_object())
    throw OpenApiError("paths is not an object");
  check_references();
}

const json::value& OpenApiDocument::target_of(std::string_view ref) const {
  if (ref.empty() || ref.front() != '#')
    throw OpenApiError("$ref '" + std::string(ref) +
                       "' points outside the file; only references within it (#/...) are read");
  const std::optional<std::string> pointer = percent_decode(ref.substr(1));
  boost::system::error_code ec;
  const json::value* target = pointer ? root_.find_pointer(*pointer, ec) : nullptr;
  if (!target) throw OpenApiError("$ref '" + std::string(ref) + "' names nothing in the file");
  return *target;
}

void OpenApiDocument::check_references() const {
  // Each reference is followed once, to the first thing it names that is no
  // reference; memo keeps the whole check linear in the document.
  std::unordered_set<std::string_view> settled;
  std::vector<const json::value*> stack{&root_};
  while (!stack.empty()) {
    const json::value* v = stack.back();
    stack.pop_back();
    if (const json::string* ref = ref_of(*v); ref && !settled.contains(*ref)) {
      std::vector<std::string_view> chain;
      std::unordered_set<std::string_view> on_chain;
      for (const json::string* at = ref; at && !settled.contains(*at);
           at = ref_of(target_of(*at))) {
        if (!on_chain.insert(*at).second) {
          std::string cycle;
          for (std::string_view r : chain) cycle += std::string(r) + " -> ";
          throw OpenApiError("a cycle of $refs: " + cycle + std::string(*at));
        }
        chain.push_back(*at);
      }
      settled.insert(chain.begin(), chain.end());
    }
    if (const json::object* o = v->if_object())
      for (const auto& member : *o) stack.push_back(&member.value());
    else if (const json::array* a = v->if_array())
      for (const auto& item : *a) stack.push_back(&item);
  }
}

const json::value& OpenApiDocument::resolve(const json::value& v) const {
  const json::value* at = &v;
  while (const json::string* ref = ref_of(*at)) at = &target_of(*ref);
  return *at;
}

const json::value* OpenApiDocument::member(const json::object& o, std::string_view name) const {
  auto it = o.find(name);
  return it == o.end() ? nullptr : &resolve(it->value());
}

}  // namespace tollgate
