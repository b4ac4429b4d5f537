// The authorizers of a REST API (CreateAuthorizer … DeleteAuthorizer): an
// HTTP endpoint that stands where AWS calls a Lambda authorizer.

#include <algorithm>

#include "admin/lookups.h"
#include "admin/operations.h"
#include "admin/paging.h"
#include "admin/patch_operations.h"
#include "core/ids.h"
#include "model/json_codec.h"
#include "model/json_fields.h"
#include "model/validate.h"

namespace tollgate {
namespace json = boost::json;

namespace {

// tollgate calls the authorizer's URL itself; there is no IAM role to assume.
[[noreturn]] void refuse_credentials() {
  bad_request(
      "authorizerCredentials are not supported: tollgate calls the authorizerUri itself, with no "
      "IAM role");
}

constexpr const char* kAuthorizerPaths =
    "/name, /type, /authorizerUri, /authorizerCredentials, /identitySource, "
    "/identityValidationExpression, /authorizerResultTtlInSeconds, /authType";

// Validation failures are the request's fault.
void check_authorizer(const Authorizer& a) {
  try {
    validate_authorizer(a);
  } catch (const std::invalid_argument& e) {
    bad_request(e.what());
  }
}

void apply_authorizer_op(Authorizer& a, const PatchOperation& op) {
  if (op.op != "replace") invalid_patch_path(op, kAuthorizerPaths);
  if (op.path == "/name") {
    a.name = op.value;
  } else if (op.path == "/type") {
    const std::optional<AuthorizerType> type = authorizer_type_from(op.value);
    if (!type) bad_request("Invalid authorizer type '" + op.value + "': use TOKEN or REQUEST");
    a.type = *type;
  } else if (op.path == "/authorizerUri") {
    a.authorizer_uri = op.value;
  } else if (op.path == "/authorizerCredentials") {
    if (!op.value.empty()) refuse_credentials();
  } else if (op.path == "/identitySource") {
    a.identity_source = op.value;
  } else if (op.path == "/identityValidationExpression") {
    a.identity_validation_expression = op.value;
  } else if (op.path == "/authorizerResultTtlInSeconds") {
    a.result_ttl_seconds.reset();
    if (!op.value.empty()) a.result_ttl_seconds = patch_int(op);
  } else if (op.path == "/authType") {
    a.auth_type = op.value;
  } else {
    invalid_patch_path(op, kAuthorizerPaths);
  }
}

}  // namespace

HttpResponse create_authorizer(AdminContext& ctx, const AdminRequest& req) {
  const json::object body = req.json();
  constexpr std::string_view kInput = "createAuthorizerInput";
  if (!get_string(body, "authorizerCredentials", kInput).empty()) refuse_credentials();
  Authorizer a = authorizer_from_json(body, kInput);
  check_authorizer(a);
  a.id = random_id(6);
  ctx.edit([&](ControlState& s) {
    find_api(s, req.segments()[1], ctx.account_id).authorizers.push_back(a);
    return 0;
  });
  return admin_json(http::status::created, to_json(a));
}

HttpResponse get_authorizers(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  std::vector<Authorizer>& all = find_api(s, req.segments()[1], ctx.account_id).authorizers;
  std::sort(all.begin(), all.end(),
            [](const Authorizer& a, const Authorizer& b) { return a.id < b.id; });
  std::vector<std::string> ids;
  for (const auto& a : all) ids.push_back(a.id);
  const PageRange page = page_of(ids, ListingOrder::kId, req);
  json::array items;
  for (std::size_t i = page.begin; i < page.end; ++i) items.push_back(to_json(all[i]));
  return admin_json(http::status::ok, page_json(std::move(items), page));
}

HttpResponse get_authorizer(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  return admin_json(
      http::status::ok,
      to_json(find_authorizer(find_api(s, req.segments()[1], ctx.account_id), req.segments()[3])));
}

HttpResponse update_authorizer(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateAuthorizerInput");
  const Authorizer updated = ctx.edit([&](ControlState& s) {
    Authorizer& stored =
        find_authorizer(find_api(s, req.segments()[1], ctx.account_id), req.segments()[3]);
    Authorizer next = stored;
    for (const auto& op : ops) apply_authorizer_op(next, op);
    check_authorizer(next);
    stored = next;
    return next;
  });
  return admin_json(http::status::ok, to_json(updated));
}

HttpResponse delete_authorizer(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState& s) {
    RestApi& api = find_api(s, req.segments()[1], ctx.account_id);
    const Authorizer& doomed = find_authorizer(api, req.segments()[3]);
    for (const auto& r : api.resources)
      for (const auto& [name, m] : r.methods)
        if (m.authorization_type == "CUSTOM" && m.authorizer_id == doomed.id)
          conflict("Cannot delete authorizer '" + doomed.name +
                   "', is referenced in method: " + name + "/" + r.path);
    const std::string id = doomed.id;
    std::erase_if(api.authorizers, [&](const Authorizer& a) { return a.id == id; });
    return 0;
  });
  return admin_empty(http::status::accepted);
}

}  // namespace tollgate
