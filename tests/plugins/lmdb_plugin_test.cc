// Tests of what is specific to the LMDB plugin, through its raw C ABI
// (support/raw_plugin.h): map size limits, key size limits, one environment
// per path, read-only open, checkpoint, options, iterators over cursors,
// snapshots as read transactions, delete-range emulation, drops.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/test_paths.h>
#include <lmdb.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "raw_plugin.h"

namespace {

using kalam::test::RawOp;
using kalam::test::RawPlugin;
using kalam::test::RawStatus;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

namespace fs = std::filesystem;
using Entries = std::vector<std::pair<std::string, std::string>>;

const RawPlugin& Plugin() {
  static const RawPlugin plugin(KALAM_TEST_PLUGIN_LMDB_PATH);
  return plugin;
}
const kalam_backend_vtable& Vt() { return Plugin().vt(); }

// Frees an iterator at scope exit.
struct IterHolder {
  kalam_iter* it = nullptr;
  ~IterHolder() { Vt().iter_destroy(it); }
};

class LmdbPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr ? base : "/tmp") + "/kalam-lmdb-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    path_ = root_ + "/db";
  }
  void TearDown() override {
    for (kalam_db* db : open_) {
      RawStatus status;
      Vt().close(db, &status);
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Opens `path` (default path_) and expects success.
  kalam_db* Open(const std::map<std::string, std::string>& options = {},
                 uint32_t flags = KALAM_OPEN_CREATE_IF_MISSING,
                 const std::string& path = "") {
    RawStatus status;
    kalam_db* db = nullptr;
    const int rc = kalam::test::raw_open(Plugin(), path.empty() ? path_ : path,
                                         options, &db, &status, flags);
    EXPECT_EQ(rc, KALAM_OK) << status.text();
    if (rc == KALAM_OK) open_.push_back(db);
    return db;
  }
  int TryOpen(const std::map<std::string, std::string>& options,
              RawStatus* status, uint32_t flags = KALAM_OPEN_CREATE_IF_MISSING,
              const std::string& path = "") {
    kalam_db* db = nullptr;
    const int rc = kalam::test::raw_open(Plugin(), path.empty() ? path_ : path,
                                         options, &db, status, flags);
    if (rc == KALAM_OK) open_.push_back(db);
    return rc;
  }
  void Close(kalam_db* db) {
    RawStatus status;
    EXPECT_EQ(Vt().close(db, &status), KALAM_OK) << status.text();
    open_.erase(std::find(open_.begin(), open_.end(), db));
  }

  void Put(kalam_db* db, kalam_cf* cf, const std::string& key,
           const std::string& value) {
    RawStatus status;
    EXPECT_EQ(kalam::test::raw_write(Plugin(), db,
                                     {{KALAM_OP_PUT, cf, key, value}}, &status),
              KALAM_OK)
        << status.text();
  }
  int Write(kalam_db* db, const std::vector<RawOp>& ops,
            RawStatus* status = nullptr) {
    RawStatus local;
    return kalam::test::raw_write(Plugin(), db, ops,
                                  status != nullptr ? status : &local);
  }
  // The value, "<NOT_FOUND>", or "<CODE: message>".
  std::string Get(kalam_db* db, kalam_cf* cf, const std::string& key,
                  const kalam_snapshot* snapshot = nullptr) {
    RawStatus status;
    std::string value;
    const int rc =
        kalam::test::raw_get(Plugin(), db, cf, key, &value, &status, snapshot);
    if (rc == KALAM_OK) return value;
    if (rc == KALAM_NOT_FOUND) return "<NOT_FOUND>";
    return "<" + status.text() + ">";
  }
  kalam_cf* CfOpen(kalam_db* db, const std::string& name, bool create = true) {
    RawStatus status;
    kalam_cf* cf = nullptr;
    EXPECT_EQ(
        Vt().cf_open(db, name.c_str(), create ? KALAM_CF_CREATE_IF_MISSING : 0,
                     &cf, &status),
        KALAM_OK)
        << status.text();
    return cf;
  }
  std::vector<std::string> CfList(kalam_db* db) {
    std::vector<std::string> names;
    RawStatus status;
    EXPECT_EQ(
        Vt().cf_list(
            db,
            [](void* ctx, const char* name) {
              static_cast<std::vector<std::string>*>(ctx)->push_back(name);
            },
            &names, &status),
        KALAM_OK);
    return names;
  }
  Entries Scan(kalam_db* db, kalam_cf* cf, const std::string* lower = nullptr,
               const std::string* upper = nullptr) {
    return kalam::test::raw_scan(Plugin(), db, cf, lower, upper);
  }
  // Every entry of an iterator walked backwards from seek_last.
  Entries ScanBackwards(kalam_iter* it) {
    Entries out;
    RawStatus status;
    int rc = Vt().iter_seek_last(it, &status);
    while (rc == KALAM_OK) {
      out.push_back(Entry(it));
      rc = Vt().iter_prev(it, &status);
    }
    EXPECT_EQ(rc, KALAM_NOT_FOUND) << status.text();
    return out;
  }
  kalam_iter* NewIter(kalam_db* db, kalam_cf* cf,
                      const std::string* lower = nullptr,
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
    kalam_iter* it = nullptr;
    EXPECT_EQ(Vt().iter_create(db, &options, cf, &it, &status), KALAM_OK)
        << status.text();
    return it;
  }
  static std::pair<std::string, std::string> Entry(const kalam_iter* it) {
    const void* k = nullptr;
    const void* v = nullptr;
    size_t kl = 0;
    size_t vl = 0;
    EXPECT_EQ(Vt().iter_entry(it, &k, &kl, &v, &vl), KALAM_OK);
    return {std::string(static_cast<const char*>(k), kl),
            std::string(static_cast<const char*>(v), vl)};
  }
  static std::string Key(const kalam_iter* it) { return Entry(it).first; }

  std::string root_;
  std::string path_;
  std::vector<kalam_db*> open_;
};

// ---------------------------------------------------------------------------
// Plugin info and options

TEST_F(LmdbPluginTest, InfoDescribesTheLmdbBackend) {
  const kalam_plugin_info& info = Plugin().info();
  EXPECT_STREQ(info.name, "lmdb");
  EXPECT_EQ(info.format_version, 1u);
  EXPECT_EQ(info.abi_major, static_cast<uint32_t>(KALAM_ABI_VERSION_MAJOR));
  // lmdb.h is used for its constants only (the test does not link liblmdb).
  EXPECT_THAT(info.version,
              HasSubstr("LMDB " + std::to_string(MDB_VERSION_MAJOR) + "." +
                        std::to_string(MDB_VERSION_MINOR) + "."));
  EXPECT_EQ(info.max_key_size, 511u);
  EXPECT_EQ(info.max_value_size, 0xFFFFFFFFu);
  EXPECT_EQ(info.capabilities,
            KALAM_CAP_PERSISTENT | KALAM_CAP_DURABLE_SYNC |
                KALAM_CAP_ATOMIC_BATCH | KALAM_CAP_SNAPSHOTS |
                KALAM_CAP_REVERSE_ITERATION | KALAM_CAP_DELETE_RANGE |
                KALAM_CAP_THREAD_SAFE | KALAM_CAP_PROPERTIES |
                KALAM_CAP_CHECKPOINT | KALAM_CAP_READ_ONLY_OPEN);
  EXPECT_EQ(info.vtable->struct_size, sizeof(kalam_backend_vtable));
  EXPECT_EQ(info.vtable->compact_range, nullptr);
}

TEST_F(LmdbPluginTest, EntryRefusesAnotherAbiMajor) {
  void* handle = dlopen(KALAM_TEST_PLUGIN_LMDB_PATH, RTLD_NOW | RTLD_LOCAL);
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
  EXPECT_THAT(status.message, HasSubstr("ABI"));
  // A smaller info struct gets only the fields it covers.
  host.abi_major = KALAM_ABI_VERSION_MAJOR;
  unsigned char raw[sizeof(kalam_plugin_info)];
  std::memset(raw, 0xAB, sizeof raw);
  auto* small = reinterpret_cast<kalam_plugin_info*>(raw);
  small->struct_size = offsetof(kalam_plugin_info, name);
  EXPECT_EQ(entry(&host, small, &status), KALAM_OK);
  EXPECT_EQ(small->format_version, 1u);
  for (size_t i = offsetof(kalam_plugin_info, name); i < sizeof raw; ++i) {
    ASSERT_EQ(raw[i], 0xAB) << "byte " << i << " beyond struct_size written";
  }
}

TEST_F(LmdbPluginTest, GoodOptionsAreAccepted) {
  int n = 0;
  for (const std::map<std::string, std::string>& options :
       std::vector<std::map<std::string, std::string>>{
           {},
           {{"map_size", "256MiB"}},
           {{"map_size", "1 GiB"}, {"max_dbs", "4"}, {"max_readers", "64"}},
           {{"map_size", "100000000"}, {"sync_mode", "nometasync"}},
           {{"map_size", "2GB"},
            {"sync_mode", "nosync"},
            {"write_map", "true"}},
           {{"sync_mode", "FULL"},
            {"write_map", "off"},
            {"no_readahead", "yes"}},
       }) {
    kalam_db* db = Open(options, KALAM_OPEN_CREATE_IF_MISSING,
                        root_ + "/good" + std::to_string(n++));
    ASSERT_NE(db, nullptr);
    Put(db, nullptr, "k", "v");
    EXPECT_EQ(Get(db, nullptr, "k"), "v");
    RawStatus status;
    EXPECT_EQ(Vt().flush(db, 0, &status), KALAM_OK) << status.text();
    Close(db);
  }
}

TEST_F(LmdbPluginTest, BadOptionsAreRefusedNamingKeyAndValue) {
  struct Case {
    std::string key;
    std::string value;
  };
  for (const Case& c : std::vector<Case>{
           {"map_size", "abc"},
           {"map_size", "0"},
           {"map_size", "12XB"},
           {"map_size", "-5MiB"},
           {"map_size", "4KiB"},  // below the minimum
           {"map_size", "99999999999999999999999"},
           {"max_dbs", "0"},
           {"max_dbs", "ten"},
           {"max_readers", "0"},
           {"sync_mode", "sometimes"},
           {"write_map", "maybe"},
           {"no_readahead", ""},
       }) {
    RawStatus status;
    EXPECT_EQ(TryOpen({{c.key, c.value}}, &status), KALAM_INVALID_ARGUMENT)
        << c.key << "=" << c.value;
    EXPECT_THAT(status.message, HasSubstr(c.key));
    EXPECT_THAT(status.message, HasSubstr("'" + c.value + "'"));
  }
  RawStatus status;
  EXPECT_EQ(TryOpen({{"block_cache_size", "1GiB"}}, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_THAT(status.message, HasSubstr("unknown option 'block_cache_size'"));
  // Nothing was created by the refused opens.
  EXPECT_FALSE(fs::exists(path_ + "/data.mdb"));
}

// ---------------------------------------------------------------------------
// Open, close, paths

TEST_F(LmdbPluginTest, OpenWithoutCreateFindsNothing) {
  RawStatus status;
  EXPECT_EQ(TryOpen({}, &status, 0), KALAM_NOT_FOUND);
  EXPECT_FALSE(fs::exists(path_));
  fs::create_directories(path_);
  EXPECT_EQ(TryOpen({}, &status, 0), KALAM_NOT_FOUND);
  EXPECT_EQ(TryOpen({}, &status, KALAM_OPEN_READ_ONLY), KALAM_NOT_FOUND);
  EXPECT_EQ(
      TryOpen({}, &status, KALAM_OPEN_READ_ONLY | KALAM_OPEN_CREATE_IF_MISSING),
      KALAM_NOT_FOUND);
  EXPECT_FALSE(fs::exists(path_ + "/data.mdb"));
}

TEST_F(LmdbPluginTest, SecondOpenOfTheSamePathIsBusy) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  RawStatus status;
  EXPECT_EQ(TryOpen({}, &status), KALAM_BUSY);
  EXPECT_THAT(status.message, HasSubstr("already open in this process"));
  // The same directory under another spelling is the same environment.
  fs::create_directory_symlink(path_, root_ + "/alias");
  EXPECT_EQ(TryOpen({}, &status, 0, root_ + "/alias/."), KALAM_BUSY);
  EXPECT_EQ(TryOpen({}, &status, KALAM_OPEN_READ_ONLY), KALAM_BUSY);
  Close(db);
  db = Open({}, 0, root_ + "/alias");
  ASSERT_NE(db, nullptr);
  Close(db);
}

TEST_F(LmdbPluginTest, PathLockedByAnotherProcessIsBusy) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  Close(db);
  // A flock on another open file description conflicts like another
  // process's would.
  const int fd = ::open((path_ + "/kalam_lmdb.lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  RawStatus status;
  EXPECT_EQ(TryOpen({}, &status, 0), KALAM_BUSY);
  EXPECT_THAT(status.message, HasSubstr("another process"));
  ::close(fd);
  db = Open({}, 0);
  ASSERT_NE(db, nullptr);
}

TEST_F(LmdbPluginTest, ReopenKeepsDataAndColumnFamilies) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  kalam_cf* a = CfOpen(db, "a");
  kalam_cf* b = CfOpen(db, "b");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(CfOpen(db, "a"), a);  // same handle for the same name
  EXPECT_EQ(CfOpen(db, "default"), nullptr);
  Put(db, nullptr, "k", "default-v");
  Put(db, a, "k", "a-v");
  Put(db, b, "k2", "b-v");
  EXPECT_THAT(CfList(db), UnorderedElementsAre("default", "a", "b"));
  Close(db);

  db = Open({}, 0);
  ASSERT_NE(db, nullptr);
  EXPECT_THAT(CfList(db), UnorderedElementsAre("default", "a", "b"));
  RawStatus status;
  kalam_cf* cf = nullptr;
  EXPECT_EQ(Vt().cf_open(db, "c", 0, &cf, &status), KALAM_NOT_FOUND);
  a = CfOpen(db, "a", false);
  b = CfOpen(db, "b", false);
  EXPECT_EQ(Get(db, nullptr, "k"), "default-v");
  EXPECT_EQ(Get(db, a, "k"), "a-v");
  EXPECT_EQ(Get(db, b, "k2"), "b-v");
  EXPECT_EQ(Get(db, b, "k"), "<NOT_FOUND>");
}

TEST_F(LmdbPluginTest, ColumnFamilyNamesAreChecked) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  RawStatus status;
  kalam_cf* cf = nullptr;
  EXPECT_EQ(Vt().cf_open(db, "", KALAM_CF_CREATE_IF_MISSING, &cf, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Vt().cf_open(db, std::string(512, 'n').c_str(),
                         KALAM_CF_CREATE_IF_MISSING, &cf, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Vt().cf_open(db, nullptr, 0, &cf, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Vt().cf_open(db, "x", 0x80, &cf, &status), KALAM_INVALID_ARGUMENT);
}

TEST_F(LmdbPluginTest, MaxDbsLimitsColumnFamilies) {
  kalam_db* db = Open({{"max_dbs", "3"}});  // default + 2
  ASSERT_NE(db, nullptr);
  CfOpen(db, "one");
  CfOpen(db, "two");
  RawStatus status;
  kalam_cf* cf = nullptr;
  EXPECT_EQ(Vt().cf_open(db, "three", KALAM_CF_CREATE_IF_MISSING, &cf, &status),
            KALAM_NO_SPACE);
  EXPECT_THAT(status.message, HasSubstr("max_dbs"));
  EXPECT_EQ(cf, nullptr);
  EXPECT_THAT(CfList(db), UnorderedElementsAre("default", "one", "two"));
  Close(db);
  // Reopening with room for fewer families than exist is refused.
  EXPECT_EQ(TryOpen({{"max_dbs", "2"}}, &status, 0), KALAM_NO_SPACE);
  EXPECT_THAT(status.message, HasSubstr("max_dbs is 2"));
  db = Open({{"max_dbs", "3"}}, 0);
  ASSERT_NE(db, nullptr);
}

TEST_F(LmdbPluginTest, ReadOnlyOpenRejectsWrites) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  kalam_cf* a = CfOpen(db, "a");
  Put(db, a, "k", "v");
  Close(db);

  db = Open({}, KALAM_OPEN_READ_ONLY);
  ASSERT_NE(db, nullptr);
  a = CfOpen(db, "a", false);
  EXPECT_EQ(Get(db, a, "k"), "v");
  RawStatus status;
  EXPECT_EQ(Write(db, {{KALAM_OP_PUT, nullptr, "x", "y"}}, &status),
            KALAM_NOT_SUPPORTED);
  EXPECT_THAT(status.message, HasSubstr("read-only"));
  EXPECT_EQ(Write(db, {{KALAM_OP_DELETE, a, "k", ""}}), KALAM_NOT_SUPPORTED);
  kalam_cf* cf = nullptr;
  EXPECT_EQ(Vt().cf_open(db, "new", KALAM_CF_CREATE_IF_MISSING, &cf, &status),
            KALAM_NOT_SUPPORTED);
  EXPECT_EQ(Vt().cf_drop(db, a, &status), KALAM_NOT_SUPPORTED);
  EXPECT_EQ(Vt().flush(db, 0, &status), KALAM_OK);
  EXPECT_EQ(Scan(db, a), (Entries{{"k", "v"}}));
  kalam_snapshot* snapshot = nullptr;
  ASSERT_EQ(Vt().snapshot_create(db, &snapshot, &status), KALAM_OK);
  EXPECT_EQ(Get(db, a, "k", snapshot), "v");
  Vt().snapshot_release(db, snapshot);
  Close(db);
  // Still there, unchanged.
  db = Open({}, 0);
  EXPECT_EQ(Get(db, nullptr, "x"), "<NOT_FOUND>");
}

TEST_F(LmdbPluginTest, CloseIsBusyWhileIteratorsOrSnapshotsLive) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  Put(db, nullptr, "k", "v");
  kalam_iter* it = NewIter(db, nullptr);
  RawStatus status;
  EXPECT_EQ(Vt().close(db, &status), KALAM_BUSY);
  EXPECT_THAT(status.message, HasSubstr("1 iterator(s)"));
  // Still open and usable.
  EXPECT_EQ(Vt().iter_seek_first(it, &status), KALAM_OK);
  EXPECT_EQ(Key(it), "k");
  Vt().iter_destroy(it);
  kalam_snapshot* snapshot = nullptr;
  ASSERT_EQ(Vt().snapshot_create(db, &snapshot, &status), KALAM_OK);
  EXPECT_EQ(Vt().close(db, &status), KALAM_BUSY);
  EXPECT_THAT(status.message, HasSubstr("1 snapshot(s)"));
  Vt().snapshot_release(db, snapshot);
  Close(db);
}

// ---------------------------------------------------------------------------
// Keys, values and writes

TEST_F(LmdbPluginTest, KeysOf511BytesFitAnd512DoNot) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  const std::string k511(511, 'k');
  const std::string k512(512, 'k');
  Put(db, nullptr, k511, "v");
  EXPECT_EQ(Get(db, nullptr, k511), "v");
  RawStatus status;
  EXPECT_EQ(Write(db,
                  {{KALAM_OP_PUT, nullptr, "first", "1"},
                   {KALAM_OP_PUT, nullptr, k512, "v"}},
                  &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_THAT(status.message, HasSubstr("512 bytes"));
  EXPECT_THAT(status.message, HasSubstr("511"));
  EXPECT_EQ(Get(db, nullptr, "first"), "<NOT_FOUND>");  // nothing applied
  EXPECT_EQ(Write(db, {{KALAM_OP_DELETE, nullptr, k512, ""}}),
            KALAM_INVALID_ARGUMENT);
  std::string value;
  EXPECT_EQ(kalam::test::raw_get(Plugin(), db, nullptr, k512, &value, &status),
            KALAM_INVALID_ARGUMENT);
}

TEST_F(LmdbPluginTest, EmptyKeysAreRejected) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  RawStatus status;
  EXPECT_EQ(Write(db,
                  {{KALAM_OP_PUT, nullptr, "a", "1"},
                   {KALAM_OP_PUT, nullptr, "", "empty"}},
                  &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_THAT(status.message, HasSubstr("empty key"));
  EXPECT_EQ(Get(db, nullptr, "a"), "<NOT_FOUND>");
  EXPECT_EQ(Write(db, {{KALAM_OP_DELETE, nullptr, "", ""}}, &status),
            KALAM_INVALID_ARGUMENT);
  // A read of the empty key finds nothing (backend_api.h convention 2).
  EXPECT_EQ(Get(db, nullptr, ""), "<NOT_FOUND>");
  size_t len = 7;
  char buf[4];
  EXPECT_EQ(Vt().get_into(db, nullptr, nullptr, nullptr, 0, buf, sizeof buf,
                          &len, &status),
            KALAM_NOT_FOUND);
  EXPECT_EQ(len, 7u);
  // Empty bounds are fine: a DELETE_RANGE from "" starts at the first key.
  Put(db, nullptr, "a", "1");
  Put(db, nullptr, "b", "2");
  EXPECT_EQ(Write(db, {{KALAM_OP_DELETE_RANGE, nullptr, "", "b"}}), KALAM_OK);
  EXPECT_EQ(Scan(db, nullptr), (Entries{{"b", "2"}}));
}

TEST_F(LmdbPluginTest, EmptyValuesAndBinaryKeysRoundTrip) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  const std::string binary("\x00\xff\x00", 3);
  Put(db, nullptr, binary, "");
  Put(db, nullptr, std::string("\x00", 1), "zero");
  EXPECT_EQ(Get(db, nullptr, binary), "");
  EXPECT_EQ(Scan(db, nullptr),
            (Entries{{std::string("\x00", 1), "zero"}, {binary, ""}}));
}

TEST_F(LmdbPluginTest, BatchWithAnInvalidOpAppliesNothing) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  kalam_cf* a = CfOpen(db, "a");
  kalam_cf* gone = CfOpen(db, "gone");
  RawStatus status;
  ASSERT_EQ(Vt().cf_drop(db, gone, &status), KALAM_OK);
  Put(db, nullptr, "keep", "old");

  EXPECT_EQ(Write(db,
                  {{KALAM_OP_PUT, nullptr, "keep", "new"},
                   {KALAM_OP_PUT, a, "x", "1"},
                   {99, nullptr, "k", "v"}},
                  &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_THAT(status.message, HasSubstr("unknown op type 99"));
  EXPECT_EQ(
      Write(db, {{KALAM_OP_PUT, a, "x", "1"}, {KALAM_OP_PUT, gone, "x", "1"}},
            &status),
      KALAM_DROPPED);
  EXPECT_THAT(status.message, HasSubstr("'gone'"));

  // reserved0 must be 0; a NULL key with a length is malformed.
  kalam_write_op ops[2] = {};
  ops[0].type = KALAM_OP_PUT;
  ops[0].key = "x";
  ops[0].key_len = 1;
  ops[1].type = KALAM_OP_PUT;
  ops[1].reserved0 = 1;
  ops[1].key = "y";
  ops[1].key_len = 1;
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  EXPECT_EQ(Vt().write(db, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  ops[1].reserved0 = 0;
  ops[1].key = nullptr;
  EXPECT_EQ(Vt().write(db, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  // A stride smaller than the op is refused; op_count 0 is a no-op.
  options.op_stride = sizeof(kalam_write_op) - 8;
  EXPECT_EQ(Vt().write(db, &options, ops, 1, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Vt().write(db, &options, nullptr, 0, &status), KALAM_OK);

  EXPECT_EQ(Get(db, nullptr, "keep"), "old");
  EXPECT_EQ(Scan(db, a), Entries{});
  EXPECT_EQ(Get(db, nullptr, "x"), "<NOT_FOUND>");
}

TEST_F(LmdbPluginTest, WritesHonourALargerStride) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  struct BiggerOp {
    kalam_write_op op;
    uint64_t future_field;
  };
  BiggerOp ops[2] = {};
  ops[0].op.type = KALAM_OP_PUT;
  ops[0].op.key = "a";
  ops[0].op.key_len = 1;
  ops[0].op.value = "1";
  ops[0].op.value_len = 1;
  ops[1].op = ops[0].op;
  ops[1].op.key = "b";
  ops[0].future_field = ops[1].future_field = ~uint64_t{0};
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.flags = KALAM_WRITE_SYNC;
  options.op_stride = sizeof(BiggerOp);
  RawStatus status;
  ASSERT_EQ(Vt().write(db, &options, &ops[0].op, 2, &status), KALAM_OK)
      << status.text();
  EXPECT_EQ(Scan(db, nullptr), (Entries{{"a", "1"}, {"b", "1"}}));
}

TEST_F(LmdbPluginTest, LaterOpsOnTheSameKeyWin) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(Write(db, {{KALAM_OP_PUT, nullptr, "k", "1"},
                       {KALAM_OP_DELETE, nullptr, "k", ""},
                       {KALAM_OP_PUT, nullptr, "k", "2"},
                       {KALAM_OP_PUT, nullptr, "m", "x"},
                       {KALAM_OP_DELETE_RANGE, nullptr, "l", "n"},
                       {KALAM_OP_DELETE, nullptr, "missing", ""}}),
            KALAM_OK);
  EXPECT_EQ(Scan(db, nullptr), (Entries{{"k", "2"}}));
}

TEST_F(LmdbPluginTest, DeleteRangeHandlesEmptyReversedAndLongBounds) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  for (const char* k : {"a", "b", "c", "d", "e"}) Put(db, nullptr, k, k);
  // Empty and reversed ranges remove nothing and are not errors.
  EXPECT_EQ(Write(db, {{KALAM_OP_DELETE_RANGE, nullptr, "c", "c"}}), KALAM_OK);
  EXPECT_EQ(Write(db, {{KALAM_OP_DELETE_RANGE, nullptr, "d", "b"}}), KALAM_OK);
  EXPECT_EQ(Write(db, {{KALAM_OP_DELETE_RANGE, nullptr, "x", "z"}}), KALAM_OK);
  EXPECT_EQ(Scan(db, nullptr).size(), 5u);
  // [b, d): end exclusive.
  EXPECT_EQ(Write(db, {{KALAM_OP_DELETE_RANGE, nullptr, "b", "d"}}), KALAM_OK);
  EXPECT_EQ(Scan(db, nullptr), (Entries{{"a", "a"}, {"d", "d"}, {"e", "e"}}));
  // Bounds longer than any key are positions, not keys.
  const std::string long_a = "a" + std::string(600, '\xff');
  EXPECT_EQ(Write(db, {{KALAM_OP_DELETE_RANGE, nullptr, long_a, "e"}}),
            KALAM_OK);
  EXPECT_EQ(Scan(db, nullptr), (Entries{{"a", "a"}, {"e", "e"}}));
  EXPECT_EQ(Write(db, {{KALAM_OP_DELETE_RANGE, nullptr, "",
                        std::string(600, '\xff')}}),
            KALAM_OK);
  EXPECT_EQ(Scan(db, nullptr), Entries{});
}

TEST_F(LmdbPluginTest, DeleteRangeAcrossManyPagesMatchesAModel) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  std::map<std::string, std::string> model;
  std::vector<RawOp> ops;
  for (int i = 0; i < 5000; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "key%06d", i);
    model[key] = std::string(40, static_cast<char>('a' + i % 26));
    ops.push_back({KALAM_OP_PUT, nullptr, key, model[key]});
  }
  ASSERT_EQ(Write(db, ops), KALAM_OK);
  // Ranges that end mid-page, at the end of the tree, and that empty it.
  for (const auto& [begin, end] :
       std::vector<std::pair<std::string, std::string>>{
           {"key000100", "key001234"},
           {"key004000", "key9"},
           {"key0020", "key0021"},
           {"", "key3"},
           {"a", "z"}}) {
    ASSERT_EQ(Write(db, {{KALAM_OP_DELETE_RANGE, nullptr, begin, end}}),
              KALAM_OK);
    model.erase(model.lower_bound(begin), model.lower_bound(end));
    const Entries expected(model.begin(), model.end());
    ASSERT_EQ(Scan(db, nullptr), expected) << begin << ".." << end;
  }
  EXPECT_TRUE(model.empty());
}

TEST_F(LmdbPluginTest, RandomBatchesMatchAModelAcrossReopens) {
  std::mt19937 rng(20240601);
  std::map<std::string, std::string> model;
  auto random_key = [&] {
    std::string k(1 + rng() % 4, 'a');
    for (char& c : k) c = static_cast<char>('a' + rng() % 6);
    return k;
  };
  kalam_db* db = Open({{"sync_mode", "nosync"}});
  ASSERT_NE(db, nullptr);
  for (int step = 0; step < 400; ++step) {
    std::vector<RawOp> ops;
    std::map<std::string, std::string> next = model;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      const int kind = static_cast<int>(rng() % 10);
      if (kind < 6) {
        std::string k = random_key();
        std::string v = std::to_string(step) + "/" + std::to_string(i);
        next[k] = v;
        ops.push_back({KALAM_OP_PUT, nullptr, k, v});
      } else if (kind < 9) {
        std::string k = random_key();
        next.erase(k);
        ops.push_back({KALAM_OP_DELETE, nullptr, k, ""});
      } else {
        std::string b = random_key();
        std::string e = random_key();
        if (b < e) next.erase(next.lower_bound(b), next.lower_bound(e));
        ops.push_back({KALAM_OP_DELETE_RANGE, nullptr, b, e});
      }
    }
    ASSERT_EQ(Write(db, ops), KALAM_OK);
    model = std::move(next);
    if (step % 20 == 0) {
      ASSERT_EQ(Scan(db, nullptr), Entries(model.begin(), model.end()));
    }
    if (step % 100 == 99) {
      Close(db);
      db = Open({{"sync_mode", "nosync"}}, 0);
      ASSERT_NE(db, nullptr);
    }
  }
  ASSERT_EQ(Scan(db, nullptr), Entries(model.begin(), model.end()));
  IterHolder it{NewIter(db, nullptr)};
  Entries backwards = ScanBackwards(it.it);
  std::reverse(backwards.begin(), backwards.end());
  EXPECT_EQ(backwards, Entries(model.begin(), model.end()));
}

// ---------------------------------------------------------------------------
// Map size

TEST_F(LmdbPluginTest, FullMapIsNoSpaceNamingMapSizeAndAppliesNothing) {
  kalam_db* db = Open({{"map_size", "64KiB"}});
  ASSERT_NE(db, nullptr);
  const std::string value(1000, 'v');
  int stored = 0;
  RawStatus status;
  int rc = KALAM_OK;
  for (; stored < 1000; ++stored) {
    rc = Write(
        db, {{KALAM_OP_PUT, nullptr, "fill" + std::to_string(stored), value}},
        &status);
    if (rc != KALAM_OK) break;
  }
  ASSERT_EQ(rc, KALAM_NO_SPACE) << status.text();
  EXPECT_GT(stored, 5);
  EXPECT_EQ(status.native_code, MDB_MAP_FULL);
  EXPECT_THAT(status.message, HasSubstr("map_size"));
  EXPECT_THAT(status.message, HasSubstr("64 KiB"));
  EXPECT_EQ(Get(db, nullptr, "fill" + std::to_string(stored)), "<NOT_FOUND>");

  // A batch that fails part-way applies nothing.
  rc = Write(db,
             {{KALAM_OP_PUT, nullptr, "small", "s"},
              {KALAM_OP_PUT, nullptr, "big", std::string(40000, 'b')}},
             &status);
  EXPECT_EQ(rc, KALAM_NO_SPACE) << status.text();
  EXPECT_EQ(Get(db, nullptr, "small"), "<NOT_FOUND>");
  EXPECT_EQ(Get(db, nullptr, "big"), "<NOT_FOUND>");

  // Still usable: every stored value reads back; the property shows the map.
  EXPECT_EQ(Get(db, nullptr, "fill0"), value);
  EXPECT_EQ(Scan(db, nullptr).size(), static_cast<size_t>(stored));
  Close(db);

  // Reopen with a larger map: the old data is there and writes fit again.
  db = Open({{"map_size", "1MiB"}}, 0);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(Scan(db, nullptr).size(), static_cast<size_t>(stored));
  ASSERT_EQ(Write(db,
                  {{KALAM_OP_PUT, nullptr, "small", "s"},
                   {KALAM_OP_PUT, nullptr, "big", std::string(40000, 'b')}},
                  &status),
            KALAM_OK)
      << status.text();
  EXPECT_EQ(Get(db, nullptr, "small"), "s");
  Close(db);
  // A smaller map_size than the data is raised to fit it by LMDB.
  db = Open({{"map_size", "64KiB"}}, 0);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(Get(db, nullptr, "small"), "s");
}

// ---------------------------------------------------------------------------
// Reads

TEST_F(LmdbPluginTest, GetIntoReportsTheNeededLength) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  Put(db, nullptr, "k", "hello");
  char buf[8];
  std::memset(buf, '#', sizeof buf);
  size_t len = 0;
  RawStatus status;
  EXPECT_EQ(Vt().get_into(db, nullptr, nullptr, "k", 1, buf, 3, &len, &status),
            KALAM_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, 5u);
  EXPECT_EQ(std::string(buf, sizeof buf), std::string(8, '#'));
  EXPECT_EQ(Vt().get_into(db, nullptr, nullptr, "k", 1, buf, sizeof buf, &len,
                          &status),
            KALAM_OK);
  EXPECT_EQ(std::string(buf, len), "hello");
  len = 99;
  EXPECT_EQ(Vt().get_into(db, nullptr, nullptr, "nope", 4, buf, sizeof buf,
                          &len, &status),
            KALAM_NOT_FOUND);
  EXPECT_EQ(len, 99u);
  EXPECT_EQ(
      Vt().get_into(db, nullptr, nullptr, "k", 1, nullptr, 0, &len, &status),
      KALAM_BUFFER_TOO_SMALL);
  EXPECT_EQ(Vt().get_into(db, nullptr, nullptr, "k", 1, buf, sizeof buf,
                          nullptr, &status),
            KALAM_INVALID_ARGUMENT);
}

TEST_F(LmdbPluginTest, MultiGetVisitsEveryIndexInOrder) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  kalam_cf* a = CfOpen(db, "a");
  Put(db, nullptr, "k1", "d1");
  Put(db, a, "k1", "a1");
  const std::string big(600, 'x');
  std::vector<kalam_cf*> cfs = {nullptr, a, a, nullptr, nullptr};
  std::vector<std::string> keys = {"k1", "k1", "k2", big, ""};
  std::vector<const void*> ptrs;
  std::vector<size_t> lens;
  for (const auto& k : keys) {
    ptrs.push_back(k.data());
    lens.push_back(k.size());
  }
  struct Seen {
    size_t index;
    int code;
    std::string value;
  };
  std::vector<Seen> seen;
  RawStatus status;
  ASSERT_EQ(
      Vt().multi_get(
          db, nullptr, keys.size(), cfs.data(), ptrs.data(), lens.data(),
          [](void* ctx, size_t i, int code, const void* v, size_t n) {
            static_cast<std::vector<Seen>*>(ctx)->push_back(
                {i, code,
                 v != nullptr ? std::string(static_cast<const char*>(v), n)
                              : ""});
          },
          &seen, &status),
      KALAM_OK);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].code, KALAM_OK);
  EXPECT_EQ(seen[0].value, "d1");
  EXPECT_EQ(seen[1].value, "a1");
  EXPECT_EQ(seen[2].code, KALAM_NOT_FOUND);
  EXPECT_EQ(seen[3].code, KALAM_INVALID_ARGUMENT);  // over 511 bytes
  EXPECT_EQ(seen[4].code, KALAM_NOT_FOUND);         // the empty key
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].index, i);
}

