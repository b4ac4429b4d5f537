#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

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
  void count_work();

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Statements prepared once and kept for as long as the cache, for reads run
// again and again on one connection (a reloader reads every new key's
// memberships and usage: preparing took half its time). Used under its
// owner's lock, and destroyed before the connection closes.
class SqliteStatementCache {
 public:
  explicit SqliteStatementCache(sqlite3* db) : db_(db) {}

  // A statement in use, reset when the use ends.
  class Use {
   public:
    explicit Use(SqliteStatement& st) : st_(st) {}
    ~Use() { st_.reset(); }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    SqliteStatement* operator->() { return &st_; }
    SqliteStatement& operator*() { return st_; }

   private:
    SqliteStatement& st_;
  };
  // `sql` is known by its address: a literal, or a string that outlives
  // the cache.
  Use use(const char* sql);

 private:
  sqlite3* db_;
  std::unordered_map<const char*, std::unique_ptr<SqliteStatement>> statements_;
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
