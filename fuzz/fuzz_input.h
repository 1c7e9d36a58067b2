// Shared helpers for the fuzz targets in fuzz/: a reader that turns the
// fuzzer's bytes into choices, and FUZZ_CHECK, which stops the process on a
// broken property (libFuzzer saves the input; the replay runner fails).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

// Aborts with the failed condition and a message when `cond` is false. Not
// compiled out in release builds: a fuzz target is its assertions.
#define FUZZ_CHECK(cond, ...)                                          \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::fprintf(stderr, "%s:%d: property failed: %s\n  ", __FILE__, \
                   __LINE__, #cond);                                   \
      std::fprintf(stderr, __VA_ARGS__);                               \
      std::fprintf(stderr, "\n");                                      \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

namespace kalam::fuzz {

// Consumes the input from the front. Past the end every read returns zeros
// and empty strings, so a target never needs to check for exhaustion except
// to stop its loop (empty()).
class Input {
 public:
  Input(const uint8_t* data, size_t size)
      : data_(reinterpret_cast<const char*>(data), size) {}
  explicit Input(std::string_view data) : data_(data) {}

  bool empty() const { return data_.empty(); }
  size_t remaining() const { return data_.size(); }

  uint8_t byte() {
    if (data_.empty()) return 0;
    const auto b = static_cast<uint8_t>(data_.front());
    data_.remove_prefix(1);
    return b;
  }
  // A value in [0, n) for n in 1..256.
  unsigned pick(unsigned n) { return n <= 1 ? 0 : byte() % n; }
  bool flag() { return (byte() & 1) != 0; }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | byte();
    return v;
  }
  // Up to `max_len` raw bytes, length first.
  std::string bytes(size_t max_len) {
    const size_t len = max_len == 0 ? 0 : byte() % (max_len + 1);
    return take(len);
  }
  std::string take(size_t len) {
    if (len > data_.size()) len = data_.size();
    std::string out(data_.substr(0, len));
    data_.remove_prefix(len);
    return out;
  }
  // Everything that is left.
  std::string rest() { return take(data_.size()); }

 private:
  std::string_view data_;
};

// `bytes` as \xHH-escaped text, for property failure messages.
inline std::string show(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    if (b >= 0x20 && b < 0x7F && c != '\\' && c != '"') {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    }
  }
  return out + "\"";
}

// Whether `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points above U+10FFFF).
inline bool valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<uint8_t>(text[i]);
    const size_t len = b < 0x80           ? 1
                       : (b >> 5) == 0x6  ? 2
                       : (b >> 4) == 0xE  ? 3
                       : (b >> 3) == 0x1E ? 4
                                          : 0;
    if (len == 0 || i + len > text.size()) return false;
    uint32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (size_t j = 1; j < len; ++j) {
      const auto c = static_cast<uint8_t>(text[i + j]);
      if ((c >> 6) != 0x2) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// -1, 0 or 1: the sign of a three-way comparison.
template <typename T>
int sign(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

}  // namespace kalam::fuzz
