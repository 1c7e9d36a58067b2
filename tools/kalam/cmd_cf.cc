// kalam cf list|create|drop: the column families of the database.
#include <kalam/backend_api.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_error.h"
#include "commands.h"
#include "families.h"
#include "open_database.h"
#include "output.h"

namespace kalam::cli {
namespace {

struct CfOptions {
  OutputFormat format = OutputFormat::kText;
  std::string name;
  bool force = false;
};

void run_list(const CommonOptions& common, const CfOptions& options) {
  OpenedDatabase opened = open_database(common, Access::kRead, "kalam cf list");
  const std::vector<std::string> names = list_families(opened);
  if (options.format == OutputFormat::kJson) {
    write_json_line(names);
  } else {
    for (const auto& name : names) write_line(name);
  }
  close_database(&opened);
}

void run_create(const CommonOptions& common, const CfOptions& options) {
  OpenedDatabase opened =
      open_database(common, Access::kWrite, "kalam cf create");
  const std::vector<std::string> names = list_families(opened);
  if (std::find(names.begin(), names.end(), options.name) != names.end()) {
    throw CliError::Failure("column family '" + options.name +
                            "' already exists in " +
                            describe_location(opened.config));
  }
  throw_if_error(
      opened.db->column_family(options.name, /*create_if_missing=*/true)
          .status(),
      "cannot create column family '" + options.name + "'");
  close_database(&opened);
  write_line("created column family '" + options.name + "'");
}

void run_drop(const CommonOptions& common, const CfOptions& options) {
  if (options.name == "default") {
    throw CliError::Usage(
        "the default column family cannot be dropped; delete its keys with "
        "'kalam del' instead");
  }
  OpenedDatabase opened =
      open_database(common, Access::kWriteExisting, "kalam cf drop");
  {
    const ColumnFamily cf = open_family(opened, options.name);
    if (!options.force && !family_is_empty(*opened.db, cf, options.name)) {
      const auto keys =
          numeric_property(*opened.db, cf, KALAM_PROPERTY_ESTIMATE_NUM_KEYS);
      throw CliError::Failure(
          "column family '" + options.name + "' holds data" +
          (keys ? " (about " + std::to_string(*keys) + " keys)" : "") +
          "; pass --force to drop it together with its data");
    }
    throw_if_error(opened.db->drop_column_family(cf),
                   "cannot drop column family '" + options.name + "'");
  }
  close_database(&opened);
  write_line("dropped column family '" + options.name + "'");
}

}  // namespace

void register_cf(CLI::App& root, CommonOptions* common, CommandList* commands) {
  auto options = std::make_shared<CfOptions>();
  CLI::App* cf = root.add_subcommand(
      "cf", "List, create and drop column families (independent key spaces)");
  cf->require_subcommand(1, 1);
  add_common_options(cf, common);
  set_example(cf,
              "kalam cf list\n"
              "kalam cf create users\n"
              "kalam cf drop users --force");

  CLI::App* list = cf->add_subcommand(
      "list", "Print every column family, 'default' included, one per line");
  add_common_options(list, common);
  add_format_option(list, &options->format, "one JSON array of names");
  set_example(list, "kalam cf list --config kalam.yaml");
  commands->push_back(
      {list, [common, options] { run_list(*common, *options); }});

  CLI::App* create = cf->add_subcommand(
      "create",
      "Create a column family (and the database, when there is none)");
  add_common_options(create, common);
  create->add_option("NAME", options->name, "The new family's name")
      ->required();
  set_example(create, "kalam cf create users --config kalam.yaml");
  commands->push_back(
      {create, [common, options] { run_create(*common, *options); }});

  CLI::App* drop = cf->add_subcommand(
      "drop", "Drop a column family; one that holds data only with --force");
  add_common_options(drop, common);
  drop->add_option("NAME", options->name, "The family to drop")->required();
  drop->add_flag("--force", options->force,
                 "Drop the family even when it holds data (the data goes "
                 "with it)");
  set_example(drop, "kalam cf drop sessions --force --config kalam.yaml");
  commands->push_back(
      {drop, [common, options] { run_drop(*common, *options); }});
}

}  // namespace kalam::cli
