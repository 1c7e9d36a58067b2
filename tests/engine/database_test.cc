// The engine's key/value wrappers (Database, ColumnFamily, WriteBatch,
// Iterator, Snapshot), run against every plugin this build produced.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/database.h>
#include <kalam/test_paths.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "temp_dir.h"

namespace kalam {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class DatabaseTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto loaded = load_plugin(GetParam(), {KALAM_TEST_PLUGIN_DIR});
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    plugin_ = *loaded;
    reopen();
  }

  void reopen() {
    db_.reset();
    auto db = Database::open(plugin_, dir_ / "db", {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }

  bool has(uint64_t capability) const { return plugin_->has(capability); }

  std::vector<std::pair<std::string, std::string>> scan(
      const ColumnFamily& cf, IteratorOptions options = {}) {
    auto it = db_->new_iterator(cf, options);
    EXPECT_TRUE(it.ok()) << it.status();
    std::vector<std::pair<std::string, std::string>> out;
    for (it->seek_to_first(); it->valid(); it->next()) {
      out.emplace_back(it->key(), it->value());
    }
    EXPECT_TRUE(it->status().ok()) << it->status();
    return out;
  }

  std::shared_ptr<const Plugin> plugin_;
  test::TempDir dir_;
  std::unique_ptr<Database> db_;
};

using KV = std::vector<std::pair<std::string, std::string>>;

// next_batch() on 1000 entries "key00000".."key00999" (values: the index),
// through whichever ABI path the plugin offers: batches across the engine's
// array chunks, both directions, a visitor that stops or throws (the
// iterator stays on that entry), and the position afterwards.
void check_next_batch_paths(Database& db, bool reverse) {
  KV expected;
  WriteBatch batch;
  for (int i = 0; i < 1000; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "key%05d", i);
    expected.emplace_back(key, std::to_string(i));
    batch.put({}, key, expected.back().second);
  }
  ASSERT_TRUE(db.write(batch).ok());
  auto it = *db.new_iterator({});
  auto take = [&](size_t max, KV* into,
                  Iterator::Direction direction =
                      Iterator::Direction::kForward) {
    auto n = it.next_batch(
        max,
        [&](std::string_view k, std::string_view v) {
          into->emplace_back(k, v);
          return true;
        },
        direction);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : 0;
  };
  // More than one array chunk in one call, then the rest.
  it.seek_to_first();
  KV got;
  EXPECT_EQ(take(Iterator::kReadBatchChunk * 2 + 3, &got),
            Iterator::kReadBatchChunk * 2 + 3);
  ASSERT_TRUE(it.valid());
  EXPECT_EQ(it.key(), expected[got.size()].first);
  EXPECT_EQ(it.value(), expected[got.size()].second);
  EXPECT_EQ(take(100000, &got), 1000 - (Iterator::kReadBatchChunk * 2 + 3));
  EXPECT_FALSE(it.valid());
  EXPECT_TRUE(it.status().ok()) << it.status();
  EXPECT_EQ(got, expected);
  EXPECT_EQ(take(10, &got), 0u) << "an unpositioned iterator yields nothing";

  // Stops: on the first entry, inside a chunk, on a chunk's last entry.
  for (size_t stop : {size_t{0}, size_t{5}, Iterator::kReadBatchChunk - 1,
                      Iterator::kReadBatchChunk}) {
    it.seek("key00100");
    size_t seen = 0;
    auto n = it.next_batch(1000, [&](std::string_view, std::string_view) {
      return seen++ < stop;
    });
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, stop);
    ASSERT_TRUE(it.valid());
    EXPECT_EQ(it.key(), expected[100 + stop].first) << stop;
    EXPECT_EQ(it.value(), expected[100 + stop].second) << stop;
  }
  // A visitor that throws: the exception passes, the entry stays current.
  it.seek("key00200");
  size_t calls = 0;
  EXPECT_THROW(it.next_batch(50,
                             [&](std::string_view, std::string_view) -> bool {
                               if (++calls == 4) throw std::runtime_error("x");
                               return true;
                             }),
               std::runtime_error);
  ASSERT_TRUE(it.valid());
  EXPECT_EQ(it.key(), "key00203");
  it.next();
  EXPECT_EQ(it.key(), "key00204");

  if (!reverse) return;
  it.seek_to_last();
  KV back;
  EXPECT_EQ(take(Iterator::kReadBatchChunk + 1, &back,
                 Iterator::Direction::kBackward),
            Iterator::kReadBatchChunk + 1);
  ASSERT_TRUE(it.valid());
  EXPECT_EQ(it.key(), expected[998 - Iterator::kReadBatchChunk].first);
  take(100000, &back, Iterator::Direction::kBackward);
  EXPECT_EQ(back, KV(expected.rbegin(), expected.rend()));
  // A backward stop stays on the refused entry too.
  it.seek_for_prev("key00500");
  int seen = 0;
  auto n = it.next_batch(
      20, [&](std::string_view, std::string_view) { return ++seen < 3; },
      Iterator::Direction::kBackward);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(it.key(), "key00498");
}

