#pragma once

// The management API operations (spec §2), one function each. Each takes the
// context and the parsed request and returns the response, or throws
// AdminError / std::invalid_argument (→ 400).

#include "admin/admin_context.h"
#include "admin/admin_request.h"

namespace tollgate {

using AdminOperation = HttpResponse (*)(AdminContext&, const AdminRequest&);

// rest_api_operations.cc
// A RestApi as the API answers with it: its stored form less the resources.
boost::json::object api_json(const RestApi& api);
HttpResponse create_rest_api(AdminContext&, const AdminRequest&);
HttpResponse get_rest_api(AdminContext&, const AdminRequest&);
HttpResponse get_rest_apis(AdminContext&, const AdminRequest&);
HttpResponse update_rest_api(AdminContext&, const AdminRequest&);
HttpResponse delete_rest_api(AdminContext&, const AdminRequest&);
HttpResponse get_resources(AdminContext&, const AdminRequest&);
HttpResponse get_resource(AdminContext&, const AdminRequest&);
HttpResponse create_resource(AdminContext&, const AdminRequest&);
HttpResponse update_resource(AdminContext&, const AdminRequest&);
HttpResponse delete_resource(AdminContext&, const AdminRequest&);

// openapi_operations.cc
HttpResponse import_rest_api(AdminContext&, const AdminRequest&);
HttpResponse put_rest_api(AdminContext&, const AdminRequest&);
HttpResponse get_export(AdminContext&, const AdminRequest&);

// method_operations.cc
HttpResponse put_method(AdminContext&, const AdminRequest&);
HttpResponse get_method(AdminContext&, const AdminRequest&);
HttpResponse update_method(AdminContext&, const AdminRequest&);
HttpResponse delete_method(AdminContext&, const AdminRequest&);
HttpResponse put_method_response(AdminContext&, const AdminRequest&);
HttpResponse get_method_response(AdminContext&, const AdminRequest&);
HttpResponse update_method_response(AdminContext&, const AdminRequest&);
HttpResponse delete_method_response(AdminContext&, const AdminRequest&);
HttpResponse put_integration(AdminContext&, const AdminRequest&);
HttpResponse get_integration(AdminContext&, const AdminRequest&);
HttpResponse update_integration(AdminContext&, const AdminRequest&);
HttpResponse delete_integration(AdminContext&, const AdminRequest&);
HttpResponse put_integration_response(AdminContext&, const AdminRequest&);
HttpResponse get_integration_response(AdminContext&, const AdminRequest&);
HttpResponse update_integration_response(AdminContext&, const AdminRequest&);
HttpResponse delete_integration_response(AdminContext&, const AdminRequest&);

// authorizer_operations.cc
HttpResponse create_authorizer(AdminContext&, const AdminRequest&);
HttpResponse get_authorizers(AdminContext&, const AdminRequest&);
HttpResponse get_authorizer(AdminContext&, const AdminRequest&);
HttpResponse update_authorizer(AdminContext&, const AdminRequest&);
HttpResponse delete_authorizer(AdminContext&, const AdminRequest&);

// deployment_operations.cc
HttpResponse create_deployment(AdminContext&, const AdminRequest&);
HttpResponse get_deployments(AdminContext&, const AdminRequest&);
HttpResponse get_deployment(AdminContext&, const AdminRequest&);
HttpResponse update_deployment(AdminContext&, const AdminRequest&);
HttpResponse delete_deployment(AdminContext&, const AdminRequest&);

// stage_operations.cc
HttpResponse create_stage(AdminContext&, const AdminRequest&);
HttpResponse get_stage(AdminContext&, const AdminRequest&);
HttpResponse get_stages(AdminContext&, const AdminRequest&);
HttpResponse update_stage(AdminContext&, const AdminRequest&);
HttpResponse delete_stage(AdminContext&, const AdminRequest&);

// api_key_operations.cc
HttpResponse create_api_key(AdminContext&, const AdminRequest&);
HttpResponse get_api_key(AdminContext&, const AdminRequest&);
HttpResponse get_api_keys(AdminContext&, const AdminRequest&);
HttpResponse update_api_key(AdminContext&, const AdminRequest&);
HttpResponse delete_api_key(AdminContext&, const AdminRequest&);
HttpResponse import_api_keys(AdminContext&, const AdminRequest&);

// usage_plan_operations.cc
HttpResponse create_usage_plan(AdminContext&, const AdminRequest&);
HttpResponse get_usage_plan(AdminContext&, const AdminRequest&);
HttpResponse get_usage_plans(AdminContext&, const AdminRequest&);
HttpResponse update_usage_plan(AdminContext&, const AdminRequest&);
HttpResponse delete_usage_plan(AdminContext&, const AdminRequest&);
HttpResponse create_usage_plan_key(AdminContext&, const AdminRequest&);
HttpResponse get_usage_plan_key(AdminContext&, const AdminRequest&);
HttpResponse get_usage_plan_keys(AdminContext&, const AdminRequest&);
HttpResponse delete_usage_plan_key(AdminContext&, const AdminRequest&);

// usage_operations.cc
HttpResponse get_usage(AdminContext&, const AdminRequest&);
HttpResponse update_usage(AdminContext&, const AdminRequest&);

// account_operations.cc
HttpResponse get_account(AdminContext&, const AdminRequest&);
HttpResponse update_account(AdminContext&, const AdminRequest&);
HttpResponse get_tags(AdminContext&, const AdminRequest&);
HttpResponse tag_resource(AdminContext&, const AdminRequest&);
HttpResponse untag_resource(AdminContext&, const AdminRequest&);

}  // namespace tollgate
