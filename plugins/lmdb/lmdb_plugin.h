// The LMDB plugin's handles and entry points. Internal to the plugin: the
// host sees only the opaque kalam_* handles and the function table.
//
// Concurrency design (KALAM_CAP_THREAD_SAFE; see README.md for the summary):
// - Every LMDB read transaction is created with MDB_NOTLS, so one thread may
//   hold several (its reusable one, snapshots, iterators).
// - Plain point reads use a per-thread, per-database read transaction. It
//   stays live between reads while nothing has been committed since it
//   began (kalam_db::commit_gen), so a run of reads costs no renew/reset;
//   every commit (write, family creation and drop) resets the idle ones
//   (invalidate_read_txns()), so they pin no old pages and the next read
//   renews, seeing the commit. The owner and a committer hand the
//   transaction over through ReaderSlot::phase; with MDB_NOTLS a read
//   transaction may be reset by another thread when its use is synchronised.
// - Writes are LMDB write transactions, serialised (with family creation and
//   drop) by write_mu.
// - Column family handles are named databases (MDB_dbi). mdb_drop(del=1)
//   closes a dbi inside LMDB while other threads might be inside an LMDB call
//   on it, so cf_drop() first marks the family kDropping, then waits for
//   every in-flight LMDB call that could touch it (the "drop barrier": each
//   reader slot's and snapshot's mutex, and cf_mu for everything else), and
//   only then drops it. Readers that see kDropping wait for the outcome.
#pragma once

#include <kalam/backend_api.h>
#include <lmdb.h>

#include "lmdb_status.h"
#include "plugin_support.h"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "lmdb_options.h"

namespace kalam_lmdb {

// LMDB's key limit as Debian builds it (MDB_MAXKEYSIZE); declared in
// kalam_plugin_info. open() refuses a library that reports less.
constexpr size_t kMaxKeySize = 511;
// LMDB's value limit (MAXDATASIZE); a value also has to fit the map.
constexpr uint64_t kMaxValueSize = 0xFFFFFFFFu;
// The LMDB named database behind the "default" column family. The main
// (unnamed) database cannot hold data here: it holds the names.
constexpr const char* kDefaultCfName = "default";

enum CfState : int { kLive = 0, kDropping = 1, kDropped = 2 };

// Who may touch ReaderSlot::txn, and in which state it is.
enum SlotPhase : int {
  kSlotReset = 0,       // txn is NULL or reset; owner only
  kSlotIdleLive = 1,    // txn live, not in a read: the owner may reuse it,
                        // a committer may reset it (whoever swaps first)
  kSlotBusy = 2,        // the owner is reading through txn
  kSlotReclaiming = 3,  // a committer is resetting txn
  kSlotDead = 4,        // retired: txn aborted
};

// A reusable read transaction of one thread for one database.
struct ReaderSlot {
  // Held around every LMDB call through `txn` (not around visitors), so that
  // cf_drop() can wait for them (the drop barrier).
  std::mutex mu;
  // Live between reads only in phase kSlotIdleLive; NULL before first use.
  MDB_txn* txn = nullptr;
  std::atomic<int> phase{kSlotReset};
  // kalam_db::commit_gen and published_cf_seq as loaded just before `txn`
  // was last renewed (owner thread only): `txn` sees every commit counted
  // up to `gen` and every family up to `cf_seq`.
  uint64_t gen = 0;
  uint64_t cf_seq = 0;
  // The owning thread is inside a read that uses `txn` (re-entrant calls from
  // a visitor then use a temporary transaction). Owner thread only.
  bool in_use = false;
  // Set under `mu` when the thread exits or the database closes; `txn` is
  // then aborted and the slot is never used again.
  std::atomic<bool> dead{false};
};

// The read transaction of a snapshot; shared by the snapshot handle and the
// iterators created at it, aborted when the last of them goes.
struct SnapState {
  SnapState() = default;
  SnapState(const SnapState&) = delete;
  SnapState& operator=(const SnapState&) = delete;
  ~SnapState();
  // Serialises point reads through `txn` (an LMDB transaction is not safe for
  // concurrent use) and is part of the drop barrier.
  std::mutex mu;
  MDB_txn* txn = nullptr;
  // Families with a higher creation sequence did not exist at the snapshot.
  uint64_t cf_seq = 0;
};

}  // namespace kalam_lmdb

