// The RocksDB plugin's handles and entry points. Internal to the plugin: the
// host sees only the opaque kalam_* handles and the function table.
#pragma once

#include <kalam/backend_api.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>

#include "plugin_support.h"
#include "rocksdb_errors.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

// A column family handle. Owned by its kalam_db; valid until close(), even
// after cf_drop() (it is then marked dropped and every call through it
// returns KALAM_DROPPED; the rocksdb handle itself is destroyed at close()).
struct kalam_cf {
  kalam_db* owner = nullptr;
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  std::string name;
  std::atomic<bool> dropped{false};
};

// An open database.
struct kalam_db {
  rocksdb::DB* db = nullptr;
  std::string path;
  bool read_only = false;
  // The default family's handle from DB::Open (kalam_cf NULL maps to it).
  rocksdb::ColumnFamilyHandle* default_handle = nullptr;
  // The options every family is opened or created with.
  rocksdb::ColumnFamilyOptions cf_options;
  std::shared_ptr<rocksdb::Logger> logger;
  // RocksDB's background error, as its listener reports it: a stopped
  // database is resumed (or the error returned) before any WAL sync.
  std::shared_ptr<kalam_rocksdb::BackgroundErrors> errors;

  // Guards live_by_name and families (cf_open, cf_drop, cf_list, flush).
  std::mutex cf_mutex;
  // Live (not dropped) families other than "default", by name.
  std::map<std::string, kalam_cf*> live_by_name;
  // Every handle handed out since open, dropped ones included.
  std::vector<std::unique_ptr<kalam_cf>> families;

  // Plain writes hold it shared; write_conditional() and
  // read_modify_write() (ABI 1.2) hold it exclusively, so no write falls
  // between their reads and their write. The WAL syncs of flush() and
  // close() and checkpoint() hold it exclusively too, from their check of
  // the background error to the sync: a write that fails concurrently
  // (and stops the database) has then either finished, so the check sees
  // its error, or not begun (rocksdb_errors.h).
  std::shared_mutex write_mutex;

  // Counted so that close() can refuse with KALAM_BUSY.
  std::atomic<int64_t> live_iterators{0};
  std::atomic<int64_t> live_snapshots{0};
};

// A snapshot: a RocksDB snapshot of its database.
struct kalam_snapshot {
  kalam_db* owner = nullptr;
  const rocksdb::Snapshot* snapshot = nullptr;
};

namespace kalam_rocksdb {

// Resolves `cf` (NULL: the default family) of `db` to its rocksdb handle.
// Returns KALAM_OK, KALAM_DROPPED or KALAM_INVALID_ARGUMENT (a handle of
// another database), with `status` filled on error. `what` names the call.
int resolve_cf(kalam_db* db, kalam_cf* cf, rocksdb::ColumnFamilyHandle** out,
               const char* what, kalam_status* status) noexcept;

// Checks that `snapshot` (may be NULL) belongs to `db`.
int check_snapshot(kalam_db* db, const kalam_snapshot* snapshot,
                   const char* what, kalam_status* status) noexcept;

// Checks that a pointer + length byte string is not (NULL, non-zero).
inline bool bytes_ok(const void* data, size_t len) {
  return !kalam_plugin::null_with_length(data, len);
}

// rocksdb::Slice over pointer + length (NULL allowed when the length is 0).
inline rocksdb::Slice slice(const void* data, size_t len) {
  return len == 0 ? rocksdb::Slice()
                  : rocksdb::Slice(static_cast<const char*>(data), len);
}

// ---- Entry points (see backend_api.h for each contract) ----

// rocksdb_db.cc
int open(const kalam_open_params* params, kalam_db** out_db,
         kalam_status* status) noexcept;
int close(kalam_db* db, kalam_status* status) noexcept;
int flush(kalam_db* db, uint32_t flags, kalam_status* status) noexcept;
int cf_open(kalam_db* db, const char* name, uint32_t flags, kalam_cf** out_cf,
            kalam_status* status) noexcept;
int cf_drop(kalam_db* db, kalam_cf* cf, kalam_status* status) noexcept;
int cf_list(kalam_db* db, kalam_name_visitor visit, void* ctx,
            kalam_status* status) noexcept;
int compact_range(kalam_db* db, kalam_cf* cf, uint32_t flags, const void* begin,
                  size_t begin_len, const void* end, size_t end_len,
                  kalam_status* status) noexcept;
int get_property(kalam_db* db, kalam_cf* cf, const char* name,
                 kalam_value_visitor visit, void* ctx,
                 kalam_status* status) noexcept;
int checkpoint(kalam_db* db, const char* path, kalam_status* status) noexcept;

// rocksdb_data.cc
int get(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
        const void* key, size_t key_len, kalam_value_visitor visit, void* ctx,
        kalam_status* status) noexcept;
int get_into(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
             const void* key, size_t key_len, void* buf, size_t buf_size,
             size_t* value_len, kalam_status* status) noexcept;
int multi_get(kalam_db* db, const kalam_read_options* options, size_t count,
              kalam_cf* const* cfs, const void* const* keys,
              const size_t* key_lens, kalam_multi_get_visitor visit, void* ctx,
              kalam_status* status) noexcept;
int write(kalam_db* db, const kalam_write_options* options,
          const kalam_write_op* ops, size_t op_count,
          kalam_status* status) noexcept;
int write_conditional(kalam_db* db, const kalam_write_options* options,
                      const kalam_expectation* expects, size_t expect_count,
                      const kalam_write_op* ops, size_t op_count,
                      kalam_status* status) noexcept;
int read_modify_write(kalam_db* db, const kalam_write_options* options,
                      size_t count, kalam_cf* const* cfs,
                      const void* const* keys, const size_t* key_lens,
                      kalam_rmw_visitor visit, void* ctx,
                      kalam_status* status) noexcept;
int snapshot_create(kalam_db* db, kalam_snapshot** out_snapshot,
                    kalam_status* status) noexcept;
void snapshot_release(kalam_db* db, kalam_snapshot* snapshot) noexcept;

// rocksdb_iter.cc
int iter_create(kalam_db* db, const kalam_iter_options* options, kalam_cf* cf,
                kalam_iter** out_iter, kalam_status* status) noexcept;
void iter_destroy(kalam_iter* iter) noexcept;
int iter_seek_first(kalam_iter* iter, kalam_status* status) noexcept;
int iter_seek_last(kalam_iter* iter, kalam_status* status) noexcept;
int iter_seek(kalam_iter* iter, const void* target, size_t target_len,
              kalam_status* status) noexcept;
int iter_seek_for_prev(kalam_iter* iter, const void* target, size_t target_len,
                       kalam_status* status) noexcept;
int iter_next(kalam_iter* iter, kalam_status* status) noexcept;
int iter_prev(kalam_iter* iter, kalam_status* status) noexcept;
int iter_valid(const kalam_iter* iter) noexcept;
int iter_entry(const kalam_iter* iter, const void** key, size_t* key_len,
               const void** value, size_t* value_len) noexcept;
int iter_status(const kalam_iter* iter, kalam_status* status) noexcept;
int iter_next_batch(kalam_iter* iter, uint32_t flags, size_t max_entries,
                    kalam_entry_visitor visit, void* ctx, size_t* consumed,
                    kalam_status* status) noexcept;
int iter_read_batch(kalam_iter* iter, uint32_t flags, size_t max_entries,
                    kalam_entry* out, size_t* filled,
                    kalam_status* status) noexcept;

}  // namespace kalam_rocksdb
