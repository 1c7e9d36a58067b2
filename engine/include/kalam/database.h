// The key/value view of a Kalam database: RAII wrappers over the backend ABI.
//
// A Database is opened from a StorageConfig: the engine loads the plugin the
// config names, checks the data directory's manifest, and opens the store.
// Everything here works the same on every backend; where a backend lacks a
// capability the wrapper either falls back (documented per method) or returns
// NOT_SUPPORTED, never undefined behaviour.
//
// Thread safety: Database methods may be called from many threads at once
// (the wrapper serialises calls for backends that are not thread-safe),
// except close(), which must not race with anything. An Iterator is used by
// one thread at a time. ColumnFamily, Snapshot and WriteBatch values may be
// shared for reading.
#pragma once

#include <kalam/config.h>
#include <kalam/plugin.h>
#include <kalam/span.h>
#include <kalam/status.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kalam {

namespace detail {
struct DbCore;
struct CfState;
struct SnapshotState;
}  // namespace detail

class Database;
namespace tables {
class Tables;
}

// A named column family: an independent, ordered key space. Cheap to copy.
// Stays safe to use after drop_column_family() or close(): operations then
// return DROPPED or CLOSED.
class ColumnFamily {
 public:
  // The default column family of whatever database it is used with.
  ColumnFamily() = default;
  const std::string& name() const;
  bool is_default() const { return state_ == nullptr; }

 private:
  friend class Database;
  friend class WriteBatch;
  explicit ColumnFamily(std::shared_ptr<detail::CfState> state)
      : state_(std::move(state)) {}
  std::shared_ptr<detail::CfState> state_;
};

// A consistent read view of the whole database. Cheap to copy; the view is
// released when the last copy, and the last iterator created at it, goes.
// Keeps its database open until then.
class Snapshot {
 private:
  friend class Database;
  friend class Iterator;
  explicit Snapshot(std::shared_ptr<detail::SnapshotState> state)
      : state_(std::move(state)) {}
  std::shared_ptr<detail::SnapshotState> state_;
};

struct ReadOptions {
  // Read as of this snapshot (must come from the same database), or the
  // latest data when null.
  const Snapshot* snapshot = nullptr;
};

struct WriteOptions {
  // false: the write is in the backend's buffers when write() returns (it
  // survives a process crash only where the backend's README says so).
  // true: the backend has made it durable (write + fsync) before returning,
  // on backends with the durable_sync capability; on others it is the same
  // as false (check Plugin::has(KALAM_CAP_DURABLE_SYNC)).
  bool sync = false;
};

// An ordered list of writes applied by Database::write() in one ABI call:
// atomically, across column families, on backends with atomic_batch.
//
// A batch may also carry expectations (a conditional write): facts about
// keys that must hold just before the write, checked atomically with it.
// If any fails, nothing of the batch is applied and write() returns
// CONFLICT (Status::is_conflict()) naming the first failed expectation by
// its index (0-based, in the order the expect_*() calls were made).
// Backends with conditional_write check them natively; on others the
// engine checks them under an engine-wide write lock, which is correct only
// inside this process, so on a shared or multi_process backend without
// conditional_write such a batch is refused with NOT_SUPPORTED.
class WriteBatch {
 public:
  WriteBatch() = default;
  void put(const ColumnFamily& cf, std::string_view key,
           std::string_view value);
  void put(std::string_view key, std::string_view value) {
    put(ColumnFamily(), key, value);
  }
  void del(const ColumnFamily& cf, std::string_view key);
  void del(std::string_view key) { del(ColumnFamily(), key); }
  // Removes every key in [begin, end). On backends without delete_range the
  // engine expands it into single deletes of the keys present at write time.
  void delete_range(const ColumnFamily& cf, std::string_view begin,
                    std::string_view end);
  // Expectations: `key` holds exactly `value`; `key` does not exist; `key`
  // exists (whatever its value).
  void expect_value(const ColumnFamily& cf, std::string_view key,
                    std::string_view value);
  void expect_absent(const ColumnFamily& cf, std::string_view key);
  void expect_present(const ColumnFamily& cf, std::string_view key);
  // Ops (puts, deletes, delete-ranges) held, expectations not included.
  size_t count() const { return ops_.size(); }
  size_t expectation_count() const { return expects_.size(); }
  // Bytes of keys and values held, expectations included.
  size_t data_size() const { return data_.size(); }
  void clear();

