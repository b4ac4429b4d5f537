#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace tollgate {

// A prepared SQLite statement that finalises itself. Errors throw
// std::runtime_error with SQLite's message: StoreUnavailable when the
// database was busy, locked, full, read-only or failing.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const char* sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  SqliteStatement& bind(int index, std::string_view text);
  SqliteStatement& bind(int index, std::int64_t value);
  // Advances; true while a row is available.
  bool step();
  void reset();
  std::string text(int column) const;
  std::int64_t integer(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// What the statements finished on this thread have done, as SQLite counts
// it: rows stepped through by full table scans and virtual machine steps.
// Tests read it to show that an operation touches the rows it names and
// not the whole store.
struct SqliteWork {
  std::int64_t full_scan_steps = 0;
  std::int64_t vm_steps = 0;
};
SqliteWork& sqlite_work_on_this_thread();

[[noreturn]] void throw_sqlite_error(sqlite3* db, std::string_view what);

}  // namespace tollgate
