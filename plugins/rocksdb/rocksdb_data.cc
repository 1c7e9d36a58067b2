// Point reads, writes and snapshots.
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "rocksdb_plugin.h"
#include "rocksdb_status.h"

namespace kalam_rocksdb {
namespace {

// RocksDB stores key and value lengths as 32-bit varints.
constexpr size_t kMaxEntrySize = std::numeric_limits<uint32_t>::max();

// multi_get() looks keys up in chunks of this many, all at one snapshot.
constexpr size_t kMultiGetChunk = 256;

// Builds ReadOptions for a point read after checking `options`.
int read_options(kalam_db* db, const kalam_read_options* options,
                 const char* what, rocksdb::ReadOptions* out,
                 kalam_status* status) {
  if (options == nullptr || !KALAM_PLUGIN_COVERS(options, snapshot)) {
    return KALAM_OK;
  }
  int rc = check_snapshot(db, options->snapshot, what, status);
  if (rc != KALAM_OK) return rc;
  if (options->snapshot != nullptr) out->snapshot = options->snapshot->snapshot;
  return KALAM_OK;
}

// Releases a snapshot taken for the duration of one call.
struct ScopedSnapshot {
  rocksdb::DB* db = nullptr;
  const rocksdb::Snapshot* snapshot = nullptr;
  ~ScopedSnapshot() {
    if (snapshot != nullptr) db->ReleaseSnapshot(snapshot);
  }
};

int get_impl(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
             const void* key, size_t key_len, kalam_value_visitor visit,
             void* ctx, kalam_status* status) {
  if (db == nullptr || visit == nullptr || !bytes_ok(key, key_len)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb get: db, visit and key must not be NULL");
  }
  rocksdb::ColumnFamilyHandle* handle;
  int rc = resolve_cf(db, cf, &handle, "get", status);
  if (rc != KALAM_OK) return rc;
  rocksdb::ReadOptions ro;
  rc = read_options(db, options, "get", &ro, status);
  if (rc != KALAM_OK) return rc;
  if (key_len == 0) return KALAM_NOT_FOUND;  // keys are never empty
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db->db->Get(ro, handle, slice(key, key_len), &value);
  if (s.IsNotFound()) return KALAM_NOT_FOUND;  // a result: nothing to format
  if (!s.ok()) return fail_rocksdb(status, s, "get");
  visit(ctx, value.data(), value.size());
  return KALAM_OK;
}

int get_into_impl(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
                  const void* key, size_t key_len, void* buf, size_t buf_size,
                  size_t* value_len, kalam_status* status) {
  if (db == nullptr || value_len == nullptr || !bytes_ok(key, key_len) ||
      !bytes_ok(buf, buf_size)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb get_into: db, value_len, key and buf must not be "
                "NULL");
  }
  rocksdb::ColumnFamilyHandle* handle;
  int rc = resolve_cf(db, cf, &handle, "get_into", status);
  if (rc != KALAM_OK) return rc;
  rocksdb::ReadOptions ro;
  rc = read_options(db, options, "get_into", &ro, status);
  if (rc != KALAM_OK) return rc;
  if (key_len == 0) return KALAM_NOT_FOUND;  // keys are never empty
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db->db->Get(ro, handle, slice(key, key_len), &value);
  if (s.IsNotFound()) return KALAM_NOT_FOUND;  // a result: nothing to format
  if (!s.ok()) return fail_rocksdb(status, s, "get_into");
  if (value.size() > buf_size) {
    *value_len = value.size();
    return fail(status, KALAM_BUFFER_TOO_SMALL, 0,
                "rocksdb get_into: the value is %zu bytes but the buffer "
                "holds %zu; retry with a buffer of *value_len bytes",
                value.size(), buf_size);
  }
  if (value.size() > 0) std::memcpy(buf, value.data(), value.size());
  *value_len = value.size();
  return KALAM_OK;
}

int multi_get_impl(kalam_db* db, const kalam_read_options* options,
                   size_t count, kalam_cf* const* cfs, const void* const* keys,
                   const size_t* key_lens, kalam_multi_get_visitor visit,
                   void* ctx, kalam_status* status) {
  if (db == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb multi_get: db must not be NULL");
  }
  if (count == 0) return KALAM_OK;
  if (keys == nullptr || key_lens == nullptr || visit == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb multi_get: keys, key_lens and visit must not be "
                "NULL");
  }
  for (size_t i = 0; i < count; ++i) {
    if (!bytes_ok(keys[i], key_lens[i])) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb multi_get: key %zu is NULL with length %zu", i,
                  key_lens[i]);
    }
    if (cfs != nullptr && cfs[i] != nullptr && cfs[i]->owner != db) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb multi_get: the column family of key %zu belongs "
                  "to another database",
                  i);
    }
  }
  rocksdb::ReadOptions ro;
  int rc = read_options(db, options, "multi_get", &ro, status);
  if (rc != KALAM_OK) return rc;
  // One consistent view for every chunk: an implicit snapshot if none given.
  ScopedSnapshot implicit;
  if (ro.snapshot == nullptr) {
    implicit.db = db->db;
    implicit.snapshot = db->db->GetSnapshot();
    ro.snapshot = implicit.snapshot;
  }

  const size_t chunk = std::min(count, kMultiGetChunk);
  std::vector<rocksdb::ColumnFamilyHandle*> handles(chunk);
  std::vector<rocksdb::Slice> slices(chunk);
  std::vector<size_t> indexes(chunk);
  std::vector<int> codes(chunk);
  std::vector<rocksdb::Status> statuses(chunk);
  std::unique_ptr<rocksdb::PinnableSlice[]> values(
      new rocksdb::PinnableSlice[chunk]);

  for (size_t start = 0; start < count; start += chunk) {
    const size_t end = std::min(count, start + chunk);
    // Keys of dropped families (KALAM_DROPPED) and empty keys
    // (KALAM_NOT_FOUND) are answered without a lookup.
    size_t n = 0;
    for (size_t i = start; i < end; ++i) {
      kalam_cf* cf = cfs == nullptr ? nullptr : cfs[i];
      if (cf != nullptr && cf->dropped.load(std::memory_order_acquire)) {
        codes[i - start] = KALAM_DROPPED;
        continue;
      }
      if (key_lens[i] == 0) {  // keys are never empty
        codes[i - start] = KALAM_NOT_FOUND;
        continue;
      }
      codes[i - start] = KALAM_OK;
      handles[n] = cf == nullptr ? db->default_handle : cf->handle;
      slices[n] = slice(keys[i], key_lens[i]);
      indexes[n] = i;
      ++n;
    }
    if (n > 0) {
      db->db->MultiGet(ro, n, handles.data(), slices.data(), values.get(),
                       statuses.data());
    }
    size_t next = 0;  // walks the looked-up keys alongside the indexes
    for (size_t i = start; i < end; ++i) {
      if (codes[i - start] != KALAM_OK) {
        visit(ctx, i, codes[i - start], nullptr, 0);
        continue;
      }
      const rocksdb::Status& s = statuses[next];
      rocksdb::PinnableSlice& value = values[next];
      ++next;
      int code = code_of(s);
      if (code == KALAM_OK) {
        visit(ctx, i, KALAM_OK, value.data(), value.size());
      } else {
        visit(ctx, i, code, nullptr, 0);
      }
      value.Reset();
    }
  }
  return KALAM_OK;
}

