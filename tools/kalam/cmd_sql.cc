// kalam sql: SQL over the tables (kalam_sql, docs/sql.md) — one statement or
// a script from the command line, a file or stdin, or an interactive shell
// with line editing and history (libedit). A session is one user's
// (--user) or an administrator's (--admin).
#include <editline/readline.h>
#include <kalam/sql/session.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_error.h"
#include "commands.h"
#include "open_database.h"
#include "output.h"
#include "table_support.h"

namespace kalam::cli {
namespace {

using nlohmann::json;
using sql::Statement;
using sql::Value;
using sql::ValueType;

enum class SqlFormat { kTable, kJson, kCsv };

struct SqlOptions {
  std::string sql;
  std::string user;
  bool admin = false;
  std::string file;
  std::string format = "table";
  bool explain = false;
  bool shell = false;
};

SqlFormat parse_format(const std::string& text) {
  if (text == "table") return SqlFormat::kTable;
  if (text == "json") return SqlFormat::kJson;
  if (text == "csv") return SqlFormat::kCsv;
  throw CliError::Usage("unknown --format '" + text +
                        "'; use table, json or csv");
}

// A cell as text: NULL as "NULL" in tables, empty in CSV; blobs as hex.
std::string cell_text(const Value& v, SqlFormat format) {
  switch (sql::type_of(v)) {
    case ValueType::kNull:
      return format == SqlFormat::kTable ? "NULL" : "";
    case ValueType::kInteger:
      return std::to_string(std::get<int64_t>(v));
    case ValueType::kReal: {
      std::ostringstream out;
      out.precision(17);
      out << std::get<double>(v);
      return out.str();
    }
    case ValueType::kText:
      return std::get<std::string>(v);
    case ValueType::kBlob: {
      static const char* kHex = "0123456789abcdef";
      std::string out = "x'";
      for (unsigned char c : std::get<sql::Blob>(v).bytes) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
      return out + "'";
    }
  }
  return "";
}

json cell_json(const Value& v) {
  switch (sql::type_of(v)) {
    case ValueType::kNull:
      return nullptr;
    case ValueType::kInteger:
      return std::get<int64_t>(v);
    case ValueType::kReal:
      return std::get<double>(v);
    case ValueType::kText:
      return json_safe(std::get<std::string>(v), "a text value");
    case ValueType::kBlob:
      return tables::base64_encode(std::get<sql::Blob>(v).bytes);
  }
  return nullptr;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Display width of UTF-8 text: code points (good enough for alignment).
size_t width(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

// Prints the rows of one statement in `format`. Table output is aligned,
// so it holds the rows of one statement in memory; JSON and CSV stream.
class Printer {
 public:
  explicit Printer(SqlFormat format) : format_(format) {}

  bool row(const Statement& st) {
    const int n = st.column_count();
    if (names_.empty()) {
      for (int i = 0; i < n; ++i) names_.push_back(st.column_name(i));
      if (format_ == SqlFormat::kCsv) {
        std::string line;
        for (int i = 0; i < n; ++i) {
          line += (i ? "," : "") + csv_field(names_[static_cast<size_t>(i)]);
        }
        write_line(line);
      }
    }
    ++rows_;
    if (format_ == SqlFormat::kJson) {
      // In column order (nlohmann::json would sort the names).
      nlohmann::ordered_json line = nlohmann::ordered_json::object();
      for (int i = 0; i < n; ++i) {
        line[names_[static_cast<size_t>(i)]] = cell_json(st.column(i));
      }
      write_line(line.dump());
      return true;
    }
    std::vector<std::string> cells;
    for (int i = 0; i < n; ++i)
      cells.push_back(cell_text(st.column(i), format_));
    if (format_ == SqlFormat::kCsv) {
      std::string line;
      for (size_t i = 0; i < cells.size(); ++i) {
        line += (i ? "," : "") + csv_field(cells[i]);
      }
      write_line(line);
      return true;
    }
    table_.push_back(std::move(cells));
    return true;
  }

  // Ends the statement: prints the aligned table.
  void finish() {
    if (format_ == SqlFormat::kTable && !names_.empty()) {
      std::vector<size_t> widths;
      for (const auto& name : names_) widths.push_back(width(name));
      for (const auto& r : table_) {
        for (size_t i = 0; i < r.size(); ++i) {
          widths[i] = std::max(widths[i], width(r[i]));
        }
      }
      auto print = [&](const std::vector<std::string>& cells) {
        std::string line;
        for (size_t i = 0; i < cells.size(); ++i) {
          if (i) line += " | ";
          line += cells[i];
          if (i + 1 < cells.size()) {
            line += std::string(widths[i] - width(cells[i]), ' ');
          }
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        write_line(line);
      };
      print(names_);
      std::string rule;
      for (size_t i = 0; i < widths.size(); ++i) {
        if (i) rule += "-+-";
        rule += std::string(widths[i], '-');
      }
      write_line(rule);
      for (const auto& r : table_) print(r);
    }
    names_.clear();
    table_.clear();
  }

  uint64_t rows() const { return rows_; }

 private:
  SqlFormat format_;
  std::vector<std::string> names_;
  std::vector<std::vector<std::string>> table_;
  uint64_t rows_ = 0;
};

// Runs every statement of `script`, printing each one's rows.
Status run_script(sql::Session& session, std::string_view script,
                  SqlFormat format, bool explain) {
  size_t at = 0;
  while (at < script.size()) {
    std::string_view rest = script.substr(at);
    size_t used = 0;
    // --explain: the plan of each statement instead of its rows.
    KALAM_ASSIGN_OR_RETURN(Statement stmt, session.prepare(rest, &used));
    if (used == 0) break;
    Printer printer(format);
    if (explain && !stmt.sql().empty()) {
      const std::string plan =
          "EXPLAIN QUERY PLAN " + std::string(rest.substr(0, used));
      KALAM_ASSIGN_OR_RETURN(Statement explained, session.prepare(plan));
      KALAM_RETURN_IF_ERROR(explained.for_each(
          [&](const Statement& st) { return printer.row(st); }));
    } else {
      KALAM_RETURN_IF_ERROR(
          stmt.for_each([&](const Statement& st) { return printer.row(st); }));
    }
    printer.finish();
    at += used;
  }
  return Status::OK();
}

std::string read_all(std::istream& in) {
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

const char* kShellHelp =
    "Statements end with ';' and may span lines. Commands:\n"
    "  .tables             the tables of every namespace\n"
    "  .format table|json|csv\n"
    "  .explain on|off     print each statement's query plan instead of "
    "running it\n"
    "  .help               this text\n"
    "  .quit / .exit       leave (so does end of input, Ctrl-D)\n";

// The interactive shell: line editing and history through libedit when
// stdin is a terminal, plain lines otherwise (scripts piped into --shell).
int run_shell(sql::Session& session, SqlFormat format, bool explain) {
  const bool tty = isatty(STDIN_FILENO) != 0;
  std::string history;
  if (tty) {
    if (const char* home = std::getenv("HOME"); home != nullptr) {
      history = std::string(home) + "/.kalam_sql_history";
      read_history(history.c_str());
    }
    std::printf(
        "kalam sql: %s session. End statements with ';', .help for "
        "help.\n",
        session.user().is_admin()
            ? "administrator"
            : ("user '" + session.user().user_id() + "'").c_str());
  }
  int errors = 0;
  std::string pending;
  while (true) {
    std::string line;
    const char* prompt = pending.empty() ? "kalam> " : "  ...> ";
    if (tty) {
      char* read = readline(prompt);
      if (read == nullptr) break;
      line = read;
      std::free(read);
      if (!line.empty()) add_history(line.c_str());
    } else {
      if (!std::getline(std::cin, line)) break;
    }
    if (pending.empty() && !line.empty() && line[0] == '.') {
      std::istringstream words(line);
      std::string command, arg;
      words >> command >> arg;
      if (command == ".quit" || command == ".exit") break;
      if (command == ".help") {
        std::fputs(kShellHelp, stdout);
      } else if (command == ".format") {
        try {
          format = parse_format(arg);
        } catch (const CliError& e) {
          std::fprintf(stderr, "error: %s\n", e.what());
          ++errors;
        }
      } else if (command == ".explain") {
        explain = arg != "off";
      } else if (command == ".tables") {
        Status s = run_script(session,
                              "SELECT namespace || '.' || name AS \"table\", "
                              "kind FROM system.tables",
                              format, false);
        if (!s.ok()) std::fprintf(stderr, "error: %s\n", s.message().c_str());
      } else {
        std::fprintf(stderr, "error: unknown command '%s'; .help lists them\n",
                     command.c_str());
        ++errors;
      }
      std::fflush(stdout);
      continue;
    }
    pending += line;
    pending += "\n";
    if (!sql::is_complete_statement(pending)) continue;
    Status s = run_script(session, pending, format, explain);
    pending.clear();
    if (!s.ok()) {
      std::fprintf(stderr, "error: %s\n", s.message().c_str());
      ++errors;
    } else if (session.changes() > 0 && tty) {
      std::printf("(%lld row(s) changed)\n",
                  static_cast<long long>(session.changes()));
    }
    std::fflush(stdout);
  }
  if (tty && !history.empty()) write_history(history.c_str());
  if (!pending.empty() &&
      pending.find_first_not_of(" \t\n") != std::string::npos) {
    std::fprintf(stderr,
                 "error: input ended inside a statement (missing ';')\n");
    ++errors;
  }
  return errors;
}

void run_sql(const CommonOptions& common, const SqlOptions& options) {
  if (options.admin == !options.user.empty()) {
    throw CliError::Usage(
        options.admin ? "--user and --admin exclude each other"
                      : "say whose session this is: --user USER (that user's "
                        "rows of user tables) or --admin (every user's rows)");
  }
  const SqlFormat format = parse_format(options.format);
  const int sources =
      !options.sql.empty() + !options.file.empty() + options.shell;
  if (sources > 1) {
    throw CliError::Usage(
        "give one of: SQL on the command line, --file PATH, or --shell");
  }
  std::string script;
  bool shell = options.shell;
  if (!options.sql.empty()) {
    script = options.sql;
  } else if (options.file == "-") {
    script = read_all(std::cin);
  } else if (!options.file.empty()) {
    std::ifstream in(options.file, std::ios::binary);
    if (!in) {
      throw CliError::Failure("cannot read --file '" + options.file +
                              "': " + std::strerror(errno));
    }
    script = read_all(in);
  } else if (shell || isatty(STDIN_FILENO)) {
    shell = true;
  } else {
    script = read_all(std::cin);
  }

  OpenedTables t = open_tables(
      common, common.read_only ? Access::kRead : Access::kWriteExisting,
      "kalam sql");
  require_tables(t, "SQL over tables");
  int shell_errors = 0;
  {
    auto session = value_or_throw(
        sql::Session::open(
            *t.tables, options.admin ? sql::SessionUser::administrator()
                                     : sql::SessionUser::user(options.user)),
        "cannot open a SQL session");
    if (shell) {
      shell_errors = run_shell(*session, format, options.explain);
    } else {
      Status s = run_script(*session, script, format, options.explain);
      finish_output();
      throw_if_error(s, "");
    }
  }
  finish_output();
  close_tables(&t);
  if (shell_errors > 0) {
    throw CliError::Failure(std::to_string(shell_errors) +
                            " statement(s) of the shell session failed");
  }
}

}  // namespace

void register_sql(CLI::App& root, CommonOptions* common,
                  CommandList* commands) {
  auto options = std::make_shared<SqlOptions>();
  CLI::App* app = root.add_subcommand(
      "sql", "Run SQL over the tables (one statement, a script, or a shell)");
  add_common_options(app, common);
  app->add_option("SQL", options->sql,
                  "Statements to run (';'-separated); without them, --file, "
                  "or a shell when stdin is a terminal (else stdin is the "
                  "script)");
  app->add_option("--user", options->user,
                  "A session of this user: user tables yield only its rows")
      ->option_text("USER");
  app->add_flag("--admin", options->admin,
                "An administrator session: every user's rows, with user_id");
  app->add_option("--file,-f", options->file,
                  "Run the statements of this file ('-': stdin)")
      ->option_text("PATH");
  app->add_option("--format", options->format,
                  "table (aligned, default), json (one object per row and "
                  "line) or csv (with a header line)")
      ->option_text("table|json|csv");
  app->add_flag("--explain", options->explain,
                "Print each statement's query plan (EXPLAIN QUERY PLAN: "
                "point reads, key ranges, ORDER BY consumed) instead of "
                "running it");
  app->add_flag("--shell", options->shell,
                "An interactive shell even when stdin is not a terminal");
  set_example(app,
              "kalam sql --user alice \"SELECT id, title FROM app.notes "
              "WHERE id >= 10 ORDER BY id LIMIT 5\"\n"
              "kalam sql --admin --format json \"SELECT user_id, count(*) "
              "FROM app.notes GROUP BY user_id\"\n"
              "kalam sql --admin --explain \"SELECT * FROM app.notes WHERE "
              "user_id = 'bob' AND id = 3\"\n"
              "kalam sql --user alice -f changes.sql\n"
              "kalam sql --admin                          # the shell",
              "SQLite's dialect over every namespace.table (docs/sql.md). A "
              "statement, or BEGIN ... COMMIT, is one atomic batch. Errors "
              "give the line and column in the statement; exit 1.");
  commands->push_back({app, [common, options] { run_sql(*common, *options); }});
}

}  // namespace kalam::cli
