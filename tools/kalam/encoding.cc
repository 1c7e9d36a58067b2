#include "encoding.h"

#include <array>
#include <cstdint>

#include "cli_error.h"

namespace kalam::cli {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string describe_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte < 0x7f) return std::string("'") + c + "'";
  return std::string("byte 0x") + kHexDigits[byte >> 4] + kHexDigits[byte & 15];
}

}  // namespace

std::string_view encoding_name(Encoding encoding) {
  switch (encoding) {
    case Encoding::kUtf8:
      return "utf8";
    case Encoding::kHex:
      return "hex";
    case Encoding::kBase64:
      return "base64";
  }
  return "?";
}

CLI::Option* add_encoding_option(CLI::App* app, const std::string& name,
                                 Encoding* encoding, const std::string& help) {
  return app
      ->add_option_function<std::string>(
          name,
          [encoding](const std::string& text) {
            *encoding = text == "hex"      ? Encoding::kHex
                        : text == "base64" ? Encoding::kBase64
                                           : Encoding::kUtf8;
          },
          help + " (default: utf8)")
      ->check(CLI::IsMember(std::vector<std::string>{"utf8", "hex", "base64"},
                            CLI::ignore_case))
      ->option_text("utf8|hex|base64");
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += kHexDigits[byte >> 4];
    out += kHexDigits[byte & 15];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view text, std::string* error) {
  if (text.size() % 2 != 0) {
    *error = "odd number of hex digits (" + std::to_string(text.size()) +
             "); each byte is two digits";
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int high = hex_value(text[i]);
    const int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) {
      const size_t bad = high < 0 ? i : i + 1;
      *error = "invalid hex digit " + describe_char(text[bad]) +
               " at position " + std::to_string(bad + 1);
      return std::nullopt;
    }
    out += static_cast<char>((high << 4) | low);
  }
  return out;
}

std::string to_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += kBase64Alphabet[(n >> 6) & 63];
    out += kBase64Alphabet[n & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += rest == 2 ? kBase64Alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> from_base64(std::string_view text,
                                       std::string* error) {
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '=' && text.size() - end < 2) --end;
  const size_t padding = text.size() - end;
  if (padding > 0 && text.size() % 4 != 0) {
    *error = "padded base64 must be a multiple of 4 characters long";
    return std::nullopt;
  }
  if (end % 4 == 1) {
    *error = "truncated base64: " + std::to_string(end) +
             " characters cannot encode whole bytes";
    return std::nullopt;
  }
  std::string out;
  out.reserve(end / 4 * 3 + 2);
  uint32_t bits = 0;
  int count = 0;
  for (size_t i = 0; i < end; ++i) {
    const int v = base64_value(text[i]);
    if (v < 0) {
      *error = "invalid base64 character " + describe_char(text[i]) +
               " at position " + std::to_string(i + 1);
      return std::nullopt;
    }
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++count == 4) {
      out += static_cast<char>((bits >> 16) & 0xff);
      out += static_cast<char>((bits >> 8) & 0xff);
      out += static_cast<char>(bits & 0xff);
      bits = 0;
      count = 0;
    }
  }
  if (count == 2) {
    out += static_cast<char>((bits >> 4) & 0xff);
  } else if (count == 3) {
    out += static_cast<char>((bits >> 10) & 0xff);
    out += static_cast<char>((bits >> 2) & 0xff);
  }
  return out;
}

std::string decode_argument(std::string_view text, Encoding encoding,
                            std::string_view what) {
  std::string error;
  std::optional<std::string> bytes;
  switch (encoding) {
    case Encoding::kUtf8:
      return std::string(text);
    case Encoding::kHex:
      bytes = from_hex(text, &error);
      break;
    case Encoding::kBase64:
      bytes = from_base64(text, &error);
      break;
  }
  if (!bytes) {
    throw CliError::Usage("malformed " + std::string(encoding_name(encoding)) +
                          " in " + std::string(what) + " '" +
                          std::string(text) + "': " + error);
  }
  return *std::move(bytes);
}

std::string encode(std::string_view bytes, Encoding encoding) {
  switch (encoding) {
    case Encoding::kUtf8:
      return std::string(bytes);
    case Encoding::kHex:
      return to_hex(bytes);
    case Encoding::kBase64:
      return to_base64(bytes);
  }
  return std::string(bytes);
}

bool is_valid_utf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    size_t extra;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= bytes.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(bytes[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    static constexpr std::array<uint32_t, 4> kMin = {0, 0x80, 0x800, 0x10000};
    if (code < kMin[extra] || code > 0x10ffff ||
        (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string describe_bytes(std::string_view bytes) {
  bool printable = !bytes.empty();
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '\'') printable = false;
  }
  constexpr size_t kMax = 64;
  const std::string_view shown = bytes.substr(0, kMax);
  const std::string ellipsis = bytes.size() > kMax ? "..." : "";
  if (printable) return "'" + std::string(shown) + ellipsis + "'";
  return "0x" + to_hex(shown) + ellipsis;
}

}  // namespace kalam::cli
