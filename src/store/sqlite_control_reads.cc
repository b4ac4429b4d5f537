#include "store/sqlite_control_reads.h"

#include "model/json_codec.h"
#include "store/page_token.h"
#include "store/sqlite_statement.h"
#include "store/stored_doc.h"

namespace tollgate {
namespace {

template <typename T, typename Decode>
std::vector<T> load_docs(sqlite3* db, const char* sql, Decode decode) {
  std::vector<T> out;
  SqliteStatement st(db, sql);
  while (st.step()) out.push_back(decode_doc(st.text(0), decode));
  return out;
}

// The least text greater than every text that starts with `prefix`:
// no UTF-8 text holds the byte 0xFF.
std::string after_prefix(const std::string& prefix) { return prefix + '\xff'; }

// Steps `st`, which asks for a page and one more row, calling `add` with
// each row of the page; the token of the row after it (its id and sort
// value, in columns `id_column` and `sort_column`), which begins the next
// page, or "" on the last.
template <typename Add>
std::string read_page(SqliteStatement& st, std::size_t limit, int id_column, int sort_column,
                      Add add) {
  for (std::size_t rows = 0; st.step(); ++rows) {
    if (rows == limit) return page_token(st.text(id_column), st.text(sort_column));
    add(st);
  }
  return {};
}

void add_key(std::vector<ApiKey>& keys, const SqliteStatement& st) {
  keys.push_back(decode_doc(st.text(0), api_key_from_json));
}

}  // namespace

ControlState SqliteControlReads::few() {
  ControlState state;
  state.apis = load_docs<RestApi>(db_, "SELECT doc FROM rest_apis ORDER BY id", rest_api_from_json);
  state.deployments = load_docs<Deployment>(db_, "SELECT doc FROM deployments ORDER BY api_id, id",
                                            deployment_from_json);
  state.stages =
      load_docs<Stage>(db_, "SELECT doc FROM stages ORDER BY api_id, name", stage_from_json);
  state.usage_plans =
      load_docs<UsagePlan>(db_, "SELECT doc FROM usage_plans ORDER BY id", usage_plan_from_json);
  SqliteStatement account(db_, "SELECT doc FROM account WHERE id = 1");
  if (account.step()) state.account = account_from_json(parse_doc(account.text(0)));
  state.keys_hashed = keys_hashed();
  return state;
}

bool SqliteControlReads::keys_hashed() {
  SqliteStatementCache::Use hashed =
      statements_.use("SELECT value FROM meta WHERE name = 'keys_hashed'");
  return hashed->step() && hashed->integer(0) != 0;
}

std::optional<ApiKey> SqliteControlReads::api_key(const std::string& key_id) {
  SqliteStatementCache::Use st = statements_.use("SELECT doc FROM api_keys WHERE id = ?1");
  st->bind(1, key_id);
  if (!st->step()) return std::nullopt;
  return decode_doc(st->text(0), api_key_from_json);
}

std::optional<std::string> SqliteControlReads::key_id_with_value(const std::string& value) {
  SqliteStatementCache::Use st = statements_.use("SELECT id FROM api_keys WHERE value = ?1");
  st->bind(1, value);
  if (!st->step()) return std::nullopt;
  return st->text(0);
}

std::vector<UsagePlanKey> SqliteControlReads::plans_of_key(const std::string& key_id) {
  SqliteStatementCache::Use st = statements_.use(
      "SELECT plan_id, created FROM usage_plan_keys WHERE key_id = ?1 ORDER BY plan_id");
  st->bind(1, key_id);
  std::vector<UsagePlanKey> out;
  while (st->step()) out.push_back({st->text(0), key_id, st->integer(1)});
  return out;
}

std::optional<UsagePlanKey> SqliteControlReads::membership(const std::string& plan_id,
                                                           const std::string& key_id) {
  SqliteStatementCache::Use st =
      statements_.use("SELECT created FROM usage_plan_keys WHERE plan_id = ?1 AND key_id = ?2");
  st->bind(1, plan_id).bind(2, key_id);
  if (!st->step()) return std::nullopt;
  return UsagePlanKey{plan_id, key_id, st->integer(0)};
}

std::optional<std::string> SqliteControlReads::key_in_both(const std::string& plan_id,
                                                           const std::string& other_plan_id) {
  // Walks the first plan's keys and looks each up in the other's.
  SqliteStatement st(db_,
                     "SELECT a.key_id FROM usage_plan_keys a JOIN usage_plan_keys b "
                     "ON b.plan_id = ?2 AND b.key_id = a.key_id WHERE a.plan_id = ?1 LIMIT 1");
  st.bind(1, plan_id).bind(2, other_plan_id);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

KeyListing SqliteControlReads::list_api_keys(const KeyQuery& query) {
  if (query.by_name) return list_api_keys_by_name(query);
  KeyListing out;
  std::int64_t from_created = INT64_MAX;
  const PageToken position = parse_page_token(query.position);
  if (!query.position.empty()) {
    if (const std::optional<std::int64_t> created = created_of(position)) {
      from_created = *created;
    } else {
      SqliteStatement at(db_, "SELECT created FROM api_keys WHERE id = ?1");
      at.bind(1, position.id);
      if (position.sort || !at.step()) {
        out.position_found = false;
        return out;
      }
      from_created = at.integer(0);
    }
  }
  // The index that narrows the most: a name or a customer picks out few
  // keys, sorted then; otherwise the keys are walked in creation order.
  std::string sql = "SELECT doc, id, created FROM api_keys ";
  if (!query.name_prefix.empty())
    sql += "INDEXED BY api_keys_by_name WHERE name >= ?1 AND name < ?2 ";
  else if (query.customer_id)
    sql += "INDEXED BY api_keys_by_customer WHERE 1 ";
  else
    sql += "INDEXED BY api_keys_by_created_serving WHERE 1 ";
  if (query.customer_id) sql += "AND customer_id = ?3 ";
  if (!query.position.empty()) sql += "AND (created, id) <= (?4, ?5) ";
  sql += "ORDER BY created DESC, id DESC LIMIT ?6";
  SqliteStatement st(db_, sql.c_str());
  if (!query.name_prefix.empty())
    st.bind(1, query.name_prefix).bind(2, after_prefix(query.name_prefix));
  if (query.customer_id) st.bind(3, *query.customer_id);
  if (!query.position.empty()) st.bind(4, from_created).bind(5, position.id);
  st.bind(6, static_cast<std::int64_t>(query.limit + 1));
  out.next_position =
      read_page(st, query.limit, 1, 2, [&](const SqliteStatement& row) { add_key(out.keys, row); });
  return out;
}

KeyListing SqliteControlReads::list_api_keys_by_name(const KeyQuery& query) {
  KeyListing out;
  std::string from_name;
  const PageToken position = parse_page_token(query.position);
  if (position.sort) {
    from_name = *position.sort;
  } else if (!query.position.empty()) {
    SqliteStatement at(db_, "SELECT name FROM api_keys WHERE id = ?1");
    at.bind(1, position.id);
    if (!at.step()) {
      out.position_found = false;
      return out;
    }
    from_name = at.text(0);
  }
  std::string filter = "name >= ?1 AND name < ?2 ";
  if (query.customer_id) filter += "AND customer_id = ?3 ";
  if (query.plan_id)
    filter +=
        "AND EXISTS (SELECT 1 FROM usage_plan_keys m WHERE m.plan_id = ?4 AND m.key_id = "
        "api_keys.id) ";
  const auto bind_filter = [&](SqliteStatement& st) {
    st.bind(1, query.name_prefix).bind(2, after_prefix(query.name_prefix));
    if (query.customer_id) st.bind(3, *query.customer_id);
    if (query.plan_id) st.bind(4, *query.plan_id);
  };
  if (query.with_total) {
    // All keys and all of a plan's are counted without walking them.
    if (query.name_prefix.empty() && !query.customer_id && !query.plan_id) {
      SqliteStatement count(db_, "SELECT value FROM meta WHERE name = 'api_key_count'");
      out.total = count.step() ? static_cast<std::size_t>(count.integer(0)) : 0;
    } else if (query.name_prefix.empty() && !query.customer_id) {
      out.total = plan_key_count(*query.plan_id);
    } else {
      SqliteStatement count(
          db_,
          ("SELECT count(*) FROM api_keys INDEXED BY api_keys_by_name WHERE " + filter).c_str());
      bind_filter(count);
      out.total = count.step() ? static_cast<std::size_t>(count.integer(0)) : 0;
    }
  }
  std::string sql =
      "SELECT doc, id, name FROM api_keys INDEXED BY api_keys_by_name WHERE " + filter;
  if (!query.position.empty()) sql += "AND (name, id) >= (?5, ?6) ";
  sql += "ORDER BY name, id LIMIT ?7";
  SqliteStatement st(db_, sql.c_str());
  bind_filter(st);
  if (!query.position.empty()) st.bind(5, from_name).bind(6, position.id);
  st.bind(7, static_cast<std::int64_t>(query.limit + 1));
  out.next_position =
      read_page(st, query.limit, 1, 2, [&](const SqliteStatement& row) { add_key(out.keys, row); });
  return out;
}

MemberListing SqliteControlReads::list_plan_keys(const MemberQuery& query) {
  MemberListing out;
  std::int64_t from_created = INT64_MAX;
  const PageToken position = parse_page_token(query.position);
  if (const std::optional<std::int64_t> created = created_of(position)) {
    from_created = *created;
  } else if (!query.position.empty()) {
    const std::optional<UsagePlanKey> at = membership(query.plan_id, position.id);
    if (position.sort || !at) {
      out.position_found = false;
      return out;
    }
    from_created = at->created_date;
  }
  std::string sql =
      "SELECT m.key_id, m.created, k.doc FROM usage_plan_keys m INDEXED BY "
      "usage_plan_keys_by_created "
      "JOIN api_keys k ON k.id = m.key_id WHERE m.plan_id = ?1 ";
  if (!query.name_prefix.empty()) sql += "AND k.name >= ?2 AND k.name < ?3 ";
  if (!query.position.empty()) sql += "AND (m.created, m.key_id) <= (?4, ?5) ";
  sql += "ORDER BY m.created DESC, m.key_id DESC LIMIT ?6";
  SqliteStatement st(db_, sql.c_str());
  st.bind(1, query.plan_id);
  if (!query.name_prefix.empty())
    st.bind(2, query.name_prefix).bind(3, after_prefix(query.name_prefix));
  if (!query.position.empty()) st.bind(4, from_created).bind(5, position.id);
  st.bind(6, static_cast<std::int64_t>(query.limit + 1));
  out.next_position = read_page(st, query.limit, 0, 1, [&](const SqliteStatement& row) {
    out.members.push_back({UsagePlanKey{query.plan_id, row.text(0), row.integer(1)},
                           decode_doc(row.text(2), api_key_from_json)});
  });
  return out;
}

std::vector<std::string> SqliteControlReads::plan_key_ids(const std::string& plan_id) {
  SqliteStatement st(db_, "SELECT key_id FROM usage_plan_keys WHERE plan_id = ?1 ORDER BY key_id");
  st.bind(1, plan_id);
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::size_t SqliteControlReads::plan_key_count(const std::string& plan_id) {
  SqliteStatement st(db_, "SELECT count(*) FROM usage_plan_keys WHERE plan_id = ?1");
  st.bind(1, plan_id);
  return st.step() ? static_cast<std::size_t>(st.integer(0)) : 0;
}

std::optional<ServingKey> SqliteControlReads::serving_key(const std::string& key_id) {
  SqliteStatementCache::Use st =
      statements_.use("SELECT value, enabled, customer_id FROM api_keys WHERE id = ?1");
  st->bind(1, key_id);
  if (!st->step()) return std::nullopt;
  return ServingKey{key_id, st->text(0), st->integer(1) != 0, st->text(2), plans_of_key(key_id)};
}

}  // namespace tollgate
