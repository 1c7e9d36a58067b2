// What is specific to the RocksDB plugin, tested through its raw C ABI:
// options, persistence, read-only open, checkpoints, native column families,
// iterators, snapshots and the error contract.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <kalam/backend_api.h>
#include <kalam/test_paths.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "raw_plugin.h"
#include "temp_dir.h"

namespace kalam::test {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

const RawPlugin& plugin() {
  static const RawPlugin loaded(KALAM_TEST_PLUGIN_ROCKSDB_PATH);
  return loaded;
}
const kalam_backend_vtable& vt() { return plugin().vt(); }

// The text of the newest OPTIONS-* file RocksDB wrote into `dir`.
std::string options_file(const std::filesystem::path& dir) {
  std::string newest;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("OPTIONS-", 0) == 0 && name > newest) newest = name;
  }
  std::ifstream in(dir / newest);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class RocksdbPluginTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = (dir_ / "db").string(); }

  void TearDown() override {
    for (kalam_iter* iter : iters_) vt().iter_destroy(iter);
    if (db_ != nullptr) {
      RawStatus status;
      EXPECT_EQ(vt().close(db_, &status), KALAM_OK) << status.text();
    }
  }

  // Opens path_ (or `path`) into db_.
  void Open(const std::map<std::string, std::string>& options = {},
            uint32_t flags = KALAM_OPEN_CREATE_IF_MISSING,
            const std::string& path = "") {
    RawStatus status;
    ASSERT_EQ(raw_open(plugin(), path.empty() ? path_ : path, options, &db_,
                       &status, flags),
              KALAM_OK)
        << status.text();
  }

  void Close() {
    RawStatus status;
    ASSERT_EQ(vt().close(db_, &status), KALAM_OK) << status.text();
    db_ = nullptr;
  }

  kalam_cf* Cf(const std::string& name,
               uint32_t flags = KALAM_CF_CREATE_IF_MISSING) {
    RawStatus status;
    kalam_cf* cf = nullptr;
    EXPECT_EQ(vt().cf_open(db_, name.c_str(), flags, &cf, &status), KALAM_OK)
        << status.text();
    return cf;
  }

  void Write(const std::vector<RawOp>& ops, bool sync = false) {
    RawStatus status;
    ASSERT_EQ(raw_write(plugin(), db_, ops, &status, sync), KALAM_OK)
        << status.text();
  }

  void Put(const std::string& key, const std::string& value,
           kalam_cf* cf = nullptr) {
    Write({{KALAM_OP_PUT, cf, key, value}});
  }

  // The value of `key`, or "<NOT_FOUND>" / "<CODE>".
  std::string Get(const std::string& key, kalam_cf* cf = nullptr,
                  const kalam_snapshot* snapshot = nullptr) {
    RawStatus status;
    std::string value;
    int rc = raw_get(plugin(), db_, cf, key, &value, &status, snapshot);
    if (rc == KALAM_OK) return value;
    return std::string("<") + kalam_code_name(rc) + ">";
  }

  std::set<std::string> CfNames() {
    std::set<std::string> names;
    RawStatus status;
    EXPECT_EQ(vt().cf_list(
                  db_,
                  [](void* ctx, const char* name) {
                    static_cast<std::set<std::string>*>(ctx)->insert(name);
                  },
                  &names, &status),
              KALAM_OK);
    return names;
  }

  kalam_iter* Iter(kalam_cf* cf = nullptr, const std::string* lower = nullptr,
                   const std::string* upper = nullptr,
                   const kalam_snapshot* snapshot = nullptr) {
    kalam_iter_options options{};
    options.struct_size = sizeof options;
    options.snapshot = snapshot;
    if (lower != nullptr) {
      options.flags |= KALAM_ITER_LOWER_BOUND;
      options.lower = lower->data();
      options.lower_len = lower->size();
    }
    if (upper != nullptr) {
      options.flags |= KALAM_ITER_UPPER_BOUND;
      options.upper = upper->data();
      options.upper_len = upper->size();
    }
    RawStatus status;
    kalam_iter* iter = nullptr;
    EXPECT_EQ(vt().iter_create(db_, &options, cf, &iter, &status), KALAM_OK)
        << status.text();
    if (iter != nullptr) iters_.push_back(iter);
    return iter;
  }

  void DestroyIter(kalam_iter* iter) {
    iters_.erase(std::remove(iters_.begin(), iters_.end(), iter), iters_.end());
    vt().iter_destroy(iter);
  }

  static std::string Key(const kalam_iter* iter) {
    const void* key;
    size_t key_len;
    if (vt().iter_entry(iter, &key, &key_len, nullptr, nullptr) != KALAM_OK) {
      return "<unpositioned>";
    }
    return std::string(static_cast<const char*>(key), key_len);
  }

  static int Seek(kalam_iter* iter, const std::string& target) {
    return vt().iter_seek(iter, target.data(), target.size(), nullptr);
  }
  static int SeekForPrev(kalam_iter* iter, const std::string& target) {
    return vt().iter_seek_for_prev(iter, target.data(), target.size(), nullptr);
  }

  // Every key from the current position, one iter_next/iter_prev at a time.
  static Entries WalkSingle(kalam_iter* iter, bool forward) {
    Entries out;
    int rc = vt().iter_valid(iter) ? KALAM_OK : KALAM_NOT_FOUND;
    while (rc == KALAM_OK) {
      const void *k, *v;
      size_t kl, vl;
      EXPECT_EQ(vt().iter_entry(iter, &k, &kl, &v, &vl), KALAM_OK);
      out.emplace_back(std::string(static_cast<const char*>(k), kl),
                       std::string(static_cast<const char*>(v), vl));
      rc = forward ? vt().iter_next(iter, nullptr)
                   : vt().iter_prev(iter, nullptr);
    }
    EXPECT_EQ(rc, KALAM_NOT_FOUND);
    return out;
  }

  // Every key from the current position through iter_next_batch.
  static Entries WalkBatched(kalam_iter* iter, bool forward, size_t max) {
    Entries out;
    for (;;) {
      size_t consumed = 12345;
      RawStatus status;
      int rc = vt().iter_next_batch(
          iter, forward ? 0 : KALAM_BATCH_REVERSE, max,
          [](void* ctx, const void* k, size_t kl, const void* v, size_t vl) {
            static_cast<Entries*>(ctx)->emplace_back(
                std::string(static_cast<const char*>(k), kl),
                std::string(static_cast<const char*>(v), vl));
            return 0;
          },
          &out, &consumed, &status);
      EXPECT_LE(consumed, max);
      if (rc == KALAM_NOT_FOUND) break;
      EXPECT_EQ(rc, KALAM_OK) << status.text();
      EXPECT_EQ(consumed, max);
      if (rc != KALAM_OK) break;
    }
    return out;
  }

  TempDir dir_;
  std::string path_;
  kalam_db* db_ = nullptr;
  std::vector<kalam_iter*> iters_;
};

