// kalam info, plugins, stats and check.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "kalam_cli.h"

namespace kalam::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class InspectTest : public ::testing::TestWithParam<std::string> {
 protected:
  CliResult kalam(std::vector<std::string> args) {
    args.push_back("--config");
    args.push_back(config_);
    return run_kalam(dir_, args);
  }
  std::string ok(std::vector<std::string> args) {
    CliResult r = kalam(std::move(args));
    EXPECT_EQ(r.exit_code, 0) << r;
    return r.out;
  }
  void fill() {
    ok({"cf", "create", "users"});
    ok({"put", "--cf", "users", "alice", "1"});
    ok({"put", "--cf", "users", "bob", "2"});
    ok({"put", "greeting", "hello"});
  }

  TempDir dir_;
  std::string config_ = write_config(dir_, "db", GetParam());
};

TEST_P(InspectTest, InfoShowsBackendCapabilitiesManifestAndFamilies) {
  fill();
  const std::string text = ok({"info"});
  EXPECT_THAT(text, HasSubstr("backend:         " + GetParam() + "\n"));
  EXPECT_THAT(text,
              HasSubstr("plugin file:     " KALAM_TEST_PLUGIN_DIR "/kalam_" +
                        GetParam() + ".so\n"));
  EXPECT_THAT(text, HasSubstr("capabilities:    persistent"));
  EXPECT_THAT(text, HasSubstr("manifest:        "));
  EXPECT_THAT(text, HasSubstr("backend=" + GetParam()));
  EXPECT_THAT(text, HasSubstr("column families:\n  default  keys: ~1"));
  EXPECT_THAT(text, HasSubstr("\n  users  keys: ~2"));

  const auto info = nlohmann::json::parse(ok({"info", "--format", "json"}));
  EXPECT_EQ(info["backend"], GetParam());
  EXPECT_EQ(info["abi"], "1.2");  // every in-tree plugin speaks ABI 1.2
  EXPECT_EQ(info["opened_read_only"], true);
  EXPECT_EQ(info["manifest"]["backend"], GetParam());
  ASSERT_EQ(info["column_families"].size(), 2u);
  EXPECT_EQ(info["column_families"][1]["name"], "users");
  EXPECT_EQ(info["column_families"][1]["estimated_keys"], 2);
  EXPECT_TRUE(info["column_families"][1]["approximate_bytes"].is_number());
}

TEST_P(InspectTest, StatsShowsTheBackendPropertiesPerFamily) {
  fill();
  const std::string text = ok({"stats", "--cf", "users"});
  EXPECT_THAT(text, StartsWith("column family 'users':\n"));
  EXPECT_THAT(text, HasSubstr("  kalam.estimate-num-keys: 2\n"));
  EXPECT_THAT(text, HasSubstr("  kalam.approximate-bytes: "));
  EXPECT_THAT(text, HasSubstr("  kalam.stats:"));
  EXPECT_THAT(text, Not(HasSubstr("column family 'default'")));

  const std::vector<std::string> lines =
      lines_of(ok({"stats", "--format", "json", "--property", "no.such"}));
  ASSERT_EQ(lines.size(), 3u);  // default, users, engine counters
  const auto users = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(users["column_family"], "users");
  EXPECT_EQ(users["properties"]["kalam.estimate-num-keys"], "2");
  EXPECT_TRUE(users["properties"]["kalam.stats"].is_string());
  EXPECT_TRUE(users["properties"]["no.such"].is_null());
}

TEST_P(InspectTest, StatsShowsTheEngineCountersOfEveryWritableSession) {
  fill();  // four writable sessions: cf create, then three puts
  ok({"del", "bob", "--cf", "users"});
  const std::string text = ok({"stats"});
  EXPECT_THAT(text, HasSubstr("engine counters (KALAM_COUNTERS"));
  EXPECT_THAT(text, HasSubstr("\n  opens                         5  "));
  EXPECT_THAT(text, HasSubstr("\n  unclean_shutdowns             0  "));
  EXPECT_THAT(text, HasSubstr("\n  puts                          3  keys "));

  const std::vector<std::string> lines =
      lines_of(ok({"stats", "--format", "json"}));
  const auto engine = nlohmann::json::parse(lines.back())["engine_counters"];
  EXPECT_EQ(engine["opens"], 5);
  EXPECT_EQ(engine["clean_closes"], 5);
  EXPECT_EQ(engine["open"], false);
  EXPECT_EQ(engine["totals"]["puts"], 3);
  EXPECT_EQ(engine["totals"]["deletes"], 1);
  // alice/1, bob/2, greeting/hello, then the key bob deleted.
  EXPECT_EQ(engine["totals"]["bytes_written"], 6 + 4 + 13 + 3);
  EXPECT_EQ(engine["totals"]["errors"], 0);
}

