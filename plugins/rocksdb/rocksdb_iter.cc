// Iterators: every bound pushed down into one rocksdb::Iterator.
#include <memory>
#include <optional>
#include <string>

#include "rocksdb_plugin.h"
#include "rocksdb_status.h"

// An iterator. Owns copies of its bound bytes and the Slices that
// ReadOptions points to, so both outlive the borrowed kalam_iter_options.
struct kalam_iter {
  kalam_db* owner = nullptr;
  std::optional<std::string> lower;  // inclusive
  std::optional<std::string> upper;  // exclusive
  rocksdb::Slice lower_slice;
  rocksdb::Slice upper_slice;
  // lower >= upper: nothing can be inside the bounds.
  bool empty_range = false;
  std::unique_ptr<rocksdb::Iterator> it;
  // Positioned on an entry inside the bounds.
  bool valid = false;
  // The sticky error: once a move failed, every later move fails the same
  // way.
  int error = KALAM_OK;
  int64_t error_native = 0;
  std::string error_message;
  // iter_read_batch(): the copies of the entries of the last batch (a
  // RocksDB key()/value() Slice dies at the next move).
  kalam_plugin::EntryArena arena;
};

namespace kalam_rocksdb {
namespace {

constexpr uint32_t kKnownIterFlags = KALAM_ITER_LOWER_BOUND |
                                     KALAM_ITER_UPPER_BOUND |
                                     KALAM_ITER_PREFIX | KALAM_ITER_REVERSE;

using kalam_plugin::prefix_successor;

int sticky(const kalam_iter* iter, kalam_status* status) {
  return fail(status, iter->error, iter->error_native, "%s",
              iter->error_message.c_str());
}

// Sets `valid` after a RocksDB move and returns the move's code.
int settle(kalam_iter* iter, const char* what, kalam_status* status) {
  iter->valid = iter->it->Valid();
  if (iter->valid) return KALAM_OK;
  rocksdb::Status s = iter->it->status();
  if (s.ok()) return KALAM_NOT_FOUND;
  int code = code_of(s);
  if (code == KALAM_NOT_FOUND) code = KALAM_INTERNAL;  // not a result here
  iter->error = code;
  iter->error_native = native_code_of(s);
  iter->error_message = std::string("rocksdb ") + what + ": " + s.ToString();
  return sticky(iter, status);
}

int unpositioned(kalam_iter* iter) {
  iter->valid = false;
  return KALAM_NOT_FOUND;
}

// Checks the iterator and its sticky error before a move.
int precheck(kalam_iter* iter, const char* what, kalam_status* status) {
  if (iter == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb %s: iter must not be NULL", what);
  }
  if (iter->error != KALAM_OK) return sticky(iter, status);
  return KALAM_OK;
}

bool below_lower(const kalam_iter* iter, const rocksdb::Slice& key) {
  return iter->lower && key.compare(iter->lower_slice) < 0;
}
bool at_or_above_upper(const kalam_iter* iter, const rocksdb::Slice& key) {
  return iter->upper && key.compare(iter->upper_slice) >= 0;
}

int iter_create_impl(kalam_db* db, const kalam_iter_options* options,
                     kalam_cf* cf, kalam_iter** out_iter,
                     kalam_status* status) {
  if (db == nullptr || out_iter == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb iter_create: db and out_iter must not be NULL");
  }
  rocksdb::ColumnFamilyHandle* handle;
  int rc = resolve_cf(db, cf, &handle, "iter_create", status);
  if (rc != KALAM_OK) return rc;

  auto iter = std::make_unique<kalam_iter>();
  iter->owner = db;
  rocksdb::ReadOptions ro;
  // Bounds alone decide what is visible, whatever prefix_extractor says.
  ro.total_order_seek = true;
  if (options != nullptr) {
    uint32_t flags = KALAM_PLUGIN_COVERS(options, flags) ? options->flags : 0;
    if ((flags & ~kKnownIterFlags) != 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb iter_create: unknown iterator flags 0x%x",
                  flags & ~kKnownIterFlags);
    }
    if (KALAM_PLUGIN_COVERS(options, snapshot) &&
        options->snapshot != nullptr) {
      rc = check_snapshot(db, options->snapshot, "iter_create", status);
      if (rc != KALAM_OK) return rc;
      ro.snapshot = options->snapshot->snapshot;
    }
    auto field = [&](uint32_t flag, bool covered, const void* data, size_t len,
                     const char* name, std::optional<std::string>* out) {
      if ((flags & flag) == 0) return KALAM_OK;
      if (!covered) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "rocksdb iter_create: the %s flag is set but "
                    "kalam_iter_options.struct_size %u does not cover it",
                    name, options->struct_size);
      }
      if (!bytes_ok(data, len)) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "rocksdb iter_create: the %s is NULL with length %zu", name,
                    len);
      }
      out->emplace(static_cast<const char*>(data), len);
      return KALAM_OK;
    };
    rc = field(KALAM_ITER_LOWER_BOUND, KALAM_PLUGIN_COVERS(options, lower_len),
               options->lower, options->lower_len, "lower bound", &iter->lower);
    if (rc != KALAM_OK) return rc;
    rc = field(KALAM_ITER_UPPER_BOUND, KALAM_PLUGIN_COVERS(options, upper_len),
               options->upper, options->upper_len, "upper bound", &iter->upper);
    if (rc != KALAM_OK) return rc;
    std::optional<std::string> prefix;
    rc = field(KALAM_ITER_PREFIX, KALAM_PLUGIN_COVERS(options, prefix_len),
               options->prefix, options->prefix_len, "prefix", &prefix);
    if (rc != KALAM_OK) return rc;
    if (prefix) {
      // The host narrows the bounds to the prefix already; doing it here too
      // costs nothing and keeps the iterator correct on its own.
      if (!iter->lower || iter->lower->compare(*prefix) < 0) {
        iter->lower = *prefix;
      }
      auto end = prefix_successor(*prefix);
      if (end && (!iter->upper || iter->upper->compare(*end) > 0)) {
        iter->upper = std::move(end);
      }
    }
  }
  if (iter->lower) {
    iter->lower_slice = rocksdb::Slice(*iter->lower);
    ro.iterate_lower_bound = &iter->lower_slice;
  }
  if (iter->upper) {
    iter->upper_slice = rocksdb::Slice(*iter->upper);
    ro.iterate_upper_bound = &iter->upper_slice;
  }
  iter->empty_range = iter->lower && iter->upper &&
                      iter->lower_slice.compare(iter->upper_slice) >= 0;
  iter->it.reset(db->db->NewIterator(ro, handle));
  db->live_iterators.fetch_add(1);
  *out_iter = iter.release();
  return KALAM_OK;
}