const char* op_name(uint32_t type) {
  switch (type) {
    case KALAM_OP_PUT:
      return "PUT";
    case KALAM_OP_DELETE:
      return "DELETE";
    default:
      return "DELETE_RANGE";
  }
}

// Validates `options` and the ops and adds them to `batch`. An invalid op
// fails the whole call with nothing added to a store.
int build_batch(kalam_db* db, const kalam_write_options* options,
                const kalam_write_op* ops, size_t op_count,
                rocksdb::WriteBatch* batch, kalam_status* status) {
  if (db == nullptr || options == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb write: db and options must not be NULL");
  }
  if (!KALAM_PLUGIN_COVERS(options, op_stride)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb write: kalam_write_options.struct_size %u is too "
                "small to hold op_stride",
                options->struct_size);
  }
  if ((options->flags & ~KALAM_WRITE_SYNC) != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb write: unknown write flags 0x%x",
                options->flags & ~KALAM_WRITE_SYNC);
  }
  if (db->read_only) {
    return fail(status, KALAM_NOT_SUPPORTED, 0,
                "rocksdb write: '%s' was opened read-only; reopen it without "
                "KALAM_OPEN_READ_ONLY to write",
                db->path.c_str());
  }
  if (op_count == 0) return KALAM_OK;
  if (ops == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb write: ops is NULL but op_count is %zu", op_count);
  }
  if (options->op_stride < sizeof(kalam_write_op)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb write: op_stride %u is smaller than "
                "sizeof(kalam_write_op) = %zu",
                options->op_stride, sizeof(kalam_write_op));
  }

  // Validate every op before building anything: an invalid op applies
  // nothing.
  std::vector<rocksdb::ColumnFamilyHandle*> handles(op_count);
  for (size_t i = 0; i < op_count; ++i) {
    const kalam_write_op* op = kalam_write_op_at(ops, options->op_stride, i);
    if (op->type != KALAM_OP_PUT && op->type != KALAM_OP_DELETE &&
        op->type != KALAM_OP_DELETE_RANGE) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb write: op %zu has unknown type %u; nothing was "
                  "applied",
                  i, op->type);
    }
    if (op->reserved0 != 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb write: op %zu has reserved0 = %u, must be 0; "
                  "nothing was applied",
                  i, op->reserved0);
    }
    const bool uses_value = op->type != KALAM_OP_DELETE;
    if (!bytes_ok(op->key, op->key_len) ||
        (uses_value && !bytes_ok(op->value, op->value_len))) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb write: op %zu (%s) has a NULL key or value with a "
                  "non-zero length; nothing was applied",
                  i, op_name(op->type));
    }
    if (op->key_len == 0 && op->type != KALAM_OP_DELETE_RANGE) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb write: op %zu (%s) has an empty key; keys are 1 "
                  "or more bytes; nothing was applied",
                  i, op_name(op->type));
    }
    if (op->key_len > kMaxEntrySize ||
        (uses_value && op->value_len > kMaxEntrySize)) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb write: op %zu (%s) has a key or value over the "
                  "maximum of %zu bytes; nothing was applied",
                  i, op_name(op->type), kMaxEntrySize);
    }
    int rc = resolve_cf(db, op->cf, &handles[i], "write", status);
    if (rc != KALAM_OK) return rc;
  }

  for (size_t i = 0; i < op_count; ++i) {
    const kalam_write_op* op = kalam_write_op_at(ops, options->op_stride, i);
    rocksdb::Slice key = slice(op->key, op->key_len);
    rocksdb::Status s;
    switch (op->type) {
      case KALAM_OP_PUT:
        s = batch->Put(handles[i], key, slice(op->value, op->value_len));
        break;
      case KALAM_OP_DELETE:
        s = batch->Delete(handles[i], key);
        break;
      default: {
        rocksdb::Slice end = slice(op->value, op->value_len);
        // An empty or reversed range removes nothing.
        if (key.compare(end) < 0) s = batch->DeleteRange(handles[i], key, end);
        break;
      }
    }
    if (!s.ok()) return fail_rocksdb(status, s, "write: building the batch");
  }
  return KALAM_OK;
}

