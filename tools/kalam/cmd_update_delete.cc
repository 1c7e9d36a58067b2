// kalam update / kalam delete: one row of a user or shared table, named by
// its row id, changed (merged with a JSON object of column -> new value) or
// deleted in one durable write — UserTableStore / SharedTableStore update()
// and del() from the command line.
#include <kalam/tables/json_input.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_error.h"
#include "commands.h"
#include "open_database.h"
#include "output.h"
#include "table_support.h"

namespace kalam::cli {
namespace {

using nlohmann::json;

struct RowCommandOptions {
  std::string table;
  std::string row_id;
  std::string user;
  CLI::Option* user_option = nullptr;
  std::string changes;  // update: CHANGES_JSON
  CLI::Option* changes_option = nullptr;
  OutputFormat format = OutputFormat::kText;
};

// What update and delete check before they write: the table exists, is a
// user or shared table (not stream, not system), and --user is given
// exactly when it is a user table. `verb` is "update" or "delete".
tables::TableInfo writable_table(OpenedTables& t,
                                 const tables::QualifiedName& name,
                                 const RowCommandOptions& options,
                                 const std::string& verb,
                                 const std::string& doing) {
  const tables::TableInfo info =
      value_or_throw(t.catalog().describe_table(name.ns, name.name), doing);
  if (info.ns == tables::kSystemNamespace) {
    throw CliError::Failure(doing +
                            ": it is a read-only system table; the "
                            "catalog changes through 'kalam ns' and "
                            "'kalam table'");
  }
  if (info.kind == tables::TableKind::kStream) {
    throw CliError::Failure(
        doing +
        ": it is a stream table, whose events are append-only; they "
        "cannot be " +
        (verb == "update" ? "updated" : "deleted one by one") +
        " and expire by the table's retention (--ttl, --max-rows)");
  }
  const bool user_table = info.kind == tables::TableKind::kUser;
  const bool has_user = options.user_option->count() > 0;
  if (user_table && !has_user) {
    throw CliError::Failure(doing +
                            ": it is a user table; pass --user USER to say "
                            "whose row it is");
  }
  if (!user_table && has_user) {
    throw CliError::Failure(doing +
                            ": it is a shared table, whose rows belong to no "
                            "user; drop --user");
  }
  return info;
}

// The checks of the command line alone (exit 2).
void check_command_line(const RowCommandOptions& options) {
  if (options.user_option->count() > 0 && options.user.empty()) {
    throw CliError::Usage("--user is empty; a user id is 1 to " +
                          std::to_string(tables::kMaxUserIdLength) + " bytes");
  }
  if (options.row_id.empty()) {
    throw CliError::Usage("--row-id is empty; give the id of the row");
  }
}

// "row '7' of user 'alice' in app.notes".
std::string describe_row(const tables::QualifiedName& name,
                         const RowCommandOptions& options) {
  std::string out = "row '" + options.row_id + "'";
  if (options.user_option->count() > 0) {
    out += " of user '" + options.user + "'";
  }
  return out + " in " + name.ns + "." + name.name;
}

void run_update(const CommonOptions& common, const RowCommandOptions& options) {
  const tables::QualifiedName name = parse_table_name(options.table);
  check_command_line(options);
  if (options.changes_option->count() == 0) {
    throw CliError::Usage(
        "no changes: give CHANGES_JSON, a JSON object of column -> new value");
  }
  auto changes = tables::parse_json(options.changes);
  if (!changes.ok()) {
    throw CliError::Usage("CHANGES_JSON is " + changes.status().message());
  }
  if (!changes->is_object()) {
    throw CliError::Usage(
        "CHANGES_JSON is not a JSON object of column -> new value, got " +
        tables::describe_json(*changes));
  }

  OpenedTables t = open_tables(common, Access::kWriteExisting, "kalam update");
  require_tables(t, "table " + name.ns + "." + name.name);
  const std::string doing = "cannot update " + describe_row(name, options);
  const tables::TableInfo info =
      writable_table(t, name, options, "update", doing);
  const WriteOptions durable{.sync = true};
  const tables::Row row =
      info.kind == tables::TableKind::kUser
          ? value_or_throw(
                t.tables->user().update(name.ns, name.name, options.user,
                                        options.row_id, *changes, durable),
                doing)
          : value_or_throw(
                t.tables->shared().update(name.ns, name.name, options.row_id,
                                          *changes, durable),
                doing);
  close_tables(&t);
  if (options.format == OutputFormat::kJson) {
    json line = json::object();
    if (info.kind == tables::TableKind::kUser) {
      line["user_id"] = json_safe(row.user_id, "user id");
    }
    line["row_id"] = row.row_id;
    line["row"] = row.data;
    write_json_line(line);
  } else {
    write_line(row.row_id + "\t" + row.data.dump());
  }
}

void run_delete(const CommonOptions& common, const RowCommandOptions& options) {
  const tables::QualifiedName name = parse_table_name(options.table);
  check_command_line(options);
  OpenedTables t = open_tables(common, Access::kWriteExisting, "kalam delete");
  require_tables(t, "table " + name.ns + "." + name.name);
  const std::string what = describe_row(name, options);
  const std::string doing = "cannot delete " + what;
  const tables::TableInfo info =
      writable_table(t, name, options, "delete", doing);
  const WriteOptions durable{.sync = true};
  throw_if_error(
      info.kind == tables::TableKind::kUser
          ? t.tables->user().del(name.ns, name.name, options.user,
                                 options.row_id, durable)
          : t.tables->shared().del(name.ns, name.name, options.row_id, durable),
      doing);
  close_tables(&t);
  write_line("deleted " + what);
}

// --table, --row-id and --user, shared by both subcommands.
void add_row_options(CLI::App* app, RowCommandOptions* options) {
  app->add_option("TABLE", options->table, "NAMESPACE.NAME")->required();
  app->add_option("--row-id", options->row_id,
                  "The row: its primary key's value (an int64 key in "
                  "decimal), or its generated id (32 hex digits) as insert "
                  "printed it")
      ->option_text("ID")
      ->required();
  options->user_option =
      app->add_option("--user", options->user,
                      "Whose row (user tables: required; shared: not "
                      "allowed)")
          ->option_text("USER");
}

}  // namespace

void register_update_delete(CLI::App& root, CommonOptions* common,
                            CommandList* commands) {
  auto update = std::make_shared<RowCommandOptions>();
  CLI::App* update_app = root.add_subcommand(
      "update",
      "Merge changes (a JSON object of column -> new value) into one row of "
      "a user or shared table in one durable write, and print the new row. "
      "Usage: kalam update TABLE --row-id ID CHANGES_JSON [OPTIONS]");
  add_common_options(update_app, common);
  add_row_options(update_app, update.get());
  update->changes_option = update_app->add_option(
      "CHANGES_JSON", update->changes,
      "A JSON object: column -> new value (null clears a nullable column); "
      "the other columns keep their values");
  add_table_format_options(update_app, &update->format,
                           "one {\"user_id\", \"row_id\", \"row\"} object "
                           "(user_id for user tables only)");
  set_example(update_app,
              "kalam update app.notes --user alice --row-id 1 "
              "'{\"done\": true}'\n"
              "kalam update app.config --row-id theme '{\"value\": "
              "\"light\"}'",
              "Prints the row as it now is: row_id<TAB>row as JSON. The row "
              "must exist (exit 1 otherwise), and the primary key cannot "
              "change (delete the row and insert a new one). Stream tables "
              "are append-only and refused.");
  commands->push_back(
      {update_app, [common, update] { run_update(*common, *update); }});

  auto del = std::make_shared<RowCommandOptions>();
  CLI::App* delete_app = root.add_subcommand(
      "delete",
      "Delete one row of a user or shared table by its row id, in one "
      "durable write. Usage: kalam delete TABLE --row-id ID [OPTIONS]");
  add_common_options(delete_app, common);
  add_row_options(delete_app, del.get());
  set_example(delete_app,
              "kalam delete app.notes --user alice --row-id 1\n"
              "kalam delete app.events --user alice --row-id "
              "0000018c2d6f1a00000000000000002a",
              "The row must exist (exit 1 otherwise). A row already moved "
              "to cold storage by a flush is deleted too (a tombstone hides "
              "it). Stream tables are append-only and refused.");
  commands->push_back(
      {delete_app, [common, del] { run_delete(*common, *del); }});
}

}  // namespace kalam::cli