TEST_P(DatabaseTest, PutGetDelete) {
  ColumnFamily cf;
  ASSERT_TRUE(db_->put(cf, "k1", "v1").ok());
  EXPECT_EQ(*db_->get(cf, "k1"), "v1");
  ASSERT_TRUE(db_->put(cf, "k1", "v2").ok());
  EXPECT_EQ(*db_->get(cf, "k1"), "v2");
  ASSERT_TRUE(db_->del(cf, "k1").ok());
  auto missing = db_->get(cf, "k1");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_TRUE(db_->del(cf, "never-there").ok());
}

TEST_P(DatabaseTest, EmptyValueIsNotAMissingKey) {
  ASSERT_TRUE(db_->put({}, "empty", "").ok());
  auto value = db_->get({}, "empty");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "");
  EXPECT_TRUE(db_->get({}, "absent").status().is_not_found());
}

TEST_P(DatabaseTest, BinaryKeysAreOrderedBytewise) {
  const std::vector<std::string> keys = {std::string("\x00", 1),
                                         std::string("\x00\x00", 2),
                                         "a",
                                         std::string("a\x00", 2),
                                         "a\x01",
                                         "b",
                                         "\x7f",
                                         "\x80",
                                         "\xff",
                                         "\xff\xff"};
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    ASSERT_TRUE(db_->put({}, *it, "v" + *it).ok());
  }
  KV got = scan({});
  ASSERT_EQ(got.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(got[i].first, keys[i]) << i;
    EXPECT_EQ(got[i].second, "v" + keys[i]);
  }
}

// get_with() takes any callable (a template, no std::function). What the
// visitor throws comes out of get_with() after the plugin call has returned,
// and the database stays usable; a visitor is not called on a miss.
TEST_P(DatabaseTest, GetWithPassesTheVisitorsExceptionAndStaysUsable) {
  ASSERT_TRUE(db_->put({}, "k", "value").ok());
  const auto before = db_->counters();
  EXPECT_THROW((void)db_->get_with({}, "k",
                                   [](std::string_view) -> void {
                                     throw std::runtime_error("visitor failed");
                                   }),
               std::runtime_error);
  const auto after = db_->counters();
  EXPECT_EQ(after.gets, before.gets + 1);
  EXPECT_EQ(after.get_hits, before.get_hits + 1);
  EXPECT_EQ(after.errors, before.errors);

  struct Collector {
    std::string* out;
    void operator()(std::string_view v) const { out->assign(v); }
  };
  std::string seen;
  ASSERT_TRUE(db_->get_with({}, "k", Collector{&seen}).ok());
  EXPECT_EQ(seen, "value");
  const std::function<void(std::string_view)> as_function =
      [&seen](std::string_view v) { seen = std::string(v) + "!"; };
  ASSERT_TRUE(db_->get_with({}, "k", as_function).ok());
  EXPECT_EQ(seen, "value!");
  bool called = false;
  EXPECT_TRUE(
      db_->get_with({}, "absent", [&](std::string_view) { called = true; })
          .is_not_found());
  EXPECT_FALSE(called);
}

TEST_P(DatabaseTest, VisitorCopyAndMultiGetReturnTheSameBytes) {
  std::string big(100000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(db_->put({}, "big", big).ok());
  ASSERT_TRUE(db_->put({}, "small", "xy").ok());

  std::string visited;
  ASSERT_TRUE(
      db_->get_with({}, "big", [&](std::string_view v) { visited.assign(v); })
          .ok());
  EXPECT_EQ(visited, big);

  std::vector<char> buffer(big.size());
  auto length = db_->get_into({}, "big", buffer);
  ASSERT_TRUE(length.ok()) << length.status();
  EXPECT_EQ(std::string(buffer.data(), *length), big);

  std::vector<char> tiny(1, 'Z');
  auto too_small = db_->get_into({}, "small", tiny);
  EXPECT_EQ(too_small.status().code(), Code::kBufferTooSmall);
  EXPECT_THAT(too_small.status().message(), HasSubstr("value is 2 bytes"));
  EXPECT_EQ(tiny[0], 'Z');

  std::vector<std::string_view> keys = {"small", "absent", "big"};
  auto values = db_->multi_get({}, keys);
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->size(), 3u);
  EXPECT_EQ((*values)[0], "xy");
  EXPECT_FALSE((*values)[1].has_value());
  EXPECT_EQ((*values)[2], big);
}

TEST_P(DatabaseTest, ColumnFamiliesAreIsolatedListedAndDropped) {
  auto users = db_->column_family("users", /*create_if_missing=*/true);
  ASSERT_TRUE(users.ok()) << users.status();
  auto items = db_->column_family("items", true);
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(db_->column_family("nosuch").status().code(), Code::kNotFound);
  EXPECT_TRUE(db_->column_family("default").ok());
  EXPECT_TRUE(db_->column_family("default")->is_default());

  ASSERT_TRUE(db_->put(*users, "same", "u").ok());
  ASSERT_TRUE(db_->put(*items, "same", "i").ok());
  ASSERT_TRUE(db_->put({}, "same", "d").ok());
  EXPECT_EQ(*db_->get(*users, "same"), "u");
  EXPECT_EQ(*db_->get(*items, "same"), "i");
  EXPECT_EQ(*db_->get({}, "same"), "d");

  auto names = db_->list_column_families();
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(*names, (std::vector<std::string>{"default", "items", "users"}));

  ColumnFamily copy = *users;
  ASSERT_TRUE(db_->drop_column_family(*users).ok());
  EXPECT_EQ(db_->get(copy, "same").status().code(), Code::kDropped);
  EXPECT_EQ(db_->put(copy, "k", "v").code(), Code::kDropped);
  EXPECT_THAT(db_->put(copy, "k", "v").message(),
              HasSubstr("column family 'users' was dropped"));
  EXPECT_EQ(db_->new_iterator(copy).status().code(), Code::kDropped);
  EXPECT_EQ(db_->drop_column_family(copy).code(), Code::kDropped);
  EXPECT_EQ(db_->drop_column_family({}).code(), Code::kInvalidArgument);
  EXPECT_EQ(*db_->list_column_families(),
            (std::vector<std::string>{"default", "items"}));

  // Re-creating the name gives a new, empty family.
  auto again = db_->column_family("users", true);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(db_->get(*again, "same").status().is_not_found());
  EXPECT_EQ(*db_->get(*items, "same"), "i");
}

