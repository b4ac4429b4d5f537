#include "core/stats.h"

namespace tollgate {

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kAllowed:
      return "allowed";
    case Outcome::kThrottled:
      return "throttled";
    case Outcome::kQuotaExceeded:
      return "quota_exceeded";
    case Outcome::kForbidden:
      return "forbidden";
    case Outcome::kMissingToken:
      return "missing_token";
    case Outcome::kUpstreamError:
      return "upstream_error";
    case Outcome::kBadRequest:
      return "bad_request";
    case Outcome::kShed:
      return "shed";
    case Outcome::kUsagePage:
      return "usage_page";
    case Outcome::kCount:
      break;
  }
  return "unknown";
}

}  // namespace tollgate
