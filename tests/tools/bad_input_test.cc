// Bad input to kalam: each is refused with one line on stderr that starts
// with "kalam: " and says what was wrong, and exit code 2 for a usage error
// (the command line) or 1 for an operational one. Also: --help of every
// subcommand shows an example, and the default config is ./kalam.yaml.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kalam_cli.h"

namespace kalam::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = persistent_backends().empty() ? "memory"
                                             : persistent_backends().front();
    config_ = write_config(dir_, "db", backend_);
    CliResult r = run_kalam(dir_, {"put", "k", "v", "--config", config_});
    ASSERT_EQ(r.exit_code, 0) << r;
  }
  // Runs kalam with --config and expects exit `code` and one stderr line
  // containing every one of `parts`.
  void expect_error(std::vector<std::string> args, int code,
                    const std::vector<std::string>& parts) {
    args.push_back("--config");
    args.push_back(config_);
    CliResult r = run_kalam(dir_, args);
    EXPECT_EQ(r.exit_code, code) << r;
    EXPECT_THAT(r.err, StartsWith("kalam: ")) << r;
    EXPECT_EQ(lines_of(r.err).size(), 1u) << r;
    for (const auto& part : parts) EXPECT_THAT(r.err, HasSubstr(part)) << r;
    EXPECT_EQ(r.out, "") << r;
  }

  TempDir dir_;
  std::string backend_;
  std::string config_;
};

TEST_F(BadInputTest, UnknownColumnFamily) {
  const std::vector<std::string> parts = {
      "unknown column family 'nope' in data directory",
      "'kalam cf list' shows the families, 'kalam cf create nope' makes one"};
  expect_error({"get", "--cf", "nope", "k"}, 1, parts);
  expect_error({"scan", "--cf", "nope"}, 1, parts);
  expect_error({"put", "--cf", "nope", "k", "v"}, 1, parts);
  expect_error({"del", "--cf", "nope", "k"}, 1, parts);
  expect_error({"dump", (dir_ / "x.kdump").string(), "--cf", "nope"}, 1, parts);
  expect_error({"cf", "drop", "nope"}, 1, parts);
  expect_error({"stats", "--cf", "nope"}, 1, parts);
}

// Regression: CLI11's PositiveNumber printed "Value 0 not in range 0.000000
// to 1797...(300 digits)", and values past 2^64 - 1 or below 0 passed.
TEST_F(BadInputTest, CountOptionsTakeWholeNumbersInRange) {
  const std::string top = "18446744073709551615";
  for (const char* bad : {"0", "-1", "abc", "1.5", "1e3", " 7", "+3",
                          "99999999999999999999", "18446744073709551616"}) {
    SCOPED_TRACE(bad);
    expect_error({"scan", "--limit", bad}, 2,
                 {"--limit", "must be a whole number from 1 to " + top,
                  std::string("not '") + bad + "'"});
    expect_error({"load", (dir_ / "none.kdump").string(), "--batch-size", bad},
                 2, {"--batch-size", "must be a whole number from 1 to"});
    expect_error({"migrate", "--to", config_, "--batch-size", bad}, 2,
                 {"--batch-size", "must be a whole number from 1 to " + top,
                  std::string("not '") + bad + "'"});
    expect_error({"table", "create", "app.t", "--kind", "user", "--column",
                  "id:int64", "--primary-key", "id", "--flush-rows", bad},
                 2,
                 {"--flush-rows", "must be a whole number from 1 to " + top,
                  std::string("not '") + bad + "'"});
    expect_error({"table", "create", "app.s", "--kind", "stream", "--column",
                  "page:string", "--max-rows", bad},
                 2,
                 {"--max-rows", "must be a whole number from 1 to " + top,
                  std::string("not '") + bad + "'"});
  }
  for (const char* bad : {"-1", "abc", "99999999999999999999"}) {
    SCOPED_TRACE(bad);
    expect_error({"check", "--max-problems", bad}, 2,
                 {"--max-problems", "must be a whole number from 0 to " + top});
  }
  CliResult ok = run_kalam(dir_, {"scan", "--limit", top, "--config", config_});
  EXPECT_EQ(ok.exit_code, 0) << ok;
  ok = run_kalam(dir_, {"check", "--max-problems", "0", "--config", config_});
  EXPECT_EQ(ok.exit_code, 0) << ok;
}

