// What is special about the LMDB plugin (kalam_lmdb.so), through the raw C
// ABI and the conformance harness (RawDatabase): options (map size, max_dbs,
// max_readers, sync modes), one environment per path (BUSY across symlinks
// and processes), the 511-byte key limit, a full map, delete-range emulation,
// nested reads, and iterators that fail once their family is dropped.
// Behaviour every plugin shares is tested by tests/conformance.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/test_paths.h>
#include <lmdb.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "conformance.h"

namespace kalam::conformance {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;
using Options = std::map<std::string, std::string>;

const BackendUnderTest kLmdb{"lmdb", KALAM_TEST_PLUGIN_LMDB_PATH, {}};

class LmdbTest : public ::testing::Test, public RawDatabase {
 protected:
  void SetUp() override { ASSERT_TRUE(start(kLmdb)); }
  void TearDown() override { close_db(); }

  // Tries to open another database at `path`; closes it again on success.
  int try_open(const fs::path& path, uint32_t flags, const Options& extra,
               RawStatus* status) {
    kalam_db* other = nullptr;
    const int rc = open_at(path, &other, flags, extra, status);
    if (rc == KALAM_OK) {
      EXPECT_EQ(vt().close(other, status), KALAM_OK);
    }
    return rc;
  }
};

// ---- Plugin info --------------------------------------------------------

TEST_F(LmdbTest, InfoDescribesTheLmdbBackend) {
  EXPECT_EQ(plugin().name(), "lmdb");
  EXPECT_EQ(plugin().format_version(), 1u);
  // lmdb.h is used for its constants only (the test does not link liblmdb).
  EXPECT_THAT(plugin().version(),
              HasSubstr("LMDB " + std::to_string(MDB_VERSION_MAJOR) + "." +
                        std::to_string(MDB_VERSION_MINOR) + "."));
  EXPECT_EQ(plugin().max_key_size(), 511u);
  EXPECT_EQ(plugin().max_value_size(), 0xFFFFFFFFu);
  EXPECT_EQ(plugin().capabilities(),
            KALAM_CAP_PERSISTENT | KALAM_CAP_DURABLE_SYNC |
                KALAM_CAP_ATOMIC_BATCH | KALAM_CAP_SNAPSHOTS |
                KALAM_CAP_REVERSE_ITERATION | KALAM_CAP_DELETE_RANGE |
                KALAM_CAP_THREAD_SAFE | KALAM_CAP_PROPERTIES |
                KALAM_CAP_CHECKPOINT | KALAM_CAP_READ_ONLY_OPEN |
                KALAM_CAP_CONDITIONAL_WRITE | KALAM_CAP_READ_MODIFY_WRITE);
  EXPECT_EQ(vt().struct_size, sizeof(kalam_backend_vtable));
  EXPECT_EQ(vt().compact_range, nullptr);
}

// ---- Options --------------------------------------------------------------

TEST_F(LmdbTest, GoodOptionsAreAccepted) {
  int n = 0;
  for (const Options& options : std::vector<Options>{
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
    open_with(options, KALAM_OPEN_CREATE_IF_MISSING,
              dir_ / ("good" + std::to_string(n++)));
    ASSERT_NE(db_, nullptr);
    ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
    EXPECT_EQ(value_of(nullptr, "k"), "v");
    RawStatus status;
    EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK) << status.text();
  }
}

TEST_F(LmdbTest, BadOptionsAreRefusedNamingKeyAndValue) {
  struct Case {
    std::string key;
    std::string value;
  };
  const fs::path path = dir_ / "refused";
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
    EXPECT_EQ(try_open(path, KALAM_OPEN_CREATE_IF_MISSING, {{c.key, c.value}},
                       &status),
              KALAM_INVALID_ARGUMENT)
        << c.key << "=" << c.value;
    EXPECT_THAT(status.message, HasSubstr(c.key));
    EXPECT_THAT(status.message, HasSubstr("'" + c.value + "'"));
  }
  RawStatus status;
  EXPECT_EQ(try_open(path, KALAM_OPEN_CREATE_IF_MISSING,
                     {{"block_cache_size", "1GiB"}}, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_THAT(status.message, HasSubstr("unknown option 'block_cache_size'"));
  // Nothing was created by the refused opens.
  EXPECT_FALSE(fs::exists(path / "data.mdb"));
}

// ---- Open, close, paths ---------------------------------------------------

TEST_F(LmdbTest, OpenWithoutCreateFindsNothingAndCreatesNothing) {
  const fs::path path = dir_ / "absent";
  RawStatus status;
  EXPECT_EQ(try_open(path, 0, {}, &status), KALAM_NOT_FOUND);
  EXPECT_FALSE(fs::exists(path));
  // An empty directory is no database either, read-only or not.
  fs::create_directories(path);
  EXPECT_EQ(try_open(path, 0, {}, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(try_open(path, KALAM_OPEN_READ_ONLY, {}, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(try_open(path, KALAM_OPEN_READ_ONLY | KALAM_OPEN_CREATE_IF_MISSING,
                     {}, &status),
            KALAM_NOT_FOUND);
  EXPECT_FALSE(fs::exists(path / "data.mdb"));
}

TEST_F(LmdbTest, SecondOpenOfTheSamePathIsBusy) {
  RawStatus status;
  EXPECT_EQ(try_open(db_path(), KALAM_OPEN_CREATE_IF_MISSING, {}, &status),
            KALAM_BUSY);
  EXPECT_THAT(status.message, HasSubstr("already open in this process"));
  // The same directory under another spelling is the same environment.
  fs::create_directory_symlink(db_path(), dir_ / "alias");
  EXPECT_EQ(try_open(dir_ / "alias" / ".", 0, {}, &status), KALAM_BUSY);
  EXPECT_EQ(try_open(db_path(), KALAM_OPEN_READ_ONLY, {}, &status), KALAM_BUSY);
  open_with({}, 0, dir_ / "alias");
}

TEST_F(LmdbTest, PathLockedByAnotherProcessIsBusy) {
  close_db();
  // A flock on another open file description conflicts like another
  // process's would.
  const int fd = ::open((db_path() / "kalam_lmdb.lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  RawStatus status;
  EXPECT_EQ(try_open(db_path(), 0, {}, &status), KALAM_BUSY);
  EXPECT_THAT(status.message, HasSubstr("another process"));
  ::close(fd);
  open_with({}, 0);
}

TEST_F(LmdbTest, FamilyNameOver511BytesIsRefused) {
  RawStatus status;
  kalam_cf* family = nullptr;
  EXPECT_EQ(vt().cf_open(db_, std::string(512, 'n').c_str(),
                         KALAM_CF_CREATE_IF_MISSING, &family, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(family, nullptr);
}

TEST_F(LmdbTest, MaxDbsLimitsColumnFamilies) {
  open_with({{"max_dbs", "3"}});  // default + 2
  ASSERT_NE(cf("one"), nullptr);
  ASSERT_NE(cf("two"), nullptr);
  RawStatus status;
  kalam_cf* family = nullptr;
  EXPECT_EQ(
      vt().cf_open(db_, "three", KALAM_CF_CREATE_IF_MISSING, &family, &status),
      KALAM_NO_SPACE);
  EXPECT_THAT(status.message, HasSubstr("max_dbs"));
  EXPECT_EQ(family, nullptr);
  EXPECT_EQ(list_families(),
            (std::vector<std::string>{"default", "one", "two"}));
  close_db();
  // Reopening with room for fewer families than exist is refused.
  EXPECT_EQ(try_open(db_path(), 0, {{"max_dbs", "2"}}, &status),
            KALAM_NO_SPACE);
  EXPECT_THAT(status.message, HasSubstr("max_dbs is 2"));
  open_with({{"max_dbs", "3"}}, 0);
}

TEST_F(LmdbTest, ReadOnlyOpenRejectsEveryChange) {
  kalam_cf* a = cf("a");
  ASSERT_EQ(put(a, "k", "v"), KALAM_OK);
  open_with({}, KALAM_OPEN_READ_ONLY);
  a = existing("a");
  EXPECT_EQ(value_of(a, "k"), "v");
  RawStatus status;
  EXPECT_EQ(
      write({Put(nullptr, "x", "y")}, false, sizeof(kalam_write_op), &status),
      KALAM_NOT_SUPPORTED);
  EXPECT_THAT(status.message, HasSubstr("read-only"));
  EXPECT_EQ(del(a, "k"), KALAM_NOT_SUPPORTED);
  kalam_cf* family = nullptr;
  EXPECT_EQ(
      vt().cf_open(db_, "new", KALAM_CF_CREATE_IF_MISSING, &family, &status),
      KALAM_NOT_SUPPORTED);
  EXPECT_EQ(vt().cf_drop(db_, a, &status), KALAM_NOT_SUPPORTED);
  EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK);
  EXPECT_EQ(scan(a), (KV{{"k", "v"}}));
  {
    auto snap = snapshot();
    EXPECT_EQ(value_of(a, "k", snap->get()), "v");
  }
  // Still there, unchanged.
  open_with({}, 0);
  EXPECT_EQ(value_of(nullptr, "x"), std::nullopt);
  EXPECT_EQ(value_of(existing("a"), "k"), "v");
}

// Optional in the ABI; this plugin keeps count, refuses and says how many.
TEST_F(LmdbTest, CloseIsBusyWhileIteratorsOrSnapshotsLive) {
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  RawStatus status;
  {
    Iter it = iter(nullptr);
    EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
    EXPECT_THAT(status.message, HasSubstr("1 iterator(s)"));
    // Still open and usable.
    ASSERT_EQ(it.first(), KALAM_OK);
    EXPECT_EQ(it.key(), "k");
  }
  {
    auto snap = snapshot();
    EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
    EXPECT_THAT(status.message, HasSubstr("1 snapshot(s)"));
  }
  close_db();
}

// ---- Keys, writes, the map --------------------------------------------------

TEST_F(LmdbTest, KeysOf511BytesFitAnd512DoNot) {
  const std::string k511(511, 'k');
  const std::string k512(512, 'k');
  ASSERT_EQ(put(nullptr, k511, "v"), KALAM_OK);
  EXPECT_EQ(value_of(nullptr, k511), "v");
  RawStatus status;
  EXPECT_EQ(write({Put(nullptr, "first", "1"), Put(nullptr, k512, "v")}, false,
                  sizeof(kalam_write_op), &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_THAT(status.message, HasSubstr("512 bytes"));
  EXPECT_THAT(status.message, HasSubstr("511"));
  EXPECT_THAT(status.message, HasSubstr("write op 1 (PUT)"));  // which op
  EXPECT_EQ(value_of(nullptr, "first"), std::nullopt);  // nothing applied
  EXPECT_EQ(del(nullptr, k512), KALAM_INVALID_ARGUMENT);
  std::string value;
  EXPECT_EQ(get(nullptr, k512, &value), KALAM_INVALID_ARGUMENT);
  // In multi_get, that key's INVALID_ARGUMENT, not the call's.
  const std::string k600(600, 'x');
  const void* keys[] = {k511.data(), k600.data()};
  const size_t lens[] = {k511.size(), k600.size()};
  std::vector<int> codes;
  ASSERT_EQ(vt().multi_get(
                db_, nullptr, 2, nullptr, keys, lens,
                [](void* ctx, size_t, int code, const void*, size_t) {
                  static_cast<std::vector<int>*>(ctx)->push_back(code);
                },
                &codes, &status),
            KALAM_OK);
  EXPECT_EQ(codes, (std::vector<int>{KALAM_OK, KALAM_INVALID_ARGUMENT}));
}

TEST_F(LmdbTest, TargetsAndBoundsLongerThanAnyKeyArePositions) {
  const std::string k511(511, 'a');
  const std::string k511b = std::string(510, 'a') + "b";
  ASSERT_EQ(write({Put(nullptr, k511, "1"), Put(nullptr, k511b, "2")}),
            KALAM_OK);
  const std::string target = k511 + "x";  // 512 bytes, between the two
  Iter it = iter(nullptr);
  ASSERT_EQ(it.seek(target), KALAM_OK);
  EXPECT_EQ(it.key(), k511b);
  ASSERT_EQ(it.seek_for_prev(target), KALAM_OK);
  EXPECT_EQ(it.key(), k511);
  // The same position as an exclusive upper bound.
  Iter bounded = iter(nullptr, {.upper = target});
  ASSERT_EQ(bounded.last(), KALAM_OK);
  EXPECT_EQ(bounded.key(), k511);
  // And as the ends of a DELETE_RANGE.
  kalam_cf* ranges = cf("ranges");
  for (const char* k : {"a", "b", "c", "d", "e"}) {
    ASSERT_EQ(put(ranges, k, k), KALAM_OK);
  }
  const std::string long_a = "a" + std::string(600, '\xff');
  ASSERT_EQ(write({DelRange(ranges, long_a, "e")}), KALAM_OK);
  EXPECT_EQ(scan(ranges), (KV{{"a", "a"}, {"e", "e"}}));
  ASSERT_EQ(write({DelRange(ranges, "", std::string(600, '\xff'))}), KALAM_OK);
  EXPECT_EQ(scan(ranges), KV{});
}

TEST_F(LmdbTest, DeleteRangeAcrossManyPagesMatchesAModel) {
  std::map<std::string, std::string> model;
  std::vector<Op> ops;
  for (int i = 0; i < 5000; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "key%06d", i);
    model[key] = std::string(40, static_cast<char>('a' + i % 26));
    ops.push_back(Put(nullptr, key, model[key]));
  }
  ASSERT_EQ(write(ops), KALAM_OK);
  // Ranges that end mid-page, at the end of the tree, and that empty it.
  for (const auto& [begin, end] :
       std::vector<std::pair<std::string, std::string>>{
           {"key000100", "key001234"},
           {"key004000", "key9"},
           {"key0020", "key0021"},
           {"", "key3"},
           {"a", "z"}}) {
    ASSERT_EQ(write({DelRange(nullptr, begin, end)}), KALAM_OK);
    model.erase(model.lower_bound(begin), model.lower_bound(end));
    ASSERT_EQ(scan(nullptr), KV(model.begin(), model.end()))
        << begin << ".." << end;
  }
  EXPECT_TRUE(model.empty());
}

TEST_F(LmdbTest, FullMapIsNoSpaceNamingMapSizeAndAppliesNothing) {
  open_with({{"map_size", "64KiB"}}, KALAM_OPEN_CREATE_IF_MISSING,
            dir_ / "small");
  const std::string value(1000, 'v');
  int stored = 0;
  RawStatus status;
  int rc = KALAM_OK;
  for (; stored < 1000; ++stored) {
    rc = write({Put(nullptr, "fill" + std::to_string(stored), value)}, false,
               sizeof(kalam_write_op), &status);
    if (rc != KALAM_OK) break;
  }
  ASSERT_EQ(rc, KALAM_NO_SPACE) << status.text();
  EXPECT_GT(stored, 5);
  EXPECT_EQ(status.native_code, MDB_MAP_FULL);
  EXPECT_THAT(status.message, HasSubstr("map_size"));
  EXPECT_THAT(status.message, HasSubstr("64 KiB"));
  EXPECT_EQ(value_of(nullptr, "fill" + std::to_string(stored)), std::nullopt);

  // A batch that fails part-way applies nothing.
  const std::vector<Op> batch = {Put(nullptr, "small", "s"),
                                 Put(nullptr, "big", std::string(40000, 'b'))};
  EXPECT_EQ(write(batch, false, sizeof(kalam_write_op), &status),
            KALAM_NO_SPACE)
      << status.text();
  EXPECT_EQ(value_of(nullptr, "small"), std::nullopt);
  EXPECT_EQ(value_of(nullptr, "big"), std::nullopt);

  // Still usable: every stored value reads back.
  EXPECT_EQ(value_of(nullptr, "fill0"), value);
  EXPECT_EQ(scan(nullptr).size(), static_cast<size_t>(stored));

  // Reopen with a larger map: the old data is there and writes fit again.
  open_with({{"map_size", "1MiB"}}, 0);
  EXPECT_EQ(scan(nullptr).size(), static_cast<size_t>(stored));
  ASSERT_EQ(write(batch, false, sizeof(kalam_write_op), &status), KALAM_OK)
      << status.text();
  EXPECT_EQ(value_of(nullptr, "small"), "s");
  // A smaller map_size than the data is raised to fit it by LMDB.
  open_with({{"map_size", "64KiB"}}, 0);
  EXPECT_EQ(value_of(nullptr, "small"), "s");
}

// ---- Reads, properties, readers
// -----------------------------------------------

TEST_F(LmdbTest, ReentrantGetFromAVisitorWorks) {
  ASSERT_EQ(
      write({Put(nullptr, "outer", "inner"), Put(nullptr, "inner", "value")}),
      KALAM_OK);
  struct Ctx {
    LmdbTest* test;
    std::string inner;
    int rc;
  } ctx{this, "", -1};
  RawStatus status;
  ASSERT_EQ(vt().get(
                db_, nullptr, nullptr, "outer", 5,
                [](void* p, const void* v, size_t n) {
                  auto* c = static_cast<Ctx*>(p);
                  c->rc = c->test->get(
                      nullptr, std::string(static_cast<const char*>(v), n),
                      &c->inner);
                },
                &ctx, &status),
            KALAM_OK);
  EXPECT_EQ(ctx.rc, KALAM_OK);
  EXPECT_EQ(ctx.inner, "value");
}

// A thread's point-read transaction stays live between its reads only until
// the next commit: a thread that read once and then sits idle must not pin
// the pages later writes free. In a 256 KiB map, rewriting a 20 KB value
// 300 times (6 MB of churn) only fits if freed pages are reused.
TEST_F(LmdbTest, IdleReaderThreadPinsNoPagesUnderWrites) {
  open_with({{"map_size", "256KiB"}}, KALAM_OPEN_CREATE_IF_MISSING,
            dir_ / "idle-reader");
  ASSERT_EQ(put(nullptr, "k", "v0"), KALAM_OK);
  std::mutex mu;
  std::condition_variable cv;
  bool has_read = false, writes_done = false;
  std::optional<std::string> first, last;
  std::thread reader([&] {
    first = value_of(nullptr, "k");
    std::unique_lock lock(mu);
    has_read = true;
    cv.notify_all();
    cv.wait(lock, [&] { return writes_done; });
    lock.unlock();
    last = value_of(nullptr, "k");
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return has_read; });
  }
  RawStatus status;
  int rc = KALAM_OK;
  int rewrites = 0;  // the ones applied
  while (rewrites < 300 && rc == KALAM_OK) {
    rc = write({Put(nullptr, "big", std::string(20000, 'a' + rewrites % 26)),
                Put(nullptr, "k", "v" + std::to_string(rewrites + 1))},
               false, sizeof(kalam_write_op), &status);
    if (rc == KALAM_OK) ++rewrites;
  }
  {
    std::lock_guard lock(mu);
    writes_done = true;
    cv.notify_all();
  }
  reader.join();
  EXPECT_EQ(rc, KALAM_OK) << "after " << rewrites
                          << " rewrites: " << status.text();
  EXPECT_EQ(first, "v0");
  EXPECT_EQ(last, "v" + std::to_string(rewrites)) << "the reader's next read";
}

// The same thread alternating reads and writes, and many readers against one
// writer, with multi_get and get_into too: every read path sees the last
// completed commit.
TEST_F(LmdbTest, EveryPointReadPathSeesTheLastCommit) {
  kalam_cf* family = cf("f");
  for (int i = 0; i < 20; ++i) {
    const std::string v = std::to_string(i);
    ASSERT_EQ(write({Put(nullptr, "a", v), Put(family, "b", v)}), KALAM_OK);
    kalam_cf* const cfs[] = {nullptr, family, family};
    const void* const keys[] = {"a", "b", "none"};
    const size_t lens[] = {1, 1, 4};
    std::vector<std::optional<std::string>> values(3);
    RawStatus status;
    ASSERT_EQ(
        vt().multi_get(
            db_, nullptr, 3, cfs, keys, lens,
            [](void* ctx, size_t index, int code, const void* data, size_t n) {
              auto* out =
                  static_cast<std::vector<std::optional<std::string>>*>(ctx);
              if (code == KALAM_OK) {
                (*out)[index].emplace(static_cast<const char*>(data), n);
              }
            },
            &values, &status),
        KALAM_OK)
        << status.text();
    EXPECT_EQ(values, (std::vector<std::optional<std::string>>{v, v, {}}));
    char buf[16];
    size_t len = 0;
    ASSERT_EQ(vt().get_into(db_, nullptr, family, "b", 1, buf, sizeof buf, &len,
                            &status),
              KALAM_OK);
    EXPECT_EQ(std::string(buf, len), v);
  }
  // A family dropped after this thread's reads: reads through it fail.
  ASSERT_EQ(value_of(family, "b"), "19");
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, family, &status), KALAM_OK) << status.text();
  std::string value;
  EXPECT_EQ(get(family, "b", &value), KALAM_DROPPED);
  EXPECT_EQ(value_of(nullptr, "a"), "19");
}

TEST_F(LmdbTest, PropertiesDescribeAColumnFamilyAndTheMap) {
  open_with({{"map_size", "8MiB"}});
  kalam_cf* a = cf("a");
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(put(a, "k" + std::to_string(i), "v"), KALAM_OK);
  }
  std::string text;
  ASSERT_EQ(property(a, KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &text), KALAM_OK);
  EXPECT_EQ(text, "100");
  ASSERT_EQ(property(nullptr, KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &text),
            KALAM_OK);
  EXPECT_EQ(text, "0");
  ASSERT_EQ(property(a, KALAM_PROPERTY_APPROXIMATE_BYTES, &text), KALAM_OK);
  EXPECT_GT(std::stoull(text), 0u);
  ASSERT_EQ(property(a, "lmdb.map-size", &text), KALAM_OK);
  EXPECT_EQ(text, std::to_string(8 << 20));
  ASSERT_EQ(property(a, KALAM_PROPERTY_STATS, &text), KALAM_OK);
  EXPECT_THAT(text, HasSubstr("100 entries"));
  EXPECT_THAT(text, HasSubstr("map_size"));
  EXPECT_EQ(property(a, "rocksdb.stats", &text), KALAM_NOT_FOUND);
}

TEST_F(LmdbTest, ReaderSlotsRunOutAsBusyAndComeBack) {
  // A new environment: the reader table is sized when the lock file is made.
  open_with({{"max_readers", "4"}}, KALAM_OPEN_CREATE_IF_MISSING,
            dir_ / "readers");
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  std::vector<kalam_snapshot*> snapshots;
  RawStatus status;
  int rc = KALAM_OK;
  for (int i = 0; i < 200 && rc == KALAM_OK; ++i) {
    kalam_snapshot* s = nullptr;
    rc = vt().snapshot_create(db_, &s, &status);
    if (rc == KALAM_OK) snapshots.push_back(s);
  }
  EXPECT_EQ(rc, KALAM_BUSY);
  EXPECT_THAT(status.message, HasSubstr("max_readers"));
  EXPECT_LT(snapshots.size(), 200u);
  for (kalam_snapshot* s : snapshots) vt().snapshot_release(db_, s);
  // Threads that read and exit give their reader slot back.
  for (int i = 0; i < 12; ++i) {
    std::optional<std::string> value;
    std::thread([&] { value = value_of(nullptr, "k"); }).join();
    ASSERT_EQ(value, "v") << "thread " << i;
  }
}

// ---- Column family drops
// ------------------------------------------------------

// The ABI allows either; here open iterators fail their next move, stickily,
// and reads at an older snapshot through the dropped handle fail too.
TEST_F(LmdbTest, DroppedFamilyFailsOpenIteratorsAndSnapshotReads) {
  kalam_cf* a = cf("a");
  ASSERT_EQ(put(a, "k", "v"), KALAM_OK);
  Iter it = iter(a);
  ASSERT_EQ(it.first(), KALAM_OK);
  auto snap = snapshot();

  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, a, &status), KALAM_OK) << status.text();
  EXPECT_EQ(vt().get(
                db_, nullptr, a, "k", 1, [](void*, const void*, size_t) {},
                nullptr, &status),
            KALAM_DROPPED);
  EXPECT_THAT(status.message, HasSubstr("'a' was dropped"));
  std::string value;
  EXPECT_EQ(get(a, "k", &value, snap->get()), KALAM_DROPPED);
  EXPECT_EQ(it.next(), KALAM_DROPPED);
  EXPECT_FALSE(it.valid());
  EXPECT_EQ(it.first(), KALAM_DROPPED);
  EXPECT_EQ(vt().iter_status(it.get(), &status), KALAM_DROPPED);
  EXPECT_EQ(property(a, KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &value),
            KALAM_DROPPED);

  // A new family of the same name is a new, empty one with a new handle,
  // also at the older snapshot; it survives a reopen.
  kalam_cf* again = cf("a");
  ASSERT_NE(again, nullptr);
  EXPECT_NE(again, a);
  EXPECT_EQ(value_of(again, "k"), std::nullopt);
  EXPECT_EQ(value_of(again, "k", snap->get()), std::nullopt);
  ASSERT_EQ(put(again, "k2", "v2"), KALAM_OK);
  EXPECT_EQ(get(a, "k2", &value), KALAM_DROPPED);
  snap.reset();
  { Iter gone = std::move(it); }
  reopen();
  EXPECT_EQ(list_families(), (std::vector<std::string>{"a", "default"}));
  EXPECT_EQ(scan(existing("a")), (KV{{"k2", "v2"}}));
}

TEST_F(LmdbTest, ConcurrentReadsWritesAndDropsAreSafe) {
  open_with({{"sync_mode", "nosync"}});
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(put(nullptr, "k" + std::to_string(i), "v"), KALAM_OK);
  }
  std::atomic<kalam_cf*> current{cf("churn")};
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::mutex first_failure_mu;
  std::string first_failure;
  auto acceptable = [&](int rc, const std::string& what) {
    if (rc == KALAM_OK || rc == KALAM_NOT_FOUND || rc == KALAM_DROPPED) {
      return true;
    }
    std::lock_guard<std::mutex> lock(first_failure_mu);
    if (first_failure.empty()) first_failure = what;
    failures.fetch_add(1);
    return false;
  };
  auto reader = [&] {
    while (!stop.load()) {
      kalam_cf* family = current.load();
      std::string value;
      int rc = get(family, "x", &value);
      acceptable(rc, std::string("get: ") + kalam_code_name(rc));
      rc = get(nullptr, "k1", &value);
      acceptable(rc, std::string("get default: ") + kalam_code_name(rc));
      kalam_snapshot* raw_snap = nullptr;
      RawStatus status;
      if (vt().snapshot_create(db_, &raw_snap, &status) == KALAM_OK) {
        Snap snap(&vt(), db_, raw_snap);
        rc = get(family, "x", &value, snap.get());
        acceptable(rc, std::string("get at snapshot: ") + kalam_code_name(rc));
      }
      kalam_iter* raw = nullptr;
      if (vt().iter_create(db_, nullptr, family, &raw, &status) == KALAM_OK) {
        Iter it(&vt(), raw);
        rc = it.first();
        while (rc == KALAM_OK) rc = it.next();
        acceptable(rc, "scan: " + it.status.text());
      }
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  std::thread writer([&] {
    int i = 0;
    while (!stop.load()) {
      RawStatus status;
      const int rc = write({Put(current.load(), "x", std::to_string(i++)),
                            Put(nullptr, "k1", "v")},
                           false, sizeof(kalam_write_op), &status);
      acceptable(rc, "write: " + status.text());
    }
  });
  for (int round = 0; round < 60; ++round) {
    RawStatus status;
    if (vt().cf_drop(db_, current.load(), &status) != KALAM_OK) {
      ADD_FAILURE() << "cf_drop: " << status.text();
      break;
    }
    current.store(cf("churn"));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop.store(true);
  r1.join();
  r2.join();
  writer.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
}

// ---- Checkpoint and sync modes
// --------------------------------------------------

TEST_F(LmdbTest, CheckpointIsAnIndependentCopyInANewDirectory) {
  kalam_cf* a = cf("a");
  ASSERT_EQ(write({Put(nullptr, "k", "v"), Put(a, "ak", "av")}), KALAM_OK);
  const fs::path copy = dir_ / "copy";
  RawStatus status;
  ASSERT_EQ(vt().checkpoint(db_, copy.c_str(), &status), KALAM_OK)
      << status.text();
  EXPECT_EQ(vt().checkpoint(db_, copy.c_str(), &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_THAT(status.message, HasSubstr("already exists"));
  ASSERT_EQ(put(nullptr, "after", "x"), KALAM_OK);

  const fs::path source = db_path();
  open_with({}, 0, copy);
  EXPECT_EQ(list_families(), (std::vector<std::string>{"a", "default"}));
  EXPECT_EQ(value_of(existing("a"), "ak"), "av");
  EXPECT_EQ(value_of(nullptr, "after"), std::nullopt);
  ASSERT_EQ(put(nullptr, "only-in-copy", "1"), KALAM_OK);
  open_with({}, 0, source);
  EXPECT_EQ(value_of(nullptr, "only-in-copy"), std::nullopt);
  EXPECT_EQ(value_of(nullptr, "after"), "x");
}

TEST_F(LmdbTest, FlushAndSyncWritesWorkInEverySyncMode) {
  int n = 0;
  for (const char* mode : {"full", "nometasync", "nosync"}) {
    for (const char* write_map : {"false", "true"}) {
      const fs::path path = dir_ / ("sync" + std::to_string(n++));
      open_with({{"sync_mode", mode}, {"write_map", write_map}},
                KALAM_OPEN_CREATE_IF_MISSING, path);
      ASSERT_EQ(put(nullptr, "k", mode, /*sync=*/true), KALAM_OK);
      RawStatus status;
      EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK) << status.text();
      // Neither synced nor flushed: close() makes it durable.
      ASSERT_EQ(put(nullptr, "later", mode), KALAM_OK);
      open_with({{"sync_mode", mode}}, 0);
      EXPECT_EQ(value_of(nullptr, "k"), mode);
      EXPECT_EQ(value_of(nullptr, "later"), mode);
    }
  }
}

// ---- Generic ABI behaviour the conformance suite does not check (yet) -------
// Candidates for tests/conformance; kept here until the suite has them.

TEST_F(LmdbTest, Generic_NullPointersFlagsAndPartialStatus) {
  kalam_status status;
  std::memset(&status, 'x', sizeof status);
  status.struct_size = offsetof(kalam_status, message) + 8;
  EXPECT_EQ(vt().get(
                db_, nullptr, nullptr, nullptr, 5,
                [](void*, const void*, size_t) {}, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(status.code, KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(std::strlen(status.message), 7u);  // Truncated and terminated.
  for (size_t i = 8; i < sizeof status.message; ++i) {
    ASSERT_EQ(status.message[i], 'x') << "byte " << i;
  }
  RawStatus full;
  EXPECT_EQ(vt().close(nullptr, nullptr), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().flush(db_, 1, &full), KALAM_INVALID_ARGUMENT);
  kalam_cf* family = nullptr;
  EXPECT_EQ(vt().cf_open(db_, "x", 0x80, &family, &full),
            KALAM_INVALID_ARGUMENT);
  vt().iter_destroy(nullptr);
  vt().snapshot_release(db_, nullptr);
}

TEST_F(LmdbTest, Generic_WriteValidatesEveryOp) {
  kalam_cf* a = cf("a");
  kalam_cf* gone = cf("gone");
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, gone, &status), KALAM_OK);
  ASSERT_EQ(put(nullptr, "keep", "old"), KALAM_OK);
  EXPECT_EQ(write({Put(nullptr, "keep", "new"), Op{99, nullptr, "k", "v"}},
                  false, sizeof(kalam_write_op), &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_THAT(status.message, HasSubstr("unknown op type 99"));
  EXPECT_EQ(write({Put(a, "x", "1"), Put(gone, "x", "1")}, false,
                  sizeof(kalam_write_op), &status),
            KALAM_DROPPED);
  EXPECT_THAT(status.message, HasSubstr("'gone'"));
  EXPECT_EQ(write({Put(a, "x", "1"), Del(nullptr, "")}, false,
                  sizeof(kalam_write_op), &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_THAT(status.message, HasSubstr("empty key"));
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
  EXPECT_EQ(vt().write(db_, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  ops[1].reserved0 = 0;
  ops[1].key = nullptr;
  EXPECT_EQ(vt().write(db_, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  // op_count 0 with no array is a no-op.
  EXPECT_EQ(vt().write(db_, &options, nullptr, 0, &status), KALAM_OK);
  EXPECT_EQ(value_of(nullptr, "keep"), "old");
  EXPECT_EQ(scan(a), KV{});
  EXPECT_EQ(value_of(nullptr, "x"), std::nullopt);
}

TEST_F(LmdbTest, Generic_PointReadEdges) {
  ASSERT_EQ(put(nullptr, "k", "hello"), KALAM_OK);
  RawStatus status;
  char buf[8];
  // A NULL key of length 0 is the empty key: never found, length untouched.
  size_t len = 7;
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, nullptr, 0, buf, sizeof buf,
                          &len, &status),
            KALAM_NOT_FOUND);
  EXPECT_EQ(len, 7u);
  // A NULL buffer of size 0 is too small and learns the length.
  EXPECT_EQ(
      vt().get_into(db_, nullptr, nullptr, "k", 1, nullptr, 0, &len, &status),
      KALAM_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, 5u);
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "k", 1, buf, sizeof buf,
                          nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  // multi_get of the empty key.
  const void* keys[] = {""};
  const size_t lens[] = {0};
  std::vector<int> codes;
  ASSERT_EQ(vt().multi_get(
                db_, nullptr, 1, nullptr, keys, lens,
                [](void* ctx, size_t, int code, const void*, size_t) {
                  static_cast<std::vector<int>*>(ctx)->push_back(code);
                },
                &codes, &status),
            KALAM_OK);
  EXPECT_EQ(codes, std::vector<int>{KALAM_NOT_FOUND});
}

TEST_F(LmdbTest, Generic_SnapshotEdges) {
  kalam_cf* a = cf("a");
  ASSERT_EQ(write({Put(nullptr, "k", "old"), Put(a, "x", "1")}), KALAM_OK);
  auto snap = snapshot();
  Iter implicit = iter(a);  // An implicit snapshot: now, before any seek.
  ASSERT_EQ(write({Put(nullptr, "k", "new"), Del(a, "x"), Put(a, "y", "2")}),
            KALAM_OK);
  kalam_cf* later = cf("later");
  ASSERT_EQ(put(later, "z", "3"), KALAM_OK);

  // A family created after the snapshot is empty at it.
  EXPECT_EQ(value_of(later, "z", snap->get()), std::nullopt);
  EXPECT_TRUE(scan(later, {.snapshot = snap->get()}).empty());
  // get_into at the snapshot.
  size_t len = 0;
  char buf[8];
  kalam_read_options read{};
  read.struct_size = sizeof read;
  read.snapshot = snap->get();
  RawStatus status;
  ASSERT_EQ(vt().get_into(db_, &read, nullptr, "k", 1, buf, sizeof buf, &len,
                          &status),
            KALAM_OK);
  EXPECT_EQ(std::string(buf, len), "old");
  // An iterator at the snapshot outlives the snapshot's release.
  Iter at = iter(a, {.snapshot = snap->get()});
  snap.reset();
  ASSERT_EQ(at.last(), KALAM_OK);
  EXPECT_EQ(at.key(), "x");
  EXPECT_EQ(at.next(), KALAM_NOT_FOUND);
  ASSERT_EQ(implicit.first(), KALAM_OK);
  EXPECT_EQ(implicit.key(), "x");
  EXPECT_EQ(implicit.next(), KALAM_NOT_FOUND);
}

TEST_F(LmdbTest, Generic_IteratorEdges) {
  std::vector<Op> ops;
  for (const char* k : {"a", "b", "c", "d", "e", "f"}) {
    ops.push_back(Put(nullptr, k, std::string("v") + k));
  }
  ASSERT_EQ(write(ops), KALAM_OK);
  Iter it = iter(nullptr);
  EXPECT_EQ(it.seek_for_prev(""), KALAM_NOT_FOUND);
  ASSERT_EQ(it.last(), KALAM_OK);
  EXPECT_EQ(it.next(), KALAM_NOT_FOUND);
  EXPECT_EQ(it.prev(), KALAM_NOT_FOUND) << "unpositioned stays so";
  // Empty and crossed bounds find nothing backwards either.
  Iter same = iter(nullptr, {.lower = "c", .upper = "c"});
  EXPECT_EQ(same.last(), KALAM_NOT_FOUND);
  Iter crossed = iter(nullptr, {.lower = "e", .upper = "b"});
  EXPECT_EQ(crossed.last(), KALAM_NOT_FOUND);
  EXPECT_EQ(crossed.seek_for_prev("d"), KALAM_NOT_FOUND);
  // A batch after running out is NOT_FOUND with nothing consumed; an unknown
  // batch flag is refused.
  auto accept = [](void*, const void*, size_t, const void*, size_t) {
    return 0;
  };
  size_t consumed = 7;
  EXPECT_EQ(vt().iter_next_batch(it.get(), 0, 10, accept, nullptr, &consumed,
                                 &it.status),
            KALAM_NOT_FOUND);
  EXPECT_EQ(consumed, 0u);
  ASSERT_EQ(it.first(), KALAM_OK);
  EXPECT_EQ(vt().iter_next_batch(it.get(), 0x10, 10, accept, nullptr, &consumed,
                                 &it.status),
            KALAM_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace kalam::conformance
