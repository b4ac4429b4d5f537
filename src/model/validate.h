#pragma once

// Rules every value must satisfy before it reaches the store, so the data plane
// only ever sees valid state. Each check throws std::invalid_argument with a
// message that names the field.

#include <map>
#include <string>
#include <string_view>

#include "model/types.h"

namespace tollgate {

void validate_throttle(const Throttle& t, std::string_view where);
// A stage method setting's throttle: a valid throttle, or -1 (disabled) in a field.
void validate_method_throttle(const MethodSetting& m, std::string_view where);
void validate_quota(const Quota& q, std::string_view where);
void validate_key_value(std::string_view value);
// A customer id is kept with every count of its key's (meter slots, daily
// usage, the access log, export ids): at most this long.
constexpr std::size_t kMaxCustomerIdSize = 1024;
void validate_customer_id(std::string_view customer_id);
void validate_path_part(std::string_view part);
// AWS's tag limits: at most 50 per resource, keys of 1–128 characters not
// starting with "aws:", values of at most 256.
constexpr std::size_t kMaxTags = 50;
void validate_tags(const std::map<std::string, std::string>& tags);
void validate_integration(const Integration& i, std::string_view where);
// Each stage variable as AWS allows: names of 1-64 letters, digits and '_';
// values of 1-512 letters, digits and -._~:/?#&=, (what a URI may carry,
// since a value may become part of one).
void validate_stage_variables(const std::map<std::string, std::string>& variables);
// An authorizer as tollgate can call it: an http:// or https:// URI (no
// Lambda ARN), a TTL of 0 to 3600 s, a TOKEN's one header as its identity
// source and a regular expression that compiles, a REQUEST's sources of the
// forms AWS takes (required unless the TTL is 0).
void validate_authorizer(const Authorizer& a);
// Parameter names: method.request.{path|querystring|header|...}.NAME and
// method.response.header.NAME.
void validate_method_request(const Method& m, std::string_view where);
void validate_method_response(const MethodResponse& r, std::string_view where);

// Cross-entity rules of a whole state: references resolve, every key is in at
// most one plan per (api, stage), plan method throttles name real methods.
void validate_control_state(const ControlState& state);

}  // namespace tollgate
