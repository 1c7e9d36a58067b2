// Damaged data files: for each persistent backend, known data is written
// through the engine, the files are damaged (truncated, bytes flipped,
// headers zeroed, files deleted), and the database is opened and read in
// full. The result must be a clear error (CORRUPTION where the backend can
// tell) or, where a backend's design cannot tell, the documented outcome
// (rows silently missing after a damaged write-ahead log; wrong bytes where a
// store keeps no checksums) — never a crash or a hang.
//
// Every writer and reader runs in a forked child: a crash shows up as a test
// failure naming the signal, and a deadline catches hangs. The parent only
// touches files. docs/reliability.md ("Hostile input") lists the outcomes;
// run with --gtest_also_run_disabled_tests=0 and read the "outcome:" lines.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/database.h>
#include <kalam/test_paths.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "sanitizers.h"
#include "temp_dir.h"

namespace kalam {
namespace {

namespace fs = std::filesystem;

constexpr int kKeys = 3000;
constexpr auto kDeadline = std::chrono::seconds(60);
const char* const kSecondFamily = "second";

std::string key_of(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "key%06d", i);
  return buf;
}

// 100 bytes that differ per key and family and do not compress to nothing.
std::string value_of(int i, bool second) {
  uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1) +
               (second ? 0x51ED27 : 0);
  std::string v(100, '\0');
  for (char& c : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>('!' + x % 90);
  }
  return v;
}

// --- Running a step in a child -----------------------------------------------

struct ChildResult {
  bool finished = false;  // exited with code 0
  std::string report;     // what the child wrote to the pipe
  std::string failure;    // how it ended otherwise (signal, timeout, code)
};

// Runs `body` in a forked child; its return value is the report. The child
// never returns into gtest.
ChildResult run_child(const std::function<std::string()>& body,
                      bool limit_memory) {
  ChildResult result;
  int fds[2];
  if (pipe(fds) != 0) {
    result.failure = "pipe failed";
    return result;
  }
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    result.failure = "fork failed";
    return result;
  }
  if (pid == 0) {
    close(fds[0]);
#if !defined(KALAM_TEST_ASAN) && !defined(KALAM_TEST_TSAN)
    if (limit_memory) {
      // A damaged length field must not make the reader allocate the
      // machine away: such an allocation fails instead.
      rlimit limit{8ull << 30, 8ull << 30};
      setrlimit(RLIMIT_AS, &limit);
    }
#else
    (void)limit_memory;
#endif
    std::string report;
    try {
      report = body();
    } catch (const std::exception& e) {
      report = std::string("exception: ") + e.what();
    }
    for (size_t done = 0; done < report.size();) {
      const ssize_t n =
          write(fds[1], report.data() + done, report.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  // Read while waiting, so a long report cannot block the child.
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  bool exited = false;
  char buffer[4096];
  while (true) {
    ssize_t n;
    while ((n = read(fds[0], buffer, sizeof buffer)) > 0) {
      result.report.append(buffer, static_cast<size_t>(n));
    }
    if (exited) break;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;  // one more read for what is left in the pipe
      continue;
    }
    if (std::chrono::steady_clock::now() - start > kDeadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.failure =
          "hung: killed after " + std::to_string(kDeadline.count()) + " s";
      close(fds[0]);
      return result;
    }
    usleep(5000);
  }
  close(fds[0]);
  if (WIFSIGNALED(status)) {
    result.failure = std::string("crashed: killed by signal ") +
                     std::to_string(WTERMSIG(status)) + " (" +
                     strsignal(WTERMSIG(status)) + ")";
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    result.failure = "exited with code " + std::to_string(WEXITSTATUS(status));
  } else {
    result.finished = true;
  }
  return result;
}

std::shared_ptr<const Plugin> plugin_or_throw(const std::string& backend) {
  auto plugin = load_plugin(backend, {KALAM_TEST_PLUGIN_DIR});
  if (!plugin.ok()) throw std::runtime_error(plugin.status().to_string());
  return *plugin;
}

// --- The writer --------------------------------------------------------------

enum class Ending {
  kClose,          // flush, then close cleanly
  kCrashUnflushed  // write without flush and _exit: the data is in the WAL
};

std::string write_data(const std::string& backend, const fs::path& dir,
                       Ending ending) {
  auto opened = Database::open(plugin_or_throw(backend), dir, {});
  if (!opened.ok()) return "open: " + opened.status().to_string();
  Database& db = **opened;
  auto second = db.column_family(kSecondFamily, /*create_if_missing=*/true);
  if (!second.ok()) return "family: " + second.status().to_string();
  // Batches of 100, so a write-ahead log holds many commits.
  for (int start = 0; start < kKeys; start += 100) {
    WriteBatch batch;
    for (int i = start; i < start + 100; ++i) {
      batch.put(key_of(i), value_of(i, false));
      batch.put(*second, key_of(i), value_of(i, true));
    }
    Status s = db.write(batch);
    if (!s.ok()) return "write: " + s.to_string();
  }
  if (ending == Ending::kCrashUnflushed) _exit(0);  // no close, no flush
  Status s = db.flush();
  if (!s.ok()) return "flush: " + s.to_string();
  s = db.close();
  if (!s.ok()) return "close: " + s.to_string();
  return "written";
}

// --- The reader --------------------------------------------------------------

// What reading the damaged database gave.
enum class Outcome {
  kError,       // open or a read failed with a status
  kIntact,      // every row as written
  kRowsLost,    // rows missing, no error (every row present is right)
  kWrongBytes,  // rows with other bytes than written, or unknown keys
};

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kError:
      return "error";
    case Outcome::kIntact:
      return "intact";
    case Outcome::kRowsLost:
      return "rows-lost";
    case Outcome::kWrongBytes:
      return "wrong-bytes";
  }
  return "?";
}