TEST_F(LmdbPluginTest, ReentrantGetFromAVisitorWorks) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  Put(db, nullptr, "outer", "inner");
  Put(db, nullptr, "inner", "value");
  struct Ctx {
    kalam_db* db;
    std::string inner;
    int rc;
  } ctx{db, "", -1};
  RawStatus status;
  ASSERT_EQ(Vt().get(
                db, nullptr, nullptr, "outer", 5,
                [](void* p, const void* v, size_t n) {
                  auto* c = static_cast<Ctx*>(p);
                  RawStatus s;
                  c->rc = kalam::test::raw_get(
                      Plugin(), c->db, nullptr,
                      std::string(static_cast<const char*>(v), n), &c->inner,
                      &s);
                },
                &ctx, &status),
            KALAM_OK);
  EXPECT_EQ(ctx.rc, KALAM_OK);
  EXPECT_EQ(ctx.inner, "value");
}

TEST_F(LmdbPluginTest, PropertiesDescribeAColumnFamily) {
  kalam_db* db = Open({{"map_size", "8MiB"}});
  ASSERT_NE(db, nullptr);
  kalam_cf* a = CfOpen(db, "a");
  for (int i = 0; i < 100; ++i) Put(db, a, "k" + std::to_string(i), "v");
  auto property = [&](kalam_cf* cf, const char* name, int* rc) {
    std::string text;
    RawStatus status;
    *rc = Vt().get_property(
        db, cf, name,
        [](void* ctx, const void* v, size_t n) {
          static_cast<std::string*>(ctx)->assign(static_cast<const char*>(v),
                                                 n);
        },
        &text, &status);
    return text;
  };
  int rc = 0;
  EXPECT_EQ(property(a, KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &rc), "100");
  EXPECT_EQ(property(nullptr, KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &rc), "0");
  EXPECT_GT(std::stoull(property(a, KALAM_PROPERTY_APPROXIMATE_BYTES, &rc)),
            0u);
  EXPECT_EQ(property(a, "lmdb.map-size", &rc), std::to_string(8 << 20));
  const std::string stats = property(a, KALAM_PROPERTY_STATS, &rc);
  EXPECT_EQ(rc, KALAM_OK);
  EXPECT_THAT(stats, HasSubstr("100 entries"));
  EXPECT_THAT(stats, HasSubstr("map_size"));
  property(a, "rocksdb.stats", &rc);
  EXPECT_EQ(rc, KALAM_NOT_FOUND);
}

