// An open Kalam database stored in one SQLite file: its column families, its
// write connection, its pool of read connections and its read views
// (snapshots). The ABI's kalam_db / kalam_cf / kalam_snapshot handles point
// at Database / Family / Snapshot objects.
#pragma once

#include <kalam/backend_api.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "sqlite_connection.h"
#include "sqlite_options.h"
#include "sqlite_status.h"

namespace kalam::sqlite_plugin {

// The largest key and value write() accepts. A row (key + value + a few
// bytes of record header) must stay below SQLITE_MAX_LENGTH (1e9 by
// default); open() checks the library's limit covers both.
inline constexpr uint64_t kMaxKeySize = 1ull << 20;    // 1 MiB
inline constexpr uint64_t kMaxValueSize = 1ull << 29;  // 512 MiB
// The on-disk format this plugin writes into a new database (PRAGMA
// user_version; the engine's manifest carries it too) and the newest it
// reads. Format 1 (plugin 1.0): each family a WITHOUT ROWID table, which
// spills any row over roughly a quarter of a page into overflow pages and
// then reads the whole row back on every comparison of a B-tree search.
// Format 2: each family a rowid table with a unique index on its key, as a
// native SQLite key/value table is (bench/README.md, "SQLite storage
// layout"). A database keeps the format it was created with.
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kOldestFormatVersion = 1;
// The CREATE TABLE of family table `sql_name` in `format`.
std::string family_table_sql(uint32_t format, const std::string& sql_name);
// The statement of a put into family table `sql_name` in `format`: format 2
// updates the row in place (its rowid and its index entry stay), where
// INSERT OR REPLACE would delete the row and append a new one.
std::string put_sql(uint32_t format, const std::string& sql_name);
// PRAGMA application_id of a Kalam database ("KALM").
inline constexpr int32_t kApplicationId = 0x4B414C4D;
// The database file inside the data directory.
inline constexpr const char* kDatabaseFileName = "kalam.sqlite3";
// The lock file inside the data directory (flock; see Database::open).
inline constexpr const char* kLockFileName = "kalam_sqlite.lock";

class Database;

// A column family: one table (its layout depends on the file's format). Owned
// by its Database until close(), even after it is dropped.
struct Family {
  Database* db = nullptr;
  uint64_t id = 0;       // never reused within a database file
  std::string name;      // as the host named it
  std::string table;     // the table's name, "cf_<id>"
  std::string sql_name;  // `table` quoted for SQL text
  std::atomic<bool> dropped{false};
  // Set while cf_drop() runs: a read that fails because the table vanished
  // in the window between the drop's commit and `dropped` is DROPPED too.
  std::atomic<bool> dropping{false};
  bool gone() const {
    return dropped.load(std::memory_order_acquire) ||
           dropping.load(std::memory_order_acquire);
  }
};

// A read connection holding one read transaction open: every read through it
// sees the database as of the transaction's start. Shared by a snapshot and
// the iterators created at it; `mutex` serialises their use of the
// connection (recursive, so a visitor may read at the same snapshot). The
// transaction ends and the connection returns to the pool when the last
// owner lets go.
//
// The transaction is implicit, held open by `pin_`: a query stepped onto its
// row and left there (SQLite ends an implicit transaction when the last
// statement reading in it is reset). Every other statement on the
// connection reads in the same transaction. This costs two statements fewer
// per view than BEGIN ... COMMIT, and every iterator without a snapshot
// starts a view.
class ReadView {
 public:
  ReadView(Database* db, std::unique_ptr<Connection> conn, Statement pin)
      : db_(db), conn_(std::move(conn)), pin_(std::move(pin)) {}
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;
  ~ReadView();

  std::recursive_mutex& mutex() { return mutex_; }
  Connection& conn() { return *conn_; }