 private:
  friend class Database;
  struct Op {
    uint32_t type;
    detail::CfState* cf;  // null = default; kept alive by families_
    size_t key_offset, key_size, value_offset, value_size;
  };
  void add(uint32_t type, const ColumnFamily& cf, std::string_view key,
           std::string_view value, std::vector<Op>* to);
  void add(uint32_t type, const ColumnFamily& cf, std::string_view key,
           std::string_view value) {
    add(type, cf, key, value, &ops_);
  }
  std::string data_;
  std::vector<Op> ops_;
  std::vector<Op> expects_;  // type: KALAM_EXPECT_*
  std::vector<std::shared_ptr<detail::CfState>> families_;
};

struct IteratorOptions {
  // Only keys >= lower.
  std::optional<std::string> lower;
  // Only keys < upper.
  std::optional<std::string> upper;
  // Only keys that start with prefix (combined with the bounds).
  std::optional<std::string> prefix;
  // Iterate as of this snapshot; without one the iterator sees the data as of
  // its creation where the backend has snapshots.
  const Snapshot* snapshot = nullptr;
  // Hint: the iterator will mostly move backwards.
  bool reverse = false;
};

// A cursor over one column family, within its bounds. Keeps its database
// open until destroyed. Moves never throw; check valid(), then status().
//
//   for (it.seek_to_first(); it.valid(); it.next()) use(it.key(), it.value());
//   if (!it.status().ok()) ...
//
// Iterator checks (OpenOptions::check_iterators): the engine does not trust
// the plugin's order. With checks on, every key a move or next_batch()
// yields must lie inside the iterator's bounds (and so its prefix), come
// strictly after the previous key in the direction of travel (bytewise), and
// not before a seek's target. A key that breaks this makes the iterator invalid
// for good with a CORRUPTION status naming the plugin and the offending keys
// (in hex); later moves leave it invalid. The cost is a few compares and one
// copy of the current key per entry.
class Iterator {
 public:
  Iterator(Iterator&&) noexcept;
  Iterator& operator=(Iterator&&) noexcept;
  ~Iterator();

  void seek_to_first();
  // Backward moves return NOT_SUPPORTED in status() on backends without
  // reverse_iteration.
  void seek_to_last();
  // To the first key >= target.
  void seek(std::string_view target);
  // To the last key <= target.
  void seek_for_prev(std::string_view target);
  // REQUIRES: valid().
  void next();
  void prev();

