#include <algorithm>

#include "admin/lookups.h"
#include "admin/operations.h"
#include "admin/patch_operations.h"
#include "model/json_codec.h"
#include "model/json_fields.h"
#include "model/validate.h"

namespace tollgate {
namespace json = boost::json;

namespace {

// What an ARN names: arn:aws:apigateway:{region}::/apikeys/{id} or
// ::/usageplans/{id}. Other ARNs are a 400.
struct Tagged {
  bool api_key = false;
  std::string id;
};

Tagged tagged(const std::string& arn) {
  const std::size_t path = arn.find("::/");
  if (arn.rfind("arn:", 0) != 0 || path == std::string::npos)
    bad_request("Invalid resource ARN specified: " + arn);
  const std::string rest = arn.substr(path + 3);
  const std::size_t slash = rest.find('/');
  const std::string kind = rest.substr(0, slash);
  const std::string id = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (kind == "apikeys") return {true, id};
  if (kind == "usageplans") return {false, id};
  bad_request("Tagging is supported for API keys and usage plans; not for " + arn);
}

// Changes the tags of what `arn` names, in one transaction.
template <typename Change>
void edit_tags(AdminContext& ctx, const std::string& arn, Change change) {
  const Tagged target = tagged(arn);
  ctx.edit([&](ControlState& s, ControlTransaction& tx) {
    if (target.api_key) {
      ApiKey key = find_api_key(tx, target.id);
      change(key.tags);
      tx.put(key);
    } else {
      change(find_usage_plan(s, target.id).tags);
    }
    return 0;
  });
}

}  // namespace

HttpResponse get_account(AdminContext& ctx, const AdminRequest&) {
  return admin_json(http::status::ok, to_json(ctx.few().account));
}

HttpResponse update_account(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateAccountInput");
  const AccountSettings account = ctx.edit([&](ControlState& s) {
    AccountSettings next = s.account;
    for (const auto& op : ops) {
      if (op.op == "replace" && op.path == "/cloudwatchRoleArn") {
        // No value, or an empty one, takes the role away.
        if (!op.value.empty() && !op.value.starts_with("arn:"))
          bad_request("The role ARN is not well formed: " + op.value);
        next.cloudwatch_role_arn = op.value;
      } else if (op.op == "replace" && op.path == "/throttle/rateLimit") {
        next.throttle.rate_limit = patch_double(op);
      } else if (op.op == "replace" && op.path == "/throttle/burstLimit") {
        next.throttle.burst_limit = patch_int(op);
      } else if (op.path == "/features" && op.value == "UsagePlans" && op.op == "add") {
        // Usage plans are always on.
      } else if (op.path == "/features" && op.op == "remove") {
        bad_request("Usage plans cannot be turned off: tollgate is built on them");
      } else {
        invalid_patch_path(op,
                           "/cloudwatchRoleArn, /throttle/rateLimit, /throttle/burstLimit, "
                           "/features (add UsagePlans)");
      }
    }
    validate_throttle(next.throttle, "account.throttleSettings");
    s.account = next;
    return next;
  });
  return admin_json(http::status::ok, to_json(account));
}

HttpResponse get_tags(AdminContext& ctx, const AdminRequest& req) {
  const Tagged target = tagged(req.segments()[1]);
  ControlState s;
  const std::map<std::string, std::string> found =
      target.api_key ? find_api_key(ctx.store, target.id).tags
                     : find_usage_plan(s = ctx.few(), target.id).tags;
  json::object tags;
  for (const auto& [k, v] : found) tags[k] = v;
  return admin_json(http::status::ok, json::object{{"tags", std::move(tags)}});
}

HttpResponse tag_resource(AdminContext& ctx, const AdminRequest& req) {
  const auto incoming = get_string_map(req.json(), "tags", "tagResourceInput");
  edit_tags(ctx, req.segments()[1], [&](std::map<std::string, std::string>& tags) {
    for (const auto& [k, v] : incoming) tags[k] = v;
  });
  return admin_empty(http::status::no_content);
}

HttpResponse untag_resource(AdminContext& ctx, const AdminRequest& req) {
  const auto keys = req.query_all("tagKeys");
  edit_tags(ctx, req.segments()[1], [&](std::map<std::string, std::string>& tags) {
    for (const auto& k : keys) tags.erase(k);
  });
  return admin_empty(http::status::no_content);
}

}  // namespace tollgate