// A column family: one LMDB named database. Owned by its kalam_db; valid
// until close(), even after cf_drop() (state kDropped; every call through it
// then returns KALAM_DROPPED).
struct kalam_cf {
  kalam_db* owner = nullptr;
  std::string name;
  // Written only while state is kDropping (a failed drop reopens it); read
  // after an acquire load of `state` saw kLive.
  MDB_dbi dbi = 0;
  // Creation order within this open; see SnapState::cf_seq.
  uint64_t seq = 0;
  std::atomic<int> state{kalam_lmdb::kLive};
};

// An open database: one LMDB environment.
struct kalam_db {
  // Unique in the process, never reused: keys the per-thread reader slots.
  uint64_t id = 0;
  // Canonical path of the data directory (also the key of the process-wide
  // registry that refuses a second open).
  std::string path;
  kalam_lmdb::Options options;
  bool read_only = false;
  MDB_env* env = nullptr;
  // flock()ed file that keeps other processes out (README.md, "Limits").
  int lock_fd = -1;

  // Exclusive: cf_open() creating, cf_drop(). Shared: cf lookups, iterator
  // and snapshot creation, properties, temporary read transactions.
  std::shared_mutex cf_mu;
  // Live families by name, "default" included. Guarded by cf_mu.
  std::map<std::string, kalam_cf*, std::less<>> live_cfs;
  // Every handle handed out since open, dropped ones included. cf_mu.
  std::vector<std::unique_ptr<kalam_cf>> families;
  kalam_cf* default_cf = nullptr;
  // Last creation sequence given out (cf_mu exclusive) and the last one whose
  // dbi is visible to new transactions.
  uint64_t last_cf_seq = 0;
  std::atomic<uint64_t> published_cf_seq{0};
  // Bumped after every commit (and failed drop) by invalidate_read_txns():
  // a reader slot whose `gen` differs must renew before reading.
  std::atomic<uint64_t> commit_gen{0};

  // Held by write() and by family creation and drop around their LMDB write
  // transaction and the state change that follows, so a writer that finds a
  // family not kDropped under it knows the family's dbi is open. (LMDB
  // serialises write transactions anyway; this adds no contention.)
  std::mutex write_mu;

  // Guards slots and snapshots.
  std::mutex registry_mu;
  std::vector<std::shared_ptr<kalam_lmdb::ReaderSlot>> slots;
  std::unordered_set<kalam_snapshot*> snapshots;
  // Counted so that close() can refuse with KALAM_BUSY.
  std::atomic<int64_t> live_iterators{0};

  // Readers that find a family kDropping wait here for the outcome.
  std::mutex drop_mu;
  std::condition_variable drop_cv;
};

// A snapshot handle.
struct kalam_snapshot {
  kalam_db* owner = nullptr;
  std::shared_ptr<kalam_lmdb::SnapState> state;
};

namespace kalam_lmdb {

// Byte-wise order of the ABI, which is also LMDB's default key order.
using kalam_plugin::compare_bytes;
inline int compare_val(const MDB_val& a, const void* b, size_t b_len) noexcept {
  return compare_bytes(a.mv_data, a.mv_size, b, b_len);
}

// A pointer + length byte string is not (NULL, non-zero).
inline bool bytes_ok(const void* data, size_t len) {
  return !kalam_plugin::null_with_length(data, len);
}
inline MDB_val to_val(const void* data, size_t len) {
  MDB_val v;
  v.mv_size = len;
  v.mv_data = const_cast<void*>(data);
  return v;
}

// Resolves `cf` (NULL: the default family) of `db`. Returns KALAM_OK or
// KALAM_INVALID_ARGUMENT (a handle of another database). Does not look at
// the family's state.
int resolve_cf(kalam_db* db, kalam_cf* cf, kalam_cf** out, const char* what,
               kalam_status* status) noexcept;

// Checks the key of a write op: non-NULL when non-empty, 1 to kMaxKeySize
// bytes (LMDB stores no empty key). Returns KALAM_OK or
// KALAM_INVALID_ARGUMENT naming `what`.
int check_key(const void* key, size_t key_len, const char* what,
              kalam_status* status) noexcept;
// Checks the key of a point read: like check_key(), except that the empty
// key is KALAM_NOT_FOUND (backend_api.h convention 2: it is never stored).
int check_read_key(const void* key, size_t key_len, const char* what,
                   kalam_status* status) noexcept;

// The message for KALAM_DROPPED.
int fail_dropped(kalam_status* status, const kalam_cf* cf,
                 const char* what) noexcept;

// Blocks while `cf` is kDropping and returns its state then (kLive or
// kDropped). REQUIRES: the caller holds none of the plugin's locks.
int wait_while_dropping(kalam_db* db, kalam_cf* cf);

// Positions `cursor` on the first key >= target (any length: empty means
// the first key; one longer than any storable key is handled). Returns 0,
// MDB_NOTFOUND or an LMDB error; on 0, *key and *value are the entry.
int cursor_seek_ge(MDB_cursor* cursor, const void* target, size_t target_len,
                   MDB_val* key, MDB_val* value) noexcept;

// Owns a transaction: aborts it unless released (commit).
class TxnGuard {
 public:
  TxnGuard() = default;
  explicit TxnGuard(MDB_txn* txn) : txn_(txn) {}
  TxnGuard(const TxnGuard&) = delete;
  TxnGuard& operator=(const TxnGuard&) = delete;
  ~TxnGuard() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  MDB_txn** out() { return &txn_; }
  MDB_txn* get() const { return txn_; }
  // Commits and gives up ownership (LMDB frees the txn either way). A
  // failed write comes back through kalam_lmdb::write_errno().
  int commit() {
    MDB_txn* t = txn_;
    txn_ = nullptr;
    MDB_env* env = mdb_txn_env(t);
    return kalam_lmdb::write_errno(env, mdb_txn_commit(t));
  }
  MDB_txn* release() {
    MDB_txn* t = txn_;
    txn_ = nullptr;
    return t;
  }
  void abort() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
    txn_ = nullptr;
  }

