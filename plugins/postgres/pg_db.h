// An open Kalam database stored in one schema of a PostgreSQL server: its
// column families (one table each), its connection pool and its read views
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

#include "pg_options.h"
#include "pg_status.h"
#include "pg_wire.h"

namespace kalam::postgres_plugin {

// The largest key: a btree index entry must fit in a third of a page (2704
// bytes with 8 KiB pages), so keys are held well below it.
inline constexpr uint64_t kMaxKeySize = 2048;
// The largest value (bytea holds up to 1 GiB; this keeps one row a
// reasonable message).
inline constexpr uint64_t kMaxValueSize = 64ull << 20;
// The most expectations one write_conditional() takes (get_limits()): the
// expected keys of one family go to the server as one bytea[] parameter,
// and 262144 keys of kMaxKeySize bytes (about 540 MB) stay under
// PostgreSQL's 1 GiB limit on one value.
inline constexpr uint64_t kMaxExpectations = 262144;
// The catalog format this plugin writes (kalam_meta 'format_version').
inline constexpr uint32_t kFormatVersion = 1;
// The file in the data directory that records the schema.
inline constexpr const char* kSchemaFileName = "kalam_postgres.schema";

// The prepared statements of one family, by kind; names are "<kind>_<id>".
enum StatementKind : unsigned {
  kGet = 0,
  kPut,
  kDelete,
  kDeleteRange,
  kMultiGet,
  kForwardGe,       // key >= $1 ORDER BY key LIMIT $2
  kForwardGeBelow,  // key >= $1 AND key < $2 ... LIMIT $3
  kForwardGt,       // key > $1 ... LIMIT $2
  kForwardGtBelow,  // key > $1 AND key < $2 ... LIMIT $3
  kReverseLe,       // key <= $1 AND key >= $2 ORDER BY key DESC LIMIT $3
  kReverseLt,       // key < $1 AND key >= $2 ... LIMIT $3
  kReverseAll,      // key >= $1 ORDER BY key DESC LIMIT $2
  kStatementKinds
};

class Database;

// A column family: one table "<schema>"."cf_<id>". Owned by its Database
// until close(), even after it is dropped.
struct Family {
  Database* db = nullptr;
  int64_t id = 0;     // never reused within a schema (a sequence)
  std::string name;   // as the host named it
  std::string table;  // quoted, schema-qualified table name
  std::string statements[kStatementKinds];  // names
  std::atomic<bool> dropped{false};
};

// A connection holding a REPEATABLE READ READ ONLY transaction whose
// snapshot was taken at creation: every read through it sees the database
// as of then. Shared by a snapshot and the iterators created at it; `mutex`
// serialises their use of the connection. The transaction ends and the
// connection returns to the pool when the last owner lets go.
class ReadView {
 public:
  ReadView(Database* db, std::unique_ptr<Connection> conn)
      : db_(db), conn_(std::move(conn)) {}
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;
  ~ReadView();

  std::recursive_mutex& mutex() { return mutex_; }
  Connection& conn() { return *conn_; }

 private:
  Database* db_;
  std::unique_ptr<Connection> conn_;
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

using kalam_plugin::compare_bytes;

class Database {
 public:
  static int open(const kalam_open_params& params,
                  std::unique_ptr<Database>* out, Error& err);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

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
  int write(const kalam_write_options* options, const kalam_write_op* ops,
            size_t op_count, Error& err);
  // write() with expectations, checked in the write's transaction (see
  // README.md, "Conditional writes"). expect_count 0 is write().
  int write_conditional(const kalam_write_options* options,
                        const kalam_expectation* expects, size_t expect_count,
                        const kalam_write_op* ops, size_t op_count, Error& err);
  int snapshot_create(kalam_snapshot** out, Error& err);
  void snapshot_release(kalam_snapshot* snapshot) noexcept;
  int iter_create(const kalam_iter_options* options, kalam_cf* cf,
                  kalam_iter** out, Error& err);
  int get_property(kalam_cf* cf, const char* name, kalam_value_visitor visit,
                   void* ctx, Error& err);

  // For ReadView and Iterator.
  Pool& pool() { return *pool_; }
  void iterator_destroyed() noexcept { live_iterators_.fetch_sub(1); }
  // Prepares statement `kind` of `family` on `conn` (once per connection).
  int prepare(Connection& conn, const Family& family, StatementKind kind,
              Error& err);

 private:
  Database() = default;

  int open_schema(const kalam_open_params& params, bool create, Error& err);
  int load_families(Connection& conn, Error& err);
  Family* add_family(int64_t id, const std::string& name);
  int resolve(kalam_cf* handle, Family** out, Error& err);
  int snapshot_of(const kalam_read_options* options, Snapshot** out,
                  Error& err);
  int check_key(const void* key, size_t len, const char* what,
                Error& err) const;
  int begin_view(std::shared_ptr<ReadView>* out, Error& err);
  // Point lookup on `conn`: on_value(data, len) and KALAM_OK, or
  // KALAM_NOT_FOUND, or an error.
  template <class OnValue>
  int lookup(Connection& conn, const Family& family, const void* key,
             size_t key_len, OnValue&& on_value, Error& err);
  // Runs `read(conn)` on the snapshot's connection (under its lock) or on a
  // pooled one.
  template <class Read>
  int with_reader(Snapshot* snapshot, Read&& read, Error& err);
  int create_family(const std::string& name, Family** out, Error& err);
  // Drops the tables of dropped families that no transaction holds any
  // more (kalam_garbage); best effort, never waits for a lock.
  void sweep_garbage() noexcept;
  // An admin statement on a pooled connection.
  int admin(const std::string& sql, const char* what, Error& err,
            Result* out = nullptr);

  std::string schema_;         // unquoted
  std::string quoted_schema_;  // quoted for SQL text
  Options options_;
  bool read_only_ = false;
  std::unique_ptr<Pool> pool_;

  std::mutex families_mutex_;
  std::unordered_map<std::string, Family*> families_by_name_;
  std::vector<std::unique_ptr<Family>> families_;  // every handle, dropped too
  Family* default_family_ = nullptr;

  std::atomic<int64_t> live_iterators_{0};
  std::atomic<int64_t> live_snapshots_{0};
};

inline Database* to_database(kalam_db* db) {
  return reinterpret_cast<Database*>(db);
}
inline kalam_db* to_handle(Database* db) {
  return reinterpret_cast<kalam_db*>(db);
}

// "name" with every '"' doubled: an SQL identifier.
std::string quote_identifier(const std::string& name);

}  // namespace kalam::postgres_plugin
