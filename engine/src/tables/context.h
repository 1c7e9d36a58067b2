// What the catalog and the table stores of one Database share: the column
// families and the locks that make catalog changes and row writes safe
// together. Internal.
#pragma once

#include <kalam/database.h>
#include <kalam/tables/cold_store.h>
#include <kalam/tables/row.h>
#include <kalam/tables/schema.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace kalam::tables::detail {

// A shared mutex that lets a waiting exclusive locker in before new shared
// lockers. (std::shared_mutex on glibc prefers readers: a steady stream of
// row writes would keep a drop_table waiting forever.) Meets the
// SharedMutex requirements, so std::shared_lock / std::unique_lock work.
class WriterFirstSharedMutex {
 public:
  void lock_shared() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !writing_ && writers_waiting_ == 0; });
    ++readers_;
  }
  void unlock_shared() {
    std::lock_guard lock(mu_);
    if (--readers_ == 0) cv_.notify_all();
  }
  void lock() {
    std::unique_lock lock(mu_);
    ++writers_waiting_;
    cv_.wait(lock, [this] { return !writing_ && readers_ == 0; });
    --writers_waiting_;
    writing_ = true;
  }
  void unlock() {
    std::lock_guard lock(mu_);
    writing_ = false;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int readers_ = 0;
  int writers_waiting_ = 0;
  bool writing_ = false;
};

// Locks that belong to a Database object (not to a Catalog), so every
// Catalog and store on that Database agrees on them.
//
// Order: ddl -> data -> rows[i]. Never the other way round.
struct DbLocks {
  // Serialises catalog changes: id allocation and name checks are
  // read-then-write.
  std::mutex ddl;
  // Row writes hold it shared from resolving their table until their batch
  // is written; drop_table / drop_namespace hold it exclusively. So no
  // write can land in a table after its drop, where it would be stranded
  // under an id nobody reads any more. A flush holds it shared while it
  // writes cold segments (RowStore::write_cold) and deletes the flushed
  // keys, having checked that its table still exists: flushes and drops
  // exclude each other, and a flush never writes for a dropped table.
  // Reads hold it shared while they resolve their table and open its cold
  // segments.
  WriterFirstSharedMutex data;
  // Writes to one row key are serialised by rows[hash(key) % size]:
  // update() and del() read before they write.
  std::array<std::mutex, 64> rows;

  std::mutex& row_lock(std::string_view key) {
    return rows[std::hash<std::string_view>{}(key) % rows.size()];
  }
  // Every stripe of `rows`, for the moments a flush must exclude every row
  // write (see RowStore::flush_batch / delete_flushed).
  std::vector<std::mutex*> all_row_locks() {
    std::vector<std::mutex*> out;
    for (std::mutex& m : rows) out.push_back(&m);
    return out;
  }

  // Bumped after every catalog change that creates or drops a table (while
  // drops still hold `data` exclusively), so cached table records of every
  // Catalog on this Database go stale at once.
  std::atomic<uint64_t> catalog_generation{0};

  // Flushes run one at a time (held by a FlushBatch for its whole life).
  std::mutex flush;
  // Flushes between their snapshot and their end. While one runs, a row
  // delete writes a tombstone even where no segment exists yet: the flush
  // may be about to write the row to cold storage.
  std::atomic<int> flushing{0};

  // Ids of the tables dropped through this Database (ids are never
  // reused). A drop records its tables while it holds `data` exclusively;
  // a scan that opens cold segments after it started (a scan of every user
  // opens each user's segments when it reaches them) checks here, holding
  // `data` shared, so it either opens them before the drop removes them or
  // learns that the table is gone — never a half-removed directory.
  std::mutex dropped_mu;
  std::set<uint64_t> dropped;
  void mark_dropped(uint64_t table_id) {
    std::lock_guard lock(dropped_mu);
    dropped.insert(table_id);
  }
  bool was_dropped(uint64_t table_id) {
    std::lock_guard lock(dropped_mu);
    return dropped.count(table_id) > 0;
  }

  // Test hook: when set, called with the name of the step ("update",
  // "create_namespace", "create_table", "delete_flushed", "put") after a
  // conditional write's reads and before its write, so a test can write
  // around the table layer there, as another process sharing the store
  // would. Set it before the writes it observes start; never in production.
  std::function<void(std::string_view step)> before_conditional_write;
  void conditional_write_point(std::string_view step) {
    if (before_conditional_write) before_conditional_write(step);
  }

