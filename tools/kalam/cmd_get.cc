// kalam get: the value of one key.
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

struct GetOptions {
  std::string family = "default";
  std::string key;
  Encoding key_encoding = Encoding::kUtf8;
  Encoding value_encoding = Encoding::kUtf8;
  OutputFormat format = OutputFormat::kText;
};

void run_get(const CommonOptions& common, const GetOptions& options) {
  const std::string key =
      decode_argument(options.key, options.key_encoding, "the key");
  OpenedDatabase opened = open_database(common, Access::kRead, "kalam get");
  const ColumnFamily cf = open_family(opened, options.family);
  auto value = opened.db->get(cf, key);
  if (!value.ok() && value.status().is_not_found()) {
    throw CliError::Failure("key " + describe_bytes(key) +
                            " not found in column family '" + options.family +
                            "'");
  }
  throw_if_error(value.status(), "cannot read key " + describe_bytes(key));
  if (options.format == OutputFormat::kJson) {
    write_json_line(
        {{"key", json_text(key, options.key_encoding, key, false)},
         {"value", json_text(*value, options.value_encoding, key, true)}});
  } else {
    write_line(encode(*value, options.value_encoding));
  }
  close_database(&opened);
}

}  // namespace

void register_get(CLI::App& root, CommonOptions* common,
                  CommandList* commands) {
  auto options = std::make_shared<GetOptions>();
  CLI::App* app = root.add_subcommand("get", "Print the value of KEY");
  add_common_options(app, common);
  app->add_option("KEY", options->key, "The key, in --key-encoding")
      ->required();
  add_family_option(app, &options->family);
  add_encoding_option(app, "--key-encoding", &options->key_encoding,
                      "How KEY is written");
  add_encoding_option(app, "--value-encoding", &options->value_encoding,
                      "How to print the value");
  add_format_option(app, &options->format, "{\"key\": ..., \"value\": ...}");
  set_example(app,
              "kalam get --cf users alice\n"
              "kalam get --key-encoding hex --value-encoding base64 00ff10",
              "Prints the value followed by a newline; exits 1 when the key "
              "is absent.");
  commands->push_back({app, [common, options] { run_get(*common, *options); }});
}

}  // namespace kalam::cli
