// Database-level entry points: open/close/flush, column families,
// compaction, properties and checkpoints.
#include <rocksdb/utilities/checkpoint.h>

#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "rocksdb_logger.h"
#include "rocksdb_options.h"
#include "rocksdb_plugin.h"
#include "rocksdb_status.h"

namespace kalam_rocksdb {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kKnownOpenFlags =
    KALAM_OPEN_CREATE_IF_MISSING | KALAM_OPEN_READ_ONLY;
constexpr uint32_t kKnownCompactFlags =
    KALAM_COMPACT_HAS_BEGIN | KALAM_COMPACT_HAS_END;

// RocksDB reports a LOCK file held by this or another process as an
// IOError naming the LOCK file.
bool is_lock_error(const rocksdb::Status& s) {
  return s.IsIOError() && s.ToString().find("/LOCK") != std::string::npos;
}

// Destroys every rocksdb handle of `db` and closes it. Returns the first
// error.
rocksdb::Status shut_down(kalam_db* db) {
  rocksdb::Status first;
  for (auto& family : db->families) {
    if (family->handle == nullptr) continue;
    rocksdb::Status s = db->db->DestroyColumnFamilyHandle(family->handle);
    family->handle = nullptr;
    if (first.ok() && !s.ok()) first = s;
  }
  if (db->default_handle != nullptr) {
    rocksdb::Status s = db->db->DestroyColumnFamilyHandle(db->default_handle);
    db->default_handle = nullptr;
    if (first.ok() && !s.ok()) first = s;
  }
  rocksdb::Status s = db->db->Close();
  if (first.ok() && !s.ok()) first = s;
  delete db->db;
  db->db = nullptr;
  return first;
}

// Syncs the WAL of a writable `db`. A database a background error stopped
// is resumed first, or its error returned: syncing the WAL writer that
// failed aborts a librocksdb built with assertions (rocksdb_errors.h).
// Excludes writes from the check to the sync, so that no WAL append can
// fail between them.
rocksdb::Status sync_wal(kalam_db* db) {
  std::unique_lock<std::shared_mutex> no_writes(db->write_mutex);
  rocksdb::Status s = resume_if_stopped(db->db, db->errors.get());
  if (!s.ok()) return s;
  return db->db->FlushWAL(/*sync=*/true);
}

// Owns a kalam_db until open() hands it out; closes it on failure.
struct DbGuard {
  kalam_db* db;
  std::vector<rocksdb::ColumnFamilyHandle*> unowned;  // not yet in db
  ~DbGuard() {
    if (db == nullptr) return;
    if (db->db != nullptr) {
      for (auto* handle : unowned) {
        if (handle != nullptr) db->db->DestroyColumnFamilyHandle(handle);
      }
      shut_down(db);
    }
    delete db;
  }
};

int open_impl(const kalam_open_params* params, kalam_db** out_db,
              kalam_status* status) {
  if (params == nullptr || out_db == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb open: params and out_db must not be NULL");
  }
  if (!KALAM_PLUGIN_COVERS(params, option_count)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb open: kalam_open_params.struct_size %u is too small",
                params->struct_size);
  }
  if (params->path == nullptr || params->path[0] == '\0') {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb open: params->path must be a non-empty path");
  }
  if ((params->flags & ~kKnownOpenFlags) != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb open: unknown open flags 0x%x",
                params->flags & ~kKnownOpenFlags);
  }
  if (params->option_count > 0 &&
      (params->option_keys == nullptr || params->option_values == nullptr)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb open: option_count is %zu but option_keys or "
                "option_values is NULL",
                params->option_count);
  }

  ParsedOptions options;
  int rc = parse_options(params->option_keys, params->option_values,
                         params->option_count, &options, status);
  if (rc != KALAM_OK) return rc;

  const std::string path = params->path;
  const bool read_only = (params->flags & KALAM_OPEN_READ_ONLY) != 0;
  // A read-only open never creates anything.
  const bool create =
      !read_only && (params->flags & KALAM_OPEN_CREATE_IF_MISSING) != 0;

  std::error_code ec;
  bool exists = fs::exists(fs::path(path) / "CURRENT", ec);
  if (ec) {
    return fail(status, KALAM_IO_ERROR, ec.value(),
                "rocksdb open: cannot check for a database in '%s': %s",
                path.c_str(), ec.message().c_str());
  }
  std::vector<std::string> names;
  if (exists) {
    rocksdb::Status s =
        rocksdb::DB::ListColumnFamilies(options.db, path, &names);
    if (!s.ok()) {
      return fail_rocksdb(status, s, "open: listing column families");
    }
  } else {
    if (!create) return KALAM_NOT_FOUND;
    fs::create_directories(path, ec);
    if (ec) {
      return fail(status, KALAM_IO_ERROR, ec.value(),
                  "rocksdb open: cannot create the directory '%s': %s",
                  path.c_str(), ec.message().c_str());
    }
    names.push_back(rocksdb::kDefaultColumnFamilyName);
  }
  options.db.create_if_missing = create;
  options.db.create_missing_column_families = create;
  options.db.error_if_exists = false;

  kalam_log_fn log;
  void* log_ctx;
  get_host_log(&log, &log_ctx);
  auto logger =
      std::make_shared<HostLogger>(log, log_ctx, options.db.info_log_level);
  options.db.info_log = logger;
  auto errors = std::make_shared<BackgroundErrors>();
  options.db.listeners.push_back(errors);

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) descriptors.emplace_back(name, options.cf);

  DbGuard guard{new kalam_db, {}};
  kalam_db* db = guard.db;
  db->path = path;
  db->read_only = read_only;
  db->cf_options = options.cf;
  db->logger = logger;
  db->errors = errors;
  db->families.reserve(descriptors.size());

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s =
      read_only
          ? rocksdb::DB::OpenForReadOnly(options.db, path, descriptors,
                                         &handles, &db->db)
          : rocksdb::DB::Open(options.db, path, descriptors, &handles, &db->db);
  if (!s.ok()) {
    db->db = nullptr;
    if (is_lock_error(s)) {
      return fail(status, KALAM_BUSY, native_code_of(s),
                  "rocksdb open: '%s' is already open (in this or another "
                  "process); close it first: %s",
                  path.c_str(), s.ToString().c_str());
    }
    return fail_rocksdb(status, s, "open");
  }
  guard.unowned = handles;
  for (size_t i = 0; i < handles.size(); ++i) {
    rocksdb::ColumnFamilyHandle* handle = handles[i];
    if (handle->GetName() == rocksdb::kDefaultColumnFamilyName) {
      db->default_handle = handle;
    } else {
      auto family = std::make_unique<kalam_cf>();
      family->owner = db;
      family->handle = handle;
      family->name = handle->GetName();
      db->live_by_name[family->name] = family.get();
      db->families.push_back(std::move(family));
    }
    guard.unowned[i] = nullptr;  // now owned by db
  }
  if (db->default_handle == nullptr) {
    return fail(status, KALAM_INTERNAL, 0,
                "rocksdb open: '%s' opened without a default column family",
                path.c_str());
  }
  host_log(KALAM_LOG_INFO, "opened '%s'%s with %zu column families",
           path.c_str(), read_only ? " read-only" : "", handles.size());
  *out_db = db;
  guard.db = nullptr;
  return KALAM_OK;
}