// ---------------------------------------------------------------------------
// Iterators

class LmdbIteratorTest : public LmdbPluginTest {
 protected:
  void SetUp() override {
    LmdbPluginTest::SetUp();
    db_ = Open();
    ASSERT_NE(db_, nullptr);
    std::vector<RawOp> ops;
    for (const char* k : {"a", "b", "c", "d", "e", "f"}) {
      ops.push_back({KALAM_OP_PUT, nullptr, k, std::string("v") + k});
    }
    ASSERT_EQ(Write(db_, ops), KALAM_OK);
  }
  kalam_db* db_ = nullptr;
};

TEST_F(LmdbIteratorTest, BoundsRestrictEveryMove) {
  const std::string lower = "b";
  const std::string upper = "e";
  IterHolder it{NewIter(db_, nullptr, &lower, &upper)};
  RawStatus status;
  EXPECT_EQ(Vt().iter_valid(it.it), 0);  // starts unpositioned
  EXPECT_EQ(Vt().iter_next(it.it, &status), KALAM_NOT_FOUND);
  ASSERT_EQ(Vt().iter_seek_first(it.it, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "b");
  EXPECT_EQ(Vt().iter_prev(it.it, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(Vt().iter_valid(it.it), 0);
  ASSERT_EQ(Vt().iter_seek_last(it.it, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "d");
  EXPECT_EQ(Vt().iter_next(it.it, &status), KALAM_NOT_FOUND);
  // Seeks are clamped to the bounds.
  ASSERT_EQ(Vt().iter_seek(it.it, "a", 1, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "b");
  EXPECT_EQ(Vt().iter_seek(it.it, "e", 1, &status), KALAM_NOT_FOUND);
  ASSERT_EQ(Vt().iter_seek_for_prev(it.it, "z", 1, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "d");
  EXPECT_EQ(Vt().iter_seek_for_prev(it.it, "a", 1, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(Vt().iter_status(it.it, &status), KALAM_OK);
  EXPECT_EQ(Scan(db_, nullptr, &lower, &upper),
            (Entries{{"b", "vb"}, {"c", "vc"}, {"d", "vd"}}));
}

TEST_F(LmdbIteratorTest, EmptyAndCrossedBoundsAreEmpty) {
  const std::string b = "c";
  IterHolder same{NewIter(db_, nullptr, &b, &b)};
  RawStatus status;
  EXPECT_EQ(Vt().iter_seek_first(same.it, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(Vt().iter_seek_last(same.it, &status), KALAM_NOT_FOUND);
  const std::string hi = "e";
  const std::string lo = "b";
  IterHolder crossed{NewIter(db_, nullptr, &hi, &lo)};
  EXPECT_EQ(Vt().iter_seek_first(crossed.it, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(Vt().iter_seek_last(crossed.it, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(Vt().iter_seek_for_prev(crossed.it, "d", 1, &status),
            KALAM_NOT_FOUND);
}

TEST_F(LmdbIteratorTest, SeekForPrevAndDirectionChanges) {
  IterHolder it{NewIter(db_, nullptr)};
  RawStatus status;
  ASSERT_EQ(Vt().iter_seek_for_prev(it.it, "cc", 2, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "c");
  ASSERT_EQ(Vt().iter_seek_for_prev(it.it, "c", 1, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "c");
  EXPECT_EQ(Vt().iter_seek_for_prev(it.it, "0", 1, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(Vt().iter_seek_for_prev(it.it, "", 0, &status), KALAM_NOT_FOUND);
  ASSERT_EQ(Vt().iter_seek_for_prev(it.it, "zz", 2, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "f");
  // next, prev, next around a position.
  ASSERT_EQ(Vt().iter_seek(it.it, "c", 1, &status), KALAM_OK);
  ASSERT_EQ(Vt().iter_next(it.it, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "d");
  ASSERT_EQ(Vt().iter_prev(it.it, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "c");
  ASSERT_EQ(Vt().iter_prev(it.it, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "b");
  ASSERT_EQ(Vt().iter_next(it.it, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "c");
  // Off the end and back in with a seek.
  ASSERT_EQ(Vt().iter_seek_last(it.it, &status), KALAM_OK);
  EXPECT_EQ(Vt().iter_next(it.it, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(Vt().iter_prev(it.it, &status), KALAM_NOT_FOUND);
  ASSERT_EQ(Vt().iter_seek(it.it, "", 0, &status), KALAM_OK);
  EXPECT_EQ(Key(it.it), "a");
  // Key-only views.
  const void* k = nullptr;
  size_t kl = 0;
  EXPECT_EQ(Vt().iter_entry(it.it, &k, &kl, nullptr, nullptr), KALAM_OK);
  EXPECT_EQ(std::string(static_cast<const char*>(k), kl), "a");
}

TEST_F(LmdbIteratorTest, TargetsLongerThanAnyKeyArePositions) {
  const std::string k511(511, 'a');
  const std::string k511b = std::string(510, 'a') + "b";
  Put(db_, nullptr, k511, "1");
  Put(db_, nullptr, k511b, "2");
  const std::string target = k511 + "x";  // 512 bytes, between the two
  IterHolder it{NewIter(db_, nullptr)};
  RawStatus status;
  ASSERT_EQ(Vt().iter_seek(it.it, target.data(), target.size(), &status),
            KALAM_OK);
  EXPECT_EQ(Key(it.it), k511b);
  ASSERT_EQ(
      Vt().iter_seek_for_prev(it.it, target.data(), target.size(), &status),
      KALAM_OK);
  EXPECT_EQ(Key(it.it), k511);
  // The same position as an exclusive upper bound.
  IterHolder bounded{NewIter(db_, nullptr, nullptr, &target)};
  ASSERT_EQ(Vt().iter_seek_last(bounded.it, &status), KALAM_OK);
  EXPECT_EQ(Key(bounded.it), k511);
}

TEST_F(LmdbIteratorTest, BatchedNextEqualsSingleSteps) {
  struct Batch {
    Entries seen;
    size_t stop_after = SIZE_MAX;
  };
  auto visitor = [](void* ctx, const void* k, size_t kl, const void* v,
                    size_t vl) -> int {
    auto* b = static_cast<Batch*>(ctx);
    if (b->seen.size() == b->stop_after) return 1;
    b->seen.emplace_back(std::string(static_cast<const char*>(k), kl),
                         std::string(static_cast<const char*>(v), vl));
    return 0;
  };
  const std::string lower = "b";
  for (uint32_t flags : {0u, static_cast<uint32_t>(KALAM_BATCH_REVERSE)}) {
    for (size_t max_entries : {1u, 2u, 4u, 100u}) {
      IterHolder single{NewIter(db_, nullptr, &lower)};
      IterHolder batched{NewIter(db_, nullptr, &lower)};
      RawStatus status;
      Entries expected;
      const bool reverse = flags != 0;
      int rc = reverse ? Vt().iter_seek_last(single.it, &status)
                       : Vt().iter_seek_first(single.it, &status);
      while (rc == KALAM_OK) {
        expected.push_back(Entry(single.it));
        rc = reverse ? Vt().iter_prev(single.it, &status)
                     : Vt().iter_next(single.it, &status);
      }
      Batch batch;
      rc = reverse ? Vt().iter_seek_last(batched.it, &status)
                   : Vt().iter_seek_first(batched.it, &status);
      ASSERT_EQ(rc, KALAM_OK);
      for (;;) {
        size_t consumed = 999;
        const size_t before = batch.seen.size();
        rc = Vt().iter_next_batch(batched.it, flags, max_entries, visitor,
                                  &batch, &consumed, &status);
        EXPECT_EQ(consumed, batch.seen.size() - before);
        if (rc == KALAM_NOT_FOUND) break;
        ASSERT_EQ(rc, KALAM_OK) << status.text();
        EXPECT_EQ(consumed, max_entries);
      }
      EXPECT_EQ(batch.seen, expected)
          << "max " << max_entries << " flags " << flags;
      EXPECT_EQ(Vt().iter_valid(batched.it), 0);
      size_t consumed = 7;
      EXPECT_EQ(Vt().iter_next_batch(batched.it, flags, 10, visitor, &batch,
                                     &consumed, &status),
                KALAM_NOT_FOUND);
      EXPECT_EQ(consumed, 0u);
    }
  }
  // A visitor that stops leaves the iterator on the unconsumed entry.
  IterHolder it{NewIter(db_, nullptr)};
  RawStatus status;
  ASSERT_EQ(Vt().iter_seek_first(it.it, &status), KALAM_OK);
  Batch batch;
  batch.stop_after = 2;
  size_t consumed = 0;
  EXPECT_EQ(
      Vt().iter_next_batch(it.it, 0, 10, visitor, &batch, &consumed, &status),
      KALAM_OK);
  EXPECT_EQ(consumed, 2u);
  EXPECT_EQ(Key(it.it), "c");
  EXPECT_EQ(Vt().iter_next_batch(it.it, 0x10, 10, visitor, &batch, &consumed,
                                 &status),
            KALAM_INVALID_ARGUMENT);
}

// ---------------------------------------------------------------------------
// Snapshots

TEST_F(LmdbPluginTest, SnapshotsAreIsolatedFromLaterWrites) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  kalam_cf* a = CfOpen(db, "a");
  Put(db, nullptr, "k", "old");
  Put(db, a, "x", "1");
  RawStatus status;
  kalam_snapshot* snapshot = nullptr;
  ASSERT_EQ(Vt().snapshot_create(db, &snapshot, &status), KALAM_OK);
  IterHolder implicit{NewIter(db, a)};  // an implicit snapshot: now
  Put(db, nullptr, "k", "new");
  Put(db, nullptr, "added", "1");
  ASSERT_EQ(
      Write(db, {{KALAM_OP_DELETE, a, "x", ""}, {KALAM_OP_PUT, a, "y", "2"}}),
      KALAM_OK);
  kalam_cf* later = CfOpen(db, "later");
  Put(db, later, "z", "3");

  EXPECT_EQ(Get(db, nullptr, "k", snapshot), "old");
  EXPECT_EQ(Get(db, nullptr, "added", snapshot), "<NOT_FOUND>");
  EXPECT_EQ(Get(db, a, "x", snapshot), "1");
  EXPECT_EQ(Get(db, later, "z", snapshot), "<NOT_FOUND>");  // did not exist
  EXPECT_EQ(Get(db, nullptr, "k"), "new");
  size_t len = 0;
  char buf[8];
  kalam_read_options read{};
  read.struct_size = sizeof read;
  read.snapshot = snapshot;
  ASSERT_EQ(
      Vt().get_into(db, &read, nullptr, "k", 1, buf, sizeof buf, &len, &status),
      KALAM_OK);
  EXPECT_EQ(std::string(buf, len), "old");

  {
    IterHolder at{NewIter(db, a, nullptr, nullptr, snapshot)};
    ASSERT_EQ(Vt().iter_seek_first(at.it, &status), KALAM_OK);
    EXPECT_EQ(Entry(at.it), (std::pair<std::string, std::string>{"x", "1"}));
    EXPECT_EQ(Vt().iter_next(at.it, &status), KALAM_NOT_FOUND);
    IterHolder empty{NewIter(db, later, nullptr, nullptr, snapshot)};
    EXPECT_EQ(Vt().iter_seek_first(empty.it, &status), KALAM_NOT_FOUND);
    // The iterator keeps the snapshot's transaction after its release.
    Vt().snapshot_release(db, snapshot);
    ASSERT_EQ(Vt().iter_seek_last(at.it, &status), KALAM_OK);
    EXPECT_EQ(Key(at.it), "x");
  }
  ASSERT_EQ(Vt().iter_seek_first(implicit.it, &status), KALAM_OK);
  EXPECT_EQ(Key(implicit.it), "x");
  EXPECT_EQ(Vt().iter_next(implicit.it, &status), KALAM_NOT_FOUND);
}

TEST_F(LmdbPluginTest, ReaderSlotsRunOutAsBusyAndComeBack) {
  kalam_db* db = Open({{"max_readers", "4"}});
  ASSERT_NE(db, nullptr);
  Put(db, nullptr, "k", "v");
  std::vector<kalam_snapshot*> snapshots;
  RawStatus status;
  int rc = KALAM_OK;
  for (int i = 0; i < 200 && rc == KALAM_OK; ++i) {
    kalam_snapshot* s = nullptr;
    rc = Vt().snapshot_create(db, &s, &status);
    if (rc == KALAM_OK) snapshots.push_back(s);
  }
  EXPECT_EQ(rc, KALAM_BUSY);
  EXPECT_THAT(status.message, HasSubstr("max_readers"));
  EXPECT_LT(snapshots.size(), 200u);
  for (kalam_snapshot* s : snapshots) Vt().snapshot_release(db, s);
  // Threads that read and exit give their reader slot back.
  for (int i = 0; i < 12; ++i) {
    std::string value;
    std::thread([&] { value = Get(db, nullptr, "k"); }).join();
    ASSERT_EQ(value, "v") << "thread " << i;
  }
}

// ---------------------------------------------------------------------------
// Column family drops

TEST_F(LmdbPluginTest, DroppedFamilyReturnsDropped) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  kalam_cf* a = CfOpen(db, "a");
  Put(db, a, "k", "v");
  IterHolder it{NewIter(db, a)};
  RawStatus status;
  ASSERT_EQ(Vt().iter_seek_first(it.it, &status), KALAM_OK);
  kalam_snapshot* snapshot = nullptr;
  ASSERT_EQ(Vt().snapshot_create(db, &snapshot, &status), KALAM_OK);

  ASSERT_EQ(Vt().cf_drop(db, a, &status), KALAM_OK) << status.text();
  EXPECT_EQ(Vt().cf_drop(db, a, &status), KALAM_DROPPED);
  EXPECT_EQ(Vt().cf_drop(db, nullptr, &status), KALAM_INVALID_ARGUMENT);
  std::string value;
  EXPECT_EQ(kalam::test::raw_get(Plugin(), db, a, "k", &value, &status),
            KALAM_DROPPED);
  EXPECT_THAT(status.message, HasSubstr("'a' was dropped"));
  EXPECT_EQ(
      kalam::test::raw_get(Plugin(), db, a, "k", &value, &status, snapshot),
      KALAM_DROPPED);
  EXPECT_EQ(Write(db, {{KALAM_OP_PUT, a, "k", "v"}}), KALAM_DROPPED);
  kalam_iter* fresh = nullptr;
  EXPECT_EQ(Vt().iter_create(db, nullptr, a, &fresh, &status), KALAM_DROPPED);
  EXPECT_EQ(fresh, nullptr);
  // The open iterator fails its next move, stickily.
  EXPECT_EQ(Vt().iter_next(it.it, &status), KALAM_DROPPED);
  EXPECT_EQ(Vt().iter_valid(it.it), 0);
  EXPECT_EQ(Vt().iter_seek_first(it.it, &status), KALAM_DROPPED);
  EXPECT_EQ(Vt().iter_status(it.it, &status), KALAM_DROPPED);
  EXPECT_EQ(Vt().get_property(
                db, a, KALAM_PROPERTY_ESTIMATE_NUM_KEYS,
                [](void*, const void*, size_t) {}, nullptr, &status),
            KALAM_DROPPED);
  EXPECT_THAT(CfList(db), UnorderedElementsAre("default"));

  // A new family of the same name is a new, empty one with a new handle.
  kalam_cf* again = CfOpen(db, "a");
  ASSERT_NE(again, nullptr);
  EXPECT_NE(again, a);
  EXPECT_EQ(Get(db, again, "k"), "<NOT_FOUND>");
  EXPECT_EQ(Get(db, again, "k", snapshot), "<NOT_FOUND>");
  Put(db, again, "k2", "v2");
  EXPECT_EQ(Get(db, a, "k2"),
            "<DROPPED: lmdb get: column family 'a' was "
            "dropped>");
  Vt().snapshot_release(db, snapshot);
  Vt().iter_destroy(it.it);
  it.it = nullptr;
  Close(db);

  db = Open({}, 0);
  ASSERT_NE(db, nullptr);
  EXPECT_THAT(CfList(db), UnorderedElementsAre("default", "a"));
  EXPECT_EQ(Scan(db, CfOpen(db, "a", false)), (Entries{{"k2", "v2"}}));
}

TEST_F(LmdbPluginTest, ConcurrentReadsWritesAndDropsAreSafe) {
  kalam_db* db = Open({{"sync_mode", "nosync"}});
  ASSERT_NE(db, nullptr);
  for (int i = 0; i < 50; ++i) Put(db, nullptr, "k" + std::to_string(i), "v");
  std::atomic<kalam_cf*> current{CfOpen(db, "churn")};
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::mutex first_failure_mu;
  std::string first_failure;
  auto acceptable = [&](int rc, const RawStatus& status, const char* what) {
    if (rc == KALAM_OK || rc == KALAM_NOT_FOUND || rc == KALAM_DROPPED) {
      return true;
    }
    std::lock_guard<std::mutex> lock(first_failure_mu);
    if (first_failure.empty()) first_failure = what + (": " + status.text());
    return false;
  };
  auto reader = [&] {
    while (!stop.load()) {
      kalam_cf* cf = current.load();
      RawStatus status;
      std::string value;
      if (!acceptable(
              kalam::test::raw_get(Plugin(), db, cf, "x", &value, &status),
              status, "get") ||
          !acceptable(kalam::test::raw_get(Plugin(), db, nullptr, "k1", &value,
                                           &status),
                      status, "get default")) {
        failures.fetch_add(1);
      }
      kalam_snapshot* snapshot = nullptr;
      if (Vt().snapshot_create(db, &snapshot, &status) == KALAM_OK) {
        if (!acceptable(kalam::test::raw_get(Plugin(), db, cf, "x", &value,
                                             &status, snapshot),
                        status, "get at snapshot")) {
          failures.fetch_add(1);
        }
        Vt().snapshot_release(db, snapshot);
      }
      kalam_iter* it = nullptr;
      if (Vt().iter_create(db, nullptr, cf, &it, &status) == KALAM_OK) {
        int rc = Vt().iter_seek_first(it, &status);
        while (rc == KALAM_OK) rc = Vt().iter_next(it, &status);
        if (!acceptable(rc, status, "scan")) failures.fetch_add(1);
        Vt().iter_destroy(it);
      }
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  std::thread writer([&] {
    int i = 0;
    while (!stop.load()) {
      RawStatus status;
      const int rc = kalam::test::raw_write(
          Plugin(), db,
          {{KALAM_OP_PUT, current.load(), "x", std::to_string(i++)},
           {KALAM_OP_PUT, nullptr, "k1", "v"}},
          &status);
      if (!acceptable(rc, status, "write")) failures.fetch_add(1);
    }
  });
  for (int round = 0; round < 60; ++round) {
    RawStatus status;
    kalam_cf* cf = current.load();
    ASSERT_EQ(Vt().cf_drop(db, cf, &status), KALAM_OK) << status.text();
    kalam_cf* fresh = nullptr;
    ASSERT_EQ(
        Vt().cf_open(db, "churn", KALAM_CF_CREATE_IF_MISSING, &fresh, &status),
        KALAM_OK)
        << status.text();
    current.store(fresh);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop.store(true);
  r1.join();
  r2.join();
  writer.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
}

// ---------------------------------------------------------------------------
// Checkpoint, flush, status

TEST_F(LmdbPluginTest, CheckpointIsAnOpenableCopy) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  kalam_cf* a = CfOpen(db, "a");
  Put(db, nullptr, "k", "v");
  Put(db, a, "ak", "av");
  const std::string copy = root_ + "/copy";
  RawStatus status;
  ASSERT_EQ(Vt().checkpoint(db, copy.c_str(), &status), KALAM_OK)
      << status.text();
  EXPECT_EQ(Vt().checkpoint(db, copy.c_str(), &status), KALAM_INVALID_ARGUMENT);
  EXPECT_THAT(status.message, HasSubstr("already exists"));
  Put(db, nullptr, "after", "x");

  kalam_db* copy_db = Open({}, 0, copy);
  ASSERT_NE(copy_db, nullptr);
  EXPECT_THAT(CfList(copy_db), UnorderedElementsAre("default", "a"));
  EXPECT_EQ(Get(copy_db, nullptr, "k"), "v");
  EXPECT_EQ(Get(copy_db, CfOpen(copy_db, "a", false), "ak"), "av");
  EXPECT_EQ(Get(copy_db, nullptr, "after"), "<NOT_FOUND>");
  Put(copy_db, nullptr, "only-in-copy", "1");
  EXPECT_EQ(Get(db, nullptr, "only-in-copy"), "<NOT_FOUND>");
}

TEST_F(LmdbPluginTest, FlushAndSyncWritesWorkInEverySyncMode) {
  int n = 0;
  for (const char* mode : {"full", "nometasync", "nosync"}) {
    for (const char* write_map : {"false", "true"}) {
      const std::string path = root_ + "/sync" + std::to_string(n++);
      kalam_db* db = Open({{"sync_mode", mode}, {"write_map", write_map}},
                          KALAM_OPEN_CREATE_IF_MISSING, path);
      ASSERT_NE(db, nullptr);
      RawStatus status;
      ASSERT_EQ(kalam::test::raw_write(Plugin(), db,
                                       {{KALAM_OP_PUT, nullptr, "k", mode}},
                                       &status, /*sync=*/true),
                KALAM_OK)
          << status.text();
      EXPECT_EQ(Vt().flush(db, 0, &status), KALAM_OK);
      EXPECT_EQ(Vt().flush(db, 1, &status), KALAM_INVALID_ARGUMENT);
      Close(db);
      db = Open({{"sync_mode", mode}}, 0, path);
      ASSERT_NE(db, nullptr);
      EXPECT_EQ(Get(db, nullptr, "k"), mode);
      Close(db);
    }
  }
}

TEST_F(LmdbPluginTest, StatusIsFilledOnlyAsFarAsItsSize) {
  kalam_db* db = Open();
  ASSERT_NE(db, nullptr);
  kalam_status status;
  std::memset(&status, 'x', sizeof status);
  status.struct_size = offsetof(kalam_status, message) + 8;
  std::string value;
  EXPECT_EQ(Vt().get(
                db, nullptr, nullptr, nullptr, 5,
                [](void*, const void*, size_t) {}, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(status.code, KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(std::strlen(status.message), 7u);
  for (size_t i = 8; i < sizeof status.message; ++i) {
    ASSERT_EQ(status.message[i], 'x') << "byte " << i;
  }
  // NULL required pointers are INVALID_ARGUMENT, a NULL status is fine.
  EXPECT_EQ(Vt().get(db, nullptr, nullptr, "k", 1, nullptr, nullptr, nullptr),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Vt().open(nullptr, nullptr, nullptr), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(Vt().close(nullptr, nullptr), KALAM_INVALID_ARGUMENT);
  Vt().iter_destroy(nullptr);
  Vt().snapshot_release(db, nullptr);
}

}  // namespace
