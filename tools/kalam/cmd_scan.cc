// kalam scan: the entries of one column family in key order (or reverse),
// bounded by --prefix and --from/--to, pushed down to the backend.
#include <kalam/backend_api.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_error.h"
#include "commands.h"
#include "encoding.h"
#include "families.h"
#include "open_database.h"
#include "output.h"

namespace kalam::cli {
namespace {

struct ScanOptions {
  std::string family = "default";
  std::string prefix, from, to;
  CLI::Option* prefix_option = nullptr;
  CLI::Option* from_option = nullptr;
  CLI::Option* to_option = nullptr;
  bool reverse = false;
  uint64_t limit = 0;  // 0: no limit
  bool keys_only = false;
  Encoding key_encoding = Encoding::kUtf8;
  Encoding value_encoding = Encoding::kUtf8;
  OutputFormat format = OutputFormat::kText;
};

void print_entry(const ScanOptions& options, std::string_view key,
                 std::string_view value) {
  if (options.format == OutputFormat::kJson) {
    nlohmann::json line = {
        {"key", json_text(key, options.key_encoding, key, false)}};
    if (!options.keys_only) {
      line["value"] = json_text(value, options.value_encoding, key, true);
    }
    write_json_line(line);
    return;
  }
  write_out(encode(key, options.key_encoding));
  if (!options.keys_only) {
    write_out("\t");
    write_out(encode(value, options.value_encoding));
  }
  write_out("\n");
}

void run_scan(const CommonOptions& common, const ScanOptions& options) {
  IteratorOptions bounds;
  bounds.reverse = options.reverse;
  if (options.prefix_option->count() > 0) {
    bounds.prefix =
        decode_argument(options.prefix, options.key_encoding, "--prefix");
  }
  if (options.from_option->count() > 0) {
    bounds.lower =
        decode_argument(options.from, options.key_encoding, "--from");
  }
  if (options.to_option->count() > 0) {
    bounds.upper = decode_argument(options.to, options.key_encoding, "--to");
  }

  OpenedDatabase opened = open_database(common, Access::kRead, "kalam scan");
  uint64_t printed = 0;
  {
    Database& db = *opened.db;
    if (options.reverse && !db.plugin().has(KALAM_CAP_REVERSE_ITERATION)) {
      throw CliError::Failure("backend '" + db.plugin().name() +
                              "' cannot iterate backwards (no "
                              "reverse_iteration capability); scan without "
                              "--reverse");
    }
    const ColumnFamily cf = open_family(opened, options.family);
    const std::string doing =
        "cannot scan column family '" + options.family + "'";
    Iterator it = value_or_throw(db.new_iterator(cf, bounds), doing);
    const auto direction = options.reverse ? Iterator::Direction::kBackward
                                           : Iterator::Direction::kForward;
    if (options.reverse) {
      it.seek_to_last();
    } else {
      it.seek_to_first();
    }
    constexpr uint64_t kBatch = 256;
    while (it.valid() && (options.limit == 0 || printed < options.limit)) {
      const uint64_t want = options.limit == 0
                                ? kBatch
                                : std::min(kBatch, options.limit - printed);
      auto consumed = it.next_batch(
          static_cast<size_t>(want),
          [&](std::string_view key, std::string_view value) {
            print_entry(options, key, value);
            ++printed;
            return true;
          },
          direction);
      throw_if_error(consumed.status(), doing);
      if (*consumed == 0) break;
    }
    throw_if_error(it.status(), doing);
  }
  verbose_note(common, std::to_string(printed) + " entries");
  close_database(&opened);
}

}  // namespace

void register_scan(CLI::App& root, CommonOptions* common,
                   CommandList* commands) {
  auto options = std::make_shared<ScanOptions>();
  CLI::App* app = root.add_subcommand(
      "scan", "Print the entries of a column family in key order");
  add_common_options(app, common);
  add_family_option(app, &options->family);
  options->prefix_option =
      app->add_option("--prefix", options->prefix,
                      "Only keys that start with PREFIX (in --key-encoding)")
          ->option_text("PREFIX");
  options->from_option =
      app->add_option("--from", options->from,
                      "Only keys >= KEY (inclusive, in --key-encoding)")
          ->option_text("KEY");
  options->to_option =
      app->add_option("--to", options->to,
                      "Only keys < KEY (exclusive, in --key-encoding)")
          ->option_text("KEY");
  app->add_flag("--reverse", options->reverse,
                "Walk from the last key backwards");
  app->add_option("--limit", options->limit, "Print at most N entries")
      ->check(count_in_range(1))
      ->option_text("N");
  app->add_flag("--keys-only", options->keys_only, "Print keys, no values");
  add_encoding_option(app, "--key-encoding", &options->key_encoding,
                      "How keys are printed and --prefix/--from/--to given");
  add_encoding_option(app, "--value-encoding", &options->value_encoding,
                      "How values are printed");
  add_format_option(app, &options->format,
                    "one {\"key\": ..., \"value\": ...} object per line");
  set_example(app,
              "kalam scan --cf users --prefix alice: --limit 10\n"
              "kalam scan --from a --to m --reverse --format json\n"
              "kalam scan --key-encoding hex --prefix 00ff --value-encoding "
              "base64",
              "One entry per line: key<TAB>value as text, or a JSON object "
              "with --format json. Bounds are pushed down to the backend. "
              "Text output writes utf8 bytes as they are; for keys or values "
              "with tabs, newlines or binary bytes use hex or base64.");
  commands->push_back(
      {app, [common, options] { run_scan(*common, *options); }});
}

}  // namespace kalam::cli
