// kalam get/put/del/scan and cf list/create/drop, run as a separate process
// per command against a temporary database on every persistent backend (one
// run reads what another wrote). The memory backend's behaviour (nothing
// outlives a run) is covered at the end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kalam_cli.h"

namespace kalam::test {
namespace {

using ::testing::HasSubstr;

class KvCommandsTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Runs kalam with `args` plus --config of this test's database.
  CliResult kalam(std::vector<std::string> args,
                  const std::filesystem::path& stdin_file = "/dev/null") {
    args.push_back("--config");
    args.push_back(config_);
    return run_kalam(dir_, args, stdin_file);
  }
  // Runs kalam and expects exit 0; returns stdout.
  std::string ok(std::vector<std::string> args) {
    CliResult r = kalam(std::move(args));
    EXPECT_EQ(r.exit_code, 0) << r;
    return r.out;
  }

  TempDir dir_;
  std::string config_ = write_config(dir_, "db", GetParam());
};

TEST_P(KvCommandsTest, PutThenGetThenDel) {
  ok({"put", "alice", "{\"age\": 30}"});
  EXPECT_EQ(ok({"get", "alice"}), "{\"age\": 30}\n");
  ok({"put", "alice", "31"});  // overwrite
  EXPECT_EQ(ok({"get", "alice"}), "31\n");

  ok({"del", "alice", "never-there"});  // an absent key is not an error
  CliResult gone = kalam({"get", "alice"});
  EXPECT_EQ(gone.exit_code, 1) << gone;
  EXPECT_EQ(gone.err,
            "kalam: key 'alice' not found in column family 'default'\n");
  EXPECT_EQ(gone.out, "");
}

TEST_P(KvCommandsTest, KeysAndValuesInHexAndBase64) {
  // Key 00 ff 0a, value "hi\0there" (with a NUL byte).
  ok({"put", "--key-encoding", "hex", "00FF0a", "--value-encoding", "base64",
      "aGkAdGhlcmU="});
  EXPECT_EQ(ok({"get", "--key-encoding", "base64", "AP8K", "--value-encoding",
                "hex"}),
            "6869007468657265\n");
  EXPECT_EQ(ok({"get", "--key-encoding", "hex", "00ff0a", "--value-encoding",
                "base64", "--format", "json"}),
            "{\"key\":\"00ff0a\",\"value\":\"aGkAdGhlcmU=\"}\n");
  // Unpadded base64 is accepted too ("aGk" is "hi").
  ok({"put", "--value-encoding", "base64", "short", "aGk"});
  EXPECT_EQ(ok({"get", "short"}), "hi\n");
}

TEST_P(KvCommandsTest, ValueFromFileOrStandardInputIsTakenAsRawBytes) {
  std::string binary = "\x01\x02";
  binary += '\0';
  binary += "\xff tail\n";
  write_file(dir_ / "value.bin", binary);
  ok({"put", "photo", "--value-file", (dir_ / "value.bin").string()});
  CliResult from_stdin =
      kalam({"put", "piped", "--value-file", "-"}, dir_ / "value.bin");
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin;
  const std::string hex = "010200ff207461696c0a\n";
  EXPECT_EQ(ok({"get", "photo", "--value-encoding", "hex"}), hex);
  EXPECT_EQ(ok({"get", "piped", "--value-encoding", "hex"}), hex);

  CliResult both = kalam({"put", "k", "v", "--value-file", "-"});
  EXPECT_EQ(both.exit_code, 2) << both;
  EXPECT_THAT(both.err, HasSubstr("either as VALUE or with --value-file"));
}

TEST_P(KvCommandsTest, ScanHonoursPrefixBoundsReverseAndLimit) {
  for (const char* key : {"user:3", "user:1", "admin:1", "user:2", "zeta"}) {
    ok({"put", key, std::string("v-") + key});
  }
  EXPECT_EQ(ok({"scan"}),
            "admin:1\tv-admin:1\nuser:1\tv-user:1\nuser:2\tv-user:2\n"
            "user:3\tv-user:3\nzeta\tv-zeta\n");
  EXPECT_EQ(ok({"scan", "--prefix", "user:", "--keys-only"}),
            "user:1\nuser:2\nuser:3\n");
  EXPECT_EQ(ok({"scan", "--from", "user:2", "--to", "zeta", "--keys-only"}),
            "user:2\nuser:3\n");
  EXPECT_EQ(ok({"scan", "--reverse", "--limit", "2", "--keys-only"}),
            "zeta\nuser:3\n");
  EXPECT_EQ(ok({"scan", "--prefix", "user:", "--reverse", "--keys-only"}),
            "user:3\nuser:2\nuser:1\n");
  EXPECT_EQ(ok({"scan", "--prefix", "nobody"}), "");
  // Bounds in hex: "user:" is 75 73 65 72 3a.
  EXPECT_EQ(ok({"scan", "--key-encoding", "hex", "--prefix", "757365723a",
                "--limit", "1", "--keys-only"}),
            "757365723a31\n");
}

TEST_P(KvCommandsTest, ScanAsJsonLines) {
  ok({"put", "a", "1"});
  ok({"put", "--key-encoding", "hex", "00ff", "binary"});
  CliResult text_json = kalam({"scan", "--format", "json"});
  // A key that is not UTF-8 cannot be a JSON string as is: a clear error.
  EXPECT_EQ(text_json.exit_code, 1) << text_json;
  EXPECT_THAT(text_json.err, HasSubstr("not valid UTF-8"));
  EXPECT_THAT(text_json.err, HasSubstr("--key-encoding hex or base64"));

  std::vector<std::string> lines =
      lines_of(ok({"scan", "--format", "json", "--key-encoding", "base64"}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0]),
            nlohmann::json({{"key", "AP8="}, {"value", "binary"}}));
  EXPECT_EQ(nlohmann::json::parse(lines[1]),
            nlohmann::json({{"key", "YQ=="}, {"value", "1"}}));
}

