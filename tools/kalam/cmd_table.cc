// kalam table create|list|describe|drop: the tables of the table layer.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include <kalam/tables/json_input.h>

#include "cli_error.h"
#include "commands.h"
#include "open_database.h"
#include "output.h"
#include "table_support.h"

namespace kalam::cli {
namespace {

using nlohmann::json;

struct TableCmdOptions {
  OutputFormat format = OutputFormat::kText;
  std::string name;  // NS.NAME, or NS for list
  std::string kind;
  std::vector<std::string> columns;
  std::string primary_key;
  CLI::Option* primary_key_option = nullptr;
  uint64_t flush_rows = 0;
  CLI::Option* flush_rows_option = nullptr;
  std::string flush_interval;
  std::string ttl;
  uint64_t max_rows = 0;
  CLI::Option* max_rows_option = nullptr;
  std::string schema_file;
};

// What --schema FILE holds: a Schema in its JSON form, optionally with
// "kind" and "options" (TableOptions' JSON form). The other members of
// `table describe --json` output are accepted and ignored, so that output
// can be fed back to make a table of the same shape.
struct SchemaFile {
  tables::Schema schema;
  std::optional<tables::TableKind> kind;
  tables::TableOptions options;
};

SchemaFile read_schema_file(const std::string& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    throw CliError::Usage("--schema file '" + file + "' does not exist");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw CliError::Failure("cannot open --schema file '" + file +
                            "': " + std::strerror(errno));
  }
  const std::string text((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  const std::string where = "--schema file '" + file + "'";
  auto parsed = tables::parse_json(text);
  if (!parsed.ok()) {
    throw CliError::Failure(where + " is " + parsed.status().message());
  }
  json j = std::move(*parsed);
  if (!j.is_object()) {
    throw CliError::Failure(where +
                            " must hold a JSON object: {\"columns\": [...], "
                            "\"primary_key\": ..., \"kind\": ..., "
                            "\"options\": {...}}");
  }
  SchemaFile out;
  json schema_json = json::object();
  for (const auto& [key, value] : j.items()) {
    if (key == "columns" || key == "primary_key") {
      schema_json[key] = value;
    } else if (key == "kind") {
      if (!value.is_string()) {
        throw CliError::Failure(where + ": \"kind\" must be a string");
      }
      auto kind = tables::parse_table_kind(value.get<std::string>());
      if (!kind.ok()) {
        throw CliError::Failure(where + ": " + kind.status().message());
      }
      out.kind = *kind;
    } else if (key == "options") {
      auto options = tables::TableOptions::from_json(value);
      if (!options.ok()) {
        throw CliError::Failure(where + ": " + options.status().message());
      }
      out.options = *options;
    } else if (key != "id" && key != "namespace" && key != "name" &&
               key != "created_at") {
      throw CliError::Failure(where + ": unknown member '" + key +
                              "'; allowed: columns, primary_key, kind, "
                              "options (and id, namespace, name, created_at, "
                              "which are ignored)");
    }
  }
  auto schema = tables::Schema::from_json(schema_json);
  if (!schema.ok()) {
    throw CliError::Failure(where + ": " + schema.status().message());
  }
  out.schema = std::move(schema).value();
  return out;
}

tables::TableSpec build_spec(const TableCmdOptions& options) {
  const tables::QualifiedName name = parse_table_name(options.name);
  tables::TableSpec spec{.ns = name.ns, .name = name.name};
  if (spec.ns == tables::kSystemNamespace) {
    throw CliError::Usage(
        "namespace 'system' is reserved: it holds the catalog's read-only "
        "tables; create the table in another namespace");
  }
  std::optional<tables::TableKind> kind;
  if (!options.kind.empty()) {
    auto parsed = tables::parse_table_kind(options.kind);
    if (!parsed.ok()) {
      throw CliError::Usage("bad --kind: " + parsed.status().message());
    }
    kind = *parsed;
  }
  const bool has_columns =
      !options.columns.empty() || options.primary_key_option->count() > 0;
  if (!options.schema_file.empty()) {
    if (has_columns) {
      throw CliError::Usage(
          "give the columns either with --column/--primary-key or with "
          "--schema FILE, not both");
    }
    SchemaFile file = read_schema_file(options.schema_file);
    if (kind && file.kind && *kind != *file.kind) {
      throw CliError::Usage(
          "--kind " + options.kind + " contradicts \"kind\": \"" +
          std::string(tables::table_kind_name(*file.kind)) + "\" in '" +
          options.schema_file + "'; give one of the two");
    }
    if (!kind) kind = file.kind;
    spec.schema = std::move(file.schema);
    spec.options = file.options;
  } else {
    if (options.columns.empty()) {
      throw CliError::Usage(
          "a table needs columns: give --column NAME:TYPE[:nullable] (once "
          "per column) or --schema FILE.json");
    }
    for (const auto& text : options.columns) {
      spec.schema.columns.push_back(parse_column_spec(text));
    }
    spec.schema.primary_key = options.primary_key;
  }
  if (!kind) {
    throw CliError::Usage(
        "--kind is required (user: rows belong to users; shared: one set of "
        "rows)");
  }
  spec.kind = *kind;
  if (options.flush_rows_option->count() > 0) {
    spec.options.flush.row_count = options.flush_rows;
  }
  if (!options.flush_interval.empty()) {
    spec.options.flush.interval =
        parse_duration(options.flush_interval, "--flush-interval");
  }
  if (!options.ttl.empty())
    spec.options.ttl = parse_duration(options.ttl, "--ttl");
  if (options.max_rows_option->count() > 0) {
    spec.options.max_rows = options.max_rows;
  }
  return spec;
}

void run_create(const CommonOptions& common, const TableCmdOptions& options) {
  const tables::TableSpec spec = build_spec(options);
  const std::string qualified = spec.ns + "." + spec.name;
  OpenedTables t =
      open_tables(common, Access::kWriteExisting, "kalam table create");
  require_tables(t, "namespace '" + spec.ns + "'");
  const tables::TableInfo info = value_or_throw(
      t.catalog().create_table(spec), "cannot create table " + qualified);
  close_tables(&t);
  write_line("created " + std::string(tables::table_kind_name(info.kind)) +
             " table " + info.qualified_name() + " (id " +
             std::to_string(info.id) + ")");
}

void run_list(const CommonOptions& common, const TableCmdOptions& options) {
  const std::string ns =
      parse_namespace_name(options.name, /*to_change=*/false);
  OpenedTables t = open_tables(common, Access::kRead, "kalam table list");
  require_tables(t, "namespace '" + ns + "'");
  const std::vector<tables::TableInfo> tables =
      value_or_throw(t.catalog().list_tables(ns),
                     "cannot list the tables of namespace '" + ns + "'");
  size_t width = 0;
  for (const auto& info : tables) width = std::max(width, info.name.size());
  for (const auto& info : tables) {
    if (options.format == OutputFormat::kJson) {
      write_json_line(info.to_json());
    } else {
      write_line(info.name + std::string(width - info.name.size() + 2, ' ') +
                 std::string(tables::table_kind_name(info.kind)));
    }
  }
  close_tables(&t);
}

void print_description(const tables::TableInfo& info) {
  auto field = [](std::string_view label, const std::string& value) {
    std::string line(label);
    line += ':';
    line.resize(std::max<size_t>(line.size() + 1, 14), ' ');
    write_line(line + value);
  };
  field("table", info.qualified_name());
  field("kind", std::string(tables::table_kind_name(info.kind)));
  field("id", std::to_string(info.id) +
                  (info.id == 0 ? " (a read-only system table)" : ""));
  if (info.id != 0) field("created", format_timestamp_ms(info.created_at_ms));
  field("primary key", info.schema.primary_key.empty()
                           ? "none (each row gets a generated id)"
                           : info.schema.primary_key);
  write_line("columns:");
  size_t name_width = 0;
  size_t type_width = 0;
  for (const auto& c : info.schema.columns) {
    name_width = std::max(name_width, c.name.size());
    type_width = std::max(type_width, tables::column_type_name(c.type).size());
  }
  for (const auto& c : info.schema.columns) {
    const std::string type(tables::column_type_name(c.type));
    write_line("  " + c.name +
               std::string(name_width - c.name.size() + 2, ' ') + type +
               std::string(type_width - type.size() + 2, ' ') +
               (c.nullable ? "nullable" : "not null") +
               (c.name == info.schema.primary_key ? ", primary key" : ""));
  }
  const tables::TableOptions& o = info.options;
  if (o.flush.row_count || o.flush.interval || o.ttl || o.max_rows) {
    write_line("options:");
    if (o.flush.row_count) {
      write_line("  flush rows:      " + std::to_string(*o.flush.row_count));
    }
    if (o.flush.interval) {
      write_line("  flush interval:  " + format_duration(*o.flush.interval));
    }
    if (o.ttl) write_line("  ttl:             " + format_duration(*o.ttl));
    if (o.max_rows) {
      write_line("  max rows:        " + std::to_string(*o.max_rows));
    }
  }
}

void run_describe(const CommonOptions& common, const TableCmdOptions& options) {
  const tables::QualifiedName name = parse_table_name(options.name);
  const std::string qualified = name.ns + "." + name.name;
  OpenedTables t = open_tables(common, Access::kRead, "kalam table describe");
  require_tables(t, "table " + qualified);
  const tables::TableInfo info =
      value_or_throw(t.catalog().describe_table(name.ns, name.name),
                     "cannot describe table " + qualified);
  if (options.format == OutputFormat::kJson) {
    write_json_line(info.to_json());
  } else {
    print_description(info);
  }
  close_tables(&t);
}

void run_drop(const CommonOptions& common, const TableCmdOptions& options) {
  const tables::QualifiedName name = parse_table_name(options.name);
  const std::string qualified = name.ns + "." + name.name;
  OpenedTables t =
      open_tables(common, Access::kWriteExisting, "kalam table drop");
  require_tables(t, "table " + qualified);
  throw_if_error(t.catalog().drop_table(name.ns, name.name),
                 "cannot drop table " + qualified);
  close_tables(&t);
  write_line("dropped table " + qualified);
}

}  // namespace

void register_table(CLI::App& root, CommonOptions* common,
                    CommandList* commands) {
  auto options = std::make_shared<TableCmdOptions>();
  CLI::App* table =
      root.add_subcommand("table", "Create, list, describe and drop tables");
  table->require_subcommand(1, 1);
  add_common_options(table, common);
  set_example(table,
              "kalam table create app.notes --kind user --column id:int64 "
              "--column title:string --primary-key id\n"
              "kalam table list app\n"
              "kalam table describe app.notes --json\n"
              "kalam table drop app.notes");

  CLI::App* create =
      table->add_subcommand("create", "Create a table in a namespace");
  add_common_options(create, common);
  create->add_option("TABLE", options->name, "The new table: NAMESPACE.NAME")
      ->required();
  create
      ->add_option("--kind", options->kind,
                   "user (rows belong to users), shared (one set of rows) "
                   "or stream (append-only events; needs --ttl and/or "
                   "--max-rows)")
      ->option_text("KIND");
  create
      ->add_option("--column", options->columns,
                   "A column: NAME:TYPE, or NAME:TYPE:nullable to allow null "
                   "(repeat per column, in order). Types: int64, float64, "
                   "bool, string, bytes, timestamp, json")
      ->option_text("SPEC")
      ->allow_extra_args(false);
  options->primary_key_option =
      create
          ->add_option("--primary-key", options->primary_key,
                       "The primary key column (int64 or string); without "
                       "one every row gets a generated id")
          ->option_text("COLUMN");
  create
      ->add_option("--schema", options->schema_file,
                   "Read columns, primary_key (and optionally kind and "
                   "options) from a JSON file instead")
      ->option_text("FILE.json");
  options->flush_rows_option =
      create
          ->add_option("--flush-rows", options->flush_rows,
                       "Flush policy: flush after N rows")
          ->check(count_in_range(1))
          ->option_text("N");
  create
      ->add_option("--flush-interval", options->flush_interval,
                   "Flush policy: flush at least this often (e.g. 10s, 5m)")
      ->option_text("DURATION");
  create
      ->add_option("--ttl", options->ttl,
                   "Retention (stream tables): events older than this expire")
      ->option_text("DURATION");
  options->max_rows_option =
      create
          ->add_option("--max-rows", options->max_rows,
                       "Retention (stream tables): keep the newest N events")
          ->check(count_in_range(1))
          ->option_text("N");
  set_example(
      create,
      "kalam table create app.notes --kind user --column id:int64 "
      "--column title:string --column done:bool:nullable --primary-key id\n"
      "kalam table create app.config --kind shared --column key:string "
      "--column value:json:nullable --primary-key key --flush-rows 10000 "
      "--flush-interval 10s\n"
      "kalam table create app.clicks --kind stream --column page:string "
      "--ttl 7d --max-rows 1000000\n"
      "kalam table create app.copy --schema notes.json",
      "Columns given with --column are NOT NULL unless marked :nullable. "
      "--schema takes {\"columns\": [{\"name\", \"type\", \"nullable\"}], "
      "\"primary_key\", \"kind\", \"options\"} -- the output of 'kalam "
      "table describe --json' works as is.");
  commands->push_back(
      {create, [common, options] { run_create(*common, *options); }});

  CLI::App* list = table->add_subcommand(
      "list", "Print the tables of a namespace with their kinds");
  add_common_options(list, common);
  list->add_option("NAMESPACE", options->name, "The namespace")->required();
  add_table_format_options(list, &options->format,
                           "one table description object per line");
  set_example(list, "kalam table list app --config kalam.yaml");
  commands->push_back(
      {list, [common, options] { run_list(*common, *options); }});

  CLI::App* describe = table->add_subcommand(
      "describe", "Print a table's kind, columns, primary key and options");
  add_common_options(describe, common);
  describe->add_option("TABLE", options->name, "NAMESPACE.NAME")->required();
  add_table_format_options(
      describe, &options->format,
      "one object: id, namespace, name, kind, columns, primary_key, "
      "options, created_at");
  set_example(describe,
              "kalam table describe app.notes\n"
              "kalam table describe system.tables --json");
  commands->push_back(
      {describe, [common, options] { run_describe(*common, *options); }});

  CLI::App* drop =
      table->add_subcommand("drop", "Drop a table and all its rows");
  add_common_options(drop, common);
  drop->add_option("TABLE", options->name, "NAMESPACE.NAME")->required();
  set_example(drop, "kalam table drop app.notes --config kalam.yaml");
  commands->push_back(
      {drop, [common, options] { run_drop(*common, *options); }});
}

}  // namespace kalam::cli
