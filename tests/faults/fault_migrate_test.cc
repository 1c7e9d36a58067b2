// `kalam migrate` into a destination served by the faulty plugin (wrapping a
// persistent backend), failing each counted call of the destination in turn
// and then "every call from N on". Each failed run must exit 1 with one
// clear error line (no crash), and leave the destination either untouched
// (a plain re-run succeeds) or re-runnable as its message says (the re-run
// with --allow-non-empty succeeds and verifies every entry).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <kalam/database.h>
#include <kalam/plugin.h>
#include <kalam/test_paths.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "temp_dir.h"

extern char** environ;

namespace kalam::faults {
namespace {

namespace fs = std::filesystem;

constexpr char kInner[] = KALAM_FAULTS_PERSISTENT_INNER;

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

std::ostream& operator<<(std::ostream& os, const CliRun& r) {
  return os << "exit " << r.exit_code << "\n--- stdout:\n"
            << r.out << "--- stderr:\n"
            << r.err;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs kalam with `args`, the faulty plugin's load-time inner set to kInner
// (so it declares that backend's capabilities), output captured.
CliRun kalam(const test::TempDir& scratch, std::vector<std::string> args) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).rfind("KALAM_FAULTY_INNER=", 0) != 0) {
      env_strings.emplace_back(*e);
    }
  }
  env_strings.push_back(std::string("KALAM_FAULTY_INNER=") + kInner);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  args.insert(args.begin(), KALAM_CLI_PATH);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const fs::path out = scratch / "stdout", err = scratch / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + args[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  CliRun r;
  r.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// stderr without the warning lines (the faulty plugin logs each injection
// as a warning with log_injections).
std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("kalam: warning:", 0) == 0) continue;
    out.push_back(line);
  }
  return out;
}

class MigrateFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    // The source: three families on the persistent backend itself.
    auto plugin = load_plugin(kInner, {KALAM_TEST_PLUGIN_DIR});
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    auto db = Database::open(*plugin, dir_ / "src-data", {});
    ASSERT_TRUE(db.ok()) << db.status();
    for (const char* name : {"default", "a", "b"}) {
      auto cf = (*db)->column_family(name, true);
      ASSERT_TRUE(cf.ok()) << cf.status();
      for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE((*db)
                        ->put(*cf, std::string(name) + std::to_string(i),
                              "value" + std::to_string(i))
                        .ok());
      }
    }
    ASSERT_TRUE((*db)->close().ok());
    source_ = write_config(
        "src", "backend: " + std::string(kInner) + "\n  path: src-data\n");
  }

  std::string write_config(const std::string& name, const std::string& body) {
    const fs::path file = dir_ / (name + ".yaml");
    std::ofstream(file) << "storage:\n  " << body
                        << "  plugin_path: [" KALAM_TEST_PLUGIN_DIR "]\n";
    return file.string();
  }

  // A destination config; `fault` is extra option lines ("fail_call: 3").
  std::string destination(const std::string& fault) {
    std::string body =
        "backend: faulty\n  path: dst-data\n  options:\n"
        "    inner: " +
        std::string(kInner) + "\n    log_injections: true\n";
    if (!fault.empty()) body += "    " + fault + "\n";
    return write_config(fault.empty() ? "dst" : "dst-fault", body);
  }

  CliRun migrate(const std::string& to, bool allow_non_empty = false) {
    std::vector<std::string> args = {"migrate", "--config",     source_, "--to",
                                     to,        "--batch-size", "2"};
    if (allow_non_empty) args.push_back("--allow-non-empty");
    return kalam(dir_, args);
  }

  // After a failed run: the destination is refused cleanly (a plain re-run
  // works) or holds a partial copy the message described (a re-run with
  // --allow-non-empty works). Either way the re-run verifies every entry.
  void expect_rerunnable(const CliRun& failed) {
    CliRun plain = migrate(destination(""));
    if (plain.exit_code == 0) {
      EXPECT_NE(plain.out.find("verified"), std::string::npos) << plain;
      return;
    }
    EXPECT_EQ(plain.exit_code, 1) << plain;
    EXPECT_NE(plain.err.find("refuses to write into a database that holds"),
              std::string::npos)
        << plain;
    // A run that left data behind must say so: either what it wrote, or
    // (when only closing the destination failed) that the copy verified.
    const bool said_what =
        failed.err.find("what it wrote stays in") != std::string::npos;
    const bool copied_then_close_failed =
        failed.out.find("verified") != std::string::npos &&
        failed.err.find("closing data directory") != std::string::npos;
    EXPECT_TRUE(said_what || copied_then_close_failed)
        << "a run that left data behind must say so\n"
        << failed;
    CliRun merged = migrate(destination(""), /*allow_non_empty=*/true);
    EXPECT_EQ(merged.exit_code, 0) << merged;
    EXPECT_NE(merged.out.find("verified"), std::string::npos) << merged;
  }

  // One faulty run: a clean failure (or, if the fault hit a call the
  // migration can do without, a verified success), then a re-run.
  // Returns false when no fault was injected (the index is past the end).
  bool run_faulty(const std::string& fault) {
    SCOPED_TRACE(fault);
    fs::remove_all(dir_ / "dst-data");
    CliRun r = migrate(destination(fault));
    EXPECT_LT(r.exit_code, 128) << "kalam crashed\n" << r;
    if (r.err.find("injected") == std::string::npos) {
      EXPECT_EQ(r.exit_code, 0) << r;
      return false;
    }
    if (r.exit_code == 0) {
      ADD_FAILURE() << "an injected failure was swallowed\n" << r;
    } else {
      EXPECT_EQ(r.exit_code, 1) << r;
      // One error line in kalam's format carrying the plugin's reason, and
      // nothing else: when the disk died (fail_from), closing the
      // destination fails too, but that is detail for --verbose.
      const std::vector<std::string> lines = error_lines(r.err);
      EXPECT_EQ(lines.size(), 1u) << "want one error line\n" << r;
      if (!lines.empty()) {
        EXPECT_EQ(lines[0].rfind("kalam: ", 0), 0u) << r;
        EXPECT_NE(lines[0].find("injected IO_ERROR"), std::string::npos) << r;
      }
    }
    expect_rerunnable(r);
    return true;
  }

  test::TempDir dir_;
  std::string source_;
};

TEST_F(MigrateFaults, EveryDestinationCallFailsCleanly) {
  // No fault: the migration succeeds.
  fs::remove_all(dir_ / "dst-data");
  CliRun clean = migrate(destination(""));
  ASSERT_EQ(clean.exit_code, 0) << clean;
  uint64_t calls = 0;
  for (; calls < 1000; ++calls) {
    if (!run_faulty("fail_call: " + std::to_string(calls))) break;
    if (HasFatalFailure()) return;
  }
  ASSERT_LT(calls, 1000u) << "the sweep never reached a clean run";
  ASSERT_GT(calls, 5u);
  std::printf("[ sweep    ] kalam migrate into faulty(%s): %llu calls\n",
              kInner, static_cast<unsigned long long>(calls));
  // The disk dies at a few points of the run.
  for (uint64_t n : {uint64_t{0}, calls / 3, calls / 2, calls - 1}) {
    EXPECT_TRUE(run_faulty("fail_from: " + std::to_string(n)));
  }
}

}  // namespace
}  // namespace kalam::faults