// ---- Entry point --------------------------------------------------------

TEST_F(RocksdbPluginTest, Entry_ReportsNameVersionAndCapabilities) {
  const kalam_plugin_info& info = plugin().info();
  EXPECT_STREQ(info.name, "rocksdb");
  EXPECT_NE(std::string(info.version).find("RocksDB 7."), std::string::npos)
      << info.version;
  EXPECT_EQ(info.format_version, 1u);
  EXPECT_EQ(info.abi_major, static_cast<uint32_t>(KALAM_ABI_VERSION_MAJOR));
  EXPECT_EQ(info.pointer_size, sizeof(void*));
  EXPECT_EQ(info.size_t_size, sizeof(size_t));
  EXPECT_EQ(info.vtable->struct_size, sizeof(kalam_backend_vtable));
  for (uint64_t cap :
       {KALAM_CAP_PERSISTENT, KALAM_CAP_DURABLE_SYNC, KALAM_CAP_ATOMIC_BATCH,
        KALAM_CAP_SNAPSHOTS, KALAM_CAP_REVERSE_ITERATION,
        KALAM_CAP_DELETE_RANGE, KALAM_CAP_THREAD_SAFE, KALAM_CAP_COMPACT_RANGE,
        KALAM_CAP_PROPERTIES, KALAM_CAP_CHECKPOINT, KALAM_CAP_READ_ONLY_OPEN}) {
    EXPECT_TRUE(plugin().has(cap)) << cap;
  }
  EXPECT_FALSE(plugin().has(KALAM_CAP_MULTI_PROCESS));
  EXPECT_NE(info.vtable->compact_range, nullptr);
  EXPECT_NE(info.vtable->get_property, nullptr);
  EXPECT_NE(info.vtable->checkpoint, nullptr);
}

TEST_F(RocksdbPluginTest, Entry_RefusesAnotherAbiMajorAndFillsOnlyCovered) {
  void* handle = dlopen(KALAM_TEST_PLUGIN_ROCKSDB_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr);
  auto entry = reinterpret_cast<kalam_plugin_entry_fn>(
      dlsym(handle, KALAM_PLUGIN_ENTRY_SYMBOL));
  ASSERT_NE(entry, nullptr);

  kalam_host host{};
  host.struct_size = sizeof host;
  host.abi_major = KALAM_ABI_VERSION_MAJOR + 1;
  kalam_plugin_info info{};
  info.struct_size = sizeof info;
  RawStatus status;
  EXPECT_EQ(entry(&host, &info, &status), KALAM_ABI_MISMATCH);
  EXPECT_EQ(status.code, KALAM_ABI_MISMATCH);
  EXPECT_NE(std::string(status.message).find("ABI"), std::string::npos);

  // An older, smaller info struct: nothing past its struct_size is written.
  host.abi_major = KALAM_ABI_VERSION_MAJOR;
  struct {
    kalam_plugin_info info;
    uint64_t guard;
  } small{};
  small.info.struct_size = offsetof(kalam_plugin_info, name);
  small.guard = 0xABCDu;
  EXPECT_EQ(entry(&host, &small.info, nullptr), KALAM_OK);
  EXPECT_EQ(small.info.format_version, 1u);
  EXPECT_EQ(small.info.name, nullptr);
  EXPECT_EQ(small.info.vtable, nullptr);
  EXPECT_EQ(small.guard, 0xABCDu);
}

// ---- Options ------------------------------------------------------------

TEST_F(RocksdbPluginTest, Options_CommonKeysWithUnitSuffixes) {
  Open({{"block_cache_size", "64MiB"},
        {"write_buffer_size", "8MiB"},
        {"block_size", "16KiB"},
        {"compression", "lz4"},
        {"max_open_files", "500"},
        {"bloom_filter_bits", "12"},
        {"info_log_level", "error"}});
  std::string text = options_file(path_);
  EXPECT_NE(text.find("write_buffer_size=8388608"), std::string::npos);
  EXPECT_NE(text.find("block_size=16384"), std::string::npos);
  EXPECT_NE(text.find("compression=kLZ4Compression"), std::string::npos);
  EXPECT_NE(text.find("max_open_files=500"), std::string::npos);
  EXPECT_NE(text.find("info_log_level=ERROR_LEVEL"), std::string::npos);
  EXPECT_NE(text.find("bloomfilter:12"), std::string::npos) << text;

  std::string capacity;
  RawStatus status;
  ASSERT_EQ(vt().get_property(
                db_, nullptr, "rocksdb.block-cache-capacity",
                [](void* ctx, const void* v, size_t n) {
                  static_cast<std::string*>(ctx)->assign(
                      static_cast<const char*>(v), n);
                },
                &capacity, &status),
            KALAM_OK)
      << status.text();
  EXPECT_EQ(capacity, std::to_string(64u << 20));
  Close();

  // Zero turns the block cache and the bloom filter off; RocksDB's own
  // compression names work too.
  Open({{"block_cache_size", "0"},
        {"bloom_filter_bits", "0"},
        {"compression", "kZSTD"}});
  text = options_file(path_);
  EXPECT_NE(text.find("no_block_cache=true"), std::string::npos);
  EXPECT_NE(text.find("filter_policy=nullptr"), std::string::npos);
  EXPECT_NE(text.find("compression=kZSTD"), std::string::npos);
}

