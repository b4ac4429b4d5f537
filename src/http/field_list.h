#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/beast.h"

namespace tollgate {

// A message's header fields, copied into one arena. Cleared between messages
// without giving back memory, so a connection that has seen one request
// parses the next without allocating.
class FieldList {
 public:
  struct Field {
    http::field id;  // field::unknown for names Beast does not know
    std::string_view name;
    std::string_view value;
  };

  void clear() {
    arena_.clear();
    spans_.clear();
  }
  void add(http::field id, std::string_view name, std::string_view value);
  // Fields from one block of text read in one piece (a whole head), with
  // the block copied once rather than each name and value on its own:
  // add_from() each field whose name and value lie within the text starting
  // at `block`, then copy_block() that text. Nothing else is added between.
  void add_from(const char* block, http::field id, std::string_view name, std::string_view value);
  void copy_block(std::string_view block) { arena_.append(block); }

  std::size_t size() const { return spans_.size(); }
  // Inline and unchecked: every field of every message is read through it,
  // and a span lies within the arena by construction.
  Field operator[](std::size_t i) const {
    const Span& s = spans_[i];
    const char* arena = arena_.data();
    return {s.id, {arena + s.name_at, s.name_len}, {arena + s.value_at, s.value_len}};
  }
  // The first field named `id` (or `name`, ignoring case); empty if none.
  std::string_view find(http::field id) const;
  std::string_view find(std::string_view name) const;
  bool contains(http::field id) const;

 private:
  struct Span {
    http::field id;
    std::uint32_t name_at, name_len, value_at, value_len;
  };
  std::string arena_;
  std::vector<Span> spans_;
};

// Whether `name` is one of the comma-separated tokens of a Connection field
// value, ignoring case: such fields describe one hop (RFC 9110 §7.6.1).
bool connection_lists(std::string_view connection_value, std::string_view name);

// Fields that describe one hop, not the message (RFC 9110 §7.6.1).
bool is_hop_by_hop(http::field f);

}  // namespace tollgate
