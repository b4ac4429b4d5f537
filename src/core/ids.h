#pragma once

#include <string>

namespace tollgate {

// Random identifiers in the shapes Amazon API Gateway uses: lower-case letters
// and digits for ids, mixed-case alphanumerics for generated key values.
// Drawn from OpenSSL's CSPRNG; thread-safe.
std::string random_id(std::size_t length);
std::string random_key_value(std::size_t length = 40);

}  // namespace tollgate
