// The YAML config: good files parse, and every mistake names the file, the
// line and the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/config.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>

#include "sanitizers.h"
#include "temp_dir.h"

namespace kalam {
namespace {

using ::testing::HasSubstr;

StatusOr<EngineConfig> parse(const std::string& yaml) {
  return parse_config(yaml, "test.yaml", "/base");
}

TEST(Config, FullStorageSection) {
  auto config = parse(
      "storage:\n"
      "  backend: rocksdb\n"
      "  path: ./data\n"
      "  plugin_path: [plugins, /opt/kalam/plugins]\n"
      "  read_only: true\n"
      "  options:\n"
      "    block_cache_size: 64MiB\n"
      "    compression: lz4\n");
  ASSERT_TRUE(config.ok()) << config.status();
  const StorageConfig& s = config->storage;
  EXPECT_EQ(s.backend, "rocksdb");
  EXPECT_EQ(s.path, "/base/data");
  ASSERT_EQ(s.plugin_path.size(), 2u);
  EXPECT_EQ(s.plugin_path[0], "/base/plugins");
  EXPECT_EQ(s.plugin_path[1], "/opt/kalam/plugins");
  EXPECT_TRUE(s.read_only);
  ASSERT_EQ(s.options.size(), 2u);
  EXPECT_EQ(s.options[0].key, "block_cache_size");
  EXPECT_EQ(s.options[0].value, "64MiB");
  EXPECT_EQ(s.options[0].line, 7);
  EXPECT_EQ(s.options[1].key, "compression");
  EXPECT_THAT(s.options_yaml, HasSubstr("block_cache_size: 64MiB"));
}

TEST(Config, DefaultsForOptionalKeys) {
  auto config = parse("storage:\n  backend: memory\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->storage.path, "/base/data");
  ASSERT_EQ(config->storage.plugin_path.size(), 1u);
  EXPECT_EQ(config->storage.plugin_path[0], default_plugin_dir());
  EXPECT_FALSE(config->storage.read_only);
  EXPECT_TRUE(config->storage.options.empty());
}

TEST(Config, NestedOptionsAreFlattenedWithDotsAndListsWithCommas) {
  auto config = parse(
      "storage:\n"
      "  backend: rocksdb\n"
      "  options:\n"
      "    cf:\n"
      "      write_buffer_size: 4MiB\n"
      "      levels: [1, 2, 3]\n");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->storage.options.size(), 2u);
  EXPECT_EQ(config->storage.options[0].key, "cf.write_buffer_size");
  EXPECT_EQ(config->storage.options[1].key, "cf.levels");
  EXPECT_EQ(config->storage.options[1].value, "1,2,3");
}

TEST(Config, MalformedYamlNamesFileAndLine) {
  auto config = parse("storage:\n  backend: [memory\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("test.yaml:"));
  EXPECT_THAT(config.status().message(), HasSubstr("malformed YAML"));
}

TEST(Config, UnknownKeyNamesFileLineKeyAndSuggestion) {
  auto config = parse("storage:\n  backnd: memory\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("test.yaml:2:3: unknown key 'backnd' in 'storage'"));
  EXPECT_THAT(config.status().message(), HasSubstr("did you mean 'backend'"));
}

// Regression: yaml-cpp's Load() read the first document and silently
// dropped the rest.
TEST(Config, ASecondYamlDocumentIsRefusedWithItsLine) {
  auto config =
      parse("storage:\n  backend: memory\n---\nstorage:\n  backend: rocksdb\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(config.status().message(),
              HasSubstr("test.yaml:4:1: a second YAML document starts here"));
  EXPECT_THAT(config.status().message(), HasSubstr("remove the '---' line"));
  // A leading '---' and a trailing empty document hide nothing.
  EXPECT_TRUE(parse("---\nstorage:\n  backend: memory\n").ok());
  EXPECT_TRUE(parse("storage:\n  backend: memory\n---\n").ok());
}

TEST(Config, UnknownTopLevelKey) {
  auto config = parse("storage:\n  backend: memory\nstorge: {}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(
      config.status().message(),
      HasSubstr("test.yaml:3:1: unknown key 'storge' in the top level"));
}

TEST(Config, TablesColdPathIsResolvedBesideTheConfig) {
  auto config = parse(
      "storage:\n  backend: memory\n  path: d\ntables:\n  cold_path: c\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tables.cold_path, std::filesystem::path("/base/c"));
  EXPECT_EQ(cold_path(*config), std::filesystem::path("/base/c"));
  auto defaulted = parse("storage:\n  backend: memory\n  path: d\n");
  ASSERT_TRUE(defaulted.ok()) << defaulted.status();
  EXPECT_TRUE(defaulted->tables.cold_path.empty());
  EXPECT_EQ(cold_path(*defaulted), std::filesystem::path("/base/d/cold"));
}

TEST(Config, UnknownTablesKeyNamesFileLineAndKey) {
  auto config = parse("storage:\n  backend: memory\ntables:\n  cold_pth: /x\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("test.yaml:4:3: unknown key 'cold_pth' in 'tables'"));
  EXPECT_THAT(config.status().message(), HasSubstr("did you mean 'cold_path'"));
  auto empty = parse("storage:\n  backend: memory\ntables:\n  cold_path: ''\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(),
              HasSubstr("test.yaml:4:14: key 'tables.cold_path' is empty"));
}

TEST(Config, WrongTypeNamesKeyAndLine) {
  auto config = parse("storage:\n  backend:\n    name: memory\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("test.yaml:3:"));
  EXPECT_THAT(config.status().message(),
              HasSubstr("'storage.backend' must be a single value, not a "
                        "mapping"));

  auto options = parse("storage:\n  backend: memory\n  options: [a, b]\n");
  ASSERT_FALSE(options.ok());
  EXPECT_THAT(options.status().message(),
              HasSubstr("test.yaml:3:12: key 'storage.options' must be a "
                        "mapping"));

  auto ro = parse("storage:\n  backend: memory\n  read_only: maybe\n");
  ASSERT_FALSE(ro.ok());
  EXPECT_THAT(ro.status().message(),
              HasSubstr("test.yaml:3:14: key 'storage.read_only' must be "
                        "true or false, not 'maybe'"));
}

TEST(Config, MissingBackend) {
  auto config = parse("storage:\n  path: ./data\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("test.yaml:2:3: missing key 'backend' in 'storage'"));
}

TEST(Config, MissingStorageAndEmptyFile) {
  EXPECT_THAT(parse("").status().message(), HasSubstr("config is empty"));
  EXPECT_THAT(parse("{}").status().message(),
              HasSubstr("missing key 'storage'"));
  EXPECT_THAT(parse("- a\n- b\n").status().message(),
              HasSubstr("must be a mapping"));
}

TEST(Config, DuplicateKeysAreRefused) {
  auto config = parse("storage:\n  backend: memory\n  backend: rocksdb\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("test.yaml:3:3: duplicate key 'backend'"));
  auto option =
      parse("storage:\n  backend: memory\n  options:\n    a: 1\n    a: 2\n");
  ASSERT_FALSE(option.ok());
  EXPECT_THAT(option.status().message(),
              HasSubstr("duplicate option 'storage.options.a'"));
}

TEST(Config, OptionWithoutValue) {
  auto config = parse("storage:\n  backend: memory\n  options:\n    a:\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("test.yaml:4:5: option 'storage.options.a' has no "
                        "value"));
}

TEST(Config, DeepNestingIsBounded) {
  std::string yaml = "storage:\n  backend: memory\n  options: ";
  for (int i = 0; i < 40; ++i) yaml += "{a: ";
  yaml += "1";
  for (int i = 0; i < 40; ++i) yaml += "}";
  auto config = parse(yaml + "\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("nests deeper than"));
}

TEST(Config, CheckIteratorsKey) {
  auto on = parse("storage:\n  backend: memory\n  check_iterators: true\n");
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_EQ(on->storage.check_iterators, true);
  auto off = parse("storage:\n  backend: memory\n  check_iterators: false\n");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->storage.check_iterators, false);
  auto unset = parse("storage:\n  backend: memory\n");
  ASSERT_TRUE(unset.ok()) << unset.status();
  EXPECT_FALSE(unset->storage.check_iterators.has_value());
  auto bad = parse("storage:\n  backend: memory\n  check_iterators: 1\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("test.yaml:3:20: key 'storage.check_iterators' must "
                        "be true or false, not '1'"));
}

// --- Hostile input: every case ends in a clear error within bounded time and
// memory. Each runs in a child process with an address-space limit (not
// under sanitizers, whose shadow memory needs more) and a deadline; the
// parent checks the child's peak RSS and wall time.

constexpr auto kDeadline = std::chrono::seconds(20);
constexpr long kMaxRssKiB = 256 * 1024;

struct BoundedResult {
  bool exited = false;   // the child exited (no signal, no timeout)
  std::string message;   // the status the child reported ("OK" if ok)
  long max_rss_kib = 0;  // the child's peak resident set
  double seconds = 0;    // wall time
};

BoundedResult run_bounded(const std::function<Status()>& parse_it) {
  BoundedResult result;
  int fds[2];
  if (pipe(fds) != 0) {
    result.message = "pipe failed";
    return result;
  }
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
#if !defined(KALAM_TEST_ASAN) && !defined(KALAM_TEST_TSAN)
    rlimit limit{1ull << 30, 1ull << 30};  // 1 GiB of address space
    setrlimit(RLIMIT_AS, &limit);
#endif
    const Status s = parse_it();
    const std::string text = s.ok() ? "OK" : s.to_string();
    ssize_t ignored = write(fds[1], text.data(), text.size());
    (void)ignored;
    _exit(0);
  }
  close(fds[1]);
  int status = 0;
  rusage usage{};
  bool done = false;
  while (!done) {
    const pid_t r = wait4(pid, &status, WNOHANG, &usage);
    if (r == pid) {
      done = true;
    } else if (std::chrono::steady_clock::now() - start > kDeadline) {
      kill(pid, SIGKILL);
      wait4(pid, &status, 0, &usage);
      result.message = "timed out";
      close(fds[0]);
      return result;
    } else {
      usleep(2000);
    }
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  result.max_rss_kib = usage.ru_maxrss;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0) {
    result.message.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  result.exited = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (WIFSIGNALED(status)) {
    result.message +=
        " [killed by signal " + std::to_string(WTERMSIG(status)) + "]";
  }
  return result;
}

// Parses `yaml` in a bounded child; expects INVALID_ARGUMENT containing
// `expected`.
void expect_bounded_error(const std::string& yaml,
                          const std::string& expected) {
  const BoundedResult r = run_bounded([&] { return parse(yaml).status(); });
  EXPECT_TRUE(r.exited) << r.message;
  EXPECT_THAT(r.message, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(r.message, HasSubstr(expected));
  EXPECT_LT(r.max_rss_kib, kMaxRssKiB) << r.message;
  EXPECT_LT(r.seconds, 10.0) << r.message;
}

TEST(ConfigHostile, BillionLaughsInOptionsIsBounded) {
  // Nine levels of nine aliases: 9^9 leaves once expanded.
  std::string yaml = "storage:\n  backend: memory\n  options:\n";
  yaml +=
      "    a: &a {x1: lol, x2: lol, x3: lol, x4: lol, x5: lol, x6: lol, "
      "x7: lol, x8: lol, x9: lol}\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    yaml += std::string("    ") + c + ": &" + c + " {";
    for (int j = 0; j < 9; ++j) {
      yaml += (j ? ", y" : "y") + std::to_string(j) + ": *" +
              static_cast<char>(c - 1);
    }
    yaml += "}\n";
  }
  expect_bounded_error(yaml, "storage.options has more than");
}

TEST(ConfigHostile, AliasBombOfEmptyMapsIsBounded) {
  // Twelve levels of ten aliases to an empty map: no option ever comes out,
  // so only a node budget stops the walk (10^12 nodes).
  std::string yaml =
      "storage:\n  backend: memory\n  options:\n    l0: &l0 {}\n";
  for (int i = 1; i <= 12; ++i) {
    yaml += "    l" + std::to_string(i) + ": &l" + std::to_string(i) + " {";
    for (int j = 0; j < 10; ++j) {
      yaml += (j ? ", k" : "k") + std::to_string(j) + ": *l" +
              std::to_string(i - 1);
    }
    yaml += "}\n";
  }
  expect_bounded_error(yaml, "nodes (counting what YAML aliases expand to)");
}

TEST(ConfigHostile, AliasBombOfLongValuesIsBounded) {
  // A 400 KB value listed 50000 times: 20 GB of option text once joined.
  std::string yaml = "storage:\n  backend: memory\n  options:\n    s: &s \"" +
                     std::string(400000, 'x') + "\"\n    l: [*s";
  for (int i = 1; i < 50000; ++i) yaml += ",*s";
  yaml += "]\n";
  expect_bounded_error(yaml, "bytes of option names and values");
}

TEST(ConfigHostile, AliasesOutsideOptionsAreRefusedUnexpanded) {
  std::string yaml = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    yaml += std::string(1, c) + ": &" + c + " [";
    for (int j = 0; j < 9; ++j) {
      yaml += std::string(j ? ", *" : "*") + static_cast<char>(c - 1);
    }
    yaml += "]\n";
  }
  yaml += "storage:\n  backend: memory\n";
  expect_bounded_error(yaml, "unknown key 'a' in the top level");
}

TEST(ConfigHostile, DeepNestingOfTheYamlItselfIsAClearError) {
  expect_bounded_error(
      "storage:\n  backend: memory\n  options: " + std::string(100000, '[') +
          std::string(100000, ']') + "\n",
      "malformed YAML: nested too deeply");
  std::string maps = "storage:\n  backend: memory\n  options: ";
  for (int i = 0; i < 1500; ++i) maps += "{a: ";
  maps += "1";
  for (int i = 0; i < 1500; ++i) maps += "}";
  expect_bounded_error(maps + "\n", "malformed YAML: nested too deeply");
}

TEST(ConfigHostile, HugeTextIsRefusedBeforeParsing) {
  // parse_config() bounds the text as load_config_file() bounds the file.
  expect_bounded_error(
      "storage:\n  backend: memory\n# " + std::string(64 << 20, 'x') + "\n",
      "bytes; the limit is 1048576");
}

TEST(ConfigHostile, TooManyOptionsAreRefused) {
  std::string yaml = "storage:\n  backend: memory\n  options:\n";
  for (int i = 0; i < 20000; ++i) {
    yaml += "    o" + std::to_string(i) + ": 1\n";
  }
  expect_bounded_error(yaml, "storage.options has more than 4096 entries");
}

TEST(ConfigHostile, BinaryJunkIsAClearError) {
  std::string junk;
  unsigned seed = 1;
  for (int i = 0; i < 100000; ++i) {
    seed = seed * 1103515245 + 12345;
    junk += static_cast<char>(seed >> 16);
  }
  expect_bounded_error(junk, "test.yaml");
  expect_bounded_error(std::string("storage:\n  backend: mem\0ory\n", 28),
                       "test.yaml:");
  expect_bounded_error(std::string(1000, '\0'), "test.yaml");
}

TEST(ConfigHostile, HugeSparseFileIsRefusedWithoutReadingIt) {
  test::TempDir dir;
  const auto file = dir / "sparse.yaml";
  { std::ofstream(file) << "storage:\n  backend: memory\n"; }
  ASSERT_EQ(truncate(file.c_str(), off_t{1} << 40), 0);  // 1 TiB, no blocks
  const BoundedResult r =
      run_bounded([&] { return load_config_file(file).status(); });
  EXPECT_TRUE(r.exited) << r.message;
  EXPECT_THAT(r.message, HasSubstr("bytes; the limit is 1048576"));
  EXPECT_LT(r.seconds, 10.0);
}

TEST(ConfigHostile, DevicesAndFifosAreNotRead) {
  // /dev/zero never ends; a FIFO would block forever.
  const BoundedResult zero =
      run_bounded([] { return load_config_file("/dev/zero").status(); });
  EXPECT_TRUE(zero.exited) << zero.message;
  EXPECT_THAT(zero.message, HasSubstr("/dev/zero: not a regular file"));
  test::TempDir dir;
  const auto fifo = dir / "fifo.yaml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const BoundedResult r =
      run_bounded([&] { return load_config_file(fifo).status(); });
  EXPECT_TRUE(r.exited) << r.message;
  EXPECT_THAT(r.message, HasSubstr("not a regular file"));
}

TEST(ConfigFile, RelativePathsAreRelativeToTheFile) {
  test::TempDir dir;
  const auto file = dir / "kalam.yaml";
  std::ofstream(file) << "storage:\n  backend: memory\n  path: db\n"
                         "  plugin_path: ../plugins\n";
  auto config = load_config_file(file);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->source, file.string());
  EXPECT_EQ(config->storage.path, dir.path() / "db");
  EXPECT_EQ(config->storage.plugin_path[0],
            (dir.path() / "../plugins").lexically_normal());
}

TEST(ConfigFile, ErrorsNameTheFile) {
  test::TempDir dir;
  const auto file = dir / "bad.yaml";
  std::ofstream(file) << "storage:\n  backend: memory\n  pth: x\n";
  auto config = load_config_file(file);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr(file.string() + ":3:3: unknown key 'pth'"));
}

TEST(ConfigFile, MissingFileSaysWhatToDo) {
  auto config = load_config_file("/nonexistent/kalam.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Code::kNotFound);
  EXPECT_THAT(config.status().message(),
              HasSubstr("/nonexistent/kalam.yaml: config file not found"));
}

TEST(ConfigFile, HugeFileIsRefusedBeforeParsing) {
  test::TempDir dir;
  const auto file = dir / "huge.yaml";
  {
    std::ofstream out(file);
    out << "storage:\n  backend: memory\n# ";
    out << std::string(2 << 20, 'x') << "\n";
  }
  auto config = load_config_file(file);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("the limit is"));
}

TEST(ConfigFile, BinaryJunkIsAClearError) {
  test::TempDir dir;
  const auto file = dir / "junk.yaml";
  {
    std::ofstream out(file, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 37) & 0xFF));
  }
  auto config = load_config_file(file);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr(file.string()));
}

}  // namespace
}  // namespace kalam
