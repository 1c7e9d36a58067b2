// kalam plugins: every kalam_*.so on the plugin path, loaded or with the
// reason it was refused.
#include <kalam/plugin.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "open_database.h"
#include "output.h"

namespace kalam::cli {
namespace {

struct PluginsOptions {
  std::vector<std::string> plugin_path;
  OutputFormat format = OutputFormat::kText;
};

// One plugin file found, with the directory it came from.
struct Found {
  PluginCandidate candidate;
  const PluginDir* from;
  // Another file of the same name earlier on the path is the one loaded.
  bool shadowed = false;
};

void run_plugins(const CommonOptions& common, const PluginsOptions& options) {
  std::vector<std::filesystem::path> configured;
  if (!options.plugin_path.empty()) {
    configured.assign(options.plugin_path.begin(), options.plugin_path.end());
  } else {
    configured = load_config(common.config_file).storage.plugin_path;
  }
  const std::vector<PluginDir> search_path = plugin_search_path(configured);
  auto origin_of = [&](const PluginDir& entry) {
    // Every directory after KALAM_PLUGIN_PATH's was given with
    // --plugin-path when that was used (one may be the default directory).
    return std::string(entry.origin != PluginDirOrigin::kEnvironment &&
                               !options.plugin_path.empty()
                           ? "--plugin-path"
                           : plugin_dir_origin_name(entry.origin));
  };
  std::string searched;
  for (const PluginDir& entry : search_path) {
    searched += (searched.empty() ? "" : ", ") + entry.dir.string() + " (" +
                origin_of(entry) + ")";
  }
  verbose_note(common, "searching " + searched);

  // Directory by directory, in search order: the first file of a name is
  // the one a database opens.
  std::vector<Found> found;
  std::set<std::string> seen;
  for (const PluginDir& entry : search_path) {
    for (auto& candidate : discover_plugins({entry.dir})) {
      const bool shadowed =
          !seen.insert(candidate.file.filename().string()).second;
      found.push_back({std::move(candidate), &entry, shadowed});
    }
  }
  if (options.format == OutputFormat::kJson) {
    for (const Found& item : found) {
      const PluginCandidate& candidate = item.candidate;
      nlohmann::json line = {{"file", candidate.file.string()},
                             {"from", origin_of(*item.from)},
                             {"shadowed", item.shadowed},
                             {"loaded", candidate.plugin != nullptr}};
      if (candidate.plugin != nullptr) {
        const Plugin& plugin = *candidate.plugin;
        line["name"] = plugin.name();
        line["version"] = plugin.version();
        line["abi"] = std::to_string(plugin.abi_major()) + "." +
                      std::to_string(plugin.abi_minor());
        line["format_version"] = plugin.format_version();
        line["capabilities"] = capability_names(plugin.capabilities());
      } else {
        line["error"] = candidate.status.message();
      }
      write_json_line(line);
    }
    return;
  }
  if (found.empty()) {
    write_line("no plugins (kalam_*.so) in " + searched);
    return;
  }
  for (const Found& item : found) {
    const PluginCandidate& candidate = item.candidate;
    const std::string from =
        "    from: " + origin_of(*item.from) +
        (item.shadowed ? " (shadowed: a file of this name earlier "
                         "on the path is the one used)"
                       : "");
    if (candidate.plugin != nullptr) {
      const Plugin& plugin = *candidate.plugin;
      write_line(plugin.name() + "  " + plugin.version() + "  ABI " +
                 std::to_string(plugin.abi_major()) + "." +
                 std::to_string(plugin.abi_minor()) + "  " +
                 candidate.file.string());
      write_line(from);
      write_line("    capabilities: " +
                 join(capability_names(plugin.capabilities())));
    } else {
      write_line("refused  " + candidate.file.string());
      write_line(from);
      write_line("    reason: " + candidate.status.message());
    }
  }
}

}  // namespace

void register_plugins(CLI::App& root, CommonOptions* common,
                      CommandList* commands) {
  auto options = std::make_shared<PluginsOptions>();
  CLI::App* app = root.add_subcommand(
      "plugins",
      "List the plugins on the plugin path, and why any was refused");
  add_common_options(app, common);
  app->add_option("--plugin-path", options->plugin_path,
                  "Search this directory instead of the config's "
                  "plugin_path (repeatable; no config needed then)")
      ->option_text("DIR");
  add_format_option(app, &options->format, "one JSON object per plugin");
  set_example(app,
              "kalam plugins --config kalam.yaml\n"
              "kalam plugins --plugin-path /usr/lib/kalam/plugins --format "
              "json",
              "Searches the directories of KALAM_PLUGIN_PATH, then the "
              "config's storage.plugin_path (or each --plugin-path), for "
              "kalam_*.so files and loads each: a usable one is listed with "
              "its name, version, ABI, capabilities and where it came from, "
              "a refused one with the reason.");
  commands->push_back(
      {app, [common, options] { run_plugins(*common, *options); }});
}

}  // namespace kalam::cli
