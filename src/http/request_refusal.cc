#include "http/request_refusal.h"

#include <algorithm>

namespace tollgate {
namespace {

Refusal fault_refusal(RequestFault fault) {
  switch (fault) {
    case RequestFault::kTargetTooLong:
      return {414, "Request target too long"};
    case RequestFault::kTooManyFields:
      return {431, "Too many request header fields"};
    case RequestFault::kObsFold:
      return {400, "Header field values folded over lines (obs-fold) are not accepted"};
    case RequestFault::kChunkedNotFinal:
      return {400, "Transfer-Encoding must end with chunked"};
    case RequestFault::kUnknownCoding:
      return {501, "Only the chunked transfer coding is supported"};
    case RequestFault::kNone:
      break;
  }
  return {400, "Malformed header field value"};
}

// '.' as itself or percent-encoded.
std::size_t dot_at(std::string_view s, std::size_t i) {
  if (i < s.size() && s[i] == '.') return 1;
  if (i + 2 < s.size() && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] == 'e' || s[i + 2] == 'E'))
    return 3;
  return 0;
}

bool is_dot_segment(std::string_view segment) {
  const std::size_t first = dot_at(segment, 0);
  if (first == 0) return false;
  if (first == segment.size()) return true;
  const std::size_t second = dot_at(segment, first);
  return second != 0 && first + second == segment.size();
}

}  // namespace

Refusal read_refusal(const beast::error_code& ec, RequestFault fault) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
    return {431, "Request header fields too large"};
  if (ec == http::error::body_limit) return {413, "Request body too large"};
  if (ec == http::error::bad_value) return fault_refusal(fault);
  if (ec == http::error::bad_content_length) return {400, "Invalid Content-Length"};
  if (ec == http::error::multiple_content_length) return {400, "Conflicting Content-Length values"};
  if (ec == http::error::bad_transfer_encoding)
    return {400, "Transfer-Encoding may not be repeated or sent with Content-Length"};
  if (ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension)
    return {400, "Invalid chunked encoding"};
  if (ec == http::error::bad_method) return {400, "Invalid method"};
  if (ec == http::error::bad_target) return {400, "Invalid request target"};
  // Beast reads HTTP/1.0 and HTTP/1.1 only.
  if (ec == http::error::bad_version) return {505, "HTTP version not supported"};
  if (ec == http::error::bad_field) return {400, "Invalid header field name"};
  if (ec == http::error::bad_line_ending) return {400, "Invalid line ending"};
  return {400, "Malformed HTTP request"};
}

std::string_view target_problem(std::string_view target) {
  if (target.empty() || target.front() != '/')
    return "Request target must be a path beginning with /";
  std::string_view path = target.substr(0, target.find('?'));
  if (path.find("%00") != std::string_view::npos)
    return "Request path must not contain an encoded NUL";
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const std::size_t end = std::min(path.find('/'), path.size());
    if (is_dot_segment(path.substr(0, end)))
      return "Request path must not contain . or .. segments";
    path.remove_prefix(end);
  }
  return {};
}

DecidingFields deciding_fields(const InboundMessage& request) {
  DecidingFields out;
  bool host = false;
  for (std::size_t i = 0; i < request.fields.size(); ++i) {
    const FieldList::Field f = request.fields[i];
    if (f.id == http::field::host) {
      if (host) out.problem = "Request must not have more than one Host header";
      host = true;
    } else if (f.id == http::field::unknown && f.name.size() == 9 &&
               beast::iequals(f.name, "x-api-key")) {
      if (out.api_key)
        out.problem = "Request must not have more than one x-api-key header";
      else
        out.api_key = f.value;
    }
  }
  return out;
}

}  // namespace tollgate
