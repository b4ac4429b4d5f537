#pragma once

#include <cstdint>
#include <string>

namespace tollgate {

// Random identifiers in the shapes Amazon API Gateway uses: lower-case letters
// and digits for ids, mixed-case alphanumerics for generated key values.
// Drawn from OpenSSL's CSPRNG; thread-safe.
std::string random_id(std::size_t length);
std::string random_key_value(std::size_t length = 40);

// A new API key's id, ten characters of the same shape: the minute it was
// made (five base-36 digits counted from 2020) and five random ones. The
// keys made in one minute sit together in every index by key id, so that
// signing up keys rewrites a few pages at the end of each index rather than
// a page anywhere in it per key (a store of a million keys writes a
// quarter of the pages). Two keys made in one minute may draw the same id:
// the caller takes another while the one drawn is taken.
std::string new_key_id(std::int64_t now_s);

}  // namespace tollgate
