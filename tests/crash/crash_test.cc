// Crash tests: kill a writer process with SIGKILL at random moments and
// check what the persistent backends recover.
//
// Each cycle the driver starts kalam-crash-writer (crash_writer.cc) on the
// same database, lets it run the cycle's operation stream (crash_workload.h)
// and kills it: during open and recovery, after a random number of
// acknowledged ops, or after a random delay; a few cycles instead let it
// finish and close cleanly. The driver then reopens the database (read-write
// or read-only, at random) and checks that:
//  - every family iterates in strictly increasing key order, forwards and
//    backwards alike, and every entry reads back with a point get; every
//    few cycles `kalam check` passes too (run before or after the reopen);
//  - no group batch is partially visible (ten keys over three families, one
//    sequence number);
//  - the database equals the state before the cycle plus a prefix of the
//    cycle's ops that holds every acknowledged op the backend promises to
//    keep on a process kill (per its plugin README: see kBackends), and at
//    most the one op that was in flight beyond the acknowledged ones.
// State carries over: cycle c+1 writes on (and first recovers) what cycle c
// left.
//
//   KALAM_CRASH_SEED=N      replay a seed (printed on failure and at the end)
//   KALAM_CRASH_CYCLES=N    cycles per backend (default 50; the `long` tier
//                           runs 10000)
//   KALAM_CRASH_CLI_EVERY=N run `kalam check` every N cycles (default 10)
//
// A seed fixes the operations and the kill schedule (which mode, after how
// many acks, after how long); where exactly a kill lands inside an op
// depends on timing, so a replay reproduces the workload and the schedule,
// not always the same instant.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <kalam/database.h>
#include <kalam/plugin.h>
#include <kalam/tables/tables.h>
#include <kalam/test_paths.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crash_workload.h"

extern char** environ;

namespace kalam::crash {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A persistent backend under test and what its README promises for a
// process kill (not a power loss): which acknowledged writes survive.
struct BackendCase {
  // The test name suffix.
  std::string name;
  std::string backend;
  std::vector<BackendOption> options;
  // Whether a write acknowledged WITHOUT sync survives a kill of the
  // process. When false, only writes up to the last acknowledged sync write
  // (or flush) must survive, and what survives must still be a prefix.
  bool unsynced_writes_survive_kill;
};

// plugins/rocksdb/README.md "Durability": a write without sync "was
// write()n to the WAL, which is in the OS page cache": survives a process
// crash. plugins/lmdb/README.md "Durability": every sync_mode survives a
// process crash (default `full` fsyncs every commit; `nosync` leaves commits
// in the page cache, hence the second LMDB case, where sync and no-sync
// differ). plugins/sqlite/README.md "Durability": without sync the commit is
// appended to the WAL with write(): "It survives a crash of the process".
const std::vector<BackendCase>& all_cases() {
  static const std::vector<BackendCase> cases = {
      {"rocksdb", "rocksdb", {}, true},
      {"lmdb", "lmdb", {}, true},
      {"lmdb_nosync", "lmdb", {{"sync_mode", "nosync"}}, true},
      {"sqlite", "sqlite", {}, true},
  };
  return cases;
}

// gtest prints the case by name in failure lines.
void PrintTo(const BackendCase& c, std::ostream* os) { *os << c.name; }

// The cases whose plugin this build produced.
std::vector<BackendCase> built_cases() {
  const std::vector<std::string> built = {KALAM_TEST_PLUGIN_NAMES};
  std::vector<BackendCase> out;
  for (const BackendCase& c : all_cases()) {
    if (std::find(built.begin(), built.end(), c.backend) != built.end()) {
      out.push_back(c);
    }
  }
  return out;
}

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') {
    throw std::runtime_error(std::string(name) + "='" + text +
                             "' is not a number");
  }
  return value;
}

std::string read_text(const fs::path& file, size_t max_tail = 4000) {
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (text.size() > max_tail) {
    text = "..." + text.substr(text.size() - max_tail);
  }
  return text;
}

// How a cycle ends.
enum class KillMode {
  kDuringOpen,  // a random delay after the start: open, recovery, setup
  kAfterAcks,   // as soon as the k-th ack arrives
  kAfterDelay,  // a random delay after "ready"
  kCleanExit,   // no kill: --max-ops, then close()
};

