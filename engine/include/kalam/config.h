// The engine's configuration, read from YAML:
//
//   storage:
//     backend: rocksdb        # memory | rocksdb | lmdb | sqlite | any plugin
//     path: ./data            # data directory
//     plugin_path: [./plugins]  # optional; KALAM_PLUGIN_PATH is searched first
//     read_only: false
//     check_iterators: true   # verify the plugin's key order and bounds
//     options:                # handed to the plugin as flat key/value strings
//       block_cache_size: 64MiB
//   tables:                   # optional: the table layer
//     cold_path: ./cold       # the cold tier; default <storage.path>/cold
//
// Relative paths are relative to the directory of the config file (for text
// parsed without a file: to the current directory).
#pragma once

#include <kalam/status.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kalam {

// One backend option, flattened: nested keys joined by '.', lists by ','.
struct BackendOption {
  std::string key;
  std::string value;
  int line = 0;  // 1-based line in the config file, 0 when not from a file
};

struct StorageConfig {
  // The plugin's name: the <name> of kalam_<name>.so.
  std::string backend;
  // The data directory. Default: "data" beside the config file.
  std::filesystem::path path;
  // Directories searched for kalam_<backend>.so, in order, after those of
  // the environment variable KALAM_PLUGIN_PATH (see plugin_search_path() in
  // kalam/plugin.h). Empty: default_plugin_dir().
  std::vector<std::filesystem::path> plugin_path;
  // Open without write access (where the backend allows it).
  bool read_only = false;
  // Check every key a plugin's iterator yields: in order, inside the bounds
  // (a violation is a CORRUPTION error naming the plugin). Unset: on in
  // debug builds of the engine, off in release builds. See
  // OpenOptions::check_iterators.
  std::optional<bool> check_iterators;
  // The backend's options, in document order.
  std::vector<BackendOption> options;
  // The raw YAML text of the options subtree ("" when absent).
  std::string options_yaml;
};

// The table layer's part of the database (kalam/tables/).
struct TablesConfig {
  // Where flushes write cold segments (the cold tier). Empty: the default,
  // <storage.path>/cold. It may sit on other storage (a bigger disk, a
  // shared mount) that renames atomically within a directory and honours
  // fsync of files and directories (see docs/tables.md).
  std::filesystem::path cold_path;
};

struct EngineConfig {
  StorageConfig storage;
  TablesConfig tables;
  // Where the config came from (a file path or "<string>"), for messages.
  std::string source;
};

// The cold tier's directory: config.tables.cold_path, or
// <config.storage.path>/cold when that is empty.
std::filesystem::path cold_path(const EngineConfig& config);

// Where plugins are found when no directory is configured: for an installed
// engine, <libdir>/kalam/plugins beside the libkalam.so that was loaded; for
// the engine of a build tree, that tree's plugins (<build>/plugins).
std::filesystem::path default_plugin_dir();

// Reads and validates a YAML config file. Errors name the file, the line and
// the key: "kalam.yaml:3:3: unknown key 'backnd' in 'storage' ...".
StatusOr<EngineConfig> load_config_file(const std::filesystem::path& file);

// The same for YAML text. `source` names it in messages; relative paths are
// resolved against `base_dir`.
StatusOr<EngineConfig> parse_config(std::string_view yaml,
                                    std::string_view source,
                                    const std::filesystem::path& base_dir);

}  // namespace kalam
