#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace tollgate {

// An entity's JSON document as a store keeps it. Throws
// std::invalid_argument for text that is not UTF-8: Boost.JSON writes a
// string's bytes as they are but reads back only UTF-8, and a document it
// could not read would stop every later load of the store.
std::string doc_text(const boost::json::object& doc);

// Reads a stored document; one that an earlier version stored with bytes
// that are not UTF-8 still reads.
boost::json::value parse_doc(std::string_view text, boost::json::storage_ptr storage = {});

// decode(the document `text` holds), its tree built in a buffer on the
// stack rather than in a dozen heap blocks: a million keys are a million
// documents to read.
template <typename Decode>
auto decode_doc(std::string_view text, Decode decode) {
  alignas(16) unsigned char buffer[4096];
  boost::json::monotonic_resource tree(buffer, sizeof buffer);
  return decode(parse_doc(text, &tree));
}

}  // namespace tollgate
