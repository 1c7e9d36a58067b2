// The loader refuses every broken plugin with its own, readable reason that
// names the file (plugins built from tests/broken_plugins/broken_plugin.c).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/config.h>
#include <kalam/database.h>
#include <kalam/plugin.h>
#include <kalam/test_paths.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "temp_dir.h"

namespace kalam {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kBroken = KALAM_TEST_BROKEN_PLUGIN_DIR;
const fs::path kPlugins = KALAM_TEST_PLUGIN_DIR;
// Libraries that crash or hang while they are loaded.
const fs::path kHostile = KALAM_TEST_BINARY_DIR "/tests/hostile_plugins";

Status load_broken(const std::string& name) {
  return load_plugin(name, {kBroken}).status();
}

TEST(PluginLoader, ValidPluginLoadsAndNegotiates) {
  auto plugin = load_plugin("valid", {kBroken});
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  EXPECT_EQ((*plugin)->name(), "valid");
  EXPECT_EQ((*plugin)->abi_major(), KALAM_ABI_VERSION_MAJOR);
  EXPECT_EQ((*plugin)->file(), fs::canonical(kBroken / "kalam_valid.so"));
  // Loading again returns the same, never-unloaded plugin.
  auto again = load_plugin("valid", {kBroken});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(plugin->get(), again->get());
}

TEST(PluginLoader, MissingPluginListsWhereItLookedAndWhatExists) {
  Status s = load_plugin("nosuch", {kBroken}).status();
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("no plugin for backend 'nosuch'"));
  EXPECT_THAT(s.message(), HasSubstr((kBroken / "kalam_nosuch.so").string()));
  EXPECT_THAT(s.message(), HasSubstr("available: "));
  EXPECT_THAT(s.message(), HasSubstr("valid"));
}

TEST(PluginLoader, MissingFile) {
  Status s = load_plugin_file(kBroken / "kalam_absent.so").status();
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("kalam_absent.so: file not found"));
}

TEST(PluginLoader, NotASharedObject) {
  test::TempDir dir;
  const fs::path file = dir / "kalam_text.so";
  std::ofstream(file) << std::string(256, 'x');
  Status s = load_plugin("text", {dir.path()}).status();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(fs::canonical(file).string()));
  EXPECT_THAT(s.message(), HasSubstr("cannot be loaded as a shared library"));
  // dlerror()'s own words reach the user.
  EXPECT_THAT(s.message(), HasSubstr("invalid ELF header"));
}

TEST(PluginLoader, LibraryWithoutEntrySymbol) {
  Status s = load_broken("noentry");
  EXPECT_THAT(s.message(), HasSubstr("kalam_noentry.so"));
  EXPECT_THAT(s.message(),
              HasSubstr("is not a Kalam plugin: it does not export "
                        "kalam_plugin_entry"));
}

TEST(PluginLoader, WrongAbiMajor) {
  Status s = load_broken("badmajor");
  EXPECT_EQ(s.code(), Code::kAbiMismatch);
  EXPECT_THAT(s.message(), HasSubstr("kalam_badmajor.so"));
  // The broken plugin reports major 2 and this header's minor.
  EXPECT_THAT(s.message(), HasSubstr("built for ABI 2." +
                                     std::to_string(KALAM_ABI_VERSION_MINOR) +
                                     ", but this engine speaks ABI major 1"));
}

TEST(PluginLoader, PluginMinorAboveHost) {
  Status s = load_broken("newminor");
  EXPECT_EQ(s.code(), Code::kAbiMismatch);
  EXPECT_THAT(s.message(), HasSubstr("kalam_newminor.so"));
  EXPECT_THAT(s.message(), HasSubstr("newer than this engine understands"));
}

TEST(PluginLoader, FunctionTableTooSmall) {
  Status s = load_broken("smalltable");
  EXPECT_EQ(s.code(), Code::kAbiMismatch);
  EXPECT_THAT(s.message(), HasSubstr("kalam_smalltable.so"));
  EXPECT_THAT(s.message(), HasSubstr("function table is 16 bytes, smaller "
                                     "than the 224 bytes of ABI 1.0"));
}

TEST(PluginLoader, PointerSizeMismatch) {
  Status s = load_broken("ptrsize");
  EXPECT_EQ(s.code(), Code::kAbiMismatch);
  EXPECT_THAT(s.message(), HasSubstr("kalam_ptrsize.so"));
  EXPECT_THAT(s.message(), HasSubstr("4-byte pointers"));
}

TEST(PluginLoader, NameDiffersFromConfig) {
  Status s = load_broken("misnamed");
  EXPECT_THAT(s.message(), HasSubstr("kalam_misnamed.so"));
  EXPECT_THAT(s.message(),
              HasSubstr("reports backend name 'someone_else', but the config "
                        "asks for 'misnamed'"));
}