// Regression: "internal error: basic_filebuf::underflow".
TEST_F(BadInputTest, ValueFileThatIsADirectory) {
  expect_error({"put", "k", "--value-file", dir_.path().string()}, 2,
               {"--value-file '" + dir_.path().string() + "' is a directory"});
}

TEST_F(BadInputTest, MalformedHexAndBase64) {
  expect_error({"get", "--key-encoding", "hex", "6g"}, 2,
               {"malformed hex in the key '6g': invalid hex digit 'g' at "
                "position 2"});
  expect_error({"get", "--key-encoding", "hex", "abc"}, 2,
               {"malformed hex in the key 'abc': odd number of hex digits"});
  expect_error({"put", "k", "--value-encoding", "hex", "zz"}, 2,
               {"malformed hex in the value 'zz'"});
  expect_error({"scan", "--key-encoding", "hex", "--prefix", "0x12"}, 2,
               {"malformed hex in --prefix '0x12'"});
  expect_error({"get", "--key-encoding", "base64", "a*=="}, 2,
               {"malformed base64 in the key 'a*==': invalid base64 character "
                "'*' at position 2"});
  expect_error({"get", "--key-encoding", "base64", "abcde"}, 2,
               {"truncated base64"});
  expect_error({"get", "--key-encoding", "rot13", "k"}, 2,
               {"--key-encoding", "run 'kalam get --help' for usage"});
  expect_error({"put", "", "v"}, 2, {"the key is empty"});
}

TEST_F(BadInputTest, MissingConfig) {
  CliResult r = run_kalam(
      dir_, {"get", "k", "--config", (dir_ / "missing.yaml").string()});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_EQ(r.err, "kalam: config file '" + (dir_ / "missing.yaml").string() +
                       "' does not exist; pass --config FILE (default: "
                       "./kalam.yaml); see docs/cli.md for an example\n");

  // Without --config: ./kalam.yaml, which this directory lacks.
  TempDir empty;
  CliResult implicit = run_kalam(dir_, {"info"}, "/dev/null", empty.path());
  EXPECT_EQ(implicit.exit_code, 2) << implicit;
  EXPECT_THAT(implicit.err, HasSubstr("config file 'kalam.yaml' does not "
                                      "exist"));
}

TEST_F(BadInputTest, TheDefaultConfigIsKalamYamlInTheCurrentDirectory) {
  std::filesystem::copy_file(config_, dir_ / "kalam.yaml");
  CliResult r = run_kalam(dir_, {"get", "k"}, "/dev/null", dir_.path());
  EXPECT_EQ(r.exit_code, 0) << r;
  if (backend_ != "memory") {
    EXPECT_EQ(r.out, "v\n");
  }
}

TEST_F(BadInputTest, InvalidConfigNamesFileLineAndKey) {
  write_file(dir_ / "typo.yaml", "storage:\n  backnd: rocksdb\n");
  CliResult r =
      run_kalam(dir_, {"info", "--config", (dir_ / "typo.yaml").string()});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, StartsWith("kalam: "));
  EXPECT_THAT(r.err, HasSubstr("typo.yaml:2:3: unknown key 'backnd'"));
}

