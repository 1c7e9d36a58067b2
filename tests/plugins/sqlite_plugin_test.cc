// Tests of what is specific to the SQLite plugin (kalam_sqlite.so), through
// its raw C ABI: byte order of binary keys, persistence, read-only opens,
// checkpoints, options, iterators, snapshots, atomic batches, column families
// and the error contract.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <kalam/backend_api.h>
#include <kalam/test_paths.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "raw_plugin.h"
#include "temp_dir.h"

namespace kalam::test {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

const RawPlugin& plugin() {
  static const RawPlugin* loaded = new RawPlugin(KALAM_TEST_PLUGIN_SQLITE_PATH);
  return *loaded;
}
const kalam_backend_vtable& vt() { return plugin().vt(); }

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

// An iterator that is destroyed with the test scope.
class Iter {
 public:
  Iter(kalam_db* db, kalam_cf* cf, const kalam_snapshot* snapshot = nullptr,
       const std::string* lower = nullptr, const std::string* upper = nullptr,
       const std::string* prefix = nullptr) {
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
    if (prefix != nullptr) {
      options.flags |= KALAM_ITER_PREFIX;
      options.prefix = prefix->data();
      options.prefix_len = prefix->size();
    }
    RawStatus status;
    rc_ = vt().iter_create(db, &options, cf, &iter_, &status);
    text_ = status.text();
  }
  Iter(const Iter&) = delete;
  Iter& operator=(const Iter&) = delete;
  ~Iter() { vt().iter_destroy(iter_); }

  int create_rc() const { return rc_; }
  const std::string& create_text() const { return text_; }
  kalam_iter* get() const { return iter_; }
  void reset() {
    vt().iter_destroy(iter_);
    iter_ = nullptr;
  }

  int first() { return vt().iter_seek_first(iter_, &status_); }
  int last() { return vt().iter_seek_last(iter_, &status_); }
  int seek(const std::string& t) {
    return vt().iter_seek(iter_, t.data(), t.size(), &status_);
  }
  int seek_for_prev(const std::string& t) {
    return vt().iter_seek_for_prev(iter_, t.data(), t.size(), &status_);
  }
  int next() { return vt().iter_next(iter_, &status_); }
  int prev() { return vt().iter_prev(iter_, &status_); }
  bool valid() const { return vt().iter_valid(iter_) != 0; }
  std::string key() const {
    const void* k = nullptr;
    size_t len = 0;
    EXPECT_EQ(vt().iter_entry(iter_, &k, &len, nullptr, nullptr), KALAM_OK);
    return std::string(static_cast<const char*>(k), len);
  }
  std::string value() const {
    const void* v = nullptr;
    size_t len = 0;
    EXPECT_EQ(vt().iter_entry(iter_, nullptr, nullptr, &v, &len), KALAM_OK);
    return std::string(static_cast<const char*>(v), len);
  }
  Entries forward() {
    Entries out;
    for (int rc = first(); rc == KALAM_OK; rc = next()) {
      out.emplace_back(key(), value());
    }
    return out;
  }
  Entries backward() {
    Entries out;
    for (int rc = last(); rc == KALAM_OK; rc = prev()) {
      out.emplace_back(key(), value());
    }
    return out;
  }
  const RawStatus& status() const { return status_; }

 private:
  kalam_iter* iter_ = nullptr;
  int rc_ = KALAM_INTERNAL;
  std::string text_;
  RawStatus status_;
};

class SqlitePluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (dir_ / "db").string();
    open();
  }
  void TearDown() override {
    if (db_ != nullptr) {
      RawStatus status;
      EXPECT_EQ(vt().close(db_, &status), KALAM_OK) << status.text();
    }
  }

  void open(const std::map<std::string, std::string>& options = {},
            uint32_t flags = KALAM_OPEN_CREATE_IF_MISSING) {
    RawStatus status;
    ASSERT_EQ(raw_open(plugin(), path_, options, &db_, &status, flags),
              KALAM_OK)
        << status.text();
  }
  void close() {
    RawStatus status;
    ASSERT_EQ(vt().close(db_, &status), KALAM_OK) << status.text();
    db_ = nullptr;
  }
  void reopen(uint32_t flags = 0) {
    close();
    open({}, flags);
  }

  kalam_cf* family(const std::string& name,
                   uint32_t flags = KALAM_CF_CREATE_IF_MISSING) {
    kalam_cf* cf = nullptr;
    RawStatus status;
    EXPECT_EQ(vt().cf_open(db_, name.c_str(), flags, &cf, &status), KALAM_OK)
        << status.text();
    return cf;
  }
  void put(kalam_cf* cf, const std::string& key, const std::string& value,
           bool sync = false) {
    RawStatus status;
    ASSERT_EQ(raw_write(plugin(), db_, {{KALAM_OP_PUT, cf, key, value}},
                        &status, sync),
              KALAM_OK)
        << status.text();
  }
  int write(const std::vector<RawOp>& ops, RawStatus* status) {
    return raw_write(plugin(), db_, ops, status);
  }
  // The value of `key`, or "<NOT_FOUND>" / "<code name>".
  std::string get(kalam_cf* cf, const std::string& key,
                  const kalam_snapshot* snapshot = nullptr) {
    std::string value;
    RawStatus status;
    const int rc = raw_get(plugin(), db_, cf, key, &value, &status, snapshot);
    if (rc == KALAM_OK) return value;
    return std::string("<") + kalam_code_name(rc) + ">";
  }
  std::set<std::string> family_names() {
    std::set<std::string> names;
    RawStatus status;
    EXPECT_EQ(vt().cf_list(
                  db_,
                  [](void* ctx, const char* name) {
                    static_cast<std::set<std::string>*>(ctx)->insert(name);
                  },
                  &names, &status),
              KALAM_OK)
        << status.text();
    return names;
  }
  int property(kalam_cf* cf, const char* name, std::string* out) {
    RawStatus status;
    return vt().get_property(
        db_, cf, name,
        [](void* ctx, const void* data, size_t len) {
          static_cast<std::string*>(ctx)->assign(static_cast<const char*>(data),
                                                 len);
        },
        out, &status);
  }

  TempDir dir_;
  std::string path_;
  kalam_db* db_ = nullptr;
};

// ---- Plugin info ----------------------------------------------------------

TEST(SqlitePluginInfo, DescribesItself) {
  const kalam_plugin_info& info = plugin().info();
  EXPECT_STREQ(info.name, "sqlite");
  EXPECT_EQ(info.format_version, 1u);
  EXPECT_EQ(info.abi_major, static_cast<uint32_t>(KALAM_ABI_VERSION_MAJOR));
  EXPECT_EQ(info.abi_minor, static_cast<uint32_t>(KALAM_ABI_VERSION_MINOR));
  EXPECT_EQ(info.pointer_size, sizeof(void*));
  EXPECT_EQ(info.size_t_size, sizeof(size_t));
  EXPECT_NE(std::string(info.version).find("(SQLite 3."), std::string::npos)
      << info.version;
  const uint64_t expected =
      KALAM_CAP_PERSISTENT | KALAM_CAP_DURABLE_SYNC | KALAM_CAP_ATOMIC_BATCH |
      KALAM_CAP_SNAPSHOTS | KALAM_CAP_REVERSE_ITERATION |
      KALAM_CAP_DELETE_RANGE | KALAM_CAP_THREAD_SAFE | KALAM_CAP_PROPERTIES |
      KALAM_CAP_CHECKPOINT | KALAM_CAP_READ_ONLY_OPEN;
  EXPECT_EQ(info.capabilities, expected);
  EXPECT_EQ(info.max_key_size, uint64_t{1} << 20);
  EXPECT_EQ(info.max_value_size, uint64_t{1} << 29);
  ASSERT_NE(info.vtable, nullptr);
  EXPECT_EQ(info.vtable->struct_size, sizeof(kalam_backend_vtable));
  EXPECT_EQ(info.vtable->compact_range, nullptr);
  EXPECT_NE(info.vtable->get_property, nullptr);
  EXPECT_NE(info.vtable->checkpoint, nullptr);
}

