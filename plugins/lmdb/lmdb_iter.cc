// Iterators: an LMDB cursor in a read transaction (the iterator's own, an
// implicit snapshot, or an explicit snapshot's), with the bounds enforced
// here.
//
// Moves on an iterator with its own transaction take no lock. They are safe
// against a concurrent cf_drop() because LMDB reads a database's name (the
// part a drop frees) only when a transaction first touches that database,
// and iter_create() makes that first touch under cf_mu (which a drop holds
// exclusively); later cursor moves only read the transaction's own copy of
// the tree root and pages that the transaction keeps alive. After a drop,
// moves return KALAM_DROPPED.
//
// An iterator at an explicit snapshot shares the snapshot's MDB_txn with
// point reads and other iterators at it, possibly on other threads. LMDB
// does not promise that one transaction may be used by several threads at
// once, so every move (and the cursor's close) holds the snapshot's mutex,
// the same one point reads at the snapshot take.
#include <mutex>
#include <string>

#include "lmdb_plugin.h"
#include "lmdb_status.h"

struct kalam_iter {
  kalam_iter() : error{} { error.struct_size = sizeof(kalam_status); }
  kalam_iter(const kalam_iter&) = delete;
  kalam_iter& operator=(const kalam_iter&) = delete;
  ~kalam_iter() {
    if (cursor != nullptr) {
      std::unique_lock<std::mutex> lock;
      if (snapshot != nullptr) {
        lock = std::unique_lock<std::mutex>(snapshot->mu);
      }
      mdb_cursor_close(cursor);
    }
    if (own_txn != nullptr) mdb_txn_abort(own_txn);
    // `snapshot` (if any) is released after the cursor is closed.
  }

  kalam_db* db = nullptr;
  kalam_cf* cf = nullptr;
  // At an explicit snapshot: keeps its transaction alive.
  std::shared_ptr<kalam_lmdb::SnapState> snapshot;
  // Without one: the iterator's own transaction (an implicit snapshot).
  MDB_txn* own_txn = nullptr;
  // NULL when the family did not exist at the snapshot: always empty.
  MDB_cursor* cursor = nullptr;
  bool has_lower = false;
  bool has_upper = false;
  std::string lower;  // inclusive
  std::string upper;  // exclusive
  // The current entry (views into the map), when valid.
  bool valid = false;
  MDB_val key{0, nullptr};
  MDB_val value{0, nullptr};
  // The sticky error; code KALAM_OK while there is none.
  kalam_status error;
};