TEST_F(BadInputTest, UnknownPluginSaysWhereItLooked) {
  write_file(dir_ / "other.yaml",
             "storage:\n  backend: nosuchdb\n  path: x\n  plugin_path: [" +
                 std::string(KALAM_TEST_PLUGIN_DIR) + "]\n");
  CliResult r =
      run_kalam(dir_, {"info", "--config", (dir_ / "other.yaml").string()});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("kalam: cannot load backend 'nosuchdb'"));
  CliResult verbose = run_kalam(
      dir_, {"info", "--verbose", "--config", (dir_ / "other.yaml").string()});
  EXPECT_THAT(verbose.err, HasSubstr("kalam: detail: plugin_path: " +
                                     std::string(KALAM_TEST_PLUGIN_DIR)));
}

TEST_F(BadInputTest, UnknownSubcommandOptionOrMissingArgument) {
  CliResult unknown = run_kalam(dir_, {"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown;
  EXPECT_EQ(unknown.err,
            "kalam: unknown subcommand 'frobnicate'; run 'kalam --help' for "
            "the list\n");
  CliResult nested = run_kalam(dir_, {"cf", "rename", "a", "b"});
  EXPECT_EQ(nested.exit_code, 2) << nested;
  EXPECT_THAT(nested.err, HasSubstr("unknown subcommand 'rename' of 'kalam "
                                    "cf'"));
  CliResult table = run_kalam(dir_, {"table", "rename", "a.b"});
  EXPECT_EQ(table.exit_code, 2) << table;
  EXPECT_THAT(table.err, HasSubstr("unknown subcommand 'rename' of 'kalam "
                                   "table'"));

  CliResult none = run_kalam(dir_, {});
  EXPECT_EQ(none.exit_code, 2) << none;
  EXPECT_THAT(none.err, HasSubstr("subcommand is required"));

  expect_error({"scan", "--bogus"}, 2,
               {"--bogus", "run 'kalam scan --help' for usage"});
  expect_error({"get"}, 2, {"KEY is required"});
  expect_error({"select"}, 2, {"TABLE is required"});
  expect_error({"scan", "--limit", "0"}, 2, {"--limit"});
  expect_error({"scan", "--format", "xml"}, 2, {"--format"});
}

TEST(Help, EverySubcommandHasHelpWithAnExample) {
  TempDir dir;
  for (std::vector<std::string> command : {std::vector<std::string>{"info"},
                                           {"plugins"},
                                           {"cf"},
                                           {"cf", "list"},
                                           {"cf", "create"},
                                           {"cf", "drop"},
                                           {"get"},
                                           {"put"},
                                           {"del"},
                                           {"scan"},
                                           {"stats"},
                                           {"check"},
                                           {"dump"},
                                           {"load"},
                                           {"migrate"},
                                           {"ns"},
                                           {"ns", "create"},
                                           {"ns", "list"},
                                           {"ns", "drop"},
                                           {"table"},
                                           {"table", "create"},
                                           {"table", "list"},
                                           {"table", "describe"},
                                           {"table", "drop"},
                                           {"insert"},
                                           {"select"},
                                           {"update"},
                                           {"delete"},
                                           {"flush"}}) {
    std::string name = "kalam";
    for (const auto& word : command) name += " " + word;
    command.push_back("--help");
    CliResult r = run_kalam(dir, command);
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r;
    EXPECT_THAT(r.out, HasSubstr("Usage: " + name)) << r;
    EXPECT_THAT(r.out, HasSubstr("--config FILE")) << name;
    EXPECT_THAT(r.out, HasSubstr("\nExample:\n  " + name)) << name;
  }
  CliResult top = run_kalam(dir, {"--help"});
  EXPECT_EQ(top.exit_code, 0) << top;
  for (const char* name :
       {"info", "plugins", "cf", "get", "put", "del", "scan", "stats", "check",
        "dump", "load", "migrate", "ns", "table", "insert", "select", "update",
        "delete", "flush"}) {
    EXPECT_THAT(top.out, HasSubstr("\n  " + std::string(name) + " "));
  }
}

}  // namespace
}  // namespace kalam::test
