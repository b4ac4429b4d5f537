#include <algorithm>
#include <cmath>
#include <cstring>

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

const char* kPlanPaths =
    "/apiStages, /quota, /throttle, /productCode, "
    "/apiStages/<apidId:stageName>/throttle/<resourcePath>/<httpMethod>, "
    "/apiStages/<apidId:stageName>/throttle";

// A hashed value is never shown.
json::object plan_key_json(const ApiKey& k, bool hashed) {
  json::object o{{"id", k.id}, {"type", "API_KEY"}};
  if (!hashed) o["value"] = k.value;
  if (!k.name.empty()) o["name"] = k.name;
  return o;
}

bool stage_exists(const ControlState& s, const std::string& api_id, const std::string& stage) {
  return std::any_of(s.stages.begin(), s.stages.end(), [&](const Stage& st) {
    return st.api_id == api_id && st.stage_name == stage;
  });
}

// "{resourcePath}/{METHOD}" must name a method of the API.
void check_method_key(const ControlState& s, const std::string& api_id, const std::string& key) {
  for (const auto& api : s.apis) {
    if (api.id != api_id) continue;
    for (const auto& r : api.resources)
      for (const auto& [name, m] : r.methods)
        if (plan_method_key(r.path, name) == key) return;
  }
  bad_request("Invalid method throttle key '" + key + "' for API " + api_id +
              ": use {resourcePath}/{httpMethod} of an existing method, e.g. /pets/GET");
}

// AWS's quota limit is a 32-bit integer on the wire: an SDK cannot send or
// read a larger one. (A declaration applied with `tollgate apply` may set one.)
void check_wire_quota_limit(std::int64_t limit) {
  constexpr std::int64_t kMaxWireInteger = 2147483647;
  if (limit > kMaxWireInteger)
    bad_request("Invalid quota limit " + std::to_string(limit) + ": must be at most " +
                std::to_string(kMaxWireInteger));
}

void check_plan(const ControlState& s, const UsagePlan& p) {
  if (p.throttle) validate_throttle(*p.throttle, "throttle");
  if (p.quota) validate_quota(*p.quota, "quota");
  for (const auto& as : p.api_stages)
    for (const auto& [key, t] : as.throttle) {
      check_method_key(s, as.api_id, key);
      validate_throttle(t, "throttle " + key);
    }
}

// "apiId:stage" → an ApiStage, 400 "Invalid API Stage specified" otherwise.
ApiStage parse_api_stage(const std::string& value) {
  const std::size_t colon = value.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size())
    bad_request("Invalid API Stage specified");
  return ApiStage{value.substr(0, colon), value.substr(colon + 1), {}};
}

[[noreturn]] void invalid_api_stage(const ApiStage& as, const std::string& plan_id, bool missing) {
  const std::string message = "Invalid API Stage {api: " + as.api_id + ", stage: " + as.stage +
                              "} specified for usageplan " + plan_id;
  if (missing) not_found(message);
  bad_request(message);
}

ApiStage& plan_stage(UsagePlan& p, const ApiStage& wanted) {
  for (auto& as : p.api_stages)
    if (as.api_id == wanted.api_id && as.stage == wanted.stage) return as;
  invalid_api_stage(wanted, p.id, true);
}

Throttle& ensure_throttle(std::optional<Throttle>& t) {
  if (!t) t = Throttle{};
  return *t;
}

// Creating a throttle through one of its fields: the other gets a value that
// admits traffic (burst = rate rounded up, or rate = burst), not a 0 that
// would refuse everything.
void set_rate(Throttle& t, double rate, bool created) {
  t.rate_limit = rate;
  if (created)
    t.burst_limit = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(rate)));
}
void set_burst(Throttle& t, std::int64_t burst, bool created) {
  t.burst_limit = burst;
  if (created) t.rate_limit = static_cast<double>(burst);
}