TEST_P(DatabaseTest, BatchAppliesEverythingInOrder) {
  auto a = *db_->column_family("a", true);
  auto b = *db_->column_family("b", true);
  WriteBatch batch;
  batch.put(a, "k", "1");
  batch.put(b, "k", "2");
  batch.put(a, "k", "3");  // later op on the same key wins
  batch.put({}, "gone", "x");
  batch.del({}, "gone");
  EXPECT_EQ(batch.count(), 5u);
  ASSERT_TRUE(db_->write(batch, {.sync = true}).ok());
  EXPECT_EQ(*db_->get(a, "k"), "3");
  EXPECT_EQ(*db_->get(b, "k"), "2");
  EXPECT_TRUE(db_->get({}, "gone").status().is_not_found());
}

TEST_P(DatabaseTest, BatchWithADroppedFamilyAppliesNothing) {
  auto a = *db_->column_family("a", true);
  auto b = *db_->column_family("b", true);
  ASSERT_TRUE(db_->drop_column_family(b).ok());
  WriteBatch batch;
  batch.put(a, "k", "1");
  batch.put(b, "k", "2");
  EXPECT_EQ(db_->write(batch).code(), Code::kDropped);
  EXPECT_TRUE(db_->get(a, "k").status().is_not_found());
}

TEST_P(DatabaseTest, DeleteRangeRemovesHalfOpenRange) {
  for (const char* k : {"a", "b", "c", "d", "e"}) {
    ASSERT_TRUE(db_->put({}, k, k).ok());
  }
  WriteBatch batch;
  batch.delete_range({}, "b", "d");
  batch.delete_range({}, "e", "a");  // reversed: nothing
  batch.delete_range({}, "c", "c");  // empty: nothing
  ASSERT_TRUE(db_->write(batch).ok());
  EXPECT_EQ(scan({}), (KV{{"a", "a"}, {"d", "d"}, {"e", "e"}}));
}

TEST_P(DatabaseTest, IteratorBoundsPrefixAndSeeks) {
  for (const char* k : {"a1", "a2", "a3", "b1", "b2", "c1"}) {
    ASSERT_TRUE(db_->put({}, k, std::string("v") + k).ok());
  }
  EXPECT_EQ(scan({}, {.lower = "a2", .upper = "b2"}),
            (KV{{"a2", "va2"}, {"a3", "va3"}, {"b1", "vb1"}}));
  EXPECT_EQ(scan({}, {.prefix = "b"}), (KV{{"b1", "vb1"}, {"b2", "vb2"}}));
  EXPECT_EQ(scan({}, {.lower = "b2", .prefix = "b"}), (KV{{"b2", "vb2"}}));
  EXPECT_TRUE(scan({}, {.lower = "x"}).empty());
  EXPECT_TRUE(scan({}, {.lower = "b", .upper = "b"}).empty());

  auto it = *db_->new_iterator({}, {.upper = "c"});
  it.seek("a25");
  ASSERT_TRUE(it.valid());
  EXPECT_EQ(it.key(), "a3");
  it.seek("c1");  // beyond the upper bound
  EXPECT_FALSE(it.valid());
  EXPECT_TRUE(it.status().ok()) << it.status();
  it.next();  // moving an unpositioned iterator is harmless
  EXPECT_FALSE(it.valid());
}

TEST_P(DatabaseTest, ReverseIterationAndDirectionChanges) {
  for (const char* k : {"a", "b", "c", "d"})
    ASSERT_TRUE(db_->put({}, k, k).ok());
  auto it = *db_->new_iterator({}, {.lower = "b"});
  it.seek_to_last();
  if (!has(KALAM_CAP_REVERSE_ITERATION)) {
    EXPECT_EQ(it.status().code(), Code::kNotSupported);
    GTEST_SKIP() << GetParam() << " does not declare reverse_iteration";
  }
  ASSERT_TRUE(it.valid()) << it.status();
  EXPECT_EQ(it.key(), "d");
  it.prev();
  EXPECT_EQ(it.key(), "c");
  it.next();
  EXPECT_EQ(it.key(), "d");
  it.prev();
  it.prev();
  EXPECT_EQ(it.key(), "b");
  it.prev();  // below the lower bound
  EXPECT_FALSE(it.valid());
  it.seek_for_prev("bz");
  ASSERT_TRUE(it.valid());
  EXPECT_EQ(it.key(), "b");
  it.seek_for_prev("a");  // nothing <= "a" within the bounds
  EXPECT_FALSE(it.valid());
  EXPECT_TRUE(it.status().ok()) << it.status();
}