// Report format: "<outcome>|<code name or ->|<detail>".
std::string read_everything(const std::string& backend, const fs::path& dir) {
  auto error = [](const std::string& where, const Status& s) {
    return "error|" + std::string(code_name(s.code())) + "|" + where + ": " +
           s.to_string();
  };
  OpenOptions options;  // as a user would: create_if_missing stays on
  options.check_iterators = true;
  auto opened = Database::open(plugin_or_throw(backend), dir, {}, options);
  if (!opened.ok()) return error("open", opened.status());
  Database& db = **opened;
  int missing = 0, wrong = 0;
  for (const bool second : {false, true}) {
    ColumnFamily cf;
    if (second) {
      auto family = db.column_family(kSecondFamily);
      if (!family.ok()) return error("column family", family.status());
      cf = *family;
    }
    auto it = db.new_iterator(cf);
    if (!it.ok()) return error("new iterator", it.status());
    std::vector<bool> seen(kKeys, false);
    for (it->seek_to_first(); it->valid(); it->next()) {
      const std::string key(it->key());
      int index = -1;
      if (key.size() == 9 && key.compare(0, 3, "key") == 0) {
        index = std::atoi(key.c_str() + 3);
      }
      if (index < 0 || index >= kKeys || key != key_of(index) || seen[index] ||
          it->value() != value_of(index, second)) {
        ++wrong;
      }
      if (index >= 0 && index < kKeys) seen[index] = true;
    }
    if (!it->status().ok()) return error("iterate", it->status());
    for (int i = 0; i < kKeys; ++i) {
      if (seen[i]) continue;
      // Iteration and point reads may disagree on a damaged store.
      auto value = db.get(cf, key_of(i));
      if (value.ok()) {
        if (*value != value_of(i, second)) ++wrong;
      } else if (value.status().is_not_found()) {
        ++missing;
      } else {
        return error("get " + key_of(i), value.status());
      }
    }
  }
  const std::string counts = std::to_string(missing) + " of " +
                             std::to_string(2 * kKeys) + " rows missing, " +
                             std::to_string(wrong) + " wrong";
  if (wrong > 0) return "wrong-bytes|-|" + counts;
  if (missing > 0) return "rows-lost|-|" + counts;
  Status s = db.close();
  if (!s.ok()) return error("close", s);
  return "intact|-|every row read back";
}

// --- Damage ------------------------------------------------------------------

void truncate_to(const fs::path& file, uintmax_t size) {
  fs::resize_file(file, size);
}

// XORs `len` bytes at `offset` with 0xFF.
void flip(const fs::path& file, uintmax_t offset, size_t len) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + file.string());
  std::string bytes(len, '\0');
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(bytes.data(), static_cast<std::streamsize>(len));
  bytes.resize(static_cast<size_t>(f.gcount()));
  for (char& c : bytes) c = static_cast<char>(~c);
  f.clear();
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void zero(const fs::path& file, uintmax_t offset, size_t len) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + file.string());
  const uintmax_t size = fs::file_size(file);
  if (offset >= size) return;
  len = static_cast<size_t>(std::min<uintmax_t>(len, size - offset));
  f.seekp(static_cast<std::streamoff>(offset));
  const std::string zeros(len, '\0');
  f.write(zeros.data(), static_cast<std::streamsize>(len));
}

