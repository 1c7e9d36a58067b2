// Point reads, writes and snapshots, and the per-thread reusable read
// transactions behind plain reads.
#include <errno.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "lmdb_plugin.h"
#include "lmdb_status.h"

namespace kalam_lmdb {
namespace {

// Takes `slot` from any phase but kSlotReclaiming (waiting that out) to
// `to`; returns the phase it had.
int take_slot(ReaderSlot* slot, int to) noexcept {
  for (;;) {
    int phase = slot->phase.load(std::memory_order_acquire);
    if (phase == kSlotReclaiming) {
      std::this_thread::yield();  // a committer is inside mdb_txn_reset()
      continue;
    }
    if (slot->phase.compare_exchange_weak(phase, to,
                                          std::memory_order_acq_rel)) {
      return phase;
    }
  }
}

// Aborts a slot's transaction and marks it dead, once.
void retire(ReaderSlot* slot) noexcept {
  try {
    std::lock_guard<std::mutex> lock(slot->mu);
    if (slot->dead.load()) return;
    // A committer may be resetting the transaction (thread exit is not
    // ordered with writes); once dead, committers leave it alone.
    take_slot(slot, kSlotDead);
    if (slot->txn != nullptr) mdb_txn_abort(slot->txn);
    slot->txn = nullptr;
    slot->dead.store(true);
  } catch (...) {
  }
}

// This thread's reader slots, by database id. The database holds them too:
// whichever goes first (thread exit or close()) retires the slot, so its
// transaction never outlives the environment and a thread that exits gives
// its reader-table entry back.
struct ThreadSlots {
  std::vector<std::pair<uint64_t, std::shared_ptr<ReaderSlot>>> entries;
  ~ThreadSlots() {
    for (auto& entry : entries) retire(entry.second.get());
  }
};

ThreadSlots& thread_slots() {
  thread_local ThreadSlots slots;
  return slots;
}

bool is_dead(const std::shared_ptr<ReaderSlot>& slot) {
  return slot->dead.load();
}

// The calling thread's reader slot for `db`, created on first use.
ReaderSlot* slot_for(kalam_db* db) {
  ThreadSlots& mine = thread_slots();
  for (auto& entry : mine.entries) {
    if (entry.first == db->id) return entry.second.get();
  }
  // Forget slots of databases closed since (their ids are never reused).
  std::erase_if(mine.entries, [](const auto& e) { return is_dead(e.second); });
  auto slot = std::make_shared<ReaderSlot>();
  mine.entries.reserve(mine.entries.size() + 1);
  {
    std::lock_guard<std::mutex> lock(db->registry_mu);
    std::erase_if(db->slots, is_dead);
    db->slots.push_back(slot);
  }
  mine.entries.emplace_back(db->id, slot);
  return slot.get();
}

// A read transaction for point reads: the thread's reusable one (kept live
// between reads until a commit, see lmdb_plugin.h), a snapshot's, or, for a
// re-entrant call from a visitor while the thread's one is in use, a
// temporary one.
class ReadView {
 public:
  explicit ReadView(kalam_db* db) : db_(db) {}
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;
  ~ReadView() {
    switch (kind_) {
      case Kind::kSlot:
        slot_->in_use = false;
        // Hand the live transaction to the next read, then look for a
        // commit made meanwhile: a committer that counted its commit before
        // this store finds the slot idle and resets it, one that did after
        // is seen by the load below (both seq_cst), so a slot never stays
        // idle on a transaction older than the last commit.
        slot_->phase.store(kSlotIdleLive, std::memory_order_seq_cst);
        if (db_->commit_gen.load(std::memory_order_seq_cst) != slot_->gen) {
          int idle = kSlotIdleLive;
          if (slot_->phase.compare_exchange_strong(idle, kSlotBusy,
                                                   std::memory_order_seq_cst)) {
            mdb_txn_reset(txn_);
            slot_->phase.store(kSlotReset, std::memory_order_release);
          }
        }
        break;
      case Kind::kTemporary:
        mdb_txn_abort(txn_);
        break;
      case Kind::kNone:
      case Kind::kSnapshot:
        break;
    }
  }

