// kalam insert: rows given as JSON (arguments, a file or standard input)
// stored in one table in one atomic, durable write.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
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

struct InsertOptions {
  std::string table;
  std::vector<std::string> rows;
  std::string file;
  std::string user;
  CLI::Option* user_option = nullptr;
};

// The rows to insert and, for messages, where each came from.
struct InputRows {
  std::vector<json> rows;
  std::vector<std::string> sources;  // "argument 2", "line 7 of rows.jsonl"
};

// One row's text parsed: a usage error (`usage`) or a failure naming
// `where` when it is not JSON, is nested too deep, holds a number out of
// range, or is not an object. Never throws anything else, never recurses per
// level of nesting (tables::parse_json).
json parse_row(const std::string& text, const std::string& where, bool usage) {
  auto fail = [usage](const std::string& message) {
    return usage ? CliError::Usage(message) : CliError::Failure(message);
  };
  auto row = tables::parse_json(text);
  if (!row.ok()) throw fail(where + " is " + row.status().message());
  if (!row->is_object()) {
    throw fail(where +
               " is not a row: a row is a JSON object of column -> value, "
               "got " +
               tables::describe_json(*row));
  }
  return std::move(*row);
}

void read_lines(std::istream& in, const std::string& name, InputRows* out) {
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "line " + std::to_string(number) + " of " + name;
    out->rows.push_back(parse_row(line, where, /*usage=*/false));
    out->sources.push_back(where);
  }
  if (in.bad()) throw CliError::Failure("cannot read " + name);
}

InputRows read_rows(const InsertOptions& options) {
  InputRows out;
  if (!options.rows.empty() && !options.file.empty()) {
    throw CliError::Usage(
        "give the rows either as ROW_JSON arguments or with --file FILE, "
        "not both");
  }
  if (!options.rows.empty()) {
    for (size_t i = 0; i < options.rows.size(); ++i) {
      const std::string where = "ROW_JSON argument " + std::to_string(i + 1);
      out.rows.push_back(parse_row(options.rows[i], where, /*usage=*/true));
      out.sources.push_back(where);
    }
    return out;
  }
  if (options.file.empty() || options.file == "-") {
    if (options.file.empty() && isatty(STDIN_FILENO)) {
      throw CliError::Usage(
          "no rows: give them as ROW_JSON arguments, with --file FILE, or "
          "as JSON lines on standard input");
    }
    read_lines(std::cin, "standard input", &out);
    if (out.rows.empty()) {
      throw CliError::Failure("no rows on standard input: nothing inserted");
    }
    return out;
  }
  std::error_code ec;
  if (!std::filesystem::exists(options.file, ec)) {
    throw CliError::Usage("--file '" + options.file + "' does not exist");
  }
  std::ifstream in(options.file, std::ios::binary);
  if (!in) {
    throw CliError::Failure("cannot open --file '" + options.file +
                            "': " + std::strerror(errno));
  }
  read_lines(in, options.file, &out);
  if (out.rows.empty()) {
    throw CliError::Failure("no rows in '" + options.file +
                            "': nothing inserted");
  }
  return out;
}

// The ROW_JSON arguments among the arguments CLI11 did not match; an
// unknown option is a usage error as everywhere else.
std::vector<std::string> rows_from_extras(
    const std::vector<std::string>& extras) {
  std::vector<std::string> rows;
  for (const auto& arg : extras) {
    if (arg == "--") continue;
    if (!arg.empty() && arg[0] == '-') {
      throw CliError::Usage("unknown option '" + arg +
                            "'; run 'kalam insert --help' for usage");
    }
    rows.push_back(arg);
  }
  return rows;
}