// The first file in `store` whose name passes `match`, the largest if
// several do.
fs::path find_file(const fs::path& store,
                   const std::function<bool(const std::string&)>& match) {
  fs::path best;
  uintmax_t best_size = 0;
  for (const auto& entry : fs::directory_iterator(store)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !match(name)) continue;
    if (best.empty() || entry.file_size() > best_size) {
      best = entry.path();
      best_size = entry.file_size();
    }
  }
  if (best.empty()) {
    throw std::runtime_error("no matching file in " + store.string());
  }
  return best;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The damage, applied to the data directory (the plugin's files are in
// <dir>/store).
using Damage = std::function<void(const fs::path& dir)>;

// Which file of the store a damage hits.
using Pick = std::function<fs::path(const fs::path& store)>;

Pick named(const std::string& name) {
  return [name](const fs::path& store) { return store / name; };
}
Pick largest_ending(const std::string& suffix) {
  return [suffix](const fs::path& store) {
    return find_file(
        store, [&](const std::string& n) { return ends_with(n, suffix); });
  };
}
Pick starting(const std::string& prefix) {
  return [prefix](const fs::path& store) {
    return find_file(store, [&](const std::string& n) {
      return n.compare(0, prefix.size(), prefix) == 0;
    });
  };
}

Damage on(const Pick& pick, std::function<void(const fs::path&)> hurt) {
  return [pick, hurt](const fs::path& dir) { hurt(pick(dir / "store")); };
}

void truncate_half(const fs::path& f) { truncate_to(f, fs::file_size(f) / 2); }
void truncate_few(const fs::path& f) { truncate_to(f, 16); }
void truncate_empty(const fs::path& f) { truncate_to(f, 0); }
// 64 bytes at the start of the 4 KiB page in the middle of the file: a
// page header for the B-tree stores.
void flip_middle_page_start(const fs::path& f) {
  flip(f, (fs::file_size(f) / 2) & ~uintmax_t{4095}, 64);
}
// 64 bytes in the middle of that page: usually row bytes.
void flip_middle_page_body(const fs::path& f) {
  flip(f, ((fs::file_size(f) / 2) & ~uintmax_t{4095}) + 2048, 64);
}
void flip_middle(const fs::path& f) { flip(f, fs::file_size(f) / 2, 64); }
void zero_header(const fs::path& f) { zero(f, 0, 4096); }
void zero_first_pages(const fs::path& f) { zero(f, 0, 2 * 4096); }
// LMDB: zeroes the transaction id of the newer of the two meta pages (the
// 16-byte page header, then MDB_meta: the page size at +24, the
// transaction id at +128, on 64-bit), which made LMDB open the older one,
// one commit back, without an error.
void zero_newer_meta_txnid(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  auto u64_at = [&](uint64_t at) {
    uint64_t v = 0;
    in.seekg(static_cast<std::streamoff>(at));
    in.read(reinterpret_cast<char*>(&v), sizeof v);
    return v;
  };
  const uint64_t page_size = u64_at(16 + 24) & 0xffffffffu;
  const uint64_t txnid0 = u64_at(16 + 128);
  const uint64_t txnid1 = u64_at(page_size + 16 + 128);
  if (!in)
    throw std::runtime_error("cannot read the meta pages of " + f.string());
  in.close();
  zero(f, (txnid1 > txnid0 ? page_size : 0) + 16 + 128, 8);
}
void zero_tail(const fs::path& f) {
  const uintmax_t size = fs::file_size(f);
  zero(f, size > 64 ? size - 64 : 0, 64);
}
void remove_file(const fs::path& f) { fs::remove(f); }
void garbage(const fs::path& f) {
  std::ofstream(f, std::ios::binary | std::ios::trunc) << "\x01\xfe junk\n";
}

// --- The cases ---------------------------------------------------------------

struct Case {
  std::string backend;
  std::string name;
  Ending ending;
  Damage damage;
  // The outcomes accepted, and for kError the codes accepted.
  std::set<Outcome> outcomes;
  std::set<Code> codes;
  // A known limitation of the storage library: the reader may die of
  // SIGSEGV or SIGBUS (documented in docs/reliability.md). It must still
  // never hang.
  bool may_crash = false;
};

std::ostream& operator<<(std::ostream& out, const Case& c) {
  return out << c.backend << "/" << c.name;
}

const std::set<Code> kCorrupt = {Code::kCorruption};
const std::set<Code> kCorruptOrIo = {Code::kCorruption, Code::kIoError};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  const std::set<Outcome> error = {Outcome::kError};
  // The engine's own manifest, for every persistent backend.
  for (const std::string backend : {"rocksdb", "lmdb", "sqlite"}) {
    cases.push_back({backend, "manifest_garbage", Ending::kClose,
                     [](const fs::path& d) { garbage(d / "KALAM_MANIFEST"); },
                     error, kCorrupt});
    cases.push_back(
        {backend, "manifest_truncated", Ending::kClose,
         [](const fs::path& d) { truncate_half(d / "KALAM_MANIFEST"); }, error,
         kCorrupt});
    cases.push_back(
        {backend,
         "manifest_deleted",
         Ending::kClose,
         [](const fs::path& d) { fs::remove(d / "KALAM_MANIFEST"); },
         error,
         {Code::kInvalidArgument}});
  }

  // RocksDB: every block and every log record carries a CRC32c, and the
  // open checks every table file's footer.
  const Pick sst = largest_ending(".sst");
  cases.push_back({"rocksdb", "sst_truncated_half", Ending::kClose,
                   on(sst, truncate_half), error, kCorrupt});
  cases.push_back({"rocksdb", "sst_truncated_to_16_bytes", Ending::kClose,
                   on(sst, truncate_few), error, kCorrupt});
  cases.push_back({"rocksdb", "sst_bytes_flipped_mid_file", Ending::kClose,
                   on(sst, flip_middle), error, kCorrupt});
  cases.push_back({"rocksdb", "sst_header_zeroed", Ending::kClose,
                   on(sst, zero_header), error, kCorrupt});
  cases.push_back({"rocksdb", "sst_footer_zeroed", Ending::kClose,
                   on(sst, zero_tail), error, kCorrupt});
  cases.push_back({"rocksdb", "sst_deleted", Ending::kClose,
                   on(sst, remove_file), error, kCorruptOrIo});
  cases.push_back({"rocksdb", "manifest_file_deleted", Ending::kClose,
                   on(starting("MANIFEST-"), remove_file), error,
                   kCorruptOrIo});
  cases.push_back({"rocksdb", "manifest_file_bytes_flipped", Ending::kClose,
                   on(starting("MANIFEST-"), flip_middle), error, kCorrupt});
  // RocksDB takes a MANIFEST that ends early for one whose last edits were
  // never written (a torn tail is normal after a crash): it opens with the
  // table files the surviving edits list (here none) and the rows are
  // missing without an error.
  cases.push_back({"rocksdb",
                   "manifest_file_truncated_half",
                   Ending::kClose,
                   on(starting("MANIFEST-"), truncate_half),
                   {Outcome::kRowsLost, Outcome::kError},
                   kCorrupt});
  cases.push_back({"rocksdb", "current_deleted", Ending::kClose,
                   on(named("CURRENT"), remove_file), error, kCorrupt});
  cases.push_back({"rocksdb", "current_garbage", Ending::kClose,
                   on(named("CURRENT"), garbage), error, kCorruptOrIo});
  // The WAL of a writer that died before flushing. RocksDB's default
  // recovery (point in time) replays the log up to the first bad record
  // and drops the rest: rows are lost without an error.
  cases.push_back({"rocksdb",
                   "wal_truncated_half",
                   Ending::kCrashUnflushed,
                   on(largest_ending(".log"), truncate_half),
                   {Outcome::kRowsLost, Outcome::kError},
                   kCorrupt});
  cases.push_back({"rocksdb",
                   "wal_bytes_flipped_mid_file",
                   Ending::kCrashUnflushed,
                   on(largest_ending(".log"), flip_middle),
                   {Outcome::kRowsLost, Outcome::kError},
                   kCorrupt});

  // LMDB: no checksums; two meta pages at the start, then B-tree pages.
  const Pick mdb = named("data.mdb");
  cases.push_back({"lmdb", "data_truncated_half", Ending::kClose,
                   on(mdb, truncate_half), error, kCorrupt});
  cases.push_back({"lmdb", "data_truncated_to_16_bytes", Ending::kClose,
                   on(mdb, truncate_few), error, kCorrupt});
  cases.push_back({"lmdb", "data_truncated_to_0_bytes", Ending::kClose,
                   on(mdb, truncate_empty), error, kCorrupt});
  cases.push_back({"lmdb", "both_meta_pages_zeroed", Ending::kClose,
                   on(mdb, zero_first_pages), error, kCorrupt});
  // Found by hand in issue 17: LMDB then opened the other meta page, one
  // commit back, silently; the plugin checks the meta pages at open.
  cases.push_back({"lmdb", "newer_meta_txnid_zeroed", Ending::kClose,
                   on(mdb, zero_newer_meta_txnid), error, kCorrupt});
  cases.push_back({"lmdb", "page_header_flipped_mid_file", Ending::kClose,
                   on(mdb, flip_middle_page_start), error, kCorrupt});
  // LMDB follows node sizes and page numbers inside a page without checks:
  // damage there can crash the reader inside liblmdb (mdb_cursor_get), which
  // the plugin cannot prevent without verifying every page it reads.
  cases.push_back({"lmdb",
                   "page_body_flipped_mid_file",
                   Ending::kClose,
                   on(mdb, flip_middle_page_body),
                   {Outcome::kError, Outcome::kWrongBytes},
                   kCorrupt,
                   /*may_crash=*/true});
  cases.push_back({"lmdb", "data_deleted", Ending::kClose, on(mdb, remove_file),
                   error, kCorrupt});

  // SQLite: no page checksums; a header with a magic string and page
  // count; the WAL's frames carry checksums.
  const Pick sqlite = named("kalam.sqlite3");
  cases.push_back({"sqlite", "db_truncated_half", Ending::kClose,
                   on(sqlite, truncate_half), error, kCorrupt});
  cases.push_back({"sqlite", "db_truncated_to_16_bytes", Ending::kClose,
                   on(sqlite, truncate_few), error, kCorrupt});
  cases.push_back({"sqlite", "db_truncated_to_0_bytes", Ending::kClose,
                   on(sqlite, truncate_empty), error, kCorrupt});
  cases.push_back({"sqlite", "db_header_zeroed", Ending::kClose,
                   on(sqlite, zero_header), error, kCorrupt});
  cases.push_back({"sqlite", "page_header_flipped_mid_file", Ending::kClose,
                   on(sqlite, flip_middle_page_start), error, kCorrupt});
  cases.push_back({"sqlite",
                   "page_body_flipped_mid_file",
                   Ending::kClose,
                   on(sqlite, flip_middle_page_body),
                   {Outcome::kError, Outcome::kWrongBytes},
                   kCorrupt});
  cases.push_back({"sqlite", "db_deleted", Ending::kClose,
                   on(sqlite, remove_file), error, kCorrupt});
  // The WAL of a writer that died: SQLite reads frames up to the first
  // one whose checksum fails and ignores the rest, so commits after it are
  // lost without an error.
  const Pick wal = named("kalam.sqlite3-wal");
  cases.push_back({"sqlite",
                   "wal_truncated_half",
                   Ending::kCrashUnflushed,
                   on(wal, truncate_half),
                   {Outcome::kRowsLost, Outcome::kError},
                   kCorrupt});
  cases.push_back({"sqlite",
                   "wal_bytes_flipped_mid_file",
                   Ending::kCrashUnflushed,
                   on(wal, flip_middle),
                   {Outcome::kRowsLost, Outcome::kError},
                   kCorrupt});
  cases.push_back({"sqlite",
                   "wal_deleted",
                   Ending::kCrashUnflushed,
                   on(wal, remove_file),
                   {Outcome::kRowsLost, Outcome::kError},
                   kCorrupt});

  // Only the backends this build produced.
  const std::vector<std::string> built = {KALAM_TEST_PLUGIN_NAMES};
  std::vector<Case> present;
  for (auto& c : cases) {
    if (std::find(built.begin(), built.end(), c.backend) != built.end()) {
      present.push_back(std::move(c));
    }
  }
  return present;
}