  // Begins the view at `snapshot` (NULL: the latest data).
  int begin(const kalam_snapshot* snapshot, const char* what,
            kalam_status* status) {
    if (snapshot != nullptr) {
      if (snapshot->owner != db_) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "lmdb %s: the snapshot belongs to another database", what);
      }
      snap_ = snapshot->state.get();
      txn_ = snap_->txn;
      cf_seq_ = snap_->cf_seq;
      kind_ = Kind::kSnapshot;
      return KALAM_OK;
    }
    ReaderSlot* slot = slot_for(db_);
    if (slot->in_use) {
      // Families created after this load are not in the view; loaded before
      // the transaction starts, so every family up to it is.
      cf_seq_ = db_->published_cf_seq.load(std::memory_order_acquire);
      const int rc = mdb_txn_begin(db_->env, nullptr, MDB_RDONLY, &txn_);
      if (rc != 0) {
        return fail_mdb(status, rc,
                        "lmdb %s: cannot begin a read "
                        "transaction",
                        what);
      }
      kind_ = Kind::kTemporary;
      return KALAM_OK;
    }
    // From kSlotBusy on, slot->txn is this thread's alone: committers only
    // reset idle slots, and close() and thread exit are not concurrent with
    // this call. Renew reads no family's name, so no lock is needed here.
    const int was = take_slot(slot, kSlotBusy);
    // Loaded before the transaction (re)starts: it then sees every commit
    // counted up to `gen` (a commit is counted after it is made) and every
    // family up to `cf_seq`.
    const uint64_t gen = db_->commit_gen.load(std::memory_order_seq_cst);
    if (was != kSlotIdleLive || slot->gen != gen) {
      if (was == kSlotIdleLive) mdb_txn_reset(slot->txn);
      slot->gen = gen;
      slot->cf_seq = db_->published_cf_seq.load(std::memory_order_acquire);
      int rc = MDB_SUCCESS;
      if (slot->txn != nullptr) {
        rc = mdb_txn_renew(slot->txn);
        if (rc != 0) {
          mdb_txn_abort(slot->txn);
          slot->txn = nullptr;
        }
      }
      if (slot->txn == nullptr) {
        rc = mdb_txn_begin(db_->env, nullptr, MDB_RDONLY, &slot->txn);
        if (rc != 0) slot->txn = nullptr;
      }
      if (rc != 0) {
        slot->phase.store(kSlotReset, std::memory_order_release);
        return fail_mdb(status, rc, "lmdb %s: cannot begin a read transaction",
                        what);
      }
    }
    slot->in_use = true;
    slot_ = slot;
    txn_ = slot->txn;
    cf_seq_ = slot->cf_seq;
    kind_ = Kind::kSlot;
    return KALAM_OK;
  }

  // Looks `key` up in `cf`. Returns KALAM_OK (*value valid until the view
  // ends), KALAM_NOT_FOUND, KALAM_DROPPED or an error, with `status` filled.
  int lookup(kalam_cf* cf, const void* key, size_t key_len, MDB_val* value,
             const char* what, kalam_status* status) {
    MDB_val k = to_val(key, key_len);
    int rc = MDB_SUCCESS;
    switch (kind_) {
      case Kind::kSlot:
      case Kind::kSnapshot: {
        std::mutex& mu = kind_ == Kind::kSlot ? slot_->mu : snap_->mu;
        for (;;) {
          std::unique_lock<std::mutex> lock(mu);
          const int state = cf->state.load(std::memory_order_acquire);
          if (state == kDropping) {
            lock.unlock();
            wait_while_dropping(db_, cf);
            continue;
          }
          if (state == kDropped) return fail_dropped(status, cf, what);
          if (cf->seq > cf_seq_) return KALAM_NOT_FOUND;  // newer than view
          rc = mdb_get(txn_, cf->dbi, &k, value);
          break;
        }
        break;
      }
      case Kind::kTemporary: {
        // A drop holds cf_mu exclusively from kDropping to the outcome.
        std::shared_lock<std::shared_mutex> lock(db_->cf_mu);
        if (cf->state.load() == kDropped) return fail_dropped(status, cf, what);
        if (cf->seq > cf_seq_) return KALAM_NOT_FOUND;
        rc = mdb_get(txn_, cf->dbi, &k, value);
        break;
      }
      case Kind::kNone:
        return fail(status, KALAM_INTERNAL, 0, "lmdb %s: read view not begun",
                    what);
    }
    if (rc == 0) return KALAM_OK;
    if (rc == MDB_NOTFOUND) return KALAM_NOT_FOUND;
    return fail_mdb(status, rc, "lmdb %s in column family '%s'", what,
                    cf->name.c_str());
  }