int seek_first_impl(kalam_iter* iter, kalam_status* status) {
  int rc = precheck(iter, "iter_seek_first", status);
  if (rc != KALAM_OK) return rc;
  if (iter->empty_range) return unpositioned(iter);
  iter->it->SeekToFirst();  // starts at the lower bound
  return settle(iter, "iter_seek_first", status);
}

int seek_last_impl(kalam_iter* iter, kalam_status* status) {
  int rc = precheck(iter, "iter_seek_last", status);
  if (rc != KALAM_OK) return rc;
  if (iter->empty_range) return unpositioned(iter);
  iter->it->SeekToLast();  // ends below the upper bound
  return settle(iter, "iter_seek_last", status);
}

int seek_impl(kalam_iter* iter, const void* target, size_t target_len,
              kalam_status* status) {
  int rc = precheck(iter, "iter_seek", status);
  if (rc != KALAM_OK) return rc;
  if (!bytes_ok(target, target_len)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb iter_seek: target is NULL with length %zu",
                target_len);
  }
  if (iter->empty_range) return unpositioned(iter);
  rocksdb::Slice key = slice(target, target_len);
  if (at_or_above_upper(iter, key)) return unpositioned(iter);
  iter->it->Seek(below_lower(iter, key) ? iter->lower_slice : key);
  return settle(iter, "iter_seek", status);
}

