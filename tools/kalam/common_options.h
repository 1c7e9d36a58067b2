// Options every subcommand takes (--config, --verbose) and the small helpers
// that give each subcommand the same shape: a description, an example in
// --help, and verbose notes on stderr.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace kalam::cli {

struct CommonOptions {
  // The YAML config (see README.md, "Configuration").
  std::string config_file = "kalam.yaml";
  // More detail on stderr: what was opened, and the detail of errors.
  bool verbose = false;
  // --read-only: open without write access. Read subcommands do that
  // anyway (where the backend can); write subcommands refuse to run.
  bool read_only = false;
};

// Adds --config/-c, --verbose/-v and --read-only to `app`, bound to
// `options`.
void add_common_options(CLI::App* app, CommonOptions* options);

// Adds `--cf NAME`: the column family a key/value subcommand works on.
void add_family_option(CLI::App* app, std::string* family);

// A validator for a count option (N of --limit N, --batch-size N, ...): a
// whole number written in decimal digits only (no sign, no exponent, no
// spaces) from `min` to `max`. Anything else is a usage error such as
// "--limit: must be a whole number from 1 to 18446744073709551615, not '0'".
CLI::Validator count_in_range(
    uint64_t min, uint64_t max = std::numeric_limits<uint64_t>::max());

// Sets the footer of `app`'s --help: `notes` (a paragraph, wrapped here;
// may be empty), then "Example:" and `lines`, full command lines separated
// by newlines.
void set_example(CLI::App* app, std::string_view lines,
                 std::string_view notes = {});

// Prints "kalam: <message>" on stderr when --verbose was given.
void verbose_note(const CommonOptions& options, std::string_view message);

// Prints "kalam: warning: <message>" on stderr.
void warn(std::string_view message);

}  // namespace kalam::cli
