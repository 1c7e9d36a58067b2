// What is special about the RocksDB plugin (kalam_rocksdb.so), through the
// raw C ABI and the conformance harness (RawDatabase): options (common keys
// with units, native DB and column family options, bad values), the info log
// forwarded to the host, one open per path, read-only opens, checkpoints,
// compaction and native properties. Behaviour every plugin shares is tested
// by tests/conformance.
#include <gtest/gtest.h>
#include <kalam/test_paths.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conformance.h"

namespace kalam::conformance {
namespace {

namespace fs = std::filesystem;
using Options = std::map<std::string, std::string>;

const BackendUnderTest kRocksdb{"rocksdb", KALAM_TEST_PLUGIN_ROCKSDB_PATH, {}};

// The text of the newest OPTIONS-* file RocksDB wrote into `dir`.
std::string options_file(const fs::path& dir) {
  std::string newest;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("OPTIONS-", 0) == 0 && name > newest) newest = name;
  }
  std::ifstream in(dir / newest);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class RocksdbTest : public ::testing::Test, public RawDatabase {
 protected:
  void SetUp() override { ASSERT_TRUE(start(kRocksdb)); }
  void TearDown() override { close_db(); }
};

// ---- Entry point --------------------------------------------------------

TEST_F(RocksdbTest, Entry_ReportsNameVersionAndCapabilities) {
  EXPECT_EQ(plugin().name(), "rocksdb");
  EXPECT_NE(plugin().version().find("RocksDB 7."), std::string::npos)
      << plugin().version();
  EXPECT_EQ(plugin().format_version(), 1u);
  EXPECT_EQ(vt().struct_size, sizeof(kalam_backend_vtable));
  for (uint64_t cap :
       {KALAM_CAP_PERSISTENT, KALAM_CAP_DURABLE_SYNC, KALAM_CAP_ATOMIC_BATCH,
        KALAM_CAP_SNAPSHOTS, KALAM_CAP_REVERSE_ITERATION,
        KALAM_CAP_DELETE_RANGE, KALAM_CAP_THREAD_SAFE, KALAM_CAP_COMPACT_RANGE,
        KALAM_CAP_PROPERTIES, KALAM_CAP_CHECKPOINT, KALAM_CAP_READ_ONLY_OPEN}) {
    EXPECT_TRUE(has(cap)) << capability_names(cap).front();
  }
  EXPECT_FALSE(has(KALAM_CAP_MULTI_PROCESS));
  EXPECT_NE(vt().compact_range, nullptr);
  EXPECT_NE(vt().get_property, nullptr);
  EXPECT_NE(vt().checkpoint, nullptr);
}

// ---- Options ------------------------------------------------------------

TEST_F(RocksdbTest, Options_CommonKeysWithUnitSuffixes) {
  open_with({{"block_cache_size", "64MiB"},
             {"write_buffer_size", "8MiB"},
             {"block_size", "16KiB"},
             {"compression", "lz4"},
             {"max_open_files", "500"},
             {"bloom_filter_bits", "12"},
             {"info_log_level", "error"}});
  std::string text = options_file(db_path());
  EXPECT_NE(text.find("write_buffer_size=8388608"), std::string::npos);
  EXPECT_NE(text.find("block_size=16384"), std::string::npos);
  EXPECT_NE(text.find("compression=kLZ4Compression"), std::string::npos);
  EXPECT_NE(text.find("max_open_files=500"), std::string::npos);
  EXPECT_NE(text.find("info_log_level=ERROR_LEVEL"), std::string::npos);
  EXPECT_NE(text.find("bloomfilter:12"), std::string::npos) << text;
  std::string capacity;
  ASSERT_EQ(property(nullptr, "rocksdb.block-cache-capacity", &capacity),
            KALAM_OK);
  EXPECT_EQ(capacity, std::to_string(64u << 20));

  // Zero turns the block cache and the bloom filter off; RocksDB's own
  // compression names work too.
  open_with({{"block_cache_size", "0"},
             {"bloom_filter_bits", "0"},
             {"compression", "kZSTD"}});
  text = options_file(db_path());
  EXPECT_NE(text.find("no_block_cache=true"), std::string::npos);
  EXPECT_NE(text.find("filter_policy=nullptr"), std::string::npos);
  EXPECT_NE(text.find("compression=kZSTD"), std::string::npos);
}

TEST_F(RocksdbTest, Options_SizeUnits) {
  // KB/MB/GB are powers of 1024 like KiB/MiB/GiB; plain numbers are bytes.
  int n = 0;
  for (const auto& [text, bytes] :
       std::vector<std::pair<std::string, uint64_t>>{{"4194304", 4194304},
                                                     {"512KiB", 512 << 10},
                                                     {"512KB", 512 << 10},
                                                     {"4 MiB", 4 << 20},
                                                     {"4mb", 4 << 20},
                                                     {"4M", 4 << 20}}) {
    const fs::path path = dir_ / ("units" + std::to_string(n++));
    kalam_db* db = nullptr;
    RawStatus status;
    ASSERT_EQ(open_at(path, &db, KALAM_OPEN_CREATE_IF_MISSING,
                      {{"write_buffer_size", text}}, &status),
              KALAM_OK)
        << text << ": " << status.text();
    ASSERT_EQ(vt().close(db, &status), KALAM_OK);
    EXPECT_NE(options_file(path).find(
                  "write_buffer_size=" + std::to_string(bytes) + "\n"),
              std::string::npos)
        << text;
  }
}

TEST_F(RocksdbTest, Options_NativeDbAndColumnFamilyKeys) {
  open_with({{"max_background_jobs", "3"},
             {"level0_file_num_compaction_trigger", "7"},
             {"block_based_table_factory.block_restart_interval", "8"}});
  std::string text = options_file(db_path());
  EXPECT_NE(text.find("max_background_jobs=3"), std::string::npos);
  EXPECT_NE(text.find("level0_file_num_compaction_trigger=7"),
            std::string::npos);
  EXPECT_NE(text.find("block_restart_interval=8"), std::string::npos);
  // Every column family gets the same options.
  ASSERT_NE(cf("other"), nullptr);
  close_db();
  text = options_file(db_path());
  size_t first = text.find("level0_file_num_compaction_trigger=7");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(text.find("level0_file_num_compaction_trigger=7", first + 1),
            std::string::npos);
}

TEST_F(RocksdbTest, Options_BadValuesRejectedNamingKeyAndValue) {
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
           {"level0_file_num_compaction_trigger", "x"},
           // An open flag is not an option.
           {"create_if_missing", "true"}}) {
    RawStatus status;
    kalam_db* db = nullptr;
    EXPECT_EQ(open_at(dir_ / "bad", &db, KALAM_OPEN_CREATE_IF_MISSING,
                      {{key, value}}, &status),
              KALAM_INVALID_ARGUMENT)
        << key << "=" << value;
    EXPECT_EQ(db, nullptr);
    std::string message = status.message;
    EXPECT_NE(message.find(key), std::string::npos) << message;
    if (key != "create_if_missing") {
      EXPECT_NE(message.find(value), std::string::npos) << message;
    }
  }
}