int close_impl(kalam_db* db, kalam_status* status) {
  if (db == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb close: db must not be NULL");
  }
  int64_t iterators = db->live_iterators.load();
  int64_t snapshots = db->live_snapshots.load();
  if (iterators > 0 || snapshots > 0) {
    return fail(status, KALAM_BUSY, 0,
                "rocksdb close: %lld iterator(s) and %lld snapshot(s) of '%s' "
                "are still alive; destroy and release them, then close "
                "again (the database stays open)",
                static_cast<long long>(iterators),
                static_cast<long long>(snapshots), db->path.c_str());
  }
  rocksdb::Status first;
  if (!db->read_only) first = sync_wal(db);
  rocksdb::Status s = shut_down(db);
  if (first.ok()) first = s;
  std::string path = std::move(db->path);
  delete db;
  if (!first.ok()) return fail_rocksdb(status, first, "close");
  host_log(KALAM_LOG_INFO, "closed '%s'", path.c_str());
  return KALAM_OK;
}

int flush_impl(kalam_db* db, uint32_t flags, kalam_status* status) {
  if (db == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb flush: db must not be NULL");
  }
  if (flags != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb flush: flags must be 0 (got 0x%x)", flags);
  }
  if (db->read_only) return KALAM_OK;  // nothing was written
  rocksdb::Status stopped = resume_if_stopped(db->db, db->errors.get());
  if (!stopped.ok()) return fail_rocksdb(status, stopped, "flush");
  // The live families, copied under cf_mutex; the (possibly long) flush runs
  // without it, so cf_open/cf_drop/cf_list do not wait for the disk. The
  // handles stay valid: cf_drop() only marks them, and they are destroyed by
  // close(), which never runs concurrently with flush().
  std::vector<kalam_cf*> families;
  {
    std::lock_guard<std::mutex> lock(db->cf_mutex);
    families.reserve(db->live_by_name.size());
    for (const auto& [name, family] : db->live_by_name) {
      families.push_back(family);
    }
  }
  rocksdb::FlushOptions flush_options;
  flush_options.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles{db->default_handle};
  for (kalam_cf* family : families) handles.push_back(family->handle);
  // One call, so that a native atomic_flush stays atomic across families.
  rocksdb::Status s = db->db->Flush(flush_options, handles);
  if (!s.ok()) {
    // A family dropped meanwhile has nothing left to flush: flush the others
    // one by one.
    s = db->db->Flush(flush_options, db->default_handle);
    for (size_t i = 0; s.ok() && i < families.size(); ++i) {
      if (families[i]->dropped.load()) continue;
      s = db->db->Flush(flush_options, families[i]->handle);
      if (s.IsColumnFamilyDropped() || families[i]->dropped.load()) {
        s = rocksdb::Status::OK();
      }
    }
    if (!s.ok()) return fail_rocksdb(status, s, "flush: memtables");
  }
  s = sync_wal(db);
  if (!s.ok()) return fail_rocksdb(status, s, "flush: WAL sync");
  return KALAM_OK;
}

