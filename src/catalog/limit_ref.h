#pragma once

#include "limits/token_bucket.h"

namespace tollgate {

// A token bucket with the throttle it enforces.
struct LimitRef {
  TokenBucket* bucket = nullptr;
  BucketParams params;
};

}  // namespace tollgate
