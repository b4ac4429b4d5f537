#include "store/sqlite_statement.h"

#include <stdexcept>

#include "store/store.h"

namespace tollgate {

void throw_sqlite_error(sqlite3* db, std::string_view what) {
  std::string message = std::string(what) + ": " + sqlite3_errmsg(db);
  switch (sqlite3_errcode(db) & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_NOMEM:
      throw StoreUnavailable(message);
    default:
      throw std::runtime_error(message);
  }
}

SqliteStatement::SqliteStatement(sqlite3* db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
    throw_sqlite_error(db, "prepare failed");
}

SqliteStatement::~SqliteStatement() {
  count_work();
  sqlite3_finalize(stmt_);
}

// Counted at each reset too, so that a statement kept prepared is counted
// on the thread that ran it each time.
void SqliteStatement::count_work() {
  SqliteWork& work = sqlite_work_on_this_thread();
  work.full_scan_steps += sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
  work.vm_steps += sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_VM_STEP, 1);
}

SqliteStatementCache::Use SqliteStatementCache::use(const char* sql) {
  std::unique_ptr<SqliteStatement>& st = statements_[sql];
  if (!st) st = std::make_unique<SqliteStatement>(db_, sql);
  return Use(*st);
}

SqliteWork& sqlite_work_on_this_thread() {
  thread_local SqliteWork work;
  return work;
}

SqliteStatement& SqliteStatement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK)
    throw_sqlite_error(db_, "bind failed");
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) throw_sqlite_error(db_, "bind failed");
  return *this;
}

bool SqliteStatement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite_error(db_, "step failed");
}

void SqliteStatement::reset() {
  count_work();
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string SqliteStatement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
           : std::string();
}

std::int64_t SqliteStatement::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

}  // namespace tollgate
