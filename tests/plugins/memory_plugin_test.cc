// Tests of the memory plugin (kalam_memory.so) through the raw C ABI: every
// corner of kalam/backend_api.h the reference implementation must get right,
// plus what is specific to it (no options, nothing survives close, old
// versions are reclaimed).

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <kalam/backend_api.h>
#include <kalam/test_paths.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "raw_plugin.h"

namespace kalam::test {
namespace {

using KVs = std::vector<std::pair<std::string, std::string>>;

const RawPlugin& Plugin() {
  static const RawPlugin plugin(KALAM_TEST_PLUGIN_MEMORY_PATH);
  return plugin;
}
const kalam_backend_vtable& Vt() { return Plugin().vt(); }

// A byte string from a list of byte values (0x00 and 0xFF included).
std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

std::string Hex(const std::string& s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool Contains(const char* text, const std::string& part) {
  return std::string(text).find(part) != std::string::npos;
}

std::optional<std::string> Get(kalam_db* db, kalam_cf* cf,
                               const std::string& key,
                               const kalam_snapshot* snapshot = nullptr) {
  std::string value;
  RawStatus status;
  int rc = raw_get(Plugin(), db, cf, key, &value, &status, snapshot);
  if (rc == KALAM_NOT_FOUND) return std::nullopt;
  EXPECT_EQ(rc, KALAM_OK) << status.text();
  return value;
}

void Put(kalam_db* db, kalam_cf* cf, const std::string& key,
         const std::string& value) {
  RawStatus status;
  ASSERT_EQ(raw_write(Plugin(), db, {{KALAM_OP_PUT, cf, key, value}}, &status),
            KALAM_OK)
      << status.text();
}

void Delete(kalam_db* db, kalam_cf* cf, const std::string& key) {
  RawStatus status;
  ASSERT_EQ(raw_write(Plugin(), db, {{KALAM_OP_DELETE, cf, key, ""}}, &status),
            KALAM_OK)
      << status.text();
}

void DeleteRange(kalam_db* db, kalam_cf* cf, const std::string& begin,
                 const std::string& end) {
  RawStatus status;
  ASSERT_EQ(raw_write(Plugin(), db, {{KALAM_OP_DELETE_RANGE, cf, begin, end}},
                      &status),
            KALAM_OK)
      << status.text();
}

std::string Property(kalam_db* db, kalam_cf* cf, const char* name,
                     int* rc_out = nullptr) {
  std::string text;
  RawStatus status;
  int rc = Vt().get_property(
      db, cf, name,
      [](void* ctx, const void* data, size_t len) {
        static_cast<std::string*>(ctx)->assign(static_cast<const char*>(data),
                                               len);
      },
      &text, &status);
  if (rc_out != nullptr) {
    *rc_out = rc;
  } else {
    EXPECT_EQ(rc, KALAM_OK) << status.text();
  }
  return text;
}

// The number after "<field>=" in the kalam.stats text.
uint64_t StatsField(const std::string& stats, const std::string& field) {
  auto at = stats.find(" " + field + "=");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no " << field << " in: " << stats;
    return 0;
  }
  return std::strtoull(stats.c_str() + at + field.size() + 2, nullptr, 10);
}

struct IterOptions {
  std::optional<std::string> lower;
  std::optional<std::string> upper;
  std::optional<std::string> prefix;
  const kalam_snapshot* snapshot = nullptr;
};

// An iterator, destroyed with the object.
class Iter {
 public:
  using Options = IterOptions;

  Iter(kalam_db* db, kalam_cf* cf, const Options& options = {}) {
    kalam_iter_options o{};
    o.struct_size = sizeof o;
    o.snapshot = options.snapshot;
    if (options.lower) {
      o.flags |= KALAM_ITER_LOWER_BOUND;
      o.lower = options.lower->data();
      o.lower_len = options.lower->size();
    }
    if (options.upper) {
      o.flags |= KALAM_ITER_UPPER_BOUND;
      o.upper = options.upper->data();
      o.upper_len = options.upper->size();
    }
    if (options.prefix) {
      o.flags |= KALAM_ITER_PREFIX;
      o.prefix = options.prefix->data();
      o.prefix_len = options.prefix->size();
    }
    RawStatus status;
    rc_ = Vt().iter_create(db, &o, cf, &iter_, &status);
    EXPECT_EQ(rc_, KALAM_OK) << status.text();
  }
  ~Iter() { Vt().iter_destroy(iter_); }
  Iter(const Iter&) = delete;
  Iter& operator=(const Iter&) = delete;

  kalam_iter* get() const { return iter_; }
  int First() { return Check(Vt().iter_seek_first(iter_, &status_)); }
  int Last() { return Check(Vt().iter_seek_last(iter_, &status_)); }
  int Seek(const std::string& target) {
    return Check(Vt().iter_seek(iter_, target.data(), target.size(), &status_));
  }
  int SeekForPrev(const std::string& target) {
    return Check(
        Vt().iter_seek_for_prev(iter_, target.data(), target.size(), &status_));
  }
  int Next() { return Check(Vt().iter_next(iter_, &status_)); }
  int Prev() { return Check(Vt().iter_prev(iter_, &status_)); }
  bool Valid() const { return Vt().iter_valid(iter_) != 0; }
  std::string Key() const { return Entry().first; }
  std::string Value() const { return Entry().second; }
  std::pair<std::string, std::string> Entry() const {
    const void* k = nullptr;
    const void* v = nullptr;
    size_t kl = 0;
    size_t vl = 0;
    int rc = Vt().iter_entry(iter_, &k, &kl, &v, &vl);
    EXPECT_EQ(rc, KALAM_OK);
    if (rc != KALAM_OK) return {};
    return {std::string(static_cast<const char*>(k), kl),
            std::string(static_cast<const char*>(v), vl)};
  }
  // Every entry from a fresh seek to the end, forwards or backwards.
  KVs All(bool reverse = false) {
    KVs out;
    int rc = reverse ? Last() : First();
    while (rc == KALAM_OK) {
      out.push_back(Entry());
      rc = reverse ? Prev() : Next();
    }
    EXPECT_EQ(rc, KALAM_NOT_FOUND);
    return out;
  }

 private:
  int Check(int rc) {
    EXPECT_TRUE(rc == KALAM_OK || rc == KALAM_NOT_FOUND) << status_.text();
    EXPECT_EQ(Valid(), rc == KALAM_OK);
    return rc;
  }

  kalam_iter* iter_ = nullptr;
  int rc_ = KALAM_OK;
  RawStatus status_;
};

// A snapshot, released with the object.
class Snap {
 public:
  explicit Snap(kalam_db* db) : db_(db) {
    RawStatus status;
    EXPECT_EQ(Vt().snapshot_create(db, &snapshot_, &status), KALAM_OK)
        << status.text();
  }
  ~Snap() { Vt().snapshot_release(db_, snapshot_); }
  Snap(const Snap&) = delete;
  Snap& operator=(const Snap&) = delete;
  const kalam_snapshot* get() const { return snapshot_; }

 private:
  kalam_db* db_;
  kalam_snapshot* snapshot_ = nullptr;
};

KVs Slice(const std::map<std::string, std::string>& model,
          const std::optional<std::string>& lower = std::nullopt,
          const std::optional<std::string>& upper = std::nullopt) {
  KVs out;
  for (const auto& [k, v] : model) {
    if (lower && k < *lower) continue;
    if (upper && k >= *upper) continue;
    out.emplace_back(k, v);
  }
  return out;
}

class MemoryPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RawStatus status;
    ASSERT_EQ(
        raw_open(Plugin(), "/nonexistent/kalam-memory", {}, &db_, &status),
        KALAM_OK)
        << status.text();
    ASSERT_NE(db_, nullptr);
  }
  void TearDown() override {
    if (db_ != nullptr) {
      RawStatus status;
      EXPECT_EQ(Vt().close(db_, &status), KALAM_OK) << status.text();
    }
  }

  kalam_cf* Family(const std::string& name) {
    kalam_cf* cf = nullptr;
    RawStatus status;
    EXPECT_EQ(Vt().cf_open(db_, name.c_str(), KALAM_CF_CREATE_IF_MISSING, &cf,
                           &status),
              KALAM_OK)
        << status.text();
    return cf;
  }

  kalam_db* db_ = nullptr;
};

// ---- Entry point and info ---------------------------------------------------

kalam_plugin_entry_fn EntryFunction() {
  void* handle = dlopen(KALAM_TEST_PLUGIN_MEMORY_PATH, RTLD_NOW | RTLD_LOCAL);
  EXPECT_NE(handle, nullptr) << dlerror();
  if (handle == nullptr) return nullptr;
  return reinterpret_cast<kalam_plugin_entry_fn>(
      dlsym(handle, KALAM_PLUGIN_ENTRY_SYMBOL));
}

kalam_host Host(uint32_t major) {
  kalam_host host{};
  host.struct_size = sizeof host;
  host.abi_major = major;
  host.abi_max_minor = KALAM_ABI_VERSION_MINOR;
  return host;
}

