// How keys and values appear on the command line and in output: as UTF-8
// text (the bytes as they are), hex, or base64 (RFC 4648, standard alphabet).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace kalam::cli {

enum class Encoding { kUtf8, kHex, kBase64 };

// "utf8", "hex", "base64".
std::string_view encoding_name(Encoding encoding);

// Adds `--<name> utf8|hex|base64` (default utf8) to `app`.
CLI::Option* add_encoding_option(CLI::App* app, const std::string& name,
                                 Encoding* encoding, const std::string& help);

// The bytes `text` stands for. Throws a usage error naming `what` ("the
// key", "--prefix") and the problem when `text` is not valid in `encoding`.
std::string decode_argument(std::string_view text, Encoding encoding,
                            std::string_view what);

// `bytes` in `encoding` (utf8: the bytes unchanged).
std::string encode(std::string_view bytes, Encoding encoding);

std::string to_hex(std::string_view bytes);
std::string to_base64(std::string_view bytes);
// The decoded bytes, or nullopt and a reason in `error`.
std::optional<std::string> from_hex(std::string_view text, std::string* error);
// Accepts padded and unpadded input; no whitespace.
std::optional<std::string> from_base64(std::string_view text,
                                       std::string* error);

bool is_valid_utf8(std::string_view bytes);

// A key for messages: 'text' when it is printable ASCII, else 0x<hex>
// (shortened past 64 bytes).
std::string describe_bytes(std::string_view bytes);

}  // namespace kalam::cli
