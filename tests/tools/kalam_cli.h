// Test support for the kalam CLI tests: runs the built binary (path compiled
// in as KALAM_CLI_PATH) with arguments, standard input from a file, and
// standard output and error captured, and writes configs for temporary
// databases on the plugins of this build.
#pragma once

#include <fcntl.h>
#include <kalam/test_paths.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "temp_dir.h"

extern char** environ;

namespace kalam::test {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::ostream& operator<<(std::ostream& os, const CliResult& r) {
  return os << "exit " << r.exit_code << "\n--- stdout:\n"
            << r.out << "--- stderr:\n"
            << r.err;
}

inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

inline void write_file(const std::filesystem::path& file,
                       const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

// Runs `argv` (argv[0] is the program's path) in directory `cwd`, standard
// input from `stdin_file`. Output is captured through files in `scratch`.
inline CliResult run_program(const TempDir& scratch,
                             std::vector<std::string> argv,
                             const std::filesystem::path& stdin_file,
                             const std::filesystem::path& cwd) {
  static int counter = 0;
  const std::string id = std::to_string(++counter);
  const std::filesystem::path out_file = scratch / ("stdout." + id);
  const std::filesystem::path err_file = scratch / ("stderr." + id);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_file.c_str(), O_RDONLY,
                                   0);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  }
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr,
                             args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + argv[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  CliResult result;
  result.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out_file);
  result.err = read_file(err_file);
  std::filesystem::remove(out_file);
  std::filesystem::remove(err_file);
  return result;
}

// Runs `kalam args...` in directory `cwd` (default: the test's), standard
// input from `stdin_file` (default: /dev/null).
inline CliResult run_kalam(
    const TempDir& scratch, const std::vector<std::string>& args,
    const std::filesystem::path& stdin_file = "/dev/null",
    const std::filesystem::path& cwd = {}) {
  std::vector<std::string> argv = {KALAM_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(scratch, std::move(argv), stdin_file, cwd);
}

// Runs `script` with /bin/sh, where $KALAM is the kalam binary: for
// pipelines. Arguments must need no quoting beyond what `script` does.
inline CliResult run_shell(const TempDir& scratch, const std::string& script) {
  return run_program(scratch,
                     {"/bin/sh", "-c", "KALAM=" KALAM_CLI_PATH "; " + script},
                     "/dev/null", {});
}

// Writes <dir>/<name>.yaml for `backend` with its data in <dir>/<name>-data
// and returns the config's path.
inline std::string write_config(
    const TempDir& dir, const std::string& name, const std::string& backend,
    const std::string& plugin_dir = KALAM_TEST_PLUGIN_DIR) {
  const std::filesystem::path file = dir / (name + ".yaml");
  write_file(file, "storage:\n  backend: " + backend + "\n  path: " + name +
                       "-data\n  plugin_path: [" + plugin_dir + "]\n");
  return file.string();
}

// The data directory write_config() names.
inline std::filesystem::path data_dir(const TempDir& dir,
                                      const std::string& name) {
  return dir / (name + "-data");
}

// Every plugin this build produced.
inline std::vector<std::string> built_backends() {
  return {KALAM_TEST_PLUGIN_NAMES};
}

inline bool have_backend(const std::string& name) {
  for (const auto& backend : built_backends()) {
    if (backend == name) return true;
  }
  return false;
}

// The built plugins whose data outlives a process (all but memory): the
// backends on which one kalam run can read what another wrote. Not faulty:
// it wraps memory unless KALAM_FAULTY_INNER says otherwise
// (plugins/faulty/README.md), so its data does not outlive a process either.
inline std::vector<std::string> persistent_backends() {
  std::vector<std::string> out;
  for (const auto& backend : built_backends()) {
    if (backend != "memory" && backend != "faulty") out.push_back(backend);
  }
  return out;
}

// Splits `text` into lines (without the newlines).
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// One column family for documented_dump().
struct SeedFamily {
  std::string name;
  std::map<std::string, std::string> entries;  // byte-wise key order
};

// A dump of `families` written from docs/dump-format.md alone, not with
// kalam's own writer, so loading it checks the documentation as well.
inline std::string documented_dump(std::vector<SeedFamily> families) {
  std::sort(families.begin(), families.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  auto u32 = [](std::string* out, uint64_t v) {
    for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
  };
  auto u64 = [](std::string* out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
  };
  auto crc = [](uint32_t start, const std::string& bytes) {
    return static_cast<uint32_t>(
        crc32(start, reinterpret_cast<const Bytef*>(bytes.data()),
              static_cast<uInt>(bytes.size())));
  };
  nlohmann::json names = nlohmann::json::array();
  for (const auto& family : families) names.push_back(family.name);
  const std::string meta =
      nlohmann::json({{"format", "kalam-dump"}, {"column_families", names}})
          .dump();
  std::string out = "KALAMDMP";
  u32(&out, 1);
  u32(&out, meta.size());
  out += meta;
  u32(&out, crc(0, out));
  uint64_t total = 0;
  for (const auto& family : families) {
    out += 'F';
    u32(&out, family.name.size());
    out += family.name;
    uint32_t family_crc = 0;
    for (const auto& [key, value] : family.entries) {
      std::string fed;
      u32(&fed, key.size());
      fed += key;
      u64(&fed, value.size());
      fed += value;
      family_crc = crc(family_crc, fed);
      out += 'E';
      out += fed;
    }
    out += 'C';
    u64(&out, family.entries.size());
    u32(&out, family_crc);
    total += family.entries.size();
  }
  out += 'Z';
  u64(&out, families.size());
  u64(&out, total);
  u32(&out, crc(0, out));
  return out;
}

// Fills the database of `config` with `families` in one `kalam load`.
inline void seed(const TempDir& dir, const std::string& config,
                 const std::vector<SeedFamily>& families) {
  const std::filesystem::path file = dir / "seed.kdump";
  write_file(file, documented_dump(families));
  CliResult r = run_kalam(dir, {"load", file.string(), "--config", config});
  if (r.exit_code != 0) {
    std::ostringstream message;
    message << "seeding " << config << " failed: " << r;
    throw std::runtime_error(message.str());
  }
  std::filesystem::remove(file);
}

}  // namespace kalam::test
