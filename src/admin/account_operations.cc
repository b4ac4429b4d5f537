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

// What an ARN names: arn:aws:apigateway:{region}::/apikeys/{id},
// ::/usageplans/{id}, ::/restapis/{id} or ::/restapis/{id}/stages/{name}.
// Other ARNs are a 400.
struct Tagged {
  enum class Kind { kApiKey, kUsagePlan, kRestApi, kStage } kind;
  std::string id;
  std::string stage;
};

Tagged tagged(const std::string& arn) {
  const std::size_t path = arn.find("::/");
  if (arn.rfind("arn:", 0) != 0 || path == std::string::npos)
    bad_request("Invalid resource ARN specified: " + arn);
  std::vector<std::string> parts;
  for (std::string_view rest = std::string_view(arn).substr(path + 3);;) {
    const std::size_t slash = rest.find('/');
    parts.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  using K = Tagged::Kind;
  if (parts.size() == 2 && parts[0] == "apikeys") return {K::kApiKey, parts[1], ""};
  if (parts.size() == 2 && parts[0] == "usageplans") return {K::kUsagePlan, parts[1], ""};
  if (parts.size() == 2 && parts[0] == "restapis") return {K::kRestApi, parts[1], ""};
  if (parts.size() == 4 && parts[0] == "restapis" && parts[2] == "stages")
    return {K::kStage, parts[1], parts[3]};
  bad_request("Tagging is supported for REST APIs, stages, API keys and usage plans; not for " +
              arn);
}

// The tags of what `target` names, within the state `s` or, for an API key,
// in `key` (read from the store, which keeps keys apart).
std::map<std::string, std::string>& tags_of(AdminContext& ctx, ControlState& s, ApiKey& key,
                                            const Tagged& target) {
  switch (target.kind) {
    case Tagged::Kind::kApiKey:
      return key.tags;
    case Tagged::Kind::kUsagePlan:
      return find_usage_plan(s, target.id).tags;
    case Tagged::Kind::kRestApi:
      return find_api(s, target.id, ctx.account_id).tags;
    case Tagged::Kind::kStage:
      find_api(s, target.id, ctx.account_id);
      return find_stage(s, target.id, target.stage).tags;
  }
  bad_request("Invalid resource ARN specified");
}

// Changes the tags of what `arn` names, in one transaction.
template <typename Change>
void edit_tags(AdminContext& ctx, const std::string& arn, Change change) {
  const Tagged target = tagged(arn);
  ctx.edit([&](ControlState& s, ControlTransaction& tx) {
    ApiKey key;
    if (target.kind == Tagged::Kind::kApiKey) key = find_api_key(tx, target.id);
    std::map<std::string, std::string>& tags = tags_of(ctx, s, key, target);
    change(tags);
    check_tags(tags);
    if (target.kind == Tagged::Kind::kApiKey) tx.put(key);
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
  // A key is read alone; the rest of the control state only for the others.
  ControlState s;
  ApiKey key;
  if (target.kind == Tagged::Kind::kApiKey)
    key = find_api_key(ctx.store, target.id);
  else
    s = ctx.few();
  json::object tags;
  for (const auto& [k, v] : tags_of(ctx, s, key, target)) tags[k] = v;
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