 private:
  enum class Kind { kNone, kSlot, kSnapshot, kTemporary };
  kalam_db* db_;
  Kind kind_ = Kind::kNone;
  ReaderSlot* slot_ = nullptr;
  SnapState* snap_ = nullptr;
  MDB_txn* txn_ = nullptr;
  uint64_t cf_seq_ = 0;
};

const kalam_snapshot* snapshot_of(const kalam_read_options* options) {
  if (options == nullptr || !KALAM_PLUGIN_COVERS(options, snapshot)) {
    return nullptr;
  }
  return options->snapshot;
}

// A status the caller does not see (per-key errors of multi_get()).
struct ScratchStatus : kalam_status {
  ScratchStatus() : kalam_status{} { struct_size = sizeof(kalam_status); }
};

const char* op_name(uint32_t type) {
  switch (type) {
    case KALAM_OP_PUT:
      return "PUT";
    case KALAM_OP_DELETE:
      return "DELETE";
    case KALAM_OP_DELETE_RANGE:
      return "DELETE_RANGE";
    default:
      return "?";
  }
}

// Removes every key in [begin, end) with a cursor, inside `txn`.
int delete_range(MDB_txn* txn, MDB_dbi dbi, const void* begin, size_t begin_len,
                 const void* end, size_t end_len, std::string* scratch) {
  if (compare_bytes(end, end_len, begin, begin_len) <= 0) return MDB_SUCCESS;
  CursorGuard cursor;
  int rc = mdb_cursor_open(txn, dbi, cursor.out());
  if (rc != 0) return rc;
  MDB_val key, value;
  rc = cursor_seek_ge(cursor.get(), begin, begin_len, &key, &value);
  while (rc == 0) {
    if (compare_val(key, end, end_len) >= 0) return MDB_SUCCESS;
    scratch->assign(static_cast<const char*>(key.mv_data), key.mv_size);
    rc = mdb_cursor_del(cursor.get(), 0);
    if (rc != 0) return rc;
    // After a delete the cursor is on the next entry. When that is not
    // clearly so (end of the tree, an emptied tree), seek past the deleted
    // key instead.
    rc = mdb_cursor_get(cursor.get(), &key, &value, MDB_GET_CURRENT);
    if (rc != 0 || compare_val(key, scratch->data(), scratch->size()) <= 0) {
      rc = cursor_seek_ge(cursor.get(), scratch->data(), scratch->size(), &key,
                          &value);
    }
  }
  return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

// Checks write op #i and resolves its family into *family; `what` names it
// in messages (out may be NULL: a first pass that formats no text).
int check_write_op(kalam_db* db, const kalam_write_op* op, size_t i,
                   kalam_cf** family, const char* what, kalam_status* out) {
  int rc = resolve_cf(db, op->cf, family, what, out);
  if (rc != KALAM_OK) return rc;
  if (op->reserved0 != 0) {
    return fail(out, KALAM_INVALID_ARGUMENT, 0,
                "lmdb %s: reserved0 must be 0; nothing was applied", what);
  }
  switch (op->type) {
    case KALAM_OP_PUT:
      rc = check_key(op->key, op->key_len, what, out);
      if (rc != KALAM_OK) return rc;
      if (!bytes_ok(op->value, op->value_len)) {
        return fail(out, KALAM_INVALID_ARGUMENT, 0,
                    "lmdb %s: value is NULL with length %zu", what,
                    op->value_len);
      }
      if (op->value_len > kMaxValueSize) {
        return fail(out, KALAM_INVALID_ARGUMENT, 0,
                    "lmdb %s: value of %zu bytes is over LMDB's maximum "
                    "of %llu bytes",
                    what, op->value_len,
                    static_cast<unsigned long long>(kMaxValueSize));
      }
      break;
    case KALAM_OP_DELETE:
      rc = check_key(op->key, op->key_len, what, out);
      if (rc != KALAM_OK) return rc;
      break;
    case KALAM_OP_DELETE_RANGE:
      // Bounds are positions, not stored keys: any length is fine.
      if (!bytes_ok(op->key, op->key_len) ||
          !bytes_ok(op->value, op->value_len)) {
        return fail(out, KALAM_INVALID_ARGUMENT, 0,
                    "lmdb %s: a bound is NULL with a non-zero length", what);
      }
      break;
    default:
      return fail(out, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb write op %zu: unknown op type %u; nothing was "
                  "applied",
                  i, op->type);
  }
  if ((*family)->state.load(std::memory_order_acquire) == kDropped) {
    return fail_dropped(out, *family, what);
  }
  return KALAM_OK;
}

// Checks every op, filling families[0..op_count). Nothing is applied.
int check_write_ops(kalam_db* db, uint32_t stride, const kalam_write_op* ops,
                    size_t op_count, kalam_cf** families,
                    kalam_status* status) {
  for (size_t i = 0; i < op_count; ++i) {
    const kalam_write_op* op = kalam_write_op_at(ops, stride, i);
    if (check_write_op(db, op, i, &families[i], "write op", nullptr) !=
        KALAM_OK) {
      char what[64];
      std::snprintf(what, sizeof what, "write op %zu (%s)", i,
                    op_name(op->type));
      const int rc = check_write_op(db, op, i, &families[i], what, status);
      if (rc != KALAM_OK) return rc;
    }
  }
  return KALAM_OK;
}

// Checks the write options shared by write(), write_conditional() and
// read_modify_write(); `call` names the call in messages.
int check_write_options(kalam_db* db, const kalam_write_options* options,
                        const char* call, kalam_status* status) {
  if (db == nullptr || options == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb %s: db and options must not be NULL", call);
  }
  if (!KALAM_PLUGIN_COVERS(options, op_stride)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb %s: options->struct_size %u does not cover "
                "op_stride",
                call, options->struct_size);
  }
  if ((options->flags & ~KALAM_WRITE_SYNC) != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb %s: unknown write flags 0x%x", call,
                options->flags & ~KALAM_WRITE_SYNC);
  }
  if (options->op_stride < sizeof(kalam_write_op)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb %s: op_stride (%u) must be at least %zu", call,
                options->op_stride, sizeof(kalam_write_op));
  }
  if (db->read_only) {
    return fail(status, KALAM_NOT_SUPPORTED, 0,
                "lmdb %s: the database '%s' is open read-only", call,
                db->path.c_str());
  }
  return KALAM_OK;
}