TEST_F(RocksdbPluginTest, Options_SizeUnits) {
  // KB/MB/GB are powers of 1024 like KiB/MiB/GiB; plain numbers are bytes.
  for (const auto& [text, bytes] :
       std::vector<std::pair<std::string, uint64_t>>{{"4194304", 4194304},
                                                     {"512KiB", 512 << 10},
                                                     {"512KB", 512 << 10},
                                                     {"4 MiB", 4 << 20},
                                                     {"4mb", 4 << 20},
                                                     {"4M", 4 << 20}}) {
    TempDir dir;
    std::string path = (dir / "db").string();
    kalam_db* db = nullptr;
    RawStatus status;
    ASSERT_EQ(
        raw_open(plugin(), path, {{"write_buffer_size", text}}, &db, &status),
        KALAM_OK)
        << text << ": " << status.text();
    ASSERT_EQ(vt().close(db, &status), KALAM_OK);
    EXPECT_NE(options_file(path).find(
                  "write_buffer_size=" + std::to_string(bytes) + "\n"),
              std::string::npos)
        << text;
  }
}

TEST_F(RocksdbPluginTest, Options_NativeDbAndColumnFamilyKeys) {
  Open({{"max_background_jobs", "3"},
        {"level0_file_num_compaction_trigger", "7"},
        {"block_based_table_factory.block_restart_interval", "8"}});
  std::string text = options_file(path_);
  EXPECT_NE(text.find("max_background_jobs=3"), std::string::npos);
  EXPECT_NE(text.find("level0_file_num_compaction_trigger=7"),
            std::string::npos);
  EXPECT_NE(text.find("block_restart_interval=8"), std::string::npos);
  // Every column family gets the same options.
  Cf("other");
  Close();
  text = options_file(path_);
  size_t first = text.find("level0_file_num_compaction_trigger=7");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(text.find("level0_file_num_compaction_trigger=7", first + 1),
            std::string::npos);
}

TEST_F(RocksdbPluginTest, Options_UnknownKeyRejectedNamingIt) {
  RawStatus status;
  EXPECT_EQ(
      raw_open(plugin(), path_, {{"no_such_option_xyz", "1"}}, &db_, &status),
      KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(db_, nullptr);
  EXPECT_EQ(status.code, KALAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(status.message).find("no_such_option_xyz"),
            std::string::npos)
      << status.message;
}

TEST_F(RocksdbPluginTest, Options_BadValuesRejectedNamingKeyAndValue) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"block_cache_size", "64 parsecs"},
           {"block_cache_size", "-1"},
           {"write_buffer_size", "lots"},
           {"compression", "brotli"},
           {"max_open_files", "many"},
           {"bloom_filter_bits", "-3"},
           {"info_log_level", "chatty"},
           {"max_background_jobs", "several"},
           {"level0_file_num_compaction_trigger", "x"}}) {
    RawStatus status;
    kalam_db* db = nullptr;
    EXPECT_EQ(raw_open(plugin(), path_, {{key, value}}, &db, &status),
              KALAM_INVALID_ARGUMENT)
        << key << "=" << value;
    EXPECT_EQ(db, nullptr);
    std::string message = status.message;
    EXPECT_NE(message.find(key), std::string::npos) << message;
    EXPECT_NE(message.find(value), std::string::npos) << message;
  }
}

TEST_F(RocksdbPluginTest, Options_OpenFlagKeysAreNotOptions) {
  RawStatus status;
  EXPECT_EQ(
      raw_open(plugin(), path_, {{"create_if_missing", "true"}}, &db_, &status),
      KALAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(status.message).find("create_if_missing"),
            std::string::npos);
}

TEST_F(RocksdbPluginTest, Options_InfoLogGoesToTheHostLog) {
  static std::mutex mutex;
  static std::vector<std::pair<int, std::string>> records;
  plugin();  // loaded first: its entry call must not replace our log below
  void* handle = dlopen(KALAM_TEST_PLUGIN_ROCKSDB_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr);
  auto entry = reinterpret_cast<kalam_plugin_entry_fn>(
      dlsym(handle, KALAM_PLUGIN_ENTRY_SYMBOL));
  kalam_host host{};
  host.struct_size = sizeof host;
  host.abi_major = KALAM_ABI_VERSION_MAJOR;
  host.log = [](void*, int32_t level, const char* message) {
    std::lock_guard<std::mutex> lock(mutex);
    records.emplace_back(level, message);
  };
  kalam_plugin_info info{};
  info.struct_size = sizeof info;
  ASSERT_EQ(entry(&host, &info, nullptr), KALAM_OK);

  Open({{"info_log_level", "info"}});
  Put("k", "v");
  Close();
  // The info log goes to the host, not to a LOG file.
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(path_) / "LOG"));
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_FALSE(records.empty());
    bool rocksdb_record = false;
    for (const auto& [level, message] : records) {
      EXPECT_EQ(message.rfind("rocksdb: ", 0), 0u) << message;
      EXPECT_NE(message.back(), '\n');
      if (level == KALAM_LOG_INFO &&
          message.find("opened") == std::string::npos &&
          message.find("closed") == std::string::npos) {
        rocksdb_record = true;  // from RocksDB itself, not the plugin
      }
    }
    EXPECT_TRUE(rocksdb_record);
    records.clear();
  }

  // Quiet by default: at WARN, a clean open/close logs nothing from RocksDB.
  Open({}, KALAM_OPEN_CREATE_IF_MISSING, (dir_ / "quiet").string());
  Close();
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& [level, message] : records) {
      EXPECT_TRUE(message.find("opened") != std::string::npos ||
                  message.find("closed") != std::string::npos)
          << message;
    }
    records.clear();
  }
  host.log = nullptr;
  ASSERT_EQ(entry(&host, &info, nullptr), KALAM_OK);
}

// ---- Open, close, persistence -------------------------------------------