int seek_for_prev_impl(kalam_iter* iter, const void* target, size_t target_len,
                       kalam_status* status) {
  int rc = precheck(iter, "iter_seek_for_prev", status);
  if (rc != KALAM_OK) return rc;
  if (!bytes_ok(target, target_len)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb iter_seek_for_prev: target is NULL with length %zu",
                target_len);
  }
  if (iter->empty_range) return unpositioned(iter);
  rocksdb::Slice key = slice(target, target_len);
  if (below_lower(iter, key)) return unpositioned(iter);
  if (at_or_above_upper(iter, key)) {
    iter->it->SeekToLast();  // the last key below the upper bound
  } else {
    iter->it->SeekForPrev(key);
  }
  return settle(iter, "iter_seek_for_prev", status);
}

int step(kalam_iter* iter, bool forward, kalam_status* status) {
  const char* what = forward ? "iter_next" : "iter_prev";
  int rc = precheck(iter, what, status);
  if (rc != KALAM_OK) return rc;
  if (!iter->valid) return KALAM_NOT_FOUND;
  if (forward) {
    iter->it->Next();
  } else {
    iter->it->Prev();
  }
  return settle(iter, what, status);
}

int next_batch_impl(kalam_iter* iter, uint32_t flags, size_t max_entries,
                    kalam_entry_visitor visit, void* ctx, size_t* consumed,
                    kalam_status* status) {
  size_t n = 0;
  struct Report {
    size_t* out;
    size_t* n;
    ~Report() {
      if (out != nullptr) *out = *n;
    }
  } report{consumed, &n};
  int rc = precheck(iter, "iter_next_batch", status);
  if (rc != KALAM_OK) return rc;
  if (visit == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb iter_next_batch: visit must not be NULL");
  }
  if ((flags & ~KALAM_BATCH_REVERSE) != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb iter_next_batch: unknown flags 0x%x",
                flags & ~KALAM_BATCH_REVERSE);
  }
  const bool forward = (flags & KALAM_BATCH_REVERSE) == 0;
  const char* what = forward ? "iter_next_batch" : "iter_next_batch(reverse)";
  rocksdb::Iterator* it = iter->it.get();
  while (n < max_entries) {
    if (!iter->valid) return KALAM_NOT_FOUND;
    rocksdb::Slice key = it->key();
    rocksdb::Slice value = it->value();
    if (visit(ctx, key.data(), key.size(), value.data(), value.size()) != 0) {
      return KALAM_OK;  // stays on this entry, not consumed
    }
    ++n;
    if (forward) {
      it->Next();
    } else {
      it->Prev();
    }
    rc = settle(iter, what, status);
    if (rc != KALAM_OK && rc != KALAM_NOT_FOUND) return rc;
  }
  return iter->valid ? KALAM_OK : KALAM_NOT_FOUND;
}

// iter_read_batch(): the arena grows past this only to hold one entry.
constexpr size_t kArenaSoftLimit = size_t{4} << 20;

int read_batch_impl(kalam_iter* iter, uint32_t flags, size_t max_entries,
                    kalam_entry* out, size_t* filled, kalam_status* status) {
  int rc = precheck(iter, "iter_read_batch", status);
  if (rc != KALAM_OK) return rc;
  if (filled == nullptr || (out == nullptr && max_entries > 0)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb iter_read_batch: filled must not be NULL, nor out "
                "when max_entries is above 0");
  }
  if ((flags & ~KALAM_BATCH_REVERSE) != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb iter_read_batch: unknown flags 0x%x",
                flags & ~KALAM_BATCH_REVERSE);
  }
  if (!iter->valid) return KALAM_NOT_FOUND;
  const bool forward = (flags & KALAM_BATCH_REVERSE) == 0;
  const char* what = forward ? "iter_read_batch" : "iter_read_batch(reverse)";
  rocksdb::Iterator* it = iter->it.get();
  kalam_plugin::EntryArena::Batch batch =
      iter->arena.start(max_entries, it->key().size() + it->value().size());
  size_t n = 0;
  rc = KALAM_OK;
  // *filled follows every entry, so an exception (bad_alloc) after some
  // entries still reports them.
  while (n < max_entries) {
    const rocksdb::Slice key = it->key();
    const rocksdb::Slice value = it->value();
    batch.add(out, n, key.data(), key.size(), value.data(), value.size());
    *filled = ++n;
    if (forward) {
      it->Next();
    } else {
      it->Prev();
    }
    if (!it->Valid()) {
      rc = settle(iter, what, status);  // the end, or an error
      break;
    }
    if (batch.used() >= kArenaSoftLimit) break;
  }
  return rc;
}

}  // namespace

