// The YAML config: good files parse, and every mistake names the file, the
// line and the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/config.h>

#include <fstream>

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

TEST(Config, UnknownTopLevelKey) {
  auto config = parse("storage:\n  backend: memory\nstorge: {}\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(
      config.status().message(),
      HasSubstr("test.yaml:3:1: unknown key 'storge' in the top level"));
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