namespace kalam_lmdb {
namespace {

bool above_upper(const kalam_iter* it, const MDB_val& key) {
  return it->has_upper &&
         compare_val(key, it->upper.data(), it->upper.size()) >= 0;
}
bool below_lower(const kalam_iter* it, const MDB_val& key) {
  return it->has_lower &&
         compare_val(key, it->lower.data(), it->lower.size()) < 0;
}

// The lock every move of `it` holds: its snapshot's mutex when it reads at an
// explicit snapshot (the transaction is shared), else none.
std::unique_lock<std::mutex> move_lock(const kalam_iter* it) {
  if (it->snapshot == nullptr) return {};
  return std::unique_lock<std::mutex>(it->snapshot->mu);
}

// Records a sticky error (already in it->error) and reports it.
int report_sticky(const kalam_iter* it, kalam_status* status) {
  copy_status(it->error, status);
  return it->error.code;
}

// What every move checks first: a sticky error, a dropped family, an empty
// iterator. Returns KALAM_OK to go on.
int prologue(kalam_iter* it, kalam_status* status) {
  if (it->error.code != KALAM_OK) return report_sticky(it, status);
  if (it->cf->state.load(std::memory_order_acquire) == kDropped) {
    it->valid = false;
    fail_dropped(&it->error, it->cf, "iterator");
    return report_sticky(it, status);
  }
  if (it->cursor == nullptr) {
    it->valid = false;
    return KALAM_NOT_FOUND;
  }
  return KALAM_OK;
}

// Ends a move: `rc` is the LMDB result of the last cursor operation, with
// it->key/value filled on 0; `out_of_bounds` says whether that entry is
// outside the bounds in the direction of travel.
int land(kalam_iter* it, int rc, bool out_of_bounds, const char* what,
         kalam_status* status) {
  if (rc == 0 && (it->key.mv_size == 0 || it->key.mv_size > kMaxKeySize)) {
    // No key LMDB stored for us has that size: LMDB read a damaged page
    // (it keeps no checksums).
    it->valid = false;
    fail(&it->error, KALAM_CORRUPTION, MDB_CORRUPTED,
         "lmdb %s in column family '%s': an entry has a key of %zu bytes "
         "(stored keys are 1 to %zu): the data file is damaged; restore it "
         "from a checkpoint or backup",
         what, it->cf->name.c_str(), it->key.mv_size, kMaxKeySize);
    return report_sticky(it, status);
  }
  if (rc == 0 && !out_of_bounds) {
    it->valid = true;
    return KALAM_OK;
  }
  it->valid = false;
  if (rc == 0 || rc == MDB_NOTFOUND) return KALAM_NOT_FOUND;
  fail_mdb(&it->error, rc, "lmdb %s in column family '%s'", what,
           it->cf->name.c_str());
  return report_sticky(it, status);
}

int cursor_op(kalam_iter* it, MDB_cursor_op op) {
  return mdb_cursor_get(it->cursor, &it->key, &it->value, op);
}

// To the last entry with key < target.
int seek_before(kalam_iter* it, const std::string& target) {
  int rc = cursor_seek_ge(it->cursor, target.data(), target.size(), &it->key,
                          &it->value);
  if (rc == 0) return cursor_op(it, MDB_PREV);
  if (rc == MDB_NOTFOUND) return cursor_op(it, MDB_LAST);
  return rc;
}

int do_seek_last(kalam_iter* it, kalam_status* status) {
  const int rc =
      it->has_upper ? seek_before(it, it->upper) : cursor_op(it, MDB_LAST);
  return land(it, rc, rc == 0 && below_lower(it, it->key), "iter_seek_last",
              status);
}

int do_next(kalam_iter* it, kalam_status* status) {
  int rc = prologue(it, status);
  if (rc != KALAM_OK) return rc;
  if (!it->valid) return KALAM_NOT_FOUND;
  rc = cursor_op(it, MDB_NEXT);
  return land(it, rc, rc == 0 && above_upper(it, it->key), "iter_next", status);
}

int do_prev(kalam_iter* it, kalam_status* status) {
  int rc = prologue(it, status);
  if (rc != KALAM_OK) return rc;
  if (!it->valid) return KALAM_NOT_FOUND;
  rc = cursor_op(it, MDB_PREV);
  return land(it, rc, rc == 0 && below_lower(it, it->key), "iter_prev", status);
}

int bad_iter(kalam_status* status, const char* what) {
  return fail(status, KALAM_INVALID_ARGUMENT, 0,
              "lmdb %s: iter must not be NULL", what);
}

int create_impl(kalam_db* db, const kalam_iter_options* options, kalam_cf* cf,
                kalam_iter** out_iter, kalam_status* status) {
  if (db == nullptr || out_iter == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb iter_create: db and out_iter must not be NULL");
  }
  auto it = std::make_unique<kalam_iter>();
  it->db = db;
  int rc = resolve_cf(db, cf, &it->cf, "iter_create", status);
  if (rc != KALAM_OK) return rc;
  const kalam_snapshot* snapshot = nullptr;
  if (options != nullptr) {
    const uint32_t flags =
        KALAM_PLUGIN_COVERS(options, flags) ? options->flags : 0;
    const uint32_t known = KALAM_ITER_LOWER_BOUND | KALAM_ITER_UPPER_BOUND |
                           KALAM_ITER_PREFIX | KALAM_ITER_REVERSE;
    if ((flags & ~known) != 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb iter_create: unknown iterator flags 0x%x",
                  flags & ~known);
    }
    if (KALAM_PLUGIN_COVERS(options, snapshot)) {
      snapshot = options->snapshot;
    }
    if ((flags & KALAM_ITER_LOWER_BOUND) != 0) {
      if (!KALAM_PLUGIN_COVERS(options, lower_len) ||
          !bytes_ok(options->lower, options->lower_len)) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "lmdb iter_create: the lower bound is missing or NULL "
                    "with a non-zero length");
      }
      it->has_lower = true;
      it->lower.assign(static_cast<const char*>(options->lower),
                       options->lower_len);
    }
    if ((flags & KALAM_ITER_UPPER_BOUND) != 0) {
      if (!KALAM_PLUGIN_COVERS(options, upper_len) ||
          !bytes_ok(options->upper, options->upper_len)) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "lmdb iter_create: the upper bound is missing or NULL "
                    "with a non-zero length");
      }
      it->has_upper = true;
      it->upper.assign(static_cast<const char*>(options->upper),
                       options->upper_len);
    }
    // KALAM_ITER_PREFIX: the host narrows the bounds to the prefix, which is
    // all LMDB could use it for. KALAM_ITER_REVERSE: nothing to tune.
  }
  if (snapshot != nullptr && snapshot->owner != db) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb iter_create: the snapshot belongs to another database");
  }
  {
    // Shared: no drop runs while the cursor first touches the family.
    std::shared_lock<std::shared_mutex> lock(db->cf_mu);
    if (it->cf->state.load() == kDropped) {
      return fail_dropped(status, it->cf, "iter_create");
    }
    MDB_txn* txn = nullptr;
    std::unique_lock<std::mutex> snapshot_lock;
    if (snapshot != nullptr) {
      it->snapshot = snapshot->state;
      // The snapshot's transaction is shared with point reads at it.
      snapshot_lock = std::unique_lock<std::mutex>(it->snapshot->mu);
      if (it->cf->seq > it->snapshot->cf_seq) {
        // Created after the snapshot: empty there.
        *out_iter = it.release();
        db->live_iterators.fetch_add(1);
        return KALAM_OK;
      }
      txn = it->snapshot->txn;
    } else {
      rc = mdb_txn_begin(db->env, nullptr, MDB_RDONLY, &it->own_txn);
      if (rc != 0) {
        it->own_txn = nullptr;
        return fail_mdb(status, rc,
                        "lmdb iter_create: cannot begin a read "
                        "transaction");
      }
      txn = it->own_txn;
    }
    rc = mdb_cursor_open(txn, it->cf->dbi, &it->cursor);
    if (rc != 0) {
      it->cursor = nullptr;
      return fail_mdb(status, rc,
                      "lmdb iter_create: cannot open a cursor on "
                      "column family '%s'",
                      it->cf->name.c_str());
    }
    // The first touch (see the file comment); the iterator stays
    // unpositioned.
    rc = mdb_cursor_get(it->cursor, &it->key, &it->value, MDB_FIRST);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      return fail_mdb(status, rc,
                      "lmdb iter_create: cannot read column "
                      "family '%s'",
                      it->cf->name.c_str());
    }
  }
  *out_iter = it.release();
  db->live_iterators.fetch_add(1);
  return KALAM_OK;
}

}  // namespace