const char* mode_name(KillMode mode) {
  switch (mode) {
    case KillMode::kDuringOpen:
      return "during-open";
    case KillMode::kAfterAcks:
      return "after-acks";
    case KillMode::kAfterDelay:
      return "after-delay";
    case KillMode::kCleanExit:
      return "clean-exit";
  }
  return "?";
}

struct CyclePlan {
  KillMode mode = KillMode::kAfterDelay;
  uint64_t acks = 0;      // kAfterAcks; kCleanExit: --max-ops
  uint64_t delay_us = 0;  // kDuringOpen (from spawn), kAfterDelay (ready)
  bool read_only_verify = false;
  bool cli_before_reopen = false;
};

// What the writer reported before it died.
struct WriterReport {
  bool opened = false;
  bool ready = false;
  bool done = false;
  uint64_t acks = 0;
  bool killed = false;  // by our SIGKILL (else it exited)
  int exit_code = 0;
  double ready_ms = 0;  // spawn to "ready"
};

struct Totals {
  uint64_t cycles = 0;
  uint64_t acks = 0;
  uint64_t durable_acks = 0;
  uint64_t in_flight_landed = 0;
  uint64_t cli_checks = 0;
  uint64_t read_only_verifies = 0;
  uint64_t mode_count[4] = {0, 0, 0, 0};
  double writer_ms = 0;
  double verify_ms = 0;
};

class CrashRun {
 public:
  CrashRun(const BackendCase& c, uint64_t seed, fs::path dir)
      : case_(c), seed_(seed), dir_(std::move(dir)) {
    auto plugin = load_plugin(c.backend, {KALAM_TEST_PLUGIN_DIR});
    if (!plugin.ok()) throw std::runtime_error(plugin.status().to_string());
    plugin_ = *plugin;
    db_path_ = dir_ / "db";
    log_path_ = dir_ / "writer.log";
    write_cli_config();
  }

  // Runs one cycle; returns "" or what went wrong.
  std::string run_cycle(uint64_t cycle, bool last, uint64_t cli_every) {
    cycle_ = cycle;
    const CyclePlan plan = plan_cycle(cycle);
    ++totals_.mode_count[static_cast<int>(plan.mode)];
    const auto t0 = Clock::now();
    std::string error;
    WriterReport report;
    error = run_writer(plan, &report);
    const auto t1 = Clock::now();
    totals_.writer_ms +=
        std::chrono::duration<double, std::milli>(t1 - t0).count();
    if (!error.empty()) return error;
    if (report.opened) ever_opened_ = true;
    if (report.ready) {
      ready_ms_avg_ = ready_ms_avg_ == 0
                          ? report.ready_ms
                          : 0.8 * ready_ms_avg_ + 0.2 * report.ready_ms;
    }

    const bool cli =
        cli_path() != nullptr &&
        (last || (cli_every > 0 && cycle % cli_every == cli_every - 1));
    if (cli && plan.cli_before_reopen) {
      error = run_cli_check();
      if (!error.empty()) return error;
    }
    error = verify(plan, report);
    if (!error.empty()) return error;
    if (report.ready) ever_ready_ = true;
    if (cli && !plan.cli_before_reopen) {
      error = run_cli_check();
      if (!error.empty()) return error;
    }
    totals_.verify_ms +=
        std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
    ++totals_.cycles;
    return "";
  }

  const Totals& totals() const { return totals_; }
  const fs::path& log_path() const { return log_path_; }
  std::string last_plan() const { return last_plan_; }