TEST(SqlitePluginInfo, EntryRefusesOtherAbiMajorAndRespectsStructSize) {
  void* handle = dlopen(KALAM_TEST_PLUGIN_SQLITE_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
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
  EXPECT_EQ(info.vtable, nullptr);

  // An older, smaller info struct: nothing past its struct_size is written.
  host.abi_major = KALAM_ABI_VERSION_MAJOR;
  kalam_plugin_info small;
  std::memset(&small, 0xAB, sizeof small);
  small.struct_size = offsetof(kalam_plugin_info, format_version);
  EXPECT_EQ(entry(&host, &small, nullptr), KALAM_OK);
  EXPECT_EQ(small.abi_major, static_cast<uint32_t>(KALAM_ABI_VERSION_MAJOR));
  EXPECT_EQ(small.size_t_size, sizeof(size_t));
  EXPECT_EQ(small.format_version, 0xABABABABu);
}

// ---- Byte order of keys ---------------------------------------------------

TEST_F(SqlitePluginTest, BinaryKeysSortByteWiseLikeStdString) {
  // Keys are 1 to max_key_size bytes (the empty key is refused).
  std::set<std::string> keys = {bytes({0}),
                                bytes({0, 0}),
                                "a",
                                bytes({'a', 0}),
                                bytes({'a', 1}),
                                bytes({'a', 0xff}),
                                "ab",
                                "b",
                                bytes({0x7f}),
                                bytes({0x80}),
                                bytes({0xfe}),
                                bytes({0xff}),
                                bytes({0xff, 0xff}),
                                bytes({0xff, 0}),
                                bytes({0, 0xff})};
  std::mt19937 rng(1234);
  const std::vector<int> alphabet = {0x00, 0x01, 'a',  'b',
                                     0x7f, 0x80, 0xfe, 0xff};
  while (keys.size() < 400) {
    std::string key;
    const size_t len = 1 + rng() % 8;
    for (size_t i = 0; i < len; ++i) {
      key.push_back(static_cast<char>(alphabet[rng() % alphabet.size()]));
    }
    keys.insert(key);
  }
  std::vector<RawOp> ops;
  for (const auto& key : keys) {
    ops.push_back({KALAM_OP_PUT, nullptr, key, "v" + key});
  }
  RawStatus status;
  ASSERT_EQ(write(ops, &status), KALAM_OK) << status.text();

  Entries expected;
  for (const auto& key : keys) expected.emplace_back(key, "v" + key);
  EXPECT_EQ(raw_scan(plugin(), db_, nullptr), expected);
  Iter iter(db_, nullptr);
  Entries reversed(expected.rbegin(), expected.rend());
  EXPECT_EQ(iter.backward(), reversed);

  // The cases that matter, spelled out.
  auto position = [&](const std::string& key) {
    return std::find_if(expected.begin(), expected.end(),
                        [&](const auto& e) { return e.first == key; }) -
           expected.begin();
  };
  EXPECT_EQ(expected.front().first, bytes({0}));
  EXPECT_EQ(expected.back().first.substr(0, 2), bytes({0xff, 0xff}));
  EXPECT_LT(position(bytes({0})), position(bytes({0, 0})));
  EXPECT_LT(position(bytes({0xff})), position(bytes({0xff, 0})));
  EXPECT_LT(position(bytes({0xfe})), position(bytes({0xff})));
  EXPECT_LT(position("a"), position(bytes({'a', 0})));
  EXPECT_LT(position(bytes({'a', 0})), position(bytes({'a', 1})));
  EXPECT_LT(position(bytes({'a', 1})), position("b"));
  EXPECT_LT(position(bytes({0x7f})), position(bytes({0x80})));
  EXPECT_EQ(get(nullptr, bytes({0})), "v" + bytes({0}));
  EXPECT_EQ(get(nullptr, bytes({0, 0})), "v" + bytes({0, 0}));
  // The empty seek target is the smallest: it finds the first key.
  ASSERT_EQ(iter.seek(""), KALAM_OK);
  EXPECT_EQ(iter.key(), bytes({0}));
  ASSERT_EQ(iter.seek_for_prev(""), KALAM_NOT_FOUND);
}

TEST_F(SqlitePluginTest, EmptyKeysAreRefusedButEmptyValuesAndBoundsWork) {
  // The ABI: a stored key has 1 to max_key_size bytes.
  RawStatus status;
  EXPECT_EQ(write({{KALAM_OP_PUT, nullptr, "a", "1"},
                   {KALAM_OP_PUT, nullptr, "", "x"}},
                  &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(status.message).find("empty"), std::string::npos)
      << status.message;
  EXPECT_EQ(write({{KALAM_OP_DELETE, nullptr, "", ""}}, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(get(nullptr, "a"), "<NOT_FOUND>") << "nothing was applied";
  EXPECT_EQ(get(nullptr, ""), "<NOT_FOUND>");
  kalam_status untouched{};
  untouched.struct_size = sizeof untouched;
  char buf[4];
  size_t len = 9;
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, nullptr, 0, buf, sizeof buf,
                          &len, &untouched),
            KALAM_NOT_FOUND);
  EXPECT_EQ(len, 9u);

  put(nullptr, bytes({0}), "");  // an empty value is a value
  EXPECT_EQ(get(nullptr, bytes({0})), "");
  const std::string empty;
  Iter iter(db_, nullptr, nullptr, &empty, nullptr);  // an empty lower bound
  ASSERT_EQ(iter.first(), KALAM_OK);
  EXPECT_EQ(iter.key(), bytes({0}));
  EXPECT_EQ(iter.value(), "");
  ASSERT_EQ(
      write({{KALAM_OP_DELETE_RANGE, nullptr, "", bytes({0, 0})}}, &status),
      KALAM_OK)
      << "range ends may be empty";
  EXPECT_EQ(get(nullptr, bytes({0})), "<NOT_FOUND>");
  Iter nothing(db_, nullptr, nullptr, nullptr, &empty);  // empty upper bound
  EXPECT_EQ(nothing.first(), KALAM_NOT_FOUND);
}

// ---- Persistence, open modes ------------------------------------------------

TEST_F(SqlitePluginTest, ReopenKeepsDataAndColumnFamilies) {
  const std::string weird = "we\"ird'; DROP TABLE cf_0;--";
  const std::string unicode = "δοκιμή";
  kalam_cf* users = family("users");
  kalam_cf* odd = family(weird);
  kalam_cf* greek = family(unicode);
  kalam_cf* gone = family("gone");
  put(nullptr, "k", "default");
  put(users, "k", "users");
  put(odd, "k", "weird");
  put(greek, "k", "greek", /*sync=*/true);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, gone, &status), KALAM_OK) << status.text();
  EXPECT_EQ(family_names(),
            (std::set<std::string>{"default", "users", weird, unicode}));

  reopen();
  users = family("users", 0);
  odd = family(weird, 0);
  greek = family(unicode, 0);
  EXPECT_EQ(get(nullptr, "k"), "default");
  EXPECT_EQ(get(users, "k"), "users");
  EXPECT_EQ(get(odd, "k"), "weird");
  EXPECT_EQ(get(greek, "k"), "greek");
  kalam_cf* missing = nullptr;
  EXPECT_EQ(vt().cf_open(db_, "gone", 0, &missing, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(family_names(),
            (std::set<std::string>{"default", "users", weird, unicode}));
  EXPECT_TRUE(
      std::filesystem::exists(std::filesystem::path(path_) / "kalam.sqlite3"));
}

TEST_F(SqlitePluginTest, OpenWithoutCreateNeedsADatabase) {
  kalam_db* other = nullptr;
  RawStatus status;
  const std::string missing = (dir_ / "missing").string();
  EXPECT_EQ(raw_open(plugin(), missing, {}, &other, &status, 0),
            KALAM_NOT_FOUND);
  EXPECT_FALSE(std::filesystem::exists(missing));
  std::filesystem::create_directory(dir_ / "empty");
  EXPECT_EQ(
      raw_open(plugin(), (dir_ / "empty").string(), {}, &other, &status, 0),
      KALAM_NOT_FOUND);
  EXPECT_EQ(other, nullptr);
  // A file where the directory should be.
  std::ofstream(dir_ / "file") << "x";
  EXPECT_EQ(raw_open(plugin(), (dir_ / "file").string(), {}, &other, &status),
            KALAM_INVALID_ARGUMENT);
  // Creating makes missing parents too.
  ASSERT_EQ(
      raw_open(plugin(), (dir_ / "a" / "b").string(), {}, &other, &status),
      KALAM_OK)
      << status.text();
  EXPECT_EQ(vt().close(other, &status), KALAM_OK);
}

TEST_F(SqlitePluginTest, GarbageDatabaseFileIsCorruption) {
  const std::filesystem::path bad = dir_ / "bad";
  std::filesystem::create_directory(bad);
  std::ofstream(bad / "kalam.sqlite3")
      << std::string(4096, 'g') << "this is not an SQLite file";
  kalam_db* other = nullptr;
  RawStatus status;
  EXPECT_EQ(raw_open(plugin(), bad.string(), {}, &other, &status),
            KALAM_CORRUPTION)
      << status.text();
  EXPECT_EQ(status.code, KALAM_CORRUPTION);
  EXPECT_NE(std::string(status.message).find("kalam.sqlite3"),
            std::string::npos)
      << status.message;
  EXPECT_EQ(other, nullptr);
}

TEST_F(SqlitePluginTest, ReadOnlyOpenReadsButRejectsWrites) {
  kalam_cf* users = family("users");
  put(users, "k", "v");
  put(nullptr, "d", "default");
  close();
  open({}, KALAM_OPEN_READ_ONLY);

  EXPECT_EQ(get(nullptr, "d"), "default");
  users = family("users", 0);
  EXPECT_EQ(get(users, "k"), "v");
  Iter iter(db_, users);
  EXPECT_EQ(iter.forward(), (Entries{{"k", "v"}}));
  iter.reset();

  RawStatus status;
  EXPECT_EQ(write({{KALAM_OP_PUT, nullptr, "x", "y"}}, &status),
            KALAM_NOT_SUPPORTED);
  EXPECT_EQ(status.code, KALAM_NOT_SUPPORTED);
  kalam_cf* created = nullptr;
  EXPECT_EQ(
      vt().cf_open(db_, "new", KALAM_CF_CREATE_IF_MISSING, &created, &status),
      KALAM_NOT_SUPPORTED);
  EXPECT_EQ(vt().cf_drop(db_, users, &status), KALAM_NOT_SUPPORTED);
  EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK);
  const std::string copy = (dir_ / "ro-checkpoint").string();
  EXPECT_EQ(vt().checkpoint(db_, copy.c_str(), &status), KALAM_OK)
      << status.text();
  EXPECT_EQ(get(nullptr, "x"), "<NOT_FOUND>");

  kalam_db* other = nullptr;
  EXPECT_EQ(raw_open(plugin(), (dir_ / "nothing").string(), {}, &other, &status,
                     KALAM_OPEN_READ_ONLY | KALAM_OPEN_CREATE_IF_MISSING),
            KALAM_NOT_FOUND);
}

// ---- Checkpoints ------------------------------------------------------------

TEST_F(SqlitePluginTest, CheckpointIsAConsistentCopyAsOfTheCall) {
  kalam_cf* users = family("users");
  put(nullptr, "a", "1");
  put(users, "u", "x");
  const std::string copy = (dir_ / "backups" / "one").string();
  RawStatus status;
  ASSERT_EQ(vt().checkpoint(db_, copy.c_str(), &status), KALAM_OK)
      << status.text();
  put(nullptr, "b", "2");

  // The path must not exist yet.
  EXPECT_EQ(vt().checkpoint(db_, copy.c_str(), &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(status.message).find("exists"), std::string::npos);

  kalam_db* restored = nullptr;
  ASSERT_EQ(raw_open(plugin(), copy, {}, &restored, &status, 0), KALAM_OK)
      << status.text();
  EXPECT_EQ(raw_scan(plugin(), restored, nullptr), (Entries{{"a", "1"}}));
  kalam_cf* restored_users = nullptr;
  ASSERT_EQ(vt().cf_open(restored, "users", 0, &restored_users, &status),
            KALAM_OK);
  EXPECT_EQ(raw_scan(plugin(), restored, restored_users),
            (Entries{{"u", "x"}}));
  // The copy is a full database: writable and reopenable.
  ASSERT_EQ(raw_write(plugin(), restored, {{KALAM_OP_PUT, nullptr, "c", "3"}},
                      &status),
            KALAM_OK);
  EXPECT_EQ(vt().close(restored, &status), KALAM_OK);
  ASSERT_EQ(
      raw_open(plugin(), copy, {}, &restored, &status, KALAM_OPEN_READ_ONLY),
      KALAM_OK)
      << status.text();
  EXPECT_EQ(raw_scan(plugin(), restored, nullptr),
            (Entries{{"a", "1"}, {"c", "3"}}));
  EXPECT_EQ(vt().close(restored, &status), KALAM_OK);
  // The source is untouched.
  EXPECT_EQ(raw_scan(plugin(), db_, nullptr),
            (Entries{{"a", "1"}, {"b", "2"}}));
}

// ---- Options ----------------------------------------------------------------

TEST_F(SqlitePluginTest, KnownOptionsAreAccepted) {
  close();
  path_ = (dir_ / "tuned").string();
  open({{"cache_size", "64MiB"},
        {"busy_timeout_ms", "250"},
        {"page_size", "8192"},
        {"mmap_size", "16 MB"},
        {"read_pool_size", "2"}});
  put(nullptr, "k", "v");
  std::string stats;
  ASSERT_EQ(property(nullptr, KALAM_PROPERTY_STATS, &stats), KALAM_OK);
  EXPECT_NE(stats.find("page size: 8192"), std::string::npos) << stats;

  // page_size applies only when the file is created.
  close();
  open({{"page_size", "1k"}, {"cache_size", "1024"}, {"mmap_size", "0"}}, 0);
  ASSERT_EQ(property(nullptr, KALAM_PROPERTY_STATS, &stats), KALAM_OK);
  EXPECT_NE(stats.find("page size: 8192"), std::string::npos) << stats;
  EXPECT_EQ(get(nullptr, "k"), "v");
}

TEST_F(SqlitePluginTest, BadOptionsAreRejectedByName) {
  struct Case {
    std::string key, value;
  };
  const std::vector<Case> cases = {
      {"no_such_option", "1"},      {"journal_mode", "WAL"},
      {"cache_size", "lots"},       {"cache_size", "-5"},
      {"cache_size", "12 parsecs"}, {"busy_timeout_ms", "-1"},
      {"busy_timeout_ms", "1.5"},   {"page_size", "1000"},
      {"page_size", "131072"},      {"mmap_size", "1x"},
      {"read_pool_size", "100000"}, {"read_pool_size", ""},
  };
  for (const auto& c : cases) {
    const std::string path = (dir_ / ("bad-" + c.key)).string();
    kalam_db* other = nullptr;
    RawStatus status;
    EXPECT_EQ(raw_open(plugin(), path, {{c.key, c.value}}, &other, &status),
              KALAM_INVALID_ARGUMENT)
        << c.key << "=" << c.value;
    EXPECT_EQ(status.code, KALAM_INVALID_ARGUMENT);
    const std::string message = status.message;
    EXPECT_NE(message.find("'" + c.key + "'"), std::string::npos) << message;
    if (c.key != "no_such_option" && c.key != "journal_mode") {
      EXPECT_NE(message.find("'" + c.value + "'"), std::string::npos)
          << message;
    }
    EXPECT_EQ(other, nullptr);
    EXPECT_FALSE(std::filesystem::exists(path)) << "nothing is created";
  }
}

// ---- Iterators
// ----------------------------------------------------------------

// A reference iterator over a sorted vector, to compare moves against.
struct ModelIter {
  std::vector<std::string> keys;  // within the bounds, sorted
  long pos = -1;
  int set(long p) {
    pos = (p >= 0 && p < static_cast<long>(keys.size())) ? p : -1;
    return pos >= 0 ? KALAM_OK : KALAM_NOT_FOUND;
  }
  int first() { return set(0); }
  int last() { return set(static_cast<long>(keys.size()) - 1); }
  int seek(const std::string& t) {
    return set(std::lower_bound(keys.begin(), keys.end(), t) - keys.begin());
  }
  int seek_for_prev(const std::string& t) {
    return set(std::upper_bound(keys.begin(), keys.end(), t) - keys.begin() -
               1);
  }
  int next() { return pos < 0 ? KALAM_NOT_FOUND : set(pos + 1); }
  int prev() { return pos < 0 ? KALAM_NOT_FOUND : set(pos - 1); }
};

TEST_F(SqlitePluginTest, IteratorMovesMatchAModelWithinBounds) {
  std::mt19937 rng(42);
  auto random_key = [&] {
    static const char kAlphabet[] = {'\0', 'a', 'b', 'c', '\xff'};
    std::string key;
    const size_t len = rng() % 4;
    for (size_t i = 0; i < len; ++i) key.push_back(kAlphabet[rng() % 5]);
    return key;
  };
  std::map<std::string, std::string> model;
  std::vector<RawOp> ops;
  for (int i = 0; i < 60; ++i) {
    std::string key = random_key();  // bounds and targets may be empty,
    if (key.empty()) key = "b";      // stored keys may not
    model[key] = "v" + std::to_string(i);
    ops.push_back({KALAM_OP_PUT, nullptr, key, model[key]});
  }
  RawStatus status;
  ASSERT_EQ(write(ops, &status), KALAM_OK) << status.text();

  for (int round = 0; round < 40; ++round) {
    const bool has_lower = rng() % 2 == 0;
    const bool has_upper = rng() % 2 == 0;
    const std::string lower = random_key();
    const std::string upper = random_key();  // may be <= lower: empty range
    ModelIter expect;
    for (const auto& [key, value] : model) {
      if (has_lower && key < lower) continue;
      if (has_upper && key >= upper) continue;
      expect.keys.push_back(key);
    }
    kalam_snapshot* snapshot = nullptr;
    if (round % 2 == 1) {
      ASSERT_EQ(vt().snapshot_create(db_, &snapshot, &status), KALAM_OK);
    }
    {
      Iter iter(db_, nullptr, snapshot, has_lower ? &lower : nullptr,
                has_upper ? &upper : nullptr);
      ASSERT_EQ(iter.create_rc(), KALAM_OK) << iter.create_text();
      EXPECT_FALSE(iter.valid());
      EXPECT_EQ(iter.next(), KALAM_NOT_FOUND) << "unpositioned";
      for (int step = 0; step < 150; ++step) {
        const int move = static_cast<int>(rng() % 6);
        const std::string target = random_key();
        int got = 0, want = 0;
        switch (move) {
          case 0:
            got = iter.first(), want = expect.first();
            break;
          case 1:
            got = iter.last(), want = expect.last();
            break;
          case 2:
            got = iter.seek(target), want = expect.seek(target);
            break;
          case 3:
            got = iter.seek_for_prev(target);
            want = expect.seek_for_prev(target);
            break;
          case 4:
            got = iter.next(), want = expect.next();
            break;
          default:
            got = iter.prev(), want = expect.prev();
            break;
        }
        ASSERT_EQ(got, want)
            << "round " << round << " step " << step << " move " << move << ": "
            << iter.status().text();
        ASSERT_EQ(iter.valid(), want == KALAM_OK);
        if (want == KALAM_OK) {
          ASSERT_EQ(iter.key(), expect.keys[expect.pos]);
          ASSERT_EQ(iter.value(), model[iter.key()]);
        }
      }
      RawStatus iter_status;
      EXPECT_EQ(vt().iter_status(iter.get(), &iter_status), KALAM_OK);
    }
    vt().snapshot_release(db_, snapshot);
  }
}

TEST_F(SqlitePluginTest, IteratorClampsSeeksAndTurnsAroundAtEdges) {
  for (const char* key : {"a", "b", "c", "d", "e"}) put(nullptr, key, key);
  const std::string lower = "b", upper = "d";
  Iter iter(db_, nullptr, nullptr, &lower, &upper);
  EXPECT_EQ(iter.seek("a"), KALAM_OK);  // clamped up to the lower bound
  EXPECT_EQ(iter.key(), "b");
  EXPECT_EQ(iter.seek_for_prev("z"), KALAM_OK);  // clamped below the upper
  EXPECT_EQ(iter.key(), "c");
  EXPECT_EQ(iter.seek_for_prev("a"), KALAM_NOT_FOUND);
  EXPECT_EQ(iter.seek("d"), KALAM_NOT_FOUND);
  EXPECT_EQ(iter.seek_for_prev("bb"), KALAM_OK);
  EXPECT_EQ(iter.key(), "b");
  EXPECT_EQ(iter.next(), KALAM_OK);  // turn around: reverse query → forward
  EXPECT_EQ(iter.key(), "c");
  EXPECT_EQ(iter.prev(), KALAM_OK);
  EXPECT_EQ(iter.key(), "b");
  EXPECT_EQ(iter.prev(), KALAM_NOT_FOUND);
  EXPECT_FALSE(iter.valid());
  const void* key = nullptr;
  size_t len = 0;
  EXPECT_EQ(vt().iter_entry(iter.get(), &key, &len, nullptr, nullptr),
            KALAM_NOT_FOUND);
  EXPECT_EQ(iter.prev(), KALAM_NOT_FOUND) << "unpositioned stays so";
  EXPECT_EQ(iter.last(), KALAM_OK);
  EXPECT_EQ(iter.key(), "c");
  EXPECT_EQ(iter.next(), KALAM_NOT_FOUND);

  // Seeking to the iterator's own entry view (which the move invalidates).
  for (int reverse = 0; reverse < 2; ++reverse) {
    ASSERT_EQ(iter.first(), KALAM_OK);
    const void* view = nullptr;
    size_t view_len = 0;
    ASSERT_EQ(vt().iter_entry(iter.get(), &view, &view_len, nullptr, nullptr),
              KALAM_OK);
    RawStatus status;
    ASSERT_EQ(reverse
                  ? vt().iter_seek_for_prev(iter.get(), view, view_len, &status)
                  : vt().iter_seek(iter.get(), view, view_len, &status),
              KALAM_OK);
    EXPECT_EQ(iter.key(), "b");
  }
}

TEST_F(SqlitePluginTest, PrefixNarrowsTheIteration) {
  for (const std::string& key :
       {std::string("a"), std::string("ab"), std::string("ab\xff"),
        std::string("abc"), std::string("ac"), std::string("\xff\xff"),
        std::string("\xff\xff\x01")}) {
    put(nullptr, key, "v");
  }
  const std::string prefix = "ab";
  Iter iter(db_, nullptr, nullptr, nullptr, nullptr, &prefix);
  Entries got = iter.forward();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first, "ab");
  EXPECT_EQ(got[1].first, "abc");
  EXPECT_EQ(got[2].first, "ab\xff");
  const std::string all_ff = "\xff\xff";  // no key follows every such key
  Iter tail(db_, nullptr, nullptr, nullptr, nullptr, &all_ff);
  EXPECT_EQ(tail.forward().size(), 2u);
}

// The batched walk: entries collected by iter_next_batch.
struct Batch {
  Entries entries;
  size_t refuse_at = SIZE_MAX;  // visitor returns non-zero on this entry
  static int visit(void* ctx, const void* key, size_t key_len,
                   const void* value, size_t value_len) {
    auto* self = static_cast<Batch*>(ctx);
    if (self->entries.size() == self->refuse_at) return 1;
    self->entries.emplace_back(
        std::string(static_cast<const char*>(key), key_len),
        std::string(static_cast<const char*>(value), value_len));
    return 0;
  }
};

TEST_F(SqlitePluginTest, BatchedNextEqualsSingleSteps) {
  std::vector<RawOp> ops;
  for (int i = 0; i < 100; ++i) {
    char key[8];
    std::snprintf(key, sizeof key, "k%03d", i);
    ops.push_back({KALAM_OP_PUT, nullptr, key, std::to_string(i * i)});
  }
  RawStatus status;
  ASSERT_EQ(write(ops, &status), KALAM_OK);
  Iter single(db_, nullptr);
  const Entries forward = single.forward();
  const Entries backward = single.backward();
  ASSERT_EQ(forward.size(), 100u);

  for (uint32_t flags : {0u, static_cast<uint32_t>(KALAM_BATCH_REVERSE)}) {
    Iter iter(db_, nullptr);
    ASSERT_EQ(flags == 0 ? iter.first() : iter.last(), KALAM_OK);
    Batch batch;
    int rc = KALAM_OK;
    while (rc == KALAM_OK) {
      size_t consumed = 99;
      const size_t before = batch.entries.size();
      rc = vt().iter_next_batch(iter.get(), flags, 7, Batch::visit, &batch,
                                &consumed, &status);
      EXPECT_EQ(consumed, batch.entries.size() - before);
      EXPECT_TRUE(rc == KALAM_OK || rc == KALAM_NOT_FOUND) << status.text();
      if (rc == KALAM_OK) {
        EXPECT_EQ(consumed, 7u);
        EXPECT_TRUE(iter.valid());
      }
    }
    EXPECT_EQ(batch.entries, flags == 0 ? forward : backward);
    EXPECT_FALSE(iter.valid());
    size_t consumed = 99;
    EXPECT_EQ(vt().iter_next_batch(iter.get(), flags, 7, Batch::visit, &batch,
                                   &consumed, &status),
              KALAM_NOT_FOUND);
    EXPECT_EQ(consumed, 0u);
  }

  // A refused entry is not consumed and stays current; single steps and
  // batches then carry on from it.
  Iter iter(db_, nullptr);
  ASSERT_EQ(iter.first(), KALAM_OK);
  Batch batch;
  batch.refuse_at = 4;
  size_t consumed = 0;
  EXPECT_EQ(vt().iter_next_batch(iter.get(), 0, 50, Batch::visit, &batch,
                                 &consumed, &status),
            KALAM_OK);
  EXPECT_EQ(consumed, 4u);
  EXPECT_EQ(iter.key(), forward[4].first);
  EXPECT_EQ(vt().iter_next_batch(iter.get(), 0, 0, Batch::visit, &batch,
                                 &consumed, &status),
            KALAM_OK);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(iter.next(), KALAM_OK);
  EXPECT_EQ(iter.key(), forward[5].first);
  // Backwards from the middle after moving forwards (a direction change).
  batch = Batch();
  EXPECT_EQ(vt().iter_next_batch(iter.get(), KALAM_BATCH_REVERSE, 1000,
                                 Batch::visit, &batch, &consumed, &status),
            KALAM_NOT_FOUND);
  EXPECT_EQ(consumed, 6u);
  EXPECT_EQ(batch.entries, Entries(backward.end() - 6, backward.end()));
  EXPECT_EQ(vt().iter_next_batch(iter.get(), 4, 1, Batch::visit, &batch,
                                 &consumed, &status),
            KALAM_INVALID_ARGUMENT);
}

// ---- Snapshots
// ------------------------------------------------------------------

TEST_F(SqlitePluginTest, SnapshotsIsolateGetsIteratorsAndMultiGet) {
  kalam_cf* users = family("users");
  put(nullptr, "k1", "old");
  put(users, "u1", "old");
  RawStatus status;
  kalam_snapshot* snapshot = nullptr;
  ASSERT_EQ(vt().snapshot_create(db_, &snapshot, &status), KALAM_OK);

  put(nullptr, "k1", "new");
  put(nullptr, "k2", "new");
  put(users, "u1", "new");
  kalam_cf* late = family("late");  // created after the snapshot
  put(late, "l", "x");

  EXPECT_EQ(get(nullptr, "k1", snapshot), "old");
  EXPECT_EQ(get(nullptr, "k2", snapshot), "<NOT_FOUND>");
  EXPECT_EQ(get(users, "u1", snapshot), "old");
  EXPECT_EQ(get(late, "l", snapshot), "<NOT_FOUND>");
  EXPECT_EQ(get(nullptr, "k1"), "new");
  EXPECT_EQ(get(late, "l"), "x");

  kalam_read_options read{};
  read.struct_size = sizeof read;
  read.snapshot = snapshot;
  char buf[16];
  size_t len = 0;
  ASSERT_EQ(vt().get_into(db_, &read, nullptr, "k1", 2, buf, sizeof buf, &len,
                          &status),
            KALAM_OK);
  EXPECT_EQ(std::string(buf, len), "old");

  const char* keys[] = {"k1", "k2", "u1", "l"};
  const size_t lens[] = {2, 2, 2, 1};
  kalam_cf* cfs[] = {nullptr, nullptr, users, late};
  std::vector<std::string> seen;
  ASSERT_EQ(
      vt().multi_get(
          db_, &read, 4, cfs, reinterpret_cast<const void* const*>(keys), lens,
          [](void* ctx, size_t index, int code, const void* value,
             size_t value_len) {
            auto* out = static_cast<std::vector<std::string>*>(ctx);
            EXPECT_EQ(index, out->size());
            out->push_back(
                code == KALAM_OK
                    ? std::string(static_cast<const char*>(value), value_len)
                    : kalam_code_name(code));
          },
          &seen, &status),
      KALAM_OK)
      << status.text();
  EXPECT_EQ(seen,
            (std::vector<std::string>{"old", "NOT_FOUND", "old", "NOT_FOUND"}));

  {
    Iter at_snapshot(db_, nullptr, snapshot);
    EXPECT_EQ(at_snapshot.forward(), (Entries{{"k1", "old"}}));
    Iter late_at_snapshot(db_, late, snapshot);
    ASSERT_EQ(late_at_snapshot.create_rc(), KALAM_OK);
    EXPECT_EQ(late_at_snapshot.first(), KALAM_NOT_FOUND);
    EXPECT_EQ(late_at_snapshot.last(), KALAM_NOT_FOUND);
    // The iterator may outlive the snapshot handle.
    Iter outlives(db_, users, snapshot);
    vt().snapshot_release(db_, snapshot);
    snapshot = nullptr;
    EXPECT_EQ(outlives.forward(), (Entries{{"u1", "old"}}));
  }

  // Without a snapshot an iterator sees the data as of its creation.
  Iter implicit(db_, nullptr);
  put(nullptr, "k3", "later");
  EXPECT_EQ(implicit.forward(), (Entries{{"k1", "new"}, {"k2", "new"}}));
  EXPECT_EQ(get(nullptr, "k3"), "later");
}

// ---- Writes
// -------------------------------------------------------------------------

TEST_F(SqlitePluginTest, InvalidOpMakesTheWholeBatchApplyNothing) {
  kalam_cf* users = family("users");
  kalam_cf* dropped = family("dropped");
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, dropped, &status), KALAM_OK);
  const std::string big_key((1u << 20) + 1, 'k');

  struct Case {
    RawOp bad;
    int code;
  };
  const std::vector<Case> cases = {
      {{99, nullptr, "x", "y"}, KALAM_INVALID_ARGUMENT},
      {{0, nullptr, "x", "y"}, KALAM_INVALID_ARGUMENT},
      {{KALAM_OP_PUT, nullptr, big_key, "y"}, KALAM_INVALID_ARGUMENT},
      {{KALAM_OP_DELETE, nullptr, big_key, ""}, KALAM_INVALID_ARGUMENT},
      {{KALAM_OP_PUT, dropped, "x", "y"}, KALAM_DROPPED},
      {{KALAM_OP_PUT, nullptr, "", "y"}, KALAM_INVALID_ARGUMENT},
  };
  for (const auto& c : cases) {
    RawStatus case_status;
    EXPECT_EQ(write({{KALAM_OP_PUT, nullptr, "a", "1"},
                     {KALAM_OP_PUT, users, "b", "2"},
                     {KALAM_OP_DELETE_RANGE, nullptr, "", "zzz"},
                     c.bad},
                    &case_status),
              c.code)
        << case_status.text();
    EXPECT_EQ(case_status.code, c.code);
    EXPECT_NE(std::string(case_status.message).find("op 3"), std::string::npos)
        << case_status.message;
    EXPECT_EQ(get(nullptr, "a"), "<NOT_FOUND>");
    EXPECT_EQ(get(users, "b"), "<NOT_FOUND>");
  }

  // Hand-built arrays: a value over max_value_size (never read), reserved0,
  // a too-small stride, and NULL pointers.
  const char small[1] = {'v'};
  kalam_write_op ops[2]{};
  ops[0].type = KALAM_OP_PUT;
  ops[0].key = "a";
  ops[0].key_len = 1;
  ops[0].value = small;
  ops[0].value_len = 1;
  ops[1] = ops[0];
  ops[1].value_len = (size_t{1} << 29) + 1;
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  EXPECT_EQ(vt().write(db_, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  ops[1].value_len = 1;
  ops[1].reserved0 = 7;
  EXPECT_EQ(vt().write(db_, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  ops[1].reserved0 = 0;
  ops[1].key = nullptr;
  EXPECT_EQ(vt().write(db_, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  ops[1].key = "a";
  options.op_stride = sizeof(kalam_write_op) - 8;
  EXPECT_EQ(vt().write(db_, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().write(db_, nullptr, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(get(nullptr, "a"), "<NOT_FOUND>");
  options.op_stride = sizeof(kalam_write_op);
  EXPECT_EQ(vt().write(db_, &options, nullptr, 0, &status), KALAM_OK);
}

TEST_F(SqlitePluginTest, OpsApplyInOrderWithAnyStride) {
  // A host with a bigger kalam_write_op: elements are op_stride apart.
  struct BigOp {
    kalam_write_op op;
    char future[24];
  };
  std::vector<BigOp> ops(4);
  const char* keys[] = {"k", "k", "k", "other"};
  const uint32_t types[] = {KALAM_OP_PUT, KALAM_OP_DELETE, KALAM_OP_PUT,
                            KALAM_OP_PUT};
  const char* values[] = {"v1", "", "v2", "o"};
  for (size_t i = 0; i < ops.size(); ++i) {
    std::memset(&ops[i], 0x5A, sizeof ops[i]);
    ops[i].op = kalam_write_op{};
    ops[i].op.type = types[i];
    ops[i].op.key = keys[i];
    ops[i].op.key_len = std::strlen(keys[i]);
    ops[i].op.value = values[i];
    ops[i].op.value_len = std::strlen(values[i]);
  }
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(BigOp);
  RawStatus status;
  ASSERT_EQ(vt().write(db_, &options, &ops[0].op, ops.size(), &status),
            KALAM_OK)
      << status.text();
  EXPECT_EQ(get(nullptr, "k"), "v2");  // the last op on a key wins
  EXPECT_EQ(get(nullptr, "other"), "o");
  ASSERT_EQ(write({{KALAM_OP_PUT, nullptr, "k", "v3"},
                   {KALAM_OP_DELETE, nullptr, "k", ""}},
                  &status),
            KALAM_OK);
  EXPECT_EQ(get(nullptr, "k"), "<NOT_FOUND>");
}

TEST_F(SqlitePluginTest, DeleteRangeRemovesHalfOpenRangeOnly) {
  kalam_cf* users = family("users");
  std::vector<RawOp> ops;
  for (const char* key : {"a", "b", "c", "d", "e", "f", "g"}) {
    ops.push_back({KALAM_OP_PUT, nullptr, key, "v"});
    ops.push_back({KALAM_OP_PUT, users, key, "u"});
  }
  RawStatus status;
  ASSERT_EQ(write(ops, &status), KALAM_OK);
  ASSERT_EQ(write({{KALAM_OP_DELETE_RANGE, nullptr, "c", "f"},
                   {KALAM_OP_DELETE_RANGE, nullptr, "d", "d"},   // empty
                   {KALAM_OP_DELETE_RANGE, nullptr, "g", "a"}},  // reversed
                  &status),
            KALAM_OK)
      << status.text();
  auto keys_of = [&](kalam_cf* cf) {
    std::string out;
    for (const auto& [key, value] : raw_scan(plugin(), db_, cf)) out += key;
    return out;
  };
  EXPECT_EQ(keys_of(nullptr), "abfg");
  EXPECT_EQ(keys_of(users), "abcdefg");
  // From the empty begin (below every key), and a put after the range in
  // the same batch survives it.
  ASSERT_EQ(write({{KALAM_OP_DELETE_RANGE, nullptr, "", "b"},
                   {KALAM_OP_PUT, nullptr, "a", "back"}},
                  &status),
            KALAM_OK);
  EXPECT_EQ(keys_of(nullptr), "abfg");
  EXPECT_EQ(get(nullptr, "a"), "back");
  ASSERT_EQ(write({{KALAM_OP_DELETE_RANGE, users, "", "\xff"}}, &status),
            KALAM_OK);
  EXPECT_EQ(keys_of(users), "");
}

TEST_F(SqlitePluginTest, KeyAndValueSizeLimits) {
  const std::string max_key(size_t{1} << 20, '\x01');
  const std::string big_value(3u << 20, 'v');
  put(nullptr, max_key, big_value, /*sync=*/true);
  EXPECT_EQ(get(nullptr, max_key), big_value);
  std::string too_long = max_key + "x";
  std::string value;
  RawStatus status;
  EXPECT_EQ(raw_get(plugin(), db_, nullptr, too_long, &value, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(status.message).find("max_key_size"),
            std::string::npos);
}

// ---- Point reads
// -------------------------------------------------------------------

TEST_F(SqlitePluginTest, GetIntoReportsTheSizeWhenTheBufferIsTooSmall) {
  put(nullptr, "k", "hello");
  put(nullptr, "empty", "");
  RawStatus status;
  char buf[8];
  std::memset(buf, '#', sizeof buf);
  size_t len = 0;
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "k", 1, buf, 2, &len, &status),
            KALAM_BUFFER_TOO_SMALL);
  EXPECT_EQ(status.code, KALAM_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, 5u);
  EXPECT_EQ(std::string(buf, sizeof buf), "########");
  len = 0;
  EXPECT_EQ(
      vt().get_into(db_, nullptr, nullptr, "k", 1, nullptr, 0, &len, &status),
      KALAM_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, 5u);
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "k", 1, buf, 5, &len, &status),
            KALAM_OK);
  EXPECT_EQ(std::string(buf, len), "hello");
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "empty", 5, nullptr, 0, &len,
                          &status),
            KALAM_OK);
  EXPECT_EQ(len, 0u);
  len = 77;
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "nope", 4, buf, sizeof buf,
                          &len, &status),
            KALAM_NOT_FOUND);
  EXPECT_EQ(len, 77u) << "untouched unless OK or BUFFER_TOO_SMALL";
}

TEST_F(SqlitePluginTest, MultiGetVisitsEveryIndexInOrder) {
  kalam_cf* users = family("users");
  kalam_cf* dropped = family("dropped");
  put(nullptr, "a", "1");
  put(users, "a", "u1");
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, dropped, &status), KALAM_OK);
  const std::string long_key((1u << 20) + 1, 'x');
  const void* keys[] = {"a", "a", "missing", "a", long_key.data()};
  const size_t lens[] = {1, 1, 7, 1, long_key.size()};
  kalam_cf* cfs[] = {nullptr, users, nullptr, dropped, nullptr};
  std::vector<std::string> seen;
  auto visit = [](void* ctx, size_t, int code, const void* value,
                  size_t value_len) {
    static_cast<std::vector<std::string>*>(ctx)->push_back(
        code == KALAM_OK
            ? std::string(static_cast<const char*>(value), value_len)
            : kalam_code_name(code));
  };
  ASSERT_EQ(
      vt().multi_get(db_, nullptr, 5, cfs, keys, lens, visit, &seen, &status),
      KALAM_OK)
      << status.text();
  EXPECT_EQ(seen, (std::vector<std::string>{"1", "u1", "NOT_FOUND", "DROPPED",
                                            "INVALID_ARGUMENT"}));
  seen.clear();
  ASSERT_EQ(vt().multi_get(db_, nullptr, 2, nullptr, keys, lens, visit, &seen,
                           &status),
            KALAM_OK);
  EXPECT_EQ(seen, (std::vector<std::string>{"1", "1"}));
  EXPECT_EQ(vt().multi_get(db_, nullptr, 0, nullptr, nullptr, nullptr, nullptr,
                           nullptr, &status),
            KALAM_OK);
}