class Corruption : public ::testing::TestWithParam<Case> {};

TEST_P(Corruption, DamagedFilesGiveAClearErrorNeverACrash) {
  const Case& c = GetParam();
  test::TempDir tmp;
  const fs::path dir = tmp / "db";

  const ChildResult written =
      run_child([&] { return write_data(c.backend, dir, c.ending); },
                /*limit_memory=*/false);
  ASSERT_TRUE(written.finished) << "writer " << written.failure;
  if (c.ending == Ending::kClose) {
    ASSERT_EQ(written.report, "written");
  } else {
    ASSERT_EQ(written.report, "") << "the writer should have died unflushed";
  }

  ASSERT_NO_THROW(c.damage(dir));

  const ChildResult read = run_child(
      [&] { return read_everything(c.backend, dir); }, /*limit_memory=*/true);
  // Under ASan a SIGSEGV is reported by the sanitizer, which then exits
  // with an error code instead of dying of the signal.
#if defined(KALAM_TEST_ASAN)
  const bool sanitizer_exit =
      read.failure.find("exited with code") != std::string::npos;
#else
  const bool sanitizer_exit = false;
#endif
  if (!read.finished && c.may_crash &&
      (read.failure.find("signal 11") != std::string::npos ||
       read.failure.find("signal 7") != std::string::npos || sanitizer_exit)) {
    std::printf("outcome: %s/%s: %s (a known limitation, documented)\n",
                c.backend.c_str(), c.name.c_str(), read.failure.c_str());
    return;
  }
  ASSERT_TRUE(read.finished) << "reader " << read.failure;
  const size_t bar1 = read.report.find('|');
  const size_t bar2 = read.report.find('|', bar1 + 1);
  ASSERT_NE(bar2, std::string::npos) << read.report;
  const std::string outcome = read.report.substr(0, bar1);
  const std::string code = read.report.substr(bar1 + 1, bar2 - bar1 - 1);
  std::printf("outcome: %s/%s: %s\n", c.backend.c_str(), c.name.c_str(),
              read.report.c_str());

  bool outcome_allowed = false;
  for (Outcome o : c.outcomes) outcome_allowed |= outcome == outcome_name(o);
  EXPECT_TRUE(outcome_allowed) << "unexpected outcome: " << read.report;
  if (outcome == "error") {
    bool code_allowed = false;
    for (Code k : c.codes) code_allowed |= code == code_name(k);
    EXPECT_TRUE(code_allowed) << "unexpected code: " << read.report;
  }
}