TEST(MemoryPluginEntry, DescribesItself) {
  const kalam_plugin_info& info = Plugin().info();
  EXPECT_EQ(info.abi_major, static_cast<uint32_t>(KALAM_ABI_VERSION_MAJOR));
  EXPECT_EQ(info.abi_minor, 0u);
  EXPECT_EQ(info.pointer_size, sizeof(void*));
  EXPECT_EQ(info.size_t_size, sizeof(size_t));
  EXPECT_EQ(info.format_version, 1u);
  EXPECT_STREQ(info.name, "memory");
  EXPECT_STREQ(info.version, "1.0.0");
  EXPECT_EQ(info.capabilities,
            KALAM_CAP_ATOMIC_BATCH | KALAM_CAP_SNAPSHOTS |
                KALAM_CAP_REVERSE_ITERATION | KALAM_CAP_DELETE_RANGE |
                KALAM_CAP_THREAD_SAFE | KALAM_CAP_PROPERTIES);
  EXPECT_FALSE(Plugin().has(KALAM_CAP_PERSISTENT));
  EXPECT_FALSE(Plugin().has(KALAM_CAP_DURABLE_SYNC));
  EXPECT_EQ(info.max_key_size, 0u);
  EXPECT_EQ(info.max_value_size, 0u);
  ASSERT_NE(info.vtable, nullptr);
  const kalam_backend_vtable& vt = *info.vtable;
  EXPECT_EQ(vt.struct_size, sizeof(kalam_backend_vtable));
  EXPECT_GE(vt.struct_size, KALAM_BACKEND_VTABLE_SIZE_1_0);
  EXPECT_EQ(vt.compact_range, nullptr);
  EXPECT_EQ(vt.checkpoint, nullptr);
  EXPECT_NE(vt.get_property, nullptr);
  // Every required ABI 1.0 pointer is set.
  using Fn = void (*)();
  const Fn required[] = {
      reinterpret_cast<Fn>(vt.open),
      reinterpret_cast<Fn>(vt.close),
      reinterpret_cast<Fn>(vt.flush),
      reinterpret_cast<Fn>(vt.cf_open),
      reinterpret_cast<Fn>(vt.cf_drop),
      reinterpret_cast<Fn>(vt.cf_list),
      reinterpret_cast<Fn>(vt.get),
      reinterpret_cast<Fn>(vt.get_into),
      reinterpret_cast<Fn>(vt.multi_get),
      reinterpret_cast<Fn>(vt.write),
      reinterpret_cast<Fn>(vt.snapshot_create),
      reinterpret_cast<Fn>(vt.snapshot_release),
      reinterpret_cast<Fn>(vt.iter_create),
      reinterpret_cast<Fn>(vt.iter_destroy),
      reinterpret_cast<Fn>(vt.iter_seek_first),
      reinterpret_cast<Fn>(vt.iter_seek_last),
      reinterpret_cast<Fn>(vt.iter_seek),
      reinterpret_cast<Fn>(vt.iter_seek_for_prev),
      reinterpret_cast<Fn>(vt.iter_next),
      reinterpret_cast<Fn>(vt.iter_prev),
      reinterpret_cast<Fn>(vt.iter_valid),
      reinterpret_cast<Fn>(vt.iter_entry),
      reinterpret_cast<Fn>(vt.iter_status),
      reinterpret_cast<Fn>(vt.iter_next_batch),
  };
  for (Fn fn : required) EXPECT_NE(fn, nullptr);
}

TEST(MemoryPluginEntry, RefusesAnotherAbiMajorWithAMessage) {
  kalam_plugin_entry_fn entry = EntryFunction();
  ASSERT_NE(entry, nullptr);
  kalam_host host = Host(KALAM_ABI_VERSION_MAJOR + 1);
  kalam_plugin_info info{};
  info.struct_size = sizeof info;
  RawStatus status;
  EXPECT_EQ(entry(&host, &info, &status), KALAM_ABI_MISMATCH);
  EXPECT_EQ(status.code, KALAM_ABI_MISMATCH);
  EXPECT_TRUE(Contains(status.message, "ABI")) << status.message;
  EXPECT_EQ(info.vtable, nullptr);  // Nothing filled on failure.
  EXPECT_EQ(info.name, nullptr);
}

TEST(MemoryPluginEntry, FillsOnlyTheFieldsTheInfoCovers) {
  kalam_plugin_entry_fn entry = EntryFunction();
  ASSERT_NE(entry, nullptr);
  kalam_host host = Host(KALAM_ABI_VERSION_MAJOR);
  kalam_plugin_info info;
  std::memset(&info, 0xAB, sizeof info);
  info.struct_size = offsetof(kalam_plugin_info, name);  // An older host.
  EXPECT_EQ(entry(&host, &info, nullptr), KALAM_OK);
  EXPECT_EQ(info.format_version, 1u);
  kalam_plugin_info untouched;
  std::memset(&untouched, 0xAB, sizeof untouched);
  EXPECT_EQ(std::memcmp(reinterpret_cast<const char*>(&info) +
                            offsetof(kalam_plugin_info, name),
                        reinterpret_cast<const char*>(&untouched) +
                            offsetof(kalam_plugin_info, name),
                        sizeof info - offsetof(kalam_plugin_info, name)),
            0);
}

TEST(MemoryPluginEntry, GivesTheSameAnswersWhenCalledAgain) {
  kalam_plugin_entry_fn entry = EntryFunction();
  ASSERT_NE(entry, nullptr);
  kalam_host host = Host(KALAM_ABI_VERSION_MAJOR);
  kalam_plugin_info a{};
  kalam_plugin_info b{};
  a.struct_size = b.struct_size = sizeof a;
  ASSERT_EQ(entry(&host, &a, nullptr), KALAM_OK);
  ASSERT_EQ(entry(&host, &b, nullptr), KALAM_OK);
  EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);
  EXPECT_EQ(a.vtable, Plugin().info().vtable);
}

// ---- Open, close, options ---------------------------------------------------