 private:
  CyclePlan plan_cycle(uint64_t cycle) {
    Rng rng(mix_seed(seed_, /*stream=*/2, cycle));
    CyclePlan plan;
    const uint64_t r = rng.below(100);
    if (r < 12) {
      plan.mode = KillMode::kDuringOpen;
      // Up to a little past the usual time to "ready" (30 ms before the
      // first cycle has measured it).
      const double window_ms = ready_ms_avg_ == 0 ? 30 : ready_ms_avg_ * 1.2;
      plan.delay_us = rng.below(static_cast<uint64_t>(window_ms * 1000) + 1);
    } else if (r < 15) {
      plan.mode = KillMode::kCleanExit;
      plan.acks = rng.below(200);
    } else if (r < 55) {
      plan.mode = KillMode::kAfterAcks;
      plan.acks = rng.below(120);
    } else {
      plan.mode = KillMode::kAfterDelay;
      plan.delay_us = rng.below(20000);
    }
    plan.read_only_verify =
        plugin_->has(KALAM_CAP_READ_ONLY_OPEN) && rng.percent(50);
    plan.cli_before_reopen = rng.percent(50);
    std::ostringstream text;
    text << mode_name(plan.mode);
    if (plan.mode == KillMode::kAfterAcks) text << " k=" << plan.acks;
    if (plan.mode == KillMode::kCleanExit) text << " max_ops=" << plan.acks;
    if (plan.mode == KillMode::kDuringOpen ||
        plan.mode == KillMode::kAfterDelay) {
      text << " delay=" << plan.delay_us << "us";
    }
    text << (plan.read_only_verify ? ", verify read-only"
                                   : ", verify read-write");
    last_plan_ = text.str();
    return plan;
  }