rocksdb::WriteOptions write_options(const kalam_write_options* options) {
  rocksdb::WriteOptions wo;
  wo.sync = (options->flags & KALAM_WRITE_SYNC) != 0;
  // A family dropped by another thread after the checks above: without this
  // RocksDB would log the batch, fail its memtable insert, stop taking
  // writes (a background error) and replay the other families' ops after a
  // restart. Skipping the dropped family's ops instead is the same as the
  // write running just before the drop: atomic for every observer.
  wo.ignore_missing_column_families = true;
  return wo;
}

int write_impl(kalam_db* db, const kalam_write_options* options,
               const kalam_write_op* ops, size_t op_count,
               kalam_status* status) {
  rocksdb::WriteBatch batch;
  int rc = build_batch(db, options, ops, op_count, &batch, status);
  if (rc != KALAM_OK || batch.Count() == 0) return rc;
  // Shared: plain writes run concurrently (RocksDB groups them); only a
  // conditional write or a read-modify-write excludes them.
  std::shared_lock<std::shared_mutex> lock(db->write_mutex);
  rocksdb::Status s = db->db->Write(write_options(options), &batch);
  if (!s.ok()) return fail_rocksdb(status, s, "write");
  return KALAM_OK;
}

// ABI 1.2: with write_mutex held exclusively no other write of this
// database runs, so the Get()s below and the Write() see the same state.
// (RocksDB allows one process per path, so this covers every writer.)
int write_conditional_impl(kalam_db* db, const kalam_write_options* options,
                           const kalam_expectation* expects,
                           size_t expect_count, const kalam_write_op* ops,
                           size_t op_count, kalam_status* status) {
  rocksdb::WriteBatch batch;
  int rc = build_batch(db, options, ops, op_count, &batch, status);
  if (rc != KALAM_OK) return rc;
  rc = kalam_plugin::check_expectations("rocksdb", expects, expect_count,
                                        status);
  if (rc != KALAM_OK) return rc;
  std::vector<rocksdb::ColumnFamilyHandle*> handles(expect_count);
  for (size_t i = 0; i < expect_count; ++i) {
    rc =
        resolve_cf(db, expects[i].cf, &handles[i], "write_conditional", status);
    if (rc != KALAM_OK) return rc;
  }
  std::unique_lock<std::shared_mutex> lock(db->write_mutex);
  rocksdb::PinnableSlice value;
  for (size_t i = 0; i < expect_count; ++i) {
    const kalam_expectation& e = expects[i];
    value.Reset();
    rocksdb::Status s = db->db->Get(rocksdb::ReadOptions(), handles[i],
                                    slice(e.key, e.key_len), &value);
    if (!s.ok() && !s.IsNotFound()) {
      return fail_rocksdb(status, s, "write_conditional: read");
    }
    if (!kalam_plugin::expectation_holds(e, s.ok(), value.data(),
                                         value.size())) {
      return kalam_plugin::conflict(status, "rocksdb write_conditional", i, e);
    }
  }
  if (batch.Count() == 0) return KALAM_OK;
  rocksdb::Status s = db->db->Write(write_options(options), &batch);
  if (!s.ok()) return fail_rocksdb(status, s, "write_conditional");
  return KALAM_OK;
}

