#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate {

// RFC 3986 percent-encoding as AWS Signature V4 uses it: every byte but the
// unreserved set (A-Z a-z 0-9 - _ . ~) becomes %XX (upper-case hex); '/' is
// kept when `keep_slash`.
std::string percent_encode(std::string_view in, bool keep_slash = false);
// The same, appended to `out`: for a caller that builds one buffer.
void append_percent_encoded(std::string& out, std::string_view in, bool keep_slash = false);

// Decodes %XX escapes; nullopt on a malformed escape. '+' stays '+'.
std::optional<std::string> percent_decode(std::string_view in);
// The same, appended to `out`; false, with `out` as it was, on a malformed escape.
bool append_percent_decoded(std::string& out, std::string_view in);

// The raw (still encoded) name=value pairs of a query string, in order;
// empty pairs are skipped and a pair without '=' has an empty value.
std::vector<std::pair<std::string_view, std::string_view>> split_query(std::string_view query);

}  // namespace tollgate
