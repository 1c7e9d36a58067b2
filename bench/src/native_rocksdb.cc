// The native RocksDB baseline: the RocksDB C++ API with the settings the
// plugin uses (plugins/rocksdb/rocksdb_options.cc parse_options() with no
// options, rocksdb_db.cc open_impl()):
//
//   DBOptions()            RocksDB's defaults
//     info_log_level       WARN; info_log = a logger object (no LOG file:
//                          the plugin forwards records to the host log)
//     create_if_missing, create_missing_column_families
//     listeners            one that records a background error (the
//                          plugin's, so a full disk is an error code and
//                          close stays safe); called only on errors
//   ColumnFamilyOptions()  RocksDB's defaults (64 MiB memtable, snappy, ...)
//     table_factory        block-based, default table options + a full
//                          bloom filter of 10 bits per key
//   ReadOptions()          for gets (PinnableSlice, as the plugin)
//   ReadOptions{total_order_seek = true} for iterators, no bounds
//   WriteOptions{sync}     sync only in the sync variant
//   flush = Flush(wait) + FlushWAL(sync); close = FlushWAL(sync) + Close()
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <cstdarg>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include "modes.h"
#include "plugin_store.h"
#include "runner.h"

namespace kalam_bench {
namespace {

namespace fs = std::filesystem;

// WARN and above to stderr, like the engine's default log sink does with
// what the plugin forwards.
class QuietLogger : public rocksdb::Logger {
 public:
  QuietLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char text[1024];
    std::vsnprintf(text, sizeof text, format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", text);
  }
};

// The plugin's background-error listener (rocksdb_errors.h), same name so
// the OPTIONS files match: it runs only when RocksDB reports an error.
class BackgroundErrors final : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "KalamBackgroundErrors"; }
  void OnBackgroundError(rocksdb::BackgroundErrorReason,
                         rocksdb::Status* error) override {
    std::lock_guard lock(mu_);
    if (error != nullptr) error_ = *error;
  }

 private:
  std::mutex mu_;
  rocksdb::Status error_;
};

void check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) die(std::string("rocksdb ") + what + ": " + s.ToString());
}

class NativeRocksdb {
 public:
  static std::unique_ptr<NativeRocksdb> open(const StoreOptions&,
                                             const fs::path& dir) {
    rocksdb::DBOptions db_options;
    db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.info_log = std::make_shared<QuietLogger>();
    db_options.listeners.push_back(std::make_shared<BackgroundErrors>());
    rocksdb::ColumnFamilyOptions cf_options;
    rocksdb::BlockBasedTableOptions table =
        *cf_options.table_factory
             ->GetOptions<rocksdb::BlockBasedTableOptions>();
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

    std::error_code ec;
    fs::create_directories(dir, ec);
    auto store = std::unique_ptr<NativeRocksdb>(new NativeRocksdb());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    check(rocksdb::DB::Open(db_options, dir.string(),
                            {{rocksdb::kDefaultColumnFamilyName, cf_options}},
                            &handles, &store->db_),
          "open");
    store->handle_ = handles.at(0);
    return store;
  }

  bool persistent() const { return true; }