void apply_method_throttle_op(UsagePlan& p, const PatchOperation& op, const std::string& rest) {
  // rest: "{apiId}:{stage}/throttle[/{methodKey}[/rateLimit|/burstLimit]]"
  const std::size_t slash = rest.find('/');
  std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
  // The path's shape before the stage lookup: "/apiStages/abc:dev" is a bad
  // path (400), not a missing stage (404).
  if (tail != "/throttle" && tail.rfind("/throttle/", 0) != 0) invalid_patch_path(op, kPlanPaths);
  ApiStage& as = plan_stage(p, parse_api_stage(rest.substr(0, slash)));
  tail = tail.substr(9);
  if (tail.empty()) {
    if (op.op == "remove") {
      as.throttle.clear();
    } else if (op.op == "replace") {
      boost::system::error_code ec;
      const json::value v = json::parse(op.value, ec);
      if (ec || !v.is_object())
        bad_request("Invalid throttle map: the value must be a JSON object");
      std::map<std::string, Throttle> map;
      for (const auto& [k, t] : v.get_object())
        map[std::string(k)] = throttle_from_json(t, "throttle." + std::string(k));
      as.throttle = std::move(map);
    } else {
      invalid_patch_path(op, kPlanPaths);
    }
    return;
  }
  // The map key is embedded unescaped ("//pets/GET") or JSON-pointer escaped.
  std::string key = tail.substr(1);
  std::string field;
  for (const char* f : {"/rateLimit", "/burstLimit"})
    if (key.size() > std::strlen(f) && key.ends_with(f)) {
      field = f + 1;
      key.resize(key.size() - std::strlen(f));
    }
  for (std::size_t pos; (pos = key.find("~1")) != std::string::npos;) key.replace(pos, 2, "/");
  for (std::size_t pos; (pos = key.find("~0")) != std::string::npos;) key.replace(pos, 2, "~");
  if (field.empty()) {
    if (op.op != "remove") invalid_patch_path(op, kPlanPaths);
    if (!as.throttle.erase(key))
      bad_request("No method throttle '" + key + "' in " + as.api_id + ":" + as.stage);
    return;
  }
  if (op.op != "add" && op.op != "replace") invalid_patch_path(op, kPlanPaths);
  const bool created = !as.throttle.count(key);
  Throttle& t = as.throttle[key];
  if (field == "rateLimit")
    set_rate(t, patch_double(op), created);
  else
    set_burst(t, patch_int(op), created);
}

void apply_plan_op(ControlState& s, ControlReads& reads, UsagePlan& p, const PatchOperation& op) {
  const std::string& path = op.path;
  const bool set = op.op == "add" || op.op == "replace";
  if (path == "/name" && op.op == "replace") {
    if (op.value.empty()) bad_request("Invalid usage plan name specified");
    p.name = op.value;
  } else if (path == "/description" && op.op == "replace") {
    p.description = op.value;
  } else if (path == "/productCode" && (set || op.op == "remove")) {
    p.product_code = op.op == "remove" ? "" : op.value;
  } else if (path == "/apiStages" && op.op == "add") {
    ApiStage as = parse_api_stage(op.value);
    if (!stage_exists(s, as.api_id, as.stage))
      not_found("API Stage not found: " + as.api_id + ":" + as.stage);
    for (const auto& existing : p.api_stages)
      if (existing.api_id == as.api_id && existing.stage == as.stage)
        conflict("Usage plan " + p.id + " already contains API Stage " + op.value);
    p.api_stages.push_back(as);
    if (std::string problem = plan_keys_stage_conflict(s, reads, p, as); !problem.empty())
      conflict(problem);
  } else if (path == "/apiStages" && op.op == "remove") {
    if (!op.has_value) bad_request("Invalid API Stage specified");
    const ApiStage wanted = parse_api_stage(op.value);
    plan_stage(p, wanted);
    std::erase_if(p.api_stages, [&](const ApiStage& as) {
      return as.api_id == wanted.api_id && as.stage == wanted.stage;
    });
  } else if (path.rfind("/apiStages/", 0) == 0) {
    apply_method_throttle_op(p, op, path.substr(11));
  } else if (path == "/throttle" && op.op == "remove") {
    p.throttle.reset();
  } else if (path == "/throttle/rateLimit" && set) {
    const bool created = !p.throttle;
    set_rate(ensure_throttle(p.throttle), patch_double(op), created);
  } else if (path == "/throttle/burstLimit" && set) {
    const bool created = !p.throttle;
    set_burst(ensure_throttle(p.throttle), patch_int(op), created);
  } else if (path == "/quota" && op.op == "remove") {
    p.quota.reset();
  } else if ((path == "/quota/limit" || path == "/quota/offset" || path == "/quota/period") &&
             set) {
    if (!p.quota) p.quota = Quota{0, 0, QuotaPeriod::kMonth};
    if (path == "/quota/limit") {
      p.quota->limit = patch_int(op);
      check_wire_quota_limit(p.quota->limit);
    } else if (path == "/quota/offset") {
      p.quota->offset = patch_int(op);
    } else {
      auto period = quota_period_from(op.value);
      if (!period)
        validation_error(
            "1 validation error detected: Value '" + op.value +
            "' at 'updateUsagePlanInput.quota.period' failed to satisfy constraint: Member must "
            "satisfy enum value set: [DAY, WEEK, MONTH]");
      p.quota->period = *period;
    }
  } else {
    invalid_patch_path(op, kPlanPaths);
  }
}

}  // namespace

