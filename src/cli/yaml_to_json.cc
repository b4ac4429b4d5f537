#include "cli/yaml_to_json.h"

#include <charconv>
#include <stdexcept>
#include <string>

#include "core/utf8.h"

namespace tollgate {
namespace {

// JSON, and so the store, holds UTF-8 text only.
const std::string& utf8_scalar(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (!is_valid_utf8(text))
    throw std::invalid_argument("line " + std::to_string(node.Mark().line + 1) +
                                ": text is not valid UTF-8");
  return text;
}

boost::json::value scalar_to_json(const YAML::Node& node) {
  const std::string& text = utf8_scalar(node);
  if (node.Tag() == "!") return boost::json::string(text);  // quoted
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text == "null" || text == "~") return nullptr;
  const char* first = text.data();
  const char* last = first + text.size();
  std::int64_t integer = 0;
  if (auto [ptr, ec] = std::from_chars(first, last, integer);
      ec == std::errc{} && ptr == last && !text.empty())
    return integer;
  double real = 0;
  if (auto [ptr, ec] = std::from_chars(first, last, real);
      ec == std::errc{} && ptr == last && !text.empty())
    return real;
  return boost::json::string(text);
}

}  // namespace

boost::json::value yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      boost::json::array a;
      for (const auto& item : node) a.push_back(yaml_to_json(item));
      return a;
    }
    case YAML::NodeType::Map: {
      boost::json::object o;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar())
          throw std::invalid_argument("line " + std::to_string(kv.first.Mark().line + 1) +
                                      ": mapping keys must be plain strings");
        o[utf8_scalar(kv.first)] = yaml_to_json(kv.second);
      }
      return o;
    }
  }
  return nullptr;
}

}  // namespace tollgate
