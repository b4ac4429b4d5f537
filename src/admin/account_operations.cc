#include <algorithm>

#include "admin/lookups.h"
#include "admin/operations.h"
#include "model/json_codec.h"
#include "model/json_fields.h"

namespace tollgate {
namespace json = boost::json;

namespace {

// The tags of the entity an ARN names: arn:aws:apigateway:{region}::/apikeys/{id}
// or ::/usageplans/{id}. Other ARNs are a 400.
std::map<std::string, std::string>& tags_of(ControlState& s, const std::string& arn) {
  const std::size_t path = arn.find("::/");
  if (arn.rfind("arn:", 0) != 0 || path == std::string::npos)
    bad_request("Invalid resource ARN specified: " + arn);
  const std::string rest = arn.substr(path + 3);
  const std::size_t slash = rest.find('/');
  const std::string kind = rest.substr(0, slash);
  const std::string id = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (kind == "apikeys") return find_api_key(s, id).tags;
  if (kind == "usageplans") return find_usage_plan(s, id).tags;
  bad_request("Tagging is supported for API keys and usage plans; not for " + arn);
}

}  // namespace

HttpResponse get_account(AdminContext& ctx, const AdminRequest&) {
  return admin_json(http::status::ok, to_json(ctx.read().account));
}

HttpResponse get_tags(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.read();
  json::object tags;
  for (const auto& [k, v] : tags_of(s, req.segments()[1])) tags[k] = v;
  return admin_json(http::status::ok, json::object{{"tags", std::move(tags)}});
}

HttpResponse tag_resource(AdminContext& ctx, const AdminRequest& req) {
  const auto incoming = get_string_map(req.json(), "tags", "tagResourceInput");
  ctx.edit([&](ControlState& s) {
    auto& tags = tags_of(s, req.segments()[1]);
    for (const auto& [k, v] : incoming) tags[k] = v;
    return 0;
  });
  return admin_empty(http::status::no_content);
}

HttpResponse untag_resource(AdminContext& ctx, const AdminRequest& req) {
  const auto keys = req.query_all("tagKeys");
  ctx.edit([&](ControlState& s) {
    auto& tags = tags_of(s, req.segments()[1]);
    for (const auto& k : keys) tags.erase(k);
    return 0;
  });
  return admin_empty(http::status::no_content);
}

}  // namespace tollgate