TEST_P(KvCommandsTest, ColumnFamiliesCreateListDrop) {
  EXPECT_EQ(ok({"cf", "create", "users"}), "created column family 'users'\n");
  EXPECT_EQ(ok({"cf", "list"}), "default\nusers\n");
  EXPECT_EQ(nlohmann::json::parse(ok({"cf", "list", "--format", "json"})),
            nlohmann::json({"default", "users"}));

  CliResult again = kalam({"cf", "create", "users"});
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_THAT(again.err, HasSubstr("column family 'users' already exists"));

  ok({"put", "--cf", "users", "alice", "x"});
  EXPECT_EQ(ok({"get", "--cf", "users", "alice"}), "x\n");
  CliResult elsewhere = kalam({"get", "alice"});  // not in 'default'
  EXPECT_EQ(elsewhere.exit_code, 1) << elsewhere;

  CliResult holds_data = kalam({"cf", "drop", "users"});
  EXPECT_EQ(holds_data.exit_code, 1) << holds_data;
  EXPECT_THAT(holds_data.err, HasSubstr("holds data"));
  EXPECT_THAT(holds_data.err, HasSubstr("--force"));
  EXPECT_EQ(ok({"cf", "list"}), "default\nusers\n");

  EXPECT_EQ(ok({"cf", "drop", "users", "--force"}),
            "dropped column family 'users'\n");
  EXPECT_EQ(ok({"cf", "list"}), "default\n");

  ok({"cf", "create", "empty"});
  ok({"cf", "drop", "empty"});  // an empty family needs no --force
  EXPECT_EQ(ok({"cf", "list"}), "default\n");

  CliResult drop_default = kalam({"cf", "drop", "default"});
  EXPECT_EQ(drop_default.exit_code, 2) << drop_default;
  EXPECT_THAT(drop_default.err, HasSubstr("cannot be dropped"));
}

TEST_P(KvCommandsTest, ReadCommandsNeverCreateADatabase) {
  const std::filesystem::path data = data_dir(dir_, "db");
  for (std::vector<std::string> args : {std::vector<std::string>{"get", "k"},
                                        {"scan"},
                                        {"info"},
                                        {"stats"},
                                        {"check"},
                                        {"cf", "list"},
                                        {"dump", (dir_ / "x.kdump").string()},
                                        {"del", "k"},
                                        {"cf", "drop", "users"}}) {
    CliResult r = kalam(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r;
    EXPECT_THAT(r.err, HasSubstr("kalam: no Kalam database at data directory " +
                                 data.string()))
        << args[0];
    EXPECT_FALSE(std::filesystem::exists(data)) << args[0] << " created it";
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.kdump"));
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(KvCommandsTest);
INSTANTIATE_TEST_SUITE_P(PersistentBackends, KvCommandsTest,
                         ::testing::ValuesIn(persistent_backends()),
                         [](const auto& param) { return param.param; });

// The memory backend keeps nothing between runs; writes say so.
TEST(KvCommandsMemory, WritesWarnThatNothingOutlivesTheRun) {
  TempDir dir;
  const std::string config = write_config(dir, "mem", "memory");
  CliResult put = run_kalam(dir, {"put", "k", "v", "--config", config});
  EXPECT_EQ(put.exit_code, 0) << put;
  EXPECT_THAT(put.err, HasSubstr("warning: backend 'memory' is not "
                                 "persistent"));
  CliResult get = run_kalam(dir, {"get", "k", "--config", config});
  EXPECT_EQ(get.exit_code, 1) << get;
  EXPECT_THAT(get.err, HasSubstr("not found"));
  CliResult scan = run_kalam(dir, {"scan", "--config", config});
  EXPECT_EQ(scan.exit_code, 0) << scan;
  EXPECT_EQ(scan.out, "");
}

}  // namespace
}  // namespace kalam::test
