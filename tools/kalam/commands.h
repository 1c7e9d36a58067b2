// The subcommands of kalam. Each register_* function adds its subcommand
// (with its options and --help example) to the root app, binds --config and
// --verbose to the shared `common`, and appends what to run when it is the
// one parsed. A run function reports failure by throwing CliError
// (cli_error.h); returning means success.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

#include "common_options.h"

namespace kalam::cli {

struct Command {
  CLI::App* app;
  std::function<void()> run;
};
using CommandList = std::vector<Command>;

// One per file: register_<name> lives in cmd_<name>.cc.
void register_info(CLI::App& root, CommonOptions* common,
                   CommandList* commands);
void register_plugins(CLI::App& root, CommonOptions* common,
                      CommandList* commands);
void register_cf(CLI::App& root, CommonOptions* common, CommandList* commands);
void register_get(CLI::App& root, CommonOptions* common, CommandList* commands);
void register_put_del(CLI::App& root, CommonOptions* common,
                      CommandList* commands);
void register_scan(CLI::App& root, CommonOptions* common,
                   CommandList* commands);
void register_stats(CLI::App& root, CommonOptions* common,
                    CommandList* commands);
void register_check(CLI::App& root, CommonOptions* common,
                    CommandList* commands);
void register_dump(CLI::App& root, CommonOptions* common,
                   CommandList* commands);
void register_load(CLI::App& root, CommonOptions* common,
                   CommandList* commands);
void register_migrate(CLI::App& root, CommonOptions* common,
                      CommandList* commands);
// The table layer's subcommands (table_support.h has what they share).
void register_ns(CLI::App& root, CommonOptions* common, CommandList* commands);
void register_table(CLI::App& root, CommonOptions* common,
                    CommandList* commands);
void register_insert(CLI::App& root, CommonOptions* common,
                     CommandList* commands);
void register_select(CLI::App& root, CommonOptions* common,
                     CommandList* commands);
void register_flush(CLI::App& root, CommonOptions* common,
                    CommandList* commands);
// update and delete: one row of a user or shared table by its id.
void register_update_delete(CLI::App& root, CommonOptions* common,
                            CommandList* commands);

// SQL over the tables (kalam_sql).
void register_sql(CLI::App& root, CommonOptions* common, CommandList* commands);

}  // namespace kalam::cli