TEST_P(DatabaseTest, BatchedNextMatchesSingleSteps) {
  KV expected;
  for (int i = 0; i < 1000; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "key%05d", i);
    expected.emplace_back(key, std::to_string(i * i));
    ASSERT_TRUE(db_->put({}, key, expected.back().second).ok());
  }
  auto it = *db_->new_iterator({});
  it.seek_to_first();
  KV got;
  while (it.valid()) {
    auto n = it.next_batch(64, [&](std::string_view k, std::string_view v) {
      got.emplace_back(k, v);
      return true;
    });
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_GT(*n, 0u);
  }
  EXPECT_EQ(got, expected);

  // A visitor that stops leaves the refused entry current.
  it.seek("key00010");
  int seen = 0;
  auto n = it.next_batch(
      100, [&](std::string_view, std::string_view) { return ++seen < 3; });
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
  ASSERT_TRUE(it.valid());
  EXPECT_EQ(it.key(), "key00012");
}

TEST_P(DatabaseTest, NextBatchAcrossChunksStopsAndThrows) {
  // Every in-tree plugin has the ABI 1.1 array batch.
  EXPECT_NE(db_->plugin().iter_read_batch(), nullptr);
  check_next_batch_paths(*db_, has(KALAM_CAP_REVERSE_ITERATION));
}

TEST_P(DatabaseTest, SnapshotsDoNotSeeLaterWrites) {
  ASSERT_TRUE(db_->put({}, "k", "old").ok());
  ASSERT_TRUE(db_->put({}, "gone", "here").ok());
  auto snapshot = db_->snapshot();
  if (!has(KALAM_CAP_SNAPSHOTS)) {
    EXPECT_EQ(snapshot.status().code(), Code::kNotSupported);
    GTEST_SKIP() << GetParam() << " does not declare snapshots";
  }
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_TRUE(db_->put({}, "k", "new").ok());
  ASSERT_TRUE(db_->del({}, "gone").ok());
  ASSERT_TRUE(db_->put({}, "later", "x").ok());
  ReadOptions at{.snapshot = &*snapshot};
  EXPECT_EQ(*db_->get({}, "k", at), "old");
  EXPECT_EQ(*db_->get({}, "gone", at), "here");
  EXPECT_TRUE(db_->get({}, "later", at).status().is_not_found());
  EXPECT_EQ(scan({}, {.snapshot = &*snapshot}),
            (KV{{"gone", "here"}, {"k", "old"}}));
  EXPECT_EQ(*db_->get({}, "k"), "new");
}

TEST_P(DatabaseTest, IteratorKeepsItsSnapshotAlive) {
  if (!has(KALAM_CAP_SNAPSHOTS)) {
    GTEST_SKIP() << GetParam() << " does not declare snapshots";
  }
  ASSERT_TRUE(db_->put({}, "k", "old").ok());
  std::optional<Iterator> it;
  {
    auto snapshot = *db_->snapshot();
    it.emplace(*db_->new_iterator({}, {.snapshot = &snapshot}));
  }  // the Snapshot object is gone; the iterator still reads at it
  ASSERT_TRUE(db_->put({}, "k", "new").ok());
  EXPECT_EQ(db_->close().code(), Code::kBusy);
  it->seek_to_first();
  ASSERT_TRUE(it->valid()) << it->status();
  EXPECT_EQ(it->value(), "old");
  it.reset();
  EXPECT_TRUE(db_->close().ok());
}