TEST_P(InspectTest, CheckPassesOnAHealthyDatabase) {
  fill();
  CliResult r = kalam({"check"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<std::string> lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_THAT(lines[0], StartsWith("default: 1 entry, crc32 0x"));
  EXPECT_THAT(lines[0], testing::EndsWith(", ok"));
  EXPECT_THAT(lines[1], StartsWith("users: 2 entries, crc32 0x"));
  EXPECT_EQ(lines[2], "check: 2 column families, 3 entries, no problems");
  EXPECT_EQ(r.err, "");  // no progress line when stderr is not a terminal
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(InspectTest);
INSTANTIATE_TEST_SUITE_P(PersistentBackends, InspectTest,
                         ::testing::ValuesIn(persistent_backends()),
                         [](const auto& param) { return param.param; });

TEST(InspectMemory, InfoAndCheckWorkOnTheMemoryBackend) {
  TempDir dir;
  const std::string config = write_config(dir, "mem", "memory");
  CliResult info = run_kalam(dir, {"info", "--config", config});
  ASSERT_EQ(info.exit_code, 0) << info;
  EXPECT_THAT(info.out, HasSubstr("backend:         memory\n"));
  EXPECT_THAT(info.out,
              HasSubstr("not used: the backend keeps data in memory"));
  EXPECT_THAT(info.out, HasSubstr("manifest:        none\n"));
  CliResult check = run_kalam(dir, {"check", "--config", config});
  EXPECT_EQ(check.exit_code, 0) << check;
  EXPECT_THAT(check.out,
              HasSubstr("check: 1 column families, 0 entries, no problems"));
  CliResult stats = run_kalam(dir, {"stats", "--config", config});
  ASSERT_EQ(stats.exit_code, 0) << stats;
  EXPECT_THAT(stats.out,
              HasSubstr("engine counters: none (backend 'memory' is not "
                        "persistent: nothing is counted across processes)"));
}

TEST(Plugins, ListsEveryPluginOfThisBuild) {
  TempDir dir;
  const std::string config = write_config(dir, "db", "memory");
  CliResult r = run_kalam(dir, {"plugins", "--config", config});
  ASSERT_EQ(r.exit_code, 0) << r;
  r.out = "\n" + r.out;  // every plugin's line starts after a newline
  for (const auto& backend : built_backends()) {
    EXPECT_THAT(r.out, HasSubstr("\n" + backend + "  "))
        << backend << " missing from:\n"
        << r.out;
    EXPECT_THAT(r.out, HasSubstr("/kalam_" + backend + ".so\n"));
  }
  EXPECT_THAT(r.out, HasSubstr("    capabilities: atomic_batch"));
}

// The first directory of the search path wins: a plugin file of the same
// name later on the path is listed as shadowed, with where each came from.
TEST(Plugins, SaysWhereEachCameFromAndWhichAreShadowed) {
  TempDir dir;
  const std::filesystem::path copy_dir = dir / "copies";
  std::filesystem::create_directory(copy_dir);
  std::filesystem::copy_file(KALAM_TEST_PLUGIN_DIR "/kalam_memory.so",
                             copy_dir / "kalam_memory.so");
  CliResult r = run_kalam(dir, {"plugins", "--plugin-path", copy_dir.string(),
                                "--plugin-path", KALAM_TEST_PLUGIN_DIR});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr(copy_dir.string() +
                               "/kalam_memory.so\n    from: --plugin-path\n"));
  EXPECT_THAT(r.out, HasSubstr(KALAM_TEST_PLUGIN_DIR
                               "/kalam_memory.so\n    from: --plugin-path "
                               "(shadowed: a file of this name earlier on the "
                               "path is the one used)\n"));
  EXPECT_THAT(r.out, Not(HasSubstr(KALAM_TEST_PLUGIN_DIR
                                   "/kalam_lmdb.so\n    from: --plugin-path "
                                   "(shadowed")));
}

TEST(Plugins, ListsRefusedPluginsWithTheReason) {
  TempDir dir;
  CliResult r = run_kalam(
      dir, {"plugins", "--plugin-path", KALAM_TEST_BROKEN_PLUGIN_DIR});
  ASSERT_EQ(r.exit_code, 0) << r;
  r.out = "\n" + r.out;
  // kalam_valid.so loads; kalam_badmajor.so is refused for its ABI major.
  EXPECT_THAT(r.out, HasSubstr("\nvalid  "));
  EXPECT_THAT(r.out, HasSubstr("refused  " KALAM_TEST_BROKEN_PLUGIN_DIR
                               "/kalam_badmajor.so\n    from: --plugin-path\n"
                               "    reason: "));

  CliResult json =
      run_kalam(dir, {"plugins", "--plugin-path", KALAM_TEST_BROKEN_PLUGIN_DIR,
                      "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json;
  int loaded = 0, refused = 0;
  for (const auto& line : lines_of(json.out)) {
    const auto plugin = nlohmann::json::parse(line);
    if (plugin["loaded"] == true) {
      ++loaded;
      EXPECT_TRUE(plugin["capabilities"].is_array());
    } else {
      ++refused;
      EXPECT_FALSE(plugin["error"].get<std::string>().empty()) << line;
    }
  }
  EXPECT_GE(loaded, 1);
  EXPECT_GE(refused, 5);
}

#ifdef KALAM_HAVE_LYING_PLUGIN
// The fixture plugin seeds a=1, b=2, c=3 and its get() returns "two" for b
// and NOT_FOUND for c: check must find exactly those two problems.
TEST(Check, ReportsEveryValueThatDoesNotReadBack) {
  TempDir dir;
  const std::string config =
      write_config(dir, "db", "lying", KALAM_TOOLS_FIXTURE_PLUGIN_DIR);
  CliResult r = run_kalam(dir, {"check", "--config", config});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.out, HasSubstr("problem in column family 'default': key 'b': "
                               "get() returns 3 bytes that differ from the "
                               "iterator's 1"));
  EXPECT_THAT(r.out, HasSubstr("problem in column family 'default': key 'c' "
                               "is listed by the iterator but get() says: "
                               "NOT_FOUND"));
  EXPECT_THAT(r.out, HasSubstr("default: 3 entries, crc32 0x"));
  EXPECT_THAT(r.out, HasSubstr(", 2 problems\n"));
  EXPECT_EQ(r.err,
            "kalam: check found 2 problem(s) in column family 'default' "
            "(listed on stdout)\n");

  CliResult capped =
      run_kalam(dir, {"check", "--config", config, "--max-problems", "1"});
  EXPECT_EQ(capped.exit_code, 1) << capped;
  EXPECT_THAT(capped.out, HasSubstr("counted, not shown"));
}
#endif

}  // namespace
}  // namespace kalam::test