// ---- Column families, close
// -------------------------------------------------------

TEST_F(SqlitePluginTest, DroppedFamilyReturnsDropped) {
  kalam_cf* users = family("users");
  put(users, "k", "v");
  EXPECT_EQ(family("users"), users) << "same name, same handle";
  kalam_cf* def = reinterpret_cast<kalam_cf*>(0x1);
  RawStatus status;
  ASSERT_EQ(vt().cf_open(db_, "default", 0, &def, &status), KALAM_OK);
  EXPECT_EQ(def, nullptr);
  EXPECT_EQ(vt().cf_drop(db_, nullptr, &status), KALAM_INVALID_ARGUMENT);

  Iter before(db_, users);  // open before the drop: keeps its view
  ASSERT_EQ(vt().cf_drop(db_, users, &status), KALAM_OK) << status.text();

  EXPECT_EQ(get(users, "k"), "<DROPPED>");
  EXPECT_EQ(write({{KALAM_OP_PUT, users, "k", "v"}}, &status), KALAM_DROPPED);
  EXPECT_EQ(status.code, KALAM_DROPPED);
  Iter after(db_, users);
  EXPECT_EQ(after.create_rc(), KALAM_DROPPED);
  EXPECT_EQ(vt().cf_drop(db_, users, &status), KALAM_DROPPED);
  std::string text;
  EXPECT_EQ(property(users, KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &text),
            KALAM_DROPPED);
  EXPECT_EQ(before.forward(), (Entries{{"k", "v"}}));
  EXPECT_EQ(before.backward(), (Entries{{"k", "v"}}));  // a new query
  before.reset();

  kalam_cf* missing = nullptr;
  EXPECT_EQ(vt().cf_open(db_, "users", 0, &missing, &status), KALAM_NOT_FOUND);
  kalam_cf* again = family("users");
  EXPECT_NE(again, users);
  EXPECT_EQ(get(again, "k"), "<NOT_FOUND>");
  put(again, "k2", "v2");
  EXPECT_EQ(get(again, "k2"), "v2");
  EXPECT_EQ(get(users, "k2"), "<DROPPED>");
  EXPECT_EQ(family_names(), (std::set<std::string>{"default", "users"}));
}