int cf_open_impl(kalam_db* db, const char* name, uint32_t flags,
                 kalam_cf** out_cf, kalam_status* status) {
  if (db == nullptr || name == nullptr || out_cf == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb cf_open: db, name and out_cf must not be NULL");
  }
  if (name[0] == '\0') {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb cf_open: the column family name must not be empty");
  }
  if ((flags & ~KALAM_CF_CREATE_IF_MISSING) != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb cf_open: unknown flags 0x%x",
                flags & ~KALAM_CF_CREATE_IF_MISSING);
  }
  std::string key = name;
  if (key == rocksdb::kDefaultColumnFamilyName) {
    *out_cf = nullptr;
    return KALAM_OK;
  }
  std::lock_guard<std::mutex> lock(db->cf_mutex);
  auto found = db->live_by_name.find(key);
  if (found != db->live_by_name.end()) {
    *out_cf = found->second;
    return KALAM_OK;
  }
  if ((flags & KALAM_CF_CREATE_IF_MISSING) == 0) return KALAM_NOT_FOUND;
  if (db->read_only) {
    return fail(status, KALAM_NOT_SUPPORTED, 0,
                "rocksdb cf_open: cannot create column family '%s': the "
                "database was opened read-only",
                name);
  }
  // Allocate everything first so that nothing can fail after RocksDB
  // created the family.
  auto family = std::make_unique<kalam_cf>();
  family->owner = db;
  family->name = key;
  db->families.reserve(db->families.size() + 1);
  auto slot = db->live_by_name.emplace(key, nullptr).first;
  rocksdb::Status s =
      db->db->CreateColumnFamily(db->cf_options, key, &family->handle);
  if (!s.ok()) {
    db->live_by_name.erase(slot);
    return fail_rocksdb(status, s, "cf_open: creating the column family");
  }
  slot->second = family.get();
  *out_cf = family.get();
  db->families.push_back(std::move(family));
  return KALAM_OK;
}

int cf_drop_impl(kalam_db* db, kalam_cf* cf, kalam_status* status) {
  if (db == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb cf_drop: db must not be NULL");
  }
  if (cf == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb cf_drop: the default column family (NULL) cannot "
                "be dropped");
  }
  if (cf->owner != db) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb cf_drop: the column family handle belongs to "
                "another database");
  }
  std::lock_guard<std::mutex> lock(db->cf_mutex);
  if (cf->dropped.load()) {
    return fail(status, KALAM_DROPPED, 0,
                "rocksdb cf_drop: column family '%s' was already dropped",
                cf->name.c_str());
  }
  if (db->read_only) {
    return fail(status, KALAM_NOT_SUPPORTED, 0,
                "rocksdb cf_drop: cannot drop column family '%s': the "
                "database was opened read-only",
                cf->name.c_str());
  }
  rocksdb::Status s = db->db->DropColumnFamily(cf->handle);
  if (!s.ok()) return fail_rocksdb(status, s, "cf_drop");
  cf->dropped.store(true);
  auto found = db->live_by_name.find(cf->name);
  if (found != db->live_by_name.end() && found->second == cf) {
    db->live_by_name.erase(found);
  }
  return KALAM_OK;
}