TEST(PluginLoader, EntryRefusesWithItsOwnReason) {
  Status s = load_broken("refuses");
  EXPECT_EQ(s.code(), Code::kAbiMismatch);
  EXPECT_THAT(s.message(), HasSubstr("kalam_refuses.so refused to load: this "
                                     "plugin needs ABI major 7"));
}

TEST(PluginLoader, RequiredFunctionMissing) {
  Status s = load_broken("nullfn");
  EXPECT_THAT(s.message(), HasSubstr("kalam_nullfn.so"));
  EXPECT_THAT(s.message(), HasSubstr("entry 'write' is NULL"));
}

TEST(PluginLoader, NameWithSlashOrDotDotIsRefused) {
  Status slash = load_plugin("../broken_plugins/valid", {kBroken}).status();
  EXPECT_EQ(slash.code(), Code::kInvalidArgument);
  EXPECT_THAT(slash.message(), HasSubstr("contains '/'"));
  Status dots = load_plugin("..valid", {kBroken}).status();
  EXPECT_THAT(dots.message(), HasSubstr("contains '..'"));
  Status upper = load_plugin("Valid", {kBroken}).status();
  EXPECT_THAT(upper.message(), HasSubstr("only lowercase letters"));
  EXPECT_THAT(load_plugin("", {kBroken}).status().message(),
              HasSubstr("empty"));
}

TEST(PluginLoader, SymlinkOutOfThePluginDirectoryIsRefused) {
  test::TempDir dir;
  fs::create_symlink(fs::canonical(kBroken / "kalam_valid.so"),
                     dir / "kalam_valid.so");
  Status s = load_plugin("valid", {dir.path()}).status();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("outside the plugin directory"));
}

TEST(PluginLoader, FileWritableByOthersIsRefused) {
  test::TempDir dir;
  const fs::path copy = dir / "kalam_valid.so";
  fs::copy_file(kBroken / "kalam_valid.so", copy);
  ASSERT_EQ(chmod(copy.c_str(), 0666), 0);
  Status s = load_plugin("valid", {dir.path()}).status();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("writable by other users"));
  EXPECT_THAT(s.message(), HasSubstr("chmod go-w"));
}

// Regression: calling a data object as the entry function was a SIGSEGV in
// `kalam info` and `kalam plugins`.
TEST(PluginLoader, EntrySymbolThatIsDataIsRefused) {
  Status s = load_plugin("dataentry", {kBroken}).status();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("kalam_dataentry.so"));
  EXPECT_THAT(s.message(), HasSubstr("as a data object, not a function"));
}

// A directory others may write lets them rename a file over the plugin,
// whatever the file's own mode: refused, a sticky one (like /tmp) too.
TEST(PluginLoader, DirectoryWritableByOthersIsRefused) {
  for (mode_t mode : {0777, 01777, 0775, 0757}) {
    test::TempDir dir;
    fs::copy_file(kBroken / "kalam_valid.so", dir / "kalam_valid.so");
    ASSERT_EQ(chmod(dir.path().c_str(), mode), 0);
    Status s = load_plugin("valid", {dir.path()}).status();
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << std::oct << mode;
    EXPECT_THAT(s.message(), HasSubstr("its directory " + dir.path().string()));
    EXPECT_THAT(s.message(), HasSubstr("writable by other users"));
    EXPECT_THAT(s.message(), HasSubstr("chmod go-w " + dir.path().string()));
    ASSERT_EQ(chmod(dir.path().c_str(), 0700), 0);
    EXPECT_TRUE(load_plugin_file(dir / "kalam_valid.so", "valid").ok());
  }
}

TEST(PluginLoader, FileOwnedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  test::TempDir dir;
  const fs::path copy = dir / "kalam_valid.so";
  fs::copy_file(kBroken / "kalam_valid.so", copy);
  ASSERT_EQ(chown(copy.c_str(), 12345, 12345), 0);
  Status s = load_plugin("valid", {dir.path()}).status();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("owned by uid 12345"));
  EXPECT_THAT(s.message(), HasSubstr("chown root " + copy.string()));
}

// Regression: discover_plugins() loaded every file in-process, so one whose
// constructor crashed or hung took `kalam plugins` down with it.
TEST(PluginLoader, DiscoverReportsPluginsThatCrashOrHangWhileLoading) {
  const auto started = std::chrono::steady_clock::now();
  auto found = discover_plugins({kHostile});
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].plugin, nullptr);
  EXPECT_THAT(found[0].status.message(), HasSubstr("kalam_crashctor.so"));
  EXPECT_THAT(found[0].status.message(),
              HasSubstr("crashed while loading in a probe process (signal " +
                        std::to_string(SIGSEGV)));
  EXPECT_EQ(found[1].plugin, nullptr);
  EXPECT_THAT(found[1].status.message(), HasSubstr("kalam_hangctor.so"));
  EXPECT_THAT(found[1].status.message(),
              HasSubstr("did not finish loading within 5 s"));
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(20));
}