TEST_F(RocksdbPluginTest, Open_MissingWithoutCreateIsNotFound) {
  RawStatus status;
  EXPECT_EQ(raw_open(plugin(), path_, {}, &db_, &status, 0), KALAM_NOT_FOUND);
  EXPECT_EQ(raw_open(plugin(), path_, {}, &db_, &status,
                     KALAM_OPEN_READ_ONLY | KALAM_OPEN_CREATE_IF_MISSING),
            KALAM_NOT_FOUND);
  EXPECT_EQ(db_, nullptr);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(RocksdbPluginTest, Open_SecondOpenOfTheSamePathIsBusy) {
  Open();
  kalam_db* second = nullptr;
  RawStatus status;
  EXPECT_EQ(raw_open(plugin(), path_, {}, &second, &status), KALAM_BUSY);
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(std::string(status.message).find(path_), std::string::npos)
      << status.message;
}

TEST_F(RocksdbPluginTest, Open_RejectsNullArguments) {
  RawStatus status;
  kalam_db* db = nullptr;
  EXPECT_EQ(vt().open(nullptr, &db, &status), KALAM_INVALID_ARGUMENT);
  kalam_open_params params{};
  params.struct_size = sizeof params;
  EXPECT_EQ(vt().open(&params, &db, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(db, nullptr);
  EXPECT_EQ(vt().close(nullptr, &status), KALAM_INVALID_ARGUMENT);
}

TEST_F(RocksdbPluginTest, Reopen_KeepsDataAndColumnFamilies) {
  Open();
  kalam_cf* users = Cf("users");
  kalam_cf* empty = Cf("empty");
  ASSERT_NE(users, nullptr);
  ASSERT_NE(empty, nullptr);
  Write({{KALAM_OP_PUT, nullptr, "a", "1"},
         {KALAM_OP_PUT, users, "alice", std::string("x\0y", 3)}},
        /*sync=*/true);
  Put("b", "2");  // not synced: in the WAL, durable across close()
  Close();

  Open({}, 0);
  EXPECT_EQ(CfNames(), (std::set<std::string>{"default", "users", "empty"}));
  users = Cf("users", 0);
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(Get("a"), "1");
  EXPECT_EQ(Get("b"), "2");
  EXPECT_EQ(Get("alice", users), std::string("x\0y", 3));
  EXPECT_EQ(Get("alice"), "<NOT_FOUND>");
  EXPECT_EQ(Get("a", users), "<NOT_FOUND>");
  kalam_cf* missing = nullptr;
  RawStatus status;
  EXPECT_EQ(vt().cf_open(db_, "missing", 0, &missing, &status),
            KALAM_NOT_FOUND);
}

TEST_F(RocksdbPluginTest, ColumnFamilies_SameNameSameHandleDefaultIsNull) {
  Open();
  kalam_cf* a = Cf("a");
  EXPECT_EQ(Cf("a"), a);
  EXPECT_EQ(Cf("a", 0), a);
  kalam_cf* def = reinterpret_cast<kalam_cf*>(0x1);
  RawStatus status;
  EXPECT_EQ(vt().cf_open(db_, "default", 0, &def, &status), KALAM_OK);
  EXPECT_EQ(def, nullptr);
  EXPECT_EQ(vt().cf_drop(db_, nullptr, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().cf_open(db_, "", KALAM_CF_CREATE_IF_MISSING, &def, &status),
            KALAM_INVALID_ARGUMENT);
}

TEST_F(RocksdbPluginTest, ReadOnly_ReadsWorkWritesAreNotSupported) {
  Open();
  kalam_cf* cf = Cf("cf");
  Put("k", "v");
  Put("ck", "cv", cf);
  Close();

  Open({}, KALAM_OPEN_READ_ONLY);
  cf = Cf("cf", 0);
  EXPECT_EQ(Get("k"), "v");
  EXPECT_EQ(Get("ck", cf), "cv");
  RawStatus status;
  EXPECT_EQ(
      raw_write(plugin(), db_, {{KALAM_OP_PUT, nullptr, "k2", "v2"}}, &status),
      KALAM_NOT_SUPPORTED);
  EXPECT_EQ(status.code, KALAM_NOT_SUPPORTED);
  kalam_cf* created = nullptr;
  EXPECT_EQ(
      vt().cf_open(db_, "new", KALAM_CF_CREATE_IF_MISSING, &created, &status),
      KALAM_NOT_SUPPORTED);
  EXPECT_EQ(vt().cf_drop(db_, cf, &status), KALAM_NOT_SUPPORTED);
  EXPECT_EQ(
      vt().compact_range(db_, nullptr, 0, nullptr, 0, nullptr, 0, &status),
      KALAM_NOT_SUPPORTED);
  EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK);
  EXPECT_EQ(raw_scan(plugin(), db_, nullptr), (Entries{{"k", "v"}}));
  std::string target = (dir_ / "ro-ckpt").string();
  EXPECT_EQ(vt().checkpoint(db_, target.c_str(), &status), KALAM_OK)
      << status.text();
  Close();

  // Nothing was written.
  Open({}, 0);
  EXPECT_EQ(Get("k2"), "<NOT_FOUND>");
  EXPECT_EQ(CfNames(), (std::set<std::string>{"default", "cf"}));
}

// ---- Checkpoint, flush, compaction, properties -------------------------

TEST_F(RocksdbPluginTest, Checkpoint_OpensWithTheSameData) {
  Open();
  kalam_cf* cf = Cf("cf");
  for (int i = 0; i < 100; ++i) {
    Put("key" + std::to_string(i), "value" + std::to_string(i));
  }
  Put("ck", "cv", cf);
  std::string target = (dir_ / "ckpt").string();
  RawStatus status;
  ASSERT_EQ(vt().checkpoint(db_, target.c_str(), &status), KALAM_OK)
      << status.text();
  // The directory must not exist yet.
  EXPECT_EQ(vt().checkpoint(db_, target.c_str(), &status),
            KALAM_INVALID_ARGUMENT);
  Put("after", "checkpoint");
  Close();

  Open({}, 0, target);
  EXPECT_EQ(CfNames(), (std::set<std::string>{"default", "cf"}));
  EXPECT_EQ(raw_scan(plugin(), db_, nullptr).size(), 100u);
  EXPECT_EQ(Get("key42"), "value42");
  EXPECT_EQ(Get("ck", Cf("cf", 0)), "cv");
  EXPECT_EQ(Get("after"), "<NOT_FOUND>");
}

TEST_F(RocksdbPluginTest, FlushCompactAndProperties) {
  Open();
  for (int i = 0; i < 50; ++i) Put("k" + std::to_string(i), "v");
  RawStatus status;
  EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK) << status.text();
  EXPECT_EQ(vt().flush(db_, 1, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(
      vt().compact_range(db_, nullptr, 0, nullptr, 0, nullptr, 0, &status),
      KALAM_OK)
      << status.text();
  EXPECT_EQ(vt().compact_range(db_, nullptr,
                               KALAM_COMPACT_HAS_BEGIN | KALAM_COMPACT_HAS_END,
                               "k1", 2, "k3", 2, &status),
            KALAM_OK)
      << status.text();

  auto property = [&](const char* name, std::string* value) {
    return vt().get_property(
        db_, nullptr, name,
        [](void* ctx, const void* v, size_t n) {
          static_cast<std::string*>(ctx)->assign(static_cast<const char*>(v),
                                                 n);
        },
        value, &status);
  };
  std::string value;
  ASSERT_EQ(property(KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &value), KALAM_OK);
  EXPECT_EQ(value, "50");
  ASSERT_EQ(property(KALAM_PROPERTY_APPROXIMATE_BYTES, &value), KALAM_OK);
  EXPECT_GT(std::stoull(value), 0u);
  ASSERT_EQ(property(KALAM_PROPERTY_STATS, &value), KALAM_OK);
  EXPECT_NE(value.find("Compaction"), std::string::npos);
  ASSERT_EQ(property("rocksdb.num-files-at-level0", &value), KALAM_OK);
  EXPECT_EQ(property("rocksdb.no-such-property", &value), KALAM_NOT_FOUND);
  EXPECT_EQ(property("kalam.no-such-property", &value), KALAM_NOT_FOUND);
}

// ---- Writes -------------------------------------------------------------

TEST_F(RocksdbPluginTest, DeleteRange_RemovesHalfOpenRangeEmptyIsNoOp) {
  Open();
  kalam_cf* cf = Cf("cf");
  for (const char* key : {"a", "b", "bb", "c", "d", "e"}) {
    Put(key, "v");
    Put(key, "v", cf);
  }
  Write({{KALAM_OP_DELETE_RANGE, nullptr, "b", "d"}});
  EXPECT_EQ(raw_scan(plugin(), db_, nullptr),
            (Entries{{"a", "v"}, {"d", "v"}, {"e", "v"}}));
  EXPECT_EQ(raw_scan(plugin(), db_, cf).size(), 6u);  // other family intact

  // Empty and reversed ranges remove nothing and succeed.
  Write({{KALAM_OP_DELETE_RANGE, cf, "c", "c"},
         {KALAM_OP_DELETE_RANGE, cf, "e", "a"},
         {KALAM_OP_DELETE_RANGE, cf, "", ""}});
  EXPECT_EQ(raw_scan(plugin(), db_, cf).size(), 6u);

  // The begin may be empty: from the first key on.
  Write({{KALAM_OP_DELETE_RANGE, cf, "", "b"}});
  EXPECT_EQ(raw_scan(plugin(), db_, cf).size(), 5u);

  // Later ops win: a put after the range delete survives.
  Write({{KALAM_OP_DELETE_RANGE, cf, "a", "z"},
         {KALAM_OP_PUT, cf, "c", "again"}});
  EXPECT_EQ(raw_scan(plugin(), db_, cf), (Entries{{"c", "again"}}));
}

TEST_F(RocksdbPluginTest, Write_InvalidOpAppliesNothing) {
  Open();
  kalam_cf* cf = Cf("cf");
  RawStatus status;
  EXPECT_EQ(raw_write(plugin(), db_,
                      {{KALAM_OP_PUT, nullptr, "x", "1"},
                       {KALAM_OP_PUT, cf, "y", "2"},
                       {99, nullptr, "z", "3"}},
                      &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(status.message).find("op 2"), std::string::npos)
      << status.message;
  EXPECT_EQ(Get("x"), "<NOT_FOUND>");
  EXPECT_EQ(Get("y", cf), "<NOT_FOUND>");

  // Keys are 1 or more bytes: an empty key in a PUT or DELETE is invalid.
  for (uint32_t type : {uint32_t{KALAM_OP_PUT}, uint32_t{KALAM_OP_DELETE}}) {
    EXPECT_EQ(
        raw_write(plugin(), db_,
                  {{KALAM_OP_PUT, nullptr, "x", "1"}, {type, nullptr, "", "v"}},
                  &status),
        KALAM_INVALID_ARGUMENT);
    EXPECT_NE(std::string(status.message).find("empty key"), std::string::npos)
        << status.message;
    EXPECT_EQ(Get("x"), "<NOT_FOUND>");
  }
  EXPECT_EQ(Get(""), "<NOT_FOUND>");

  // A NULL key with a length is invalid too.
  kalam_write_op ops[2] = {};
  ops[0].type = KALAM_OP_PUT;
  ops[0].key = "x";
  ops[0].key_len = 1;
  ops[1].type = KALAM_OP_DELETE;
  ops[1].key = nullptr;
  ops[1].key_len = 4;
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  EXPECT_EQ(vt().write(db_, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  // A stride smaller than the op struct.
  options.op_stride = sizeof(kalam_write_op) - 8;
  EXPECT_EQ(vt().write(db_, &options, ops, 1, &status), KALAM_INVALID_ARGUMENT);
  // Zero ops: a successful no-op.
  options.op_stride = sizeof(kalam_write_op);
  EXPECT_EQ(vt().write(db_, &options, nullptr, 0, &status), KALAM_OK);
  EXPECT_EQ(Get("x"), "<NOT_FOUND>");
}

TEST_F(RocksdbPluginTest, Write_SteppedByStrideAndSynced) {
  Open();
  // A host whose ops are bigger than ours (a later minor): stride > sizeof.
  struct BigOp {
    kalam_write_op op;
    uint64_t future_field;
  };
  BigOp ops[3] = {};
  const char* keys[3] = {"p", "q", "r"};
  for (int i = 0; i < 3; ++i) {
    ops[i].op.type = KALAM_OP_PUT;
    ops[i].op.key = keys[i];
    ops[i].op.key_len = 1;
    ops[i].op.value = "v";
    ops[i].op.value_len = 1;
    ops[i].future_field = ~0ull;
  }
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.flags = KALAM_WRITE_SYNC;
  options.op_stride = sizeof(BigOp);
  RawStatus status;
  ASSERT_EQ(vt().write(db_, &options, &ops[0].op, 3, &status), KALAM_OK)
      << status.text();
  EXPECT_EQ(raw_scan(plugin(), db_, nullptr),
            (Entries{{"p", "v"}, {"q", "v"}, {"r", "v"}}));
}

// ---- Reads --------------------------------------------------------------

TEST_F(RocksdbPluginTest, GetInto_BufferTooSmallLeavesBufferUntouched) {
  Open();
  Put("k", "0123456789");
  char buf[4] = {'#', '#', '#', '#'};
  size_t len = 0;
  RawStatus status;
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "k", 1, buf, sizeof buf, &len,
                          &status),
            KALAM_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, 10u);
  EXPECT_EQ(std::string(buf, 4), "####");
  char big[16];
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "k", 1, big, sizeof big, &len,
                          &status),
            KALAM_OK);
  EXPECT_EQ(std::string(big, len), "0123456789");
  len = 77;
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "nope", 4, big, sizeof big,
                          &len, &status),
            KALAM_NOT_FOUND);
  EXPECT_EQ(len, 77u);
}

TEST_F(RocksdbPluginTest, MultiGet_AcrossFamiliesInIndexOrder) {
  Open();
  kalam_cf* cf = Cf("cf");
  kalam_cf* doomed = Cf("doomed");
  Put("a", "1");
  Put("a", "cf-1", cf);
  Put("b", "2");
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, doomed, &status), KALAM_OK);

  std::vector<std::string> keys = {"a", "a", "missing", "b", "a", ""};
  std::vector<kalam_cf*> cfs = {nullptr, cf, nullptr, nullptr, doomed, cf};
  std::vector<const void*> key_ptrs;
  std::vector<size_t> key_lens;
  for (const auto& k : keys) {
    key_ptrs.push_back(k.data());
    key_lens.push_back(k.size());
  }
  using Seen = std::vector<std::tuple<size_t, int, std::string>>;
  Seen seen;
  ASSERT_EQ(vt().multi_get(
                db_, nullptr, keys.size(), cfs.data(), key_ptrs.data(),
                key_lens.data(),
                [](void* ctx, size_t i, int code, const void* v, size_t n) {
                  static_cast<Seen*>(ctx)->emplace_back(
                      i, code,
                      v == nullptr
                          ? ""
                          : std::string(static_cast<const char*>(v), n));
                },
                &seen, &status),
            KALAM_OK)
      << status.text();
  EXPECT_EQ(seen, (Seen{{0, KALAM_OK, "1"},
                        {1, KALAM_OK, "cf-1"},
                        {2, KALAM_NOT_FOUND, ""},
                        {3, KALAM_OK, "2"},
                        {4, KALAM_DROPPED, ""},
                        {5, KALAM_NOT_FOUND, ""}}));
}

