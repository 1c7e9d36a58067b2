// kalam info: which backend serves the database, what it can do, what the
// data directory's manifest says, and the column families with their sizes.
#include <kalam/backend_api.h>
#include <kalam/plugin.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "families.h"
#include "open_database.h"
#include "output.h"
#include "progress.h"

namespace kalam::cli {
namespace {

struct InfoOptions {
  OutputFormat format = OutputFormat::kText;
};

// The data directory's KALAM_MANIFEST (written by the engine for persistent
// backends; README.md), or null when there is none.
nlohmann::json read_manifest(const std::filesystem::path& dir) {
  std::ifstream in(dir / "KALAM_MANIFEST");
  if (!in) return nullptr;
  std::ostringstream text;
  text << in.rdbuf();
  nlohmann::json manifest = nlohmann::json::parse(text.str(), nullptr, false);
  if (manifest.is_discarded()) return "unreadable: not JSON";
  return manifest;
}

std::string size_limit(uint64_t limit) {
  return limit == 0 ? "no limit" : std::to_string(limit) + " bytes";
}

void run_info(const CommonOptions& common, const InfoOptions& options) {
  OpenedDatabase opened = open_database(common, Access::kRead, "kalam info");
  {
    Database& db = *opened.db;
    const Plugin& plugin = db.plugin();
    nlohmann::json info = {
        {"backend", plugin.name()},
        {"plugin_file", plugin.file().string()},
        {"plugin_version", plugin.version()},
        {"abi", std::to_string(plugin.abi_major()) + "." +
                    std::to_string(plugin.abi_minor())},
        {"format_version", plugin.format_version()},
        {"capabilities", capability_names(plugin.capabilities())},
        {"max_key_size", plugin.max_key_size()},
        {"max_value_size", plugin.max_value_size()},
        {"config", opened.config.source},
        {"data_directory", db.path().string()},
        {"opened_read_only", opened.read_only},
        {"manifest", read_manifest(db.path())},
    };
    nlohmann::json families = nlohmann::json::array();
    for (const auto& name : list_families(opened)) {
      const ColumnFamily cf = open_family(opened, name);
      const auto keys =
          numeric_property(db, cf, KALAM_PROPERTY_ESTIMATE_NUM_KEYS);
      const auto bytes =
          numeric_property(db, cf, KALAM_PROPERTY_APPROXIMATE_BYTES);
      families.push_back(
          {{"name", name},
           {"estimated_keys",
            keys ? nlohmann::json(*keys) : nlohmann::json(nullptr)},
           {"approximate_bytes",
            bytes ? nlohmann::json(*bytes) : nlohmann::json(nullptr)}});
    }
    info["column_families"] = families;

    if (options.format == OutputFormat::kJson) {
      write_line(info.dump(2));
    } else {
      auto field = [](const char* name, const std::string& value) {
        write_line(std::string(name) + value);
      };
      field("backend:         ", plugin.name());
      field("plugin file:     ", plugin.file().string());
      field("plugin version:  ", plugin.version());
      field("ABI:             ", info["abi"].get<std::string>());
      field("format version:  ", std::to_string(plugin.format_version()));
      field("capabilities:    ", join(capability_names(plugin.capabilities())));
      field("max key size:    ", size_limit(plugin.max_key_size()));
      field("max value size:  ", size_limit(plugin.max_value_size()));
      field("config:          ", opened.config.source);
      field("data directory:  ",
            db.path().string() +
                (plugin.has(KALAM_CAP_PERSISTENT)
                     ? ""
                     : " (not used: the backend keeps data in memory)"));
      const nlohmann::json& manifest = info["manifest"];
      if (manifest.is_object()) {
        std::string text;
        for (const auto& [key, value] : manifest.items()) {
          text += (text.empty() ? "" : ", ") + key + "=" +
                  (value.is_string() ? value.get<std::string>() : value.dump());
        }
        field("manifest:        ", text);
      } else if (manifest.is_string()) {
        field("manifest:        ", manifest.get<std::string>());
      } else {
        field("manifest:        ", "none");
      }
      write_line("column families:");
      for (const auto& family : families) {
        std::string line = "  " + family["name"].get<std::string>();
        line += "  keys: " + (family["estimated_keys"].is_null()
                                  ? std::string("unknown")
                                  : "~" + family["estimated_keys"].dump());
        line += "  size: " +
                (family["approximate_bytes"].is_null()
                     ? std::string("unknown")
                     : "~" + human_bytes(
                                 family["approximate_bytes"].get<uint64_t>()));
        write_line(line);
      }
    }
  }
  close_database(&opened);
}

}  // namespace

void register_info(CLI::App& root, CommonOptions* common,
                   CommandList* commands) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* app = root.add_subcommand(
      "info",
      "Show the backend, plugin, capabilities, manifest and column families");
  add_common_options(app, common);
  add_format_option(app, &options->format, "one JSON object");
  set_example(app, "kalam info --config examples/rocksdb.yaml");
  commands->push_back(
      {app, [common, options] { run_info(*common, *options); }});
}

}  // namespace kalam::cli