// Applies checked ops inside `txn`. REQUIRES: write_mu held, no family in
// `families` dropped.
int apply_ops(kalam_db* db, MDB_txn* txn, uint32_t stride,
              const kalam_write_op* ops, size_t op_count,
              kalam_cf* const* families, kalam_status* status) {
  std::string scratch;
  for (size_t i = 0; i < op_count; ++i) {
    const kalam_write_op* op = kalam_write_op_at(ops, stride, i);
    const MDB_dbi dbi = families[i]->dbi;
    MDB_val key = to_val(op->key, op->key_len);
    int rc = 0;
    switch (op->type) {
      case KALAM_OP_PUT: {
        MDB_val value = to_val(op->value, op->value_len);
        rc = mdb_put(txn, dbi, &key, &value, 0);
        break;
      }
      case KALAM_OP_DELETE:
        rc = mdb_del(txn, dbi, &key, nullptr);
        if (rc == MDB_NOTFOUND) rc = MDB_SUCCESS;
        break;
      case KALAM_OP_DELETE_RANGE:
        rc = delete_range(txn, dbi, op->key, op->key_len, op->value,
                          op->value_len, &scratch);
        break;
    }
    if (rc != 0) {
      return fail_mdb(status, rc,
                      "lmdb write: op %zu (%s) of %zu in column "
                      "family '%s' failed (map_size %s); the batch was "
                      "rolled back",
                      i, op_name(op->type), op_count, families[i]->name.c_str(),
                      format_size(db->options.map_size).c_str());
    }
  }
  return KALAM_OK;
}

