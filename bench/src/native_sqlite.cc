// The native SQLite baseline: the SQLite C API with the settings the plugin
// uses (plugins/sqlite/sqlite_options.h defaults, sqlite_connection.cc,
// sqlite_db.cc):
//
//   file                   <dir>/kalam.sqlite3, a table
//                          cf_0(key BLOB NOT NULL PRIMARY KEY,
//                          value BLOB NOT NULL): a rowid table with a unique
//                          index on its key, what a native program's
//                          key/value table is (YCSB's JDBC binding makes the
//                          same), and the plugin's default family since its
//                          format 2
//   connections            one write connection (READWRITE|CREATE) and one
//                          read connection (READONLY), both
//                          SQLITE_OPEN_NOMUTEX, extended result codes,
//                          busy_timeout 5000 ms, cache_size 8 MiB each,
//                          mmap_size 0; the plugin reads on pooled read
//                          connections the same way
//   pragmas                page_size 4096 (new file), journal_mode WAL,
//                          synchronous NORMAL (FULL for sync writes, switched
//                          only when it changes, as the plugin does)
//   statements             prepared once (SQLITE_PREPARE_PERSISTENT):
//                          INSERT ... ON CONFLICT(key) DO UPDATE (an upsert:
//                          an overwrite keeps its rowid and index entry),
//                          DELETE, SELECT value, and
//                          SELECT key, value ... ORDER BY key for cursors
//   writes                 a single put or delete runs in autocommit (what a
//                          native program writes); a batch is
//                          BEGIN IMMEDIATE ... COMMIT. The plugin wraps every
//                          write() in BEGIN IMMEDIATE ... COMMIT, so that
//                          difference is part of the measured plugin cost.
//   cursors                a statement on the read connection (no explicit
//                          transaction: one statement is one consistent view)
//   flush                  PRAGMA wal_checkpoint(PASSIVE); close: close the
//                          connections (the last one checkpoints the WAL)
#include <sqlite3.h>

#include <memory>

#include "modes.h"
#include "plugin_store.h"
#include "runner.h"

namespace kalam_bench {
namespace {

namespace fs = std::filesystem;

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    die(std::string("sqlite ") + what + ": " +
        (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
}

sqlite3* open_connection(const fs::path& file, int flags) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(file.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  check(db, rc, "open");
  sqlite3_extended_result_codes(db, 1);
  check(db, sqlite3_busy_timeout(db, 5000), "busy_timeout");
  check(db,
        sqlite3_exec(db, "PRAGMA cache_size = -8192; PRAGMA mmap_size = 0",
                     nullptr, nullptr, nullptr),
        "pragmas");
  return db;
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  check(db,
        sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                           nullptr),
        sql);
  return stmt;
}

void exec(sqlite3* db, const char* sql) {
  check(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), sql);
}

// Runs a prepared statement that returns no rows, then resets it.
void run(sqlite3* db, sqlite3_stmt* stmt, const char* what) {
  const int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) check(db, rc, what);
}

std::string_view column(sqlite3_stmt* stmt, int col) {
  const void* data = sqlite3_column_blob(stmt, col);
  const int len = sqlite3_column_bytes(stmt, col);
  return {static_cast<const char*>(data), static_cast<size_t>(len)};
}