  // Starts the writer, kills it as planned, collects its report.
  std::string run_writer(const CyclePlan& plan, WriterReport* report) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return "pipe2 failed";
    std::vector<std::string> argv = {KALAM_CRASH_WRITER_PATH,
                                     "--plugin",
                                     plugin_->file().string(),
                                     "--path",
                                     db_path_.string(),
                                     "--seed",
                                     std::to_string(seed_),
                                     "--cycle",
                                     std::to_string(cycle_),
                                     "--first-seq",
                                     std::to_string(next_seq_),
                                     "--ack-fd",
                                     "3"};
    if (plan.mode == KillMode::kCleanExit) {
      argv.push_back("--max-ops");
      argv.push_back(std::to_string(plan.acks));
    }
    for (const BackendOption& o : case_.options) {
      argv.push_back("--option");
      argv.push_back(o.key + "=" + o.value);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 3);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    const auto start = Clock::now();
    const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr,
                               args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      return "cannot start " + argv[0] + ": " + std::strerror(rc);
    }

    std::string pending;
    std::string protocol_error;
    bool killed = false;
    bool eof = false;
    std::optional<Clock::time_point> kill_at;
    if (plan.mode == KillMode::kDuringOpen) {
      kill_at = start + std::chrono::microseconds(plan.delay_us);
    }
    const auto hang_limit = start + std::chrono::seconds(120);
    auto parse = [&](const std::string& line) {
      if (line == "open") {
        report->opened = true;
      } else if (line == "ready") {
        report->ready = true;
        report->ready_ms =
            std::chrono::duration<double, std::milli>(Clock::now() - start)
                .count();
        if (plan.mode == KillMode::kAfterDelay) {
          kill_at = Clock::now() + std::chrono::microseconds(plan.delay_us);
        }
      } else if (line.rfind("ack ", 0) == 0) {
        if (line.substr(4) != std::to_string(report->acks)) {
          protocol_error = "writer acknowledged '" + line + "' after " +
                           std::to_string(report->acks) + " acks";
        }
        ++report->acks;
      } else if (line == "done") {
        report->done = true;
      } else {
        protocol_error = "writer sent '" + line + "'";
      }
    };
    auto do_kill = [&] {
      if (!killed) {
        ::kill(pid, SIGKILL);
        killed = true;
      }
    };
    while (!eof) {
      if (plan.mode == KillMode::kAfterAcks && report->ready &&
          report->acks >= plan.acks) {
        do_kill();
      }
      int timeout_ms = 1000;
      if (!killed && kill_at) {
        const auto now = Clock::now();
        if (now >= *kill_at) {
          do_kill();
        } else {
          timeout_ms = static_cast<int>(
              std::chrono::duration_cast<std::chrono::milliseconds>(*kill_at -
                                                                    now)
                  .count());
          if (timeout_ms == 0) {
            // Under a millisecond to go: wait it out precisely.
            while (Clock::now() < *kill_at) {
            }
            do_kill();
          }
        }
      }
      if (!killed && Clock::now() > hang_limit) {
        do_kill();
        protocol_error = "writer made no progress for 120 s (hung?)";
      }
      pollfd p{fds[0], POLLIN, 0};
      int n = ::poll(&p, 1, killed ? 1000 : timeout_ms);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) continue;
      char buf[65536];
      ssize_t got = ::read(fds[0], buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        eof = true;
        break;
      }
      pending.append(buf, static_cast<size_t>(got));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        parse(pending.substr(0, nl));
        pending.erase(0, nl + 1);
      }
    }
    ::close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    report->killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    report->exit_code =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!pending.empty()) {
      return "writer left a partial line '" + pending + "' in the pipe";
    }
    if (!protocol_error.empty()) return protocol_error;
    if (!report->killed && report->exit_code != 0) {
      return "writer failed (exit " + std::to_string(report->exit_code) +
             "); its output:\n" + read_text(log_path_);
    }
    if (plan.mode == KillMode::kCleanExit && !report->done) {
      return "writer exited without finishing its " +
             std::to_string(plan.acks) + " ops; its output:\n" +
             read_text(log_path_);
    }
    if (!report->killed && plan.mode != KillMode::kCleanExit) {
      return "writer exited by itself; its output:\n" + read_text(log_path_);
    }
    return "";
  }

  // Reads the whole database into `actual` (the crash families and the
  // table's rows), checking order, reverse order and point reads of every
  // family on the way.
  std::string read_database(Database& db, bool expect_table, State* actual) {
    auto names = db.list_column_families();
    if (!names.ok())
      return "list_column_families: " + names.status().to_string();
    bool has_system = false;
    for (const std::string& name : *names) {
      if (name == tables::kSystemFamily) has_system = true;
      auto cf = db.column_family(name);
      if (!cf.ok()) return "family " + name + ": " + cf.status().to_string();
      std::vector<std::pair<std::string, std::string>> entries;
      {
        auto it = db.new_iterator(*cf);
        if (!it.ok())
          return "iterator on " + name + ": " + it.status().to_string();
        for (it->seek_to_first(); it->valid(); it->next()) {
          if (it->key().empty()) return "family " + name + ": an empty key";
          if (!entries.empty() && !(entries.back().first < it->key())) {
            return "family " + name + ": key " + std::string(it->key()) +
                   " after " + entries.back().first + " (out of order)";
          }
          entries.emplace_back(it->key(), it->value());
        }
        if (!it->status().ok()) {
          return "iterating " + name + ": " + it->status().to_string();
        }
        size_t i = entries.size();
        for (it->seek_to_last(); it->valid(); it->prev()) {
          if (i == 0 || entries[i - 1].first != it->key() ||
              entries[i - 1].second != it->value()) {
            return "family " + name +
                   ": backward iteration disagrees with forward at key " +
                   std::string(it->key());
          }
          --i;
        }
        if (!it->status().ok()) {
          return "iterating " + name +
                 " backwards: " + it->status().to_string();
        }
        if (i != 0) {
          return "family " + name + ": backward iteration stopped " +
                 std::to_string(i) + " entries early";
        }
      }
      for (const auto& [key, value] : entries) {
        auto got = db.get(*cf, key);
        if (!got.ok() || *got != value) {
          return "family " + name + ": get(" + key +
                 ") disagrees with the "
                 "iterator: " +
                 (got.ok() ? "other value" : got.status().to_string());
        }
      }
      const int index = family_index(name);
      if (index >= 0) {
        actual->families[index].insert(entries.begin(), entries.end());
      }
    }

    // Rows of crash.events, through the table layer.
    if (!has_system) {
      if (expect_table) return "the table layer's families are gone";
      return "";
    }
    auto t = tables::Tables::open(db);
    if (!t.ok()) {
      if (!expect_table) return "";  // a read-only open before setup ended
      return "open the table layer: " + t.status().to_string();
    }
    auto info = (*t)->catalog().describe_table(kNamespace, kTable);
    if (!info.ok()) {
      if (!expect_table && info.status().is_not_found()) return "";
      return "describe crash.events: " + info.status().to_string();
    }
    auto rows = (*t)->user().scan_all(kNamespace, kTable);
    if (!rows.ok()) return "scan crash.events: " + rows.status().to_string();
    for (const tables::Row& row : *rows) {
      const nlohmann::json& d = row.data;
      if (!d.contains("seq") || !d["seq"].is_number_integer() ||
          !d.contains("id") || d["id"].dump() != row.row_id) {
        return "row " + row.user_id + "/" + row.row_id +
               " is malformed: " + d.dump();
      }
      State::RowValue value;
      value.seq = d["seq"].get<int64_t>();
      if (d.contains("note") && d["note"].is_string()) {
        value.note = d["note"].get<std::string>();
      }
      actual->rows[{row.user_id, row.row_id}] = value;
    }
    return "";
  }

  // No group is partly there, or there with mixed sequence numbers.
  static std::string check_groups(const State& actual) {
    for (int g = 0; g < kGroups; ++g) {
      int present = 0;
      std::set<uint64_t> seqs;
      std::string detail;
      for (int j = 0; j < kGroupWidth; ++j) {
        const auto& family = actual.families[1 + group_family(j)];
        auto it = family.find(group_key(g, j));
        if (it == family.end()) {
          detail += " " + group_key(g, j) + "=absent";
          continue;
        }
        ++present;
        auto seq = value_seq(it->second);
        seqs.insert(seq ? *seq : UINT64_MAX);
        detail += " " + group_key(g, j) + "=seq " +
                  (seq ? std::to_string(*seq) : "?");
      }
      if ((present != 0 && present != kGroupWidth) || seqs.size() > 1) {
        return "PARTIAL BATCH: group " + std::to_string(g) + ":" + detail;
      }
    }
    return "";
  }

  std::string verify(const CyclePlan& plan, const WriterReport& report) {
    OpenOptions open_options;
    open_options.create_if_missing = false;
    open_options.read_only = plan.read_only_verify;
    auto db = Database::open(plugin_, db_path_, case_.options, open_options);
    if (!db.ok()) {
      // Nothing was ever acknowledged: the writer may have died before the
      // store existed. The next writer must still be able to open it.
      if (!ever_opened_) return "";
      return "reopen after the kill failed: " + db.status().to_string();
    }
    if (plan.read_only_verify) ++totals_.read_only_verifies;
    State actual;
    std::string error =
        read_database(**db, ever_ready_ || report.ready, &actual);
    Status closed = (*db)->close();
    if (error.empty() && !closed.ok()) error = "close: " + closed.to_string();
    if (!error.empty()) return error;
    error = check_groups(actual);
    if (!error.empty()) return error;

    // Which prefixes of the cycle's ops the state may reflect.
    const uint64_t acked = report.acks;
    const bool in_flight = report.killed && report.ready;
    const uint64_t upper = acked + (in_flight ? 1 : 0);
    std::vector<Op> ops;
    OpStream stream(seed_, cycle_, next_seq_);
    for (uint64_t i = 0; i < upper; ++i) ops.push_back(stream.next());
    uint64_t lower = acked;
    if (!case_.unsynced_writes_survive_kill) {
      lower = 0;
      for (uint64_t i = 0; i < acked; ++i) {
        if (ops[i].durable()) lower = i + 1;
      }
    }
    State candidate = model_;
    std::optional<uint64_t> match;
    std::vector<uint64_t> early_matches;
    for (uint64_t n = 0; n <= upper; ++n) {
      if (n > 0) candidate.apply(ops[n - 1]);
      if (candidate == actual) {
        if (n >= lower) {
          match = n;
        } else {
          early_matches.push_back(n);
        }
      }
    }
    if (!match) {
      State expected = model_;
      for (uint64_t i = 0; i < acked; ++i) expected.apply(ops[i]);
      std::ostringstream out;
      out << "recovered state is not the state before the cycle plus "
          << (lower == upper
                  ? std::to_string(lower)
                  : std::to_string(lower) + ".." + std::to_string(upper))
          << " of its ops (" << acked << " acknowledged"
          << (in_flight ? ", 1 in flight" : "") << "); vs the acknowledged "
          << "state: " << expected.first_difference(actual);
      if (!early_matches.empty()) {
        const uint64_t n = early_matches.back();
        out << "\nLOST ACKNOWLEDGED WRITES: it equals the state after only "
            << n << " ops; lost:";
        for (uint64_t i = n; i < acked && i < n + 20; ++i) {
          out << "\n  op " << i << ": " << ops[i].describe();
        }
      }
      return out.str();
    }
    for (uint64_t i = 0; i < *match; ++i) model_.apply(ops[i]);
    for (uint64_t i = 0; i < acked; ++i) {
      if (ops[i].durable()) ++totals_.durable_acks;
    }
    if (*match > acked) ++totals_.in_flight_landed;
    totals_.acks += acked;
    next_seq_ += *match;
    return "";
  }

  static const char* cli_path() {
#ifdef KALAM_CLI_PATH
    return KALAM_CLI_PATH;
#else
    return nullptr;
#endif
  }

  void write_cli_config() {
    std::ofstream out(dir_ / "kalam.yaml");
    out << "storage:\n  backend: " << case_.backend << "\n  path: \""
        << db_path_.string() << "\"\n  plugin_path: [\""
        << KALAM_TEST_PLUGIN_DIR << "\"]\n";
    if (!case_.options.empty()) {
      out << "  options:\n";
      for (const BackendOption& o : case_.options) {
        out << "    " << o.key << ": \"" << o.value << "\"\n";
      }
    }
  }

  // `kalam check` on the database as it is (before or after the driver's
  // reopen).
  std::string run_cli_check() {
    if (!ever_opened_) return "";
    const fs::path out_file = dir_ / "check.out";
    std::vector<std::string> argv = {cli_path(), "check", "--config",
                                     (dir_ / "kalam.yaml").string()};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr,
                               args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return "cannot run " + argv[0] + ": " + std::strerror(rc);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ++totals_.cli_checks;
    const std::string output = read_text(out_file);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        output.find("no problems") == std::string::npos) {
      return "kalam check failed (status " + std::to_string(status) + "):\n" +
             output;
    }
    return "";
  }

  const BackendCase& case_;
  const uint64_t seed_;
  const fs::path dir_;
  std::shared_ptr<const Plugin> plugin_;
  fs::path db_path_;
  fs::path log_path_;
  uint64_t cycle_ = 0;
  // The state every verified cycle so far adds up to, and the next seq.
  State model_;
  uint64_t next_seq_ = 0;
  bool ever_opened_ = false;
  bool ever_ready_ = false;
  double ready_ms_avg_ = 0;
  std::string last_plan_;
  Totals totals_;
};