int cf_list_impl(kalam_db* db, kalam_name_visitor visit, void* ctx,
                 kalam_status* status) {
  if (db == nullptr || visit == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb cf_list: db and visit must not be NULL");
  }
  std::vector<std::string> names{rocksdb::kDefaultColumnFamilyName};
  {
    std::lock_guard<std::mutex> lock(db->cf_mutex);
    for (const auto& [name, family] : db->live_by_name) names.push_back(name);
  }
  // Visit outside the lock: the visitor may call back into the plugin.
  for (const auto& name : names) visit(ctx, name.c_str());
  return KALAM_OK;
}

int compact_range_impl(kalam_db* db, kalam_cf* cf, uint32_t flags,
                       const void* begin, size_t begin_len, const void* end,
                       size_t end_len, kalam_status* status) {
  if (db == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb compact_range: db must not be NULL");
  }
  if ((flags & ~kKnownCompactFlags) != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb compact_range: unknown flags 0x%x",
                flags & ~kKnownCompactFlags);
  }
  const bool has_begin = (flags & KALAM_COMPACT_HAS_BEGIN) != 0;
  const bool has_end = (flags & KALAM_COMPACT_HAS_END) != 0;
  if ((has_begin && !bytes_ok(begin, begin_len)) ||
      (has_end && !bytes_ok(end, end_len))) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb compact_range: a bound is NULL with a non-zero "
                "length");
  }
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  int rc = resolve_cf(db, cf, &handle, "compact_range", status);
  if (rc != KALAM_OK) return rc;
  if (db->read_only) {
    return fail(status, KALAM_NOT_SUPPORTED, 0,
                "rocksdb compact_range: the database was opened read-only");
  }
  rocksdb::Slice lo = slice(begin, begin_len);
  rocksdb::Slice hi = slice(end, end_len);
  if (has_begin && has_end && lo.compare(hi) >= 0) return KALAM_OK;  // empty
  rocksdb::CompactRangeOptions compact_options;
  rocksdb::Status s =
      db->db->CompactRange(compact_options, handle, has_begin ? &lo : nullptr,
                           has_end ? &hi : nullptr);
  if (!s.ok()) return fail_rocksdb(status, s, "compact_range");
  return KALAM_OK;
}

int get_property_impl(kalam_db* db, kalam_cf* cf, const char* name,
                      kalam_value_visitor visit, void* ctx,
                      kalam_status* status) {
  if (db == nullptr || name == nullptr || visit == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb get_property: db, name and visit must not be NULL");
  }
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  int rc = resolve_cf(db, cf, &handle, "get_property", status);
  if (rc != KALAM_OK) return rc;
  const std::string property = name;
  std::string value;
  if (property == KALAM_PROPERTY_ESTIMATE_NUM_KEYS) {
    uint64_t keys = 0;
    if (!db->db->GetIntProperty(handle, "rocksdb.estimate-num-keys", &keys)) {
      return fail(status, KALAM_INTERNAL, 0,
                  "rocksdb get_property: rocksdb.estimate-num-keys is "
                  "unavailable");
    }
    value = std::to_string(keys);
  } else if (property == KALAM_PROPERTY_APPROXIMATE_BYTES) {
    uint64_t sst = 0;
    uint64_t mem = 0;
    if (!db->db->GetIntProperty(handle, "rocksdb.total-sst-files-size", &sst) ||
        !db->db->GetIntProperty(handle, "rocksdb.cur-size-all-mem-tables",
                                &mem)) {
      return fail(status, KALAM_INTERNAL, 0,
                  "rocksdb get_property: the size properties are "
                  "unavailable");
    }
    value = std::to_string(sst + mem);
  } else if (property == KALAM_PROPERTY_STATS) {
    if (!db->db->GetProperty(handle, "rocksdb.stats", &value)) {
      return fail(status, KALAM_INTERNAL, 0,
                  "rocksdb get_property: rocksdb.stats is unavailable");
    }
  } else if (property.rfind("rocksdb.", 0) == 0) {
    if (!db->db->GetProperty(handle, property, &value)) return KALAM_NOT_FOUND;
  } else {
    return KALAM_NOT_FOUND;
  }
  visit(ctx, value.data(), value.size());
  return KALAM_OK;
}

