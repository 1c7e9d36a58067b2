// kalam ns create|list|drop: the namespaces of the table layer.
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_error.h"
#include "commands.h"
#include "open_database.h"
#include "output.h"
#include "table_support.h"

namespace kalam::cli {
namespace {

struct NsOptions {
  OutputFormat format = OutputFormat::kText;
  std::string name;
  bool cascade = false;
};

void run_create(const CommonOptions& common, const NsOptions& options) {
  const std::string ns = parse_namespace_name(options.name, /*to_change=*/true);
  OpenedTables t = open_tables(common, Access::kWrite, "kalam ns create",
                               /*create_layer=*/true);
  throw_if_error(t.catalog().create_namespace(ns),
                 "cannot create namespace '" + ns + "'");
  close_tables(&t);
  write_line("created namespace '" + ns + "'");
}

void run_list(const CommonOptions& common, const NsOptions& options) {
  OpenedTables t = open_tables(common, Access::kRead, "kalam ns list");
  std::vector<tables::NamespaceInfo> namespaces;
  if (t.tables != nullptr) {
    namespaces = value_or_throw(t.catalog().list_namespaces(),
                                "cannot list the namespaces");
  }
  for (const auto& info : namespaces) {
    if (options.format == OutputFormat::kJson) {
      write_json_line(info.to_json());
    } else {
      write_line(info.name);
    }
  }
  close_tables(&t);
}

void run_drop(const CommonOptions& common, const NsOptions& options) {
  const std::string ns = parse_namespace_name(options.name, /*to_change=*/true);
  OpenedTables t = open_tables(common, Access::kWriteExisting, "kalam ns drop");
  require_tables(t, "namespace '" + ns + "'");
  const std::string doing = "cannot drop namespace '" + ns + "'";
  const std::vector<tables::TableInfo> tables =
      value_or_throw(t.catalog().list_tables(ns), doing);
  if (!tables.empty() && !options.cascade) {
    std::vector<std::string> names;
    for (const auto& info : tables) names.push_back(info.qualified_name());
    throw CliError::Failure(doing + ": it still has " +
                            std::to_string(tables.size()) +
                            " table(s): " + join(names) +
                            "; drop them first, or pass --cascade to drop "
                            "them and their rows too");
  }
  throw_if_error(t.catalog().drop_namespace(ns, {.cascade = options.cascade}),
                 doing);
  close_tables(&t);
  write_line("dropped namespace '" + ns + "'" +
             (tables.empty()
                  ? std::string()
                  : " and its " + std::to_string(tables.size()) + " table(s)"));
}

}  // namespace

void register_ns(CLI::App& root, CommonOptions* common, CommandList* commands) {
  auto options = std::make_shared<NsOptions>();
  CLI::App* ns = root.add_subcommand(
      "ns", "Create, list and drop namespaces (groups of tables)");
  ns->require_subcommand(1, 1);
  add_common_options(ns, common);
  set_example(ns,
              "kalam ns create app\n"
              "kalam ns list\n"
              "kalam ns drop app --cascade");

  CLI::App* create = ns->add_subcommand(
      "create", "Create a namespace (and the database, when there is none)");
  add_common_options(create, common);
  create->add_option("NAME", options->name, "The new namespace's name")
      ->required();
  set_example(create, "kalam ns create app --config kalam.yaml",
              "Names are 1 to 64 characters of a-z, 0-9 and _, not starting "
              "with a digit; 'system' is reserved.");
  commands->push_back(
      {create, [common, options] { run_create(*common, *options); }});

  CLI::App* list =
      ns->add_subcommand("list", "Print every namespace, one per line");
  add_common_options(list, common);
  add_table_format_options(
      list, &options->format,
      "one {\"name\": ..., \"created_at\": MS} object per line");
  set_example(list, "kalam ns list --config kalam.yaml --json");
  commands->push_back(
      {list, [common, options] { run_list(*common, *options); }});

  CLI::App* drop = ns->add_subcommand(
      "drop", "Drop a namespace; one that has tables only with --cascade");
  add_common_options(drop, common);
  drop->add_option("NAME", options->name, "The namespace to drop")->required();
  drop->add_flag("--cascade", options->cascade,
                 "Drop its tables and their rows too, in the same atomic "
                 "write");
  set_example(drop, "kalam ns drop app --cascade --config kalam.yaml");
  commands->push_back(
      {drop, [common, options] { run_drop(*common, *options); }});
}

}  // namespace kalam::cli