  bool valid() const { return valid_; }
  // REQUIRES: valid(). The views are good until the next move.
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }
  // The first error a move hit (sticky), or OK.
  const Status& status() const { return status_; }

  enum class Direction { kForward, kBackward };
  // The fast scan: hands up to `max_entries` entries, starting with the
  // current one, to `visit(std::string_view key, std::string_view value)`
  // and moves past them. Position the iterator first (seek_to_first(),
  // seek(), ...): on an iterator that is not valid() — never positioned, or
  // moved past its last entry — it returns 0 and visits nothing. `visit`
  // returns false to stop; that entry is then not consumed and stays current.
  // If `visit` throws, the iterator also stays on that entry and the exception
  // propagates. The views are valid only inside `visit`, which must not call
  // back into the Database. Returns the number of entries consumed; afterwards
  // valid()/key()/value() describe the new position. On an error, the entries
  // read before it were visited, and the error is returned.
  //
  // With a plugin that has the ABI 1.1 iter_read_batch(), the plugin fills
  // an array of up to kReadBatchChunk entries per ABI call and `visit` is
  // called inline on each (no indirect call per entry); a `visit` that
  // stops early costs one seek back to the entry it stopped on. Otherwise
  // it is one iter_next_batch() per call, with a visitor per entry.
  template <typename Visit,
            typename = std::enable_if_t<std::is_invocable_r_v<
                bool, Visit&, std::string_view, std::string_view>>>
  StatusOr<size_t> next_batch(size_t max_entries, Visit&& visit,
                              Direction direction = Direction::kForward);
  // Entries per iter_read_batch() call.
  static constexpr size_t kReadBatchChunk = 256;

 private:
  friend class Database;
  // What a correct plugin's move yields, for the iterator checks.
  struct Expect {
    // How the new key relates to the one before the move.
    // kSame: still on the key it was on (a batch the caller stopped).
    enum class Order { kAny, kAfter, kBefore, kSame } order = Order::kAny;
    // A seek's target: the new key is >= it (kAfter) or <= it (kBefore).
    Order target_order = Order::kAny;
    std::string_view target;
  };
  // The bounds the plugin was given, narrowed to the prefix (a key inside
  // them starts with it); kept only with checks on.
  struct Bounds {
    std::optional<std::string> lower, upper;
  };
  Iterator(std::shared_ptr<detail::DbCore> core, kalam_iter* handle,
           std::string cf_name, std::shared_ptr<detail::SnapshotState> at,
           std::unique_ptr<Bounds> checked_bounds);
  // Runs one ABI move under the database's call lock, then after_move().
  template <typename Call>
  void move(const char* operation, const Expect& expect, Call call);
  // `had_previous`: last_key_ holds the key before the move.
  // `count_landing`: an entry it lands on is a new one for the counters.
  void after_move(int rc, const char* operation, void* status_buffer,
                  const Expect& expect, bool had_previous,
                  bool count_landing = true);
  // With checks on: whether `key` may follow `previous` (the key before the
  // move; null when there was none) given `expect`. When not, stops the
  // iterator with a CORRUPTION status and returns false.
  bool check_key(std::string_view key, const std::string_view* previous,
                 const char* operation, const Expect& expect);
  // The per-entry visitor of the iter_next_batch() path: returns whether to
  // go on; may throw.
  using EntryFn = bool (*)(void* ctx, std::string_view key,
                           std::string_view value);
  // next_batch() through iter_next_batch() (plugins without
  // iter_read_batch()).
  StatusOr<size_t> visit_batch(size_t max_entries, EntryFn visit, void* ctx,
                               Direction direction);
  // One iter_read_batch() call of up to `want` (<= kReadBatchChunk) entries
  // into batch_, with the checks and the landing of a move. Returns how many
  // entries batch_ holds for the caller; when status_ is not OK afterwards,
  // those were read before the error (or the failed check).
  size_t read_batch(size_t want, Direction direction);
  // After next_batch()'s caller stopped on (or threw at) batch_[index]:
  // moves the plugin back onto that entry. False (status_ set) if it could
  // not.
  bool return_to(size_t index, Direction direction);
  // Counts, for the engine counters, the entries a next_batch() that
  // consumed `consumed` entries moved the caller's iterator onto.
  void count_batch(size_t consumed);
  std::shared_ptr<detail::DbCore> core_;
  kalam_iter* handle_ = nullptr;
  std::string cf_name_;
  // The snapshot the iterator reads at, kept alive as long as it is.
  std::shared_ptr<detail::SnapshotState> snapshot_;
  bool valid_ = false;
  std::string_view key_;
  std::string_view value_;
  Status status_;
  // Non-null when the iterator checks are on.
  std::unique_ptr<Bounds> checked_;
  // With checks on: a copy of key_ (the views die at the next move) and
  // whether the plugin broke its contract (the iterator then stays invalid).
  std::string last_key_;
  bool broken_ = false;
  // The plugin's iter_read_batch(), or null; and the array it fills (views
  // valid until the next move).
  Plugin::ReadBatchFn read_batch_fn_ = nullptr;
  std::vector<kalam_entry> batch_;
};

