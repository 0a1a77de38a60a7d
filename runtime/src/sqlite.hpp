#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace sinkhost::runtime::sqlite {

// Thrown by the wrappers below; the stores that use them catch it at their public boundary
// and turn it into a Result error, so it never escapes the runtime.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, int code = 0) : std::runtime_error(what), code_(code) {}
  // SQLite's primary result code (SQLITE_FULL, SQLITE_IOERR, ...), 0 when not from SQLite.
  int code() const { return code_; }
  bool disk_full() const;

 private:
  int code_;
};

enum class Sync { normal, full };

// One connection. Not thread-safe: each user owns one, or guards it with a mutex.
class Database {
 public:
  // Opens (creating when missing) a database in WAL mode.
  static Database open(const std::string& path, Sync sync = Sync::normal, bool read_only = false);

  void exec(const char* sql);
  sqlite3* handle() const { return db_.get(); }
  std::int64_t changes() const;

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  std::unique_ptr<sqlite3, Closer> db_;
};

// A prepared statement; reset before each use.
class Statement {
 public:
  Statement(const Database& db, const char* sql);

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);

  // Returns true when a row is available, false when done.
  bool step();
  void reset();

  std::int64_t column_int(int index) const;
  bool column_is_null(int index) const;
  std::string column_text(int index) const;
  // The column's bytes without a copy; valid until the next step() or reset().
  std::string_view column_view(int index) const;

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
};

// Runs `BEGIN IMMEDIATE` now and `ROLLBACK` on destruction unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void commit();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace sinkhost::runtime::sqlite