class NativeSqlite {
 public:
  static std::unique_ptr<NativeSqlite> open(const StoreOptions&,
                                            const fs::path& dir) {
    auto store = std::unique_ptr<NativeSqlite>(new NativeSqlite());
    std::error_code ec;
    fs::create_directories(dir, ec);
    const fs::path file = dir / "kalam.sqlite3";
    const bool fresh = !fs::exists(file);
    sqlite3* w = store->writer_ =
        open_connection(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (fresh) exec(w, "PRAGMA page_size = 4096");
    exec(w, "PRAGMA journal_mode = WAL");
    exec(w, "PRAGMA synchronous = NORMAL");
    if (fresh) {
      exec(w,
           "CREATE TABLE cf_0(key BLOB NOT NULL PRIMARY KEY, "
           "value BLOB NOT NULL)");
    }
    store->reader_ = open_connection(file, SQLITE_OPEN_READONLY);
    store->put_ = prepare(w,
                          "INSERT INTO cf_0(key, value) VALUES (?1, ?2) "
                          "ON CONFLICT(key) DO UPDATE SET value = "
                          "excluded.value");
    store->del_ = prepare(w, "DELETE FROM cf_0 WHERE key = ?1");
    store->begin_ = prepare(w, "BEGIN IMMEDIATE");
    store->commit_ = prepare(w, "COMMIT");
    store->get_ =
        prepare(store->reader_, "SELECT value FROM cf_0 WHERE key = ?1");
    store->get_for_update_ =
        prepare(w, "SELECT value FROM cf_0 WHERE key = ?1");
    store->scan_first_ =
        prepare(store->reader_, "SELECT key, value FROM cf_0 ORDER BY key ASC");
    store->scan_from_ =
        prepare(store->reader_,
                "SELECT key, value FROM cf_0 WHERE key >= ?1 ORDER BY key ASC");
    return store;
  }

  bool persistent() const { return true; }

  void put(std::string_view key, std::string_view value, bool sync) {
    set_sync(sync);
    bind_put(key, value);
    run(writer_, put_, "put");
  }
  void del(std::string_view key, bool sync) {
    set_sync(sync);
    sqlite3_bind_blob64(del_, 1, key.data(), key.size(), SQLITE_STATIC);
    run(writer_, del_, "delete");
  }
  void write_batch(const std::string_view* keys, const std::string_view* values,
                   size_t n, bool sync) {
    set_sync(sync);
    run(writer_, begin_, "begin");
    for (size_t i = 0; i < n; ++i) {
      bind_put(keys[i], values[i]);
      run(writer_, put_, "put");
    }
    run(writer_, commit_, "commit");
  }
  // YCSB F: the read and the write in one write transaction (BEGIN
  // IMMEDIATE on the writer connection), as the plugin's read_modify_write
  // does.
  bool read_modify_write(std::string_view key, std::string_view value,
                         Sink& sink) {
    set_sync(false);
    run(writer_, begin_, "begin");
    sqlite3_bind_blob64(get_for_update_, 1, key.data(), key.size(),
                        SQLITE_STATIC);
    const int rc = sqlite3_step(get_for_update_);
    if (rc == SQLITE_ROW) sink.value(column(get_for_update_, 0));
    sqlite3_reset(get_for_update_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) check(writer_, rc, "get");
    bind_put(key, value);
    run(writer_, put_, "put");
    run(writer_, commit_, "commit");
    return rc == SQLITE_ROW;
  }
  bool get(std::string_view key, Sink& sink) {
    sqlite3_bind_blob64(get_, 1, key.data(), key.size(), SQLITE_STATIC);
    const int rc = sqlite3_step(get_);
    if (rc == SQLITE_ROW) sink.value(column(get_, 0));
    sqlite3_reset(get_);
    if (rc == SQLITE_DONE) return false;
    check(reader_, rc, "get");
    return true;
  }

  // One cursor at a time: it runs the read connection's scan statements.
  class Cursor {
   public:
    Cursor(NativeSqlite* store) : store_(store) {}
    Cursor(Cursor&& other) noexcept
        : store_(std::exchange(other.store_, nullptr)),
          stmt_(std::exchange(other.stmt_, nullptr)),
          valid_(other.valid_) {}
    Cursor& operator=(Cursor&&) = delete;
    ~Cursor() {
      if (stmt_ != nullptr) sqlite3_reset(stmt_);
    }
    void seek_first() { start(store_->scan_first_, nullptr); }
    void seek(std::string_view target) { start(store_->scan_from_, &target); }
    size_t read(size_t n, Sink& sink) {
      size_t count = 0;
      while (count < n && valid_) {
        sink.entry(column(stmt_, 0), column(stmt_, 1));
        step();
        ++count;
      }
      return count;
    }

   private:
    // Restarts the cursor on `stmt`, bound to `target` when there is one.
    void start(sqlite3_stmt* stmt, const std::string_view* target) {
      if (stmt_ != nullptr) sqlite3_reset(stmt_);
      stmt_ = stmt;
      if (target != nullptr) {
        check(store_->reader_,
              sqlite3_bind_blob64(stmt_, 1, target->data(), target->size(),
                                  SQLITE_STATIC),
              "bind");
      }
      step();
    }
    void step() {
      const int rc = sqlite3_step(stmt_);
      valid_ = rc == SQLITE_ROW;
      if (rc != SQLITE_DONE) check(store_->reader_, rc, "cursor step");
    }
    NativeSqlite* store_;
    sqlite3_stmt* stmt_ = nullptr;
    bool valid_ = false;
  };
  Cursor cursor() { return Cursor(this); }

  void flush() { exec(writer_, "PRAGMA wal_checkpoint(PASSIVE)"); }
  void close() {
    for (sqlite3_stmt* s : {get_, scan_first_, scan_from_, put_, del_, begin_,
                            commit_, get_for_update_}) {
      sqlite3_finalize(s);
    }
    check(reader_, sqlite3_close(reader_), "close");
    check(writer_, sqlite3_close(writer_), "close");
    reader_ = writer_ = nullptr;
  }

 private:
  void bind_put(std::string_view key, std::string_view value) {
    sqlite3_bind_blob64(put_, 1, key.data(), key.size(), SQLITE_STATIC);
    sqlite3_bind_blob64(put_, 2, value.data(), value.size(), SQLITE_STATIC);
  }
  // A PRAGMA takes effect when it is compiled, not when a prepared copy is
  // stepped again, so the switch is prepared and run each time it changes.
  void set_sync(bool full) {
    if (full == synchronous_full_) return;
    exec(writer_,
         full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    synchronous_full_ = full;
  }

  sqlite3* writer_ = nullptr;
  sqlite3* reader_ = nullptr;
  sqlite3_stmt *put_ = nullptr, *del_ = nullptr, *begin_ = nullptr,
               *commit_ = nullptr;
  sqlite3_stmt *get_ = nullptr, *scan_first_ = nullptr, *scan_from_ = nullptr;
  // The read of read_modify_write(), on the writer connection.
  sqlite3_stmt* get_for_update_ = nullptr;
  bool synchronous_full_ = false;
};

// The facts of a database file that the two modes must share.
std::string file_facts(const fs::path& file) {
  sqlite3* db = open_connection(file, SQLITE_OPEN_READONLY);
  std::string out;
  for (const char* sql :
       {"PRAGMA page_size", "PRAGMA journal_mode", "PRAGMA auto_vacuum",
        "PRAGMA encoding",
        "SELECT sql FROM sqlite_schema WHERE name = 'cf_0'"}) {
    sqlite3_stmt* stmt = prepare(db, sql);
    out += sql;
    out += " = ";
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out += text ? reinterpret_cast<const char*>(text) : "NULL";
    }
    out += "; ";
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

}  // namespace

RunResult run_native_sqlite(const Config& config, const Job& job,
                            const StoreOptions& options, const fs::path& dir) {
  return run_job<NativeSqlite>(config, job, options, dir);
}

SettingsCheck check_sqlite_settings(const StoreOptions& options,
                                    const fs::path& dir) {
  NativeSqlite::open(options, dir / "native")->close();
  PluginStore::open(options, dir / "plugin")->close();
  const std::string n = file_facts(dir / "native" / "kalam.sqlite3");
  const std::string p = file_facts(dir / "plugin" / "store" / "kalam.sqlite3");
  SettingsCheck result;
  result.ok = n == p;
  result.details =
      result.ok ? "identical: " + n : "native: " + n + " plugin: " + p;
  return result;
}

std::string sqlite_version() {
  return std::string(sqlite3_libversion()) + " (header " SQLITE_VERSION ")";
}

std::string sqlite_settings(bool sync) {
  return std::string("WAL, synchronous=") + (sync ? "FULL" : "NORMAL") +
         ", page_size 4096, cache_size 8 MiB per connection, mmap_size 0, "
         "busy_timeout 5000 ms, one write + one read connection (NOMUTEX), "
         "rowid blob table with a unique key index (upsert), prepared "
         "statements";
}

}  // namespace kalam_bench
