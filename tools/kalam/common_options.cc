#include "common_options.h"

#include <cstdio>
#include <string>

namespace kalam::cli {

void add_common_options(CLI::App* app, CommonOptions* options) {
  app->add_option("-c,--config", options->config_file,
                  "The YAML config naming the backend and data directory")
      ->option_text("FILE (default: ./kalam.yaml)");
  app->add_flag("-v,--verbose", options->verbose,
                "Say more on stderr: what was opened, and error details");
  app->add_flag("--read-only", options->read_only,
                "Open the database without write access (where the backend "
                "can); a write subcommand refuses to run");
}

CLI::Validator count_in_range(uint64_t min, uint64_t max) {
  auto check = [min, max](std::string& input) -> std::string {
    const std::string wanted = "must be a whole number from " +
                               std::to_string(min) + " to " +
                               std::to_string(max) + ", not '" + input + "'";
    if (input.empty() || input.size() > 20 ||
        input.find_first_not_of("0123456789") != std::string::npos) {
      return wanted;
    }
    // 20 digits may still be over 2^64 - 1: compare as digit strings.
    const std::string top = std::to_string(UINT64_MAX);
    const size_t first = input.find_first_not_of('0');
    const std::string digits =
        first == std::string::npos ? "0" : input.substr(first);
    if (digits.size() > top.size() ||
        (digits.size() == top.size() && digits > top)) {
      return wanted;
    }
    const uint64_t value = std::stoull(digits);
    if (value < min || value > max) return wanted;
    return {};
  };
  return CLI::Validator(check, "N", "count_in_range");
}

void add_family_option(CLI::App* app, std::string* family) {
  app->add_option("--cf", *family, "The column family (default: default)")
      ->option_text("NAME");
}

void set_example(CLI::App* app, std::string_view lines,
                 std::string_view notes) {
  std::string footer;
  // Wrap the notes at 78 columns.
  size_t column = 0;
  size_t start = 0;
  while (start < notes.size()) {
    size_t end = notes.find(' ', start);
    if (end == std::string_view::npos) end = notes.size();
    const std::string_view word = notes.substr(start, end - start);
    if (column > 0 && column + 1 + word.size() > 78) {
      footer += '\n';
      column = 0;
    } else if (column > 0) {
      footer += ' ';
      ++column;
    }
    footer += word;
    column += word.size();
    start = end + 1;
  }
  footer += footer.empty() ? "Example:\n" : "\n\nExample:\n";
  start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string_view::npos) end = lines.size();
    footer += "  ";
    footer += lines.substr(start, end - start);
    footer += '\n';
    start = end + 1;
  }
  app->footer(footer);
}

void verbose_note(const CommonOptions& options, std::string_view message) {
  if (!options.verbose) return;
  std::fprintf(stderr, "kalam: %.*s\n", static_cast<int>(message.size()),
               message.data());
}

void warn(std::string_view message) {
  std::fprintf(stderr, "kalam: warning: %.*s\n",
               static_cast<int>(message.size()), message.data());
}

}  // namespace kalam::cli
