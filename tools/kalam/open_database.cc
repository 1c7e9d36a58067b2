#include "open_database.h"

#include <kalam/plugin.h>

#include <filesystem>
#include <system_error>

#include "cli_error.h"

namespace kalam::cli {
namespace {

namespace fs = std::filesystem;

OpenOptions open_options_for(const Plugin& plugin, Access access) {
  switch (access) {
    case Access::kRead:
      return {.create_if_missing = false,
              .read_only = plugin.has(KALAM_CAP_READ_ONLY_OPEN)};
    case Access::kWrite:
      return {.create_if_missing = true, .read_only = false};
    case Access::kWriteExisting:
      return {.create_if_missing = false, .read_only = false};
  }
  return {};
}

}  // namespace

EngineConfig load_config(const std::string& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    throw CliError::Usage("config file '" + file +
                          "' does not exist; pass --config FILE (default: "
                          "./kalam.yaml); see docs/cli.md for an example");
  }
  auto config = load_config_file(file);
  if (!config.ok()) {
    throw CliError::Failure(
        config.status().message(),
        "engine status: " + std::string(code_name(config.status().code())));
  }
  return std::move(config).value();
}

std::string describe_location(const EngineConfig& config) {
  return "data directory " + config.storage.path.string() +
         " (storage.path in " + config.source + ")";
}

OpenedDatabase open_database(const CommonOptions& options, Access access,
                             std::string_view command) {
  return open_configured(load_config(options.config_file), access, options,
                         command);
}

OpenedDatabase open_configured(EngineConfig config, Access access,
                               const CommonOptions& options,
                               std::string_view command) {
  const StorageConfig& storage = config.storage;
  if (access != Access::kRead && options.read_only) {
    throw CliError::Usage(std::string(command) +
                          " writes, and --read-only was given; drop "
                          "--read-only to write");
  }
  if (access != Access::kRead && storage.read_only) {
    throw CliError::Failure(std::string(command) + " writes, but " +
                            config.source +
                            " sets storage.read_only: true; remove that line "
                            "or use another config");
  }
  const std::vector<PluginDir> search_path =
      plugin_search_path(storage.plugin_path);
  auto loaded = load_plugin(storage.backend, plugin_dirs(search_path));
  if (!loaded.ok()) {
    std::string path_list;
    for (const PluginDir& entry : search_path) {
      path_list += (path_list.empty() ? "" : ", ") + entry.dir.string() + " (" +
                   std::string(plugin_dir_origin_name(entry.origin)) + ")";
    }
    throw CliError(
        kExitFailure,
        "cannot load backend '" + storage.backend + "' named in " +
            config.source + ": " + loaded.status().message(),
        "plugin_path: " + path_list + "; 'kalam plugins' lists what is there");
  }
  std::shared_ptr<const Plugin> plugin = *loaded;
  const OpenOptions open_options = open_options_for(*plugin, access);
  verbose_note(options, "opening " + describe_location(config) +
                            " with backend '" + plugin->name() + "' from " +
                            plugin->file().string() +
                            (open_options.read_only ? " (read-only)" : ""));
  if (access != Access::kRead && !plugin->has(KALAM_CAP_PERSISTENT)) {
    warn("backend '" + plugin->name() + "' is not persistent: what " +
         std::string(command) + " writes is gone when it exits");
  }
  auto db = Database::open(plugin, storage.path, storage.options, open_options);
  if (!db.ok()) {
    if (db.status().is_not_found()) {
      throw CliError(
          kExitFailure,
          "no Kalam database at " + describe_location(config) +
              (access == Access::kRead
                   ? "; check the path, or create one with a write command "
                     "such as 'kalam put' or 'kalam load'"
                   : "; check the path, or create one with 'kalam put' or "
                     "'kalam load'"),
          db.status().message());
    }
    throw CliError::FromStatus("cannot open " + describe_location(config) +
                                   " with backend '" + plugin->name() + "'",
                               db.status());
  }
  OpenedDatabase opened;
  opened.config = std::move(config);
  opened.db = std::move(db).value();
  opened.read_only = open_options.read_only;
  return opened;
}

OpenedDatabase::~OpenedDatabase() {
  if (db == nullptr) return;
  const Status closed = db->close();
  if (!closed.ok()) {
    note_secondary_error("closing " + describe_location(config) + ": " +
                         closed.to_string());
  }
}

void close_database(OpenedDatabase* opened) {
  if (opened->db == nullptr) return;
  throw_if_error(opened->db->close(),
                 "closing " + describe_location(opened->config));
}

}  // namespace kalam::cli