// Everything that reaches the engine's log sink while it lives; afterwards a
// sink like the default one (warnings and errors to stderr).
class LogCapture {
 public:
  struct Record {
    LogLevel level;
    std::string source;
    std::string message;
  };
  LogCapture() {
    set_log_sink([this](LogLevel level, std::string_view source,
                        std::string_view message) {
      std::lock_guard<std::mutex> lock(mu_);
      records_.push_back({level, std::string(source), std::string(message)});
    });
  }
  ~LogCapture() {
    set_log_sink(
        [](LogLevel level, std::string_view source, std::string_view message) {
          if (level < LogLevel::kWarn) return;
          std::fprintf(stderr, "[%.*s] %.*s\n", static_cast<int>(source.size()),
                       source.data(), static_cast<int>(message.size()),
                       message.data());
        });
  }
  std::vector<Record> take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(records_, {});
  }

 private:
  std::mutex mu_;
  std::vector<Record> records_;
};

bool opened_or_closed(const std::string& message) {
  return message.find("opened") != std::string::npos ||
         message.find("closed") != std::string::npos;
}

TEST_F(RocksdbTest, Options_InfoLogGoesToTheHostLog) {
  LogCapture capture;
  open_with({{"info_log_level", "info"}}, KALAM_OPEN_CREATE_IF_MISSING,
            dir_ / "verbose");
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  close_db();
  // The info log goes to the host, not to a LOG file.
  EXPECT_FALSE(fs::exists(dir_ / "verbose" / "LOG"));
  const auto records = capture.take();
  EXPECT_FALSE(records.empty());
  bool rocksdb_record = false;
  for (const auto& record : records) {
    EXPECT_EQ(record.source, "rocksdb");
    EXPECT_EQ(record.message.rfind("rocksdb: ", 0), 0u) << record.message;
    EXPECT_NE(record.message.back(), '\n');
    if (record.level == LogLevel::kInfo && !opened_or_closed(record.message)) {
      rocksdb_record = true;  // from RocksDB itself, not the plugin
    }
  }
  EXPECT_TRUE(rocksdb_record);

  // Quiet by default: at WARN, a clean open/close logs nothing from RocksDB.
  open_with({}, KALAM_OPEN_CREATE_IF_MISSING, dir_ / "quiet");
  close_db();
  for (const auto& record : capture.take()) {
    EXPECT_TRUE(opened_or_closed(record.message)) << record.message;
  }
}