TEST_F(RocksdbPluginTest, Snapshot_IsolatesReadsIteratorsAndMultiGet) {
  Open();
  kalam_cf* cf = Cf("cf");
  Put("a", "old");
  Put("c", "old", cf);
  RawStatus status;
  kalam_snapshot* snapshot = nullptr;
  ASSERT_EQ(vt().snapshot_create(db_, &snapshot, &status), KALAM_OK);
  Write({{KALAM_OP_PUT, nullptr, "a", "new"},
         {KALAM_OP_PUT, nullptr, "b", "new"},
         {KALAM_OP_DELETE, cf, "c", ""}});

  EXPECT_EQ(Get("a", nullptr, snapshot), "old");
  EXPECT_EQ(Get("b", nullptr, snapshot), "<NOT_FOUND>");
  EXPECT_EQ(Get("c", cf, snapshot), "old");
  EXPECT_EQ(Get("a"), "new");
  EXPECT_EQ(Get("c", cf), "<NOT_FOUND>");

  kalam_iter* iter = Iter(nullptr, nullptr, nullptr, snapshot);
  ASSERT_EQ(vt().iter_seek_first(iter, nullptr), KALAM_OK);
  EXPECT_EQ(WalkSingle(iter, true), (Entries{{"a", "old"}}));
  DestroyIter(iter);

  const void* key_ptrs[] = {"a", "b"};
  size_t key_lens[] = {1, 1};
  kalam_read_options ro{};
  ro.struct_size = sizeof ro;
  ro.snapshot = snapshot;
  std::vector<std::pair<int, std::string>> seen;
  ASSERT_EQ(vt().multi_get(
                db_, &ro, 2, nullptr, key_ptrs, key_lens,
                [](void* ctx, size_t, int code, const void* v, size_t n) {
                  static_cast<std::vector<std::pair<int, std::string>>*>(ctx)
                      ->emplace_back(
                          code,
                          v == nullptr
                              ? ""
                              : std::string(static_cast<const char*>(v), n));
                },
                &seen, &status),
            KALAM_OK);
  EXPECT_EQ(seen, (std::vector<std::pair<int, std::string>>{
                      {KALAM_OK, "old"}, {KALAM_NOT_FOUND, ""}}));
  vt().snapshot_release(db_, snapshot);
  vt().snapshot_release(db_, nullptr);  // a no-op
}

