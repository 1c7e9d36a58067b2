// kalam dump and kalam load: round trips between every pair of persistent
// backends, the documented file layout, and refusals: damaged or truncated
// dumps (nothing written), non-empty destinations, overwriting a dump.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "kalam_cli.h"

namespace kalam::test {
namespace {

using ::testing::HasSubstr;

// Runs kalam and expects exit 0; returns stdout.
std::string ok(const TempDir& dir, const std::vector<std::string>& args,
               const std::filesystem::path& stdin_file = "/dev/null") {
  CliResult r = run_kalam(dir, args, stdin_file);
  EXPECT_EQ(r.exit_code, 0) << r;
  return r.out;
}

// Fills the database of `config` with three families: 'default' (text and
// binary keys, an empty value, a 100 KB value), 'users' (50 entries), and
// 'empty'.
void fill(const TempDir& dir, const std::string& config) {
  SeedFamily users{"users", {}};
  for (int i = 0; i < 50; ++i) {
    users.entries["user:" + std::to_string(1000 + i)] =
        "{\"n\": " + std::to_string(i) + "}";
  }
  seed(dir, config,
       {{"default",
         {{"greeting", "hello"},
          {std::string("\x00\xff\x00", 3), std::string("\xff\x00\xff", 3)},
          {"empty-value", ""},
          {"big", std::string(100 * 1024, 'x') + "end"}}},
        users,
        {"empty", {}}});
}

// Everything `config`'s database holds, backend-independently: its family
// list, each family as hex JSON lines, and check's per-family digests.
std::string contents(const TempDir& dir, const std::string& config) {
  std::string out = ok(dir, {"cf", "list", "--config", config});
  for (const auto& family : lines_of(out)) {
    out +=
        "== " + family + "\n" +
        ok(dir, {"scan", "--cf", family, "--format", "json", "--key-encoding",
                 "hex", "--value-encoding", "hex", "--config", config});
  }
  out += ok(dir, {"check", "--config", config});
  return out;
}

class DumpLoadTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DumpLoadTest, RoundTripIntoEveryBackendKeepsEveryByte) {
  TempDir dir;
  const std::string source = write_config(dir, "source", GetParam());
  fill(dir, source);
  const std::string expected = contents(dir, source);
  ASSERT_THAT(expected, HasSubstr("== empty\n== users\n"));

  const std::string dump = (dir / "all.kdump").string();
  EXPECT_THAT(
      ok(dir, {"dump", dump, "--config", source}),
      HasSubstr("dumped 3 column families, 54 entries to " + dump + " ("));
  EXPECT_FALSE(std::filesystem::exists(dump + ".partial"));

  for (const auto& backend : persistent_backends()) {
    SCOPED_TRACE("load into " + backend);
    const std::string target = write_config(dir, "into-" + backend, backend);
    EXPECT_THAT(ok(dir, {"load", dump, "--config", target}),
                HasSubstr("loaded 3 column families, 54 entries from " + dump));
    EXPECT_EQ(contents(dir, target), expected);
  }
  // The memory backend loads it too (and verifies it), for what one run is
  // worth.
  const std::string memory = write_config(dir, "into-memory", "memory");
  EXPECT_THAT(ok(dir, {"load", dump, "--config", memory}),
              HasSubstr("loaded 3 column families, 54 entries"));
}

TEST_P(DumpLoadTest, ThroughStandardOutputAndInput) {
  TempDir dir;
  const std::string source = write_config(dir, "source", GetParam());
  fill(dir, source);
  // `kalam dump -` writes the dump on stdout and its summary on stderr.
  CliResult dumped = run_kalam(dir, {"dump", "-", "--config", source});
  ASSERT_EQ(dumped.exit_code, 0) << dumped.err;
  EXPECT_EQ(dumped.out.substr(0, 8), "KALAMDMP");
  EXPECT_THAT(dumped.err, HasSubstr("kalam: dumped 3 column families"));
  write_file(dir / "piped.kdump", dumped.out);

  // Standard input redirected from a file (verified before loading)...
  const std::string target = write_config(dir, "target", GetParam());
  ok(dir, {"load", "-", "--config", target}, dir / "piped.kdump");
  EXPECT_EQ(contents(dir, target), contents(dir, source));

  // ...and a real pipe (verified while loading).
  const std::string piped = write_config(dir, "piped", GetParam());
  CliResult pipeline = run_shell(dir, "$KALAM dump - --config " + source +
                                          " | $KALAM load - --config " + piped);
  ASSERT_EQ(pipeline.exit_code, 0) << pipeline;
  EXPECT_THAT(pipeline.out, HasSubstr("loaded 3 column families, 54 entries "
                                      "from <stdin>"));
  EXPECT_EQ(contents(dir, piped), contents(dir, source));
}

TEST_P(DumpLoadTest, OnlyTheChosenFamilies) {
  TempDir dir;
  const std::string source = write_config(dir, "source", GetParam());
  fill(dir, source);
  const std::string dump = (dir / "users.kdump").string();
  ok(dir, {"dump", dump, "--cf", "users", "--config", source});
  const std::string target = write_config(dir, "target", GetParam());
  ok(dir, {"load", dump, "--config", target});
  EXPECT_EQ(ok(dir, {"cf", "list", "--config", target}), "default\nusers\n");
  EXPECT_EQ(
      lines_of(ok(dir, {"scan", "--cf", "users", "--config", target})).size(),
      50u);
  EXPECT_EQ(ok(dir, {"scan", "--config", target}), "");
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DumpLoadTest);
INSTANTIATE_TEST_SUITE_P(PersistentBackends, DumpLoadTest,
                         ::testing::ValuesIn(persistent_backends()),
                         [](const auto& param) { return param.param; });

// The rest use the first persistent backend; they test the tool, not the
// backend.
class DumpFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (persistent_backends().empty()) GTEST_SKIP() << "no persistent plugin";
    backend_ = persistent_backends().front();
    source_ = write_config(dir_, "source", backend_);
    fill(dir_, source_);
    dump_ = (dir_ / "all.kdump").string();
    summary_ = ok(dir_, {"dump", dump_, "--config", source_});
    bytes_ = read_file(dump_);
  }

  TempDir dir_;
  std::string backend_, source_, dump_, bytes_, summary_;
};

