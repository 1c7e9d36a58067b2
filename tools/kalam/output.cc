#include "output.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli_error.h"

namespace kalam::cli {

CLI::Option* add_format_option(CLI::App* app, OutputFormat* format,
                               const std::string& json_help) {
  return app
      ->add_option_function<std::string>(
          "--format",
          [format](const std::string& text) {
            *format =
                text == "json" ? OutputFormat::kJson : OutputFormat::kText;
          },
          "Output as text (default) or json: " + json_help)
      ->check(CLI::IsMember(std::vector<std::string>{"text", "json"},
                            CLI::ignore_case))
      ->option_text("text|json");
}

void write_out(std::string_view bytes) {
  if (bytes.empty()) return;
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size()) {
    throw CliError::Failure(std::string("cannot write to standard output: ") +
                            std::strerror(errno));
  }
}

void write_line(std::string_view line) {
  write_out(line);
  write_out("\n");
}

void write_json_line(const nlohmann::json& value) { write_line(value.dump()); }

std::string json_text(std::string_view bytes, Encoding encoding,
                      std::string_view key, bool is_value) {
  if (encoding == Encoding::kUtf8 && !is_valid_utf8(bytes)) {
    throw CliError::Failure(
        std::string(is_value ? "the value of key " : "key ") +
        describe_bytes(key) +
        " is not valid UTF-8, which JSON output needs; pass " +
        (is_value ? "--value-encoding" : "--key-encoding") + " hex or base64");
  }
  return encode(bytes, encoding);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

void finish_output() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    throw CliError::Failure(std::string("cannot write to standard output: ") +
                            std::strerror(errno));
  }
}

}  // namespace kalam::cli