 private:
  Database* db_;
  std::unique_ptr<Connection> conn_;
  Statement pin_;
  std::recursive_mutex mutex_;
};

// A kalam_snapshot.
struct Snapshot {
  Database* db = nullptr;
  std::shared_ptr<ReadView> view;
};

// Bounds of an iterator, copied from kalam_iter_options.
struct IterBounds {
  bool has_lower = false;
  bool has_upper = false;
  std::string lower;  // inclusive
  std::string upper;  // exclusive
};

// Byte-wise order: memcmp, then the shorter string first.
using kalam_plugin::compare_bytes;

class Database {
 public:
  // kalam_backend_vtable::open. *out is set only on KALAM_OK.
  static int open(const kalam_open_params& params,
                  std::unique_ptr<Database>* out, Error& err);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // The entry points, one per vtable function; arguments as in the header.
  // REQUIRES for close(): no other call on this database is running.
  int close(Error& err);
  int flush(uint32_t flags, Error& err);
  int cf_open(const char* name, uint32_t flags, kalam_cf** out, Error& err);
  int cf_drop(kalam_cf* cf, Error& err);
  int cf_list(kalam_name_visitor visit, void* ctx, Error& err);
  int get(const kalam_read_options* options, kalam_cf* cf, const void* key,
          size_t key_len, kalam_value_visitor visit, void* ctx, Error& err);
  int get_into(const kalam_read_options* options, kalam_cf* cf, const void* key,
               size_t key_len, void* buf, size_t buf_size, size_t* value_len,
               Error& err);
  int multi_get(const kalam_read_options* options, size_t count,
                kalam_cf* const* cfs, const void* const* keys,
                const size_t* key_lens, kalam_multi_get_visitor visit,
                void* ctx, Error& err);
  // ABI 1.2, see backend_api.h.
  int write_conditional(const kalam_write_options* options,
                        const kalam_expectation* expects, size_t expect_count,
                        const kalam_write_op* ops, size_t op_count, Error& err);
  int read_modify_write(const kalam_write_options* options, size_t count,
                        kalam_cf* const* cfs, const void* const* keys,
                        const size_t* key_lens, kalam_rmw_visitor visit,
                        void* ctx, Error& err);
  int write(const kalam_write_options* options, const kalam_write_op* ops,
            size_t op_count, Error& err);
  int snapshot_create(kalam_snapshot** out, Error& err);
  void snapshot_release(kalam_snapshot* snapshot) noexcept;
  int iter_create(const kalam_iter_options* options, kalam_cf* cf,
                  kalam_iter** out, Error& err);
  int get_property(kalam_cf* cf, const char* name, kalam_value_visitor visit,
                   void* ctx, Error& err);
  int checkpoint(const char* path, Error& err);

  // For ReadView and Iterator.
  // Takes back a read connection: pooled when idle and the pool has room,
  // else closed.
  void return_reader(std::unique_ptr<Connection> conn) noexcept;
  void iterator_destroyed() noexcept { live_iterators_.fetch_sub(1); }
  // The longest BLOB this SQLite accepts (SQLITE_LIMIT_LENGTH).
  uint64_t length_limit() const { return length_limit_; }
  const std::string& file() const { return file_; }
  // Whether `table` exists in the schema `conn` currently reads (false only
  // when SQLite says it does not: an error counts as "exists").
  static bool table_in_view(Connection& conn, const std::string& table);

 private:
  Database() = default;

  // Setup (open()).
  int open_files(const kalam_open_params& params, Error& err);
  int initialize_schema(Error& err);
  int check_schema(bool* empty, Error& err);

  // The family behind a handle (NULL: default), checked to belong to this
  // database and not to be dropped.
  int resolve(kalam_cf* handle, Family** out, Error& err);
  // The snapshot of read options (NULL when there is none), checked.
  int snapshot_of(const kalam_read_options* options, Snapshot** out,
                  Error& err);
  int check_key(const void* key, size_t len, const char* what,
                Error& err) const;
  // The failures of resolve() and check_key(), out of their fast paths.
  [[gnu::cold]] int refuse_family(const Family& family, Error& err) const;
  [[gnu::cold]] int refuse_key(const void* key, size_t len, const char* what,
                               Error& err) const;