TEST_P(DatabaseTest, IteratorViewIsStableWhileOthersWrite) {
  for (const char* k : {"a", "b", "c"}) ASSERT_TRUE(db_->put({}, k, k).ok());
  auto it = *db_->new_iterator({});
  it.seek_to_first();
  ASSERT_TRUE(db_->put({}, "bb", "new").ok());
  ASSERT_TRUE(db_->del({}, "c").ok());
  std::vector<std::string> keys;
  for (; it.valid(); it.next()) keys.emplace_back(it.key());
  if (!has(KALAM_CAP_SNAPSHOTS)) {
    GTEST_SKIP() << GetParam() << " does not declare snapshots";
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_P(DatabaseTest, ClosedDatabaseGivesClosedErrors) {
  auto cf = *db_->column_family("cf", true);
  ASSERT_TRUE(db_->close().ok());
  ASSERT_TRUE(db_->close().ok());  // twice is fine
  EXPECT_EQ(db_->put({}, "k", "v").code(), Code::kClosed);
  EXPECT_EQ(db_->get({}, "k").status().code(), Code::kClosed);
  EXPECT_EQ(db_->put(cf, "k", "v").code(), Code::kClosed);
  EXPECT_EQ(db_->new_iterator({}).status().code(), Code::kClosed);
  EXPECT_EQ(db_->snapshot().status().code(), Code::kClosed);
  EXPECT_EQ(db_->flush().code(), Code::kClosed);
  EXPECT_EQ(db_->list_column_families().status().code(), Code::kClosed);
}

TEST_P(DatabaseTest, CloseWaitsForIteratorsAndIteratorsKeepTheDatabase) {
  ASSERT_TRUE(db_->put({}, "k", "v").ok());
  {
    auto it = *db_->new_iterator({});
    Status busy = db_->close();
    EXPECT_EQ(busy.code(), Code::kBusy);
    EXPECT_THAT(busy.message(), HasSubstr("1 iterator(s)"));
    EXPECT_EQ(*db_->get({}, "k"), "v");  // still open
  }
  ASSERT_TRUE(db_->close().ok());

  reopen();
  ASSERT_TRUE(db_->put({}, "k", "v").ok());
  auto it = *db_->new_iterator({});
  db_.reset();  // the iterator keeps the database open
  it.seek_to_first();
  ASSERT_TRUE(it.valid()) << it.status();
  EXPECT_EQ(it.key(), "k");
}

TEST_P(DatabaseTest, FamilyFromAnotherDatabaseIsRefused) {
  test::TempDir other_dir;
  auto other = Database::open(plugin_, other_dir / "db", {});
  if (!other.ok()) GTEST_SKIP() << "second database: " << other.status();
  auto cf = *(*other)->column_family("x", true);
  EXPECT_EQ(db_->put(cf, "k", "v").code(), Code::kInvalidArgument);
  EXPECT_THAT(db_->put(cf, "k", "v").message(),
              HasSubstr("belongs to another database"));
}

// Every point-read path (get, get_with, get_into, multi_get) checks the
// database, the family and the snapshot, with the error's detail: the hot
// path tests them without building a Status, so each failure is checked
// here on each path.
TEST_P(DatabaseTest, EveryPointReadPathRefusesBadFamiliesAndSnapshots) {
  auto expect_all = [&](const ColumnFamily& cf, const ReadOptions& options,
                        Code code, const std::string& detail) {
    std::vector<char> buffer(8);
    const std::vector<std::string_view> keys = {"k"};
    const Status statuses[] = {db_->get(cf, "k", options).status(),
                               db_->get_with(
                                   cf, "k", [](std::string_view) {}, options),
                               db_->get_into(cf, "k", buffer, options).status(),
                               db_->multi_get(cf, keys, options).status()};
    for (const Status& s : statuses) {
      EXPECT_EQ(s.code(), code) << s;
      EXPECT_THAT(s.message(), HasSubstr(detail));
    }
  };
  ASSERT_TRUE(db_->put({}, "k", "v").ok());
  EXPECT_EQ(*db_->get({}, "k"), "v");
  auto dropped = *db_->column_family("dropped", true);
  ASSERT_TRUE(db_->put(dropped, "k", "v").ok());
  EXPECT_EQ(*db_->get(dropped, "k"), "v");
  ASSERT_TRUE(db_->drop_column_family(dropped).ok());
  expect_all(dropped, {}, Code::kDropped, "was dropped");

  test::TempDir other_dir;
  auto other = Database::open(plugin_, other_dir / "db", {});
  if (other.ok()) {
    auto foreign = *(*other)->column_family("x", true);
    expect_all(foreign, {}, Code::kInvalidArgument,
               "belongs to another database");
    if (has(KALAM_CAP_SNAPSHOTS)) {
      auto snapshot = *(*other)->snapshot();
      ReadOptions at_foreign;
      at_foreign.snapshot = &snapshot;
      expect_all({}, at_foreign, Code::kInvalidArgument,
                 "snapshot belongs to another database");
    }
  }

  auto live = *db_->column_family("live", true);
  ASSERT_TRUE(db_->close().ok());
  expect_all({}, {}, Code::kClosed, "is closed");
  expect_all(live, {}, Code::kClosed, "is closed");
}

TEST_P(DatabaseTest, ConcurrentWritersAndReadersLoseNothing) {
  constexpr int kThreads = 4, kKeys = 300;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        const std::string key =
            "t" + std::to_string(t) + "-" + std::to_string(i);
        const std::string value(100, static_cast<char>('a' + t));
        if (!db_->put({}, key, value).ok()) ++errors;
        auto read = db_->get({}, key);
        if (!read.ok() || *read != value) ++errors;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(scan({}).size(), static_cast<size_t>(kThreads * kKeys));
}

TEST_P(DatabaseTest, FlushCoversEveryFamily) {
  auto cf = *db_->column_family("cf", true);
  ASSERT_TRUE(db_->put(cf, "k", "v").ok());
  ASSERT_TRUE(db_->put({}, "k", "v").ok());
  EXPECT_TRUE(db_->flush().ok());
  if (!has(KALAM_CAP_PERSISTENT)) return;
  reopen();
  auto again = db_->column_family("cf");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*db_->get(*again, "k"), "v");
  EXPECT_EQ(*db_->get({}, "k"), "v");
}

TEST_P(DatabaseTest, PropertiesWhereDeclared) {
  ASSERT_TRUE(db_->put({}, "k", "v").ok());
  auto keys = db_->property({}, KALAM_PROPERTY_ESTIMATE_NUM_KEYS);
  if (!has(KALAM_CAP_PROPERTIES)) {
    EXPECT_EQ(keys.status().code(), Code::kNotSupported);
    GTEST_SKIP() << GetParam() << " does not declare properties";
  }
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_FALSE(keys->empty());
  EXPECT_EQ(db_->property({}, "no.such.property").status().code(),
            Code::kNotFound);
}

TEST_P(DatabaseTest, ManifestRefusesAnotherBackendsDirectory) {
  if (!has(KALAM_CAP_PERSISTENT)) {
    GTEST_SKIP() << GetParam() << " is not persistent: it writes no manifest";
  }
  ASSERT_TRUE(db_->close().ok());
  const fs::path manifest = dir_ / "db" / "KALAM_MANIFEST";
  ASSERT_TRUE(fs::exists(manifest));
  nlohmann::json m = nlohmann::json::parse(std::ifstream(manifest));
  EXPECT_EQ(m["backend"], GetParam());

  m["backend"] = "otherdb";
  std::ofstream(manifest) << m.dump();
  auto refused = Database::open(plugin_, dir_ / "db", {});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              HasSubstr("was written by backend 'otherdb'"));
  EXPECT_THAT(refused.status().message(),
              HasSubstr("the config asks for '" + GetParam() + "'"));

  m["backend"] = GetParam();
  m["format_version"] = plugin_->format_version() + 1;
  std::ofstream(manifest) << m.dump();
  auto newer = Database::open(plugin_, dir_ / "db", {});
  ASSERT_FALSE(newer.ok());
  EXPECT_THAT(newer.status().message(), HasSubstr("newer than this plugin"));

  std::ofstream(manifest) << "{ not json";
  EXPECT_EQ(Database::open(plugin_, dir_ / "db", {}).status().code(),
            Code::kCorruption);
}