HttpResponse create_usage_plan(AdminContext& ctx, const AdminRequest& req) {
  json::object body = req.json();
  const std::string name = get_string(body, "name", "createUsagePlanInput");
  if (name.empty()) bad_request("Invalid usage plan name specified: name is required");
  // The period enum here rather than in usage_plan_from_json, so that the
  // message names the input field as AWS's request validation does.
  if (auto quota = body.find("quota"); quota != body.end() && quota->value().is_object()) {
    const std::string period =
        get_string(quota->value().get_object(), "period", "createUsagePlanInput.quota");
    if (!quota_period_from(period))
      validation_error(
          "1 validation error detected: Value '" + period +
          "' at 'createUsagePlanInput.quota.period' failed to satisfy constraint: Member must "
          "satisfy enum value set: [DAY, WEEK, MONTH]");
  }
  body["id"] = "";
  UsagePlan plan = usage_plan_from_json(body);
  plan.id = random_id(6);
  plan.product_code.clear();
  check_tags(plan.tags);
  if (plan.quota) check_wire_quota_limit(plan.quota->limit);
  plan = ctx.edit([&](ControlState& s) {
    for (std::size_t i = 0; i < plan.api_stages.size(); ++i) {
      const ApiStage& as = plan.api_stages[i];
      if (as.api_id.empty() || as.stage.empty() || !stage_exists(s, as.api_id, as.stage))
        invalid_api_stage(as, plan.id, false);
      for (std::size_t j = 0; j < i; ++j)
        if (plan.api_stages[j].api_id == as.api_id && plan.api_stages[j].stage == as.stage)
          bad_request("API Stage " + as.api_id + ":" + as.stage + " is listed twice");
    }
    check_plan(s, plan);
    s.usage_plans.push_back(plan);
    return plan;
  });
  json::object out = to_json(plan);
  if (plan.tags.empty()) out.erase("tags");
  return admin_json(http::status::created, out);
}

HttpResponse get_usage_plan(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  return admin_json(http::status::ok, to_json(find_usage_plan(s, req.segments()[1])));
}

HttpResponse get_usage_plans(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  const auto key_id = req.query("keyId");
  const std::vector<UsagePlanKey> key_plans =
      key_id ? ctx.store.plans_of_key(*key_id) : std::vector<UsagePlanKey>();
  std::vector<const UsagePlan*> plans;
  for (const auto& p : s.usage_plans) {
    const bool has_key =
        !key_id || std::any_of(key_plans.begin(), key_plans.end(),
                               [&](const UsagePlanKey& pk) { return pk.plan_id == p.id; });
    if (has_key) plans.push_back(&p);
  }
  // Listed by id: a page goes on from its token even if that plan is gone.
  std::sort(plans.begin(), plans.end(),
            [](const UsagePlan* a, const UsagePlan* b) { return a->id < b->id; });
  std::vector<std::string> ids;
  for (auto* p : plans) ids.push_back(p->id);
  const PageRange page = page_of(ids, ListingOrder::kId, req);
  json::array items;
  for (std::size_t i = page.begin; i < page.end; ++i) {
    json::object o = to_json(*plans[i]);
    if (plans[i]->tags.empty()) o.erase("tags");
    items.push_back(std::move(o));
  }
  return admin_json(http::status::ok, page_json(std::move(items), page));
}

