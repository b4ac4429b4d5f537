#include "http/whole_message_parser.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tollgate {
namespace {

using Byte = unsigned char;

// RFC 9110 tchar: the bytes of a method or a field name.
constexpr std::array<bool, 256> kTokenByte = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 'a' + 'A'] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<Byte>(c)] = true;
  return t;
}();

const char* skip_token(const char* p, const char* end) {
  while (p != end && kTokenByte[static_cast<Byte>(*p)]) ++p;
  return p;
}

// The first byte from `p` on that is a control below `kLowest` (HTAB
// excepted where `kTabAllowed`) or DEL; `end` if there is none. Bytes from
// 0x80 up (obs-text) are allowed, as Beast allows them. A target is
// 0x21..0x7e and obs-text; a field value or reason phrase also SP and HTAB.
template <Byte kLowest, bool kTabAllowed>
const char* skip_allowed(const char* p, const char* end) {
#if defined(__SSE2__)
  // Unsigned `c < kLowest` as a signed compare: flip the top bit of both.
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  const __m128i lowest = _mm_set1_epi8(static_cast<char>(kLowest ^ 0x80));
  const __m128i del = _mm_set1_epi8(0x7f);
  for (; end - p >= 16; p += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i stop = _mm_cmplt_epi8(_mm_xor_si128(bytes, flip), lowest);
    if constexpr (kTabAllowed)
      stop = _mm_andnot_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\t')), stop);
    stop = _mm_or_si128(stop, _mm_cmpeq_epi8(bytes, del));
    if (const int mask = _mm_movemask_epi8(stop))
      return p + __builtin_ctz(static_cast<unsigned>(mask));
  }
#endif
  for (; p != end; ++p) {
    const Byte c = static_cast<Byte>(*p);
    if ((c < kLowest && !(kTabAllowed && c == '\t')) || c == 0x7f) break;
  }
  return p;
}

bool is_space_or_tab(char c) { return c == ' ' || c == '\t'; }

