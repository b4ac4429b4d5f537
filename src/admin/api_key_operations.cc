#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "admin/csv_reader.h"
#include "admin/lookups.h"
#include "admin/operations.h"
#include "admin/paging.h"
#include "admin/patch_operations.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "model/json_codec.h"
#include "model/json_fields.h"
#include "model/validate.h"

namespace tollgate {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxNameLength = 1024;
constexpr std::size_t kMaxDescriptionLength = 125000;

void check_name(const std::string& name) {
  if (name.size() > kMaxNameLength)
    bad_request("Invalid API Key name, can be at most 1024 characters.");
}

void check_description(const std::string& description) {
  if (description.size() > kMaxDescriptionLength)
    bad_request("Invalid API Key description specified.");
}

void check_customer_id(const std::string& customer_id) {
  try {
    validate_customer_id(customer_id);
  } catch (const std::invalid_argument& e) {
    bad_request(e.what());
  }
}

void check_value_unique(ControlReads& reads, const ApiKey& key) {
  if (const std::optional<std::string> holder = reads.key_id_with_value(key.value);
      holder && *holder != key.id)
    conflict("API Key already exists");
}

// A new key's id that no key has.
std::string unused_key_id(ControlReads& reads, std::int64_t now_s) {
  std::string id = new_key_id(now_s);
  while (reads.api_key(id)) id = new_key_id(now_s);
  return id;
}

// Adds `key_id` to `plan_id` unless already there; the conflict message when
// the key would be in two plans for one stage, else empty. `joined`: the
// plans each key joined in this transaction, which a store may not show
// its reads before the commit.
std::string join_plan(const ControlState& few, ControlTransaction& tx,
                      std::unordered_map<std::string, std::vector<UsagePlanKey>>& joined,
                      const std::string& plan_id, const std::string& key_id, std::int64_t now) {
  auto [at, first] = joined.try_emplace(key_id);
  std::vector<UsagePlanKey>& plans = at->second;
  if (first) plans = tx.plans_of_key(key_id);
  if (std::any_of(plans.begin(), plans.end(),
                  [&](const UsagePlanKey& m) { return m.plan_id == plan_id; }))
    return {};
  const auto plan = std::find_if(few.usage_plans.begin(), few.usage_plans.end(),
                                 [&](const UsagePlan& p) { return p.id == plan_id; });
  std::string problem = plan_stage_conflict(few, *plan, key_id, plans);
  if (problem.empty()) {
    const UsagePlanKey member{plan_id, key_id, now};
    tx.put(member);
    plans.push_back(member);
  }
  return problem;
}

}  // namespace

HttpResponse create_api_key(AdminContext& ctx, const AdminRequest& req) {
  const json::object body = req.json();
  const char* where = "createApiKeyInput";
  ApiKey key;
  key.name = get_string(body, "name", where);
  key.description = get_string(body, "description", where);
  key.customer_id = get_string(body, "customerId", where);
  key.enabled = get_bool(body, "enabled", false, where);
  key.value = get_string(body, "value", where);
  key.tags = get_string_map(body, "tags", where);
  check_tags(key.tags);
  // Stage keys bound a key to stages before usage plans did; tollgate has
  // only usage plans, and dropping them silently would lose the binding.
  if (const json::value* stage_keys = body.if_contains("stageKeys");
      stage_keys && stage_keys->is_array() && !stage_keys->get_array().empty())
    bad_request("stageKeys are not supported: add the key to a usage plan (create-usage-plan-key)");
  check_name(key.name);
  check_description(key.description);
  check_customer_id(key.customer_id);
  if (key.value.empty())
    key.value = random_key_value();
  else
    validate_key_value(key.value);
  key.created_date = key.last_updated_date = ctx.now_s();
  ctx.edit([&](ControlState& s, ControlTransaction& tx) {
    key.id = unused_key_id(tx, key.created_date);
    ApiKey stored = key;
    stored.value = ctx.stored_key_value(s, key.value);
    check_value_unique(tx, stored);
    tx.put(stored);
    return 0;
  });
  // The value given or made is shown this once, even when only its digest is kept.
  return admin_json(http::status::created, to_json(key, true));
}

HttpResponse get_api_key(AdminContext& ctx, const AdminRequest& req) {
  const ApiKey key = find_api_key(ctx.store, req.segments()[1]);
  // A hashed value is never shown: includeValue gives none.
  const bool value = req.query_flag("includeValue") && !ctx.store.keys_hashed();
  return admin_json(http::status::ok, to_json(key, value));
}

HttpResponse get_api_keys(AdminContext& ctx, const AdminRequest& req) {
  KeyQuery query;
  query.name_prefix = req.query("name").value_or("");
  query.customer_id = req.query("customerId");
  query.position = req.query("position").value_or("");
  query.limit = page_limit(req);
  const KeyListing listing = ctx.store.list_api_keys(query);
  if (!listing.position_found) bad_request("Invalid position parameter");
  const bool values = req.query_flag("includeValues") && !ctx.store.keys_hashed();
  json::array items;
  for (const ApiKey& k : listing.keys) items.push_back(to_json(k, values));
  return admin_json(http::status::ok, page_json(std::move(items), listing.next_position));
}

HttpResponse update_api_key(AdminContext& ctx, const AdminRequest& req) {
  const auto ops = patch_operations(req, "updateApiKeyInput");
  const ApiKey key = ctx.edit([&](ControlState&, ControlTransaction& tx) {
    ApiKey k = find_api_key(tx, req.segments()[1]);
    for (const auto& op : ops) {
      if (op.op != "replace") invalid_patch_path(op, "/description, /enabled, /name, /customerId");
      if (op.path == "/name") {
        check_name(op.value);
        k.name = op.value;
      } else if (op.path == "/description") {
        check_description(op.value);
        k.description = op.value;
      } else if (op.path == "/enabled") {
        k.enabled = patch_bool(op);
      } else if (op.path == "/customerId") {
        check_customer_id(op.value);
        k.customer_id = op.value;
      } else {
        invalid_patch_path(op, "/description, /enabled, /name, /customerId");
      }
    }
    k.last_updated_date = ctx.now_s();
    tx.put(k);
    return k;
  });
  return admin_json(http::status::ok, to_json(key, false));
}