TEST_P(DatabaseTest, NonEmptyDirectoryWithoutManifestIsRefused) {
  if (!has(KALAM_CAP_PERSISTENT)) {
    GTEST_SKIP() << GetParam() << " is not persistent: it writes no manifest";
  }
  test::TempDir other;
  std::ofstream(other / "precious.txt") << "someone's data";
  auto refused = Database::open(plugin_, other.path(), {});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("is not empty and has no"));
  EXPECT_TRUE(fs::exists(other / "precious.txt"));

  auto absent =
      Database::open(plugin_, other / "new", {}, {.create_if_missing = false});
  EXPECT_EQ(absent.status().code(), Code::kNotFound);
}

TEST_P(DatabaseTest, ACreationKilledWhileWritingTheManifestIsRetried) {
  if (!has(KALAM_CAP_PERSISTENT)) {
    GTEST_SKIP() << GetParam() << " is not persistent: it writes no manifest";
  }
  test::TempDir other;
  // What a kill between creating and renaming the manifest leaves.
  std::ofstream(other / "KALAM_MANIFEST.tmp") << "{\"kalam_ma";
  auto opened = Database::open(plugin_, other.path(), {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(fs::exists(other / "KALAM_MANIFEST"));
  EXPECT_FALSE(fs::exists(other / "KALAM_MANIFEST.tmp"));
  ASSERT_TRUE((*opened)->close().ok());

  // Beside anything else, the directory is still refused, untouched.
  test::TempDir third;
  std::ofstream(third / "KALAM_MANIFEST.tmp") << "{";
  std::ofstream(third / "precious.txt") << "someone's data";
  EXPECT_FALSE(Database::open(plugin_, third.path(), {}).ok());
  EXPECT_TRUE(fs::exists(third / "KALAM_MANIFEST.tmp"));
}

TEST_P(DatabaseTest, AHugeManifestIsCorruptionNotRead) {
  if (!has(KALAM_CAP_PERSISTENT)) {
    GTEST_SKIP() << GetParam() << " is not persistent: it writes no manifest";
  }
  test::TempDir other;
  {
    auto db = Database::open(plugin_, other.path(), {});
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->close().ok());
  }
  fs::resize_file(other / "KALAM_MANIFEST", 1 << 20);
  auto refused = Database::open(plugin_, other.path(), {});
  EXPECT_EQ(refused.status().code(), Code::kCorruption) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("not a manifest"));
}

TEST_P(DatabaseTest, DataSurvivesReopenOnPersistentBackends) {
  if (!has(KALAM_CAP_PERSISTENT)) {
    GTEST_SKIP() << GetParam() << " does not declare persistent";
  }
  auto cf = *db_->column_family("kept", true);
  ASSERT_TRUE(db_->put(cf, "k", "v", {.sync = true}).ok());
  ASSERT_TRUE(db_->close().ok());
  reopen();
  auto again = db_->column_family("kept");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*db_->get(*again, "k"), "v");
}

