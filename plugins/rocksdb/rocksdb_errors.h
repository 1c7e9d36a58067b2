// What the plugin knows about RocksDB's background error: the error that
// stopped the database after a failed WAL append, flush or compaction.
//
// After such an error RocksDB refuses further writes with it, but not every
// call checks it: DB::FlushWAL(sync=true) syncs the WAL writer that already
// failed, and in a build with assertions (Debian's librocksdb) that aborts
// the process ("Assertion 'sync_without_flush_called_' failed"). So the
// plugin never syncs or checkpoints a stopped database: it first asks
// RocksDB to resume (DB::Resume(), which flushes the memtables to new files
// and clears the error when the cause is gone), and when that fails it
// returns the background error instead.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/listener.h>

#include <mutex>
#include <string>

namespace kalam_rocksdb {

// Registered in DBOptions::listeners by open(); RocksDB tells it when a
// background error is set and when a recovery ends. Thread-safe.
class BackgroundErrors final : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "KalamBackgroundErrors"; }
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason,
                         rocksdb::Status* bg_error) override;
  void OnErrorRecoveryEnd(
      const rocksdb::BackgroundErrorRecoveryInfo& info) override;

  // The error that stopped the database, or OK while it runs.
  rocksdb::Status current() const;
  void clear();

 private:
  mutable std::mutex mu_;
  rocksdb::Status error_;
};

// Makes `db` writable again if a background error stopped it: returns OK
// when it was not stopped or DB::Resume() cleared the error, else the
// background error (its code, so NO_SPACE stays NO_SPACE) with what resuming
// said. `errors` is the listener open() registered for `db`.
rocksdb::Status resume_if_stopped(rocksdb::DB* db, BackgroundErrors* errors);

}  // namespace kalam_rocksdb