HttpResponse update_usage_plan(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateUsagePlanInput");
  const UsagePlan plan = ctx.edit([&](ControlState& s, ControlTransaction& tx) {
    UsagePlan& p = find_usage_plan(s, req.segments()[1]);
    for (const auto& op : ops) apply_plan_op(s, tx, p, op);
    check_plan(s, p);
    return p;
  });
  return admin_json(http::status::ok, to_json(plan));
}

HttpResponse delete_usage_plan(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState& s) {
    const UsagePlan& p = find_usage_plan(s, req.segments()[1]);
    if (!p.api_stages.empty())
      bad_request("Cannot delete Usage Plan " + p.id +
                  " because there are API Stages associated with it, including " +
                  p.api_stages[0].api_id + ":" + p.api_stages[0].stage);
    const std::string id = p.id;
    // Its memberships end with it, in the store.
    std::erase_if(s.usage_plans, [&](const UsagePlan& x) { return x.id == id; });
    return 0;
  });
  return admin_empty(http::status::accepted);
}

HttpResponse create_usage_plan_key(AdminContext& ctx, const AdminRequest& req) {
  const json::object body = req.json();
  const std::string key_id = get_string(body, "keyId", "createUsagePlanKeyInput");
  const std::string key_type = get_string(body, "keyType", "createUsagePlanKeyInput");
  if (key_id.empty()) bad_request("Invalid API Key identifier specified: keyId is required");
  if (key_type != "API_KEY")
    bad_request("Invalid key type '" + key_type + "': the only key type is API_KEY");
  const auto [key, hashed] = ctx.edit([&](ControlState& s, ControlTransaction& tx) {
    const UsagePlan& plan = find_usage_plan(s, req.segments()[1]);
    const ApiKey k = find_api_key(tx, key_id);
    const std::vector<UsagePlanKey> key_plans = tx.plans_of_key(key_id);
    for (const auto& pk : key_plans)
      if (pk.plan_id == plan.id)
        conflict("API key " + key_id + " is already in usage plan " + plan.id);
    if (std::string problem = plan_stage_conflict(s, plan, key_id, key_plans); !problem.empty())
      conflict(problem);
    tx.put(UsagePlanKey{plan.id, key_id, ctx.now_s()});
    return std::pair{k, s.keys_hashed};
  });
  return admin_json(http::status::created, plan_key_json(key, hashed));
}

HttpResponse get_usage_plan_key(AdminContext& ctx, const AdminRequest& req) {
  ControlState s = ctx.few();
  find_usage_plan(s, req.segments()[1]);
  const UsagePlanKey member = find_membership(ctx.store, req.segments()[1], req.segments()[3]);
  return admin_json(http::status::ok,
                    plan_key_json(find_api_key(ctx.store, member.key_id), s.keys_hashed));
}

HttpResponse get_usage_plan_keys(AdminContext& ctx, const AdminRequest& req) {
  MemberQuery query;
  query.plan_id = req.segments()[1];
  query.name_prefix = req.query("name").value_or("");
  query.position = req.query("position").value_or("");
  query.limit = page_limit(req);
  const MemberListing listing = ctx.store.list_plan_keys(query);
  if (!listing.position_found) bad_request("Invalid position parameter");
  const bool hashed = ctx.store.keys_hashed();
  json::array items;
  for (const PlanMember& m : listing.members) items.push_back(plan_key_json(m.key, hashed));
  return admin_json(http::status::ok, page_json(std::move(items), listing.next_position));
}

HttpResponse delete_usage_plan_key(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState& s, ControlTransaction& tx) {
    find_usage_plan(s, req.segments()[1]);
    const UsagePlanKey member = find_membership(tx, req.segments()[1], req.segments()[3]);
    tx.erase_usage_plan_key(member.plan_id, member.key_id);
    return 0;
  });
  return admin_empty(http::status::accepted);
}

}  // namespace tollgate