uint64_t le(const std::string& bytes, size_t offset, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
  }
  return value;
}

uint32_t crc_of(const std::string& bytes, size_t size) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()),
            static_cast<uInt>(size)));
}

// docs/dump-format.md, checked from outside the tool.
TEST_F(DumpFileTest, FileMatchesTheDocumentedLayout) {
  ASSERT_GT(bytes_.size(), 8u + 4 + 4 + 4 + 25);
  EXPECT_EQ(bytes_.substr(0, 8), "KALAMDMP");
  EXPECT_EQ(le(bytes_, 8, 4), 2u);  // format version
  const size_t meta_size = le(bytes_, 12, 4);
  const size_t header_size = 16 + meta_size;
  const auto meta = nlohmann::json::parse(bytes_.substr(16, meta_size));
  EXPECT_EQ(meta["format"], "kalam-dump");
  EXPECT_EQ(meta["source"]["backend"], backend_);
  EXPECT_EQ(meta["snapshot"], true);
  EXPECT_EQ(meta["column_families"],
            nlohmann::json({"default", "empty", "users"}));
  EXPECT_EQ(le(bytes_, header_size, 4), crc_of(bytes_, header_size));
  // The first family record.
  EXPECT_EQ(bytes_[header_size + 4], 'F');
  EXPECT_EQ(le(bytes_, header_size + 5, 4), 7u);
  EXPECT_EQ(bytes_.substr(header_size + 9, 7), "default");
  // The trailer: 'Z', families, entries, cold segments and records (none:
  // no tables), CRC-32 of everything before it.
  const size_t trailer = bytes_.size() - 37;
  EXPECT_EQ(bytes_[trailer], 'Z');
  EXPECT_EQ(le(bytes_, trailer + 1, 8), 3u);
  EXPECT_EQ(le(bytes_, trailer + 9, 8), 54u);
  EXPECT_EQ(le(bytes_, trailer + 17, 8), 0u);
  EXPECT_EQ(le(bytes_, trailer + 25, 8), 0u);
  const uint32_t file_crc = crc_of(bytes_, trailer + 33);
  EXPECT_EQ(le(bytes_, trailer + 33, 4), file_crc);
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08x", file_crc);
  EXPECT_THAT(summary_, HasSubstr(std::string(", crc32 ") + hex + ")\n"));
}

TEST_F(DumpFileTest, DamagedDumpIsRefusedBeforeAnythingIsWritten) {
  // One byte of the 100 KB value, in the middle of the file.
  std::string damaged = bytes_;
  damaged[damaged.size() / 2] ^= 0x01;
  write_file(dir_ / "damaged.kdump", damaged);
  const std::string target = write_config(dir_, "target", backend_);
  CliResult r = run_kalam(
      dir_, {"load", (dir_ / "damaged.kdump").string(), "--config", target});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("damaged.kdump is damaged at byte "));
  EXPECT_THAT(r.err, HasSubstr("column family 'default' should hold 4 "
                               "entries with crc32"));
  EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
  // Verified before opening: not even an empty database was created.
  EXPECT_FALSE(std::filesystem::exists(data_dir(dir_, "target")));
}

