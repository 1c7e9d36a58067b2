#include "sqlite_connection.h"

namespace kalam::sqlite_plugin {

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    release();
    conn_ = std::exchange(other.conn_, nullptr);
    key_ = std::exchange(other.key_, 0);
    stmt_ = std::exchange(other.stmt_, nullptr);
    clear_bindings_ = std::exchange(other.clear_bindings_, true);
  }
  return *this;
}

void Statement::release() noexcept {
  const bool clear_bindings = std::exchange(clear_bindings_, true);
  if (stmt_ == nullptr) return;
  sqlite3_stmt* stmt = std::exchange(stmt_, nullptr);
  if (conn_ == nullptr) {
    sqlite3_finalize(stmt);
    return;
  }
  sqlite3_reset(stmt);
  if (clear_bindings) sqlite3_clear_bindings(stmt);
  std::exchange(conn_, nullptr)->give_back(key_, stmt);
}

int Statement::bind_blob(int index, const void* data, size_t len) {
  if (len == 0 || data == nullptr) data = kEmptyBytes;
  return sqlite3_bind_blob64(stmt_, index, data, len, SQLITE_STATIC);
}

int Statement::bind_text(int index, const std::string& text) {
  return sqlite3_bind_text64(stmt_, index, text.data(), text.size(),
                             SQLITE_STATIC, SQLITE_UTF8);
}

int Statement::bind_int64(int index, int64_t value) {
  return sqlite3_bind_int64(stmt_, index, value);
}

int Connection::open(const std::string& file, int flags, const Options& options,
                     std::unique_ptr<Connection>* out, Error& err) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(file.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    fail_sqlite(err, db, rc, "sqlite plugin: cannot open " + file);
    sqlite3_close(db);
    return err.code;
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  rc = sqlite3_busy_timeout(db, options.busy_timeout_ms);
  if (rc == SQLITE_OK) {
    const uint64_t cache_kib = (options.cache_size + 1023) / 1024;
    rc =
        conn->exec("PRAGMA cache_size = -" + std::to_string(cache_kib) +
                   "; PRAGMA mmap_size = " + std::to_string(options.mmap_size));
  }
  if (rc != SQLITE_OK) {
    return fail_sqlite(
        err, db, rc, "sqlite plugin: cannot configure a connection to " + file);
  }
  *out = std::move(conn);
  return KALAM_OK;
}

Connection::~Connection() {
  Error err;
  if (close(err) != KALAM_OK) log(KALAM_LOG_ERROR, err.message);
}

int Connection::prepare(uint64_t key, const std::string& sql, Statement* out) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return rc;
  }
  out->release();
  out->conn_ = this;
  out->key_ = key;
  out->stmt_ = stmt;
  return SQLITE_OK;
}

int Connection::prepare_once(const std::string& sql, Statement* out) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()),
                              &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return rc;
  }
  out->release();
  out->stmt_ = stmt;
  return SQLITE_OK;
}

int Connection::exec(const std::string& sql) {
  return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
}

void Connection::give_back(uint64_t key, sqlite3_stmt* stmt) noexcept {
  if (last_stmt_ == nullptr) {
    last_key_ = key;
    last_stmt_ = stmt;
    return;
  }
  try {
    idle_[key].push_back(stmt);
  } catch (...) {
    sqlite3_finalize(stmt);  // out of memory: just do not cache it
  }
}

void Connection::forget_family(uint64_t family_id) noexcept {
  if (last_stmt_ != nullptr && (last_key_ >> 6) == family_id + 1) {
    sqlite3_finalize(std::exchange(last_stmt_, nullptr));
  }
  for (auto it = idle_.begin(); it != idle_.end();) {
    if ((it->first >> 6) == family_id + 1) {
      for (sqlite3_stmt* stmt : it->second) sqlite3_finalize(stmt);
      it = idle_.erase(it);
    } else {
      ++it;
    }
  }
}

int Connection::close(Error& err) {
  if (db_ == nullptr) return KALAM_OK;
  if (last_stmt_ != nullptr)
    sqlite3_finalize(std::exchange(last_stmt_, nullptr));
  for (auto& [key, stmts] : idle_) {
    for (sqlite3_stmt* stmt : stmts) sqlite3_finalize(stmt);
  }
  idle_.clear();
  const std::string file = sqlite3_db_filename(db_, "main") != nullptr
                               ? sqlite3_db_filename(db_, "main")
                               : "";
  int rc = sqlite3_close(db_);
  if (rc == SQLITE_OK) {
    db_ = nullptr;
    return KALAM_OK;
  }
  fail_sqlite(err, db_, rc,
              "sqlite plugin: closing the connection to " + file +
                  " (a statement was leaked; it is released anyway)");
  err.code = KALAM_INTERNAL;
  sqlite3_close_v2(db_);
  db_ = nullptr;
  return err.code;
}

}  // namespace kalam::sqlite_plugin