template <typename Visit, typename>
StatusOr<size_t> Iterator::next_batch(size_t max_entries, Visit&& visit,
                                      Direction direction) {
  using V = std::remove_reference_t<Visit>;
  if (read_batch_fn_ == nullptr || handle_ == nullptr) {
    return visit_batch(
        max_entries,
        [](void* ctx, std::string_view key, std::string_view value) -> bool {
          return (*static_cast<V*>(ctx))(key, value);
        },
        const_cast<void*>(static_cast<const void*>(&visit)), direction);
  }
  size_t total = 0;
  do {
    const size_t want = std::min(max_entries - total, kReadBatchChunk);
    const size_t got = read_batch(want, direction);
    const kalam_entry* entries = batch_.data();
    for (size_t i = 0; i < got; ++i) {
      const kalam_entry& e = entries[i];
      bool go_on;
      try {
        go_on = visit(
            std::string_view(static_cast<const char*>(e.key), e.key_len),
            std::string_view(static_cast<const char*>(e.value), e.value_len));
      } catch (...) {
        return_to(i, direction);
        throw;
      }
      if (!go_on) {
        if (!return_to(i, direction)) return status_;
        count_batch(total + i);
        return total + i;
      }
    }
    total += got;
    if (!status_.ok()) return status_;
    if (!valid_) break;
  } while (total < max_entries);
  count_batch(total);
  return total;
}

// The store's limits on one write, known once it is open (ABI 1.2
// get_limits()); 0 means no limit beyond memory. A write over one fails
// with TOO_LARGE naming the limit, and applies nothing.
struct WriteLimits {
  uint64_t max_ops = 0;           // ops per write
  uint64_t max_bytes = 0;         // key + value bytes of ops and expectations
  uint64_t max_expectations = 0;  // expectations per write, keys per RMW
};

// One key read by Database::read_modify_write().
struct KeyToRead {
  ColumnFamily cf;
  std::string_view key;
};

struct OpenOptions {
  // Create the data directory and an empty database when there is none.
  bool create_if_missing = true;
  // Open without write access (backends with read_only_open). Overrides
  // StorageConfig::read_only when true.
  bool read_only = false;
  // Check that the plugin's iterators yield keys in order and inside their
  // bounds (see Iterator). Unset: StorageConfig::check_iterators when opened
  // from a config, else on in debug builds of the engine (NDEBUG not
  // defined) and off in release builds.
  std::optional<bool> check_iterators;
};

// What the engine counted for one database: its own figures, taken above
// the ABI, so they mean the same on every backend. Failed calls count only
// as errors.
struct EngineCounters {
  uint64_t puts = 0;           // keys written: put() and batch puts
  uint64_t deletes = 0;        // keys deleted: del() and batch deletes
  uint64_t delete_ranges = 0;  // delete-range ops in batches
  uint64_t batches = 0;        // write() calls applied
  // Key and value bytes of applied puts and deletes (both bounds of a
  // delete-range).
  uint64_t bytes_written = 0;
  // Keys looked up by get(), get_with(), get_into() and multi_get().
  uint64_t gets = 0;
  uint64_t get_hits = 0;          // of which found
  uint64_t get_bytes = 0;         // value bytes the hits returned
  uint64_t iterators = 0;         // iterators created
  uint64_t iterator_entries = 0;  // entries iterators landed on
  // Calls that failed with an error (NOT_FOUND is a result, not an error).
  uint64_t errors = 0;

  EngineCounters& operator+=(const EngineCounters& other);
  // Every field of engine_counter_fields() compared.
  friend bool operator==(const EngineCounters& a, const EngineCounters& b);
  friend bool operator!=(const EngineCounters& a, const EngineCounters& b) {
    return !(a == b);
  }
};

// One field of EngineCounters, for printing and storing them all.
struct EngineCounterField {
  const char* name;  // e.g. "puts"
  uint64_t EngineCounters::*member;
  const char* help;  // one line
};
// Every field, in declaration order.
Span<const EngineCounterField> engine_counter_fields();