TEST_F(SqlitePluginTest, CloseIsBusyWhileIteratorsOrSnapshotsLive) {
  put(nullptr, "k", "v");
  RawStatus status;
  {
    Iter iter(db_, nullptr);
    ASSERT_EQ(iter.first(), KALAM_OK);
    EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
    EXPECT_EQ(status.code, KALAM_BUSY);
    EXPECT_NE(std::string(status.message).find("iterator"), std::string::npos);
    EXPECT_EQ(iter.key(), "k") << "the database stays open";
  }
  kalam_snapshot* snapshot = nullptr;
  ASSERT_EQ(vt().snapshot_create(db_, &snapshot, &status), KALAM_OK);
  EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
  vt().snapshot_release(db_, snapshot);
  put(nullptr, "k2", "v2");
  close();
  open({}, 0);
  EXPECT_EQ(get(nullptr, "k2"), "v2");
}

// ---- Properties, flush
// ---------------------------------------------------------

TEST_F(SqlitePluginTest, PropertiesDescribeAFamily) {
  kalam_cf* users = family("users");
  for (const char* key : {"a", "b", "c"})
    put(users, key, std::string(500, 'x'));
  put(nullptr, "z", "1");
  std::string text;
  ASSERT_EQ(property(users, KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &text), KALAM_OK);
  EXPECT_EQ(text, "3");
  ASSERT_EQ(property(users, KALAM_PROPERTY_APPROXIMATE_BYTES, &text), KALAM_OK);
  EXPECT_GT(std::stoll(text), 1500);
  ASSERT_EQ(property(users, KALAM_PROPERTY_STATS, &text), KALAM_OK);
  EXPECT_NE(text.find("SQLite 3."), std::string::npos) << text;
  EXPECT_NE(text.find("column family: users"), std::string::npos) << text;
  EXPECT_EQ(property(users, "kalam.no-such-property", &text), KALAM_NOT_FOUND);
}