TEST_P(DatabaseTest, CheckpointIsAnOpenableCopy) {
  ASSERT_TRUE(db_->put({}, "k", "v").ok());
  const fs::path copy = dir_ / "checkpoint";
  Status s = db_->checkpoint(copy);
  if (!has(KALAM_CAP_CHECKPOINT)) {
    EXPECT_EQ(s.code(), Code::kNotSupported);
    GTEST_SKIP() << GetParam() << " does not declare checkpoint";
  }
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(db_->checkpoint(copy).code(), Code::kAlreadyExists);
  auto opened = Database::open(plugin_, copy, {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*(*opened)->get({}, "k"), "v");
}

TEST_P(DatabaseTest, UnknownOptionIsRejectedNamingTheKey) {
  test::TempDir other;
  auto refused =
      Database::open(plugin_, other / "db", {{"surely_not_an_option", "1", 0}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("surely_not_an_option"));
}

TEST_P(DatabaseTest, CountersFollowEveryCall) {
  EXPECT_EQ(db_->counters(), EngineCounters{});
  ColumnFamily cf;
  ASSERT_TRUE(db_->put(cf, "a1", "xyz").ok());  // 5 bytes
  ASSERT_TRUE(db_->put(cf, "a2", "").ok());     // 2
  ASSERT_TRUE(db_->del(cf, "absent").ok());     // 6
  WriteBatch batch;
  batch.put(cf, "b1", "12345");      // 7
  batch.put(cf, "b2", "1");          // 3
  batch.del(cf, "a2");               // 2
  batch.delete_range(cf, "c", "d");  // 2
  ASSERT_TRUE(db_->write(batch).ok());
  EXPECT_EQ(*db_->get(cf, "a1"), "xyz");
  EXPECT_TRUE(db_->get(cf, "a2").status().is_not_found());
  char buffer[8];
  EXPECT_EQ(*db_->get_into(cf, "b1", buffer), 5u);
  const std::vector<std::string_view> keys = {"b2", "nope", "a1"};
  ASSERT_TRUE(db_->multi_get(cf, keys).ok());

  EngineCounters want;
  want.puts = 4;
  want.deletes = 2;
  want.delete_ranges = 1;
  want.batches = 1;
  want.bytes_written = 5 + 2 + 6 + 7 + 3 + 2 + 2;
  want.gets = 3 + 3;
  want.get_hits = 2 + 2;
  want.get_bytes = 3 + 5 + (1 + 3);
  EXPECT_EQ(db_->counters(), want);

  // Iterators: every entry landed on counts once, whether reached by a
  // seek, a move or a batch; a refused entry is not counted twice.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(db_->put(cf, "k" + std::to_string(i), "v").ok());
  }
  want.puts += 10;
  want.bytes_written += 10 * 3;
  {
    auto it = *db_->new_iterator(cf, {.prefix = "k"});
    it.seek_to_first();  // k0
    it.next();           // k1
    int seen = 0;
    ASSERT_TRUE(it.next_batch(10, [&](std::string_view, std::string_view) {
                    return ++seen < 3;
                  }).ok());  // visits k1, k2 (consumed), refuses k3: on k3
    ASSERT_TRUE(it.valid());
    ASSERT_EQ(it.key(), "k3");
    ASSERT_TRUE(it.next_batch(100, [](auto, auto) { return true; }).ok());
    EXPECT_FALSE(it.valid());  // k3..k9 consumed
    // Plus the iterator that found the keys of the delete-range on backends
    // without a native one (it found none).
    want.iterators = has(KALAM_CAP_DELETE_RANGE) ? 1 : 2;
    want.iterator_entries = 10;
    EXPECT_EQ(db_->counters(), want);
  }

  // Failures count only as errors.
  auto dropped = *db_->column_family("gone", true);
  ASSERT_TRUE(db_->drop_column_family(dropped).ok());
  EXPECT_FALSE(db_->put(dropped, "k", "v").ok());
  EXPECT_FALSE(db_->get(dropped, "k").ok());
  want.errors = 2;
  EXPECT_EQ(db_->counters(), want);
}

TEST_P(DatabaseTest, StoredCountersKeepTotalsAndCountUncleanShutdowns) {
  if (!has(KALAM_CAP_PERSISTENT)) {
    EXPECT_FALSE(db_->stored_counters().has_value());
    GTEST_SKIP() << GetParam() << " does not declare persistent";
  }
  const fs::path file = dir_ / "db" / "KALAM_COUNTERS";
  auto stored = db_->stored_counters();
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->opens, 1u);
  EXPECT_TRUE(stored->open);
  EXPECT_EQ(stored->totals, EngineCounters{});
  ASSERT_TRUE(db_->put({}, "k", "v").ok());
  ASSERT_TRUE(db_->close().ok());
  reopen();
  stored = db_->stored_counters();
  EXPECT_EQ(stored->opens, 2u);
  EXPECT_EQ(stored->clean_closes, 1u);
  EXPECT_EQ(stored->unclean_shutdowns, 0u);
  EXPECT_EQ(stored->totals.puts, 1u);
  EXPECT_EQ(stored->totals.bytes_written, 2u);

  // A process killed while the store is open leaves the file saying so.
  const fs::path saved = dir_ / "counters-while-open";
  fs::copy_file(file, saved);
  ASSERT_TRUE(db_->put({}, "lost", "count").ok());
  ASSERT_TRUE(db_->close().ok());
  fs::copy_file(saved, file, fs::copy_options::overwrite_existing);
  reopen();
  stored = db_->stored_counters();
  EXPECT_EQ(stored->opens, 3u);
  EXPECT_EQ(stored->clean_closes, 1u);
  EXPECT_EQ(stored->unclean_shutdowns, 1u);
  EXPECT_EQ(stored->totals.puts, 1u);         // the killed session's are gone
  EXPECT_EQ(*db_->get({}, "lost"), "count");  // the data is not

  // A read-only open reads the counters and changes nothing.
  if (has(KALAM_CAP_READ_ONLY_OPEN)) {
    ASSERT_TRUE(db_->close().ok());
    db_.reset();
    auto read_file = [&] {
      std::ifstream in(file);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    const std::string before = read_file();
    {
      auto ro = Database::open(plugin_, dir_ / "db", {}, {.read_only = true});
      ASSERT_TRUE(ro.ok()) << ro.status();
      EXPECT_EQ((*ro)->stored_counters()->opens, 3u);
      EXPECT_FALSE((*ro)->get({}, "k").status().is_not_found());
    }
    EXPECT_EQ(read_file(), before);
    reopen();
  }
}

TEST_P(DatabaseTest, DamagedStoredCountersRestartFromZeroWithAWarning) {
  if (!has(KALAM_CAP_PERSISTENT)) {
    GTEST_SKIP() << GetParam() << " does not declare persistent";
  }
  ASSERT_TRUE(db_->put({}, "k", "v").ok());
  ASSERT_TRUE(db_->close().ok());
  db_.reset();
  {
    std::ofstream damage(dir_ / "db" / "KALAM_COUNTERS", std::ios::trunc);
    damage << "{\"format\": \"kalam.counters\", \"version\": 1, \"op";
  }
  std::vector<std::string> warnings;
  set_log_sink([&](LogLevel level, std::string_view, std::string_view line) {
    if (level == LogLevel::kWarn) warnings.emplace_back(line);
  });
  reopen();
  set_log_sink([](LogLevel level, std::string_view source,
                  std::string_view line) {
    if (level >= LogLevel::kWarn) {
      std::fprintf(stderr, "[%.*s] %.*s\n", static_cast<int>(source.size()),
                   source.data(), static_cast<int>(line.size()), line.data());
    }
  });
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("KALAM_COUNTERS"));
  EXPECT_THAT(warnings[0], HasSubstr("restart from zero"));
  EXPECT_EQ(db_->stored_counters()->opens, 1u);
  EXPECT_EQ(*db_->get({}, "k"), "v");
}