// ABI 1.2: reads, the host's visitor and the write under write_mutex held
// exclusively (RocksDB has no write transaction without a TransactionDB).
int read_modify_write_impl(kalam_db* db, const kalam_write_options* options,
                           size_t count, kalam_cf* const* cfs,
                           const void* const* keys, const size_t* key_lens,
                           kalam_rmw_visitor visit, void* ctx,
                           kalam_status* status) {
  if (db == nullptr || options == nullptr || visit == nullptr ||
      (count > 0 && (keys == nullptr || key_lens == nullptr))) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb read_modify_write: db, options, visit (and keys, "
                "key_lens when count > 0) must not be NULL");
  }
  if (db->read_only) {
    return fail(status, KALAM_NOT_SUPPORTED, 0,
                "rocksdb read_modify_write: '%s' was opened read-only",
                db->path.c_str());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles(count);
  for (size_t i = 0; i < count; ++i) {
    if (key_lens[i] == 0 || keys[i] == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb read_modify_write: key %zu is empty or NULL", i);
    }
    int rc = resolve_cf(db, cfs != nullptr ? cfs[i] : nullptr, &handles[i],
                        "read_modify_write", status);
    if (rc != KALAM_OK) return rc;
  }
  std::unique_lock<std::shared_mutex> lock(db->write_mutex);
  std::vector<rocksdb::PinnableSlice> values(count);
  std::vector<kalam_rmw_value> current(count);
  for (size_t i = 0; i < count; ++i) {
    rocksdb::Status s = db->db->Get(rocksdb::ReadOptions(), handles[i],
                                    slice(keys[i], key_lens[i]), &values[i]);
    if (!s.ok() && !s.IsNotFound()) {
      return fail_rocksdb(status, s, "read_modify_write: read");
    }
    current[i].code = s.ok() ? KALAM_OK : KALAM_NOT_FOUND;
    if (s.ok()) {
      current[i].value = values[i].data();
      current[i].value_len = values[i].size();
    }
  }
  const kalam_write_op* ops = nullptr;
  size_t op_count = 0;
  if (visit(ctx, count, current.data(), &ops, &op_count) != 0) {
    return KALAM_OK;  // Cancelled by the host: nothing applied.
  }
  rocksdb::WriteBatch batch;
  int rc = build_batch(db, options, ops, op_count, &batch, status);
  if (rc != KALAM_OK || batch.Count() == 0) return rc;
  rocksdb::Status s = db->db->Write(write_options(options), &batch);
  if (!s.ok()) return fail_rocksdb(status, s, "read_modify_write");
  return KALAM_OK;
}

