// The "plugin" mode: the engine's C++ API (kalam::Database) -> C ABI ->
// kalam_<backend>.so. Point reads use the zero-copy visitor
// (Database::get_with), scans the batched walk (Iterator::next_batch).
#pragma once

#include <kalam/database.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store.h"
#include "workload.h"

namespace kalam_bench {

// The backend options the plugin mode passes, the only departures from the
// plugins' defaults (README.md, "Settings"): LMDB's sync_mode=nosync when
// writes are not synchronous, and map_size when the data needs more than
// the default 1 GiB.
std::vector<kalam::BackendOption> plugin_options(const StoreOptions& options);

class PluginStore {
 public:
  static std::unique_ptr<PluginStore> open(const StoreOptions& options,
                                           const std::filesystem::path& dir);

  bool persistent() const { return persistent_; }
  // Time load_plugin() took in open() (0 when the plugin was loaded before).
  uint64_t plugin_load_ns() const { return load_ns_; }
  const kalam::Plugin& plugin() const { return db_->plugin(); }

  void put(std::string_view key, std::string_view value, bool sync) {
    kalam::Status s = db_->put(cf_, key, value, {.sync = sync});
    if (!s.ok()) die("put: " + s.to_string());
  }
  void del(std::string_view key, bool sync) {
    kalam::Status s = db_->del(cf_, key, {.sync = sync});
    if (!s.ok()) die("del: " + s.to_string());
  }
  void write_batch(const std::string_view* keys, const std::string_view* values,
                   size_t n, bool sync) {
    batch_.clear();
    for (size_t i = 0; i < n; ++i) batch_.put(cf_, keys[i], values[i]);
    kalam::Status s = db_->write(batch_, {.sync = sync});
    if (!s.ok()) die("write: " + s.to_string());
  }
  // YCSB F's read-modify-write of one record: Database::read_modify_write,
  // one write transaction on backends with the read_modify_write capability
  // (LMDB, SQLite, memory, RocksDB). Returns whether the key was found.
  bool read_modify_write(std::string_view key, std::string_view value,
                         Sink& sink) {
    bool found = false;
    kalam::Status s = db_->read_modify_write(
        {{cf_, key}},
        [&](const std::vector<std::optional<std::string_view>>& current,
            kalam::WriteBatch* batch) {
          found = current[0].has_value();
          if (found) sink.value(*current[0]);
          batch->put(cf_, key, value);
          return kalam::Status::OK();
        });
    if (!s.ok()) die("read_modify_write: " + s.to_string());
    return found;
  }
  bool get(std::string_view key, Sink& sink) {
    kalam::Status s =
        db_->get_with(cf_, key, [&sink](std::string_view v) { sink.value(v); });
    if (s.ok()) return true;
    if (s.is_not_found()) return false;
    die("get: " + s.to_string());
  }

  class Cursor {
   public:
    explicit Cursor(kalam::Iterator it) : it_(std::move(it)) {}
    void seek_first() {
      it_.seek_to_first();
      check();
    }
    void seek(std::string_view target) {
      it_.seek(target);
      check();
    }
    size_t read(size_t n, Sink& sink) {
      kalam::StatusOr<size_t> got =
          it_.next_batch(n, [&sink](std::string_view k, std::string_view v) {
            sink.entry(k, v);
            return true;
          });
      if (!got.ok()) die("next_batch: " + got.status().to_string());
      return *got;
    }

   private:
    void check() {
      if (!it_.status().ok()) die("iterator: " + it_.status().to_string());
    }
    kalam::Iterator it_;
  };
  Cursor cursor() {
    kalam::StatusOr<kalam::Iterator> it = db_->new_iterator(cf_);
    if (!it.ok()) die("new_iterator: " + it.status().to_string());
    return Cursor(std::move(it).value());
  }
  // A raw prefix scan: an iterator with IteratorOptions::prefix (the engine
  // narrows the bounds to the prefix's range and passes the prefix on).
  Cursor prefix_cursor(std::string_view prefix) {
    kalam::IteratorOptions options;
    options.prefix = std::string(prefix);
    kalam::StatusOr<kalam::Iterator> it = db_->new_iterator(cf_, options);
    if (!it.ok()) die("new_iterator: " + it.status().to_string());
    Cursor cursor(std::move(it).value());
    cursor.seek_first();
    return cursor;
  }

  void flush() {
    kalam::Status s = db_->flush();
    if (!s.ok()) die("flush: " + s.to_string());
  }
  void close() {
    kalam::Status s = db_->close();
    if (!s.ok()) die("close: " + s.to_string());
  }

 private:
  std::unique_ptr<kalam::Database> db_;
  kalam::ColumnFamily cf_;  // the default family
  kalam::WriteBatch batch_;
  bool persistent_ = false;
  uint64_t load_ns_ = 0;
};

}  // namespace kalam_bench