int iter_create(kalam_db* db, const kalam_iter_options* options, kalam_cf* cf,
                kalam_iter** out_iter, kalam_status* status) noexcept {
  return guarded(status, "iter_create", [&] {
    return create_impl(db, options, cf, out_iter, status);
  });
}

void iter_destroy(kalam_iter* iter) noexcept {
  if (iter == nullptr) return;
  kalam_db* db = iter->db;
  delete iter;
  db->live_iterators.fetch_sub(1);
}

int iter_seek_first(kalam_iter* it, kalam_status* status) noexcept {
  return guarded(status, "iter_seek_first", [&]() -> int {
    if (it == nullptr) return bad_iter(status, "iter_seek_first");
    const auto lock = move_lock(it);
    int rc = prologue(it, status);
    if (rc != KALAM_OK) return rc;
    rc = cursor_seek_ge(it->cursor, it->lower.data(), it->lower.size(),
                        &it->key, &it->value);
    return land(it, rc, rc == 0 && above_upper(it, it->key), "iter_seek_first",
                status);
  });
}

int iter_seek_last(kalam_iter* it, kalam_status* status) noexcept {
  return guarded(status, "iter_seek_last", [&]() -> int {
    if (it == nullptr) return bad_iter(status, "iter_seek_last");
    const auto lock = move_lock(it);
    const int rc = prologue(it, status);
    if (rc != KALAM_OK) return rc;
    return do_seek_last(it, status);
  });
}