// ---- Iterators ----------------------------------------------------------

class RocksdbIteratorTest : public RocksdbPluginTest {
 protected:
  void SetUp() override {
    RocksdbPluginTest::SetUp();
    Open();
    std::vector<RawOp> ops;
    for (int i = 0; i < 10; ++i) {
      ops.push_back({KALAM_OP_PUT, nullptr, "k" + std::to_string(i),
                     "v" + std::to_string(i)});
    }
    Write(ops);
  }
};

TEST_F(RocksdbIteratorTest, Bounds_ClampSeeksInBothDirections) {
  std::string lower = "k2";
  std::string upper = "k7";
  kalam_iter* iter = Iter(nullptr, &lower, &upper);
  EXPECT_EQ(vt().iter_valid(iter), 0);  // starts unpositioned
  EXPECT_EQ(vt().iter_next(iter, nullptr), KALAM_NOT_FOUND);
  EXPECT_EQ(vt().iter_prev(iter, nullptr), KALAM_NOT_FOUND);

  EXPECT_EQ(vt().iter_seek_first(iter, nullptr), KALAM_OK);
  EXPECT_EQ(Key(iter), "k2");
  EXPECT_EQ(vt().iter_seek_last(iter, nullptr), KALAM_OK);
  EXPECT_EQ(Key(iter), "k6");

  EXPECT_EQ(Seek(iter, "k0"), KALAM_OK);  // below lower: clamped up
  EXPECT_EQ(Key(iter), "k2");
  EXPECT_EQ(Seek(iter, "k45"), KALAM_OK);
  EXPECT_EQ(Key(iter), "k5");
  EXPECT_EQ(Seek(iter, "k7"), KALAM_NOT_FOUND);  // at upper: nothing
  EXPECT_EQ(vt().iter_valid(iter), 0);
  EXPECT_EQ(Seek(iter, "k9"), KALAM_NOT_FOUND);

  EXPECT_EQ(SeekForPrev(iter, "k9"), KALAM_OK);  // above upper: clamped down
  EXPECT_EQ(Key(iter), "k6");
  EXPECT_EQ(SeekForPrev(iter, "k7"), KALAM_OK);
  EXPECT_EQ(Key(iter), "k6");
  EXPECT_EQ(SeekForPrev(iter, "k45"), KALAM_OK);
  EXPECT_EQ(Key(iter), "k4");
  EXPECT_EQ(SeekForPrev(iter, "k2"), KALAM_OK);
  EXPECT_EQ(Key(iter), "k2");
  EXPECT_EQ(vt().iter_prev(iter, nullptr), KALAM_NOT_FOUND);  // lower bound
  EXPECT_EQ(vt().iter_valid(iter), 0);
  EXPECT_EQ(SeekForPrev(iter, "k1"), KALAM_NOT_FOUND);  // below lower
  EXPECT_EQ(SeekForPrev(iter, ""), KALAM_NOT_FOUND);

  EXPECT_EQ(vt().iter_seek_last(iter, nullptr), KALAM_OK);
  EXPECT_EQ(vt().iter_next(iter, nullptr), KALAM_NOT_FOUND);  // upper bound
  EXPECT_EQ(vt().iter_status(iter, nullptr), KALAM_OK);
}

