#include "sqlite.hpp"

#include <sqlite3.h>

namespace sinkhost::runtime::sqlite {

namespace {
[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw Error(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"),
              db ? sqlite3_errcode(db) & 0xff : SQLITE_NOMEM);
}
}  // namespace

bool Error::disk_full() const { return code_ == SQLITE_FULL; }

void Database::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Database Database::open(const std::string& path, Sync sync, bool read_only) {
  sqlite3* raw = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  Database db;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  db.db_.reset(raw);
  if (rc != SQLITE_OK) fail(raw, "cannot open " + path);
  // Another connection may hold the write lock for the length of one transaction.
  sqlite3_busy_timeout(raw, 5000);
  if (!read_only) db.exec("PRAGMA journal_mode=WAL");
  // WAL + NORMAL survives a process crash; FULL also survives power loss (fsync per commit).
  db.exec(sync == Sync::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  return db;
}

void Database::exec(const char* sql) {
  char* message = nullptr;
  if (int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message); rc != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw Error(std::string("sqlite: ") + text, rc & 0xff);
  }
}

std::int64_t Database::changes() const { return sqlite3_changes64(db_.get()); }

void Statement::Finalizer::operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }

Statement::Statement(const Database& db, const char* sql) : db_(db.handle()) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
    fail(db_, std::string("cannot prepare '") + sql + "'");
  }
  stmt_.reset(raw);
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_.get(), index, value) != SQLITE_OK) fail(db_, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8) != SQLITE_OK) {
    fail(db_, "bind");
  }
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  // A zero-length blob must still be a blob, not NULL.
  if (sqlite3_bind_blob64(stmt_.get(), index, bytes.empty() ? "" : bytes.data(), bytes.size(), SQLITE_TRANSIENT) !=
      SQLITE_OK) {
    fail(db_, "bind");
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_.get(), index) != SQLITE_OK) fail(db_, "bind");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, "step");
}

void Statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_.get(), index); }

bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_.get(), index) == SQLITE_NULL; }

std::string Statement::column_text(int index) const { return std::string(column_view(index)); }

std::string_view Statement::column_view(int index) const {
  const void* data = sqlite3_column_blob(stmt_.get(), index);
  int size = sqlite3_column_bytes(stmt_.get(), index);
  return data ? std::string_view(static_cast<const char*>(data), static_cast<std::size_t>(size)) : std::string_view();
}

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (const Error&) {
      // Nothing more can be done: SQLite rolls back an unfinished transaction on close anyway.
    }
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace sinkhost::runtime::sqlite
