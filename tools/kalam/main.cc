// kalam: the command-line tool of the Kalam storage engine. Parses the
// command line (CLI11), runs the one subcommand given, and turns failures
// into one line on stderr and an exit code: 0 success, 1 operational error,
// 2 usage error. Subcommands are documented in docs/cli.md.
#include <kalam/plugin.h>

#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "cli_error.h"
#include "commands.h"
#include "common_options.h"
#include "output.h"

namespace {

using kalam::cli::CliError;

// "kalam cf list" for the deepest subcommand that was parsed.
std::string command_path(const CLI::App& app) {
  std::string path = app.get_name();
  const CLI::App* current = &app;
  while (true) {
    auto chosen = current->get_subcommands();
    if (chosen.empty()) break;
    current = chosen.front();
    path += " " + current->get_name();
  }
  return path;
}

// Before CLI11 sees the arguments: an unknown subcommand (at any level, as
// in "kalam cf rename") gets its own message rather than "argument was not
// expected".
void check_subcommand_names(const CLI::App& app,
                            const std::vector<std::string>& args) {
  const CLI::App* current = &app;
  std::string path = "kalam";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-c" || arg == "--config") {
      ++i;  // its value
      continue;
    }
    if (arg == "--") return;
    if (!arg.empty() && arg[0] == '-') continue;
    const auto subcommands = current->get_subcommands({});
    if (subcommands.empty()) return;  // the leaf's own arguments
    const CLI::App* match = nullptr;
    for (const CLI::App* sub : subcommands) {
      if (sub->check_name(arg)) match = sub;
    }
    if (match == nullptr) {
      throw CliError::Usage(
          "unknown subcommand '" + arg + "'" +
          (current == &app ? std::string() : " of '" + path + "'") + "; run '" +
          path + " --help' for the list");
    }
    current = match;
    path += " " + match->get_name();
  }
}

int report(const CliError& error, bool verbose) {
  std::fflush(stdout);
  std::fprintf(stderr, "kalam: %s\n", error.what());
  if (verbose && !error.detail().empty()) {
    std::fprintf(stderr, "kalam: detail: %s\n", error.detail().c_str());
  }
  for (const std::string& also : kalam::cli::take_secondary_errors()) {
    if (verbose) std::fprintf(stderr, "kalam: also: %s\n", also.c_str());
  }
  return error.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Inspect, operate, dump, load and migrate a Kalam database. Every "
      "subcommand reads the YAML config given with --config (default "
      "./kalam.yaml). Exit codes: 0 success, 1 operational error, 2 usage "
      "error.",
      "kalam");
  app.set_version_flag("--version", std::string("kalam ") + KALAM_VERSION);
  app.require_subcommand(1, 1);
  kalam::cli::CommonOptions common;
  kalam::cli::add_common_options(&app, &common);
  kalam::cli::set_example(&app,
                          "kalam info --config kalam.yaml\n"
                          "kalam scan --cf users --prefix alice: --limit 10\n"
                          "kalam select app.notes --user alice --limit 10\n"
                          "kalam migrate --config rocksdb.yaml --to lmdb.yaml");

  kalam::cli::CommandList commands;
  kalam::cli::register_info(app, &common, &commands);
  kalam::cli::register_plugins(app, &common, &commands);
  kalam::cli::register_cf(app, &common, &commands);
  kalam::cli::register_get(app, &common, &commands);
  kalam::cli::register_put_del(app, &common, &commands);
  kalam::cli::register_scan(app, &common, &commands);
  kalam::cli::register_stats(app, &common, &commands);
  kalam::cli::register_check(app, &common, &commands);
  kalam::cli::register_dump(app, &common, &commands);
  kalam::cli::register_load(app, &common, &commands);
  kalam::cli::register_migrate(app, &common, &commands);
  kalam::cli::register_ns(app, &common, &commands);
  kalam::cli::register_table(app, &common, &commands);
  kalam::cli::register_insert(app, &common, &commands);
  kalam::cli::register_select(app, &common, &commands);
  kalam::cli::register_update_delete(app, &common, &commands);
  kalam::cli::register_flush(app, &common, &commands);
  kalam::cli::register_sql(app, &common, &commands);

  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    check_subcommand_names(app, args);
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e);  // --help, --version
    }
    std::fprintf(stderr, "kalam: %s; run '%s --help' for usage\n", e.what(),
                 command_path(app).c_str());
    return kalam::cli::kExitUsage;
  } catch (const CliError& e) {
    return report(e, common.verbose);
  }

  // Engine and plugin log lines: warnings and errors always, the rest with
  // --verbose; each one line on stderr in kalam's format.
  // An error printed is an error returned: a command during which the
  // engine or a plugin logged an error exits 1 even if it finished.
  static std::atomic<uint64_t> logged_errors{0};
  kalam::set_log_sink([verbose = common.verbose](kalam::LogLevel level,
                                                 std::string_view source,
                                                 std::string_view message) {
    if (level >= kalam::LogLevel::kError) logged_errors.fetch_add(1);
    if (level < kalam::LogLevel::kWarn && !verbose) return;
    const char* tag = level >= kalam::LogLevel::kError  ? "error: "
                      : level == kalam::LogLevel::kWarn ? "warning: "
                                                        : "";
    // Plugins usually start their messages with their name already.
    std::string line(message);
    if (line.compare(0, source.size() + 1, std::string(source) + ":") != 0) {
      line = std::string(source) + ": " + line;
    }
    std::fprintf(stderr, "kalam: %s%s\n", tag, line.c_str());
  });

  try {
    for (const auto& command : commands) {
      if (command.app->parsed()) {
        command.run();
        kalam::cli::finish_output();
        if (const uint64_t errors = logged_errors.load(); errors > 0) {
          throw CliError::Failure(
              "the command finished, but " + std::to_string(errors) +
              " error(s) were reported while it ran (above); treat its "
              "output as unreliable and run it again");
        }
        return kalam::cli::kExitOk;
      }
    }
    std::fprintf(stderr, "kalam: no subcommand; run 'kalam --help'\n");
    return kalam::cli::kExitUsage;
  } catch (const CliError& e) {
    return report(e, common.verbose);
  } catch (const std::bad_alloc&) {
    return report(CliError::Failure("out of memory"), common.verbose);
  } catch (const std::exception& e) {
    return report(CliError::Failure(std::string("internal error: ") + e.what()),
                  common.verbose);
  }
}
