#include "store/sqlite_store.h"

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>

#include "model/json_codec.h"
#include "store/sort_by_texts.h"
#include "store/sqlite_statement.h"
#include "store/stored_doc.h"

namespace tollgate {
namespace json = boost::json;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('control_version', 0), ('schema_version', 3);
INSERT OR IGNORE INTO meta (name, value) VALUES ('store_id', random() & 9223372036854775807);
CREATE TABLE IF NOT EXISTS rest_apis (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deployments (
  api_id TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (api_id, id));
CREATE TABLE IF NOT EXISTS stages (
  api_id TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (api_id, name));
CREATE TABLE IF NOT EXISTS api_keys (id TEXT PRIMARY KEY, value TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS usage_plans (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
-- Memberships and meter slots are kept in their primary keys' B-trees,
-- without rowids: a key signed up writes two B-trees fewer.
CREATE TABLE IF NOT EXISTS usage_plan_keys (
  plan_id TEXT NOT NULL, key_id TEXT NOT NULL, created INTEGER NOT NULL,
  PRIMARY KEY (key_id, plan_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS account (id INTEGER PRIMARY KEY CHECK (id = 1), doc TEXT NOT NULL);
-- period: the plan's quota period when the adjustment was made (it applies
-- to that period's windows only); id: what exports name it by, kept by
-- VACUUM and copies alike.
CREATE TABLE IF NOT EXISTS usage_adjustments (
  id INTEGER PRIMARY KEY,
  plan_id TEXT NOT NULL, key_id TEXT NOT NULL, day INTEGER NOT NULL, delta INTEGER NOT NULL,
  created_at INTEGER NOT NULL, actor TEXT NOT NULL, period TEXT NOT NULL DEFAULT 'MONTH',
  customer_id TEXT NOT NULL DEFAULT '');
-- A slot per key under a plan and the customer the key had: when its
-- customerId changes, its requests count into a new slot, and each count
-- stays with the customer it was made for.
CREATE TABLE IF NOT EXISTS meter_slots (
  plan_id TEXT NOT NULL, key_id TEXT NOT NULL, customer_id TEXT NOT NULL DEFAULT '',
  slot INTEGER NOT NULL UNIQUE,
  day0 INTEGER NOT NULL DEFAULT -1, count0 INTEGER NOT NULL DEFAULT 0,
  day1 INTEGER NOT NULL DEFAULT -1, count1 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (plan_id, key_id, customer_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage_daily (
  plan_id TEXT NOT NULL, key_id TEXT NOT NULL, day INTEGER NOT NULL, used INTEGER NOT NULL,
  customer_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (plan_id, key_id, day, customer_id));
-- Served per plan and day: the deltas of usage_daily summed as they are
-- added (from usage_daily once, when a store had none: meta plan_totals).
CREATE TABLE IF NOT EXISTS usage_daily_plans (
  plan_id TEXT NOT NULL, day INTEGER NOT NULL, used INTEGER NOT NULL,
  PRIMARY KEY (plan_id, day)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage_minutes (
  plan_id TEXT NOT NULL, key_id TEXT NOT NULL, minute INTEGER NOT NULL,
  allowed INTEGER NOT NULL, throttled INTEGER NOT NULL, quota_exceeded INTEGER NOT NULL,
  PRIMARY KEY (plan_id, key_id, minute)) WITHOUT ROWID;
-- Memberships that ended (the key left the plan, or either was deleted):
-- get-usage still reports their usage.
CREATE TABLE IF NOT EXISTS former_plan_keys (
  plan_id TEXT NOT NULL, key_id TEXT NOT NULL, PRIMARY KEY (plan_id, key_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meter_progress (
  node TEXT PRIMARY KEY, complete_before_day INTEGER NOT NULL, running INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
-- What each control version changed, for the data planes to apply as a
-- delta (kind 0: the key key_id, which had the value former_value; kind 1:
-- more than keys, or too many of them: rebuild). Versions at or below meta
-- changes_floor are no longer listed.
CREATE TABLE IF NOT EXISTS control_changes (
  version INTEGER NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL, key_id TEXT, former_value TEXT,
  PRIMARY KEY (version, seq)) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) SELECT 'changes_floor', value FROM meta WHERE name = 'control_version';
INSERT OR IGNORE INTO meta (name, value) VALUES ('change_rows', 0);
-- How many API keys there are, kept by every write: a count(*) walks them all.
INSERT OR IGNORE INTO meta (name, value) SELECT 'api_key_count', count(*) FROM api_keys;
)sql";

// What the data plane serves of a key and what listings order and filter
// by, in columns of their own beside the document (which put(ApiKey)
// writes together): indexes on them need no JSON read, and a million keys
// are inserted in half the time. Filled from the documents of a store
// that had none.
constexpr const char* kKeyColumns = R"sql(
ALTER TABLE api_keys ADD COLUMN created INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN customer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN enabled INTEGER NOT NULL DEFAULT 0;
UPDATE api_keys SET created = COALESCE(json_extract(doc, '$.createdDate'), 0),
  name = COALESCE(json_extract(doc, '$.name'), ''), customer_id = COALESCE(json_extract(doc, '$.customerId'), ''),
  enabled = COALESCE(json_extract(doc, '$.enabled'), 0);
)sql";

// A store of schema 4 kept memberships and meter slots in rowid tables,
// and a key's serving columns and its creation in two indexes.
constexpr const char* kWithoutRowids = R"sql(
ALTER TABLE usage_plan_keys RENAME TO usage_plan_keys_4;
CREATE TABLE usage_plan_keys (
  plan_id TEXT NOT NULL, key_id TEXT NOT NULL, created INTEGER NOT NULL,
  PRIMARY KEY (key_id, plan_id)) WITHOUT ROWID;
INSERT INTO usage_plan_keys (plan_id, key_id, created) SELECT plan_id, key_id, created FROM usage_plan_keys_4;
DROP TABLE usage_plan_keys_4;
ALTER TABLE meter_slots RENAME TO meter_slots_4;
CREATE TABLE meter_slots (
  plan_id TEXT NOT NULL, key_id TEXT NOT NULL, customer_id TEXT NOT NULL DEFAULT '',
  slot INTEGER NOT NULL UNIQUE,
  day0 INTEGER NOT NULL DEFAULT -1, count0 INTEGER NOT NULL DEFAULT 0,
  day1 INTEGER NOT NULL DEFAULT -1, count1 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (plan_id, key_id, customer_id)) WITHOUT ROWID;
INSERT INTO meter_slots (plan_id, key_id, customer_id, slot, day0, count0, day1, count1)
  SELECT plan_id, key_id, customer_id, slot, day0, count0, day1, count1 FROM meter_slots_4;
DROP TABLE meter_slots_4;
DROP INDEX IF EXISTS api_keys_serving3;
DROP INDEX IF EXISTS api_keys_by_created;
)sql";

// What needs the tables in their present shape, once an older store was
// brought to it (migrate_older_schema); then the store is of schema 5.
constexpr const char* kIndexes = R"sql(
CREATE INDEX IF NOT EXISTS usage_adjustments_by_key ON usage_adjustments (plan_id, key_id, day);
CREATE INDEX IF NOT EXISTS usage_adjustments_by_day ON usage_adjustments (day);
DROP INDEX IF EXISTS api_keys_serving;
DROP INDEX IF EXISTS api_keys_serving2;
-- Exports read a day's usage in (plan, key, customer) order.
CREATE INDEX IF NOT EXISTS usage_daily_by_day ON usage_daily (day, plan_id, key_id, customer_id);
-- Every management operation reads the rows it names through one of these.
-- Keys newest first, with what the data plane loads of every key: a start
-- reads it without the documents (an eighth of the table's pages with a
-- million keys), and a key signed up lands at its end.
CREATE INDEX IF NOT EXISTS api_keys_by_created_serving ON api_keys (created, id, value, enabled, customer_id);
CREATE INDEX IF NOT EXISTS api_keys_by_name ON api_keys (name);
CREATE INDEX IF NOT EXISTS api_keys_by_customer ON api_keys (customer_id);
CREATE INDEX IF NOT EXISTS usage_plan_keys_by_created ON usage_plan_keys (plan_id, created, key_id);
UPDATE meta SET value = 5 WHERE name = 'schema_version';
)sql";

// A store of schema 1 kept usage by key alone. Its counts are given the
// customer each key has now, the best that can be known of them; from now
// on each count keeps the customer it was made for.
constexpr const char* kUsageByCustomer = R"sql(
ALTER TABLE meter_slots RENAME TO meter_slots_1;
CREATE TABLE meter_slots (
  plan_id TEXT NOT NULL, key_id TEXT NOT NULL, customer_id TEXT NOT NULL DEFAULT '',
  slot INTEGER NOT NULL UNIQUE,
  day0 INTEGER NOT NULL DEFAULT -1, count0 INTEGER NOT NULL DEFAULT 0,
  day1 INTEGER NOT NULL DEFAULT -1, count1 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (plan_id, key_id, customer_id));
INSERT INTO meter_slots (plan_id, key_id, customer_id, slot, day0, count0, day1, count1)
  SELECT m.plan_id, m.key_id, COALESCE(json_extract(k.doc, '$.customerId'), ''), m.slot,
         m.day0, m.count0, m.day1, m.count1
  FROM meter_slots_1 m LEFT JOIN api_keys k ON k.id = m.key_id;
DROP TABLE meter_slots_1;
ALTER TABLE usage_daily RENAME TO usage_daily_1;
CREATE TABLE usage_daily (
  plan_id TEXT NOT NULL, key_id TEXT NOT NULL, day INTEGER NOT NULL, used INTEGER NOT NULL,
  customer_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (plan_id, key_id, day, customer_id));
INSERT INTO usage_daily (plan_id, key_id, day, used, customer_id)
  SELECT u.plan_id, u.key_id, u.day, u.used, COALESCE(json_extract(k.doc, '$.customerId'), '')
  FROM usage_daily_1 u LEFT JOIN api_keys k ON k.id = u.key_id;
DROP TABLE usage_daily_1;
)sql";

// Adjustments of an older store get ids of their own (their rowids, which
// VACUUM could renumber), and, where they had none, the quota period their
// plan has now and the customer their key has now.
std::string adjustments_with_ids(bool had_period, bool had_customer) {
  const std::string period =
      had_period ? "a.period"
                 : "COALESCE((SELECT json_extract(p.doc, '$.quota.period') FROM usage_plans p "
                   "WHERE p.id = a.plan_id), 'MONTH')";
  const std::string customer = had_customer
                                   ? "a.customer_id"
                                   : "COALESCE((SELECT json_extract(k.doc, '$.customerId') FROM "
                                     "api_keys k WHERE k.id = a.key_id), '')";
  return "ALTER TABLE usage_adjustments RENAME TO usage_adjustments_1;"
         "CREATE TABLE usage_adjustments ("
         "  id INTEGER PRIMARY KEY,"
         "  plan_id TEXT NOT NULL, key_id TEXT NOT NULL, day INTEGER NOT NULL, delta INTEGER NOT "
         "NULL,"
         "  created_at INTEGER NOT NULL, actor TEXT NOT NULL, period TEXT NOT NULL DEFAULT 'MONTH',"
         "  customer_id TEXT NOT NULL DEFAULT '');"
         "INSERT INTO usage_adjustments (id, plan_id, key_id, day, delta, created_at, actor, "
         "period, customer_id)"
         "  SELECT a.rowid, a.plan_id, a.key_id, a.day, a.delta, a.created_at, a.actor, " +
         period + ", " + customer + " FROM usage_adjustments_1 a;" +
         "DROP TABLE usage_adjustments_1;";
}

// Gives attributions the next free meter slots, inside a transaction its
// user has begun. An attribution that has a slot keeps it.
class MeterSlotInserter {
 public:
  explicit MeterSlotInserter(sqlite3* db)
      : db_(db),
        insert_(
            db,
            "INSERT INTO meter_slots (plan_id, key_id, customer_id, slot) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT (plan_id, key_id, customer_id) DO NOTHING"),
        insert_member_(
            db,
            "INSERT INTO meter_slots (plan_id, key_id, customer_id, slot) VALUES (?1, ?2, "
            "COALESCE((SELECT customer_id FROM api_keys WHERE id = ?2), ''), ?3) "
            "ON CONFLICT (plan_id, key_id, customer_id) DO NOTHING") {
    SqliteStatement top(db, "SELECT COALESCE(MAX(slot) + 1, 0) FROM meter_slots");
    next_ = top.step() ? top.integer(0) : 0;
  }

  // The slot given to the attribution, or none if it had one.
  std::optional<std::uint32_t> add(const UsageAttribution& owner) {
    insert_.bind(1, owner.plan_id).bind(2, owner.key_id).bind(3, owner.customer_id).bind(4, next_);
    return step(insert_);
  }
  // The same for a key joining a plan, with the customer the key has in
  // the transaction.
  std::optional<std::uint32_t> add_member(std::string_view plan_id, std::string_view key_id) {
    insert_member_.bind(1, plan_id).bind(2, key_id).bind(3, next_);
    return step(insert_member_);
  }

 private:
  std::optional<std::uint32_t> step(SqliteStatement& insert) {
    insert.step();
    insert.reset();
    if (sqlite3_changes(db_) != 1) return std::nullopt;
    return static_cast<std::uint32_t>(next_++);
  }

  sqlite3* db_;
  SqliteStatement insert_;
  SqliteStatement insert_member_;
  std::int64_t next_ = 0;
};

// Whether `table` has a column `column`, stored or generated (both names
// of ours, never input).
bool has_column(sqlite3* db, const char* table, const char* column) {
  SqliteStatement st(
      db,
      (std::string("SELECT 1 FROM pragma_table_xinfo('") + table + "') WHERE name = ?1").c_str());
  st.bind(1, std::string_view(column));
  return st.step();
}

}  // namespace

class SqliteControlTransaction final : public ControlTransaction {
 public:
  explicit SqliteControlTransaction(SqliteStore& store)
      : store_(store), lock_(store.mutex_), reads_(*store.reads_) {
    store_.exec("BEGIN IMMEDIATE");
  }
  ~SqliteControlTransaction() override {
    if (!done_) sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    statements_.clear();
    end_bulk();
  }

  ControlState few() override { return reads_.few(); }
  bool keys_hashed() override { return reads_.keys_hashed(); }
  std::optional<ApiKey> api_key(const std::string& key_id) override {
    return reads_.api_key(key_id);
  }
  std::optional<std::string> key_id_with_value(const std::string& value) override {
    return reads_.key_id_with_value(value);
  }
  std::vector<UsagePlanKey> plans_of_key(const std::string& key_id) override {
    return reads_.plans_of_key(key_id);
  }
  std::optional<UsagePlanKey> membership(const std::string& plan_id,
                                         const std::string& key_id) override {
    return reads_.membership(plan_id, key_id);
  }
  std::optional<std::string> key_in_both(const std::string& plan_id,
                                         const std::string& other_plan_id) override {
    return reads_.key_in_both(plan_id, other_plan_id);
  }
  KeyListing list_api_keys(const KeyQuery& query) override { return reads_.list_api_keys(query); }
  MemberListing list_plan_keys(const MemberQuery& query) override {
    return reads_.list_plan_keys(query);
  }
  std::vector<std::string> plan_key_ids(const std::string& plan_id) override {
    return reads_.plan_key_ids(plan_id);
  }
  std::size_t plan_key_count(const std::string& plan_id) override {
    return reads_.plan_key_count(plan_id);
  }

  void put(const RestApi& api) override {
    write("INSERT INTO rest_apis (id, doc) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET doc = ?2",
          {api.id}, doc_text(to_json(api)));
    few_changed_ = true;
  }
  void put(const Deployment& d) override {
    write(
        "INSERT INTO deployments (api_id, id, doc) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (api_id, id) DO UPDATE SET doc = ?3",
        {d.api_id, d.id}, doc_text(to_json(d)));
    few_changed_ = true;
  }
  void put(const Stage& s) override {
    write(
        "INSERT INTO stages (api_id, name, doc) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (api_id, name) DO UPDATE SET doc = ?3",
        {s.api_id, s.stage_name}, doc_text(to_json(s)));
    few_changed_ = true;
  }
  void put(const ApiKey& k) override {
    if (key_changes_.size() <= kMaxDeltaKeys) {
      std::optional<std::string> former = former_value(k.id);
      if (!former) ++key_count_change_;
      key_changed(k.id, std::move(former));
    } else {
      // Past the delta's limit the data planes rebuild and the values
      // keys had are not logged: no read of each key first, and the keys
      // are counted again at the commit.
      recount_keys_ = true;
      key_changed(k.id, std::nullopt);
    }
    SqliteStatement& st = statement(
        "INSERT INTO api_keys (id, value, doc, created, name, customer_id, enabled) VALUES (?1, "
        "?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT (id) DO UPDATE SET value = ?2, doc = ?3, created = ?4, name = ?5, customer_id "
        "= ?6, enabled = ?7");
    st.bind(1, k.id)
        .bind(2, k.value)
        .bind(3, doc_text(to_json(k, true)))
        .bind(4, k.created_date)
        .bind(5, k.name);
    st.bind(6, k.customer_id).bind(7, std::int64_t{k.enabled}).step();
    st.reset();
    changed_ = true;
  }
  void put(const UsagePlan& p) override {
    write(
        "INSERT INTO usage_plans (id, doc) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET doc = ?2",
        {p.id}, doc_text(to_json(p)));
    few_changed_ = true;
  }
  void put(const UsagePlanKey& pk) override {
    SqliteStatement& insert = statement(
        "INSERT INTO usage_plan_keys (plan_id, key_id, created) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (key_id, plan_id) DO NOTHING");
    insert.bind(1, pk.plan_id).bind(2, pk.key_id).bind(3, pk.created_date).step();
    insert.reset();
    changed_ = true;
    // A key joining a plan gets its meter slot here, not at the next start.
    if (sqlite3_changes(store_.db_) == 1) {
      key_changed(pk.key_id, std::nullopt);
      if (!meter_slots_) meter_slots_.emplace(store_.db_);
      meter_slots_->add_member(pk.plan_id, pk.key_id);
    }
  }
  void put(const AccountSettings& a) override {
    write("INSERT INTO account (id, doc) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET doc = ?1",
          {}, doc_text(to_json(a)));
    few_changed_ = true;
  }

  ControlState state() override { return store_.load_locked(); }

  void erase_api(const std::string& api_id) override {
    erase("DELETE FROM rest_apis WHERE id = ?1", {api_id});
    erase("DELETE FROM deployments WHERE api_id = ?1", {api_id});
    erase("DELETE FROM stages WHERE api_id = ?1", {api_id});
    few_changed_ = true;
  }
  void erase_deployment(const std::string& api_id, const std::string& id) override {
    erase("DELETE FROM deployments WHERE api_id = ?1 AND id = ?2", {api_id, id});
    few_changed_ = true;
  }
  void erase_stage(const std::string& api_id, const std::string& name) override {
    erase("DELETE FROM stages WHERE api_id = ?1 AND name = ?2", {api_id, name});
    few_changed_ = true;
  }
  // Each deletes memberships, keeping who they were: get-usage reports them.
  void erase_api_key(const std::string& key_id) override {
    if (std::optional<std::string> value = former_value(key_id)) {
      --key_count_change_;
      key_changed(key_id, std::move(value));
    }
    erase("DELETE FROM api_keys WHERE id = ?1", {key_id});
    erase(
        "INSERT OR IGNORE INTO former_plan_keys (plan_id, key_id) SELECT plan_id, key_id FROM "
        "usage_plan_keys "
        "WHERE key_id = ?1",
        {key_id});
    erase("DELETE FROM usage_plan_keys WHERE key_id = ?1", {key_id});
  }
  void erase_usage_plan(const std::string& plan_id) override {
    erase("DELETE FROM usage_plans WHERE id = ?1", {plan_id});
    erase(
        "INSERT OR IGNORE INTO former_plan_keys (plan_id, key_id) SELECT plan_id, key_id FROM "
        "usage_plan_keys "
        "WHERE plan_id = ?1",
        {plan_id});
    erase("DELETE FROM usage_plan_keys WHERE plan_id = ?1", {plan_id});
    few_changed_ = true;
  }
  void erase_usage_plan_key(const std::string& plan_id, const std::string& key_id) override {
    erase(
        "INSERT OR IGNORE INTO former_plan_keys (plan_id, key_id) SELECT plan_id, key_id FROM "
        "usage_plan_keys "
        "WHERE plan_id = ?1 AND key_id = ?2",
        {plan_id, key_id});
    erase("DELETE FROM usage_plan_keys WHERE plan_id = ?1 AND key_id = ?2", {plan_id, key_id});
    key_changed(key_id, std::nullopt);
  }

  void set_keys_hashed() override {
    write(
        "INSERT INTO meta (name, value) VALUES ('keys_hashed', ?1) ON CONFLICT (name) DO UPDATE "
        "SET value = ?1",
        {}, "1");
    keys_hashed_ = true;
    few_changed_ = true;
  }

  void commit() override {
    if (changed_) log_changes();
    store_.exec("COMMIT");
    done_ = true;
    // The values just replaced are still in the log's earlier frames: copy
    // the new pages into the database file and empty the log. Best effort
    // (a reader of another process may hold the log); the next checkpoint
    // overwrites them anyway.
    if (keys_hashed_)
      sqlite3_exec(store_.db_, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
    statements_.clear();
    end_bulk();
    key_writes_ = 0;
    lock_.unlock();  // the store is free for other calls once committed
  }

 private:
  // Rows of the change log kept: a data plane further behind rebuilds.
  static constexpr std::int64_t kChangesKept = 200000;
  // Key writes after which a transaction is a bulk one (an apply, an
  // import): its inserts land all over the indexes, and with SQLite's
  // default 2 MB page cache most pages would be written out and read back
  // before the commit. A bulk transaction gets a large cache until it ends.
  static constexpr std::size_t kBulkWrites = 10000;

  void begin_bulk() {
    sqlite3_exec(store_.db_, "PRAGMA cache_size = -1048576", nullptr, nullptr, nullptr);
  }
  void end_bulk() {
    if (key_writes_ < kBulkWrites) return;
    sqlite3_exec(store_.db_, "PRAGMA cache_size = -2000", nullptr, nullptr,
                 nullptr);  // SQLite's default
    sqlite3_db_release_memory(store_.db_);
  }

  struct KeyChange {
    std::string key_id;
    std::optional<std::string> former_value;
  };

  std::optional<std::string> former_value(const std::string& key_id) {
    SqliteStatement& st = statement("SELECT value FROM api_keys WHERE id = ?1");
    st.bind(1, key_id);
    std::optional<std::string> value;
    if (st.step()) value = st.text(0);
    st.reset();
    return value;
  }

  // The statement of `sql`, prepared once per transaction: an apply of a
  // million keys runs the same few a million times each. `sql` is a
  // literal, known by its address.
  SqliteStatement& statement(const char* sql) {
    std::unique_ptr<SqliteStatement>& st = statements_[sql];
    if (!st) st = std::make_unique<SqliteStatement>(store_.db_, sql);
    return *st;
  }

  void key_changed(const std::string& key_id, std::optional<std::string> former_value) {
    if (++key_writes_ == kBulkWrites) begin_bulk();
    // Past this many, the data planes rebuild: the list need not be kept.
    if (key_changes_.size() <= kMaxDeltaKeys)
      key_changes_.push_back({key_id, std::move(former_value)});
  }

  // Bumps the control version and writes what it changed.
  void log_changes() {
    store_.exec("UPDATE meta SET value = value + 1 WHERE name = 'control_version'");
    if (recount_keys_) {
      store_.exec(
          "UPDATE meta SET value = (SELECT count(*) FROM api_keys) WHERE name = 'api_key_count'");
    } else if (key_count_change_ != 0) {
      SqliteStatement count(store_.db_,
                            "UPDATE meta SET value = value + ?1 WHERE name = 'api_key_count'");
      count.bind(1, key_count_change_).step();
    }
    SqliteStatement version(store_.db_, "SELECT value FROM meta WHERE name = 'control_version'");
    if (!version.step()) throw std::runtime_error("the store has no control version");
    const std::int64_t v = version.integer(0);
    SqliteStatement add(store_.db_,
                        "INSERT INTO control_changes (version, seq, kind, key_id, former_value) "
                        "VALUES (?1, ?2, ?3, ?4, ?5)");
    std::int64_t rows = 0;
    if (few_changed_ || key_changes_.size() > kMaxDeltaKeys) {
      add.bind(1, v).bind(2, std::int64_t{0}).bind(3, std::int64_t{1}).step();
      rows = 1;
    } else {
      for (const KeyChange& c : key_changes_) {
        add.bind(1, v).bind(2, rows++).bind(3, std::int64_t{0}).bind(4, c.key_id);
        if (c.former_value) add.bind(5, *c.former_value);
        add.step();
        add.reset();
      }
    }
    SqliteStatement count(
        store_.db_,
        "UPDATE meta SET value = value + ?1 WHERE name = 'change_rows' RETURNING value");
    count.bind(1, rows);
    if (count.step() && count.integer(0) > 2 * kChangesKept) {
      count.reset();
      forget_old_changes();
    }
  }

  // Drops the oldest versions' rows, keeping about kChangesKept, whole
  // versions at a time, and records up to which version they went.
  void forget_old_changes() {
    SqliteStatement last(
        store_.db_,
        "SELECT version FROM control_changes ORDER BY version DESC, seq DESC LIMIT 1 OFFSET ?1");
    last.bind(1, kChangesKept);
    if (!last.step()) return;
    const std::int64_t floor = last.integer(0);
    SqliteStatement drop(store_.db_, "DELETE FROM control_changes WHERE version <= ?1");
    drop.bind(1, floor).step();
    const std::int64_t dropped = sqlite3_changes(store_.db_);
    SqliteStatement rows(store_.db_,
                         "UPDATE meta SET value = value - ?1 WHERE name = 'change_rows'");
    rows.bind(1, dropped).step();
    SqliteStatement mark(store_.db_, "UPDATE meta SET value = ?1 WHERE name = 'changes_floor'");
    mark.bind(1, floor).step();
  }

  // Binds the key columns in order, then the document.
  void write(const char* sql, std::initializer_list<std::string_view> keys,
             const std::string& doc) {
    SqliteStatement& st = statement(sql);
    int i = 1;
    for (auto k : keys) st.bind(i++, k);
    st.bind(i, doc);
    st.step();
    st.reset();
    changed_ = true;
  }

  void erase(const char* sql, std::initializer_list<std::string_view> keys) {
    SqliteStatement& st = statement(sql);
    int i = 1;
    for (auto k : keys) st.bind(i++, k);
    st.step();
    st.reset();
    changed_ = true;
  }

  SqliteStore& store_;
  std::unique_lock<std::mutex> lock_;
  SqliteControlReads& reads_;  // the store's, whose mutex this holds
  // A key that left a plan and joins again keeps its slot, as with the meter.
  std::optional<MeterSlotInserter> meter_slots_;
  std::unordered_map<const char*, std::unique_ptr<SqliteStatement>> statements_;
  std::vector<KeyChange> key_changes_;
  std::size_t key_writes_ = 0;
  std::int64_t key_count_change_ = 0;
  bool recount_keys_ = false;
  bool few_changed_ = false;
  bool changed_ = false;
  bool keys_hashed_ = false;
  bool done_ = false;
};

SqliteStore::SqliteStore(const std::filesystem::path& path) {
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open " + path.string() + ": " + message);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = NORMAL");
    // Deleted and replaced content is overwritten, not left in free space:
    // a key value deleted, or replaced by its digest, is gone from the file.
    exec("PRAGMA secure_delete = ON");
    // A store already in shape is opened without a write: an export must
    // read it while another process holds its write lock.
    if (!schema_current()) {
      exec(kSchema);
      migrate_older_schema();
      add_key_columns();
      drop_rowids();
      exec(kIndexes);
    }
    reads_ = std::make_unique<SqliteControlReads>(db_);
    statements_ = std::make_unique<SqliteStatementCache>(db_);
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

SqliteStore::~SqliteStore() {
  reads_.reset();  // their statements are finalised before the connection closes
  statements_.reset();
  sqlite3_close(db_);
}

bool SqliteStore::schema_current() {
  if (!SqliteStatement(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
           .step())
    return false;
  SqliteStatement version(db_, "SELECT value FROM meta WHERE name = 'schema_version'");
  return version.step() && version.integer(0) >= 5;
}

void SqliteStore::migrate_older_schema() {
  const auto behind = [this] {
    return !has_column(db_, "usage_daily", "customer_id") ||
           !has_column(db_, "usage_adjustments", "id");
  };
  if (!behind()) return;
  exec("BEGIN IMMEDIATE");
  try {
    // Another process may have migrated it while this one waited.
    if (!has_column(db_, "usage_daily", "customer_id")) exec(kUsageByCustomer);
    if (!has_column(db_, "usage_adjustments", "id"))
      exec(adjustments_with_ids(has_column(db_, "usage_adjustments", "period"),
                                has_column(db_, "usage_adjustments", "customer_id"))
               .c_str());
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void SqliteStore::add_key_columns() {
  if (has_column(db_, "api_keys", "created")) return;
  exec("BEGIN IMMEDIATE");
  try {
    if (!has_column(db_, "api_keys", "created"))
      exec(kKeyColumns);  // unless another process just did
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void SqliteStore::drop_rowids() {
  const auto has_rowids = [this] {
    return !SqliteStatement(
                db_,
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage_plan_keys' "
                "AND sql LIKE '%WITHOUT ROWID%'")
                .step();
  };
  if (!has_rowids()) return;
  exec("BEGIN IMMEDIATE");
  try {
    if (has_rowids()) exec(kWithoutRowids);  // unless another process just did
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void SqliteStore::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
    throw_sqlite_error(db_, "sqlite");
}

std::uint64_t SqliteStore::control_version() {
  std::lock_guard lock(mutex_);
  SqliteStatement st(db_, "SELECT value FROM meta WHERE name = 'control_version'");
  return st.step() ? static_cast<std::uint64_t>(st.integer(0)) : 0;
}

template <typename Read>
auto SqliteStore::read_consistently(Read read) {
  std::lock_guard lock(mutex_);
  exec("BEGIN");
  try {
    auto result = read();
    exec("COMMIT");
    return result;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

ControlState SqliteStore::few() {
  return read_consistently([this] { return reads_->few(); });
}

bool SqliteStore::keys_hashed() {
  std::lock_guard lock(mutex_);
  return reads_->keys_hashed();
}

std::optional<ApiKey> SqliteStore::api_key(const std::string& key_id) {
  std::lock_guard lock(mutex_);
  return reads_->api_key(key_id);
}

std::optional<std::string> SqliteStore::key_id_with_value(const std::string& value) {
  std::lock_guard lock(mutex_);
  return reads_->key_id_with_value(value);
}

std::vector<UsagePlanKey> SqliteStore::plans_of_key(const std::string& key_id) {
  std::lock_guard lock(mutex_);
  return reads_->plans_of_key(key_id);
}

std::optional<UsagePlanKey> SqliteStore::membership(const std::string& plan_id,
                                                    const std::string& key_id) {
  std::lock_guard lock(mutex_);
  return reads_->membership(plan_id, key_id);
}

std::optional<std::string> SqliteStore::key_in_both(const std::string& plan_id,
                                                    const std::string& other_plan_id) {
  std::lock_guard lock(mutex_);
  return reads_->key_in_both(plan_id, other_plan_id);
}

KeyListing SqliteStore::list_api_keys(const KeyQuery& query) {
  return read_consistently([&] { return reads_->list_api_keys(query); });
}

MemberListing SqliteStore::list_plan_keys(const MemberQuery& query) {
  return read_consistently([&] { return reads_->list_plan_keys(query); });
}

std::vector<std::string> SqliteStore::plan_key_ids(const std::string& plan_id) {
  std::lock_guard lock(mutex_);
  return reads_->plan_key_ids(plan_id);
}

std::size_t SqliteStore::plan_key_count(const std::string& plan_id) {
  std::lock_guard lock(mutex_);
  return reads_->plan_key_count(plan_id);
}

ControlDelta SqliteStore::control_delta(std::uint64_t since) {
  return read_consistently([&] {
    ControlDelta delta;
    SqliteStatement version(db_, "SELECT value FROM meta WHERE name = 'control_version'");
    delta.version = version.step() ? static_cast<std::uint64_t>(version.integer(0)) : 0;
    SqliteStatement floor(db_, "SELECT value FROM meta WHERE name = 'changes_floor'");
    if (!floor.step() || since < static_cast<std::uint64_t>(floor.integer(0)) ||
        since > delta.version) {
      delta.keys_only = false;
      return delta;
    }
    SqliteStatement changes(
        db_,
        "SELECT kind, key_id, former_value FROM control_changes WHERE version > ?1 "
        "ORDER BY version, seq");
    changes.bind(1, static_cast<std::int64_t>(since));
    std::unordered_map<std::string, std::size_t> at;  // key id → place in delta.keys
    while (changes.step()) {
      if (changes.integer(0) != 0 || at.size() > kMaxDeltaKeys) {
        delta.keys_only = false;
        delta.keys.clear();
        return delta;
      }
      const auto [it, added] = at.try_emplace(changes.text(1), delta.keys.size());
      if (added) delta.keys.push_back({it->first, {}, std::nullopt});
      if (const std::string former = changes.text(2); !former.empty())
        delta.keys[it->second].former_values.push_back(former);
    }
    for (ChangedKey& key : delta.keys) key.now = reads_->serving_key(key.id);
    return delta;
  });
}

ControlState SqliteStore::load_control_state() {
  return load_in_read_transaction(KeyDetail::kFull);
}

ControlState SqliteStore::load_serving_state() {
  return load_in_read_transaction(KeyDetail::kServing);
}

ControlState SqliteStore::load_in_read_transaction(KeyDetail detail) {
  std::lock_guard lock(mutex_);
  exec("BEGIN");
  try {
    ControlState state = load_locked(detail);
    exec("COMMIT");
    return state;
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
}

std::size_t SqliteStore::row_count(const char* table) {
  SqliteStatement st(db_, (std::string("SELECT count(*) FROM ") + table).c_str());
  return st.step() ? static_cast<std::size_t>(st.integer(0)) : 0;
}

ControlState SqliteStore::load_locked(KeyDetail detail) {
  ControlState state = reads_->few();
  if (detail == KeyDetail::kFull) {
    // Read in the table's order and sorted here: ORDER BY id would walk
    // the id index and seek each row, which with a million keys is five
    // times as slow.
    SqliteStatement keys(db_, "SELECT doc FROM api_keys");
    while (keys.step()) state.api_keys.push_back(decode_doc(keys.text(0), api_key_from_json));
    sort_by_texts(state.api_keys, [](const ApiKey& k) {
      return std::pair<std::string_view, std::string_view>(k.id, {});
    });
  } else {
    // From the index that covers it: neither the documents' pages read nor
    // a JSON tree per key built.
    SqliteStatement count(db_, "SELECT value FROM meta WHERE name = 'api_key_count'");
    if (count.step()) state.api_keys.reserve(static_cast<std::size_t>(count.integer(0)));
    SqliteStatement keys(db_,
                         "SELECT id, value, enabled, customer_id FROM api_keys "
                         "INDEXED BY api_keys_by_created_serving");
    while (keys.step()) {
      ApiKey& k = state.api_keys.emplace_back();
      k.id = keys.text(0);
      k.value = keys.text(1);
      k.enabled = keys.integer(2) != 0;
      k.customer_id = keys.text(3);
    }
  }
  SqliteStatement members(db_, "SELECT plan_id, key_id, created FROM usage_plan_keys");
  state.usage_plan_keys.reserve(row_count("usage_plan_keys"));
  while (members.step())
    state.usage_plan_keys.push_back({members.text(0), members.text(1), members.integer(2)});
  if (detail == KeyDetail::kFull)
    sort_by_texts(state.usage_plan_keys, [](const UsagePlanKey& m) {
      return std::pair<std::string_view, std::string_view>(m.plan_id, m.key_id);
    });
  return state;
}

std::unique_ptr<ControlTransaction> SqliteStore::begin() {
  return std::make_unique<SqliteControlTransaction>(*this);
}

void SqliteStore::add_usage(const std::vector<UsageDelta>& deltas,
                            const std::vector<SlotWatermark>& watermarks,
                            const std::vector<MinuteDelta>& minutes) {
  if (deltas.empty() && watermarks.empty() && minutes.empty()) return;
  std::lock_guard lock(mutex_);
  exec("BEGIN IMMEDIATE");
  try {
    SqliteStatement st(
        db_,
        "INSERT INTO usage_daily (plan_id, key_id, day, used, customer_id) VALUES (?1, ?2, ?3, ?4, "
        "?5) "
        "ON CONFLICT (plan_id, key_id, day, customer_id) DO UPDATE SET used = used + ?4");
    std::map<std::pair<std::string_view, std::int64_t>, std::int64_t> plan_totals;
    for (const auto& d : deltas) {
      st.bind(1, d.plan_id)
          .bind(2, d.key_id)
          .bind(3, d.day)
          .bind(4, d.count)
          .bind(5, d.customer_id);
      st.step();
      st.reset();
      plan_totals[{d.plan_id, d.day}] += d.count;
    }
    SqliteStatement total(db_,
                          "INSERT INTO usage_daily_plans (plan_id, day, used) VALUES (?1, ?2, ?3) "
                          "ON CONFLICT (plan_id, day) DO UPDATE SET used = used + ?3");
    for (const auto& [plan_day, count] : plan_totals) {
      total.bind(1, plan_day.first).bind(2, plan_day.second).bind(3, count).step();
      total.reset();
    }
    SqliteStatement even(db_, "UPDATE meter_slots SET day0 = ?2, count0 = ?3 WHERE slot = ?1");
    SqliteStatement odd(db_, "UPDATE meter_slots SET day1 = ?2, count1 = ?3 WHERE slot = ?1");
    for (const auto& w : watermarks) {
      SqliteStatement& mark = w.parity == 0 ? even : odd;
      mark.bind(1, static_cast<std::int64_t>(w.slot)).bind(2, w.day).bind(3, w.count);
      mark.step();
      mark.reset();
    }
    SqliteStatement minute(
        db_,
        "INSERT INTO usage_minutes (plan_id, key_id, minute, allowed, throttled, quota_exceeded) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (plan_id, key_id, minute) DO UPDATE SET "
        "allowed = allowed + ?4, throttled = throttled + ?5, quota_exceeded = quota_exceeded + ?6");
    for (const MinuteDelta& d : minutes) {
      const MinuteCounts& c = d.counts;
      minute.bind(1, d.plan_id)
          .bind(2, d.key_id)
          .bind(3, c.minute)
          .bind(4, c.allowed)
          .bind(5, c.throttled);
      minute.bind(6, c.quota_exceeded).step();
      minute.reset();
    }
    exec("COMMIT");
  } catch (...) {
    // Also after a failed COMMIT (disk full): leave no transaction open.
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void SqliteStore::scan_usage(std::int64_t first_day, std::int64_t last_day, const UsageRow& after,
                             const std::function<bool(const UsageRow&)>& fn) {
  // One statement stepped row by row: memory stays constant however long
  // the range. The lock is held throughout; exports run from the CLI, not
  // inside the server.
  std::lock_guard lock(mutex_);
  SqliteStatement st(
      db_,
      "SELECT day, plan_id, key_id, used, customer_id FROM usage_daily INDEXED BY "
      "usage_daily_by_day "
      "WHERE day BETWEEN ?1 AND ?2 AND (day, plan_id, key_id, customer_id) > (?3, ?4, ?5, ?6) "
      "ORDER BY day, plan_id, key_id, customer_id");
  st.bind(1, first_day)
      .bind(2, last_day)
      .bind(3, after.day)
      .bind(4, after.plan_id)
      .bind(5, after.key_id);
  st.bind(6, after.customer_id);
  while (st.step()) {
    if (!fn(UsageRow{st.integer(0), st.text(1), st.text(2), st.integer(3), st.text(4)})) return;
  }
}

bool SqliteStore::has_usage(const UsageRow& at) {
  std::lock_guard lock(mutex_);
  SqliteStatement st(db_,
                     "SELECT 1 FROM usage_daily WHERE plan_id = ?1 AND key_id = ?2 AND day = ?3 "
                     "AND customer_id = ?4");
  st.bind(1, at.plan_id).bind(2, at.key_id).bind(3, at.day).bind(4, at.customer_id);
  return st.step();
}

void SqliteStore::prune_usage(std::int64_t first_kept_day) {
  std::lock_guard lock(mutex_);
  SqliteStatement st(db_, "DELETE FROM usage_daily WHERE day < ?1");
  st.bind(1, first_kept_day).step();
  SqliteStatement totals(db_, "DELETE FROM usage_daily_plans WHERE day < ?1");
  totals.bind(1, first_kept_day).step();
}

std::vector<MinuteCounts> SqliteStore::minute_counts(const std::string& plan_id,
                                                     const std::string& key_id,
                                                     std::int64_t first_minute,
                                                     std::int64_t last_minute) {
  std::lock_guard lock(mutex_);
  SqliteStatement st(
      db_,
      "SELECT minute, allowed, throttled, quota_exceeded FROM usage_minutes "
      "WHERE plan_id = ?1 AND key_id = ?2 AND minute BETWEEN ?3 AND ?4 ORDER BY minute");
  st.bind(1, plan_id).bind(2, key_id).bind(3, first_minute).bind(4, last_minute);
  std::vector<MinuteCounts> out;
  while (st.step()) out.push_back({st.integer(0), st.integer(1), st.integer(2), st.integer(3)});
  return out;
}

void SqliteStore::prune_minute_counts(std::int64_t first_kept_minute) {
  std::lock_guard lock(mutex_);
  SqliteStatement st(db_, "DELETE FROM usage_minutes WHERE minute < ?1");
  st.bind(1, first_kept_minute).step();
}

std::vector<std::uint32_t> SqliteStore::assign_meter_slots(
    const std::vector<UsageAttribution>& owners) {
  std::lock_guard lock(mutex_);
  // A slot once given is never taken back: those that exist are read
  // without a write (a key that joined a plan got its slot with the
  // membership), and a write transaction gives the rest theirs.
  std::vector<std::uint32_t> slots(owners.size());
  std::vector<UsageAttribution> missing;
  std::vector<std::size_t> missing_at;
  {
    SqliteStatementCache::Use get = statements_->use(
        "SELECT slot FROM meter_slots WHERE plan_id = ?1 AND key_id = ?2 AND customer_id = ?3");
    for (std::size_t i = 0; i < owners.size(); ++i) {
      get->bind(1, owners[i].plan_id).bind(2, owners[i].key_id).bind(3, owners[i].customer_id);
      if (get->step()) {
        slots[i] = static_cast<std::uint32_t>(get->integer(0));
      } else {
        missing.push_back(owners[i]);
        missing_at.push_back(i);
      }
      get->reset();
    }
  }
  if (missing.empty()) return slots;
  const std::vector<std::uint32_t> given = give_meter_slots(missing);
  for (std::size_t i = 0; i < missing.size(); ++i) slots[missing_at[i]] = given[i];
  return slots;
}

std::vector<std::uint32_t> SqliteStore::give_meter_slots(
    const std::vector<UsageAttribution>& owners) {
  std::vector<std::uint32_t> slots;
  slots.reserve(owners.size());
  // A million inserts into the pair index land on pages all over it; with
  // SQLite's default 2 MB page cache most of them would be read again from
  // the file. A large batch gets a large cache for its transaction only.
  const bool bulk = owners.size() > 10000;
  if (bulk) exec("PRAGMA cache_size = -262144");
  exec("BEGIN IMMEDIATE");
  try {
    MeterSlotInserter inserter(db_);
    SqliteStatement get(
        db_,
        "SELECT slot FROM meter_slots WHERE plan_id = ?1 AND key_id = ?2 AND customer_id = ?3");
    for (const UsageAttribution& owner : owners) {
      if (const std::optional<std::uint32_t> slot = inserter.add(owner)) {
        slots.push_back(*slot);
        continue;
      }
      get.bind(1, owner.plan_id).bind(2, owner.key_id).bind(3, owner.customer_id);
      if (!get.step())
        throw std::runtime_error("meter slot of " + owner.plan_id + "/" + owner.key_id +
                                 " vanished");
      slots.push_back(static_cast<std::uint32_t>(get.integer(0)));
      get.reset();
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    if (bulk) sqlite3_exec(db_, "PRAGMA cache_size = -2000", nullptr, nullptr, nullptr);
    throw;
  }
  if (bulk) {
    exec("PRAGMA cache_size = -2000");  // SQLite's default; and the memory back
    sqlite3_db_release_memory(db_);
  }
  return slots;
}

std::optional<std::int64_t> SqliteStore::identity() {
  std::lock_guard lock(mutex_);
  SqliteStatement st(db_, "SELECT value FROM meta WHERE name = 'store_id'");
  if (!st.step()) throw std::runtime_error("the store has no store_id");
  return st.integer(0);
}

std::size_t SqliteStore::meter_slot_count() {
  std::lock_guard lock(mutex_);
  return row_count("meter_slots");
}

void SqliteStore::scan_meter_slots(const std::function<void(const MeterSlot&)>& fn) {
  std::lock_guard lock(mutex_);
  // Table order: an ORDER BY slot would walk the slot index and look up each
  // row, a million B-tree descents.
  SqliteStatement st(
      db_,
      "SELECT plan_id, key_id, slot, day0, count0, day1, count1, customer_id FROM meter_slots");
  MeterSlot m;
  while (st.step()) {
    m.plan_id = st.text(0);
    m.key_id = st.text(1);
    m.slot = static_cast<std::uint32_t>(st.integer(2));
    m.flushed[0] = {m.slot, 0, st.integer(3), st.integer(4)};
    m.flushed[1] = {m.slot, 1, st.integer(5), st.integer(6)};
    m.customer_id = st.text(7);
    fn(m);
  }
}

std::int64_t SqliteStore::usage_between(const std::string& plan_id, const std::string& key_id,
                                        std::int64_t first_day, std::int64_t last_day) {
  std::lock_guard lock(mutex_);
  SqliteStatementCache::Use st = statements_->use(
      "SELECT COALESCE(SUM(used), 0) FROM usage_daily "
      "WHERE plan_id = ?1 AND key_id = ?2 AND day BETWEEN ?3 AND ?4");
  st->bind(1, plan_id).bind(2, key_id).bind(3, first_day).bind(4, last_day);
  return st->step() ? st->integer(0) : 0;
}

std::vector<DailyUsage> SqliteStore::usage_days(const std::string& plan_id,
                                                const std::string& key_id, std::int64_t first_day,
                                                std::int64_t last_day) {
  std::lock_guard lock(mutex_);
  SqliteStatement st(
      db_,
      "SELECT day, SUM(used) FROM usage_daily "
      "WHERE plan_id = ?1 AND key_id = ?2 AND day BETWEEN ?3 AND ?4 GROUP BY day ORDER BY day");
  st.bind(1, plan_id).bind(2, key_id).bind(3, first_day).bind(4, last_day);
  std::vector<DailyUsage> out;
  while (st.step()) out.push_back({st.integer(0), st.integer(1)});
  return out;
}

std::vector<DailyUsage> SqliteStore::plan_usage_days(const std::string& plan_id,
                                                     std::int64_t first_day,
                                                     std::int64_t last_day) {
  std::lock_guard lock(mutex_);
  if (!SqliteStatement(db_, "SELECT 1 FROM meta WHERE name = 'plan_totals'").step()) {
    // A store written before plan totals were kept: made once from the
    // keys' usage, in the transaction that marks them made (and that finds
    // them made if another process got there first).
    exec("BEGIN IMMEDIATE");
    try {
      if (!SqliteStatement(db_, "SELECT 1 FROM meta WHERE name = 'plan_totals'").step()) {
        exec("DELETE FROM usage_daily_plans");
        exec(
            "INSERT INTO usage_daily_plans (plan_id, day, used) "
            "SELECT plan_id, day, SUM(used) FROM usage_daily GROUP BY plan_id, day");
        exec("INSERT INTO meta (name, value) VALUES ('plan_totals', 1)");
      }
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  SqliteStatement st(db_,
                     "SELECT day, used FROM usage_daily_plans "
                     "WHERE plan_id = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day");
  st.bind(1, plan_id).bind(2, first_day).bind(3, last_day);
  std::vector<DailyUsage> out;
  while (st.step()) out.push_back({st.integer(0), st.integer(1)});
  return out;
}

std::unordered_map<std::string, std::int64_t> SqliteStore::quota_used_by_key(
    const std::string& plan_id, QuotaPeriod period, std::int64_t first_day, std::int64_t last_day) {
  std::lock_guard lock(mutex_);
  SqliteStatement st(db_,
                     "SELECT key_id, SUM(n) FROM ("
                     "  SELECT key_id, used AS n FROM usage_daily"
                     "    WHERE plan_id = ?1 AND day BETWEEN ?2 AND ?3"
                     "  UNION ALL"
                     "  SELECT key_id, delta FROM usage_adjustments"
                     "    WHERE plan_id = ?1 AND day BETWEEN ?2 AND ?3 AND period = ?4"
                     ") GROUP BY key_id");
  st.bind(1, plan_id)
      .bind(2, first_day)
      .bind(3, last_day)
      .bind(4, std::string_view(to_string(period)));
  std::unordered_map<std::string, std::int64_t> used;
  while (st.step()) used.emplace(st.text(0), st.integer(1));
  return used;
}

std::vector<std::string> SqliteStore::former_members(const std::string& plan_id) {
  std::lock_guard lock(mutex_);
  // A key that left and joined again is a member, not a former one.
  SqliteStatement st(
      db_,
      "SELECT f.key_id FROM former_plan_keys f WHERE f.plan_id = ?1 AND NOT EXISTS "
      "(SELECT 1 FROM usage_plan_keys m WHERE m.plan_id = f.plan_id AND m.key_id = f.key_id) "
      "ORDER BY f.key_id");
  st.bind(1, plan_id);
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

void SqliteStore::put_meter_progress(const MeterProgress& p) {
  std::lock_guard lock(mutex_);
  SqliteStatement st(db_,
                     "INSERT INTO meter_progress (node, complete_before_day, running, updated_at) "
                     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (node) DO UPDATE SET "
                     "complete_before_day = ?2, running = ?3, updated_at = ?4");
  st.bind(1, p.node)
      .bind(2, p.complete_before_day)
      .bind(3, std::int64_t{p.running})
      .bind(4, p.updated_at_s)
      .step();
}

std::vector<MeterProgress> SqliteStore::meter_progress() {
  std::lock_guard lock(mutex_);
  SqliteStatement st(
      db_,
      "SELECT node, complete_before_day, running, updated_at FROM meter_progress ORDER BY node");
  std::vector<MeterProgress> out;
  while (st.step()) out.push_back({st.text(0), st.integer(1), st.integer(2) != 0, st.integer(3)});
  return out;
}

namespace {

constexpr const char* kAdjustmentColumns =
    "plan_id, key_id, day, delta, created_at, actor, period, customer_id, id";

UsageAdjustment adjustment_of(SqliteStatement& st) {
  return {st.text(0),
          st.text(1),
          st.integer(2),
          st.integer(3),
          st.integer(4),
          st.text(5),
          quota_period_from(st.text(6)).value_or(QuotaPeriod::kMonth),
          st.text(7),
          st.integer(8)};
}

}  // namespace

void SqliteStore::add_adjustment(const UsageAdjustment& a) {
  std::lock_guard lock(mutex_);
  SqliteStatement st(
      db_,
      "INSERT INTO usage_adjustments (plan_id, key_id, day, delta, created_at, actor, period, "
      "customer_id, id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULLIF(?9, 0))");
  st.bind(1, a.plan_id)
      .bind(2, a.key_id)
      .bind(3, a.day)
      .bind(4, a.delta)
      .bind(5, a.created_at)
      .bind(6, a.actor);
  st.bind(7, std::string_view(to_string(a.period))).bind(8, a.customer_id).bind(9, a.id);
  st.step();
}

std::vector<UsageAdjustment> SqliteStore::adjustments(const std::string& plan_id,
                                                      const std::string& key_id,
                                                      std::int64_t first_day,
                                                      std::int64_t last_day) {
  static const std::string sql = std::string("SELECT ") + kAdjustmentColumns +
                                 " FROM usage_adjustments WHERE plan_id = ?1 AND key_id = ?2 "
                                 "AND day BETWEEN ?3 AND ?4 ORDER BY id";
  std::lock_guard lock(mutex_);
  SqliteStatementCache::Use st = statements_->use(sql.c_str());
  st->bind(1, plan_id).bind(2, key_id).bind(3, first_day).bind(4, last_day);
  std::vector<UsageAdjustment> out;
  while (st->step()) out.push_back(adjustment_of(*st));
  return out;
}

std::vector<UsageAdjustment> SqliteStore::adjustments_between(std::int64_t first_day,
                                                              std::int64_t last_day) {
  std::lock_guard lock(mutex_);
  SqliteStatement st(db_, (std::string("SELECT ") + kAdjustmentColumns +
                           " FROM usage_adjustments WHERE day BETWEEN ?1 AND ?2 ORDER BY day, id")
                              .c_str());
  st.bind(1, first_day).bind(2, last_day);
  std::vector<UsageAdjustment> out;
  while (st.step()) out.push_back(adjustment_of(st));
  return out;
}

}  // namespace tollgate