// Commits `txn`, releases write_lock, and makes the write durable when the
// options ask for it.
int commit_write(kalam_db* db, TxnGuard& txn,
                 std::unique_lock<std::mutex>& write_lock,
                 const kalam_write_options* options, size_t op_count,
                 kalam_status* status) {
  int rc = txn.commit();
  write_lock.unlock();
  if (rc == 0) invalidate_read_txns(db);
  if (rc != 0 && env_panicked(db->env)) {
    // The meta page write failed: the commit may be on disk or not. A host
    // of ABI 1.2 or later gets KALAM_OUTCOME_UNKNOWN, an older one the
    // disk's code (NO_SPACE, IO_ERROR); the message says so either way.
    const int disk_code =
        fail_mdb(status, rc,
                 "lmdb write: commit of %zu ops to '%s' failed while "
                 "writing the meta page, and LMDB stopped the database "
                 "(MDB_PANIC): the write may or may not have been "
                 "applied; close and reopen the database, then read the "
                 "keys back before retrying",
                 op_count, db->path.c_str());
    const int code = kalam_plugin::outcome_unknown_or(disk_code);
    if (status != nullptr && KALAM_PLUGIN_COVERS(status, code)) {
      status->code = code;
    }
    return code;
  }
  if (rc != 0) {
    return fail_mdb(status, rc,
                    "lmdb write: commit of %zu ops to '%s' "
                    "(map_size %s) failed; nothing was applied",
                    op_count, db->path.c_str(),
                    format_size(db->options.map_size).c_str());
  }
  if ((options->flags & KALAM_WRITE_SYNC) != 0 &&
      db->options.sync_mode != SyncMode::kFull) {
    rc = sync_env(db->env, 1);
    if (rc != 0) {
      return fail_mdb(status, rc,
                      "lmdb write: the batch was committed but "
                      "the KALAM_WRITE_SYNC fsync failed, so it may not "
                      "survive power loss");
    }
  }
  return KALAM_OK;
}

// Takes write_mu and begins the write transaction.
int begin_write(kalam_db* db, std::unique_lock<std::mutex>& write_lock,
                TxnGuard& txn, kalam_status* status) {
  write_lock = std::unique_lock<std::mutex>(db->write_mu);
  const int rc = mdb_txn_begin(db->env, nullptr, 0, txn.out());
  if (rc != 0) {
    return fail_mdb(status, rc,
                    "lmdb write: cannot begin a write "
                    "transaction in '%s'",
                    db->path.c_str());
  }
  return KALAM_OK;
}

// REQUIRES: write_mu held. Under it no drop runs or half-finishes, so a
// family that is not kDropped now has an open dbi until the commit.
int check_not_dropped(kalam_cf* const* families, size_t count,
                      kalam_status* status) {
  for (size_t i = 0; i < count; ++i) {
    if (families[i]->state.load(std::memory_order_acquire) == kDropped) {
      return fail_dropped(status, families[i], "write");
    }
  }
  return KALAM_OK;
}

int write_impl(kalam_db* db, const kalam_write_options* options,
               const kalam_write_op* ops, size_t op_count,
               kalam_status* status) {
  int rc = check_write_options(db, options, "write", status);
  if (rc != KALAM_OK) return rc;
  const uint32_t stride = options->op_stride;
  if (op_count > 0 && ops == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb write: ops must not be NULL when op_count is %zu",
                op_count);
  }
  // Validate every op before anything is applied. The ops' families: on the
  // stack for the usual small write, so a single put allocates nothing.
  constexpr size_t kInlineFamilies = 16;
  kalam_cf* inline_families[kInlineFamilies];
  std::vector<kalam_cf*> more_families;
  if (op_count > kInlineFamilies) more_families.resize(op_count);
  kalam_cf** const families =
      op_count > kInlineFamilies ? more_families.data() : inline_families;
  rc = check_write_ops(db, stride, ops, op_count, families, status);
  if (rc != KALAM_OK) return rc;
  if (op_count == 0) return KALAM_OK;

  std::unique_lock<std::mutex> write_lock;
  TxnGuard txn;
  rc = begin_write(db, write_lock, txn, status);
  if (rc != KALAM_OK) return rc;
  rc = check_not_dropped(families, op_count, status);
  if (rc != KALAM_OK) return rc;
  rc = apply_ops(db, txn.get(), stride, ops, op_count, families, status);
  if (rc != KALAM_OK) return rc;
  return commit_write(db, txn, write_lock, options, op_count, status);
}