// ---- Open modes -----------------------------------------------------------

TEST_F(RocksdbTest, Open_SecondOpenOfTheSamePathIsBusy) {
  kalam_db* second = nullptr;
  RawStatus status;
  EXPECT_EQ(
      open_at(db_path(), &second, KALAM_OPEN_CREATE_IF_MISSING, {}, &status),
      KALAM_BUSY);
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(std::string(status.message).find(db_path().string()),
            std::string::npos)
      << status.message;
}

TEST_F(RocksdbTest, ReadOnly_ReadsWorkEveryChangeIsNotSupported) {
  kalam_db* other = nullptr;
  RawStatus status;
  // Read-only never creates.
  EXPECT_EQ(
      open_at(dir_ / "absent", &other,
              KALAM_OPEN_READ_ONLY | KALAM_OPEN_CREATE_IF_MISSING, {}, &status),
      KALAM_NOT_FOUND);
  EXPECT_EQ(other, nullptr);
  EXPECT_FALSE(fs::exists(dir_ / "absent"));

  kalam_cf* family = cf("cf");
  ASSERT_EQ(write({Put(nullptr, "k", "v"), Put(family, "ck", "cv")}), KALAM_OK);
  open_with({}, KALAM_OPEN_READ_ONLY);
  family = existing("cf");
  EXPECT_EQ(value_of(family, "ck"), "cv");
  EXPECT_EQ(
      write({Put(nullptr, "k2", "v2")}, false, sizeof(kalam_write_op), &status),
      KALAM_NOT_SUPPORTED);
  EXPECT_EQ(status.code, KALAM_NOT_SUPPORTED);
  kalam_cf* created = nullptr;
  EXPECT_EQ(
      vt().cf_open(db_, "new", KALAM_CF_CREATE_IF_MISSING, &created, &status),
      KALAM_NOT_SUPPORTED);
  EXPECT_EQ(vt().cf_drop(db_, family, &status), KALAM_NOT_SUPPORTED);
  EXPECT_EQ(
      vt().compact_range(db_, nullptr, 0, nullptr, 0, nullptr, 0, &status),
      KALAM_NOT_SUPPORTED);
  EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK);
  EXPECT_EQ(scan(nullptr), (KV{{"k", "v"}}));
  const std::string target = (dir_ / "ro-ckpt").string();
  EXPECT_EQ(vt().checkpoint(db_, target.c_str(), &status), KALAM_OK)
      << status.text();

  // Nothing was written.
  open_with({}, 0);
  EXPECT_EQ(value_of(nullptr, "k2"), std::nullopt);
  EXPECT_EQ(list_families(), (std::vector<std::string>{"cf", "default"}));
}

// ---- Checkpoint, compaction, properties ------------------------------------