std::vector<std::string> all_plugins() { return {KALAM_TEST_PLUGIN_NAMES}; }

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseTest,
                         ::testing::ValuesIn(all_plugins()),
                         [](const auto& param) { return param.param; });

#ifdef KALAM_TEST_REDUCED_PLUGIN_PATH
// The engine's fallbacks, on the memory plugin declaring neither
// delete_range, thread_safe nor snapshots (tests/broken_plugins).
class DatabaseFallbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto plugin = load_plugin_file(KALAM_TEST_REDUCED_PLUGIN_PATH);
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    ASSERT_FALSE((*plugin)->has(KALAM_CAP_DELETE_RANGE));
    ASSERT_FALSE((*plugin)->has(KALAM_CAP_THREAD_SAFE));
    ASSERT_FALSE((*plugin)->has(KALAM_CAP_SNAPSHOTS));
    auto db = Database::open(*plugin, dir_ / "db", {});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  KV scan() {
    KV out;
    auto it = *db_->new_iterator({});
    for (it.seek_to_first(); it.valid(); it.next()) {
      out.emplace_back(it.key(), it.value());
    }
    EXPECT_TRUE(it.status().ok()) << it.status();
    return out;
  }
  test::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(DatabaseFallbackTest, DeleteRangeBecomesDeletesOfTheKeysPresent) {
  for (const char* k : {"a", "b", "ba", "c", "d"}) {
    ASSERT_TRUE(db_->put({}, k, k).ok());
  }
  WriteBatch batch;
  batch.delete_range({}, "b", "c");
  batch.delete_range({}, "d", "a");  // reversed: nothing
  batch.put({}, "x", "x");
  ASSERT_TRUE(db_->write(batch).ok());
  EXPECT_EQ(scan(), (KV{{"a", "a"}, {"c", "c"}, {"d", "d"}, {"x", "x"}}));
}

TEST_F(DatabaseFallbackTest, CallsAreSerialisedWhenTheBackendIsNotThreadSafe) {
  constexpr int kThreads = 4, kKeys = 300;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        const std::string key = std::to_string(t) + ":" + std::to_string(i);
        if (!db_->put({}, key, key).ok()) ++errors;
        auto read = db_->get({}, key);
        if (!read.ok() || *read != key) ++errors;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(scan().size(), static_cast<size_t>(kThreads * kKeys));
}

// An ABI 1.0 plugin (a function table of KALAM_BACKEND_VTABLE_SIZE_1_0
// bytes) loads, and next_batch() takes iter_next_batch(): the reduced
// plugin's slot past its struct_size aborts if the engine ever reads it.
TEST_F(DatabaseFallbackTest, AnAbi10PluginLoadsAndScansWithTheVisitorBatch) {
  const Plugin& plugin = db_->plugin();
  EXPECT_EQ(plugin.abi_minor(), 0u);
  EXPECT_EQ(plugin.vtable().struct_size, KALAM_BACKEND_VTABLE_SIZE_1_0);
  EXPECT_EQ(plugin.iter_read_batch(), nullptr);
  check_next_batch_paths(*db_, plugin.has(KALAM_CAP_REVERSE_ITERATION));
}

TEST_F(DatabaseFallbackTest, SnapshotsAreNotSupported) {
  EXPECT_EQ(db_->snapshot().status().code(), Code::kNotSupported);
}
#endif  // KALAM_TEST_REDUCED_PLUGIN_PATH

TEST(DatabaseOpen, FromConfigLoadsThePluginItNames) {
  test::TempDir dir;
  StorageConfig config;
  config.backend = "memory";
  config.path = dir / "db";
  config.plugin_path = {KALAM_TEST_PLUGIN_DIR};
  auto db = Database::open(config);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ((*db)->plugin().name(), "memory");

  config.backend = "nosuch";
  EXPECT_EQ(Database::open(config).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace kalam
