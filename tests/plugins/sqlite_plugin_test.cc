// What is special about the SQLite plugin (kalam_sqlite.so), through the raw
// C ABI and the conformance harness (RawDatabase): byte order of binary keys
// in SQL, family names as data, the database file (missing, foreign,
// corrupt), read-only opens, checkpoints, options, iterators built on
// queries that turn around, a snapshot shared by threads, and WAL and sync.
// Behaviour every plugin shares is tested by tests/conformance.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/test_paths.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "conformance.h"

namespace kalam::conformance {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Options = std::map<std::string, std::string>;

const BackendUnderTest kSqlite{"sqlite", KALAM_TEST_PLUGIN_SQLITE_PATH, {}};

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

class SqliteTest : public ::testing::Test, public RawDatabase {
 protected:
  void SetUp() override { ASSERT_TRUE(start(kSqlite)); }
  void TearDown() override { close_db(); }
};

// ---- Plugin info ----------------------------------------------------------

TEST_F(SqliteTest, DescribesItself) {
  EXPECT_EQ(plugin().name(), "sqlite");
  EXPECT_EQ(plugin().format_version(), 2u);
  EXPECT_EQ(plugin().abi_minor(),
            static_cast<uint32_t>(KALAM_ABI_VERSION_MINOR));
  EXPECT_NE(plugin().version().find("(SQLite 3."), std::string::npos)
      << plugin().version();
  EXPECT_EQ(plugin().capabilities(),
            KALAM_CAP_PERSISTENT | KALAM_CAP_DURABLE_SYNC |
                KALAM_CAP_ATOMIC_BATCH | KALAM_CAP_SNAPSHOTS |
                KALAM_CAP_REVERSE_ITERATION | KALAM_CAP_DELETE_RANGE |
                KALAM_CAP_THREAD_SAFE | KALAM_CAP_PROPERTIES |
                KALAM_CAP_CHECKPOINT | KALAM_CAP_READ_ONLY_OPEN |
                KALAM_CAP_CONDITIONAL_WRITE | KALAM_CAP_READ_MODIFY_WRITE);
  EXPECT_EQ(plugin().max_key_size(), uint64_t{1} << 20);
  EXPECT_EQ(plugin().max_value_size(), uint64_t{1} << 29);
  EXPECT_EQ(vt().struct_size, sizeof(kalam_backend_vtable));
  EXPECT_EQ(vt().compact_range, nullptr);
  EXPECT_NE(vt().get_property, nullptr);
  EXPECT_NE(vt().checkpoint, nullptr);
}

// ---- Byte order of keys ---------------------------------------------------

// SQL compares BLOBs with memcmp; this checks that keys are stored and
// compared as BLOBs everywhere (not as text, which would stop at 0x00).
TEST_F(SqliteTest, BinaryKeysSortByteWiseLikeStdString) {
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
  std::vector<Op> ops;
  for (const auto& key : keys) ops.push_back(Put(nullptr, key, "v" + key));
  ASSERT_EQ(write(ops), KALAM_OK);

  KV expected;
  for (const auto& key : keys) expected.emplace_back(key, "v" + key);
  EXPECT_EQ(scan(nullptr), expected);
  EXPECT_EQ(scan(nullptr, {.reverse = true}),
            KV(expected.rbegin(), expected.rend()));

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
  EXPECT_EQ(value_of(nullptr, bytes({0})), "v" + bytes({0}));
  EXPECT_EQ(value_of(nullptr, bytes({0, 0})), "v" + bytes({0, 0}));
}

// ---- Families, files, open modes
// ---------------------------------------------

TEST_F(SqliteTest, ReopenKeepsFamiliesWithOddNames) {
  // Family name -> the value stored under "k" in it.
  const std::map<std::string, std::string> families = {
      {"users", "users"},
      {"we\"ird'; DROP TABLE cf_0;--", "weird"},
      {"δοκιμή", "greek"}};
  kalam_cf* gone = cf("gone");
  std::vector<Op> ops = {Put(nullptr, "k", "default")};
  for (const auto& [name, value] : families)
    ops.push_back(Put(cf(name), "k", value));
  ASSERT_EQ(write(ops, /*sync=*/true), KALAM_OK);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, gone, &status), KALAM_OK) << status.text();
  std::vector<std::string> names = {"default"};
  for (const auto& entry : families) names.push_back(entry.first);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(list_families(), names);

  reopen();
  EXPECT_EQ(value_of(nullptr, "k"), "default");
  for (const auto& [name, value] : families) {
    EXPECT_EQ(value_of(existing(name), "k"), value) << name;
  }
  kalam_cf* missing = nullptr;
  EXPECT_EQ(vt().cf_open(db_, "gone", 0, &missing, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(list_families(), names);
  EXPECT_TRUE(fs::exists(db_path() / "kalam.sqlite3"));
}

// ---- On-disk formats ------------------------------------------------------

// Runs `sql` on the database file `file` with SQLite itself; returns the
// first column of the first row as text ("" when there is none).
std::string sqlite_query(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sql << ": " << sqlite3_errmsg(db);
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) out = reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

std::string table_sql(const fs::path& file, const std::string& table) {
  return sqlite_query(
      file, "SELECT sql FROM sqlite_schema WHERE name = '" + table + "'");
}

// A new database is in format 2: rowid tables with a unique key index, so a
// 1 KB value stays in its table's B-tree instead of an overflow chain.
TEST_F(SqliteTest, NewDatabaseIsFormatTwoWithRowidTables) {
  cf("users");
  ASSERT_EQ(put(nullptr, "k", std::string(1000, 'v')), KALAM_OK);
  close_db();
  const fs::path file = db_path() / "kalam.sqlite3";
  EXPECT_EQ(sqlite_query(file, "PRAGMA user_version"), "2");
  for (const std::string table : {"cf_0", "cf_1"}) {
    const std::string sql = table_sql(file, table);
    EXPECT_THAT(sql, HasSubstr("key BLOB NOT NULL PRIMARY KEY")) << table;
    EXPECT_EQ(sql.find("WITHOUT ROWID"), std::string::npos) << sql;
  }
}

// A database written by plugin 1.0 (format 1: WITHOUT ROWID tables) keeps
// opening, reading and writing, and stays in format 1: new families get its
// layout, overwrites replace, and nothing rewrites the file.
TEST_F(SqliteTest, FormatOneDatabaseOpensReadsAndWritesInItsOwnLayout) {
  const fs::path old_dir = dir_ / "format1";
  fs::create_directories(old_dir);
  const fs::path file = old_dir / "kalam.sqlite3";
  {
    // What plugin 1.0's initialize_schema() wrote, and one row in it.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    const std::string sql =
        "PRAGMA journal_mode = WAL;"
        "BEGIN IMMEDIATE;"
        "CREATE TABLE kalam_meta(key TEXT PRIMARY KEY, value INTEGER NOT "
        "NULL) WITHOUT ROWID;"
        "INSERT INTO kalam_meta(key, value) VALUES ('next_family_id', 1),"
        " ('flush_count', 0);"
        "CREATE TABLE kalam_families(name TEXT PRIMARY KEY,"
        " id INTEGER NOT NULL UNIQUE, table_name TEXT NOT NULL UNIQUE)"
        " WITHOUT ROWID;"
        "INSERT INTO kalam_families(name, id, table_name)"
        " VALUES ('default', 0, 'cf_0');"
        "CREATE TABLE cf_0(key BLOB PRIMARY KEY, value BLOB NOT NULL)"
        " WITHOUT ROWID;"
        "INSERT INTO cf_0(key, value) VALUES (x'6f6c64', x'76616c7565');"
        "PRAGMA application_id = 1262570573;"
        "PRAGMA user_version = 1;"
        "COMMIT;";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  }
  open_with({}, 0, old_dir);
  ASSERT_NE(handle(), nullptr);
  EXPECT_EQ(value_of(nullptr, "old"), "value");
  const std::string big(3000, 'b');  // overflows a format 1 row
  ASSERT_EQ(write({Put(nullptr, "old", "new"), Put(nullptr, "big", big),
                   Put(cf("users"), "u", "1")}),
            KALAM_OK);
  ASSERT_EQ(put(nullptr, "old", "newer"), KALAM_OK);  // a replace
  ASSERT_EQ(del(nullptr, "gone"), KALAM_OK);
  EXPECT_EQ(scan(nullptr), (KV{{"big", big}, {"old", "newer"}}));
  reopen();
  EXPECT_EQ(value_of(nullptr, "old"), "newer");
  EXPECT_EQ(value_of(nullptr, "big"), big);
  EXPECT_EQ(value_of(existing("users"), "u"), "1");
  close_db();
  EXPECT_EQ(sqlite_query(file, "PRAGMA user_version"), "1");
  EXPECT_THAT(table_sql(file, "cf_1"), HasSubstr("WITHOUT ROWID"));
  EXPECT_THAT(table_sql(file, "cf_0"), HasSubstr("WITHOUT ROWID"));
}

// A format newer than this plugin reads, or 0, is refused by name.
TEST_F(SqliteTest, UnknownFormatVersionIsRefusedWithTheVersion) {
  close_db();
  const fs::path file = db_path() / "kalam.sqlite3";
  for (const char* version : {"3", "0"}) {
    sqlite_query(file, std::string("PRAGMA user_version = ") + version);
    kalam_db* other = nullptr;
    RawStatus status;
    EXPECT_EQ(open_at(db_path(), &other, 0, {}, &status), KALAM_CORRUPTION)
        << version;
    EXPECT_THAT(status.text(),
                HasSubstr("format version " + std::string(version) +
                          "; this plugin reads formats 1 to 2"));
    EXPECT_EQ(other, nullptr);
  }
  sqlite_query(file, "PRAGMA user_version = 2");
}

TEST_F(SqliteTest, OpenNeedsADatabaseDirectoryAndMakesParents) {
  kalam_db* other = nullptr;
  RawStatus status;
  fs::create_directory(dir_ / "empty");
  EXPECT_EQ(open_at(dir_ / "empty", &other, 0, {}, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(other, nullptr);
  // A file where the directory should be.
  std::ofstream(dir_ / "file") << "x";
  EXPECT_EQ(
      open_at(dir_ / "file", &other, KALAM_OPEN_CREATE_IF_MISSING, {}, &status),
      KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(other, nullptr);
  // Read-only never creates.
  EXPECT_EQ(
      open_at(dir_ / "nothing", &other,
              KALAM_OPEN_READ_ONLY | KALAM_OPEN_CREATE_IF_MISSING, {}, &status),
      KALAM_NOT_FOUND);
  EXPECT_FALSE(fs::exists(dir_ / "nothing"));
  // Creating makes missing parents too.
  ASSERT_EQ(open_at(dir_ / "a" / "b", &other, KALAM_OPEN_CREATE_IF_MISSING, {},
                    &status),
            KALAM_OK)
      << status.text();
  EXPECT_EQ(vt().close(other, &status), KALAM_OK);
}

TEST_F(SqliteTest, SecondOpenOfTheSamePathInThisProcessIsBusy) {
  kalam_db* other = nullptr;
  RawStatus status;
  EXPECT_EQ(
      open_at(db_path(), &other, KALAM_OPEN_CREATE_IF_MISSING, {}, &status),
      KALAM_BUSY);
  EXPECT_EQ(other, nullptr);
  EXPECT_EQ(status.code, KALAM_BUSY);
  EXPECT_THAT(status.message, HasSubstr("already open in this process"));
  // Read-only, and the same directory under another spelling, too.
  EXPECT_EQ(open_at(db_path(), &other, KALAM_OPEN_READ_ONLY, {}, &status),
            KALAM_BUSY);
  fs::create_directory_symlink(db_path(), dir_ / "alias");
  EXPECT_EQ(open_at(dir_ / "alias" / ".", &other, 0, {}, &status), KALAM_BUSY);
  EXPECT_EQ(other, nullptr);
  // Closing gives the path back.
  open_with({}, 0, dir_ / "alias");
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
}

// Forks a child that holds `lock_file` with flock(`operation`) until it is
// told to exit; returns its pid and the pipe that releases it.
std::pair<pid_t, int> hold_flock_in_child(const fs::path& lock_file,
                                          int operation) {
  int ready[2];
  int release[2];
  if (::pipe(ready) != 0 || ::pipe(release) != 0) return {-1, -1};
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls.
    const int fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT, 0644);
    const char ok = (fd >= 0 && ::flock(fd, operation | LOCK_NB) == 0) ? 1 : 0;
    (void)!::write(ready[1], &ok, 1);
    char byte;
    (void)!::read(release[0], &byte, 1);
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(release[0]);
  char ok = 0;
  if (pid < 0 || ::read(ready[0], &ok, 1) != 1 || ok != 1) {
    ::close(ready[0]);
    ::close(release[1]);
    return {-1, -1};
  }
  ::close(ready[0]);
  return {pid, release[1]};
}

void release_child(std::pair<pid_t, int> child) {
  (void)!::write(child.second, "x", 1);
  ::close(child.second);
  int wstatus = 0;
  ::waitpid(child.first, &wstatus, 0);
}

TEST_F(SqliteTest, PathHeldByAnotherProcessIsBusy) {
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  close_db();
  const fs::path lock_file = db_path() / "kalam_sqlite.lock";
  ASSERT_TRUE(fs::exists(lock_file));
  kalam_db* other = nullptr;
  RawStatus status;
  {
    // A writer elsewhere: neither a writer nor a reader may open here.
    auto child = hold_flock_in_child(lock_file, LOCK_EX);
    ASSERT_GT(child.first, 0);
    EXPECT_EQ(open_at(db_path(), &other, 0, {}, &status), KALAM_BUSY);
    EXPECT_THAT(status.message, HasSubstr("another process"));
    EXPECT_EQ(open_at(db_path(), &other, KALAM_OPEN_READ_ONLY, {}, &status),
              KALAM_BUSY);
    EXPECT_EQ(other, nullptr);
    release_child(child);
  }
  {
    // A reader elsewhere: another reader may open, a writer may not.
    auto child = hold_flock_in_child(lock_file, LOCK_SH);
    ASSERT_GT(child.first, 0);
    EXPECT_EQ(open_at(db_path(), &other, 0, {}, &status), KALAM_BUSY);
    ASSERT_EQ(open_at(db_path(), &other, KALAM_OPEN_READ_ONLY, {}, &status),
              KALAM_OK)
        << status.text();
    EXPECT_EQ(vt().close(other, &status), KALAM_OK);
    release_child(child);
  }
  open_with({}, 0);
  EXPECT_EQ(value_of(nullptr, "k"), "v");
}

TEST_F(SqliteTest, ReadsRacingADropSeeDroppedNotInternal) {
  for (int round = 0; round < 20; ++round) {
    const std::string name = "racy" + std::to_string(round);
    kalam_cf* family = cf(name);
    ASSERT_EQ(put(family, "k", "v"), KALAM_OK);
    std::atomic<bool> stop{false};
    std::atomic<int> bad{-1};
    std::thread reader([&] {
      while (!stop.load()) {
        std::string value;
        const int rc = get(family, "k", &value);
        char buf[8];
        size_t len = 0;
        const int rc2 = vt().get_into(db_, nullptr, family, "k", 1, buf,
                                      sizeof buf, &len, nullptr);
        for (int code : {rc, rc2}) {
          if (code != KALAM_OK && code != KALAM_DROPPED) bad.store(code);
        }
        if (rc == KALAM_DROPPED && rc2 == KALAM_DROPPED) break;
      }
    });
    RawStatus status;
    EXPECT_EQ(vt().cf_drop(db_, family, &status), KALAM_OK) << status.text();
    stop.store(true);
    reader.join();
    EXPECT_EQ(bad.load(), -1) << kalam_code_name(bad.load());
  }
}

TEST_F(SqliteTest, GarbageDatabaseFileIsCorruption) {
  const fs::path bad = dir_ / "bad";
  fs::create_directory(bad);
  std::ofstream(bad / "kalam.sqlite3")
      << std::string(4096, 'g') << "this is not an SQLite file";
  kalam_db* other = nullptr;
  RawStatus status;
  EXPECT_EQ(open_at(bad, &other, KALAM_OPEN_CREATE_IF_MISSING, {}, &status),
            KALAM_CORRUPTION)
      << status.text();
  EXPECT_EQ(status.code, KALAM_CORRUPTION);
  EXPECT_NE(std::string(status.message).find("kalam.sqlite3"),
            std::string::npos)
      << status.message;
  EXPECT_EQ(other, nullptr);
}

TEST_F(SqliteTest, ReadOnlyOpenReadsButRejectsEveryChange) {
  ASSERT_EQ(write({Put(cf("users"), "k", "v"), Put(nullptr, "d", "default")}),
            KALAM_OK);
  open_with({}, KALAM_OPEN_READ_ONLY);
  kalam_cf* users = existing("users");
  EXPECT_EQ(scan(users), (KV{{"k", "v"}}));
  RawStatus status;
  EXPECT_EQ(
      write({Put(nullptr, "x", "y")}, false, sizeof(kalam_write_op), &status),
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
  EXPECT_EQ(value_of(nullptr, "x"), std::nullopt);
}

TEST_F(SqliteTest, CheckpointIsAWritableCopyInANewDirectory) {
  kalam_cf* users = cf("users");
  ASSERT_EQ(write({Put(nullptr, "a", "1"), Put(users, "u", "x")}), KALAM_OK);
  const fs::path copy = dir_ / "backups" / "one";  // parents are made
  RawStatus status;
  ASSERT_EQ(vt().checkpoint(db_, copy.c_str(), &status), KALAM_OK)
      << status.text();
  ASSERT_EQ(put(nullptr, "b", "2"), KALAM_OK);
  // The path must not exist yet.
  EXPECT_EQ(vt().checkpoint(db_, copy.c_str(), &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(status.message).find("exists"), std::string::npos);

  const fs::path source = db_path();
  open_with({}, 0, copy);
  EXPECT_EQ(scan(nullptr), (KV{{"a", "1"}}));
  EXPECT_EQ(scan(existing("users")), (KV{{"u", "x"}}));
  // The copy is a full database: writable and reopenable.
  ASSERT_EQ(put(nullptr, "c", "3"), KALAM_OK);
  open_with({}, KALAM_OPEN_READ_ONLY);
  EXPECT_EQ(scan(nullptr), (KV{{"a", "1"}, {"c", "3"}}));
  // The source is untouched.
  open_with({}, 0, source);
  EXPECT_EQ(scan(nullptr), (KV{{"a", "1"}, {"b", "2"}}));
}

// ---- Options ----------------------------------------------------------------

TEST_F(SqliteTest, KnownOptionsAreAccepted) {
  open_with({{"cache_size", "64MiB"},
             {"busy_timeout_ms", "250"},
             {"page_size", "8192"},
             {"mmap_size", "16 MB"},
             {"read_pool_size", "2"}},
            KALAM_OPEN_CREATE_IF_MISSING, dir_ / "tuned");
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  std::string stats;
  ASSERT_EQ(property(nullptr, KALAM_PROPERTY_STATS, &stats), KALAM_OK);
  EXPECT_NE(stats.find("page size: 8192"), std::string::npos) << stats;

  // page_size applies only when the file is created.
  open_with({{"page_size", "1k"}, {"cache_size", "1024"}, {"mmap_size", "0"}},
            0);
  ASSERT_EQ(property(nullptr, KALAM_PROPERTY_STATS, &stats), KALAM_OK);
  EXPECT_NE(stats.find("page size: 8192"), std::string::npos) << stats;
  EXPECT_EQ(value_of(nullptr, "k"), "v");
}

TEST_F(SqliteTest, BadOptionsAreRejectedByName) {
  struct Case {
    std::string key, value;
  };
  const std::vector<Case> cases = {
      {"journal_mode", "WAL"},   {"cache_size", "lots"},
      {"cache_size", "-5"},      {"cache_size", "12 parsecs"},
      {"busy_timeout_ms", "-1"}, {"busy_timeout_ms", "1.5"},
      {"page_size", "1000"},     {"page_size", "131072"},
      {"mmap_size", "1x"},       {"read_pool_size", "100000"},
      {"read_pool_size", ""},
  };
  for (const auto& c : cases) {
    const fs::path path = dir_ / ("bad-" + c.key);
    kalam_db* other = nullptr;
    RawStatus status;
    EXPECT_EQ(open_at(path, &other, KALAM_OPEN_CREATE_IF_MISSING,
                      {{c.key, c.value}}, &status),
              KALAM_INVALID_ARGUMENT)
        << c.key << "=" << c.value;
    const std::string message = status.message;
    EXPECT_NE(message.find("'" + c.key + "'"), std::string::npos) << message;
    if (c.key != "journal_mode") {
      EXPECT_NE(message.find("'" + c.value + "'"), std::string::npos)
          << message;
    }
    EXPECT_EQ(other, nullptr);
    EXPECT_FALSE(fs::exists(path)) << "nothing is created";
  }
}

// ---- Iterators: queries that turn around
// -------------------------------------

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

// Random moves in both directions (the suite walks one way per iterator),
// with empty bounds and targets, with and without a snapshot.
TEST_F(SqliteTest, IteratorMovesMatchAModelWithinBounds) {
  std::mt19937 rng(42);
  auto random_key = [&] {
    static const char kAlphabet[] = {'\0', 'a', 'b', 'c', '\xff'};
    std::string key;
    const size_t len = rng() % 4;
    for (size_t i = 0; i < len; ++i) key.push_back(kAlphabet[rng() % 5]);
    return key;
  };
  std::map<std::string, std::string> model;
  std::vector<Op> ops;
  for (int i = 0; i < 60; ++i) {
    std::string key = random_key();  // bounds and targets may be empty,
    if (key.empty()) key = "b";      // stored keys may not
    model[key] = "v" + std::to_string(i);
    ops.push_back(Put(nullptr, key, model[key]));
  }
  ASSERT_EQ(write(ops), KALAM_OK);

  for (int round = 0; round < 40; ++round) {
    IterSpec spec;
    if (rng() % 2 == 0) spec.lower = random_key();
    if (rng() % 2 == 0) spec.upper = random_key();  // may be <= lower
    ModelIter expect;
    for (const auto& [key, value] : model) {
      if (spec.lower && key < *spec.lower) continue;
      if (spec.upper && key >= *spec.upper) continue;
      expect.keys.push_back(key);
    }
    std::unique_ptr<Snap> snap;
    if (round % 2 == 1) {
      snap = snapshot();
      spec.snapshot = snap->get();
    }
    Iter it = iter(nullptr, spec);
    EXPECT_FALSE(it.valid());
    EXPECT_EQ(it.next(), KALAM_NOT_FOUND) << "unpositioned";
    for (int step = 0; step < 150; ++step) {
      const int move = static_cast<int>(rng() % 6);
      const std::string target = random_key();
      int got = 0, want = 0;
      switch (move) {
        case 0:
          got = it.first(), want = expect.first();
          break;
        case 1:
          got = it.last(), want = expect.last();
          break;
        case 2:
          got = it.seek(target), want = expect.seek(target);
          break;
        case 3:
          got = it.seek_for_prev(target);
          want = expect.seek_for_prev(target);
          break;
        case 4:
          got = it.next(), want = expect.next();
          break;
        default:
          got = it.prev(), want = expect.prev();
          break;
      }
      ASSERT_EQ(got, want) << "round " << round << " step " << step << " move "
                           << move << ": " << it.status.text();
      ASSERT_EQ(it.valid(), want == KALAM_OK);
      if (want == KALAM_OK) {
        ASSERT_EQ(it.key(), expect.keys[expect.pos]);
        ASSERT_EQ(it.value(), model[it.key()]);
      }
    }
    RawStatus iter_status;
    EXPECT_EQ(vt().iter_status(it.get(), &iter_status), KALAM_OK);
  }
}

// A seek target that is the iterator's own entry view, which the move
// invalidates: the plugin must copy the target before re-querying.
TEST_F(SqliteTest, SeekToTheIteratorsOwnEntryView) {
  for (const char* key : {"a", "b", "c", "d", "e"}) {
    ASSERT_EQ(put(nullptr, key, key), KALAM_OK);
  }
  Iter it = iter(nullptr, {.lower = "b", .upper = "d"});
  for (int reverse = 0; reverse < 2; ++reverse) {
    ASSERT_EQ(it.first(), KALAM_OK);
    const void* view = nullptr;
    size_t view_len = 0;
    ASSERT_EQ(vt().iter_entry(it.get(), &view, &view_len, nullptr, nullptr),
              KALAM_OK);
    RawStatus status;
    ASSERT_EQ(reverse
                  ? vt().iter_seek_for_prev(it.get(), view, view_len, &status)
                  : vt().iter_seek(it.get(), view, view_len, &status),
              KALAM_OK);
    EXPECT_EQ(it.key(), "b");
  }
}

// The ABI lets a plugin rely on the bounds the host narrows to the prefix;
// this one honours the prefix alone too, even one of only 0xFF bytes (no
// key follows all the keys it starts).
TEST_F(SqliteTest, PrefixAloneNarrowsTheIteration) {
  for (const std::string& key :
       {std::string("a"), std::string("ab"), std::string("ab\xff"),
        std::string("abc"), std::string("ac"), std::string("\xff\xff"),
        std::string("\xff\xff\x01")}) {
    ASSERT_EQ(put(nullptr, key, "v"), KALAM_OK);
  }
  KV got = scan(nullptr, {.prefix = "ab"});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first, "ab");
  EXPECT_EQ(got[1].first, "abc");
  EXPECT_EQ(got[2].first, "ab\xff");
  EXPECT_EQ(scan(nullptr, {.prefix = "\xff\xff"}).size(), 2u);
}

// Batches carry on from a refused entry with single steps, and turn around.
TEST_F(SqliteTest, BatchesAndSingleStepsMixInBothDirections) {
  std::vector<Op> ops;
  for (int i = 0; i < 100; ++i) {
    char key[8];
    std::snprintf(key, sizeof key, "k%03d", i);
    ops.push_back(Put(nullptr, key, std::to_string(i * i)));
  }
  ASSERT_EQ(write(ops), KALAM_OK);
  const KV forward = scan(nullptr);
  ASSERT_EQ(forward.size(), 100u);

  struct Batch {
    KV entries;
    size_t refuse_at = SIZE_MAX;  // visitor returns non-zero on this entry
  };
  auto visit = [](void* ctx, const void* key, size_t key_len, const void* value,
                  size_t value_len) {
    auto* self = static_cast<Batch*>(ctx);
    if (self->entries.size() == self->refuse_at) return 1;
    self->entries.emplace_back(
        std::string(static_cast<const char*>(key), key_len),
        std::string(static_cast<const char*>(value), value_len));
    return 0;
  };
  Iter it = iter(nullptr);
  ASSERT_EQ(it.first(), KALAM_OK);
  Batch batch;
  batch.refuse_at = 4;
  size_t consumed = 0;
  EXPECT_EQ(vt().iter_next_batch(it.get(), 0, 50, visit, &batch, &consumed,
                                 &it.status),
            KALAM_OK);
  EXPECT_EQ(consumed, 4u);
  EXPECT_EQ(it.key(), forward[4].first);
  EXPECT_EQ(vt().iter_next_batch(it.get(), 0, 0, visit, &batch, &consumed,
                                 &it.status),
            KALAM_OK);
  EXPECT_EQ(consumed, 0u) << "max_entries 0";
  ASSERT_EQ(it.next(), KALAM_OK);
  EXPECT_EQ(it.key(), forward[5].first);
  // Backwards from the middle after moving forwards.
  batch = Batch();
  EXPECT_EQ(vt().iter_next_batch(it.get(), KALAM_BATCH_REVERSE, 1000, visit,
                                 &batch, &consumed, &it.status),
            KALAM_NOT_FOUND);
  EXPECT_EQ(consumed, 6u);
  EXPECT_EQ(batch.entries, KV(forward.rend() - 6, forward.rend()));
  consumed = 99;
  EXPECT_EQ(vt().iter_next_batch(it.get(), 0, 7, visit, &batch, &consumed,
                                 &it.status),
            KALAM_NOT_FOUND)
      << "ran out";
  EXPECT_EQ(consumed, 0u);
}

// The ABI allows either; this plugin keeps the view of an iterator opened
// before the drop, even for a new query in the other direction.
TEST_F(SqliteTest, IteratorOnADroppedFamilyKeepsItsView) {
  kalam_cf* users = cf("users");
  ASSERT_EQ(put(users, "k", "v"), KALAM_OK);
  Iter before = iter(users);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, users, &status), KALAM_OK) << status.text();
  ASSERT_EQ(before.first(), KALAM_OK);
  EXPECT_EQ(before.entry(), (std::pair<std::string, std::string>{"k", "v"}));
  EXPECT_EQ(before.next(), KALAM_NOT_FOUND);
  ASSERT_EQ(before.last(), KALAM_OK);  // a new query
  EXPECT_EQ(before.key(), "k");
  EXPECT_EQ(before.prev(), KALAM_NOT_FOUND);
}

// ---- Writes and sizes
// ------------------------------------------------------------

TEST_F(SqliteTest, InvalidOpMakesTheWholeBatchApplyNothingAndIsNamed) {
  kalam_cf* users = cf("users");
  kalam_cf* dropped = cf("dropped");
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, dropped, &status), KALAM_OK);
  const std::string big_key((1u << 20) + 1, 'k');
  struct Case {
    Op bad;
    int code;
  };
  const std::vector<Case> cases = {
      {{99, nullptr, "x", "y"}, KALAM_INVALID_ARGUMENT},
      {{0, nullptr, "x", "y"}, KALAM_INVALID_ARGUMENT},
      {Put(nullptr, big_key, "y"), KALAM_INVALID_ARGUMENT},
      {Del(nullptr, big_key), KALAM_INVALID_ARGUMENT},
      {Put(dropped, "x", "y"), KALAM_DROPPED},
      {Put(nullptr, "", "y"), KALAM_INVALID_ARGUMENT},
  };
  for (const auto& c : cases) {
    RawStatus case_status;
    EXPECT_EQ(write({Put(nullptr, "a", "1"), Put(users, "b", "2"),
                     DelRange(nullptr, "", "zzz"), c.bad},
                    false, sizeof(kalam_write_op), &case_status),
              c.code)
        << case_status.text();
    EXPECT_EQ(case_status.code, c.code);
    EXPECT_NE(std::string(case_status.message).find("op 3"), std::string::npos)
        << case_status.message;
    EXPECT_EQ(value_of(nullptr, "a"), std::nullopt);
    EXPECT_EQ(value_of(users, "b"), std::nullopt);
  }
  // A value over max_value_size (512 MiB; too big for the suite to write)
  // is refused by its length, never read.
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
  // Generic (not in the suite yet): reserved0 must be 0, a NULL key with a
  // length is malformed, the options are required.
  ops[1].value_len = 1;
  ops[1].reserved0 = 7;
  EXPECT_EQ(vt().write(db_, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  ops[1].reserved0 = 0;
  ops[1].key = nullptr;
  EXPECT_EQ(vt().write(db_, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  ops[1].key = "a";
  EXPECT_EQ(vt().write(db_, nullptr, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(value_of(nullptr, "a"), std::nullopt);
}

// A write SQLite itself fails (here: another connection holds the write
// lock past busy_timeout_ms) applies nothing, whether it is one op (one
// statement in a transaction of its own) or a batch (BEGIN IMMEDIATE).
TEST_F(SqliteTest, AWriteSqliteFailsAppliesNothing) {
  const fs::path path = dir_ / "locked";
  open_with({{"busy_timeout_ms", "20"}}, KALAM_OPEN_CREATE_IF_MISSING, path);
  ASSERT_EQ(put(nullptr, "kept", "1"), KALAM_OK);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((path / "kalam.sqlite3").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(other);
  const std::vector<std::vector<Op>> writes = {
      {Put(nullptr, "a", "x")},
      {Del(nullptr, "kept")},
      {Put(nullptr, "a", "x"), Del(nullptr, "kept")},
  };
  for (const auto& ops : writes) {
    RawStatus status;
    EXPECT_EQ(write(ops, false, sizeof(kalam_write_op), &status), KALAM_BUSY)
        << status.text();
    EXPECT_THAT(status.message, HasSubstr("nothing was applied"));
  }
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_close(other), SQLITE_OK);
  EXPECT_EQ(value_of(nullptr, "a"), std::nullopt);
  EXPECT_EQ(value_of(nullptr, "kept"), "1");
  // The lock gone, the same writes go through.
  ASSERT_EQ(write({Put(nullptr, "a", "x")}), KALAM_OK);
  EXPECT_EQ(value_of(nullptr, "a"), "x");
}

TEST_F(SqliteTest, ReadOfAKeyOverMaxKeySizeNamesTheLimit) {
  const std::string too_long((size_t{1} << 20) + 1, 'x');
  RawStatus status;
  EXPECT_EQ(vt().get(
                db_, nullptr, nullptr, too_long.data(), too_long.size(),
                [](void*, const void*, size_t) {}, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_NE(std::string(status.message).find("max_key_size"), std::string::npos)
      << status.message;
  // In multi_get, that key's INVALID_ARGUMENT, not the call's.
  ASSERT_EQ(put(nullptr, "a", "1"), KALAM_OK);
  const void* keys[] = {"a", too_long.data()};
  const size_t lens[] = {1, too_long.size()};
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

// ---- Lifetimes, properties, WAL and sync
// ---------------------------------------

// Optional in the ABI; this plugin keeps count and refuses.
TEST_F(SqliteTest, CloseIsBusyWhileIteratorsOrSnapshotsLive) {
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  RawStatus status;
  {
    Iter it = iter(nullptr);
    ASSERT_EQ(it.first(), KALAM_OK);
    EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
    EXPECT_EQ(status.code, KALAM_BUSY);
    EXPECT_NE(std::string(status.message).find("iterator"), std::string::npos);
    EXPECT_EQ(it.key(), "k") << "the database stays open";
  }
  {
    auto snap = snapshot();
    EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
  }
  ASSERT_EQ(put(nullptr, "k2", "v2"), KALAM_OK);
  reopen();
  EXPECT_EQ(value_of(nullptr, "k2"), "v2");
}

TEST_F(SqliteTest, PropertiesDescribeAFamily) {
  kalam_cf* users = cf("users");
  for (const char* key : {"a", "b", "c"}) {
    ASSERT_EQ(put(users, key, std::string(500, 'x')), KALAM_OK);
  }
  ASSERT_EQ(put(nullptr, "z", "1"), KALAM_OK);
  std::string text;
  ASSERT_EQ(property(users, KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &text), KALAM_OK);
  EXPECT_EQ(text, "3");
  ASSERT_EQ(property(users, KALAM_PROPERTY_APPROXIMATE_BYTES, &text), KALAM_OK);
  EXPECT_GT(std::stoll(text), 1500);
  // Format 2: the family's table and its key index, one page each at least
  // (when this SQLite has dbstat; else the whole file, larger still).
  EXPECT_GE(std::stoll(text), 2 * 4096);
  ASSERT_EQ(property(users, KALAM_PROPERTY_STATS, &text), KALAM_OK);
  EXPECT_NE(text.find("SQLite 3."), std::string::npos) << text;
  EXPECT_NE(text.find("column family: users"), std::string::npos) << text;
}

TEST_F(SqliteTest, SyncWritesAndFlushPersist) {
  ASSERT_EQ(put(nullptr, "a", "1", /*sync=*/true), KALAM_OK);
  ASSERT_EQ(put(nullptr, "b", "2"), KALAM_OK);
  RawStatus status;
  EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK) << status.text();
  EXPECT_EQ(vt().flush(db_, 0, &status), KALAM_OK) << "nothing new: cheap";
  ASSERT_EQ(put(nullptr, "c", "3"), KALAM_OK);  // neither synced nor flushed
  reopen();
  EXPECT_EQ(scan(nullptr), (KV{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
}

// Readers share one snapshot across threads (the ABI allows it) while
// writers change the data.
TEST_F(SqliteTest, ConcurrentWritersReadersAndASharedSnapshot) {
  constexpr int kThreads = 4;
  constexpr int kKeys = 150;
  ASSERT_EQ(put(nullptr, "shared", "before"), KALAM_OK);
  auto snap = snapshot();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        std::string value;
        if (get(nullptr, "shared", &value, snap->get()) != KALAM_OK ||
            value != "before") {
          ++failures;
        }
        if (i % 50 == 0 && scan(nullptr, {.snapshot = snap->get()}) !=
                               KV{{"shared", "before"}}) {
          ++failures;
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 100; ++i) {
      if (put(nullptr, "shared", std::to_string(i)) != KALAM_OK) ++failures;
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        const std::string key =
            "t" + std::to_string(t) + "-" + std::to_string(i);
        if (put(nullptr, key, key, /*sync=*/i % 50 == 0) != KALAM_OK) {
          ++failures;
        }
        std::string value;
        if (get(nullptr, key, &value) != KALAM_OK || value != key) ++failures;
        if (i % 25 == 0 && scan(nullptr).size() < static_cast<size_t>(i + 1)) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  snap.reset();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(scan(nullptr).size(), static_cast<size_t>(kThreads * kKeys + 1));
  EXPECT_EQ(value_of(nullptr, "shared"), "99");
}

// ---- Generic ABI behaviour the conformance suite does not check (yet) -------
// Candidates for tests/conformance; kept here until the suite has them.

TEST_F(SqliteTest, Generic_NullRequiredPointersAndUnknownFlags) {
  RawStatus status;
  kalam_db* other = nullptr;
  kalam_open_params params{};
  params.struct_size = sizeof params;
  EXPECT_EQ(vt().open(&params, &other, &status), KALAM_INVALID_ARGUMENT)
      << "NULL path";
  EXPECT_EQ(vt().close(nullptr, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().get(
                db_, nullptr, nullptr, nullptr, 3,
                [](void*, const void*, size_t) {}, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  kalam_cf* family = nullptr;
  EXPECT_EQ(vt().cf_open(db_, "", 0, &family, &status), KALAM_INVALID_ARGUMENT);
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
  EXPECT_EQ(vt().flush(db_, 1, &status), KALAM_INVALID_ARGUMENT);
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  Iter it = iter(nullptr);
  ASSERT_EQ(it.first(), KALAM_OK);
  EXPECT_EQ(
      vt().iter_next_batch(
          it.get(), 4, 1,
          [](void*, const void*, size_t, const void*, size_t) { return 0; },
          nullptr, nullptr, &status),
      KALAM_INVALID_ARGUMENT);
}

TEST_F(SqliteTest, Generic_StatusIsWrittenOnlyOnErrorAndWithinItsSize) {
  kalam_status small;
  std::memset(&small, 'X', sizeof small);
  small.struct_size = offsetof(kalam_status, message) + 8;
  small.native_code = 0;
  EXPECT_EQ(vt().flush(db_, 3, &small), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(small.code, KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(small.message), "sqlite ");  // Truncated, terminated.
  EXPECT_EQ(small.message[8], 'X');
  // NOT_FOUND leaves a status alone.
  RawStatus clean;
  EXPECT_EQ(vt().get(
                db_, nullptr, nullptr, "nope", 4,
                [](void*, const void*, size_t) {}, nullptr, &clean),
            KALAM_NOT_FOUND);
  size_t len = 9;
  char buf[4];
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, nullptr, 0, buf, sizeof buf,
                          &len, &clean),
            KALAM_NOT_FOUND)
      << "a NULL key of length 0 is the empty key";
  EXPECT_EQ(len, 9u);
  EXPECT_EQ(clean.code, 0);
  EXPECT_EQ(clean.message[0], '\0');
}

TEST_F(SqliteTest, Generic_WriteValidation) {
  RawStatus status;
  // A DELETE of the empty key is refused like a PUT of it.
  EXPECT_EQ(write({Del(nullptr, "")}, false, sizeof(kalam_write_op), &status),
            KALAM_INVALID_ARGUMENT);
  // No ops and no array: a no-op. (Malformed ops in a hand-built array are
  // in InvalidOpMakesTheWholeBatchApplyNothingAndIsNamed.)
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  EXPECT_EQ(vt().write(db_, &options, nullptr, 0, &status), KALAM_OK);
}

TEST_F(SqliteTest, Generic_ReadEdges) {
  kalam_cf* users = cf("users");
  kalam_cf* dropped = cf("dropped");
  ASSERT_EQ(write({Put(nullptr, "k", "hello"), Put(nullptr, "empty", ""),
                   Put(users, "k", "u1")}),
            KALAM_OK);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, dropped, &status), KALAM_OK);
  // get_into with a NULL buffer of size 0.
  size_t len = 0;
  EXPECT_EQ(
      vt().get_into(db_, nullptr, nullptr, "k", 1, nullptr, 0, &len, &status),
      KALAM_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, 5u);
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "empty", 5, nullptr, 0, &len,
                          &status),
            KALAM_OK);
  EXPECT_EQ(len, 0u);
  // multi_get: a dropped family is that key's code; cfs NULL means the
  // default family; count 0 needs nothing else.
  const void* keys[] = {"k", "k", "k"};
  const size_t lens[] = {1, 1, 1};
  kalam_cf* cfs[] = {nullptr, users, dropped};
  std::vector<std::string> seen;
  auto visit = [](void* ctx, size_t, int code, const void* value,
                  size_t value_len) {
    static_cast<std::vector<std::string>*>(ctx)->push_back(
        code == KALAM_OK
            ? std::string(static_cast<const char*>(value), value_len)
            : kalam_code_name(code));
  };
  ASSERT_EQ(
      vt().multi_get(db_, nullptr, 3, cfs, keys, lens, visit, &seen, &status),
      KALAM_OK)
      << status.text();
  EXPECT_EQ(seen, (std::vector<std::string>{"hello", "u1", "DROPPED"}));
  seen.clear();
  ASSERT_EQ(vt().multi_get(db_, nullptr, 2, nullptr, keys, lens, visit, &seen,
                           &status),
            KALAM_OK);
  EXPECT_EQ(seen, (std::vector<std::string>{"hello", "hello"}));
  EXPECT_EQ(vt().multi_get(db_, nullptr, 0, nullptr, nullptr, nullptr, nullptr,
                           nullptr, &status),
            KALAM_OK);
}

TEST_F(SqliteTest, Generic_DroppedFamilyEverywhere) {
  kalam_cf* users = cf("users");
  ASSERT_EQ(put(users, "k", "v"), KALAM_OK);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, users, &status), KALAM_OK) << status.text();
  std::string text;
  EXPECT_EQ(property(users, KALAM_PROPERTY_ESTIMATE_NUM_KEYS, &text),
            KALAM_DROPPED);
  kalam_cf* missing = nullptr;
  EXPECT_EQ(vt().cf_open(db_, "users", 0, &missing, &status), KALAM_NOT_FOUND);
  kalam_cf* again = cf("users");
  EXPECT_NE(again, users);
  ASSERT_EQ(put(again, "k2", "v2"), KALAM_OK);
  EXPECT_EQ(value_of(again, "k2"), "v2");
  EXPECT_EQ(get(users, "k2", &text), KALAM_DROPPED);
}

TEST_F(SqliteTest, Generic_EmptyBoundsAndTargets) {
  ASSERT_EQ(put(nullptr, bytes({0}), ""), KALAM_OK);
  Iter from_empty = iter(nullptr, {.lower = ""});
  ASSERT_EQ(from_empty.first(), KALAM_OK);
  EXPECT_EQ(from_empty.key(), bytes({0}));
  EXPECT_EQ(from_empty.seek_for_prev(""), KALAM_NOT_FOUND);
  Iter nothing = iter(nullptr, {.upper = ""});
  EXPECT_EQ(nothing.first(), KALAM_NOT_FOUND);
  EXPECT_EQ(nothing.last(), KALAM_NOT_FOUND);
  EXPECT_EQ(nothing.prev(), KALAM_NOT_FOUND) << "unpositioned";
}

TEST_F(SqliteTest, Generic_SnapshotEdges) {
  kalam_cf* users = cf("users");
  ASSERT_EQ(write({Put(nullptr, "k1", "old"), Put(users, "u1", "old")}),
            KALAM_OK);
  auto snap = snapshot();
  Iter implicit = iter(nullptr);  // An implicit snapshot: now, before a seek.
  ASSERT_EQ(write({Put(nullptr, "k1", "new"), Put(users, "u1", "new")}),
            KALAM_OK);
  kalam_cf* late = cf("late");  // created after the snapshot
  ASSERT_EQ(put(late, "l", "x"), KALAM_OK);

  // A family created after the snapshot is empty at it, for every read.
  EXPECT_EQ(value_of(late, "l", snap->get()), std::nullopt);
  Iter late_at_snapshot = iter(late, {.snapshot = snap->get()});
  EXPECT_EQ(late_at_snapshot.first(), KALAM_NOT_FOUND);
  EXPECT_EQ(late_at_snapshot.last(), KALAM_NOT_FOUND);
  kalam_read_options read{};
  read.struct_size = sizeof read;
  read.snapshot = snap->get();
  const void* keys[] = {"l", "k1"};
  const size_t lens[] = {1, 2};
  kalam_cf* cfs[] = {late, nullptr};
  std::vector<int> codes;
  RawStatus status;
  ASSERT_EQ(vt().multi_get(
                db_, &read, 2, cfs, keys, lens,
                [](void* ctx, size_t, int code, const void*, size_t) {
                  static_cast<std::vector<int>*>(ctx)->push_back(code);
                },
                &codes, &status),
            KALAM_OK);
  EXPECT_EQ(codes, (std::vector<int>{KALAM_NOT_FOUND, KALAM_OK}));
  // get_into at the snapshot.
  char buf[16];
  size_t len = 0;
  ASSERT_EQ(vt().get_into(db_, &read, nullptr, "k1", 2, buf, sizeof buf, &len,
                          &status),
            KALAM_OK);
  EXPECT_EQ(std::string(buf, len), "old");
  // An iterator may outlive the snapshot handle.
  Iter outlives = iter(users, {.snapshot = snap->get()});
  snap.reset();
  ASSERT_EQ(outlives.first(), KALAM_OK);
  EXPECT_EQ(outlives.entry(),
            (std::pair<std::string, std::string>{"u1", "old"}));
  ASSERT_EQ(implicit.first(), KALAM_OK);
  EXPECT_EQ(implicit.entry(),
            (std::pair<std::string, std::string>{"k1", "old"}));
  EXPECT_EQ(implicit.next(), KALAM_NOT_FOUND);
}

}  // namespace
}  // namespace kalam::conformance