// ABI 1.2: the expectations are read with mdb_get() inside the same write
// transaction that applies the ops, so nothing falls in between.
int write_conditional_impl(kalam_db* db, const kalam_write_options* options,
                           const kalam_expectation* expects,
                           size_t expect_count, const kalam_write_op* ops,
                           size_t op_count, kalam_status* status) {
  int rc = check_write_options(db, options, "write_conditional", status);
  if (rc != KALAM_OK) return rc;
  rc = kalam_plugin::check_expectations("lmdb", expects, expect_count, status);
  if (rc != KALAM_OK) return rc;
  if (op_count > 0 && ops == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb write_conditional: ops must not be NULL when op_count "
                "is %zu",
                op_count);
  }
  const uint32_t stride = options->op_stride;
  std::vector<kalam_cf*> expect_families(expect_count);
  for (size_t i = 0; i < expect_count; ++i) {
    rc = resolve_cf(db, expects[i].cf, &expect_families[i],
                    "write_conditional expectation", status);
    if (rc != KALAM_OK) return rc;
    rc = check_key(expects[i].key, expects[i].key_len,
                   "write_conditional expectation", status);
    if (rc != KALAM_OK) return rc;
  }
  std::vector<kalam_cf*> families(op_count);
  rc = check_write_ops(db, stride, ops, op_count, families.data(), status);
  if (rc != KALAM_OK) return rc;

  std::unique_lock<std::mutex> write_lock;
  TxnGuard txn;
  rc = begin_write(db, write_lock, txn, status);
  if (rc != KALAM_OK) return rc;
  rc = check_not_dropped(expect_families.data(), expect_count, status);
  if (rc != KALAM_OK) return rc;
  rc = check_not_dropped(families.data(), op_count, status);
  if (rc != KALAM_OK) return rc;
  for (size_t i = 0; i < expect_count; ++i) {
    const kalam_expectation& e = expects[i];
    MDB_val key = to_val(e.key, e.key_len);
    MDB_val value{};
    rc = mdb_get(txn.get(), expect_families[i]->dbi, &key, &value);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      return fail_mdb(status, rc,
                      "lmdb write_conditional: reading the key of "
                      "expectation #%zu failed; nothing was applied",
                      i);
    }
    if (!kalam_plugin::expectation_holds(e, rc == 0, value.mv_data,
                                         value.mv_size)) {
      return kalam_plugin::conflict(status, "lmdb write_conditional", i, e);
    }
  }
  if (op_count == 0) return KALAM_OK;  // A pure check: the txn is aborted.
  rc = apply_ops(db, txn.get(), stride, ops, op_count, families.data(), status);
  if (rc != KALAM_OK) return rc;
  return commit_write(db, txn, write_lock, options, op_count, status);
}