int iter_create(kalam_db* db, const kalam_iter_options* options, kalam_cf* cf,
                kalam_iter** out_iter, kalam_status* status) noexcept {
  return guarded(status, "iter_create", [&] {
    return iter_create_impl(db, options, cf, out_iter, status);
  });
}

void iter_destroy(kalam_iter* iter) noexcept {
  if (iter == nullptr) return;
  kalam_db* owner = iter->owner;
  delete iter;
  owner->live_iterators.fetch_sub(1);
}

int iter_seek_first(kalam_iter* iter, kalam_status* status) noexcept {
  return guarded(status, "iter_seek_first",
                 [&] { return seek_first_impl(iter, status); });
}

int iter_seek_last(kalam_iter* iter, kalam_status* status) noexcept {
  return guarded(status, "iter_seek_last",
                 [&] { return seek_last_impl(iter, status); });
}

int iter_seek(kalam_iter* iter, const void* target, size_t target_len,
              kalam_status* status) noexcept {
  return guarded(status, "iter_seek",
                 [&] { return seek_impl(iter, target, target_len, status); });
}

int iter_seek_for_prev(kalam_iter* iter, const void* target, size_t target_len,
                       kalam_status* status) noexcept {
  return guarded(status, "iter_seek_for_prev", [&] {
    return seek_for_prev_impl(iter, target, target_len, status);
  });
}

int iter_next(kalam_iter* iter, kalam_status* status) noexcept {
  return guarded(status, "iter_next", [&] { return step(iter, true, status); });
}

int iter_prev(kalam_iter* iter, kalam_status* status) noexcept {
  return guarded(status, "iter_prev",
                 [&] { return step(iter, false, status); });
}

int iter_valid(const kalam_iter* iter) noexcept {
  return iter != nullptr && iter->valid ? 1 : 0;
}

int iter_entry(const kalam_iter* iter, const void** key, size_t* key_len,
               const void** value, size_t* value_len) noexcept {
  if (iter == nullptr || !iter->valid) return KALAM_NOT_FOUND;
  rocksdb::Slice k = iter->it->key();
  if (key != nullptr) *key = k.data();
  if (key_len != nullptr) *key_len = k.size();
  if (value != nullptr || value_len != nullptr) {
    rocksdb::Slice v = iter->it->value();
    if (value != nullptr) *value = v.data();
    if (value_len != nullptr) *value_len = v.size();
  }
  return KALAM_OK;
}

int iter_status(const kalam_iter* iter, kalam_status* status) noexcept {
  if (iter == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb iter_status: iter must not be NULL");
  }
  if (iter->error == KALAM_OK) return KALAM_OK;
  return sticky(iter, status);
}

int iter_next_batch(kalam_iter* iter, uint32_t flags, size_t max_entries,
                    kalam_entry_visitor visit, void* ctx, size_t* consumed,
                    kalam_status* status) noexcept {
  size_t count = 0;
  int rc = guarded(status, "iter_next_batch", [&] {
    return next_batch_impl(iter, flags, max_entries, visit, ctx, &count,
                           status);
  });
  if (consumed != nullptr) *consumed = count;
  return rc;
}

int iter_read_batch(kalam_iter* iter, uint32_t flags, size_t max_entries,
                    kalam_entry* out, size_t* filled,
                    kalam_status* status) noexcept {
  if (filled != nullptr) *filled = 0;
  return guarded(status, "iter_read_batch", [&] {
    return read_batch_impl(iter, flags, max_entries, out, filled, status);
  });
}

}  // namespace kalam_rocksdb