// "HTTP/1.0" or "HTTP/1.1" at `p`: 10 or 11, with `p` past it; 0 otherwise.
unsigned parse_version(const char*& p, const char* end) {
  if (end - p < 8 || std::memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1')) return 0;
  const unsigned version = p[7] == '1' ? 11 : 10;
  p += 8;
  return version;
}

// What the fields say about where the message ends and whether the
// connection stays open.
struct Framing {
  bool close = false;       // Connection: close
  bool keep_alive = false;  // Connection: keep-alive
  bool has_length = false;
  std::uint64_t length = 0;
};

// Notes a field in `framing`; false for a field the fast path leaves to
// Beast: a framing it does not take, or one that is malformed.
bool note_framing(http::field id, std::string_view value, Framing& framing) {
  switch (id) {
    case http::field::connection:
    case http::field::proxy_connection:
      if (beast::iequals(value, "close"))
        framing.close = true;
      else if (beast::iequals(value, "keep-alive"))
        framing.keep_alive = true;
      else
        return false;
      return true;
    case http::field::content_length:
      // 18 digits cannot overflow.
      if (framing.has_length || value.empty() || value.size() > 18) return false;
      for (const char c : value) {
        if (c < '0' || c > '9') return false;
        framing.length = framing.length * 10 + static_cast<std::uint64_t>(c - '0');
      }
      framing.has_length = true;
      return true;
    case http::field::transfer_encoding:
    case http::field::upgrade:
      return false;
    default:
      return true;
  }
}

// Reads the fields from `p` to the blank line that ends them, all before
// `end`, into `out`. Returns the end of the head, or null to leave the
// message to Beast.
const char* parse_fields(const char* p, const char* end, std::uint32_t max_fields,
                         InboundMessage& out, Framing& framing) {
  const char* const block = p;
  for (std::uint32_t count = 0;; ++count) {
    if (end - p < 2) return nullptr;
    if (p[0] == '\r') {
      if (p[1] != '\n') return nullptr;
      out.fields.copy_block({block, static_cast<std::size_t>(p - block)});
      return p + 2;
    }
    if (count == max_fields) return nullptr;
    const char* const name_begin = p;
    p = skip_token(p, end);
    if (p == name_begin || p == end || *p != ':') return nullptr;
    const std::string_view name(name_begin, static_cast<std::size_t>(p - name_begin));
    ++p;
    while (p != end && is_space_or_tab(*p)) ++p;
    const char* const value_begin = p;
    p = skip_allowed<0x20, true>(p, end);
    // CRLF, and a next line that does not continue this one (obs-fold).
    if (end - p < 3 || p[0] != '\r' || p[1] != '\n' || is_space_or_tab(p[2])) return nullptr;
    const char* value_end = p;
    while (value_end != value_begin && is_space_or_tab(value_end[-1])) --value_end;
    p += 2;
    const std::string_view value(value_begin, static_cast<std::size_t>(value_end - value_begin));
    const http::field id = http::string_to_field(name);
    if (!note_framing(id, value, framing)) return nullptr;
    out.fields.add_from(block, id, name, value);
  }
}

// As Beast's parser has it: HTTP/1.1 stays open unless told to close,
// HTTP/1.0 closes unless told to stay open.
bool keeps_alive(unsigned version, const Framing& framing) {
  return version == 11 ? !framing.close : framing.keep_alive;
}

// Takes the `length`-byte body that follows the head, and what the start
// line and fields settled; false when the body is over the limit or has
// not all been read.
bool take_body(const char* head_end, const char* end, std::uint64_t length,
               const WholeMessageLimits& limits, unsigned version, const Framing& framing,
               InboundMessage& out) {
  if (length > limits.body_limit || length > static_cast<std::uint64_t>(end - head_end))
    return false;
  out.version = version;
  out.body.assign(head_end, static_cast<std::size_t>(length));
  out.keep_alive = keeps_alive(version, framing);
  out.has_body_framing = framing.has_length;
  return true;
}

std::size_t read_request(std::string_view input, const WholeMessageLimits& limits,
                         InboundMessage& out) {
  const char* const begin = input.data();
  const char* const end = begin + input.size();
  const char* const head_bound = begin + std::min<std::size_t>(input.size(), limits.header_limit);
  const char* p = skip_token(begin, head_bound);
  if (p == begin || p == head_bound || *p != ' ') return 0;
  const std::string_view method(begin, static_cast<std::size_t>(p - begin));
  const char* const target_begin = ++p;
  p = skip_allowed<0x21, false>(p, head_bound);
  if (p == target_begin || p == head_bound || *p != ' ') return 0;
  const std::string_view target(target_begin, static_cast<std::size_t>(p - target_begin));
  if (target.size() > limits.rules.max_target) return 0;
  ++p;
  const unsigned version = parse_version(p, head_bound);
  if (version == 0 || head_bound - p < 2 || p[0] != '\r' || p[1] != '\n') return 0;
  p += 2;

  Framing framing;
  const char* const head_end = parse_fields(p, head_bound, limits.rules.max_fields, out, framing);
  if (head_end == nullptr) return 0;
  if (!take_body(head_end, end, framing.length, limits, version, framing, out)) return 0;
  out.verb = http::string_to_verb(method);
  out.method.assign(method);
  out.target.assign(target);
  return static_cast<std::size_t>(head_end - begin) + static_cast<std::size_t>(framing.length);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::size_t read_response(std::string_view input, const WholeMessageLimits& limits,
                          bool head_request, InboundMessage& out) {
  const char* const begin = input.data();
  const char* const end = begin + input.size();
  const char* const head_bound = begin + std::min<std::size_t>(input.size(), limits.header_limit);
  const char* p = begin;
  const unsigned version = parse_version(p, head_bound);
  // SP, three digits, SP.
  if (version == 0 || head_bound - p < 5 || p[0] != ' ' || !is_digit(p[1]) || !is_digit(p[2]) ||
      !is_digit(p[3]) || p[4] != ' ')
    return 0;
  const auto status = static_cast<unsigned>((p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0'));
  p = skip_allowed<0x20, true>(p + 5, head_bound);  // the reason phrase
  if (head_bound - p < 2 || p[0] != '\r' || p[1] != '\n') return 0;
  p += 2;

  Framing framing;
  const char* const head_end = parse_fields(p, head_bound, UINT32_MAX, out, framing);
  if (head_end == nullptr) return 0;
  const bool bodiless = head_request || status / 100 == 1 || status == 204 || status == 304;
  // A body without a length runs to the connection's close: Beast's to read.
  if (!bodiless && !framing.has_length) return 0;
  const std::uint64_t length = bodiless ? 0 : framing.length;
  if (!take_body(head_end, end, length, limits, version, framing, out)) return 0;
  out.status = status;
  return static_cast<std::size_t>(head_end - begin) + static_cast<std::size_t>(length);
}

}  // namespace

std::size_t parse_whole_request(std::string_view input, const WholeMessageLimits& limits,
                                InboundMessage& out) {
  out.clear();
  const std::size_t used = read_request(input, limits, out);
  if (used == 0) out.clear();
  return used;
}

std::size_t parse_whole_response(std::string_view input, const WholeMessageLimits& limits,
                                 bool head_request, InboundMessage& out) {
  out.clear();
  const std::size_t used = read_response(input, limits, head_request, out);
  if (used == 0) out.clear();
  return used;
}

}  // namespace tollgate