// ABI 1.2: one LMDB write transaction reads the keys, runs the host's
// visitor (views into the transaction's pages) and applies what it returns.
int read_modify_write_impl(kalam_db* db, const kalam_write_options* options,
                           size_t count, kalam_cf* const* cfs,
                           const void* const* keys, const size_t* key_lens,
                           kalam_rmw_visitor visit, void* ctx,
                           kalam_status* status) {
  int rc = check_write_options(db, options, "read_modify_write", status);
  if (rc != KALAM_OK) return rc;
  if (visit == nullptr ||
      (count > 0 && (keys == nullptr || key_lens == nullptr))) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb read_modify_write: visit (and keys, key_lens when "
                "count > 0) must not be NULL");
  }
  std::vector<kalam_cf*> key_families(count);
  for (size_t i = 0; i < count; ++i) {
    rc = resolve_cf(db, cfs != nullptr ? cfs[i] : nullptr, &key_families[i],
                    "read_modify_write key", status);
    if (rc != KALAM_OK) return rc;
    rc = check_key(keys[i], key_lens[i], "read_modify_write key", status);
    if (rc != KALAM_OK) return rc;
  }
  std::unique_lock<std::mutex> write_lock;
  TxnGuard txn;
  rc = begin_write(db, write_lock, txn, status);
  if (rc != KALAM_OK) return rc;
  rc = check_not_dropped(key_families.data(), count, status);
  if (rc != KALAM_OK) return rc;
  std::vector<kalam_rmw_value> current(count);
  for (size_t i = 0; i < count; ++i) {
    MDB_val key = to_val(keys[i], key_lens[i]);
    MDB_val value{};
    rc = mdb_get(txn.get(), key_families[i]->dbi, &key, &value);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      return fail_mdb(status, rc,
                      "lmdb read_modify_write: reading key #%zu failed; "
                      "nothing was applied",
                      i);
    }
    current[i].code = rc == 0 ? KALAM_OK : KALAM_NOT_FOUND;
    current[i].value = rc == 0 ? value.mv_data : nullptr;
    current[i].value_len = rc == 0 ? value.mv_size : 0;
  }
  const kalam_write_op* ops = nullptr;
  size_t op_count = 0;
  if (visit(ctx, count, current.data(), &ops, &op_count) != 0) {
    return KALAM_OK;  // Cancelled: the transaction is aborted.
  }
  if (op_count == 0) return KALAM_OK;
  if (ops == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb read_modify_write: the visitor returned %zu ops and a "
                "NULL array; nothing was applied",
                op_count);
  }
  const uint32_t stride = options->op_stride;
  std::vector<kalam_cf*> families(op_count);
  rc = check_write_ops(db, stride, ops, op_count, families.data(), status);
  if (rc != KALAM_OK) return rc;
  rc = check_not_dropped(families.data(), op_count, status);
  if (rc != KALAM_OK) return rc;
  rc = apply_ops(db, txn.get(), stride, ops, op_count, families.data(), status);
  if (rc != KALAM_OK) return rc;
  return commit_write(db, txn, write_lock, options, op_count, status);
}

}  // namespace

void invalidate_read_txns(kalam_db* db) noexcept {
  db->commit_gen.fetch_add(1, std::memory_order_seq_cst);
  try {
    std::lock_guard<std::mutex> lock(db->registry_mu);
    for (const auto& slot : db->slots) {
      int idle = kSlotIdleLive;
      if (slot->phase.compare_exchange_strong(idle, kSlotReclaiming,
                                              std::memory_order_seq_cst)) {
        mdb_txn_reset(slot->txn);
        slot->phase.store(kSlotReset, std::memory_order_release);
      }
    }
  } catch (...) {
    // The lock failed: the idle slots stay live until their next read,
    // which renews them (commit_gen moved); only their pages stay pinned.
  }
}

void kill_reader_slots(kalam_db* db) noexcept {
  try {
    std::lock_guard<std::mutex> lock(db->registry_mu);
    for (const auto& slot : db->slots) retire(slot.get());
    db->slots.clear();
  } catch (...) {
  }
}

int get(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
        const void* key, size_t key_len, kalam_value_visitor visit, void* ctx,
        kalam_status* status) noexcept {
  return guarded(status, "get", [&]() -> int {
    if (db == nullptr || visit == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb get: db and visit must not be NULL");
    }
    kalam_cf* family = nullptr;
    int rc = resolve_cf(db, cf, &family, "get", status);
    if (rc == KALAM_OK) rc = check_read_key(key, key_len, "get", status);
    if (rc != KALAM_OK) return rc;
    ReadView view(db);
    rc = view.begin(snapshot_of(options), "get", status);
    if (rc != KALAM_OK) return rc;
    MDB_val value;
    rc = view.lookup(family, key, key_len, &value, "get", status);
    if (rc != KALAM_OK) return rc;
    // Zero-copy: the bytes are in the map, valid while the view lives.
    visit(ctx, value.mv_data, value.mv_size);
    return KALAM_OK;
  });
}

