#pragma once

// The AWS wire form of the model types (camelCase members, absent optionals
// omitted, timestamps as epoch seconds). The store keeps documents in this
// form and the management API speaks it. Decoding throws std::invalid_argument
// naming the offending member; it is a control-plane path.

#include <boost/json.hpp>

#include <optional>
#include <string>

#include "model/types.h"

namespace tollgate {

boost::json::object to_json(const Throttle& t);
boost::json::object to_json(const Quota& q);
boost::json::object to_json(const IntegrationResponse& r);
boost::json::object to_json(const Integration& i);
boost::json::object to_json(const MethodResponse& r);
boost::json::object to_json(const Method& m);
boost::json::object to_json(const Resource& r);
boost::json::array to_json(const std::vector<Resource>& resources);
boost::json::object to_json(const Authorizer& a);
boost::json::object to_json(const RestApi& api);
boost::json::object to_json(const Deployment& d);
boost::json::object to_json(const Stage& s);
boost::json::object to_json(const ApiKey& k, bool include_value);
boost::json::object to_json(const UsagePlan& p);
boost::json::object to_json(const AccountSettings& a);

Throttle throttle_from_json(const boost::json::value& v, std::string_view where);
Quota quota_from_json(const boost::json::value& v, std::string_view where);
Integration integration_from_json(const boost::json::value& v, std::string_view where);
MethodResponse method_response_from_json(const boost::json::value& v, std::string_view status_code,
                                         std::string_view where);
Method method_from_json(const boost::json::value& v, std::string_view where);
Resource resource_from_json(const boost::json::value& v, std::string_view where);
std::vector<Resource> resources_from_json(const boost::json::value& v, std::string_view where);
// An Authorizer from its wire form; an unknown type is a ConstraintViolation.
Authorizer authorizer_from_json(const boost::json::value& v, std::string_view where);
RestApi rest_api_from_json(const boost::json::value& v);
// endpointConfiguration.types[0] of a RestApi's JSON, if it names one.
std::optional<std::string> endpoint_type_of(const boost::json::object& api);
Deployment deployment_from_json(const boost::json::value& v);
Stage stage_from_json(const boost::json::value& v);
ApiKey api_key_from_json(const boost::json::value& v);
UsagePlan usage_plan_from_json(const boost::json::value& v);
AccountSettings account_from_json(const boost::json::value& v);

}  // namespace tollgate