TEST_F(RocksdbTest, Checkpoint_OpensWithTheSameDataAndNeedsANewDirectory) {
  kalam_cf* family = cf("cf");
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(
        put(nullptr, "key" + std::to_string(i), "value" + std::to_string(i)),
        KALAM_OK);
  }
  ASSERT_EQ(put(family, "ck", "cv"), KALAM_OK);
  const std::string target = (dir_ / "ckpt").string();
  RawStatus status;
  ASSERT_EQ(vt().checkpoint(db_, target.c_str(), &status), KALAM_OK)
      << status.text();
  // The directory must not exist yet.
  EXPECT_EQ(vt().checkpoint(db_, target.c_str(), &status),
            KALAM_INVALID_ARGUMENT);
  ASSERT_EQ(put(nullptr, "after", "checkpoint"), KALAM_OK);

  open_with({}, 0, target);
  EXPECT_EQ(list_families(), (std::vector<std::string>{"cf", "default"}));
  EXPECT_EQ(scan(nullptr).size(), 100u);
  EXPECT_EQ(value_of(nullptr, "key42"), "value42");
  EXPECT_EQ(value_of(existing("cf"), "ck"), "cv");
  EXPECT_EQ(value_of(nullptr, "after"), std::nullopt);
}

TEST_F(RocksdbTest, FlushCompactAndNativeProperties) {
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(put(nullptr, "k" + std::to_string(i), "v"), KALAM_OK);
  }
  RawStatus status;
  EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK) << status.text();
  EXPECT_EQ(vt().compact_range(db_, nullptr,
                               KALAM_COMPACT_HAS_BEGIN | KALAM_COMPACT_HAS_END,
                               "k1", 2, "k3", 2, &status),
            KALAM_OK)
      << status.text();
  std::string value;
  ASSERT_EQ(property(nullptr, KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &value),
            KALAM_OK);
  EXPECT_EQ(value, "50");
  ASSERT_EQ(property(nullptr, KALAM_PROPERTY_APPROXIMATE_BYTES, &value),
            KALAM_OK);
  EXPECT_GT(std::stoull(value), 0u);
  ASSERT_EQ(property(nullptr, KALAM_PROPERTY_STATS, &value), KALAM_OK);
  EXPECT_NE(value.find("Compaction"), std::string::npos);
  // RocksDB's own properties pass through.
  EXPECT_EQ(property(nullptr, "rocksdb.num-files-at-level0", &value), KALAM_OK);
  EXPECT_EQ(property(nullptr, "rocksdb.no-such-property", &value),
            KALAM_NOT_FOUND);
}

// ---- Iterators, drops, lifetimes -------------------------------------------

// The ABI lets a plugin rely on the bounds the host narrows to the prefix;
// this one honours the prefix alone too.
TEST_F(RocksdbTest, PrefixAloneNarrowsTheRange) {
  std::vector<Op> ops;
  for (const char* k : {"j", "k", "k0", "k5", "k9", "l"}) {
    ops.push_back(Put(nullptr, k, "x"));
  }
  ASSERT_EQ(write(ops), KALAM_OK);
  Iter it = iter(nullptr, {.prefix = "k"});
  ASSERT_EQ(it.last(), KALAM_OK);
  EXPECT_EQ(it.key(), "k9");
  EXPECT_EQ(scan(nullptr, {.prefix = "k"}).size(), 4u);
}

// The ABI allows either; this plugin keeps the view of an iterator created
// before the drop, even for its first seek.
TEST_F(RocksdbTest, IteratorOnADroppedFamilyKeepsItsView) {
  kalam_cf* gone = cf("gone");
  ASSERT_EQ(put(gone, "k", "v"), KALAM_OK);
  Iter before = iter(gone);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, gone, &status), KALAM_OK) << status.text();
  ASSERT_EQ(before.first(), KALAM_OK);
  EXPECT_EQ(before.key(), "k");
}

// Optional in the ABI; this plugin keeps count and refuses.
TEST_F(RocksdbTest, Close_IsBusyWhileAnIteratorOrSnapshotLives) {
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  RawStatus status;
  {
    Iter it = iter(nullptr);
    EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
    EXPECT_EQ(status.code, KALAM_BUSY);
    EXPECT_NE(std::string(status.message).find("iterator"), std::string::npos);
    EXPECT_EQ(value_of(nullptr, "k"), "v");  // Still open and usable.
  }
  {
    auto snap = snapshot();
    EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
  }
  close_db();
}