TEST_F(DumpFileTest, TruncatedDumpIsRefusedBeforeAnythingIsWritten) {
  write_file(dir_ / "short.kdump", bytes_.substr(0, bytes_.size() - 10));
  const std::string target = write_config(dir_, "target", backend_);
  CliResult r = run_kalam(
      dir_, {"load", (dir_ / "short.kdump").string(), "--config", target});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("the file ends inside the trailer"));
  EXPECT_FALSE(std::filesystem::exists(data_dir(dir_, "target")));

  // Standard input redirected from a file is verified first too.
  CliResult redirected =
      run_kalam(dir_, {"load", "-", "--config", target}, dir_ / "short.kdump");
  EXPECT_EQ(redirected.exit_code, 1) << redirected;
  EXPECT_THAT(redirected.err, HasSubstr("dump <stdin> is damaged at byte"));
  EXPECT_FALSE(std::filesystem::exists(data_dir(dir_, "target")));
}

TEST_F(DumpFileTest, TruncatedDumpOnStandardInputSaysWhatWasWritten) {
  // Cut inside 'users' (the last family): 'default' and 'empty' are
  // complete by then.
  write_file(dir_ / "short.kdump", bytes_.substr(0, bytes_.size() - 200));
  const std::string target = write_config(dir_, "target", backend_);
  // Through a pipe, so the dump cannot be verified before loading.
  CliResult r = run_shell(dir_, "cat " + (dir_ / "short.kdump").string() +
                                    " | $KALAM load - --config " + target);
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("dump <stdin> is damaged at byte"));
  EXPECT_THAT(r.err, HasSubstr("The load stopped; what it wrote stays in "
                               "data directory "));
  EXPECT_THAT(r.err, HasSubstr(": 4 entries: 'default' complete (4), 'empty' "
                               "complete (0), 'users' created, empty; drop "
                               "those column families"));
  EXPECT_EQ(lines_of(r.err).size(), 1u) << r.err;
}

TEST_F(DumpFileTest, NotADump) {
  const std::string target = write_config(dir_, "target", backend_);
  CliResult r = run_kalam(dir_, {"load", source_, "--config", target});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("is not a kalam dump"));
  CliResult missing = run_kalam(
      dir_, {"load", (dir_ / "nope.kdump").string(), "--config", target});
  EXPECT_EQ(missing.exit_code, 2) << missing;
  EXPECT_THAT(missing.err, HasSubstr("nope.kdump' does not exist"));
}

TEST_F(DumpFileTest, LoadRefusesADatabaseWithDataUnlessAllowed) {
  const std::string target = write_config(dir_, "target", backend_);
  ok(dir_, {"put", "greeting", "mine", "--config", target});
  ok(dir_, {"put", "zzz", "keep", "--config", target});
  CliResult refused = run_kalam(dir_, {"load", dump_, "--config", target});
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_THAT(refused.err, HasSubstr("refuses to write into a database that "
                                     "holds data"));
  EXPECT_THAT(refused.err, HasSubstr("column family 'default'"));
  EXPECT_THAT(refused.err, HasSubstr("--allow-non-empty"));
  EXPECT_EQ(ok(dir_, {"get", "greeting", "--config", target}), "mine\n");

  ok(dir_, {"load", dump_, "--allow-non-empty", "--config", target});
  EXPECT_EQ(ok(dir_, {"get", "greeting", "--config", target}), "hello\n");
  EXPECT_EQ(ok(dir_, {"get", "zzz", "--config", target}), "keep\n");
}

TEST_F(DumpFileTest, DumpRefusesToOverwriteUnlessForced) {
  CliResult r = run_kalam(dir_, {"dump", dump_, "--config", source_});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("exists; pass --force to overwrite it"));
  EXPECT_EQ(read_file(dump_), bytes_);
  ok(dir_, {"put", "new", "key", "--config", source_});
  ok(dir_, {"dump", dump_, "--force", "--config", source_});
  EXPECT_NE(read_file(dump_), bytes_);
  EXPECT_FALSE(std::filesystem::exists(dump_ + ".partial"));
}

}  // namespace
}  // namespace kalam::test