  // Rows written (put, update, delete) per table id since its last flush:
  // what FlushPolicy::row_count is compared with.
  std::mutex counts_mu;
  std::map<uint64_t, uint64_t> writes_since_flush;
  void count_writes(uint64_t table_id, uint64_t n) {
    std::lock_guard lock(counts_mu);
    writes_since_flush[table_id] += n;
  }
};

// How many times a read-then-conditional-write of the table layer (update,
// catalog id allocation) is tried before it gives up with CONFLICT: each
// try fails only if another writer changed the keys it read in between, so
// running out means a row is written faster than this writer can update it.
inline constexpr int kConditionalWriteAttempts = 32;

// Whether other processes may write the store (Plugin::is_shared()): the
// in-process locks no longer exclude every other writer, so writes whose
// correctness the locks alone gave (generated ids never reused) carry
// expectations too.
inline bool store_is_shared(const Database& db) {
  return db.plugin().is_shared();
}

// The locks of `db`, shared by everyone who asks with the same Database.
std::shared_ptr<DbLocks> locks_for(const Database& db);

struct TablesContext {
  Database* db = nullptr;
  ColumnFamily system;  // kalam.system: the catalog
  ColumnFamily data;    // kalam.tables: every table's rows
  std::shared_ptr<DbLocks> locks;
  std::shared_ptr<ColdStore> cold;
  // TablesOptions::max_cold_segments.
  size_t max_cold_segments = 0;

  // Resolved table records by "ns.table", each with the catalog
  // generation it was read at: an entry serves only while no catalog change
  // has happened since (DbLocks::catalog_generation).
  std::mutex resolved_mu;
  std::map<std::string, std::pair<uint64_t, std::shared_ptr<const TableInfo>>,
           std::less<>>
      resolved;
  // The catalog row (kalam.system, as stored) each table id was last
  // resolved from, under resolved_mu: what a row write on a shared store
  // expects unchanged (expect_table_unchanged). One entry per table this
  // process used; never cleared wholesale.
  std::map<uint64_t, std::string> catalog_rows;
};

// The key of table ns.table's row in kalam.system (catalog.cc).
std::string catalog_table_key(std::string_view ns, std::string_view table);

// On a store shared with other processes (store_is_shared), adds to `batch`
// the expectation that `info`'s catalog row is still the one it was
// resolved from: a write into a table another process dropped (or dropped
// and re-created) since is then a CONFLICT instead of rows stranded under a
// dead id. Nothing on other stores (the drop lock covers them).
void expect_table_unchanged(TablesContext& ctx, const TableInfo& info,
                            WriteBatch& batch);

// After a CONFLICT on a shared store: every resolved table is read from
// the catalog again (another process may have dropped or re-created it).
void forget_resolved(TablesContext& ctx);

// Builds RowCursors (their constructor is private to the public API).
struct RowCursorAccess {
  static RowCursor make_views(std::unique_ptr<ViewSource> source) {
    return RowCursor(std::move(source));
  }
  // A cursor over a Row-producing source (its rows are handed as DOMs).
  static RowCursor make(std::unique_ptr<RowSource> source);
  // A cursor over one iterator, each entry decoded by `decoder`.
  static RowCursor make(Iterator iterator, RowDecoder decoder);
};

// The hot value that records the deletion of a row that may be in cold
// storage (a tombstone). A JSON text never starts with a NUL byte.
inline constexpr std::string_view kTombstone{"\0", 1};

// The cold partition of a table's rows (one user's, or a shared table's).
inline ColdPartition cold_partition(const TableInfo& info,
                                    std::optional<std::string_view> user) {
  return ColdPartition{
      .ns = info.ns,
      .table = info.name,
      .table_id = info.id,
      .user =
          user ? std::optional<std::string>(std::string(*user)) : std::nullopt};
}

// One batched step of `it` (Iterator::next_batch): `decode` gets up to
// `max` entries. Returns a decode error, the iterator's error, or INTERNAL
// when the step neither handed out an entry nor moved.
Status decode_batch(
    Iterator& it, size_t max,
    const std::function<Status(std::string_view, std::string_view)>& decode);

// Milliseconds since the epoch, now.
int64_t now_ms();

}  // namespace kalam::tables::detail