void run_insert(const CommonOptions& common, const InsertOptions& options) {
  const tables::QualifiedName name = parse_table_name(options.table);
  const std::string qualified = name.ns + "." + name.name;
  const bool has_user = options.user_option->count() > 0;
  if (has_user && options.user.empty()) {
    throw CliError::Usage("--user is empty; a user id is 1 to " +
                          std::to_string(tables::kMaxUserIdLength) + " bytes");
  }
  const InputRows input = read_rows(options);

  OpenedTables t = open_tables(common, Access::kWriteExisting, "kalam insert");
  require_tables(t, "table " + qualified);
  const std::string doing = "cannot insert into " + qualified;
  const tables::TableInfo info =
      value_or_throw(t.catalog().describe_table(name.ns, name.name), doing);
  const bool user_table = info.kind == tables::TableKind::kUser;
  if (user_table && !has_user) {
    throw CliError::Failure(
        doing +
        ": it is a user table; pass --user USER to say whose rows "
        "these are");
  }
  if (!user_table && has_user) {
    throw CliError::Failure(
        doing + ": it is a " + std::string(tables::table_kind_name(info.kind)) +
        " table, whose rows belong to no user; drop --user");
  }
  if (info.ns == tables::kSystemNamespace) {
    throw CliError::Failure(doing +
                            ": it is a read-only system table; the "
                            "catalog changes through 'kalam ns' and "
                            "'kalam table'");
  }
  // Check every row first, so an error names where the row came from (the
  // store checks them again and names only the index).
  for (size_t i = 0; i < input.rows.size(); ++i) {
    auto valid = info.schema.validate_row(input.rows[i]);
    if (!valid.ok()) {
      throw CliError::FromStatus(doing + ": " + input.sources[i],
                                 valid.status());
    }
  }
  const WriteOptions durable{.sync = true};
  std::vector<std::string> ids;
  switch (info.kind) {
    case tables::TableKind::kUser:
      ids = value_or_throw(
          t.tables->user().put_many(name.ns, name.name, options.user,
                                    input.rows, durable),
          doing);
      break;
    case tables::TableKind::kShared:
      ids = value_or_throw(
          t.tables->shared().put_many(name.ns, name.name, input.rows, durable),
          doing);
      break;
    case tables::TableKind::kStream:  // the rows are appended as events
      ids = value_or_throw(t.tables->stream().append_many(name.ns, name.name,
                                                          input.rows, durable),
                           doing);
      break;
  }
  close_tables(&t);
  for (const auto& id : ids) write_line(id);
  verbose_note(common, "inserted " + std::to_string(ids.size()) +
                           " row(s) into " + qualified);
}

}  // namespace

void register_insert(CLI::App& root, CommonOptions* common,
                     CommandList* commands) {
  auto options = std::make_shared<InsertOptions>();
  CLI::App* app = root.add_subcommand(
      "insert",
      "Insert rows (JSON objects) into a table in one atomic, durable write "
      "and print their row ids. Usage: kalam insert TABLE [ROW_JSON...] "
      "[OPTIONS]");
  add_common_options(app, common);
  app->add_option("TABLE", options->table,
                  "NAMESPACE.NAME, then the rows: ROW_JSON... (one JSON "
                  "object per argument; without them --file, else standard "
                  "input)")
      ->required();
  // The rows (ROW_JSON...) are taken from what CLI11 leaves over rather
  // than declared as a positional vector: CLI11 would split an argument
  // like "[1, 2]" at its commas, which is wrong for JSON.
  app->allow_extras();
  app->add_option("--file", options->file,
                  "Read rows from FILE, one JSON object per line ('-': "
                  "standard input)")
      ->option_text("FILE");
  options->user_option =
      app->add_option("--user", options->user,
                      "Whose rows (user tables: required; shared: not "
                      "allowed)")
          ->option_text("USER");
  set_example(app,
              "kalam insert app.notes --user alice '{\"id\": 1, \"title\": "
              "\"milk\"}' '{\"id\": 2, \"title\": \"eggs\"}'\n"
              "kalam insert app.config --file rows.jsonl\n"
              "printf '{\"key\": \"theme\", \"value\": \"dark\"}\\n' | kalam "
              "insert app.config",
              "All rows of one run are written together or not at all. A row "
              "whose primary key exists replaces that row. Blank lines in a "
              "file are skipped.");
  commands->push_back({app, [common, options, app] {
                         options->rows = rows_from_extras(app->remaining());
                         run_insert(*common, *options);
                       }});
}

}  // namespace kalam::cli
