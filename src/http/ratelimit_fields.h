#pragma once

#include <string_view>

#include "gate/gate.h"

namespace tollgate {

// The IETF RateLimit-Policy and RateLimit field values for one limit
// (draft-ietf-httpapi-ratelimit-headers): `"quota";q=1000;w=86400` and
// `"quota";r=12;t=3600`. Formatted into fixed buffers, without allocation.
class RateLimitFields {
 public:
  explicit RateLimitFields(const LimitReport& r);
  std::string_view policy() const { return {policy_, policy_len_}; }
  std::string_view state() const { return {state_, state_len_}; }

 private:
  char policy_[96];
  char state_[96];
  std::size_t policy_len_ = 0;
  std::size_t state_len_ = 0;
};

}  // namespace tollgate