TEST_F(SqlitePluginTest, SyncWritesAndFlushPersist) {
  put(nullptr, "a", "1", /*sync=*/true);
  put(nullptr, "b", "2");
  RawStatus status;
  EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK) << status.text();
  EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK) << "nothing new: cheap";
  EXPECT_EQ(vt().flush(db_, 1, &status), KALAM_INVALID_ARGUMENT);
  put(nullptr, "c", "3");
  reopen();
  EXPECT_EQ(raw_scan(plugin(), db_, nullptr),
            (Entries{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
}

// ---- The error contract
// -----------------------------------------------------------

TEST_F(SqlitePluginTest, StatusIsWrittenOnlyWhereStructSizeCovers) {
  kalam_status small;
  std::memset(&small, 'X', sizeof small);
  small.struct_size = offsetof(kalam_status, message) + 8;
  small.native_code = 0;
  EXPECT_EQ(vt().flush(db_, 3, &small), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(small.code, KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(small.message[7], '\0');
  EXPECT_EQ(std::string(small.message), "sqlite ");
  EXPECT_EQ(small.message[8], 'X');

  std::memset(&small, 'X', sizeof small);
  small.struct_size = offsetof(kalam_status, native_code);
  EXPECT_EQ(vt().flush(db_, 3, &small), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(small.code, KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(small.message[0], 'X');

  // No status at all, and NOT_FOUND leaves a status alone.
  EXPECT_EQ(vt().flush(db_, 3, nullptr), KALAM_INVALID_ARGUMENT);
  RawStatus untouched;
  std::string value;
  EXPECT_EQ(raw_get(plugin(), db_, nullptr, "nope", &value, &untouched),
            KALAM_NOT_FOUND);
  EXPECT_EQ(untouched.code, 0);
  EXPECT_EQ(untouched.message[0], '\0');
}

TEST_F(SqlitePluginTest, NullRequiredPointersAreInvalidArguments) {
  RawStatus status;
  kalam_db* other = nullptr;
  EXPECT_EQ(vt().open(nullptr, &other, &status), KALAM_INVALID_ARGUMENT);
  kalam_open_params params{};
  params.struct_size = sizeof params;
  EXPECT_EQ(vt().open(&params, &other, &status), KALAM_INVALID_ARGUMENT)
      << "NULL path";
  EXPECT_EQ(vt().close(nullptr, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().get(db_, nullptr, nullptr, "k", 1, nullptr, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().get(
                db_, nullptr, nullptr, nullptr, 3,
                [](void*, const void*, size_t) {}, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  kalam_cf* cf = nullptr;
  EXPECT_EQ(vt().cf_open(db_, nullptr, 0, &cf, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().cf_open(db_, "", 0, &cf, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().cf_list(db_, nullptr, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().snapshot_create(db_, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().iter_create(db_, nullptr, nullptr, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().iter_seek_first(nullptr, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().iter_valid(nullptr), 0);
  EXPECT_EQ(vt().checkpoint(db_, nullptr, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().get_property(db_, nullptr, nullptr, nullptr, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  vt().iter_destroy(nullptr);
  vt().snapshot_release(db_, nullptr);
  EXPECT_EQ(status.code, KALAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(status.message).find("NULL"), std::string::npos);
}

// ---- Threads
// ----------------------------------------------------------------------

TEST_F(SqlitePluginTest, ConcurrentWritersReadersAndIterators) {
  constexpr int kThreads = 4;
  constexpr int kKeys = 150;
  put(nullptr, "shared", "before");
  RawStatus snapshot_status;
  kalam_snapshot* snapshot = nullptr;
  ASSERT_EQ(vt().snapshot_create(db_, &snapshot, &snapshot_status), KALAM_OK);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  // Readers of one shared snapshot, while the writers below change the data.
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        std::string value;
        RawStatus status;
        if (raw_get(plugin(), db_, nullptr, "shared", &value, &status,
                    snapshot) != KALAM_OK ||
            value != "before") {
          ++failures;
        }
        if (i % 50 == 0) {
          Iter iter(db_, nullptr, snapshot);
          if (iter.forward() != Entries{{"shared", "before"}}) ++failures;
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 100; ++i) {
      RawStatus status;
      if (raw_write(plugin(), db_,
                    {{KALAM_OP_PUT, nullptr, "shared", std::to_string(i)}},
                    &status) != KALAM_OK) {
        ++failures;
      }
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        const std::string key =
            "t" + std::to_string(t) + "-" + std::to_string(i);
        RawStatus status;
        if (raw_write(plugin(), db_, {{KALAM_OP_PUT, nullptr, key, key}},
                      &status, i % 50 == 0) != KALAM_OK) {
          ++failures;
        }
        std::string value;
        if (raw_get(plugin(), db_, nullptr, key, &value, &status) != KALAM_OK ||
            value != key) {
          ++failures;
        }
        if (i % 25 == 0) {
          Iter iter(db_, nullptr);
          const size_t seen = iter.forward().size();
          if (seen < static_cast<size_t>(i + 1)) ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  vt().snapshot_release(db_, snapshot);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(raw_scan(plugin(), db_, nullptr).size(),
            static_cast<size_t>(kThreads * kKeys + 1));
  EXPECT_EQ(get(nullptr, "shared"), "99");
}

}  // namespace
}  // namespace kalam::test