int checkpoint_impl(kalam_db* db, const char* path, kalam_status* status) {
  if (db == nullptr || path == nullptr || path[0] == '\0') {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb checkpoint: db and a non-empty path are required");
  }
  std::error_code ec;
  fs::path target = fs::absolute(path, ec);
  if (ec) {
    return fail(status, KALAM_INVALID_ARGUMENT, ec.value(),
                "rocksdb checkpoint: bad path '%s': %s", path,
                ec.message().c_str());
  }
  if (fs::exists(fs::symlink_status(target, ec))) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb checkpoint: '%s' already exists; a checkpoint needs "
                "a directory that does not exist yet",
                path);
  }
  // A checkpoint syncs the WAL: never on a stopped database, and no write
  // (which could fail and stop it) between the check and the checkpoint.
  std::unique_lock<std::shared_mutex> no_writes(db->write_mutex,
                                                std::defer_lock);
  if (!db->read_only) {
    no_writes.lock();
    rocksdb::Status stopped = resume_if_stopped(db->db, db->errors.get());
    if (!stopped.ok()) return fail_rocksdb(status, stopped, "checkpoint");
  }
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db->db, &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  if (s.ok()) s = checkpoint->CreateCheckpoint(target.string());
  if (!s.ok()) return fail_rocksdb(status, s, "checkpoint");
  return KALAM_OK;
}

}  // namespace

int resolve_cf(kalam_db* db, kalam_cf* cf, rocksdb::ColumnFamilyHandle** out,
               const char* what, kalam_status* status) noexcept {
  if (cf == nullptr) {
    *out = db->default_handle;
    return KALAM_OK;
  }
  if (cf->owner != db) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb %s: the column family handle belongs to another "
                "database",
                what);
  }
  if (cf->dropped.load(std::memory_order_acquire)) {
    return fail(status, KALAM_DROPPED, 0,
                "rocksdb %s: column family '%s' was dropped", what,
                cf->name.c_str());
  }
  *out = cf->handle;
  return KALAM_OK;
}

int check_snapshot(kalam_db* db, const kalam_snapshot* snapshot,
                   const char* what, kalam_status* status) noexcept {
  if (snapshot != nullptr && snapshot->owner != db) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb %s: the snapshot belongs to another database", what);
  }
  return KALAM_OK;
}

int open(const kalam_open_params* params, kalam_db** out_db,
         kalam_status* status) noexcept {
  return guarded(status, "open",
                 [&] { return open_impl(params, out_db, status); });
}

int close(kalam_db* db, kalam_status* status) noexcept {
  return guarded(status, "close", [&] { return close_impl(db, status); });
}

int flush(kalam_db* db, uint32_t flags, kalam_status* status) noexcept {
  return guarded(status, "flush",
                 [&] { return flush_impl(db, flags, status); });
}

int cf_open(kalam_db* db, const char* name, uint32_t flags, kalam_cf** out_cf,
            kalam_status* status) noexcept {
  return guarded(status, "cf_open",
                 [&] { return cf_open_impl(db, name, flags, out_cf, status); });
}

int cf_drop(kalam_db* db, kalam_cf* cf, kalam_status* status) noexcept {
  return guarded(status, "cf_drop",
                 [&] { return cf_drop_impl(db, cf, status); });
}

int cf_list(kalam_db* db, kalam_name_visitor visit, void* ctx,
            kalam_status* status) noexcept {
  return guarded(status, "cf_list",
                 [&] { return cf_list_impl(db, visit, ctx, status); });
}

int compact_range(kalam_db* db, kalam_cf* cf, uint32_t flags, const void* begin,
                  size_t begin_len, const void* end, size_t end_len,
                  kalam_status* status) noexcept {
  return guarded(status, "compact_range", [&] {
    return compact_range_impl(db, cf, flags, begin, begin_len, end, end_len,
                              status);
  });
}

int get_property(kalam_db* db, kalam_cf* cf, const char* name,
                 kalam_value_visitor visit, void* ctx,
                 kalam_status* status) noexcept {
  return guarded(status, "get_property", [&] {
    return get_property_impl(db, cf, name, visit, ctx, status);
  });
}

int checkpoint(kalam_db* db, const char* path, kalam_status* status) noexcept {
  return guarded(status, "checkpoint",
                 [&] { return checkpoint_impl(db, path, status); });
}

}  // namespace kalam_rocksdb