HttpResponse delete_api_key(AdminContext& ctx, const AdminRequest& req) {
  ctx.edit([&](ControlState&, ControlTransaction& tx) {
    tx.erase_api_key(find_api_key(tx, req.segments()[1]).id);
    return 0;
  });
  return admin_empty(http::status::accepted);
}

HttpResponse import_api_keys(AdminContext& ctx, const AdminRequest& req) {
  const std::string format = req.query("format").value_or("");
  if (format != "csv")
    validation_error(
        "1 validation error detected: Value '" + format +
        "' at 'importApiKeysInput.format' failed to satisfy constraint: Member must satisfy "
        "enum value set: [csv]");
  const bool fail_on_warnings = req.query_flag("failonwarnings");
  std::vector<CsvRow> rows;
  try {
    rows = read_csv(req.body());
  } catch (const std::invalid_argument& e) {
    bad_request(std::string("Invalid CSV: ") + e.what());
  }
  if (rows.empty())
    bad_request(
        "Invalid CSV: the body is empty; the first line must be a header with Name and Key");

  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < rows[0].cells.size(); ++i)
    column.emplace(ascii_lower(rows[0].cells[i]), i);
  for (const char* required : {"name", "key"})
    if (!column.count(required))
      bad_request(std::string("Invalid CSV: the header line has no '") +
                  (required[0] == 'n' ? "Name" : "Key") + "' column");
  auto cell = [&](const CsvRow& row, const char* name) -> std::string {
    auto it = column.find(name);
    return it == column.end() || it->second >= row.cells.size() ? std::string()
                                                                : row.cells[it->second];
  };

  json::array ids;
  json::array warnings;
  ctx.edit([&](ControlState& s, ControlTransaction& tx) {
    std::unordered_map<std::string, std::vector<UsagePlanKey>> joined;
    std::unordered_set<std::string> seen;
    for (std::size_t r = 1; r < rows.size(); ++r) {
      const CsvRow& row = rows[r];
      const std::string line = "Line " + std::to_string(row.line) + ": ";
      ApiKey incoming;
      incoming.name = cell(row, "name");
      incoming.value = cell(row, "key");
      incoming.description = cell(row, "description");
      const std::string enabled = ascii_lower(cell(row, "enabled"));
      try {
        validate_key_value(incoming.value);
      } catch (const std::invalid_argument& e) {
        warnings.push_back(json::string(line + e.what()));
        continue;
      }
      if (incoming.name.size() > kMaxNameLength ||
          incoming.description.size() > kMaxDescriptionLength) {
        warnings.push_back(json::string(line + "name or description too long"));
        continue;
      }
      if (!enabled.empty() && enabled != "true" && enabled != "false") {
        warnings.push_back(json::string(line + "Enabled must be true or false, not '" +
                                        cell(row, "enabled") + "'"));
        continue;
      }
      if (!seen.insert(incoming.value).second) {
        warnings.push_back(json::string(line + "duplicate key value in the file"));
        continue;
      }
      incoming.value = ctx.stored_key_value(s, incoming.value);
      std::vector<std::string> plan_ids;
      std::string plans = cell(row, "usageplanids");
      for (std::size_t start = 0; start < plans.size();) {
        const std::size_t comma = plans.find(',', start);
        std::string id =
            plans.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        id.erase(0, id.find_first_not_of(" \t"));
        id.erase(id.find_last_not_of(" \t") + 1);
        if (!id.empty()) plan_ids.push_back(id);
        start = comma == std::string::npos ? plans.size() : comma + 1;
      }
      bool bad_plan = false;
      for (const auto& id : plan_ids) {
        if (std::none_of(s.usage_plans.begin(), s.usage_plans.end(),
                         [&](const UsagePlan& p) { return p.id == id; })) {
          warnings.push_back(json::string(line + "Invalid usage plan id " + id));
          bad_plan = true;
        }
      }
      if (bad_plan) continue;

      // The key value is the identity: an existing key is updated in place.
      std::optional<ApiKey> existing;
      if (const std::optional<std::string> id = tx.key_id_with_value(incoming.value))
        existing = tx.api_key(*id);
      if (existing) {
        existing->name = incoming.name;
        existing->description = incoming.description;
      } else {
        existing = incoming;
        existing->created_date = ctx.now_s();
        existing->id = unused_key_id(tx, existing->created_date);
      }
      existing->enabled = enabled.empty() || enabled == "true";
      existing->last_updated_date = ctx.now_s();
      tx.put(*existing);
      const std::string key_id = existing->id;
      for (const auto& id : plan_ids)
        if (std::string problem = join_plan(s, tx, joined, id, key_id, ctx.now_s());
            !problem.empty())
          warnings.push_back(json::string(line + problem));
      ids.push_back(json::string(key_id));
    }
    if (fail_on_warnings && !warnings.empty()) {
      std::string all;
      for (const auto& w : warnings) all += (all.empty() ? "" : "; ") + std::string(w.get_string());
      bad_request("Import failed with warnings (failOnWarnings is set; nothing was imported): " +
                  all);
    }
    return 0;
  });
  json::object out{{"ids", std::move(ids)}};
  if (!warnings.empty()) out["warnings"] = std::move(warnings);
  return admin_json(http::status::created, out);
}

}  // namespace tollgate