TEST_F(RocksdbIteratorTest, Bounds_AreCopiedAtCreation) {
  std::string lower = "k3";
  std::string upper = "k5";
  kalam_iter* iter = Iter(nullptr, &lower, &upper);
  lower.assign("k0");  // the host's bytes change after the call
  upper.assign("k9");
  ASSERT_EQ(vt().iter_seek_first(iter, nullptr), KALAM_OK);
  EXPECT_EQ(WalkSingle(iter, true), (Entries{{"k3", "v3"}, {"k4", "v4"}}));
}

TEST_F(RocksdbIteratorTest, Reverse_WalkIsTheForwardWalkReversed) {
  std::string lower = "k1";
  std::string upper = "k8";
  kalam_iter* iter = Iter(nullptr, &lower, &upper);
  ASSERT_EQ(vt().iter_seek_first(iter, nullptr), KALAM_OK);
  Entries forward = WalkSingle(iter, true);
  ASSERT_EQ(vt().iter_seek_last(iter, nullptr), KALAM_OK);
  Entries backward = WalkSingle(iter, false);
  std::reverse(backward.begin(), backward.end());
  EXPECT_EQ(forward.size(), 7u);
  EXPECT_EQ(forward, backward);

  // Empty and reversed bound pairs see nothing.
  std::string same = "k3";
  kalam_iter* empty = Iter(nullptr, &same, &same);
  EXPECT_EQ(vt().iter_seek_first(empty, nullptr), KALAM_NOT_FOUND);
  EXPECT_EQ(vt().iter_seek_last(empty, nullptr), KALAM_NOT_FOUND);
  kalam_iter* reversed = Iter(nullptr, &upper, &lower);
  EXPECT_EQ(vt().iter_seek_first(reversed, nullptr), KALAM_NOT_FOUND);
  EXPECT_EQ(SeekForPrev(reversed, "k5"), KALAM_NOT_FOUND);
}

TEST_F(RocksdbIteratorTest, PrefixNarrowsTheBounds) {
  Put("j", "x");
  Put("k", "x");
  Put("l", "x");
  kalam_iter_options options{};
  options.struct_size = sizeof options;
  options.flags = KALAM_ITER_PREFIX;
  options.prefix = "k";
  options.prefix_len = 1;
  kalam_iter* iter = nullptr;
  RawStatus status;
  ASSERT_EQ(vt().iter_create(db_, &options, nullptr, &iter, &status), KALAM_OK);
  iters_.push_back(iter);
  ASSERT_EQ(vt().iter_seek_last(iter, nullptr), KALAM_OK);
  EXPECT_EQ(Key(iter), "k9");
  ASSERT_EQ(vt().iter_seek_first(iter, nullptr), KALAM_OK);
  EXPECT_EQ(WalkSingle(iter, true).size(), 11u);
}

TEST_F(RocksdbIteratorTest, NextBatch_EqualsSingleSteps) {
  std::vector<RawOp> ops;
  for (int i = 0; i < 200; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "m%03d", i);
    ops.push_back({KALAM_OP_PUT, nullptr, key, std::string(i % 7, 'x')});
  }
  Write(ops);
  for (bool forward : {true, false}) {
    for (size_t max : {size_t{1}, size_t{7}, size_t{64}, size_t{1000}}) {
      kalam_iter* iter = Iter();
      auto seek = [&] {
        return forward ? vt().iter_seek_first(iter, nullptr)
                       : vt().iter_seek_last(iter, nullptr);
      };
      ASSERT_EQ(seek(), KALAM_OK);
      Entries single = WalkSingle(iter, forward);
      ASSERT_EQ(seek(), KALAM_OK);
      Entries batched = WalkBatched(iter, forward, max);
      EXPECT_EQ(single.size(), 210u);
      EXPECT_EQ(batched, single) << "forward=" << forward << " max=" << max;
      EXPECT_EQ(vt().iter_valid(iter), 0);
      DestroyIter(iter);
    }
  }
}