class CrashTest : public ::testing::TestWithParam<BackendCase> {};

TEST_P(CrashTest, KillAndRecover) {
  const BackendCase& c = GetParam();
  const uint64_t seed = env_number(
      "KALAM_CRASH_SEED",
      std::random_device()() | (uint64_t{std::random_device()()} << 32));
  const uint64_t cycles = env_number("KALAM_CRASH_CYCLES", 50);
  const uint64_t cli_every = env_number("KALAM_CRASH_CLI_EVERY", 10);
  const std::string replay =
      "replay: KALAM_CRASH_SEED=" + std::to_string(seed) +
      " KALAM_CRASH_CYCLES=" + std::to_string(cycles) + " " +
      KALAM_CRASH_TEST_PATH + " --gtest_filter='*/" + c.name + "'";

  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr ? base : "/tmp") + "/kalam-crash-XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
  const fs::path dir = pattern;

  CrashRun run(c, seed, dir);
  // The seed first and the totals every kProgressEvery cycles, so a long run
  // that is stopped still says what it covered and how to replay it.
  constexpr uint64_t kProgressEvery = 500;
  std::cout << "[crash] " << c.name << ": " << cycles << " cycles, seed "
            << seed << ", in " << dir.string() << std::endl;
  const auto start = Clock::now();
  auto print_totals = [&](const char* what) {
    const double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    const Totals& t = run.totals();
    const uint64_t n = std::max<uint64_t>(1, t.cycles);
    std::cout << "[crash] " << c.name << " " << what << ": " << t.cycles
              << " cycles in " << seconds << " s (" << (seconds * 1000 / n)
              << " ms/cycle: writer " << t.writer_ms / n << ", verify "
              << t.verify_ms / n << "), seed " << seed << "; " << t.acks
              << " acknowledged ops (" << t.durable_acks
              << " sync or flush), in-flight op landed " << t.in_flight_landed
              << " times; kills during open " << t.mode_count[0]
              << ", after acks " << t.mode_count[1] << ", after delay "
              << t.mode_count[2] << ", clean exits " << t.mode_count[3]
              << "; read-only verifies " << t.read_only_verifies
              << ", kalam check runs " << t.cli_checks << std::endl;
  };
  for (uint64_t cycle = 0; cycle < cycles; ++cycle) {
    const std::string error =
        run.run_cycle(cycle, cycle + 1 == cycles, cli_every);
    if (!error.empty()) {
      FAIL() << c.name << " cycle " << cycle << " of " << cycles << " ("
             << run.last_plan() << "), seed " << seed << ":\n"
             << error << "\n"
             << replay << "\nthe database and writer.log are kept in "
             << dir.string();
    }
    if ((cycle + 1) % kProgressEvery == 0 && cycle + 1 < cycles) {
      print_totals("so far");
    }
  }
  print_totals("done");
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// A kill during the very first open of a new database (manifest stamp,
// store creation, first families) must leave a directory the next open
// accepts. KillAndRecover reaches this window only when its cycle 0 is a
// during-open kill; this test sweeps it: 20 fresh databases, the writer
// killed 0, 1.5, 3, ... 28.5 ms after its start, then a second writer must
// open the directory, run 3 ops and close cleanly.
TEST_P(CrashTest, KillDuringCreationThenReopen) {
  const BackendCase& c = GetParam();
  auto plugin = load_plugin(c.backend, {KALAM_TEST_PLUGIN_DIR});
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr ? base : "/tmp") + "/kalam-crash-XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
  const fs::path dir = pattern;
  auto spawn = [&](const fs::path& db, const std::vector<std::string>& extra,
                   const fs::path& log) {
    std::vector<std::string> argv = {KALAM_CRASH_WRITER_PATH,
                                     "--plugin",
                                     (*plugin)->file().string(),
                                     "--path",
                                     db.string(),
                                     "--seed",
                                     "1",
                                     "--cycle",
                                     "0",
                                     "--first-seq",
                                     "0",
                                     "--ack-fd",
                                     "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    for (const BackendOption& o : c.options) {
      argv.push_back("--option");
      argv.push_back(o.key + "=" + o.value);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(),
                         environ);
    posix_spawn_file_actions_destroy(&actions);
    return rc == 0 ? pid : -1;
  };
  std::string failures;
  int failed = 0;
  for (int i = 0; i < 20; ++i) {
    const fs::path db = dir / ("db" + std::to_string(i));
    const fs::path log = dir / ("writer" + std::to_string(i) + ".log");
    pid_t pid = spawn(db, {}, log);
    ASSERT_GT(pid, 0) << "cannot start the writer";
    std::this_thread::sleep_for(std::chrono::microseconds(1500 * i));
    ::kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = spawn(db, {"--max-ops", "3"}, log);
    ASSERT_GT(pid, 0) << "cannot start the writer";
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const std::string output = read_text(log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        output.find("done") == std::string::npos) {
      ++failed;
      std::string entries;
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(db, ec)) {
        entries += " " + e.path().filename().string();
      }
      failures += "\n  killed after " + std::to_string(1.5 * i) +
                  " ms; left:" + entries + "; reopen: " + output;
    }
  }
  EXPECT_EQ(failed, 0) << c.name << ": " << failed
                       << " of 20 databases killed during creation could "
                          "not be reopened:"
                       << failures;
  if (!HasFailure()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  } else {
    ADD_FAILURE() << "kept " << dir.string();
  }
}

std::string case_name(const ::testing::TestParamInfo<BackendCase>& param) {
  return param.param.name;
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashTest,
                         ::testing::ValuesIn(built_cases()), case_name);

}  // namespace
}  // namespace kalam::crash
