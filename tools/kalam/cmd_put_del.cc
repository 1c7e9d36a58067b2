// kalam put / kalam del: single writes on raw keys, made durable (sync)
// before the command returns.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "cli_error.h"
#include "commands.h"
#include "encoding.h"
#include "families.h"
#include "open_database.h"
#include "output.h"

namespace kalam::cli {
namespace {

struct PutOptions {
  std::string family = "default";
  std::string key;
  std::string value;
  CLI::Option* value_option = nullptr;  // set when VALUE was given
  std::string value_file;
  Encoding key_encoding = Encoding::kUtf8;
  Encoding value_encoding = Encoding::kUtf8;
};

struct DelOptions {
  std::string family = "default";
  std::vector<std::string> keys;
  Encoding key_encoding = Encoding::kUtf8;
};

std::string decode_key(const std::string& text, Encoding encoding) {
  std::string key = decode_argument(text, encoding, "the key");
  if (key.empty()) {
    throw CliError::Usage("the key is empty; keys are 1 or more bytes");
  }
  return key;
}

std::string read_value_file(const std::string& file) {
  if (file == "-") {
    std::ostringstream text;
    text << std::cin.rdbuf();
    if (std::cin.bad()) {
      throw CliError::Failure("cannot read the value from standard input");
    }
    return text.str();
  }
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw CliError::Usage("--value-file '" + file +
                          "' is a directory; give a file whose bytes are "
                          "the value");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw CliError::Usage("cannot open --value-file '" + file +
                          "': " + std::strerror(errno));
  }
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  if (in.bad()) {
    throw CliError::Failure("cannot read --value-file '" + file + "'");
  }
  return bytes;
}

void run_put(const CommonOptions& common, const PutOptions& options) {
  const std::string key = decode_key(options.key, options.key_encoding);
  std::string value;
  const bool has_value = options.value_option->count() > 0;
  if (has_value == !options.value_file.empty()) {
    throw CliError::Usage(
        "give the value either as VALUE or with --value-file FILE (one of "
        "the two)");
  }
  if (has_value) {
    value = decode_argument(options.value, options.value_encoding, "the value");
  } else {
    value = read_value_file(options.value_file);
  }
  OpenedDatabase opened = open_database(common, Access::kWrite, "kalam put");
  const ColumnFamily cf = open_family(opened, options.family);
  throw_if_error(opened.db->put(cf, key, value, {.sync = true}),
                 "cannot write key " + describe_bytes(key));
  close_database(&opened);
}

void run_del(const CommonOptions& common, const DelOptions& options) {
  std::vector<std::string> keys;
  for (const auto& text : options.keys) {
    keys.push_back(decode_key(text, options.key_encoding));
  }
  OpenedDatabase opened =
      open_database(common, Access::kWriteExisting, "kalam del");
  const ColumnFamily cf = open_family(opened, options.family);
  WriteBatch batch;
  for (const auto& key : keys) batch.del(cf, key);
  throw_if_error(opened.db->write(batch, {.sync = true}),
                 "cannot delete " + std::to_string(keys.size()) + " key(s)");
  close_database(&opened);
}

}  // namespace

void register_put_del(CLI::App& root, CommonOptions* common,
                      CommandList* commands) {
  auto put = std::make_shared<PutOptions>();
  CLI::App* put_app = root.add_subcommand(
      "put", "Set KEY to VALUE, durably (creates the database when missing)");
  add_common_options(put_app, common);
  put_app->add_option("KEY", put->key, "The key, in --key-encoding")
      ->required();
  put->value_option = put_app->add_option("VALUE", put->value,
                                          "The value, in --value-encoding");
  put_app
      ->add_option("--value-file", put->value_file,
                   "Read the value's raw bytes from FILE ('-': standard "
                   "input) instead of VALUE")
      ->option_text("FILE");
  add_family_option(put_app, &put->family);
  add_encoding_option(put_app, "--key-encoding", &put->key_encoding,
                      "How KEY is written");
  add_encoding_option(put_app, "--value-encoding", &put->value_encoding,
                      "How VALUE is written");
  set_example(put_app,
              "kalam put --cf users alice '{\"age\": 30}'\n"
              "kalam put --key-encoding hex 00ff --value-file photo.jpg");
  commands->push_back({put_app, [common, put] { run_put(*common, *put); }});

  auto del = std::make_shared<DelOptions>();
  CLI::App* del_app =
      root.add_subcommand("del", "Delete keys in one atomic, durable write");
  add_common_options(del_app, common);
  del_app->add_option("KEY", del->keys, "The keys, in --key-encoding")
      ->required();
  add_family_option(del_app, &del->family);
  add_encoding_option(del_app, "--key-encoding", &del->key_encoding,
                      "How the keys are written");
  set_example(del_app, "kalam del --cf users alice bob",
              "Deleting a key that is not there is not an error.");
  commands->push_back({del_app, [common, del] { run_del(*common, *del); }});
}

}  // namespace kalam::cli