TEST(MemoryPluginOpen, RejectsEveryOptionNamingTheKey) {
  kalam_db* db = reinterpret_cast<kalam_db*>(0x1);  // Must stay untouched.
  RawStatus status;
  EXPECT_EQ(raw_open(Plugin(), "/tmp/x", {{"write_buffer_size", "64MiB"}}, &db,
                     &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(db, reinterpret_cast<kalam_db*>(0x1));
  EXPECT_EQ(status.code, KALAM_INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(status.message, "write_buffer_size")) << status.message;
}

TEST(MemoryPluginOpen, SucceedsWithoutCreateIfMissing) {
  kalam_db* db = nullptr;
  RawStatus status;
  ASSERT_EQ(raw_open(Plugin(), "/nowhere", {}, &db, &status, 0), KALAM_OK)
      << status.text();
  EXPECT_EQ(Get(db, nullptr, "k"), std::nullopt);
  EXPECT_EQ(Vt().close(db, &status), KALAM_OK);
}

TEST(MemoryPluginOpen, RefusesReadOnly) {
  kalam_db* db = nullptr;
  RawStatus status;
  EXPECT_EQ(
      raw_open(Plugin(), "/nowhere", {}, &db, &status, KALAM_OPEN_READ_ONLY),
      KALAM_NOT_SUPPORTED);
  EXPECT_EQ(db, nullptr);
}

TEST(MemoryPluginOpen, RejectsNullArguments) {
  kalam_db* db = nullptr;
  RawStatus status;
  EXPECT_EQ(Vt().open(nullptr, &db, &status), KALAM_INVALID_ARGUMENT);
  kalam_open_params params{};
  params.struct_size = sizeof params;
  params.path = "/x";
  EXPECT_EQ(Vt().open(&params, nullptr, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Vt().close(nullptr, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(db, nullptr);
}

TEST(MemoryPluginOpen, NothingSurvivesClose) {
  kalam_db* db = nullptr;
  RawStatus status;
  ASSERT_EQ(raw_open(Plugin(), "/same/path", {}, &db, &status), KALAM_OK);
  Put(db, nullptr, "k", "v");
  kalam_cf* cf = nullptr;
  ASSERT_EQ(Vt().cf_open(db, "extra", KALAM_CF_CREATE_IF_MISSING, &cf, &status),
            KALAM_OK);
  ASSERT_EQ(Vt().close(db, &status), KALAM_OK);
  ASSERT_EQ(raw_open(Plugin(), "/same/path", {}, &db, &status), KALAM_OK);
  EXPECT_EQ(Get(db, nullptr, "k"), std::nullopt);
  EXPECT_EQ(Vt().cf_open(db, "extra", 0, &cf, &status), KALAM_NOT_FOUND);
  ASSERT_EQ(Vt().close(db, &status), KALAM_OK);
}

TEST(MemoryPluginOpen, TwoDatabasesAreIndependent) {
  kalam_db* other = nullptr;
  RawStatus status;
  ASSERT_EQ(raw_open(Plugin(), "/a", {}, &other, &status), KALAM_OK);
  kalam_db* db = nullptr;
  ASSERT_EQ(raw_open(Plugin(), "/a", {}, &db, &status), KALAM_OK);
  Put(db, nullptr, "k", "1");
  EXPECT_EQ(Get(other, nullptr, "k"), std::nullopt);
  // A family handle of one database is refused by the other.
  kalam_cf* cf = nullptr;
  ASSERT_EQ(Vt().cf_open(db, "f", KALAM_CF_CREATE_IF_MISSING, &cf, &status),
            KALAM_OK);
  EXPECT_EQ(raw_write(Plugin(), other, {{KALAM_OP_PUT, cf, "k", "v"}}, &status),
            KALAM_INVALID_ARGUMENT);
  std::string value;
  EXPECT_EQ(raw_get(Plugin(), other, cf, "k", &value, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Vt().close(db, &status), KALAM_OK);
  EXPECT_EQ(Vt().close(other, &status), KALAM_OK);
}

TEST_F(MemoryPluginTest, CloseIsBusyWhileAnIteratorLives) {
  auto iter = std::make_unique<Iter>(db_, nullptr);
  RawStatus status;
  EXPECT_EQ(Vt().close(db_, &status), KALAM_BUSY);
  EXPECT_EQ(status.code, KALAM_BUSY);
  EXPECT_TRUE(Contains(status.message, "iterator")) << status.message;
  Put(db_, nullptr, "still", "open");  // The database stayed open.
  EXPECT_EQ(Get(db_, nullptr, "still"), "open");
  iter.reset();
  // TearDown closes it: KALAM_OK now.
}

TEST_F(MemoryPluginTest, CloseIsBusyWhileASnapshotLives) {
  auto snap = std::make_unique<Snap>(db_);
  RawStatus status;
  EXPECT_EQ(Vt().close(db_, &status), KALAM_BUSY);
  EXPECT_TRUE(Contains(status.message, "snapshot")) << status.message;
  snap.reset();
}

TEST_F(MemoryPluginTest, FlushTakesNoFlags) {
  RawStatus status;
  EXPECT_EQ(Vt().flush(db_, 0, &status), KALAM_OK);
  EXPECT_EQ(Vt().flush(db_, 1, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Vt().flush(nullptr, 0, &status), KALAM_INVALID_ARGUMENT);
}

// ---- Status -----------------------------------------------------------------

TEST_F(MemoryPluginTest, StatusWritesOnlyCoveredFieldsAndTerminates) {
  kalam_status status;
  std::memset(&status, 0xAB, sizeof status);
  status.struct_size = offsetof(kalam_status, message) + 8;
  EXPECT_EQ(Vt().flush(db_, 7, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(status.code, KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(status.native_code, 0);
  EXPECT_EQ(std::strlen(status.message), 7u);
  EXPECT_EQ(static_cast<unsigned char>(status.message[8]), 0xABu);

  std::memset(&status, 0xAB, sizeof status);
  status.struct_size = offsetof(kalam_status, code);  // Covers nothing.
  EXPECT_EQ(Vt().flush(db_, 7, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(static_cast<unsigned char>(status.message[0]), 0xABu);
  EXPECT_NE(status.code, KALAM_INVALID_ARGUMENT);

  // OK and NOT_FOUND leave it alone.
  std::memset(&status, 0xAB, sizeof status);
  status.struct_size = sizeof status;
  kalam_cf* cf = nullptr;
  EXPECT_EQ(Vt().cf_open(db_, "missing", 0, &cf, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(static_cast<unsigned char>(status.message[0]), 0xABu);
}

// ---- Point reads and writes -------------------------------------------------

TEST_F(MemoryPluginTest, PutGetDelete) {
  EXPECT_EQ(Get(db_, nullptr, "k"), std::nullopt);
  Put(db_, nullptr, "k", "v1");
  EXPECT_EQ(Get(db_, nullptr, "k"), "v1");
  Put(db_, nullptr, "k", "v2");
  EXPECT_EQ(Get(db_, nullptr, "k"), "v2");
  Delete(db_, nullptr, "k");
  EXPECT_EQ(Get(db_, nullptr, "k"), std::nullopt);
  Delete(db_, nullptr, "k");  // Deleting a missing key is fine.
  Delete(db_, nullptr, "never");
  Put(db_, nullptr, "k", "v3");
  EXPECT_EQ(Get(db_, nullptr, "k"), "v3");
}

TEST_F(MemoryPluginTest, EmptyValueIsNotMissing) {
  Put(db_, nullptr, "empty", "");
  EXPECT_EQ(Get(db_, nullptr, "empty"), "");
  size_t len = 99;
  RawStatus status;
  EXPECT_EQ(Vt().get_into(db_, nullptr, nullptr, "empty", 5, nullptr, 0, &len,
                          &status),
            KALAM_OK);
  EXPECT_EQ(len, 0u);
  EXPECT_EQ(Iter(db_, nullptr).All(), (KVs{{"empty", ""}}));
}

TEST_F(MemoryPluginTest, EmptyKeyIsRefusedInWritesAndNeverFound) {
  Put(db_, nullptr, "k", "v");
  RawStatus status;
  EXPECT_EQ(
      raw_write(Plugin(), db_, {{KALAM_OP_PUT, nullptr, "", "v"}}, &status),
      KALAM_INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(status.message, "empty key")) << status.message;
  EXPECT_EQ(raw_write(Plugin(), db_,
                      {{KALAM_OP_PUT, nullptr, "k", "changed"},
                       {KALAM_OP_DELETE, nullptr, "", ""}},
                      &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Get(db_, nullptr, "k"), "v");  // Nothing applied.
  EXPECT_EQ(Get(db_, nullptr, ""), std::nullopt);
  // A NULL pointer with length 0 is the empty key too.
  std::string value;
  EXPECT_EQ(Vt().get(
                db_, nullptr, nullptr, nullptr, 0,
                [](void* ctx, const void* data, size_t n) {
                  static_cast<std::string*>(ctx)->assign(
                      static_cast<const char*>(data), n);
                },
                &value, &status),
            KALAM_NOT_FOUND);
  // Range ends, bounds and seek targets may be empty.
  Iter iter(db_, nullptr, {.lower = "", .upper = Bytes({0xFF})});
  EXPECT_EQ(iter.Seek(""), KALAM_OK);
  EXPECT_EQ(iter.Key(), "k");
  EXPECT_EQ(iter.SeekForPrev(""), KALAM_NOT_FOUND);
  DeleteRange(db_, nullptr, "", "l");
  EXPECT_EQ(Get(db_, nullptr, "k"), std::nullopt);
}

TEST_F(MemoryPluginTest, BinaryKeysAndValuesOrderBytewise) {
  const std::vector<std::string> keys = {
      Bytes({0xFF}),           Bytes({0x00}),       Bytes({0x00, 0x00}),
      Bytes({0x00, 0xFF}),     Bytes({'a'}),        Bytes({'a', 0x00}),
      Bytes({'a', 0x00, 'b'}), Bytes({'a', 0xFF}),  Bytes({0x7F}),
      Bytes({0x80}),           Bytes({0xFF, 0xFF}), Bytes({0x01})};
  std::map<std::string, std::string> model;  // std::string orders bytewise.
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string value = Bytes({0x00, static_cast<int>(i), 0xFF, 0x00});
    Put(db_, nullptr, keys[i], value);
    model[keys[i]] = value;
  }
  for (const auto& [k, v] : model) EXPECT_EQ(Get(db_, nullptr, k), v) << Hex(k);
  // "a\0" and "a" are different keys.
  EXPECT_NE(Get(db_, nullptr, Bytes({'a'})),
            Get(db_, nullptr, Bytes({'a', 0})));
  Iter iter(db_, nullptr);
  EXPECT_EQ(iter.All(), Slice(model));
  KVs reversed = Slice(model);
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(iter.All(/*reverse=*/true), reversed);
}

TEST_F(MemoryPluginTest, GetIntoCopiesOrReportsTheSizeNeeded) {
  Put(db_, nullptr, "k", "0123456789");
  char buf[16];
  std::memset(buf, '#', sizeof buf);
  size_t len = 12345;
  RawStatus status;
  EXPECT_EQ(Vt().get_into(db_, nullptr, nullptr, "k", 1, buf, 4, &len, &status),
            KALAM_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, 10u);
  EXPECT_EQ(status.code, KALAM_BUFFER_TOO_SMALL);
  for (char c : buf) EXPECT_EQ(c, '#');  // Untouched.

  EXPECT_EQ(
      Vt().get_into(db_, nullptr, nullptr, "k", 1, buf, 10, &len, &status),
      KALAM_OK);
  EXPECT_EQ(len, 10u);
  EXPECT_EQ(std::string(buf, 10), "0123456789");
  EXPECT_EQ(buf[10], '#');

  len = 777;
  EXPECT_EQ(Vt().get_into(db_, nullptr, nullptr, "missing", 7, buf, sizeof buf,
                          &len, &status),
            KALAM_NOT_FOUND);
  EXPECT_EQ(len, 777u);  // Out-parameter untouched.
  EXPECT_EQ(Vt().get_into(db_, nullptr, nullptr, "k", 1, buf, sizeof buf,
                          nullptr, &status),
            KALAM_INVALID_ARGUMENT);
}

TEST_F(MemoryPluginTest, MultiGetVisitsEveryIndexInOrderOnce) {
  kalam_cf* other = Family("other");
  kalam_cf* gone = Family("gone");
  Put(db_, nullptr, "a", "A");
  Put(db_, other, "a", "other-A");
  Put(db_, nullptr, "e", "");
  RawStatus status;
  ASSERT_EQ(Vt().cf_drop(db_, gone, &status), KALAM_OK);

  const std::vector<std::string> keys = {"a", "a", "missing", "a", "e"};
  kalam_cf* const cfs[] = {nullptr, other, nullptr, gone, nullptr};
  std::vector<const void*> key_ptrs;
  std::vector<size_t> key_lens;
  for (const auto& k : keys) {
    key_ptrs.push_back(k.data());
    key_lens.push_back(k.size());
  }
  struct Seen {
    size_t index;
    int code;
    std::optional<std::string> value;
  };
  std::vector<Seen> seen;
  auto visit = [](void* ctx, size_t index, int code, const void* value,
                  size_t len) {
    auto* out = static_cast<std::vector<Seen>*>(ctx);
    std::optional<std::string> v;
    if (value != nullptr) v.emplace(static_cast<const char*>(value), len);
    out->push_back({index, code, v});
  };
  ASSERT_EQ(Vt().multi_get(db_, nullptr, keys.size(), cfs, key_ptrs.data(),
                           key_lens.data(), visit, &seen, &status),
            KALAM_OK)
      << status.text();
  ASSERT_EQ(seen.size(), keys.size());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].index, i);
  EXPECT_EQ(seen[0].code, KALAM_OK);
  EXPECT_EQ(seen[0].value, "A");
  EXPECT_EQ(seen[1].code, KALAM_OK);
  EXPECT_EQ(seen[1].value, "other-A");
  EXPECT_EQ(seen[2].code, KALAM_NOT_FOUND);
  EXPECT_EQ(seen[2].value, std::nullopt);
  EXPECT_EQ(seen[3].code, KALAM_DROPPED);
  EXPECT_EQ(seen[4].code, KALAM_OK);
  EXPECT_EQ(seen[4].value, "");

  // cfs == NULL: all in the default family; count 0 is a no-op.
  seen.clear();
  ASSERT_EQ(Vt().multi_get(db_, nullptr, 2, nullptr, key_ptrs.data(),
                           key_lens.data(), visit, &seen, &status),
            KALAM_OK);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].value, "A");
  seen.clear();
  EXPECT_EQ(Vt().multi_get(db_, nullptr, 0, nullptr, nullptr, nullptr, visit,
                           &seen, &status),
            KALAM_OK);
  EXPECT_TRUE(seen.empty());
}

TEST_F(MemoryPluginTest, VisitorsMayCallBackIntoThePlugin) {
  Put(db_, nullptr, "k", "v");
  struct Ctx {
    kalam_db* db;
    int rc;
  } ctx{db_, -1};
  RawStatus status;
  ASSERT_EQ(Vt().get(
                db_, nullptr, nullptr, "k", 1,
                [](void* p, const void*, size_t) {
                  auto* c = static_cast<Ctx*>(p);
                  RawStatus inner;
                  c->rc =
                      raw_write(Plugin(), c->db,
                                {{KALAM_OP_PUT, nullptr, "k2", "w"}}, &inner);
                },
                &ctx, &status),
            KALAM_OK);
  EXPECT_EQ(ctx.rc, KALAM_OK);
  EXPECT_EQ(Get(db_, nullptr, "k2"), "w");
}

// ---- Batches ----------------------------------------------------------------

TEST_F(MemoryPluginTest, BatchIsAtomicAcrossFamilies) {
  kalam_cf* a = Family("a");
  kalam_cf* b = Family("b");
  RawStatus status;
  ASSERT_EQ(raw_write(Plugin(), db_,
                      {{KALAM_OP_PUT, nullptr, "k", "0"},
                       {KALAM_OP_PUT, a, "k", "a"},
                       {KALAM_OP_PUT, b, "k", "b"}},
                      &status),
            KALAM_OK)
      << status.text();
  EXPECT_EQ(Get(db_, nullptr, "k"), "0");
  EXPECT_EQ(Get(db_, a, "k"), "a");
  EXPECT_EQ(Get(db_, b, "k"), "b");
}

TEST_F(MemoryPluginTest, BatchWithOneInvalidOpAppliesNothing) {
  kalam_cf* a = Family("a");
  kalam_cf* dropped = Family("dropped");
  Put(db_, nullptr, "keep", "old");
  RawStatus status;
  ASSERT_EQ(Vt().cf_drop(db_, dropped, &status), KALAM_OK);
  const std::vector<RawOp> good = {{KALAM_OP_PUT, nullptr, "keep", "new"},
                                   {KALAM_OP_PUT, a, "x", "1"},
                                   {KALAM_OP_DELETE_RANGE, nullptr, "", "z"}};

  auto bad = good;
  bad.push_back({99, nullptr, "k", "v"});  // Unknown type, last.
  EXPECT_EQ(raw_write(Plugin(), db_, bad, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(status.message, "#3")) << status.message;

  bad = good;
  bad.push_back({KALAM_OP_PUT, dropped, "k", "v"});
  EXPECT_EQ(raw_write(Plugin(), db_, bad, &status), KALAM_DROPPED);

  // reserved0 != 0, through a hand-built array.
  std::vector<kalam_write_op> ops(2);
  for (auto& op : ops) {
    op = kalam_write_op{};
    op.type = KALAM_OP_PUT;
    op.key = "x";
    op.key_len = 1;
    op.value = "2";
    op.value_len = 1;
  }
  ops[0].cf = a;
  ops[1].reserved0 = 1;
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  EXPECT_EQ(Vt().write(db_, &options, ops.data(), ops.size(), &status),
            KALAM_INVALID_ARGUMENT);
  // A NULL value with a length.
  ops[1].reserved0 = 0;
  ops[1].value = nullptr;
  EXPECT_EQ(Vt().write(db_, &options, ops.data(), ops.size(), &status),
            KALAM_INVALID_ARGUMENT);

  EXPECT_EQ(Get(db_, nullptr, "keep"), "old");
  EXPECT_EQ(Get(db_, a, "x"), std::nullopt);
  EXPECT_EQ(Property(db_, a, KALAM_PROPERTY_ESTIMATE_NUM_KEYS), "0");
}

TEST_F(MemoryPluginTest, LaterOpOnTheSameKeyWins) {
  RawStatus status;
  Put(db_, nullptr, "pre", "existing");
  ASSERT_EQ(raw_write(Plugin(), db_,
                      {{KALAM_OP_PUT, nullptr, "a", "1"},
                       {KALAM_OP_PUT, nullptr, "a", "2"},
                       {KALAM_OP_PUT, nullptr, "b", "1"},
                       {KALAM_OP_DELETE, nullptr, "b", ""},
                       {KALAM_OP_DELETE, nullptr, "c", ""},
                       {KALAM_OP_PUT, nullptr, "c", "3"},
                       {KALAM_OP_PUT, nullptr, "d1", "x"},
                       {KALAM_OP_DELETE_RANGE, nullptr, "d", "e"},
                       {KALAM_OP_PUT, nullptr, "d2", "after-range"},
                       {KALAM_OP_DELETE, nullptr, "pre", ""},
                       {KALAM_OP_PUT, nullptr, "pre", "again"},
                       {KALAM_OP_DELETE, nullptr, "pre", ""}},
                      &status),
            KALAM_OK)
      << status.text();
  EXPECT_EQ(Get(db_, nullptr, "a"), "2");
  EXPECT_EQ(Get(db_, nullptr, "b"), std::nullopt);
  EXPECT_EQ(Get(db_, nullptr, "c"), "3");
  EXPECT_EQ(Get(db_, nullptr, "d1"), std::nullopt);
  EXPECT_EQ(Get(db_, nullptr, "d2"), "after-range");
  EXPECT_EQ(Get(db_, nullptr, "pre"), std::nullopt);
  EXPECT_EQ(Iter(db_, nullptr).All(),
            (KVs{{"a", "2"}, {"c", "3"}, {"d2", "after-range"}}));
  EXPECT_EQ(Property(db_, nullptr, KALAM_PROPERTY_ESTIMATE_NUM_KEYS), "3");
}

TEST_F(MemoryPluginTest, DeleteRangeRemovesHalfOpenRange) {
  for (const char* k : {"a", "b", "ba", "bz", "c", "d"}) {
    Put(db_, nullptr, k, k);
  }
  DeleteRange(db_, nullptr, "b", "c");  // b, ba, bz; not c.
  EXPECT_EQ(Iter(db_, nullptr).All(),
            (KVs{{"a", "a"}, {"c", "c"}, {"d", "d"}}));
  DeleteRange(db_, nullptr, "d", "d");  // Empty.
  DeleteRange(db_, nullptr, "z", "a");  // Reversed.
  DeleteRange(db_, nullptr, "a", "");   // Reversed, empty end.
  EXPECT_EQ(Iter(db_, nullptr).All(),
            (KVs{{"a", "a"}, {"c", "c"}, {"d", "d"}}));
  // A NULL end of length 0 is the empty key: a no-op range.
  kalam_write_op op{};
  op.type = KALAM_OP_DELETE_RANGE;
  op.key = "a";
  op.key_len = 1;
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof op;
  RawStatus status;
  ASSERT_EQ(Vt().write(db_, &options, &op, 1, &status), KALAM_OK);
  EXPECT_EQ(Get(db_, nullptr, "a"), "a");
  // Binary bounds: everything from "" up to 0xFF 0xFF.
  Put(db_, nullptr, Bytes({0xFF}), "ff");
  Put(db_, nullptr, Bytes({0xFF, 0xFF}), "ffff");
  DeleteRange(db_, nullptr, "", Bytes({0xFF, 0xFF}));
  EXPECT_EQ(Iter(db_, nullptr).All(), (KVs{{Bytes({0xFF, 0xFF}), "ffff"}}));
}

TEST_F(MemoryPluginTest, WriteValidatesItsOptions) {
  kalam_write_op op{};
  op.type = KALAM_OP_PUT;
  op.key = "k";
  op.key_len = 1;
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof op;
  RawStatus status;
  EXPECT_EQ(Vt().write(db_, nullptr, &op, 1, &status), KALAM_INVALID_ARGUMENT);
  options.op_stride = sizeof op - 8;
  EXPECT_EQ(Vt().write(db_, &options, &op, 1, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(status.message, "op_stride")) << status.message;
  options.op_stride = sizeof op;
  options.flags = 1u << 7;
  EXPECT_EQ(Vt().write(db_, &options, &op, 1, &status), KALAM_INVALID_ARGUMENT);
  options.flags = KALAM_WRITE_SYNC;  // Accepted (and meaningless here).
  EXPECT_EQ(Vt().write(db_, &options, nullptr, 1, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Vt().write(db_, &options, nullptr, 0, &status), KALAM_OK);
  EXPECT_EQ(Vt().write(db_, &options, &op, 1, &status), KALAM_OK);
  EXPECT_EQ(Get(db_, nullptr, "k"), "");
}

TEST_F(MemoryPluginTest, WriteStepsByTheHostsStride) {
  // A host built with a bigger kalam_write_op (a later minor).
  struct BigOp {
    kalam_write_op op;
    uint64_t future_field;
  };
  std::vector<BigOp> ops(3);
  const char* keys[] = {"x", "y", "z"};
  for (size_t i = 0; i < ops.size(); ++i) {
    ops[i] = BigOp{};
    ops[i].op.type = KALAM_OP_PUT;
    ops[i].op.key = keys[i];
    ops[i].op.key_len = 1;
    ops[i].op.value = keys[i];
    ops[i].op.value_len = 1;
    ops[i].future_field = ~uint64_t{0};
  }
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(BigOp);
  RawStatus status;
  ASSERT_EQ(Vt().write(db_, &options, &ops[0].op, ops.size(), &status),
            KALAM_OK)
      << status.text();
  EXPECT_EQ(Iter(db_, nullptr).All(),
            (KVs{{"x", "x"}, {"y", "y"}, {"z", "z"}}));
}

// ---- Column families --------------------------------------------------------

std::vector<std::string> ListFamilies(kalam_db* db) {
  std::vector<std::string> names;
  RawStatus status;
  EXPECT_EQ(Vt().cf_list(
                db,
                [](void* ctx, const char* name) {
                  static_cast<std::vector<std::string>*>(ctx)->push_back(name);
                },
                &names, &status),
            KALAM_OK);
  std::sort(names.begin(), names.end());
  return names;
}

TEST_F(MemoryPluginTest, FamiliesAreCreatedOpenedAndListed) {
  RawStatus status;
  kalam_cf* cf = reinterpret_cast<kalam_cf*>(0x1);
  EXPECT_EQ(Vt().cf_open(db_, "users", 0, &cf, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(cf, reinterpret_cast<kalam_cf*>(0x1));
  kalam_cf* users = Family("users");
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(Family("users"), users);  // Same name, same handle.
  ASSERT_EQ(Vt().cf_open(db_, "users", 0, &cf, &status), KALAM_OK);
  EXPECT_EQ(cf, users);
  ASSERT_EQ(Vt().cf_open(db_, "default", 0, &cf, &status), KALAM_OK);
  EXPECT_EQ(cf, nullptr);  // The default family is NULL.
  EXPECT_EQ(Vt().cf_open(db_, "", KALAM_CF_CREATE_IF_MISSING, &cf, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(
      Vt().cf_open(db_, nullptr, KALAM_CF_CREATE_IF_MISSING, &cf, &status),
      KALAM_INVALID_ARGUMENT);
  Family("logs");
  EXPECT_EQ(ListFamilies(db_),
            (std::vector<std::string>{"default", "logs", "users"}));
  // Families are separate key spaces.
  Put(db_, users, "k", "u");
  Put(db_, nullptr, "k", "d");
  EXPECT_EQ(Get(db_, users, "k"), "u");
  EXPECT_EQ(Get(db_, nullptr, "k"), "d");
}

TEST_F(MemoryPluginTest, DroppedFamilyReportsDroppedEverywhere) {
  kalam_cf* cf = Family("doomed");
  Put(db_, cf, "k", "v");
  RawStatus status;
  ASSERT_EQ(Vt().cf_drop(db_, cf, &status), KALAM_OK) << status.text();
  EXPECT_EQ(ListFamilies(db_), (std::vector<std::string>{"default"}));

  std::string value;
  EXPECT_EQ(raw_get(Plugin(), db_, cf, "k", &value, &status), KALAM_DROPPED);
  EXPECT_EQ(status.code, KALAM_DROPPED);
  EXPECT_TRUE(Contains(status.message, "doomed")) << status.message;
  char buf[4];
  size_t len = 0;
  EXPECT_EQ(
      Vt().get_into(db_, nullptr, cf, "k", 1, buf, sizeof buf, &len, &status),
      KALAM_DROPPED);
  EXPECT_EQ(raw_write(Plugin(), db_, {{KALAM_OP_PUT, cf, "k", "v"}}, &status),
            KALAM_DROPPED);
  kalam_iter* iter = reinterpret_cast<kalam_iter*>(0x1);
  EXPECT_EQ(Vt().iter_create(db_, nullptr, cf, &iter, &status), KALAM_DROPPED);
  EXPECT_EQ(iter, reinterpret_cast<kalam_iter*>(0x1));
  int rc = KALAM_OK;
  Property(db_, cf, KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &rc);
  EXPECT_EQ(rc, KALAM_DROPPED);
  EXPECT_EQ(Vt().cf_drop(db_, cf, &status), KALAM_DROPPED);
  EXPECT_EQ(Vt().cf_drop(db_, nullptr, &status), KALAM_INVALID_ARGUMENT);

  // Re-creating the name makes a new, empty family with a new handle.
  kalam_cf* again = Family("doomed");
  EXPECT_NE(again, cf);
  EXPECT_EQ(Get(db_, again, "k"), std::nullopt);
  EXPECT_EQ(raw_get(Plugin(), db_, cf, "k", &value, &status), KALAM_DROPPED);
}

TEST_F(MemoryPluginTest, IteratorOnADroppedFamilyKeepsItsView) {
  kalam_cf* cf = Family("doomed");
  Put(db_, cf, "a", "1");
  Put(db_, cf, "b", "2");
  Iter iter(db_, cf);
  ASSERT_EQ(iter.First(), KALAM_OK);
  RawStatus status;
  ASSERT_EQ(Vt().cf_drop(db_, cf, &status), KALAM_OK);
  Put(db_, Family("doomed"), "a", "new family");
  EXPECT_EQ(iter.Entry(), std::make_pair(std::string("a"), std::string("1")));
  EXPECT_EQ(iter.Next(), KALAM_OK);
  EXPECT_EQ(iter.Key(), "b");
  EXPECT_EQ(iter.All(), (KVs{{"a", "1"}, {"b", "2"}}));
}

// ---- Iterators --------------------------------------------------------------

class MemoryIterTest : public MemoryPluginTest {
 protected:
  void SetUp() override {
    MemoryPluginTest::SetUp();
    for (const char* k : {"b", "d", "f", "h"}) {
      Put(db_, nullptr, k, std::string("v") + k);
      model_[k] = std::string("v") + k;
    }
  }
  std::map<std::string, std::string> model_;
};

TEST_F(MemoryIterTest, StartsUnpositioned) {
  Iter iter(db_, nullptr);
  EXPECT_FALSE(iter.Valid());
  const void* k = nullptr;
  size_t kl = 0;
  EXPECT_EQ(Vt().iter_entry(iter.get(), &k, &kl, nullptr, nullptr),
            KALAM_NOT_FOUND);
  EXPECT_EQ(iter.Next(), KALAM_NOT_FOUND);
  EXPECT_EQ(iter.Prev(), KALAM_NOT_FOUND);
  RawStatus status;
  EXPECT_EQ(Vt().iter_status(iter.get(), &status), KALAM_OK);
}

TEST_F(MemoryIterTest, WalksForwardAndBackward) {
  Iter iter(db_, nullptr);
  EXPECT_EQ(iter.All(), Slice(model_));
  EXPECT_FALSE(iter.Valid());
  EXPECT_EQ(iter.Next(), KALAM_NOT_FOUND);  // Stays unpositioned.
  KVs reversed = Slice(model_);
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(iter.All(/*reverse=*/true), reversed);
  // Only the key is wanted.
  ASSERT_EQ(iter.First(), KALAM_OK);
  const void* k = nullptr;
  size_t kl = 0;
  EXPECT_EQ(Vt().iter_entry(iter.get(), &k, &kl, nullptr, nullptr), KALAM_OK);
  EXPECT_EQ(std::string(static_cast<const char*>(k), kl), "b");
}

TEST_F(MemoryIterTest, SeekAndSeekForPrev) {
  Iter iter(db_, nullptr);
  EXPECT_EQ(iter.Seek("d"), KALAM_OK);
  EXPECT_EQ(iter.Key(), "d");
  EXPECT_EQ(iter.Seek("c"), KALAM_OK);
  EXPECT_EQ(iter.Key(), "d");
  EXPECT_EQ(iter.Seek(""), KALAM_OK);
  EXPECT_EQ(iter.Key(), "b");
  EXPECT_EQ(iter.Seek("i"), KALAM_NOT_FOUND);
  EXPECT_EQ(iter.SeekForPrev("d"), KALAM_OK);
  EXPECT_EQ(iter.Key(), "d");
  EXPECT_EQ(iter.SeekForPrev("e"), KALAM_OK);
  EXPECT_EQ(iter.Key(), "d");
  EXPECT_EQ(iter.SeekForPrev(Bytes({0xFF})), KALAM_OK);
  EXPECT_EQ(iter.Key(), "h");
  EXPECT_EQ(iter.SeekForPrev("a"), KALAM_NOT_FOUND);
  EXPECT_EQ(iter.SeekForPrev(""), KALAM_NOT_FOUND);
  // "d\0" sorts after "d".
  EXPECT_EQ(iter.Seek(Bytes({'d', 0})), KALAM_OK);
  EXPECT_EQ(iter.Key(), "f");
  EXPECT_EQ(iter.SeekForPrev(Bytes({'d', 0})), KALAM_OK);
  EXPECT_EQ(iter.Key(), "d");
}

TEST_F(MemoryIterTest, BoundsClampEveryMove) {
  Iter iter(db_, nullptr, {.lower = "c", .upper = "g"});  // d, f.
  EXPECT_EQ(iter.All(), (KVs{{"d", "vd"}, {"f", "vf"}}));
  EXPECT_EQ(iter.All(/*reverse=*/true), (KVs{{"f", "vf"}, {"d", "vd"}}));
  EXPECT_EQ(iter.Seek("a"), KALAM_OK);  // Clamped up to the lower bound.
  EXPECT_EQ(iter.Key(), "d");
  EXPECT_EQ(iter.Prev(), KALAM_NOT_FOUND);  // b is below the bound.
  EXPECT_EQ(iter.Seek("g"), KALAM_NOT_FOUND);
  EXPECT_EQ(iter.Seek("f"), KALAM_OK);
  EXPECT_EQ(iter.Next(), KALAM_NOT_FOUND);     // h is above the bound.
  EXPECT_EQ(iter.SeekForPrev("z"), KALAM_OK);  // Clamped down.
  EXPECT_EQ(iter.Key(), "f");
  EXPECT_EQ(iter.SeekForPrev("g"), KALAM_OK);  // Upper is exclusive.
  EXPECT_EQ(iter.Key(), "f");
  EXPECT_EQ(iter.SeekForPrev("c"), KALAM_NOT_FOUND);

  Iter exact(db_, nullptr, {.lower = "d", .upper = "f"});  // Only d.
  EXPECT_EQ(exact.All(), (KVs{{"d", "vd"}}));
  EXPECT_EQ(exact.All(/*reverse=*/true), (KVs{{"d", "vd"}}));
  Iter empty(db_, nullptr, {.lower = "f", .upper = "d"});
  EXPECT_EQ(empty.All(), KVs{});
  EXPECT_EQ(empty.All(/*reverse=*/true), KVs{});
  EXPECT_EQ(empty.Seek("e"), KALAM_NOT_FOUND);
  EXPECT_EQ(empty.SeekForPrev("e"), KALAM_NOT_FOUND);
  Iter lower_only(db_, nullptr, {.lower = "e"});
  EXPECT_EQ(lower_only.All(), (KVs{{"f", "vf"}, {"h", "vh"}}));
  Iter upper_only(db_, nullptr, {.upper = "e"});
  EXPECT_EQ(upper_only.All(/*reverse=*/true), (KVs{{"d", "vd"}, {"b", "vb"}}));
}

TEST_F(MemoryIterTest, ChangesDirection) {
  Iter iter(db_, nullptr);
  ASSERT_EQ(iter.Seek("d"), KALAM_OK);
  EXPECT_EQ(iter.Next(), KALAM_OK);
  EXPECT_EQ(iter.Key(), "f");
  EXPECT_EQ(iter.Prev(), KALAM_OK);
  EXPECT_EQ(iter.Key(), "d");
  EXPECT_EQ(iter.Prev(), KALAM_OK);
  EXPECT_EQ(iter.Key(), "b");
  EXPECT_EQ(iter.Next(), KALAM_OK);
  EXPECT_EQ(iter.Key(), "d");
  ASSERT_EQ(iter.SeekForPrev("g"), KALAM_OK);
  EXPECT_EQ(iter.Key(), "f");
  EXPECT_EQ(iter.Next(), KALAM_OK);
  EXPECT_EQ(iter.Key(), "h");
  EXPECT_EQ(iter.Prev(), KALAM_OK);
  EXPECT_EQ(iter.Key(), "f");
  ASSERT_EQ(iter.Last(), KALAM_OK);
  EXPECT_EQ(iter.Next(), KALAM_NOT_FOUND);
  EXPECT_EQ(iter.Prev(), KALAM_NOT_FOUND);  // Unpositioned stays so.
}

TEST_F(MemoryIterTest, PrefixOptionNarrowsTheRange) {
  for (const std::string& k :
       {std::string("p"), std::string("pa"), std::string("pz"),
        Bytes({'p', 0xFF}), std::string("q"), std::string("o")}) {
    Put(db_, nullptr, k, "x");
  }
  // The host narrows the bounds too; the plugin is right even if it does not.
  Iter iter(db_, nullptr, {.prefix = "p"});
  KVs all = iter.All();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.front().first, "p");
  EXPECT_EQ(all.back().first, Bytes({'p', 0xFF}));
  Iter ff(db_, nullptr, {.prefix = Bytes({0xFF})});
  Put(db_, nullptr, Bytes({0xFF, 0xFF, 0xFF}), "top");
  EXPECT_EQ(ff.All(), KVs{});  // Created before the put.
  Iter ff2(db_, nullptr, {.prefix = Bytes({0xFF})});
  EXPECT_EQ(ff2.All(), (KVs{{Bytes({0xFF, 0xFF, 0xFF}), "top"}}));
}

TEST_F(MemoryIterTest, RejectsBadOptions) {
  kalam_iter_options options{};
  options.struct_size = sizeof options;
  options.flags = 1u << 20;
  kalam_iter* iter = nullptr;
  RawStatus status;
  EXPECT_EQ(Vt().iter_create(db_, &options, nullptr, &iter, &status),
            KALAM_INVALID_ARGUMENT);
  options.flags = KALAM_ITER_LOWER_BOUND;
  options.lower_len = 3;  // NULL with a length.
  EXPECT_EQ(Vt().iter_create(db_, &options, nullptr, &iter, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(iter, nullptr);
  EXPECT_EQ(Vt().iter_create(db_, nullptr, nullptr, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  // A rejected seek does not break the iterator.
  Iter ok(db_, nullptr);
  EXPECT_EQ(Vt().iter_seek(ok.get(), nullptr, 2, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Vt().iter_status(ok.get(), &status), KALAM_OK);
  EXPECT_EQ(ok.First(), KALAM_OK);
}

// ---- Batched next -----------------------------------------------------------

struct BatchResult {
  int rc = -1;
  size_t consumed = 0;
  KVs visited;
};

BatchResult NextBatch(kalam_iter* iter, size_t max_entries, bool reverse,
                      size_t refuse_at = SIZE_MAX) {
  struct Ctx {
    KVs* out;
    size_t refuse_at;
    size_t calls = 0;
  };
  BatchResult result;
  Ctx ctx{&result.visited, refuse_at};
  RawStatus status;
  result.consumed = 12345;
  result.rc = Vt().iter_next_batch(
      iter, reverse ? KALAM_BATCH_REVERSE : 0, max_entries,
      [](void* p, const void* k, size_t kl, const void* v, size_t vl) {
        auto* c = static_cast<Ctx*>(p);
        if (c->calls++ == c->refuse_at) return 1;
        c->out->emplace_back(std::string(static_cast<const char*>(k), kl),
                             std::string(static_cast<const char*>(v), vl));
        return 0;
      },
      &ctx, &result.consumed, &status);
  EXPECT_TRUE(result.rc == KALAM_OK || result.rc == KALAM_NOT_FOUND)
      << status.text();
  return result;
}

TEST_F(MemoryPluginTest, NextBatchEqualsSingleSteps) {
  std::map<std::string, std::string> model;
  for (int i = 0; i < 300; ++i) {
    char key[8];
    std::snprintf(key, sizeof key, "k%03d", i);
    model[key] = std::string(static_cast<size_t>(i % 17), 'v');
    if (i % 5 == 0) continue;  // Leave gaps of deleted keys.
    Put(db_, nullptr, key, model[key]);
  }
  for (int i = 0; i < 300; i += 5) {
    char key[8];
    std::snprintf(key, sizeof key, "k%03d", i);
    model.erase(key);
  }
  for (bool reverse : {false, true}) {
    for (size_t max : {size_t{1}, size_t{3}, size_t{63}, size_t{64}, size_t{65},
                       size_t{129}, size_t{1000}}) {
      SCOPED_TRACE("reverse=" + std::to_string(reverse) +
                   " max=" + std::to_string(max));
      Iter batched(db_, nullptr, {.lower = "k010", .upper = "k250"});
      Iter single(db_, nullptr, {.lower = "k010", .upper = "k250"});
      int brc = reverse ? batched.Last() : batched.First();
      int src = reverse ? single.Last() : single.First();
      ASSERT_EQ(brc, src);
      while (brc == KALAM_OK) {
        BatchResult got = NextBatch(batched.get(), max, reverse);
        KVs want;
        size_t steps = 0;
        while (src == KALAM_OK && steps < max) {
          want.push_back(single.Entry());
          src = reverse ? single.Prev() : single.Next();
          ++steps;
        }
        ASSERT_EQ(got.visited, want);
        ASSERT_EQ(got.consumed, want.size());
        ASSERT_EQ(got.rc, src);
        ASSERT_EQ(batched.Valid(), single.Valid());
        if (src == KALAM_OK) {
          ASSERT_EQ(batched.Entry(), single.Entry());
        }
        brc = got.rc;
      }
    }
  }
}

TEST_F(MemoryIterTest, NextBatchStopsWhereTheVisitorRefuses) {
  Iter iter(db_, nullptr);
  ASSERT_EQ(iter.First(), KALAM_OK);
  // Refuse the third entry: two consumed, the iterator stays on the third.
  BatchResult got = NextBatch(iter.get(), 10, false, /*refuse_at=*/2);
  EXPECT_EQ(got.rc, KALAM_OK);
  EXPECT_EQ(got.consumed, 2u);
  EXPECT_EQ(got.visited, (KVs{{"b", "vb"}, {"d", "vd"}}));
  EXPECT_EQ(iter.Key(), "f");
  // Refusing the first entry consumes nothing and does not move.
  got = NextBatch(iter.get(), 10, false, /*refuse_at=*/0);
  EXPECT_EQ(got.rc, KALAM_OK);
  EXPECT_EQ(got.consumed, 0u);
  EXPECT_EQ(iter.Key(), "f");
  // max_entries 0: nothing consumed, still positioned.
  got = NextBatch(iter.get(), 0, false);
  EXPECT_EQ(got.rc, KALAM_OK);
  EXPECT_EQ(got.consumed, 0u);
  EXPECT_EQ(iter.Key(), "f");
  // Exactly the rest: consumed, and then out of entries.
  got = NextBatch(iter.get(), 2, false);
  EXPECT_EQ(got.rc, KALAM_NOT_FOUND);
  EXPECT_EQ(got.consumed, 2u);
  EXPECT_EQ(got.visited, (KVs{{"f", "vf"}, {"h", "vh"}}));
  EXPECT_FALSE(iter.Valid());
  // Unpositioned: nothing visited.
  got = NextBatch(iter.get(), 10, false);
  EXPECT_EQ(got.rc, KALAM_NOT_FOUND);
  EXPECT_EQ(got.consumed, 0u);
  EXPECT_TRUE(got.visited.empty());
  // Reverse, with a stop.
  ASSERT_EQ(iter.Last(), KALAM_OK);
  got = NextBatch(iter.get(), 10, true, /*refuse_at=*/1);
  EXPECT_EQ(got.consumed, 1u);
  EXPECT_EQ(got.visited, (KVs{{"h", "vh"}}));
  EXPECT_EQ(iter.Key(), "f");
  got = NextBatch(iter.get(), 10, true);
  EXPECT_EQ(got.rc, KALAM_NOT_FOUND);
  EXPECT_EQ(got.visited, (KVs{{"f", "vf"}, {"d", "vd"}, {"b", "vb"}}));
  // Bad arguments still write *consumed.
  size_t consumed = 99;
  RawStatus status;
  EXPECT_EQ(Vt().iter_next_batch(iter.get(), 0, 1, nullptr, nullptr, &consumed,
                                 &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(consumed, 0u);
}

// ---- Snapshots --------------------------------------------------------------

TEST_F(MemoryPluginTest, SnapshotIsolatesPointReads) {
  kalam_cf* other = Family("other");
  Put(db_, nullptr, "changed", "old");
  Put(db_, nullptr, "deleted", "here");
  Put(db_, other, "k", "other-old");
  Snap snap(db_);
  Put(db_, nullptr, "changed", "new");
  Delete(db_, nullptr, "deleted");
  Put(db_, nullptr, "added", "later");
  Put(db_, other, "k", "other-new");
  DeleteRange(db_, nullptr, "", Bytes({0xFF}));

  EXPECT_EQ(Get(db_, nullptr, "changed", snap.get()), "old");
  EXPECT_EQ(Get(db_, nullptr, "deleted", snap.get()), "here");
  EXPECT_EQ(Get(db_, nullptr, "added", snap.get()), std::nullopt);
  EXPECT_EQ(Get(db_, other, "k", snap.get()), "other-old");
  EXPECT_EQ(Get(db_, nullptr, "changed"), std::nullopt);
  EXPECT_EQ(Get(db_, other, "k"), "other-new");

  kalam_read_options ro{};
  ro.struct_size = sizeof ro;
  ro.snapshot = snap.get();
  char buf[8];
  size_t len = 0;
  RawStatus status;
  ASSERT_EQ(Vt().get_into(db_, &ro, nullptr, "changed", 7, buf, sizeof buf,
                          &len, &status),
            KALAM_OK);
  EXPECT_EQ(std::string(buf, len), "old");

  const char* keys[] = {"changed", "added"};
  const size_t lens[] = {7, 5};
  std::vector<std::pair<int, std::string>> seen;
  ASSERT_EQ(Vt().multi_get(
                db_, &ro, 2, nullptr,
                reinterpret_cast<const void* const*>(keys), lens,
                [](void* ctx, size_t, int code, const void* v, size_t n) {
                  static_cast<std::vector<std::pair<int, std::string>>*>(ctx)
                      ->emplace_back(
                          code,
                          v ? std::string(static_cast<const char*>(v), n) : "");
                },
                &seen, &status),
            KALAM_OK);
  EXPECT_EQ(seen, (std::vector<std::pair<int, std::string>>{
                      {KALAM_OK, "old"}, {KALAM_NOT_FOUND, ""}}));

  // A snapshot sees nothing written after it, even after a release of another.
  { Snap later(db_); }
  EXPECT_EQ(Get(db_, nullptr, "changed", snap.get()), "old");
}

TEST_F(MemoryPluginTest, SnapshotIsolatesIterators) {
  Put(db_, nullptr, "a", "1");
  Put(db_, nullptr, "b", "2");
  Put(db_, nullptr, "c", "3");
  Snap snap(db_);
  Put(db_, nullptr, "b", "22");
  Delete(db_, nullptr, "c");
  Put(db_, nullptr, "d", "4");
  Iter at_snap(db_, nullptr, {.snapshot = snap.get()});
  EXPECT_EQ(at_snap.All(), (KVs{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(at_snap.All(true), (KVs{{"c", "3"}, {"b", "2"}, {"a", "1"}}));
  Iter latest(db_, nullptr);
  EXPECT_EQ(latest.All(), (KVs{{"a", "1"}, {"b", "22"}, {"d", "4"}}));
}

TEST_F(MemoryPluginTest, IteratorWithASnapshotOutlivesTheSnapshot) {
  Put(db_, nullptr, "a", "1");
  auto snap = std::make_unique<Snap>(db_);
  Iter iter(db_, nullptr, {.snapshot = snap->get()});
  snap.reset();
  Put(db_, nullptr, "a", "2");
  Put(db_, nullptr, "b", "3");
  EXPECT_EQ(iter.All(), (KVs{{"a", "1"}}));
}

TEST_F(MemoryPluginTest, IteratorTakesAnImplicitSnapshot) {
  for (const char* k : {"a", "b", "c", "d"}) Put(db_, nullptr, k, k);
  Iter iter(db_, nullptr);
  ASSERT_EQ(iter.Seek("b"), KALAM_OK);
  const void* key = nullptr;
  const void* value = nullptr;
  size_t key_len = 0;
  size_t value_len = 0;
  ASSERT_EQ(Vt().iter_entry(iter.get(), &key, &key_len, &value, &value_len),
            KALAM_OK);
  // Others write while the iterator stands on "b".
  Put(db_, nullptr, "b", "overwritten");
  Delete(db_, nullptr, "b");
  Delete(db_, nullptr, "c");
  Put(db_, nullptr, "bb", "inserted");
  DeleteRange(db_, nullptr, "a", "z");
  for (int i = 0; i < 100; ++i) Put(db_, nullptr, "x" + std::to_string(i), "");
  // The views are still valid and unchanged (no move happened).
  EXPECT_EQ(std::string(static_cast<const char*>(key), key_len), "b");
  EXPECT_EQ(std::string(static_cast<const char*>(value), value_len), "b");
  EXPECT_EQ(iter.Next(), KALAM_OK);
  EXPECT_EQ(iter.Key(), "c");
  EXPECT_EQ(iter.Prev(), KALAM_OK);
  EXPECT_EQ(iter.Key(), "b");
  EXPECT_EQ(iter.All(), (KVs{{"a", "a"}, {"b", "b"}, {"c", "c"}, {"d", "d"}}));
  EXPECT_EQ(Iter(db_, nullptr, {.upper = "x"}).All(), KVs{});
}

// ---- Reclaiming old versions and properties ---------------------------------

TEST_F(MemoryPluginTest, OldVersionsAreReclaimedOnceNoReaderNeedsThem) {
  for (int i = 0; i < 100; ++i) Put(db_, nullptr, "k" + std::to_string(i), "1");
  std::string stats = Property(db_, nullptr, KALAM_PROPERTY_STATS);
  EXPECT_EQ(StatsField(stats, "versions"), 100u) << stats;
  {
    Snap snap(db_);
    for (int i = 0; i < 100; ++i) {
      Put(db_, nullptr, "k" + std::to_string(i), "2");
    }
    for (int i = 0; i < 50; ++i) Delete(db_, nullptr, "k" + std::to_string(i));
    stats = Property(db_, nullptr, KALAM_PROPERTY_STATS);
    // Each key keeps the version the snapshot sees.
    EXPECT_GE(StatsField(stats, "versions"), 200u) << stats;
    EXPECT_EQ(Get(db_, nullptr, "k0", snap.get()), "1");
  }
  // No reader left: a few writes elsewhere sweep the garbage away.
  for (int i = 0; i < 20; ++i) Put(db_, nullptr, "other", "x");
  stats = Property(db_, nullptr, KALAM_PROPERTY_STATS);
  EXPECT_EQ(StatsField(stats, "versions"), 51u) << stats;
  EXPECT_EQ(StatsField(stats, "keys"), 51u) << stats;
  // With no reader at all, an overwrite or delete leaves nothing behind.
  Put(db_, nullptr, "other", "y");
  Delete(db_, nullptr, "k99");
  stats = Property(db_, nullptr, KALAM_PROPERTY_STATS);
  EXPECT_EQ(StatsField(stats, "versions"), 50u) << stats;
}

TEST_F(MemoryPluginTest, PropertiesDescribeTheLiveData) {
  kalam_cf* cf = Family("props");
  EXPECT_EQ(Property(db_, cf, KALAM_PROPERTY_ESTIMATE_NUM_KEYS), "0");
  EXPECT_EQ(Property(db_, cf, KALAM_PROPERTY_APPROXIMATE_BYTES), "0");
  Put(db_, cf, "ab", "12345");  // 7 bytes
  Put(db_, cf, "c", "");        // 1 byte
  Put(db_, cf, "d", "xyz");     // 4 bytes
  Put(db_, nullptr, "elsewhere", "not counted");
  {
    Snap snap(db_);             // Old versions kept for it are not live data.
    Put(db_, cf, "d", "wxyz");  // 5 bytes
    Delete(db_, cf, "c");
    EXPECT_EQ(Property(db_, cf, KALAM_PROPERTY_ESTIMATE_NUM_KEYS), "2");
    EXPECT_EQ(Property(db_, cf, KALAM_PROPERTY_APPROXIMATE_BYTES), "12");
  }
  std::string stats = Property(db_, cf, KALAM_PROPERTY_STATS);
  EXPECT_TRUE(Contains(stats.c_str(), "props")) << stats;
  int rc = KALAM_OK;
  Property(db_, cf, "kalam.no-such-property", &rc);
  EXPECT_EQ(rc, KALAM_NOT_FOUND);
  RawStatus status;
  EXPECT_EQ(Vt().get_property(db_, cf, KALAM_PROPERTY_STATS, nullptr, nullptr,
                              &status),
            KALAM_INVALID_ARGUMENT);
}

// ---- Threads ----------------------------------------------------------------

// A value that proves it was not torn: "<writer>:<counter>;" repeated.
std::string MakeValue(int writer, int counter) {
  std::string unit =
      std::to_string(writer) + ":" + std::to_string(counter) + ";";
  std::string value;
  for (int i = 0; i <= counter % 13; ++i) value += unit;
  return value;
}

bool WellFormed(const std::string& value) {
  auto end = value.find(';');
  if (end == std::string::npos) return false;
  const std::string unit = value.substr(0, end + 1);
  if (value.size() % unit.size() != 0) return false;
  for (size_t at = 0; at < value.size(); at += unit.size()) {
    if (value.compare(at, unit.size(), unit) != 0) return false;
  }
  const int counter = std::atoi(unit.c_str() + unit.find(':') + 1);
  return value.size() / unit.size() == static_cast<size_t>(counter % 13 + 1);
}

TEST_F(MemoryPluginTest, ConcurrentReadersSeeNoTornValuesOrHalfBatches) {
  kalam_cf* mirror = Family("mirror");
  constexpr int kWriters = 2;
  constexpr int kReaders = 2;
  constexpr int kMinBatchesPerWriter = 2000;
  constexpr int kReadsPerReader = 3000;
  constexpr int kKeys = 40;
  std::atomic<int> readers_left{kReaders};
  std::atomic<int> problems{0};
  std::atomic<long> reads{0};
  std::mutex first_problem_mu;
  std::string first_problem;
  auto problem = [&](const std::string& what) {
    if (problems++ == 0) {
      std::lock_guard lock(first_problem_mu);
      first_problem = what;
    }
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(static_cast<uint32_t>(w) + 1);
      // Until every reader is done, so reads and writes overlap.
      for (int i = 0; i < kMinBatchesPerWriter || readers_left.load() > 0;
           ++i) {
        const std::string key = "k" + std::to_string(rng() % kKeys);
        const std::string value = MakeValue(w, i);
        RawStatus status;
        std::vector<RawOp> ops;
        if (rng() % 8 == 0) {
          ops = {{KALAM_OP_DELETE, nullptr, key, ""},
                 {KALAM_OP_DELETE, mirror, key, ""}};
        } else {
          ops = {{KALAM_OP_PUT, nullptr, key, value},
                 {KALAM_OP_PUT, mirror, key, value}};
        }
        if (raw_write(Plugin(), db_, ops, &status) != KALAM_OK) {
          problem("write: " + status.text());
          break;
        }
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937 rng(static_cast<uint32_t>(r) + 100);
      for (int i = 0; i < kReadsPerReader && problems.load() == 0; ++i) {
        const std::string key = "k" + std::to_string(rng() % kKeys);
        switch (rng() % 4) {
          case 0: {  // Point read.
            auto v = Get(db_, nullptr, key);
            if (v && !WellFormed(*v)) problem("torn get: " + *v);
            break;
          }
          case 1: {  // Both families in one consistent view.
            const void* keys[] = {key.data(), key.data()};
            const size_t lens[] = {key.size(), key.size()};
            kalam_cf* const cfs[] = {nullptr, mirror};
            std::vector<std::optional<std::string>> seen;
            RawStatus status;
            int rc = Vt().multi_get(
                db_, nullptr, 2, cfs, keys, lens,
                [](void* ctx, size_t, int code, const void* v, size_t n) {
                  auto* out =
                      static_cast<std::vector<std::optional<std::string>>*>(
                          ctx);
                  if (code == KALAM_OK) {
                    out->emplace_back(
                        std::string(static_cast<const char*>(v), n));
                  } else {
                    out->emplace_back(std::nullopt);
                  }
                },
                &seen, &status);
            if (rc != KALAM_OK || seen.size() != 2 || seen[0] != seen[1]) {
              problem("multi_get saw half a batch for " + key);
            }
            break;
          }
          case 2: {  // A snapshot across both families.
            Snap snap(db_);
            auto a = Get(db_, nullptr, key, snap.get());
            auto b = Get(db_, mirror, key, snap.get());
            if (a != b) problem("snapshot saw half a batch for " + key);
            break;
          }
          default: {  // Scan both families at one snapshot, batched.
            Snap snap(db_);
            Iter left(db_, nullptr, {.snapshot = snap.get()});
            Iter right(db_, mirror, {.snapshot = snap.get()});
            KVs l;
            if (left.First() == KALAM_OK) {
              l = NextBatch(left.get(), 1000, false).visited;
            }
            KVs rv = right.All();
            if (l != rv) problem("scans of one snapshot differ");
            for (const auto& [k, v] : l) {
              if (!WellFormed(v)) problem("torn scan value: " + v);
            }
            break;
          }
        }
        ++reads;
      }
      --readers_left;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(problems.load(), 0) << first_problem;
  EXPECT_GT(reads.load(), 0);
  // Afterwards both families hold the same data.
  EXPECT_EQ(Iter(db_, nullptr).All(), Iter(db_, mirror).All());
}

TEST_F(MemoryPluginTest, FamiliesSnapshotsAndIteratorsChurnUnderWrites) {
  constexpr int kRounds = 300;
  std::atomic<bool> stop{false};
  std::atomic<int> problems{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      RawStatus status;
      if (raw_write(Plugin(), db_,
                    {{KALAM_OP_PUT, nullptr, "k" + std::to_string(i % 50),
                      MakeValue(0, i)},
                     {KALAM_OP_DELETE, nullptr,
                      "k" + std::to_string((i + 25) % 50), ""}},
                    &status) != KALAM_OK) {
        ++problems;
      }
    }
  });
  std::thread churner([&] {
    for (int round = 0; round < kRounds; ++round) {
      kalam_cf* cf = nullptr;
      RawStatus status;
      if (Vt().cf_open(db_, "churn", KALAM_CF_CREATE_IF_MISSING, &cf,
                       &status) != KALAM_OK) {
        ++problems;
        continue;
      }
      raw_write(Plugin(), db_, {{KALAM_OP_PUT, cf, "a", "1"}}, &status);
      Snap snap(db_);
      Iter on_cf(db_, cf);
      Iter on_default(db_, nullptr, {.snapshot = snap.get()});
      if (on_cf.First() != KALAM_OK) ++problems;
      if (Vt().cf_drop(db_, cf, &status) != KALAM_OK) ++problems;
      // Whatever the drop did, the open iterator keeps its view.
      if (on_cf.Key() != "a" || on_cf.Next() != KALAM_NOT_FOUND) ++problems;
      for (const auto& [k, v] : on_default.All()) {
        if (!WellFormed(v)) ++problems;
      }
    }
  });
  std::thread lister([&] {
    for (int round = 0; round < kRounds; ++round) {
      std::vector<std::string> names = ListFamilies(db_);
      if (std::find(names.begin(), names.end(), "default") == names.end()) {
        ++problems;  // (Sorted: "churn" may come first.)
      }
      int rc = KALAM_OK;
      std::string stats = Property(db_, nullptr, KALAM_PROPERTY_STATS, &rc);
      if (rc != KALAM_OK || stats.empty()) ++problems;
    }
  });
  churner.join();
  lister.join();
  stop = true;
  writer.join();
  EXPECT_EQ(problems.load(), 0);
}

// ---- Random model test ------------------------------------------------------

using Model = std::map<std::string, std::string>;

class RandomModel {
 public:
  explicit RandomModel(uint32_t seed) : rng_(seed) {}

  // A key to write: 1 to 3 bytes.
  std::string Key() { return Bytes(1 + rng_() % 3); }
  // A key to read, a bound, a seek target or a range end: 0 to 3 bytes.
  std::string Target() { return Bytes(rng_() % 4); }
  std::string Value() {
    std::string value;
    const size_t len = rng_() % 12;
    for (size_t i = 0; i < len; ++i) value.push_back(static_cast<char>(rng_()));
    return value;
  }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }

 private:
  std::string Bytes(size_t len) {
    static const char kAlphabet[] = {'\0', 'a', 'b', '\xff'};
    std::string key;
    for (size_t i = 0; i < len; ++i) key.push_back(kAlphabet[rng_() % 4]);
    return key;
  }

  std::mt19937 rng_;
};

uint32_t TestSeed() {
  if (const char* env = std::getenv("KALAM_TEST_SEED")) {
    return static_cast<uint32_t>(std::strtoul(env, nullptr, 10));
  }
  return std::random_device{}();
}

TEST_F(MemoryPluginTest, RandomOperationsMatchAModel) {
  const uint32_t seed = TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with KALAM_TEST_SEED=" + std::to_string(seed) + ")");
  RandomModel random(seed);
  kalam_cf* families[2] = {nullptr, Family("second")};
  Model model[2];

  struct LiveSnapshot {
    std::unique_ptr<Snap> snap;
    Model model[2];
  };
  std::vector<LiveSnapshot> snapshots;

  struct LiveIter {
    std::unique_ptr<Iter> iter;
    KVs expected;  // The view, already bounded.
    long at = -1;  // Index into expected, -1 when unpositioned.
  };
  std::vector<LiveIter> iters;

  auto check_iter_position = [&](LiveIter& li, int rc) {
    ASSERT_EQ(rc, li.at >= 0 ? KALAM_OK : KALAM_NOT_FOUND);
    if (li.at >= 0) {
      ASSERT_EQ(li.iter->Entry(), li.expected[static_cast<size_t>(li.at)]);
    }
  };

  for (int step = 0; step < 10000; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const uint32_t dice = random.Below(100);
    const int f = static_cast<int>(random.Below(2));
    if (dice < 40) {  // A batch of 1-4 ops over both families.
      std::vector<RawOp> ops;
      const uint32_t n = 1 + random.Below(4);
      for (uint32_t i = 0; i < n; ++i) {
        const int of = static_cast<int>(random.Below(2));
        const uint32_t kind = random.Below(10);
        if (kind < 6) {
          ops.push_back(
              {KALAM_OP_PUT, families[of], random.Key(), random.Value()});
          model[of][ops.back().key] = ops.back().value;
        } else if (kind < 9) {
          ops.push_back({KALAM_OP_DELETE, families[of], random.Key(), ""});
          model[of].erase(ops.back().key);
        } else {
          ops.push_back({KALAM_OP_DELETE_RANGE, families[of], random.Target(),
                         random.Target()});
          const std::string& b = ops.back().key;
          const std::string& e = ops.back().value;
          if (b < e) {
            model[of].erase(model[of].lower_bound(b), model[of].lower_bound(e));
          }
        }
      }
      RawStatus status;
      ASSERT_EQ(raw_write(Plugin(), db_, ops, &status), KALAM_OK)
          << status.text();
    } else if (dice < 55) {  // A point read.
      const std::string key = random.Target();
      auto it = model[f].find(key);
      ASSERT_EQ(Get(db_, families[f], key),
                it == model[f].end() ? std::nullopt
                                     : std::optional<std::string>(it->second))
          << Hex(key);
    } else if (dice < 60) {
      if (snapshots.size() < 4) {
        snapshots.push_back(
            {std::make_unique<Snap>(db_), {model[0], model[1]}});
      }
    } else if (dice < 64) {
      if (!snapshots.empty()) {
        snapshots.erase(snapshots.begin() +
                        random.Below(static_cast<uint32_t>(snapshots.size())));
      }
    } else if (dice < 72) {  // Read at a snapshot.
      if (snapshots.empty()) continue;
      LiveSnapshot& s =
          snapshots[random.Below(static_cast<uint32_t>(snapshots.size()))];
      for (int i = 0; i < 4; ++i) {
        const std::string key = random.Target();
        auto it = s.model[f].find(key);
        ASSERT_EQ(Get(db_, families[f], key, s.snap->get()),
                  it == s.model[f].end()
                      ? std::nullopt
                      : std::optional<std::string>(it->second))
            << Hex(key);
      }
      Iter iter(db_, families[f], {.snapshot = s.snap->get()});
      ASSERT_EQ(iter.All(), Slice(s.model[f]));
    } else if (dice < 77) {  // Full scans, both ways.
      Iter iter(db_, families[f]);
      const KVs want = Slice(model[f]);
      ASSERT_EQ(iter.All(), want);
      KVs reversed(want.rbegin(), want.rend());
      ASSERT_EQ(iter.All(true), reversed);
    } else if (dice < 82) {  // A new long-lived iterator with random bounds.
      if (iters.size() >= 3) continue;
      Iter::Options o;
      if (random.Below(2) != 0) o.lower = random.Target();
      if (random.Below(2) != 0) o.upper = random.Target();
      LiveIter li;
      li.iter = std::make_unique<Iter>(db_, families[f], o);
      li.expected = Slice(model[f], o.lower, o.upper);
      iters.push_back(std::move(li));
    } else if (dice < 96) {  // Move a live iterator.
      if (iters.empty()) continue;
      LiveIter& li = iters[random.Below(static_cast<uint32_t>(iters.size()))];
      const long size = static_cast<long>(li.expected.size());
      const uint32_t move = random.Below(7);
      int rc = KALAM_OK;
      if (move == 0) {
        rc = li.iter->First();
        li.at = size > 0 ? 0 : -1;
      } else if (move == 1) {
        rc = li.iter->Last();
        li.at = size - 1;
      } else if (move == 2) {
        const std::string target = random.Target();
        rc = li.iter->Seek(target);
        auto pos = std::lower_bound(
            li.expected.begin(), li.expected.end(), target,
            [](const auto& kv, const std::string& t) { return kv.first < t; });
        li.at = pos == li.expected.end() ? -1 : pos - li.expected.begin();
      } else if (move == 3) {
        const std::string target = random.Target();
        rc = li.iter->SeekForPrev(target);
        auto pos = std::upper_bound(
            li.expected.begin(), li.expected.end(), target,
            [](const std::string& t, const auto& kv) { return t < kv.first; });
        li.at = (pos - li.expected.begin()) - 1;
      } else if (move == 4 || move == 5) {
        rc = li.iter->Next();
        if (li.at >= 0) li.at = li.at + 1 < size ? li.at + 1 : -1;
      } else {
        rc = li.iter->Prev();
        if (li.at >= 0) li.at = li.at - 1;
      }
      check_iter_position(li, rc);
      if (random.Below(4) == 0 && li.at >= 0) {  // And a batch from there.
        const bool reverse = random.Below(2) != 0;
        const size_t max = 1 + random.Below(5);
        BatchResult got = NextBatch(li.iter->get(), max, reverse);
        KVs want;
        while (li.at >= 0 && want.size() < max) {
          want.push_back(li.expected[static_cast<size_t>(li.at)]);
          li.at = reverse ? li.at - 1 : (li.at + 1 < size ? li.at + 1 : -1);
        }
        ASSERT_EQ(got.visited, want);
        ASSERT_EQ(got.consumed, want.size());
        check_iter_position(li, got.rc);
      }
    } else {
      if (!iters.empty()) {
        iters.erase(iters.begin() +
                    random.Below(static_cast<uint32_t>(iters.size())));
      }
    }
    if (HasFatalFailure()) return;
  }
  // Properties agree with the model.
  for (int f = 0; f < 2; ++f) {
    uint64_t bytes = 0;
    for (const auto& [k, v] : model[f]) bytes += k.size() + v.size();
    EXPECT_EQ(Property(db_, families[f], KALAM_PROPERTY_ESTIMATE_NUM_KEYS),
              std::to_string(model[f].size()));
    EXPECT_EQ(Property(db_, families[f], KALAM_PROPERTY_APPROXIMATE_BYTES),
              std::to_string(bytes));
  }
  iters.clear();
  snapshots.clear();
}

}  // namespace
}  // namespace kalam::test