int snapshot_create_impl(kalam_db* db, kalam_snapshot** out_snapshot,
                         kalam_status* status) {
  if (db == nullptr || out_snapshot == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb snapshot_create: db and out_snapshot must not be "
                "NULL");
  }
  auto snapshot = std::make_unique<kalam_snapshot>();
  snapshot->owner = db;
  snapshot->snapshot = db->db->GetSnapshot();
  if (snapshot->snapshot == nullptr) {
    return fail(status, KALAM_NOT_SUPPORTED, 0,
                "rocksdb snapshot_create: RocksDB refused a snapshot (e.g. "
                "inplace_update_support is on)");
  }
  db->live_snapshots.fetch_add(1);
  *out_snapshot = snapshot.release();
  return KALAM_OK;
}

}  // namespace

int get(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
        const void* key, size_t key_len, kalam_value_visitor visit, void* ctx,
        kalam_status* status) noexcept {
  return guarded(status, "get", [&] {
    return get_impl(db, options, cf, key, key_len, visit, ctx, status);
  });
}

int get_into(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
             const void* key, size_t key_len, void* buf, size_t buf_size,
             size_t* value_len, kalam_status* status) noexcept {
  return guarded(status, "get_into", [&] {
    return get_into_impl(db, options, cf, key, key_len, buf, buf_size,
                         value_len, status);
  });
}

int multi_get(kalam_db* db, const kalam_read_options* options, size_t count,
              kalam_cf* const* cfs, const void* const* keys,
              const size_t* key_lens, kalam_multi_get_visitor visit, void* ctx,
              kalam_status* status) noexcept {
  return guarded(status, "multi_get", [&] {
    return multi_get_impl(db, options, count, cfs, keys, key_lens, visit, ctx,
                          status);
  });
}

int write(kalam_db* db, const kalam_write_options* options,
          const kalam_write_op* ops, size_t op_count,
          kalam_status* status) noexcept {
  return guarded(status, "write", [&] {
    return write_impl(db, options, ops, op_count, status);
  });
}

int write_conditional(kalam_db* db, const kalam_write_options* options,
                      const kalam_expectation* expects, size_t expect_count,
                      const kalam_write_op* ops, size_t op_count,
                      kalam_status* status) noexcept {
  return guarded(status, "write_conditional", [&] {
    return write_conditional_impl(db, options, expects, expect_count, ops,
                                  op_count, status);
  });
}

int read_modify_write(kalam_db* db, const kalam_write_options* options,
                      size_t count, kalam_cf* const* cfs,
                      const void* const* keys, const size_t* key_lens,
                      kalam_rmw_visitor visit, void* ctx,
                      kalam_status* status) noexcept {
  return guarded(status, "read_modify_write", [&] {
    return read_modify_write_impl(db, options, count, cfs, keys, key_lens,
                                  visit, ctx, status);
  });
}

int snapshot_create(kalam_db* db, kalam_snapshot** out_snapshot,
                    kalam_status* status) noexcept {
  return guarded(status, "snapshot_create", [&] {
    return snapshot_create_impl(db, out_snapshot, status);
  });
}

void snapshot_release(kalam_db* db, kalam_snapshot* snapshot) noexcept {
  if (snapshot == nullptr) return;
  kalam_db* owner = snapshot->owner;
  (void)db;  // the snapshot knows its database
  owner->db->ReleaseSnapshot(snapshot->snapshot);
  owner->live_snapshots.fetch_sub(1);
  delete snapshot;
}

}  // namespace kalam_rocksdb