  // Read connections.
  int take_reader(std::unique_ptr<Connection>* out, Error& err);
  // A fresh read view: a pooled connection with a read transaction started.
  int begin_view(std::shared_ptr<ReadView>* out, Error& err);
  // Point lookup of `key` in `family` on `conn`: calls on_value(data, len)
  // and returns KALAM_OK, or KALAM_NOT_FOUND (always for the empty key,
  // which write() never stores), or an error.
  template <class OnValue>
  int lookup(Connection& conn, const Family& family, const void* key,
             size_t key_len, OnValue&& on_value, Error& err);
  // Runs `read(conn)` on the snapshot's connection (under its lock) or on a
  // pooled connection.
  template <class Read>
  int with_reader(Snapshot* snapshot, Read&& read, Error& err);

  // The write connection; each REQUIRES write_mutex_ held.
  int set_synchronous(bool full, Error& err);
  int run_cached(unsigned kind, const char* sql, const char* what, Error& err);
  // Ends the message of a write that failed with `rc`, before (`committing`
  // false) or at its commit, and returns the code to report: "nothing was
  // applied" only when that is certain; a commit that failed on the disk is
  // KALAM_OUTCOME_UNKNOWN for a host of ABI 1.2 or later (`rc` for an older
  // one).
  static int finish_failed_write(int rc, bool committing, Error& err);
  void rollback() noexcept;
  int apply(const kalam_write_op& op, size_t index, Error& err);
  // Validates ops before anything is applied (no lock needed).
  int check_ops(uint32_t stride, const kalam_write_op* ops, size_t op_count,
                Error& err);
  // REQUIRES write_mutex_: no op's family was dropped since check_ops().
  int check_ops_not_dropped(uint32_t stride, const kalam_write_op* ops,
                            size_t op_count, Error& err);
  // The options checks of write_conditional() and read_modify_write().
  int check_write_call(const kalam_write_options* options, const char* call,
                       Error& err);
  int load_family(const std::string& name, Family** out, Error& err);
  int create_family(const std::string& name, Family** out, Error& err);

  // One open per data directory: the process-wide registry of canonical
  // paths, and a flock on kLockFileName (shared when read-only, exclusive
  // otherwise) against other processes. Both are released by ~Database().
  int lock_path(Error& err);
  void unlock_path() noexcept;

  std::string dir_;           // the data directory, absolute
  std::string claimed_path_;  // canonical dir_ in the registry, or empty
  int lock_fd_ = -1;          // the flocked lock file, or -1
  std::string file_;          // dir_ + "/" + kDatabaseFileName
  Options options_;
  // The file's format (kOldestFormatVersion..kFormatVersion), from
  // check_schema() or initialize_schema().
  uint32_t format_ = kFormatVersion;
  bool read_only_ = false;
  int reader_flags_ = 0;
  uint64_t length_limit_ = 0;

  // The write connection (read-only in a read-only database), its state
  // and the family table: all guarded by write_mutex_.
  std::mutex write_mutex_;
  std::unique_ptr<Connection> main_;
  bool synchronous_full_ = false;
  // A write with synchronous=NORMAL committed since the last flush().
  bool unsynced_writes_ = false;
  std::unordered_map<std::string, Family*> families_by_name_;
  std::vector<std::unique_ptr<Family>> families_;  // every handle, dropped too
  Family* default_family_ = nullptr;

  // Idle read connections: at most options_.read_pool_size, one of them
  // in `hot_reader_` (owned, taken and given back without pool_mutex_, so a
  // thread reading alone pays no lock per read), the others in
  // idle_readers_.
  std::atomic<Connection*> hot_reader_{nullptr};
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
  // The idle connections, hot_reader_ included, moved out (close()).
  std::vector<std::unique_ptr<Connection>> take_idle_readers();

  std::atomic<int64_t> live_iterators_{0};
  std::atomic<int64_t> live_snapshots_{0};
};

// Handle conversions at the ABI boundary.
inline Database* to_database(kalam_db* db) {
  return reinterpret_cast<Database*>(db);
}
inline kalam_db* to_handle(Database* db) {
  return reinterpret_cast<kalam_db*>(db);
}

}  // namespace kalam::sqlite_plugin
