// kalam select: the rows of a table (of one user, or of every user), read
// as a stream, filtered by column equality, up to a limit.
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_error.h"
#include "commands.h"
#include "open_database.h"
#include "output.h"
#include "table_support.h"

namespace kalam::cli {
namespace {

using nlohmann::json;

struct SelectOptions {
  std::string table;
  std::string user;
  CLI::Option* user_option = nullptr;
  std::string row_id;
  CLI::Option* row_id_option = nullptr;
  std::vector<std::string> where;
  uint64_t limit = 0;  // 0: no limit
  OutputFormat format = OutputFormat::kText;
};

void run_select(const CommonOptions& common, const SelectOptions& options) {
  const tables::QualifiedName name = parse_table_name(options.table);
  const std::string qualified = name.ns + "." + name.name;
  const bool has_user = options.user_option->count() > 0;
  if (has_user && options.user.empty()) {
    throw CliError::Usage("--user is empty; a user id is 1 to " +
                          std::to_string(tables::kMaxUserIdLength) + " bytes");
  }
  std::vector<std::pair<std::string, std::string>> where;
  for (const auto& text : options.where) where.push_back(split_filter(text));

  OpenedTables t = open_tables(common, Access::kRead, "kalam select");
  require_tables(t, "table " + qualified);
  const std::string doing = "cannot select from " + qualified;
  uint64_t printed = 0;
  {
    const tables::TableInfo info =
        value_or_throw(t.catalog().describe_table(name.ns, name.name), doing);
    const std::vector<RowFilter> filters = resolve_filters(info, where);
    const bool user_table = info.kind == tables::TableKind::kUser;
    if (!user_table && has_user) {
      throw CliError::Failure(
          doing + ": it is a " +
          std::string(tables::table_kind_name(info.kind)) +
          " table, whose rows belong to no user; drop --user");
    }
    // Every user's rows: each line says whose.
    const bool show_user = user_table && !has_user;
    auto print = [&](const tables::Row& row) {
      if (options.format == OutputFormat::kJson) {
        json line = json::object();
        if (user_table) line["user_id"] = json_safe(row.user_id, "user id");
        line["row_id"] = row.row_id;
        line["row"] = row.data;
        write_json_line(line);
      } else {
        if (show_user) {
          write_out(row.user_id);
          write_out("\t");
        }
        write_out(row.row_id);
        write_out("\t");
        write_line(row.data.dump());
      }
      ++printed;
    };
    if (options.row_id_option->count() > 0) {
      // One row by its id: a point read, never a scan. No such row prints
      // nothing, as a --where that matches nothing does.
      if (user_table && !has_user) {
        throw CliError::Failure(doing +
                                ": --row-id in a user table needs --user "
                                "USER (row ids are per user)");
      }
      auto row =
          info.kind == tables::TableKind::kStream
              ? t.tables->stream().get(name.ns, name.name, options.row_id)
          : user_table
              ? t.tables->user().get(name.ns, name.name, options.user,
                                     options.row_id)
              : t.tables->shared().get(name.ns, name.name, options.row_id);
      if (!row.ok() && !row.status().is_not_found()) {
        throw CliError::FromStatus(doing, row.status());
      }
      if (row.ok() && matches(row->data, filters)) print(*row);
      verbose_note(common, std::to_string(printed) + " row(s)");
      close_tables(&t);
      return;
    }
    tables::RowCursor cursor =
        info.kind == tables::TableKind::kStream
            ? value_or_throw(t.tables->stream().iter(name.ns, name.name), doing)
        : !user_table
            ? value_or_throw(t.tables->shared().iter(name.ns, name.name), doing)
        : has_user ? value_or_throw(t.tables->user().iter(name.ns, name.name,
                                                          options.user),
                                    doing)
                   : value_or_throw(
                         t.tables->user().iter_all(name.ns, name.name), doing);
    while ((options.limit == 0 || printed < options.limit) && cursor.next()) {
      const tables::Row& row = cursor.row();
      if (!matches(row.data, filters)) continue;
      print(row);
    }
    throw_if_error(cursor.status(), doing);
  }
  verbose_note(common, std::to_string(printed) + " row(s)");
  close_tables(&t);
}

}  // namespace

void register_select(CLI::App& root, CommonOptions* common,
                     CommandList* commands) {
  auto options = std::make_shared<SelectOptions>();
  CLI::App* app = root.add_subcommand(
      "select", "Print the rows of a table, optionally filtered");
  add_common_options(app, common);
  app->add_option("TABLE", options->table, "NAMESPACE.NAME")->required();
  options->user_option =
      app->add_option("--user", options->user,
                      "Only this user's rows (user tables; without it every "
                      "user's rows, each with its user id)")
          ->option_text("USER");
  options->row_id_option =
      app->add_option("--row-id", options->row_id,
                      "Only the row with this id (a point read; with --user "
                      "in a user table)")
          ->option_text("ID");
  app->add_option("--where", options->where,
                  "Only rows whose COLUMN equals VALUE, compared as the "
                  "column's type (repeat: all must hold)")
      ->option_text("COLUMN=VALUE")
      ->allow_extra_args(false);
  app->add_option("--limit", options->limit, "Print at most N rows")
      ->check(count_in_range(1))
      ->option_text("N");
  add_table_format_options(app, &options->format,
                           "one {\"user_id\", \"row_id\", \"row\"} object per "
                           "line (user_id for user tables only)");
  set_example(app,
              "kalam select app.notes --user alice --where done=false "
              "--limit 10\n"
              "kalam select app.notes --format json      # every user's "
              "rows\n"
              "kalam select app.notes --user alice --row-id 7\n"
              "kalam select system.tables",
              "Text output is one row per line: [user<TAB>]row_id<TAB>row "
              "as JSON; the user column appears when a user table is read "
              "without --user. Rows come in row-id order (by user first).");
  commands->push_back(
      {app, [common, options] { run_select(*common, *options); }});
}

}  // namespace kalam::cli