TEST_F(RocksdbIteratorTest, NextBatch_VisitorStopLeavesEntryUnconsumed) {
  kalam_iter* iter = Iter();
  ASSERT_EQ(vt().iter_seek_first(iter, nullptr), KALAM_OK);
  struct Ctx {
    int calls = 0;
  } ctx;
  size_t consumed = 99;
  RawStatus status;
  EXPECT_EQ(vt().iter_next_batch(
                iter, 0, 100,
                [](void* c, const void*, size_t, const void*, size_t) {
                  return ++static_cast<Ctx*>(c)->calls == 3 ? 1 : 0;
                },
                &ctx, &consumed, &status),
            KALAM_OK);
  EXPECT_EQ(consumed, 2u);
  EXPECT_EQ(Key(iter), "k2");  // the entry the visitor stopped on

  // max_entries 0 consumes nothing; an unpositioned iterator is NOT_FOUND.
  EXPECT_EQ(
      vt().iter_next_batch(
          iter, 0, 0,
          [](void*, const void*, size_t, const void*, size_t) { return 0; },
          nullptr, &consumed, &status),
      KALAM_OK);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(Seek(iter, "zzz"), KALAM_NOT_FOUND);
  consumed = 99;
  EXPECT_EQ(
      vt().iter_next_batch(
          iter, 0, 10,
          [](void*, const void*, size_t, const void*, size_t) { return 0; },
          nullptr, &consumed, &status),
      KALAM_NOT_FOUND);
  EXPECT_EQ(consumed, 0u);
}

TEST_F(RocksdbIteratorTest, Iterator_SeesDataAsOfItsCreation) {
  kalam_iter* iter = Iter();
  Put("k0", "changed");
  Put("k95", "added");
  ASSERT_EQ(vt().iter_seek_first(iter, nullptr), KALAM_OK);
  Entries seen = WalkSingle(iter, true);
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_EQ(seen[0].second, "v0");
}

// ---- Lifetimes and errors ------------------------------------------------

TEST_F(RocksdbPluginTest, Close_IsBusyWhileAnIteratorOrSnapshotLives) {
  Open();
  Put("k", "v");
  kalam_iter* iter = Iter();
  RawStatus status;
  EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
  EXPECT_EQ(status.code, KALAM_BUSY);
  EXPECT_NE(std::string(status.message).find("iterator"), std::string::npos);
  // Still open and usable.
  EXPECT_EQ(Get("k"), "v");
  DestroyIter(iter);

  kalam_snapshot* snapshot = nullptr;
  ASSERT_EQ(vt().snapshot_create(db_, &snapshot, &status), KALAM_OK);
  EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
  vt().snapshot_release(db_, snapshot);
  Close();
}

TEST_F(RocksdbPluginTest, DroppedFamily_ReturnsDroppedEverywhere) {
  Open();
  kalam_cf* cf = Cf("gone");
  Put("k", "v", cf);
  kalam_iter* before = Iter(cf);  // keeps its view
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, cf, &status), KALAM_OK) << status.text();

  EXPECT_EQ(vt().cf_drop(db_, cf, &status), KALAM_DROPPED);
  EXPECT_EQ(Get("k", cf), "<DROPPED>");
  char buf[8];
  size_t len;
  EXPECT_EQ(
      vt().get_into(db_, nullptr, cf, "k", 1, buf, sizeof buf, &len, &status),
      KALAM_DROPPED);
  EXPECT_EQ(raw_write(plugin(), db_,
                      {{KALAM_OP_PUT, nullptr, "x", "1"},
                       {KALAM_OP_PUT, cf, "k", "2"}},
                      &status),
            KALAM_DROPPED);
  EXPECT_EQ(status.code, KALAM_DROPPED);
  EXPECT_EQ(Get("x"), "<NOT_FOUND>");  // nothing of the batch applied
  kalam_iter* after = nullptr;
  EXPECT_EQ(vt().iter_create(db_, nullptr, cf, &after, &status), KALAM_DROPPED);
  EXPECT_EQ(after, nullptr);
  EXPECT_EQ(vt().compact_range(db_, cf, 0, nullptr, 0, nullptr, 0, &status),
            KALAM_DROPPED);
  EXPECT_EQ(vt().get_property(
                db_, cf, KALAM_PROPERTY_STATS,
                [](void*, const void*, size_t) {}, nullptr, &status),
            KALAM_DROPPED);
  EXPECT_EQ(CfNames(), (std::set<std::string>{"default"}));

  ASSERT_EQ(vt().iter_seek_first(before, nullptr), KALAM_OK);
  EXPECT_EQ(Key(before), "k");
  DestroyIter(before);

  // Re-creating the name gives a new, empty family.
  kalam_cf* again = Cf("gone");
  EXPECT_NE(again, cf);
  EXPECT_EQ(Get("k", again), "<NOT_FOUND>");
  EXPECT_EQ(Get("k", cf), "<DROPPED>");
  Close();
  Open({}, 0);
  EXPECT_EQ(CfNames(), (std::set<std::string>{"default", "gone"}));
  EXPECT_EQ(Get("k", Cf("gone", 0)), "<NOT_FOUND>");
}

TEST_F(RocksdbPluginTest, Status_IsWrittenOnlyWithinItsStructSize) {
  Open();
  // An older, smaller status: message is not covered, so it stays intact.
  struct {
    kalam_status status;
  } small{};
  small.status.struct_size = offsetof(kalam_status, message);
  std::memset(small.status.message, 'Z', sizeof small.status.message);
  EXPECT_EQ(vt().flush(db_, 7, &small.status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(small.status.code, KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(small.status.message[0], 'Z');

  // A full status is NUL-terminated; NOT_FOUND leaves it alone.
  RawStatus status;
  EXPECT_EQ(vt().flush(db_, 7, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_NE(std::memchr(status.message, '\0', sizeof status.message), nullptr);
  RawStatus untouched;
  std::string value;
  EXPECT_EQ(raw_get(plugin(), db_, nullptr, "missing", &value, &untouched),
            KALAM_NOT_FOUND);
  EXPECT_EQ(untouched.code, 0);
  EXPECT_EQ(untouched.message[0], '\0');
}

TEST_F(RocksdbPluginTest, ThreadSafe_ConcurrentWritersAndReaders) {
  Open();
  kalam_cf* cf = Cf("cf");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        RawStatus status;
        if (raw_write(plugin(), db_,
                      {{KALAM_OP_PUT, nullptr, key, "v"},
                       {KALAM_OP_PUT, cf, key, "w"}},
                      &status) != KALAM_OK) {
          ++failures;
        }
        std::string value;
        if (raw_get(plugin(), db_, cf, key, &value, &status) != KALAM_OK ||
            value != "w") {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(raw_scan(plugin(), db_, cf).size(), 800u);
}

}  // namespace
}  // namespace kalam::test
