#include "core/yaml_to_json.h"

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

boost::json::value parse_json_or_yaml(std::string_view text) {
  if (const std::size_t first = text.find_first_not_of(" \t\r\n");
      first != std::string_view::npos && text[first] == '{') {
    boost::json::parse_options options;
    options.max_depth = 512;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec, {}, options);
    if (!ec) return v;  // else YAML reads it, and names what is wrong where
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(e.what());
  }
  return yaml_to_json(root);
}

namespace {

// Whether a plain scalar `s` could read as a number, boolean or null (in
// YAML 1.1's wider sense too), or as nothing: such strings are quoted.
bool reads_as_other_than_text(const std::string& s) {
  if (s.empty()) return true;
  const char first = s.front();
  if ((first >= '0' && first <= '9') || first == '-' || first == '+' || first == '.') return true;
  static constexpr std::string_view kWords[] = {"true", "false", "null", "yes", "no",
                                                "on",   "off",   "y",    "n",   "~"};
  std::string lowered = s;
  for (char& c : lowered)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (std::string_view w : kWords)
    if (lowered == w) return true;
  // "inf", "nan" and their kin read as numbers too.
  double number = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
  return ec == std::errc{} && end == s.data() + s.size();
}

void emit(YAML::Emitter& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out << YAML::Null;
      break;
    case boost::json::kind::bool_:
      out << YAML::TrueFalseBool << v.get_bool();
      break;
    case boost::json::kind::int64:
      out << v.get_int64();
      break;
    case boost::json::kind::uint64:
      out << v.get_uint64();
      break;
    case boost::json::kind::double_:
      out << v.get_double();
      break;
    case boost::json::kind::string: {
      const std::string s(v.get_string());
      if (reads_as_other_than_text(s)) out << YAML::DoubleQuoted;
      out << s;
      break;
    }
    case boost::json::kind::array:
      if (v.get_array().empty()) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& item : v.get_array()) emit(out, item);
      out << YAML::EndSeq;
      break;
    case boost::json::kind::object:
      if (v.get_object().empty()) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& [key, item] : v.get_object()) {
        out << YAML::Key;
        emit(out, boost::json::string(key));
        out << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      break;
  }
}

}  // namespace

std::string json_to_yaml(const boost::json::value& value) {
  YAML::Emitter out;
  out.SetDoublePrecision(17);
  emit(out, value);
  std::string text = out.c_str();
  text += '\n';
  return text;
}

}  // namespace tollgate
