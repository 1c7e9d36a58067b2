// kalam plugins: every kalam_*.so on the plugin path, loaded or with the
// reason it was refused.
#include <kalam/plugin.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "open_database.h"
#include "output.h"

namespace kalam::cli {
namespace {

struct PluginsOptions {
  std::vector<std::string> plugin_path;
  OutputFormat format = OutputFormat::kText;
};

void run_plugins(const CommonOptions& common, const PluginsOptions& options) {
  std::vector<std::filesystem::path> path;
  if (!options.plugin_path.empty()) {
    path.assign(options.plugin_path.begin(), options.plugin_path.end());
  } else {
    path = load_config(common.config_file).storage.plugin_path;
  }
  std::string searched;
  for (const auto& dir : path) {
    searched += (searched.empty() ? "" : ", ") + dir.string();
  }
  verbose_note(common, "searching " + searched);

  const std::vector<PluginCandidate> found = discover_plugins(path);
  if (options.format == OutputFormat::kJson) {
    for (const auto& candidate : found) {
      nlohmann::json line = {{"file", candidate.file.string()},
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
  for (const auto& candidate : found) {
    if (candidate.plugin != nullptr) {
      const Plugin& plugin = *candidate.plugin;
      write_line(plugin.name() + "  " + plugin.version() + "  ABI " +
                 std::to_string(plugin.abi_major()) + "." +
                 std::to_string(plugin.abi_minor()) + "  " +
                 candidate.file.string());
      write_line("    capabilities: " +
                 join(capability_names(plugin.capabilities())));
    } else {
      write_line("refused  " + candidate.file.string());
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
              "Searches the config's storage.plugin_path (or each "
              "--plugin-path) for kalam_*.so files and loads each: a usable "
              "one is listed with its name, version, ABI and capabilities, a "
              "refused one with the reason.");
  commands->push_back(
      {app, [common, options] { run_plugins(*common, *options); }});
}

}  // namespace kalam::cli