int iter_seek(kalam_iter* it, const void* target, size_t target_len,
              kalam_status* status) noexcept {
  return guarded(status, "iter_seek", [&]() -> int {
    if (it == nullptr) return bad_iter(status, "iter_seek");
    const auto lock = move_lock(it);
    if (!bytes_ok(target, target_len)) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb iter_seek: target is NULL with length %zu", target_len);
    }
    int rc = prologue(it, status);
    if (rc != KALAM_OK) return rc;
    if (it->has_lower && compare_bytes(target, target_len, it->lower.data(),
                                       it->lower.size()) < 0) {
      target = it->lower.data();
      target_len = it->lower.size();
    }
    rc = cursor_seek_ge(it->cursor, target, target_len, &it->key, &it->value);
    return land(it, rc, rc == 0 && above_upper(it, it->key), "iter_seek",
                status);
  });
}

int iter_seek_for_prev(kalam_iter* it, const void* target, size_t target_len,
                       kalam_status* status) noexcept {
  return guarded(status, "iter_seek_for_prev", [&]() -> int {
    if (it == nullptr) return bad_iter(status, "iter_seek_for_prev");
    const auto lock = move_lock(it);
    if (!bytes_ok(target, target_len)) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb iter_seek_for_prev: target is NULL with length %zu",
                  target_len);
    }
    int rc = prologue(it, status);
    if (rc != KALAM_OK) return rc;
    if (it->has_upper && compare_bytes(target, target_len, it->upper.data(),
                                       it->upper.size()) >= 0) {
      return do_seek_last(it, status);  // clamp to the upper bound
    }
    if (target_len == 0) {  // no key is <= the empty string
      it->valid = false;
      return KALAM_NOT_FOUND;
    }
    // No stored key is longer than kMaxKeySize, so key <= target <=>
    // key <= the target's first kMaxKeySize bytes.
    if (target_len > kMaxKeySize) target_len = kMaxKeySize;
    rc = cursor_seek_ge(it->cursor, target, target_len, &it->key, &it->value);
    if (rc == 0 && compare_val(it->key, target, target_len) != 0) {
      rc = cursor_op(it, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
      rc = cursor_op(it, MDB_LAST);
    }
    return land(it, rc, rc == 0 && below_lower(it, it->key),
                "iter_seek_for_prev", status);
  });
}

int iter_next(kalam_iter* it, kalam_status* status) noexcept {
  return guarded(status, "iter_next", [&]() -> int {
    if (it == nullptr) return bad_iter(status, "iter_next");
    const auto lock = move_lock(it);
    return do_next(it, status);
  });
}

int iter_prev(kalam_iter* it, kalam_status* status) noexcept {
  return guarded(status, "iter_prev", [&]() -> int {
    if (it == nullptr) return bad_iter(status, "iter_prev");
    const auto lock = move_lock(it);
    return do_prev(it, status);
  });
}

int iter_valid(const kalam_iter* it) noexcept {
  return it != nullptr && it->valid ? 1 : 0;
}

int iter_entry(const kalam_iter* it, const void** key, size_t* key_len,
               const void** value, size_t* value_len) noexcept {
  if (it == nullptr || !it->valid) return KALAM_NOT_FOUND;
  if (key != nullptr) *key = it->key.mv_data;
  if (key_len != nullptr) *key_len = it->key.mv_size;
  if (value != nullptr) *value = it->value.mv_data;
  if (value_len != nullptr) *value_len = it->value.mv_size;
  return KALAM_OK;
}