 private:
  MDB_txn* txn_ = nullptr;
};

// Owns a cursor.
class CursorGuard {
 public:
  CursorGuard() = default;
  CursorGuard(const CursorGuard&) = delete;
  CursorGuard& operator=(const CursorGuard&) = delete;
  ~CursorGuard() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }
  MDB_cursor** out() { return &cursor_; }
  MDB_cursor* get() const { return cursor_; }
  MDB_cursor* release() {
    MDB_cursor* c = cursor_;
    cursor_ = nullptr;
    return c;
  }

 private:
  MDB_cursor* cursor_ = nullptr;
};

// Kills every reader slot of `db` (aborting its transaction). close() only.
void kill_reader_slots(kalam_db* db) noexcept;
// After a commit (or anything that changed the environment's dbis): makes
// every reader slot renew before its next read and resets the idle ones, so
// no slot hides the commit or pins the pages it freed. Call it after the
// change is visible (committed, family state and published_cf_seq set).
void invalidate_read_txns(kalam_db* db) noexcept;

// ---- Entry points (see backend_api.h for each contract) ----

// lmdb_db.cc
int open(const kalam_open_params* params, kalam_db** out_db,
         kalam_status* status) noexcept;
int close(kalam_db* db, kalam_status* status) noexcept;
int flush(kalam_db* db, uint32_t flags, kalam_status* status) noexcept;
int cf_open(kalam_db* db, const char* name, uint32_t flags, kalam_cf** out_cf,
            kalam_status* status) noexcept;
int cf_drop(kalam_db* db, kalam_cf* cf, kalam_status* status) noexcept;
int cf_list(kalam_db* db, kalam_name_visitor visit, void* ctx,
            kalam_status* status) noexcept;
int get_property(kalam_db* db, kalam_cf* cf, const char* name,
                 kalam_value_visitor visit, void* ctx,
                 kalam_status* status) noexcept;
int checkpoint(kalam_db* db, const char* path, kalam_status* status) noexcept;

// lmdb_data.cc
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
int write_conditional(kalam_db* db, const kalam_write_options* options,
                      const kalam_expectation* expects, size_t expect_count,
                      const kalam_write_op* ops, size_t op_count,
                      kalam_status* status) noexcept;
int read_modify_write(kalam_db* db, const kalam_write_options* options,
                      size_t count, kalam_cf* const* cfs,
                      const void* const* keys, const size_t* key_lens,
                      kalam_rmw_visitor visit, void* ctx,
                      kalam_status* status) noexcept;
int write(kalam_db* db, const kalam_write_options* options,
          const kalam_write_op* ops, size_t op_count,
          kalam_status* status) noexcept;
int snapshot_create(kalam_db* db, kalam_snapshot** out_snapshot,
                    kalam_status* status) noexcept;
void snapshot_release(kalam_db* db, kalam_snapshot* snapshot) noexcept;

// lmdb_iter.cc
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

}  // namespace kalam_lmdb