// Counters the engine keeps in the data directory (file KALAM_COUNTERS) of a
// persistent backend, across processes. Writable opens update them: the
// open itself when it happens, the totals when the database closes
// cleanly. They are advisory: a damaged or missing file restarts them from
// zero with a warning and never stops an open. Two processes writing one
// store at once (which no in-tree plugin declares: multi_process) would
// make them approximate.
struct StoredCounters {
  uint64_t opens = 0;         // writable opens, the current one included
  uint64_t clean_closes = 0;  // closes that saved their counters
  // Opens that found the previous writable open never closed (a crash, a
  // kill, or a close that failed).
  uint64_t unclean_shutdowns = 0;
  // Whether a writable open is in progress (or ended without closing).
  bool open = false;
  // The sum of the counters of every session that closed cleanly.
  EngineCounters totals;
};

// Whether iterator checks are on when nothing asks otherwise: true in debug
// builds of the engine library, false in release (NDEBUG) builds.
bool iterator_checks_default();

class Database {
 public:
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  // Closes the database if close() was not called; if iterators or
  // snapshots are still alive, the close happens when the last one goes.
  ~Database();

  // Loads the plugin `config` names, checks (or, for a new directory,
  // stamps) the data directory's manifest, and opens the database. A store
  // that was opened once (marked by KALAM_STORE_OPENED beside the manifest)
  // is never re-created: if the plugin finds no database there (files
  // deleted or truncated to nothing), the result is CORRUPTION, whatever
  // create_if_missing says.
  // Errors: NOT_FOUND (no plugin, or no database and !create_if_missing),
  // INVALID_ARGUMENT (bad option, plugin refused, directory written by
  // another backend), ABI_MISMATCH, BUSY, IO_ERROR, CORRUPTION.
  static StatusOr<std::unique_ptr<Database>> open(
      const StorageConfig& config, const OpenOptions& options = {});

  // Opens with a plugin that is already loaded (tests, tools). `options` are
  // the backend's flattened options.
  static StatusOr<std::unique_ptr<Database>> open(
      std::shared_ptr<const Plugin> plugin, const std::filesystem::path& path,
      const std::vector<BackendOption>& backend_options,
      const OpenOptions& options = {});

  // Makes acknowledged writes durable and closes. BUSY (and the database
  // stays open) while iterators or snapshots are alive. Afterwards every
  // call returns CLOSED. Calling it twice is OK.
  Status close();

  // The plugin serving this database.
  const Plugin& plugin() const;
  // The data directory.
  const std::filesystem::path& path() const;

  // --- Column families ---
  // The family `name`; with create_if_missing, created (durably) first.
  // "default" is the default family. NOT_FOUND when missing.
  StatusOr<ColumnFamily> column_family(std::string_view name,
                                       bool create_if_missing = false);
  // Drops the family and its data. `cf` and every copy of it then give
  // DROPPED. INVALID_ARGUMENT for the default family.
  Status drop_column_family(const ColumnFamily& cf);
  // Every family name, "default" included, sorted.
  StatusOr<std::vector<std::string>> list_column_families();

  // --- Writes ---
  Status put(const ColumnFamily& cf, std::string_view key,
             std::string_view value, const WriteOptions& options = {});
  Status del(const ColumnFamily& cf, std::string_view key,
             const WriteOptions& options = {});
  // Applies the batch (see WriteBatch, expectations included). Errors:
  // CONFLICT (an expectation failed; nothing applied), TOO_LARGE (over
  // write_limits(); nothing applied), OUTCOME_UNKNOWN (a remote store cannot
  // tell whether it was applied: the engine never retries it; read to find
  // out), UNAVAILABLE, TIMED_OUT, and those of the plain write.
  Status write(const WriteBatch& batch, const WriteOptions& options = {});