int iter_status(const kalam_iter* it, kalam_status* status) noexcept {
  if (it == nullptr) return bad_iter(status, "iter_status");
  if (it->error.code == KALAM_OK) return KALAM_OK;
  return report_sticky(it, status);
}

int iter_next_batch(kalam_iter* it, uint32_t flags, size_t max_entries,
                    kalam_entry_visitor visit, void* ctx, size_t* consumed,
                    kalam_status* status) noexcept {
  size_t n = 0;
  const int rc = guarded(status, "iter_next_batch", [&]() -> int {
    if (it == nullptr) return bad_iter(status, "iter_next_batch");
    const auto lock = move_lock(it);
    if ((flags & ~KALAM_BATCH_REVERSE) != 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb iter_next_batch: unknown flags 0x%x",
                  flags & ~KALAM_BATCH_REVERSE);
    }
    if (visit == nullptr && max_entries > 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb iter_next_batch: visit must not be NULL");
    }
    const bool reverse = (flags & KALAM_BATCH_REVERSE) != 0;
    int code = prologue(it, status);
    if (code != KALAM_OK) return code;
    if (!it->valid) return KALAM_NOT_FOUND;
    while (n < max_entries) {
      if (visit(ctx, it->key.mv_data, it->key.mv_size, it->value.mv_data,
                it->value.mv_size) != 0) {
        return KALAM_OK;  // stays on this entry, not consumed
      }
      ++n;
      code = reverse ? do_prev(it, status) : do_next(it, status);
      if (code != KALAM_OK) return code;
    }
    return KALAM_OK;
  });
  if (consumed != nullptr) *consumed = n;
  return rc;
}

// The array batch. LMDB's views point into the memory map and stay valid
// for as long as the read transaction the iterator holds (its own or its
// snapshot's), so the entries are handed out without a copy. The loop does
// the prologue once and then only what a step must: the cursor step, the
// bound in the direction of travel and the key-size check of land().
int iter_read_batch(kalam_iter* it, uint32_t flags, size_t max_entries,
                    kalam_entry* out, size_t* filled,
                    kalam_status* status) noexcept {
  size_t n = 0;
  const int rc = guarded(status, "iter_read_batch", [&]() -> int {
    if (it == nullptr) return bad_iter(status, "iter_read_batch");
    if (filled == nullptr || (out == nullptr && max_entries > 0)) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb iter_read_batch: filled must not be NULL, nor out "
                  "when max_entries is above 0");
    }
    if ((flags & ~KALAM_BATCH_REVERSE) != 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb iter_read_batch: unknown flags 0x%x",
                  flags & ~KALAM_BATCH_REVERSE);
    }
    const auto lock = move_lock(it);
    int code = prologue(it, status);
    if (code != KALAM_OK) return code;
    if (!it->valid) return KALAM_NOT_FOUND;
    const bool reverse = (flags & KALAM_BATCH_REVERSE) != 0;
    const MDB_cursor_op op = reverse ? MDB_PREV : MDB_NEXT;
    while (n < max_entries) {
      kalam_entry& e = out[n];
      e.key = it->key.mv_data;
      e.key_len = it->key.mv_size;
      e.value = it->value.mv_data;
      e.value_len = it->value.mv_size;
      ++n;
      const int mrc = cursor_op(it, op);
      const bool out_of_bounds =
          mrc == 0 &&
          (reverse ? below_lower(it, it->key) : above_upper(it, it->key));
      if (mrc != 0 || out_of_bounds || it->key.mv_size == 0 ||
          it->key.mv_size > kMaxKeySize) {
        return land(it, mrc, out_of_bounds,
                    reverse ? "iter_read_batch(reverse)" : "iter_read_batch",
                    status);
      }
    }
    return KALAM_OK;
  });
  if (filled != nullptr) *filled = n;
  return rc;
}

}  // namespace kalam_lmdb
