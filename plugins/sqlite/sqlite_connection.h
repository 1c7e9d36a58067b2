// One SQLite connection with its cache of prepared statements, and the RAII
// lease through which a caller uses a cached statement.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sqlite_options.h"
#include "sqlite_status.h"

namespace kalam::sqlite_plugin {

// What a cached statement does. Together with the id of the column family it
// works on (none for the first group) it is the statement's cache key.
enum StatementKind : unsigned {
  // Not tied to a family.
  kBeginImmediate = 1,
  kCommit,
  kRollback,
  kPinRead,
  kSyncFull,
  kSyncNormal,
  kTableExists,
  // On one family's table.
  kGet = 16,
  kPut,
  kDelete,
  kDeleteRange,
  // Iterator queries: kIterFirst + a variant number below 18 (iterator.cc).
  kIterFirst = 32,
};

// The cache key of `kind` for the family with id `family_id`; pass
// kNoFamily for the statements not tied to a family.
inline constexpr uint64_t kNoFamily = UINT64_MAX;
inline uint64_t statement_key(uint64_t family_id, unsigned kind) {
  return ((family_id + 1) << 6) | kind;
}

class Connection;

// A non-NULL address for zero-length BLOBs: sqlite3_bind_blob() binds SQL NULL
// for a NULL pointer, and an empty key must be an empty BLOB; and what
// column_blob() returns for an empty value.
inline constexpr unsigned char kEmptyBytes[1] = {0};

// The bytes of column `col` of the current row of `stmt` (never NULL), valid
// until the next step, reset or release. Inline: point reads and scans call
// it once or twice per row.
inline const void* column_bytes(sqlite3_stmt* stmt, int col, size_t* len) {
  const void* data = sqlite3_column_blob(stmt, col);
  *len = static_cast<size_t>(sqlite3_column_bytes(stmt, col));
  return data != nullptr ? data : kEmptyBytes;
}

// A prepared statement in use: leased from a Connection's cache (or prepared
// for one use) and given back, reset with its bindings cleared (see
// keep_bindings()), when the lease ends. Move-only. Used by one thread at a
// time, like its connection.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept { *this = std::move(other); }
  Statement& operator=(Statement&& other) noexcept;
  ~Statement() { release(); }

  // Ends the lease now (resets the statement; the column views die).
  void release() noexcept;
  // For a statement whose every use binds all of its parameters before it
  // steps (point reads): ending the lease skips sqlite3_clear_bindings().
  // The stale bindings it keeps (views of the last caller's bytes) are never
  // read, since the next use rebinds them first.
  void keep_bindings() { clear_bindings_ = false; }
  explicit operator bool() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() const { return stmt_; }

  // Binds bytes as a BLOB, a zero-length BLOB when len is 0 (never NULL, so
  // an empty key is a key). The bytes are not copied: they must stay valid
  // and unchanged until the statement is reset or rebound.
  int bind_blob(int index, const void* data, size_t len);
  int bind_text(int index, const std::string& text);
  int bind_int64(int index, int64_t value);
  // sqlite3_step().
  int step() { return sqlite3_step(stmt_); }
  // column_bytes() of the current row.
  const void* column_blob(int col, size_t* len) const {
    return column_bytes(stmt_, col, len);
  }
  int64_t column_int64(int col) const {
    return sqlite3_column_int64(stmt_, col);
  }

 private:
  friend class Connection;
  Connection* conn_ = nullptr;  // NULL: prepared for one use, finalized
  uint64_t key_ = 0;
  sqlite3_stmt* stmt_ = nullptr;
  bool clear_bindings_ = true;
};

// An open sqlite3 connection in multi-thread mode (SQLITE_OPEN_NOMUTEX): the
// owner makes sure one thread at a time uses it (a mutex, or exclusive
// ownership while leased from the read pool).
class Connection {
 public:
  // Opens `file` with sqlite3_open_v2(flags | SQLITE_OPEN_NOMUTEX), turns on
  // extended result codes and applies busy_timeout_ms, cache_size and
  // mmap_size from `options`.
  static int open(const std::string& file, int flags, const Options& options,
                  std::unique_ptr<Connection>* out, Error& err);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // Closes like close(), logging a failure.
  ~Connection();

  sqlite3* handle() const { return db_; }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

  // Leases the cached statement with `key`, preparing make_sql() with
  // SQLITE_PREPARE_PERSISTENT when none is idle (several leases of one key
  // may be alive: each gets its own statement). Returns an SQLite code.
  template <class MakeSql>
  int lease(uint64_t key, MakeSql&& make_sql, Statement* out) {
    if (last_stmt_ != nullptr && last_key_ == key) {
      out->release();
      out->conn_ = this;
      out->key_ = key;
      out->stmt_ = std::exchange(last_stmt_, nullptr);
      return SQLITE_OK;
    }
    auto it = idle_.find(key);
    if (it != idle_.end() && !it->second.empty()) {
      out->release();
      out->conn_ = this;
      out->key_ = key;
      out->stmt_ = it->second.back();
      it->second.pop_back();
      return SQLITE_OK;
    }
    return prepare(key, make_sql(), out);
  }
  // Prepares `sql` for one use (finalized when the lease ends).
  int prepare_once(const std::string& sql, Statement* out);
  // Runs `sql` (one or more statements, no parameters, rows ignored).
  int exec(const std::string& sql);
  // Finalizes the idle cached statements of the family with id `family_id`.
  void forget_family(uint64_t family_id) noexcept;

  // Finalizes every cached statement and calls sqlite3_close(). A statement
  // still leased makes that fail (a leak in the plugin): the connection is
  // then released with sqlite3_close_v2() and KALAM_INTERNAL returned.
  // Idempotent.
  int close(Error& err);

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  int prepare(uint64_t key, const std::string& sql, Statement* out);
  void give_back(uint64_t key, sqlite3_stmt* stmt) noexcept;
  friend class Statement;

  sqlite3* db_;
  // The statement given back last, kept out of `idle_`: a connection that
  // runs one statement over and over (point reads) leases it without a
  // hash lookup. Idle like those of `idle_`.
  uint64_t last_key_ = 0;
  sqlite3_stmt* last_stmt_ = nullptr;
  std::unordered_map<uint64_t, std::vector<sqlite3_stmt*>> idle_;
};

}  // namespace kalam::sqlite_plugin