TEST(PluginLoader, DiscoverListsGoodAndBrokenPlugins) {
  auto found = discover_plugins({kBroken});
  ASSERT_GE(found.size(), 9u);
  int refused = 0;
  std::vector<std::string> loaded;
  for (const auto& candidate : found) {
    if (candidate.plugin) {
      loaded.push_back(candidate.plugin->name());
    } else {
      ++refused;
      EXPECT_FALSE(candidate.status.ok());
      EXPECT_FALSE(candidate.status.message().empty());
    }
  }
  // kalam_reduced.so (sorted by file name) and kalam_valid.so load.
  EXPECT_EQ(loaded, (std::vector<std::string>{"reduced", "valid"}));
  EXPECT_EQ(refused, static_cast<int>(found.size()) - 2);
}

TEST(PluginLoader, EveryInTreePluginLoads) {
  for (const std::string& name :
       std::vector<std::string>{KALAM_TEST_PLUGIN_NAMES}) {
    auto plugin = load_plugin(name, {kPlugins});
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    EXPECT_EQ((*plugin)->name(), name);
    EXPECT_FALSE((*plugin)->version().empty());
  }
}

// Sets KALAM_PLUGIN_PATH for one test and restores what was there.
class ScopedPluginPath {
 public:
  explicit ScopedPluginPath(const char* value) {
    if (const char* old = std::getenv(kPluginPathVariable)) saved_ = old;
    if (value != nullptr) {
      setenv(kPluginPathVariable, value, 1);
    } else {
      unsetenv(kPluginPathVariable);
    }
  }
  ~ScopedPluginPath() {
    if (saved_) {
      setenv(kPluginPathVariable, saved_->c_str(), 1);
    } else {
      unsetenv(kPluginPathVariable);
    }
  }

 private:
  std::optional<std::string> saved_;
};

TEST(PluginSearchPath, EnvironmentDirectoriesComeFirstThenTheConfigured) {
  ScopedPluginPath env("/env/a::/env/b:");
  const std::vector<PluginDir> path = plugin_search_path({"/config/c"});
  ASSERT_EQ(path.size(), 3u);
  EXPECT_EQ(path[0].dir, "/env/a");
  EXPECT_EQ(path[0].origin, PluginDirOrigin::kEnvironment);
  EXPECT_EQ(path[1].dir, "/env/b");
  EXPECT_EQ(path[1].origin, PluginDirOrigin::kEnvironment);
  EXPECT_EQ(path[2].dir, "/config/c");
  EXPECT_EQ(path[2].origin, PluginDirOrigin::kConfig);
  EXPECT_EQ(plugin_dirs(path),
            (std::vector<fs::path>{"/env/a", "/env/b", "/config/c"}));
  EXPECT_EQ(plugin_dir_origin_name(path[0].origin), "KALAM_PLUGIN_PATH");
  EXPECT_EQ(plugin_dir_origin_name(path[2].origin), "storage.plugin_path");
}

TEST(PluginSearchPath, NothingConfiguredMeansTheDefault) {
  ScopedPluginPath env(nullptr);
  const std::vector<PluginDir> path = plugin_search_path({});
  ASSERT_EQ(path.size(), 1u);
  EXPECT_EQ(path[0].dir, default_plugin_dir());
  EXPECT_EQ(path[0].origin, PluginDirOrigin::kDefault);
  EXPECT_EQ(plugin_dir_origin_name(path[0].origin), "default");
}

// This test links the build tree's libkalam.so, whose default is the build
// tree's own plugins.
TEST(PluginSearchPath, TheBuildTreeDefaultIsTheTreesPlugins) {
  EXPECT_TRUE(fs::equivalent(default_plugin_dir(), kPlugins))
      << default_plugin_dir() << " is not " << kPlugins;
}

TEST(PluginSearchPath, EnvironmentFindsAPluginTheConfigDoesNot) {
  test::TempDir empty;
  StorageConfig config;
  config.backend = "memory";
  config.path = empty / "data";
  config.plugin_path = {empty.path()};
  {
    ScopedPluginPath env(nullptr);
    auto refused = Database::open(config);
    ASSERT_FALSE(refused.ok());
    EXPECT_TRUE(refused.status().is_not_found()) << refused.status();
    EXPECT_THAT(refused.status().message(),
                HasSubstr("no plugin for backend 'memory'"));
  }
  ScopedPluginPath env(KALAM_TEST_PLUGIN_DIR);
  auto opened = Database::open(config);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ((*opened)->plugin().file(),
            fs::canonical(kPlugins / "kalam_memory.so"));
}

TEST(CapabilityNames, InBitOrder) {
  EXPECT_EQ(capability_names(KALAM_CAP_SNAPSHOTS | KALAM_CAP_PERSISTENT),
            (std::vector<std::string>{"persistent", "snapshots"}));
  EXPECT_TRUE(capability_names(0).empty());
}

}  // namespace
}  // namespace kalam