  // The read-modify-write: reads `keys` (NOT_FOUND is nullopt), hands their
  // current values to `modify`, which fills `batch` with the ops to apply
  // (no expectations of its own) or returns an error to cancel (that status
  // is returned, nothing applied); then applies the batch so that no other
  // write to the store falls between the read and the write.
  //   - With read_modify_write (LMDB, SQLite, memory, RocksDB): one ABI
  //     call, in one write transaction of the store; `modify` runs exactly
  //     once, inside it, while every other writer waits.
  //   - Without it: reads with one multi_get, then writes the batch with an
  //     expectation per key read (the value read, or absent), and on CONFLICT
  //     reads again and calls `modify` again, at most
  //     kReadModifyWriteAttempts times in all (then CONFLICT).
  // So `modify` may run more than once and must depend only on its
  // arguments. The views are valid only during the call. REQUIRES: `modify`
  // does not call into this Database (the store's write lock is held) and
  // `keys` are at most write_limits().max_expectations. An exception
  // `modify` throws cancels the write and propagates.
  using ModifyFn = std::function<Status(
      const std::vector<std::optional<std::string_view>>& current,
      WriteBatch* batch)>;
  Status read_modify_write(const std::vector<KeyToRead>& keys,
                           const ModifyFn& modify,
                           const WriteOptions& options = {});
  static constexpr int kReadModifyWriteAttempts = 64;

  // The store's per-write limits (all 0 for backends without get_limits).
  const WriteLimits& write_limits() const;

  // --- Reads ---
  // The value of `key`; NOT_FOUND when absent (a cheap status whose message
  // is just "not found": a miss is a result, not an error).
  StatusOr<std::string> get(const ColumnFamily& cf, std::string_view key,
                            const ReadOptions& options = {});
  // The zero-copy read: calls `visit(std::string_view value)` with the value
  // (valid only during the call). NOT_FOUND when absent. An exception `visit`
  // throws propagates after the plugin call has returned. A template, so the
  // visitor is called directly (no std::function). REQUIRES: `visit` does not
  // call back into this Database.
  template <typename Visit, typename = std::enable_if_t<
                                std::is_invocable_v<Visit&, std::string_view>>>
  Status get_with(const ColumnFamily& cf, std::string_view key, Visit&& visit,
                  const ReadOptions& options = {});
  // The copy read into `buffer`; returns the value's length.
  // BUFFER_TOO_SMALL (buffer untouched) when it does not fit; the message
  // says the size needed.
  StatusOr<size_t> get_into(const ColumnFamily& cf, std::string_view key,
                            Span<char> buffer, const ReadOptions& options = {});
  // Reads many keys of `cf` from one consistent view; nullopt for absent.
  StatusOr<std::vector<std::optional<std::string>>> multi_get(
      const ColumnFamily& cf, Span<const std::string_view> keys,
      const ReadOptions& options = {});

  // --- Iterators and snapshots ---
  StatusOr<Iterator> new_iterator(const ColumnFamily& cf,
                                  const IteratorOptions& options = {});
  // NOT_SUPPORTED on backends without snapshots.
  StatusOr<Snapshot> snapshot();

  // --- Maintenance ---
  // Makes every acknowledged write of every family durable.
  Status flush();
  // NOT_SUPPORTED without compact_range.
  Status compact_range(const ColumnFamily& cf,
                       std::optional<std::string_view> begin,
                       std::optional<std::string_view> end);
  // A property as text (KALAM_PROPERTY_* or a backend-prefixed name).
  // NOT_FOUND for an unknown one, NOT_SUPPORTED without properties.
  StatusOr<std::string> property(const ColumnFamily& cf, std::string_view name);
  // Writes an openable copy of the backend store and the manifest to `dir`,
  // which must not exist. NOT_SUPPORTED without checkpoint.
  //
  // It does not carry the table layer's cold tier, so it refuses
  // (NOT_SUPPORTED, nothing written) a database whose data directory holds
  // one (any file under <data dir>/cold, where flushes put segments by
  // default): such a copy would lose every flushed row. Use
  // tables::Tables::checkpoint, which carries it. A cold tier configured
  // elsewhere (tables.cold_path) cannot be seen from here: for a database
  // with tables, always use Tables::checkpoint.
  Status checkpoint(const std::filesystem::path& dir);

