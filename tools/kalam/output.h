// Writing results on stdout: text or JSON (one object per line), with keys
// and values in the chosen encoding.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "encoding.h"

namespace kalam::cli {

enum class OutputFormat { kText, kJson };

// Adds `--format text|json` (default text) to `app`.
CLI::Option* add_format_option(CLI::App* app, OutputFormat* format,
                               const std::string& json_help);

// Writes `bytes` to stdout as they are.
void write_out(std::string_view bytes);
// Writes `line` and a newline to stdout.
void write_line(std::string_view line);
// Writes `value` as one line of compact JSON.
void write_json_line(const nlohmann::json& value);

// `bytes` (the key `key`, or its value when `is_value`) in `encoding`, for
// a JSON string. With utf8, bytes that are not valid UTF-8 are an error that
// names --key-encoding or --value-encoding as the fix.
std::string json_text(std::string_view bytes, Encoding encoding,
                      std::string_view key, bool is_value);

// "a, b, c".
std::string join(const std::vector<std::string>& items);

// Flushes stdout; a write error (disk full, closed pipe) is an error.
void finish_output();

}  // namespace kalam::cli
