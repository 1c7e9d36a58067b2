// kalam stats: the backend's properties per column family, then the
// engine's stored counters.
#include <kalam/backend_api.h>
#include <kalam/database.h>

#include <cstdio>

#include <memory>
#include <nlohmann/json.hpp>

#include "cli_error.h"
#include "commands.h"
#include "families.h"
#include "open_database.h"
#include "output.h"

namespace kalam::cli {
namespace {

struct StatsOptions {
  std::vector<std::string> families;
  std::vector<std::string> properties;
  OutputFormat format = OutputFormat::kText;
};

// The property's text, or null when the backend does not know it.
nlohmann::json read_property(Database& db, const ColumnFamily& cf,
                             const std::string& family,
                             const std::string& name) {
  auto value = db.property(cf, name);
  if (value.ok()) return *value;
  if (value.status().is_not_found()) return nullptr;
  throw CliError::FromStatus(
      "cannot read property " + name + " of column family '" + family + "'",
      value.status());
}

// The counters the engine keeps in the data directory (KALAM_COUNTERS).
void print_stored_counters(const Database& db, OutputFormat format) {
  const std::optional<StoredCounters> stored = db.stored_counters();
  if (!stored) {
    const std::string why = "backend '" + db.plugin().name() +
                            "' is not persistent: nothing is counted across "
                            "processes";
    if (format == OutputFormat::kJson) {
      write_json_line({{"engine_counters", nullptr}, {"reason", why}});
    } else {
      write_line("engine counters: none (" + why + ")");
    }
    return;
  }
  if (format == OutputFormat::kJson) {
    nlohmann::json totals = nlohmann::json::object();
    for (const auto& field : engine_counter_fields()) {
      totals[field.name] = stored->totals.*field.member;
    }
    write_json_line({{"engine_counters",
                      {{"opens", stored->opens},
                       {"clean_closes", stored->clean_closes},
                       {"unclean_shutdowns", stored->unclean_shutdowns},
                       {"open", stored->open},
                       {"totals", totals}}}});
    return;
  }
  auto row = [](const char* name, const std::string& value, const char* help) {
    char line[200];
    std::snprintf(line, sizeof line, "  %-18s %12s  %s", name, value.c_str(),
                  help);
    write_line(line);
  };
  write_line(
      "engine counters (KALAM_COUNTERS: every writable open, and the totals "
      "of the sessions that closed cleanly):");
  row("opens", std::to_string(stored->opens), "writable opens");
  row("clean_closes", std::to_string(stored->clean_closes),
      "closes that saved their counters");
  row("unclean_shutdowns", std::to_string(stored->unclean_shutdowns),
      "opens that found the previous one never closed");
  row("open", stored->open ? "yes" : "no",
      stored->open ? "a writable open is in progress, or the last one ended "
                     "without closing"
                   : "no writable open is in progress");
  for (const auto& field : engine_counter_fields()) {
    row(field.name, std::to_string(stored->totals.*field.member), field.help);
  }
}

void run_stats(const CommonOptions& common, const StatsOptions& options) {
  OpenedDatabase opened = open_database(common, Access::kRead, "kalam stats");
  Database& db = *opened.db;
  const std::vector<std::string> families =
      select_families(opened, options.families);
  if (!db.plugin().has(KALAM_CAP_PROPERTIES)) {
    if (!options.properties.empty()) {
      throw CliError::Failure("backend '" + db.plugin().name() +
                              "' provides no properties (no properties "
                              "capability); 'kalam info' shows what it has");
    }
    if (options.format == OutputFormat::kText) {
      write_line("backend '" + db.plugin().name() +
                 "' provides no properties (no properties capability)");
    }
  }
  const std::vector<std::string> property_families =
      db.plugin().has(KALAM_CAP_PROPERTIES) ? families
                                            : std::vector<std::string>{};
  std::vector<std::string> names = {KALAM_PROPERTY_ESTIMATE_NUM_KEYS,
                                    KALAM_PROPERTY_APPROXIMATE_BYTES,
                                    KALAM_PROPERTY_STATS};
  names.insert(names.end(), options.properties.begin(),
               options.properties.end());
  for (const auto& family : property_families) {
    const ColumnFamily cf = open_family(opened, family);
    nlohmann::json properties = nlohmann::json::object();
    for (const auto& name : names) {
      properties[name] = read_property(db, cf, family, name);
    }
    if (options.format == OutputFormat::kJson) {
      write_json_line({{"column_family", family}, {"properties", properties}});
      continue;
    }
    write_line("column family '" + family + "':");
    for (const auto& name : names) {
      const nlohmann::json& value = properties[name];
      if (value.is_null()) {
        write_line("  " + name + ": (not provided by this backend)");
        continue;
      }
      const std::string text = value.get<std::string>();
      if (text.find('\n') == std::string::npos) {
        write_line("  " + name + ": " + text);
        continue;
      }
      write_line("  " + name + ":");
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        write_line("    " + text.substr(start, end - start));
        start = end + 1;
      }
    }
  }
  print_stored_counters(db, options.format);
  close_database(&opened);
}

}  // namespace

void register_stats(CLI::App& root, CommonOptions* common,
                    CommandList* commands) {
  auto options = std::make_shared<StatsOptions>();
  CLI::App* app = root.add_subcommand(
      "stats",
      "Print the backend's properties of each column family and the "
      "engine's counters");
  add_common_options(app, common);
  app->add_option("--cf", options->families,
                  "Only this column family (repeatable; default: all)")
      ->option_text("NAME");
  app->add_option("--property", options->properties,
                  "Also read this backend property, e.g. rocksdb.stats or "
                  "lmdb.map-size (repeatable)")
      ->option_text("NAME");
  add_format_option(app, &options->format,
                    "one {\"column_family\": ..., \"properties\": {...}} "
                    "object per family (an unknown property is null), then "
                    "{\"engine_counters\": {...}}");
  set_example(app,
              "kalam stats --config kalam.yaml\n"
              "kalam stats --cf users --property rocksdb.stats",
              "Shows kalam.estimate-num-keys, kalam.approximate-bytes and "
              "kalam.stats of each column family, plus any --property; then "
              "the engine's counters kept in the data directory "
              "(KALAM_COUNTERS): opens, clean closes, unclean shutdowns, and "
              "the puts, deletes, gets, bytes, iterators and errors of every "
              "session that closed cleanly.");
  commands->push_back(
      {app, [common, options] { run_stats(*common, *options); }});
}

}  // namespace kalam::cli