  // --- Counters ---
  // What this Database object counted since it was opened (in this process
  // only). Safe to call from any thread; concurrent calls in flight may or
  // may not be included yet.
  EngineCounters counters() const;
  // The counters stored in the data directory, as read when this Database
  // was opened (for a writable open: with that open already counted). nullopt
  // on backends that are not persistent.
  std::optional<StoredCounters> stored_counters() const;

 private:
  friend class tables::Tables;
  explicit Database(std::shared_ptr<detail::DbCore> core);
  // checkpoint() without the cold tier check (Tables::checkpoint copies the
  // cold tier itself).
  Status checkpoint_store(const std::filesystem::path& dir);
  Status check_family(const ColumnFamily& cf) const;
  // get_with() behind its template: the plugin's value goes to
  // `visit->fn(visit, value)`, which catches what the caller's visitor throws
  // into `visit->error` (it must not unwind through the plugin);
  // visit_value() rethrows it once the plugin has returned.
  struct ValueVisit {
    void (*fn)(ValueVisit* self, std::string_view value) noexcept;
    std::exception_ptr error;
  };
  Status visit_value(const ColumnFamily& cf, std::string_view key,
                     ValueVisit* visit, const ReadOptions& options);
  // Checks a write of `ops` ops, `expects` expectations and `bytes` bytes
  // against write_limits(): TOO_LARGE naming the limit, or OK.
  Status check_limits(size_t ops, size_t expects, uint64_t bytes) const;
  // write() of a batch with expectations on a backend without
  // conditional_write: checks them under the engine's exclusive write lock.
  Status write_emulated_conditional(const WriteBatch& batch,
                                    const std::vector<kalam_write_op>& ops,
                                    const WriteOptions& options);
  Status read_modify_write_native(const std::vector<KeyToRead>& keys,
                                  const ModifyFn& modify,
                                  const WriteOptions& options);
  // put() and del(): one op, without a WriteBatch.
  Status write_one(const ColumnFamily& cf, int type, std::string_view key,
                   std::string_view value, const WriteOptions& options);
  // The snapshot's ABI handle, after checking it belongs to this database.
  StatusOr<const kalam_snapshot*> snapshot_handle(const Snapshot* s) const;
  // Replaces a delete-range op with deletes of the keys in range, for
  // backends without delete_range.
  Status expand_delete_range(const WriteBatch& batch, const WriteBatch::Op& op,
                             const kalam_write_op& range,
                             std::deque<std::string>* keys,
                             std::vector<kalam_write_op>* ops);
  std::shared_ptr<detail::DbCore> core_;
};

template <typename Visit, typename>
Status Database::get_with(const ColumnFamily& cf, std::string_view key,
                          Visit&& visit, const ReadOptions& options) {
  struct Call : ValueVisit {
    std::remove_reference_t<Visit>* caller;
  };
  Call call;
  call.fn = [](ValueVisit* self, std::string_view value) noexcept {
    try {
      (*static_cast<Call*>(self)->caller)(value);
    } catch (...) {
      self->error = std::current_exception();
    }
  };
  call.caller = &visit;
  return visit_value(cf, key, &call, options);
}

// The one-line open for the common case: reads the YAML config
// `config_file` (load_config_file) and opens the database it describes,
// creating it when missing (Database::open).
//
//   KALAM_ASSIGN_OR_RETURN(auto db, kalam::open("kalam.yaml"));
//
// For the table layer, kalam::tables::open (kalam/tables/tables.h).
// Errors: those of load_config_file() and Database::open().
StatusOr<std::unique_ptr<Database>> open(
    const std::filesystem::path& config_file, const OpenOptions& options = {});

}  // namespace kalam