  void put(std::string_view key, std::string_view value, bool sync) {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    check(db_->Put(wo, handle_, slice(key), slice(value)), "put");
  }
  void del(std::string_view key, bool sync) {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    check(db_->Delete(wo, handle_, slice(key)), "delete");
  }
  void write_batch(const std::string_view* keys, const std::string_view* values,
                   size_t n, bool sync) {
    batch_.Clear();
    for (size_t i = 0; i < n; ++i) {
      check(batch_.Put(handle_, slice(keys[i]), slice(values[i])), "batch");
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    check(db_->Write(wo, &batch_), "write");
  }
  // YCSB F: a read and a write with no other write between them. RocksDB
  // (without a TransactionDB) has no write transaction to read in, so this
  // holds a mutex around Get and Put, as the plugin's read_modify_write
  // holds its write lock.
  bool read_modify_write(std::string_view key, std::string_view value,
                         Sink& sink) {
    std::lock_guard lock(rmw_mutex_);
    const bool found = get(key, sink);
    put(key, value, false);
    return found;
  }
  bool get(std::string_view key, Sink& sink) {
    rocksdb::PinnableSlice value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), handle_, slice(key), &value);
    if (s.IsNotFound()) return false;
    check(s, "get");
    sink.value({value.data(), value.size()});
    return true;
  }

  class Cursor {
   public:
    explicit Cursor(rocksdb::Iterator* it) : it_(it) {}
    void seek_first() { it_->SeekToFirst(); }
    void seek(std::string_view target) { it_->Seek(slice(target)); }
    size_t read(size_t n, Sink& sink) {
      size_t count = 0;
      while (count < n && it_->Valid()) {
        const rocksdb::Slice k = it_->key(), v = it_->value();
        sink.entry({k.data(), k.size()}, {v.data(), v.size()});
        it_->Next();
        ++count;
      }
      check(it_->status(), "iterator");
      return count;
    }

   private:
    std::unique_ptr<rocksdb::Iterator> it_;
  };
  Cursor cursor() {
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;
    return Cursor(db_->NewIterator(ro, handle_));
  }

  void flush() {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    check(db_->Flush(fo, {handle_}), "flush");
    check(db_->FlushWAL(true), "flush WAL");
  }
  void close() {
    check(db_->FlushWAL(true), "close: flush WAL");
    check(db_->DestroyColumnFamilyHandle(handle_), "close: handle");
    handle_ = nullptr;
    check(db_->Close(), "close");
    delete db_;
    db_ = nullptr;
  }

 private:
  static rocksdb::Slice slice(std::string_view s) {
    return {s.data(), s.size()};
  }
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* handle_ = nullptr;
  rocksdb::WriteBatch batch_;
  std::mutex rmw_mutex_;  // read_modify_write()
};

// The newest OPTIONS-<n> file RocksDB wrote into `dir`, as
// "[section] key" -> value (comments and the [Version] section left out:
// they name the writer, not the settings).
std::map<std::string, std::string> saved_options(const fs::path& dir) {
  fs::path newest;
  uint64_t newest_number = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("OPTIONS-", 0) != 0 || name.size() < 9) continue;
    const uint64_t number = std::strtoull(name.c_str() + 8, nullptr, 10);
    if (newest.empty() || number > newest_number) {
      newest = entry.path();
      newest_number = number;
    }
  }
  if (newest.empty()) die("no OPTIONS file in " + dir.string());
  std::map<std::string, std::string> out;
  std::ifstream in(newest);
  std::string line, section;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    line = line.substr(first);
    if (line[0] == '[') {
      section = line;
      continue;
    }
    if (section == "[Version]") continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[section + " " + line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

}  // namespace

RunResult run_native_rocksdb(const Config& config, const Job& job,
                             const StoreOptions& options, const fs::path& dir) {
  return run_job<NativeRocksdb>(config, job, options, dir);
}

SettingsCheck check_rocksdb_settings(const StoreOptions& options,
                                     const fs::path& dir) {
  NativeRocksdb::open(options, dir / "native")->close();
  PluginStore::open(options, dir / "plugin")->close();
  const auto native = saved_options(dir / "native");
  const auto plugin = saved_options(dir / "plugin" / "store");
  SettingsCheck result;
  size_t compared = 0;
  for (const auto& [key, value] : native) {
    auto it = plugin.find(key);
    const std::string other = it == plugin.end() ? "(absent)" : it->second;
    ++compared;
    if (other != value) {
      result.ok = false;
      result.details +=
          key + ": native '" + value + "', plugin '" + other + "'; ";
    }
  }
  for (const auto& [key, value] : plugin) {
    if (native.count(key) == 0) {
      result.ok = false;
      result.details += key + ": native (absent), plugin '" + value + "'; ";
    }
  }
  if (result.ok) {
    result.details = "OPTIONS files identical (" + std::to_string(compared) +
                     " DB, column-family and table options, the bloom filter "
                     "included)";
  }
  return result;
}

std::string rocksdb_version() {
  return rocksdb::GetRocksVersionAsString() + " (header " +
         std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) +
         "." + std::to_string(ROCKSDB_PATCH) + ")";
}

std::string rocksdb_settings(bool sync) {
  return std::string(
             "DBOptions() and ColumnFamilyOptions() defaults, "
             "info_log_level=WARN (logger object, no LOG file), block-based "
             "table with a 10 bits/key bloom filter; iterators "
             "total_order_seek=true; WriteOptions.sync=") +
         (sync ? "true" : "false");
}

}  // namespace kalam_bench
