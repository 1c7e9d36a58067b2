#include "sqlite_options.h"

#include <cctype>
#include <charconv>
#include <limits>
#include <string>
#include <system_error>

namespace kalam::sqlite_plugin {
namespace {

// The largest page cache PRAGMA cache_size can express: INT_MAX KiB.
constexpr uint64_t kMaxCacheSize =
    static_cast<uint64_t>(std::numeric_limits<int>::max()) * 1024;
constexpr uint64_t kMaxReadPoolSize = 1024;

using kalam_plugin::trim;

// Parses a whole decimal integer in [min, max].
bool parse_int(std::string_view text, int64_t min, int64_t max, int64_t* out) {
  text = trim(text);
  int64_t value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (value < min || value > max) return false;
  *out = value;
  return true;
}

int bad_value(Error& err, std::string_view key, std::string_view value,
              std::string_view expected) {
  return fail(err, KALAM_INVALID_ARGUMENT,
              "sqlite plugin: option '" + std::string(key) + "' has value '" +
                  std::string(value) + "', expected " + std::string(expected));
}

}  // namespace

int parse_options(const kalam_open_params& params, Options* out, Error& err) {
  Options options;
  if (std::string problem =
          kalam_plugin::option_list_problem(params, "sqlite plugin");
      !problem.empty()) {
    return fail(err, KALAM_INVALID_ARGUMENT, std::move(problem));
  }
  for (size_t i = 0; i < params.option_count; ++i) {
    const std::string_view key(params.option_keys[i]);
    const std::string_view value(params.option_values[i]);
    if (key == "cache_size") {
      uint64_t bytes = 0;
      if (!kalam_plugin::parse_byte_size(value, &bytes) ||
          bytes > kMaxCacheSize) {
        return bad_value(err, key, value,
                         "a byte size such as 8MiB (at most 2147483647KiB)");
      }
      options.cache_size = bytes;
    } else if (key == "busy_timeout_ms") {
      int64_t ms = 0;
      if (!parse_int(value, 0, std::numeric_limits<int>::max(), &ms)) {
        return bad_value(err, key, value,
                         "a whole number of milliseconds from 0 to 2147483647");
      }
      options.busy_timeout_ms = static_cast<int>(ms);
    } else if (key == "page_size") {
      uint64_t bytes = 0;
      if (!kalam_plugin::parse_byte_size(value, &bytes) || bytes < 512 ||
          bytes > 65536 || (bytes & (bytes - 1)) != 0) {
        return bad_value(err, key, value,
                         "a power of two from 512 to 65536 bytes");
      }
      options.page_size = static_cast<int>(bytes);
      options.page_size_given = true;
    } else if (key == "mmap_size") {
      uint64_t bytes = 0;
      if (!kalam_plugin::parse_byte_size(value, &bytes) ||
          bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return bad_value(err, key, value, "a byte size such as 256MiB or 0");
      }
      options.mmap_size = bytes;
    } else if (key == "read_pool_size") {
      int64_t count = 0;
      if (!parse_int(value, 0, static_cast<int64_t>(kMaxReadPoolSize),
                     &count)) {
        return bad_value(err, key, value, "a whole number from 0 to 1024");
      }
      options.read_pool_size = static_cast<size_t>(count);
    } else {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  "sqlite plugin: unknown option '" + std::string(key) +
                      "'; known options: cache_size, busy_timeout_ms, "
                      "page_size, mmap_size, read_pool_size (journal_mode is "
                      "always WAL and not an option)");
    }
  }
  *out = options;
  return KALAM_OK;
}

}  // namespace kalam::sqlite_plugin
