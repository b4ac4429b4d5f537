#include "store/stored_doc.h"

#include <stdexcept>

#include "core/utf8.h"

namespace tollgate {

std::string doc_text(const boost::json::object& doc) {
  std::string text = boost::json::serialize(doc);
  if (!is_valid_utf8(text))
    throw std::invalid_argument("text must be valid UTF-8; nothing was changed");
  return text;
}

boost::json::value parse_doc(std::string_view text, boost::json::storage_ptr storage) {
  boost::json::parse_options options;
  options.allow_invalid_utf8 = true;
  return boost::json::parse(text, std::move(storage), options);
}

}  // namespace tollgate