// ---- Generic ABI behaviour the conformance suite does not check (yet) -------
// Candidates for tests/conformance; kept here until the suite has them.

TEST_F(RocksdbTest, Generic_NullPointersAndUnknownFlags) {
  RawStatus status;
  kalam_db* db = nullptr;
  kalam_open_params params{};
  params.struct_size = sizeof params;  // No path.
  EXPECT_EQ(vt().open(&params, &db, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(db, nullptr);
  EXPECT_EQ(vt().close(nullptr, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().flush(db_, 1, &status), KALAM_INVALID_ARGUMENT);
  vt().snapshot_release(db_, nullptr);  // A no-op.
  // NOT_FOUND leaves the status alone.
  RawStatus untouched;
  EXPECT_EQ(vt().get(
                db_, nullptr, nullptr, "missing", 7,
                [](void*, const void*, size_t) {}, nullptr, &untouched),
            KALAM_NOT_FOUND);
  EXPECT_EQ(untouched.code, 0);
  EXPECT_EQ(untouched.message[0], '\0');
}

TEST_F(RocksdbTest, Generic_WriteValidatesEveryOp) {
  kalam_cf* family = cf("cf");
  RawStatus status;
  EXPECT_EQ(write({Put(nullptr, "x", "1"), Put(family, "y", "2"),
                   Op{99, nullptr, "z", "3"}},
                  false, sizeof(kalam_write_op), &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(status.message).find("op 2"), std::string::npos)
      << status.message;
  // The empty key, in a PUT or a DELETE, is refused and named.
  for (const Op& empty : {Put(nullptr, "", "v"), Del(nullptr, "")}) {
    EXPECT_EQ(write({Put(nullptr, "x", "1"), empty}, false,
                    sizeof(kalam_write_op), &status),
              KALAM_INVALID_ARGUMENT);
    EXPECT_NE(std::string(status.message).find("empty key"), std::string::npos)
        << status.message;
  }
  // A NULL key with a length.
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
  EXPECT_EQ(value_of(nullptr, "x"), std::nullopt);
  // Zero ops, NULL array: a successful no-op.
  EXPECT_EQ(vt().write(db_, &options, nullptr, 0, &status), KALAM_OK);
}

TEST_F(RocksdbTest, Generic_DroppedFamilyEverywhere) {
  kalam_cf* gone = cf("gone");
  ASSERT_EQ(put(gone, "k", "v"), KALAM_OK);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, gone, &status), KALAM_OK) << status.text();
  char buf[8];
  size_t len;
  EXPECT_EQ(
      vt().get_into(db_, nullptr, gone, "k", 1, buf, sizeof buf, &len, &status),
      KALAM_DROPPED);
  EXPECT_EQ(vt().compact_range(db_, gone, 0, nullptr, 0, nullptr, 0, &status),
            KALAM_DROPPED);
  std::string value;
  EXPECT_EQ(property(gone, KALAM_PROPERTY_STATS, &value), KALAM_DROPPED);
  // multi_get: that key's DROPPED, not the call's.
  const void* keys[] = {"k", ""};
  const size_t lens[] = {1, 0};
  kalam_cf* const cfs[] = {gone, nullptr};
  std::vector<int> codes;
  ASSERT_EQ(vt().multi_get(
                db_, nullptr, 2, cfs, keys, lens,
                [](void* ctx, size_t, int code, const void*, size_t) {
                  static_cast<std::vector<int>*>(ctx)->push_back(code);
                },
                &codes, &status),
            KALAM_OK);
  EXPECT_EQ(codes, (std::vector<int>{KALAM_DROPPED, KALAM_NOT_FOUND}));

  // The name again: a new handle, the old one stays dropped, and the new
  // (empty) family survives a reopen.
  kalam_cf* again = cf("gone");
  EXPECT_NE(again, gone);
  EXPECT_EQ(kalam_code_name(get(gone, "k", &value)),
            kalam_code_name(KALAM_DROPPED));
  reopen();
  EXPECT_EQ(list_families(), (std::vector<std::string>{"default", "gone"}));
  EXPECT_EQ(value_of(existing("gone"), "k"), std::nullopt);
}

TEST_F(RocksdbTest, Generic_IteratorEdges) {
  std::vector<Op> ops;
  for (int i = 0; i < 10; ++i) {
    ops.push_back(
        Put(nullptr, "k" + std::to_string(i), "v" + std::to_string(i)));
  }
  ASSERT_EQ(write(ops), KALAM_OK);
  // Bounds are copied at creation: the host's bytes may change afterwards.
  std::string lower = "k3";
  std::string upper = "k5";
  kalam_iter_options options{};
  options.struct_size = sizeof options;
  options.flags = KALAM_ITER_LOWER_BOUND | KALAM_ITER_UPPER_BOUND;
  options.lower = lower.data();
  options.lower_len = lower.size();
  options.upper = upper.data();
  options.upper_len = upper.size();
  kalam_iter* raw = nullptr;
  RawStatus status;
  ASSERT_EQ(vt().iter_create(db_, &options, nullptr, &raw, &status), KALAM_OK);
  Iter copied(&vt(), raw);
  lower.assign("k0");
  upper.assign("k9");
  // Writes between creation and the first seek are not seen either.
  ASSERT_EQ(write({Put(nullptr, "k3", "changed"), Put(nullptr, "k35", "new")}),
            KALAM_OK);
  ASSERT_EQ(copied.first(), KALAM_OK);
  EXPECT_EQ(copied.entry(), (std::pair<std::string, std::string>{"k3", "v3"}));
  ASSERT_EQ(copied.next(), KALAM_OK);
  EXPECT_EQ(copied.key(), "k4");
  EXPECT_EQ(copied.next(), KALAM_NOT_FOUND);

  Iter it = iter(nullptr, {.lower = "k2", .upper = "k7"});
  EXPECT_EQ(it.prev(), KALAM_NOT_FOUND) << "unpositioned";
  EXPECT_EQ(it.seek_for_prev(""), KALAM_NOT_FOUND);
  ASSERT_EQ(it.seek_for_prev("k7"), KALAM_OK);  // the exclusive upper bound
  EXPECT_EQ(it.key(), "k6");
  ASSERT_EQ(it.seek_for_prev("k2"), KALAM_OK);  // the inclusive lower bound
  EXPECT_EQ(it.key(), "k2");
  EXPECT_EQ(vt().iter_status(it.get(), &status), KALAM_OK);
  // Empty and crossed bounds find nothing backwards either.
  Iter empty = iter(nullptr, {.lower = "k3", .upper = "k3"});
  EXPECT_EQ(empty.last(), KALAM_NOT_FOUND);
  Iter crossed = iter(nullptr, {.lower = "k8", .upper = "k1"});
  EXPECT_EQ(crossed.seek_for_prev("k5"), KALAM_NOT_FOUND);
}

TEST_F(RocksdbTest, Generic_NextBatchEdges) {
  ASSERT_EQ(write({Put(nullptr, "a", "1"), Put(nullptr, "b", "2")}), KALAM_OK);
  Iter it = iter(nullptr);
  ASSERT_EQ(it.first(), KALAM_OK);
  auto accept = [](void*, const void*, size_t, const void*, size_t) {
    return 0;
  };
  // max_entries 0 consumes nothing; an unpositioned iterator is NOT_FOUND.
  size_t consumed = 99;
  EXPECT_EQ(vt().iter_next_batch(it.get(), 0, 0, accept, nullptr, &consumed,
                                 &it.status),
            KALAM_OK);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(it.key(), "a");
  EXPECT_EQ(it.seek("zzz"), KALAM_NOT_FOUND);
  consumed = 99;
  EXPECT_EQ(vt().iter_next_batch(it.get(), 0, 10, accept, nullptr, &consumed,
                                 &it.status),
            KALAM_NOT_FOUND);
  EXPECT_EQ(consumed, 0u);
}

}  // namespace
}  // namespace kalam::conformance
