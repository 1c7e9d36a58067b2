// What the catalog and the table stores of one Database share: the column
// families and the locks that make catalog changes and row writes safe
// together. Internal.
#pragma once

#include <kalam/database.h>
#include <kalam/tables/row.h>
#include <kalam/tables/schema.h>

#include <array>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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
  // under an id nobody reads any more.
  WriterFirstSharedMutex data;
  // Writes to one row key are serialised by rows[hash(key) % size]:
  // update() and del() read before they write.
  std::array<std::mutex, 64> rows;

  std::mutex& row_lock(std::string_view key) {
    return rows[std::hash<std::string_view>{}(key) % rows.size()];
  }
};

// The locks of `db`, shared by everyone who asks with the same Database.
std::shared_ptr<DbLocks> locks_for(const Database& db);

struct TablesContext {
  Database* db = nullptr;
  ColumnFamily system;  // kalam.system: the catalog
  ColumnFamily data;    // kalam.tables: every table's rows
  std::shared_ptr<DbLocks> locks;

  // Parsed table records, memoised by their exact stored bytes. A lookup
  // always reads the catalog row first, so this never serves a stale record.
  std::mutex memo_mu;
  std::map<std::string, std::shared_ptr<const TableInfo>, std::less<>> memo;
};

// Builds RowCursors (their constructor is private to the public API).
struct RowCursorAccess {
  static RowCursor make(Iterator iterator, detail::RowDecoder decoder) {
    return RowCursor(std::move(iterator), std::move(decoder));
  }
};

// Milliseconds since the epoch, now.
int64_t now_ms();

}  // namespace kalam::tables::detail
