#pragma once

#include <sqlite3.h>

#include "store/control_reads.h"
#include "store/sqlite_statement.h"

namespace tollgate {

// The by-key reads of control state on one SQLite connection, each through
// an index. The caller holds the connection (and, for several statements
// that must agree, a transaction).
class SqliteControlReads {
 public:
  explicit SqliteControlReads(sqlite3* db) : db_(db), statements_(db) {}

  ControlState few();
  bool keys_hashed();
  std::optional<ApiKey> api_key(const std::string& key_id);
  std::optional<std::string> key_id_with_value(const std::string& value);
  std::vector<UsagePlanKey> plans_of_key(const std::string& key_id);
  std::optional<UsagePlanKey> membership(const std::string& plan_id, const std::string& key_id);
  std::optional<std::string> key_in_both(const std::string& plan_id,
                                         const std::string& other_plan_id);
  KeyListing list_api_keys(const KeyQuery& query);
  MemberListing list_plan_keys(const MemberQuery& query);
  std::vector<std::string> plan_key_ids(const std::string& plan_id);
  std::size_t plan_key_count(const std::string& plan_id);
  // The key as the data plane serves it, with its memberships; none when
  // it does not exist.
  std::optional<ServingKey> serving_key(const std::string& key_id);

 private:
  KeyListing list_api_keys_by_name(const KeyQuery& query);
  sqlite3* db_;
  SqliteStatementCache statements_;
};

}  // namespace tollgate