int get_into(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
             const void* key, size_t key_len, void* buf, size_t buf_size,
             size_t* value_len, kalam_status* status) noexcept {
  return guarded(status, "get_into", [&]() -> int {
    if (db == nullptr || value_len == nullptr || !bytes_ok(buf, buf_size)) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb get_into: db and value_len must not be NULL, nor buf "
                  "when buf_size is not 0");
    }
    kalam_cf* family = nullptr;
    int rc = resolve_cf(db, cf, &family, "get_into", status);
    if (rc == KALAM_OK) rc = check_read_key(key, key_len, "get_into", status);
    if (rc != KALAM_OK) return rc;
    ReadView view(db);
    rc = view.begin(snapshot_of(options), "get_into", status);
    if (rc != KALAM_OK) return rc;
    MDB_val value;
    rc = view.lookup(family, key, key_len, &value, "get_into", status);
    if (rc != KALAM_OK) return rc;
    if (value.mv_size > buf_size) {
      *value_len = value.mv_size;
      return fail(status, KALAM_BUFFER_TOO_SMALL, 0,
                  "lmdb get_into: the value is %zu bytes, the buffer %zu",
                  value.mv_size, buf_size);
    }
    if (value.mv_size > 0) std::memcpy(buf, value.mv_data, value.mv_size);
    *value_len = value.mv_size;
    return KALAM_OK;
  });
}

int multi_get(kalam_db* db, const kalam_read_options* options, size_t count,
              kalam_cf* const* cfs, const void* const* keys,
              const size_t* key_lens, kalam_multi_get_visitor visit, void* ctx,
              kalam_status* status) noexcept {
  return guarded(status, "multi_get", [&]() -> int {
    if (db == nullptr || visit == nullptr ||
        (count > 0 && (keys == nullptr || key_lens == nullptr))) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb multi_get: db, visit, keys and key_lens must not be "
                  "NULL");
    }
    if (count == 0) return KALAM_OK;
    // One read transaction for every key: one consistent view.
    ReadView view(db);
    int rc = view.begin(snapshot_of(options), "multi_get", status);
    if (rc != KALAM_OK) return rc;
    for (size_t i = 0; i < count; ++i) {
      ScratchStatus scratch;
      kalam_cf* family = nullptr;
      rc = resolve_cf(db, cfs != nullptr ? cfs[i] : nullptr, &family,
                      "multi_get", &scratch);
      if (rc == KALAM_OK) {
        rc = check_read_key(keys[i], key_lens[i], "multi_get", &scratch);
      }
      MDB_val value{0, nullptr};
      if (rc == KALAM_OK) {
        rc = view.lookup(family, keys[i], key_lens[i], &value, "multi_get",
                         &scratch);
      }
      if (rc == KALAM_OK) {
        visit(ctx, i, KALAM_OK, value.mv_data, value.mv_size);
      } else {
        visit(ctx, i, rc, nullptr, 0);
      }
    }
    return KALAM_OK;
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
  return guarded(status, "snapshot_create", [&]() -> int {
    if (db == nullptr || out_snapshot == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb snapshot_create: db and out_snapshot must not be "
                  "NULL");
    }
    auto snapshot = std::make_unique<kalam_snapshot>();
    snapshot->owner = db;
    snapshot->state = std::make_shared<SnapState>();
    {
      // Shared: no family is created or dropped while the transaction
      // begins, so cf_seq matches the dbis it knows.
      std::shared_lock<std::shared_mutex> lock(db->cf_mu);
      snapshot->state->cf_seq = db->last_cf_seq;
      const int rc =
          mdb_txn_begin(db->env, nullptr, MDB_RDONLY, &snapshot->state->txn);
      if (rc != 0) {
        snapshot->state->txn = nullptr;
        return fail_mdb(status, rc,
                        "lmdb snapshot_create: cannot begin a "
                        "read transaction");
      }
      std::lock_guard<std::mutex> registry(db->registry_mu);
      db->snapshots.insert(snapshot.get());
    }
    *out_snapshot = snapshot.release();
    return KALAM_OK;
  });
}

void snapshot_release(kalam_db* db, kalam_snapshot* snapshot) noexcept {
  if (snapshot == nullptr) return;
  try {
    kalam_db* owner = snapshot->owner;
    (void)db;
    {
      std::lock_guard<std::mutex> lock(owner->registry_mu);
      owner->snapshots.erase(snapshot);
    }
    // The transaction ends with the last user (iterators at it keep it).
    delete snapshot;
  } catch (...) {
  }
}

}  // namespace kalam_lmdb
