#include "lmdb_options.h"

#include <unistd.h>

#include <cctype>
#include <cstring>
#include <set>

#include "lmdb_status.h"
#include "plugin_support.h"

namespace kalam_lmdb {
namespace {

// The smallest map accepted: enough for the meta pages, the main database,
// the "default" family and some data.
constexpr uint64_t kMinMapPages = 16;
constexpr uint32_t kMaxDbs = 32767;
constexpr uint32_t kMaxReaders = 65536;

using kalam_plugin::iequals;
using kalam_plugin::trim;

bool parse_uint(std::string_view text, uint64_t max, uint64_t* out) {
  text = trim(text);
  if (text.empty()) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (max - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *out = v;
  return true;
}

bool parse_bool(std::string_view text, bool* out) {
  text = trim(text);
  for (const char* t : {"true", "yes", "on", "1"}) {
    if (iequals(text, t)) {
      *out = true;
      return true;
    }
  }
  for (const char* f : {"false", "no", "off", "0"}) {
    if (iequals(text, f)) {
      *out = false;
      return true;
    }
  }
  return false;
}

uint64_t os_page_size() {
  const long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? static_cast<uint64_t>(p) : 4096;
}

}  // namespace

const char* sync_mode_name(SyncMode mode) noexcept {
  switch (mode) {
    case SyncMode::kFull:
      return "full";
    case SyncMode::kNoMetaSync:
      return "nometasync";
    case SyncMode::kNoSync:
      return "nosync";
  }
  return "?";
}

std::string format_size(uint64_t bytes) {
  static constexpr const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (unit < 4 && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + " " + kNames[unit];
}

int parse_options(const char* const* keys, const char* const* values,
                  size_t count, Options* out, kalam_status* status) {
  if (count > 0 && (keys == nullptr || values == nullptr)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "lmdb open: option_count is %zu but option_keys or "
                "option_values is NULL",
                count);
  }
  std::set<std::string_view> seen;
  for (size_t i = 0; i < count; ++i) {
    if (keys[i] == nullptr || values[i] == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb open: option %zu has a NULL key or value", i);
    }
    const std::string_view key = keys[i];
    const char* value = values[i];
    if (!seen.insert(key).second) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb open: option '%s' is given twice", keys[i]);
    }
    if (key == "map_size") {
      uint64_t bytes = 0;
      const uint64_t page = os_page_size();
      const uint64_t min = kMinMapPages * page;
      if (!kalam_plugin::parse_byte_size(value, &bytes) || bytes < min ||
          bytes > SIZE_MAX - page) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "lmdb open: option map_size = '%s' is not a size of at "
                    "least %s (digits with an optional unit: B, K/KB/KiB, "
                    "M/MB/MiB, G/GB/GiB, T/TB/TiB, all powers of 1024; e.g. "
                    "4GiB)",
                    value, format_size(min).c_str());
      }
      out->map_size = (bytes + page - 1) / page * page;  // round up to pages
    } else if (key == "max_dbs") {
      uint64_t n = 0;
      if (!parse_uint(value, kMaxDbs, &n) || n < 1) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "lmdb open: option max_dbs = '%s' is not an integer "
                    "from 1 to %u (the most column families, \"default\" "
                    "included)",
                    value, kMaxDbs);
      }
      out->max_dbs = static_cast<uint32_t>(n);
    } else if (key == "max_readers") {
      uint64_t n = 0;
      if (!parse_uint(value, kMaxReaders, &n) || n < 1) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "lmdb open: option max_readers = '%s' is not an integer "
                    "from 1 to %u",
                    value, kMaxReaders);
      }
      out->max_readers = static_cast<uint32_t>(n);
    } else if (key == "sync_mode") {
      const std::string_view v = trim(value);
      if (iequals(v, "full")) {
        out->sync_mode = SyncMode::kFull;
      } else if (iequals(v, "nometasync")) {
        out->sync_mode = SyncMode::kNoMetaSync;
      } else if (iequals(v, "nosync")) {
        out->sync_mode = SyncMode::kNoSync;
      } else {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "lmdb open: option sync_mode = '%s' is not one of full, "
                    "nometasync, nosync",
                    value);
      }
    } else if (key == "write_map" || key == "no_readahead") {
      bool b = false;
      if (!parse_bool(value, &b)) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "lmdb open: option %s = '%s' is not a boolean (true, "
                    "false, yes, no, on, off, 1, 0)",
                    keys[i], value);
      }
      (key == "write_map" ? out->write_map : out->no_readahead) = b;
    } else {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "lmdb open: unknown option '%s'; known options: map_size, "
                  "max_dbs, max_readers, sync_mode, write_map, no_readahead",
                  keys[i]);
    }
  }
  return KALAM_OK;
}

}  // namespace kalam_lmdb