// The guard against silent re-creation must not trap a database whose
// creation was killed before its first open returned: without the
// KALAM_STORE_OPENED marker, the same damage is a fresh start.
TEST(CorruptionGuard, CreationKilledBeforeTheFirstOpenIsRetried) {
  const std::vector<std::string> built = {KALAM_TEST_PLUGIN_NAMES};
  for (const auto& [backend, main_file] :
       std::vector<std::pair<std::string, std::string>>{
           {"rocksdb", "CURRENT"},
           {"lmdb", "data.mdb"},
           {"sqlite", "kalam.sqlite3"}}) {
    if (std::find(built.begin(), built.end(), backend) == built.end()) {
      continue;
    }
    SCOPED_TRACE(backend);
    test::TempDir tmp;
    const fs::path dir = tmp / "db";
    const ChildResult written = run_child(
        [&] { return write_data(backend, dir, Ending::kClose); }, false);
    ASSERT_TRUE(written.finished) << written.failure;
    ASSERT_TRUE(fs::exists(dir / "KALAM_STORE_OPENED"));
    // As if the creator died after the plugin made its first files but
    // before the open returned: no marker, and the store holds only what a
    // creation makes first (RocksDB: LOCK and IDENTITY; LMDB: the lock
    // files; SQLite: the lock file).
    fs::remove(dir / "KALAM_STORE_OPENED");
    if (backend == "rocksdb") {
      for (const auto& entry : fs::directory_iterator(dir / "store")) {
        const std::string name = entry.path().filename().string();
        if (name != "LOCK" && name != "IDENTITY") fs::remove_all(entry.path());
      }
    } else {
      fs::remove(dir / "store" / main_file);
    }
    const ChildResult reopened = run_child(
        [&]() -> std::string {
          auto db = Database::open(plugin_or_throw(backend), dir, {});
          if (!db.ok()) return db.status().to_string();
          auto got = (*db)->get({}, key_of(0));
          return got.status().is_not_found() ? "fresh" : "old data?";
        },
        true);
    ASSERT_TRUE(reopened.finished) << reopened.failure;
    EXPECT_EQ(reopened.report, "fresh");
    EXPECT_TRUE(fs::exists(dir / "KALAM_STORE_OPENED"));
  }
}

INSTANTIATE_TEST_SUITE_P(Damage, Corruption, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return param_info.param.backend + "_" +
                                  param_info.param.name;
                         });

}  // namespace
}  // namespace kalam
