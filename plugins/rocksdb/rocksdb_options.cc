#include "rocksdb_options.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "plugin_support.h"
#include "rocksdb_status.h"

namespace kalam_rocksdb {
namespace {

// Bits per key of the bloom filter when the options do not say.
constexpr double kDefaultBloomBitsPerKey = 10.0;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

using kalam_plugin::trim;

std::optional<uint64_t> parse_size(std::string_view text) {
  uint64_t bytes = 0;
  if (!kalam_plugin::parse_byte_size(text, &bytes)) return std::nullopt;
  return bytes;
}

struct CompressionName {
  const char* name;
  rocksdb::CompressionType type;
};
constexpr CompressionName kCompressions[] = {
    {"none", rocksdb::kNoCompression},
    {"snappy", rocksdb::kSnappyCompression},
    {"zlib", rocksdb::kZlibCompression},
    {"bz2", rocksdb::kBZip2Compression},
    {"lz4", rocksdb::kLZ4Compression},
    {"lz4hc", rocksdb::kLZ4HCCompression},
    {"zstd", rocksdb::kZSTD},
};

const char* compression_name(rocksdb::CompressionType type) {
  for (const auto& c : kCompressions) {
    if (c.type == type) return c.name;
  }
  return nullptr;
}

std::string supported_compressions() {
  std::string out = "none";
  for (rocksdb::CompressionType type : rocksdb::GetSupportedCompressions()) {
    const char* name = compression_name(type);
    if (name != nullptr && type != rocksdb::kNoCompression) {
      out += ", ";
      out += name;
    }
  }
  return out;
}

bool compression_supported(rocksdb::CompressionType type) {
  if (type == rocksdb::kNoCompression) return true;
  auto supported = rocksdb::GetSupportedCompressions();
  return std::find(supported.begin(), supported.end(), type) != supported.end();
}

bool parse_int(std::string_view text, int64_t* out) {
  text = trim(text);
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool parse_double(std::string_view text, double* out) {
  std::string copy(trim(text));
  if (copy.empty()) return false;
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(copy.c_str(), &end);
  if (errno != 0 || end != copy.c_str() + copy.size() || !std::isfinite(value))
    return false;
  *out = value;
  return true;
}

// RocksDB's string-map parser, strict: unknown names are errors and values
// are taken literally (no backslash unescaping).
rocksdb::ConfigOptions strict_config() {
  rocksdb::ConfigOptions config;
  config.ignore_unknown_options = false;
  config.ignore_unsupported_options = false;
  config.input_strings_escaped = false;
  return config;
}

// RocksDB reports a name it does not know as InvalidArgument("Could not find
// option: ..."); anything else is about the value.
bool is_unknown_option(const rocksdb::Status& s) {
  return s.IsInvalidArgument() &&
         s.ToString().find("Could not find option") != std::string::npos;
}

// The table options to adjust for the common table keys, or nullptr when the
// column family does not use the block-based table.
const rocksdb::BlockBasedTableOptions* block_table_options(
    const rocksdb::ColumnFamilyOptions& cf) {
  if (cf.table_factory == nullptr) return nullptr;
  return cf.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
}

// Keys that the open flags control; refused so that a config cannot
// contradict the flags.
constexpr const char* kFlagKeys[] = {
    "create_if_missing", "create_missing_column_families", "error_if_exists"};

class OptionParser {
 public:
  OptionParser(ParsedOptions* out, kalam_status* status)
      : out_(out), status_(status) {}

  int parse(const char* const* keys, const char* const* values, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      if (keys[i] == nullptr || values[i] == nullptr) {
        return fail(status_, KALAM_INVALID_ARGUMENT, 0,
                    "rocksdb open: option %zu has a NULL key or value", i);
      }
      std::string key = keys[i];
      if (key.empty()) {
        return fail(status_, KALAM_INVALID_ARGUMENT, 0,
                    "rocksdb open: option %zu has an empty key", i);
      }
      int rc = classify(key, values[i]);
      if (rc != KALAM_OK) return rc;
    }
    return apply();
  }

 private:
  // Sorts one pair into the common keys, the native DB map or the native
  // column-family map, and rejects it when it fits none of them.
  int classify(const std::string& key, const std::string& value) {
    for (const char* flag_key : kFlagKeys) {
      if (key == flag_key) {
        return fail(status_, KALAM_INVALID_ARGUMENT, 0,
                    "rocksdb open: option '%s' is not allowed: the open flags "
                    "(KALAM_OPEN_CREATE_IF_MISSING) control it; remove it "
                    "from the options",
                    key.c_str());
      }
    }
    if (is_common(key)) {
      common_[key] = value;
      return KALAM_OK;
    }
    rocksdb::ConfigOptions config = strict_config();
    rocksdb::DBOptions db_probe;
    rocksdb::Status db_status = rocksdb::GetDBOptionsFromMap(
        config, out_->db, {{key, value}}, &db_probe);
    if (db_status.ok()) {
      db_map_[key] = value;
      return KALAM_OK;
    }
    rocksdb::ColumnFamilyOptions cf_probe;
    rocksdb::Status cf_status = rocksdb::GetColumnFamilyOptionsFromMap(
        config, out_->cf, {{key, value}}, &cf_probe);
    if (cf_status.ok()) {
      cf_map_[key] = value;
      return KALAM_OK;
    }
    bool db_unknown = is_unknown_option(db_status);
    bool cf_unknown = is_unknown_option(cf_status);
    if (db_unknown && cf_unknown) {
      return fail(status_, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb open: unknown option '%s': not a kalam rocksdb "
                  "option nor a RocksDB DB or column-family option name "
                  "(see plugins/rocksdb/README.md)",
                  key.c_str());
    }
    const rocksdb::Status& why = db_unknown ? cf_status : db_status;
    return fail(status_, KALAM_INVALID_ARGUMENT, native_code_of(why),
                "rocksdb open: invalid value '%s' for option '%s': %s",
                value.c_str(), key.c_str(), why.ToString().c_str());
  }

  static bool is_common(const std::string& key) {
    return key == "block_cache_size" || key == "block_size" ||
           key == "write_buffer_size" || key == "compression" ||
           key == "max_open_files" || key == "bloom_filter_bits" ||
           key == "info_log_level";
  }

  int bad_value(const std::string& key, const std::string& value,
                const char* expected) {
    return fail(status_, KALAM_INVALID_ARGUMENT, 0,
                "rocksdb open: invalid value '%s' for option '%s': expected "
                "%s",
                value.c_str(), key.c_str(), expected);
  }

  static constexpr const char* kSizeSyntax =
      "a byte size such as 67108864, 512KiB, 64MiB or 1GiB (KB/MB/GB are "
      "powers of 1024 too)";

  int size_value(const std::string& key, uint64_t min, uint64_t* out) {
    auto parsed = parse_size(common_[key]);
    if (!parsed || *parsed < min) {
      return bad_value(key, common_[key], kSizeSyntax);
    }
    *out = *parsed;
    return KALAM_OK;
  }

  // Applies the native maps, then the common keys on top of them.
  int apply() {
    rocksdb::ConfigOptions config = strict_config();
    if (!db_map_.empty()) {
      rocksdb::DBOptions db;
      rocksdb::Status s =
          rocksdb::GetDBOptionsFromMap(config, out_->db, db_map_, &db);
      if (!s.ok()) return fail_rocksdb(status_, s, "open: DB options");
      out_->db = db;
    }
    if (!cf_map_.empty()) {
      rocksdb::ColumnFamilyOptions cf;
      rocksdb::Status s = rocksdb::GetColumnFamilyOptionsFromMap(
          config, out_->cf, cf_map_, &cf);
      if (!s.ok()) return fail_rocksdb(status_, s, "open: column options");
      out_->cf = cf;
    }
    for (const char* key : {"write_buffer_size", "max_open_files",
                            "compression", "info_log_level"}) {
      if (common_.count(key) == 0) continue;
      int rc = apply_common(key);
      if (rc != KALAM_OK) return rc;
    }
    return apply_table();
  }

  int apply_common(const std::string& key) {
    const std::string& value = common_[key];
    if (key == "write_buffer_size") {
      uint64_t size = 0;
      int rc = size_value(key, 1, &size);
      if (rc != KALAM_OK) return rc;
      if (size > std::numeric_limits<size_t>::max()) {
        return bad_value(key, value, kSizeSyntax);
      }
      out_->cf.write_buffer_size = static_cast<size_t>(size);
    } else if (key == "max_open_files") {
      int64_t n;
      if (!parse_int(value, &n) || n < -1 ||
          n > std::numeric_limits<int>::max()) {
        return bad_value(key, value,
                         "an integer: -1 (no limit) or a number of files");
      }
      out_->db.max_open_files = static_cast<int>(n);
    } else if (key == "compression") {
      return apply_compression(key, value);
    } else if (key == "info_log_level") {
      return apply_log_level(key, value);
    }
    return KALAM_OK;
  }

  int apply_compression(const std::string& key, const std::string& value) {
    std::string name = lower(trim(value));
    std::optional<rocksdb::CompressionType> type;
    if (name == "bzip2") name = "bz2";
    for (const auto& c : kCompressions) {
      if (name == c.name) type = c.type;
    }
    if (!type) {
      // A native name such as kZSTD.
      rocksdb::ColumnFamilyOptions cf;
      rocksdb::Status s = rocksdb::GetColumnFamilyOptionsFromMap(
          strict_config(), out_->cf, {{"compression", value}}, &cf);
      if (s.ok()) type = cf.compression;
    }
    if (!type) {
      std::string expected =
          "one of none, snappy, zlib, bz2, lz4, lz4hc, zstd (this build "
          "supports: " +
          supported_compressions() + ")";
      return bad_value(key, value, expected.c_str());
    }
    if (!compression_supported(*type)) {
      return fail(status_, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb open: option 'compression' is '%s', but this "
                  "RocksDB build does not support it; use one of: %s",
                  value.c_str(), supported_compressions().c_str());
    }
    out_->cf.compression = *type;
    return KALAM_OK;
  }

  int apply_log_level(const std::string& key, const std::string& value) {
    static constexpr std::pair<const char*, rocksdb::InfoLogLevel> kLevels[] = {
        {"debug", rocksdb::InfoLogLevel::DEBUG_LEVEL},
        {"info", rocksdb::InfoLogLevel::INFO_LEVEL},
        {"warn", rocksdb::InfoLogLevel::WARN_LEVEL},
        {"error", rocksdb::InfoLogLevel::ERROR_LEVEL},
        {"fatal", rocksdb::InfoLogLevel::FATAL_LEVEL}};
    std::string name = lower(trim(value));
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "_level") == 0) {
      name.resize(name.size() - 6);  // RocksDB's own WARN_LEVEL spelling
    }
    if (name == "warning") name = "warn";
    for (const auto& [level_name, level] : kLevels) {
      if (name == level_name) {
        out_->db.info_log_level = level;
        return KALAM_OK;
      }
    }
    return bad_value(key, value, "one of debug, info, warn, error, fatal");
  }

  // block_cache_size, block_size, bloom_filter_bits (and the default bloom
  // filter) adjust the block-based table options.
  int apply_table() {
    const rocksdb::BlockBasedTableOptions* current =
        block_table_options(out_->cf);
    bool wants_table = common_.count("block_cache_size") != 0 ||
                       common_.count("block_size") != 0 ||
                       common_.count("bloom_filter_bits") != 0;
    if (current == nullptr) {
      if (!wants_table) return KALAM_OK;
      return fail(status_, KALAM_INVALID_ARGUMENT, 0,
                  "rocksdb open: block_cache_size, block_size and "
                  "bloom_filter_bits need the block-based table, but the "
                  "options select another table_factory");
    }
    rocksdb::BlockBasedTableOptions table = *current;
    if (common_.count("block_cache_size") != 0) {
      uint64_t size = 0;
      int rc = size_value("block_cache_size", 0, &size);
      if (rc != KALAM_OK) return rc;
      if (size > std::numeric_limits<size_t>::max()) {
        return bad_value("block_cache_size", common_["block_cache_size"],
                         kSizeSyntax);
      }
      if (size == 0) {
        table.no_block_cache = true;
        table.block_cache = nullptr;
      } else {
        table.no_block_cache = false;
        table.block_cache = rocksdb::NewLRUCache(static_cast<size_t>(size));
      }
    }
    if (common_.count("block_size") != 0) {
      uint64_t size = 0;
      int rc = size_value("block_size", 1, &size);
      if (rc != KALAM_OK) return rc;
      if (size > std::numeric_limits<uint32_t>::max()) {
        return bad_value("block_size", common_["block_size"],
                         "a byte size below 4GiB, e.g. 4KiB or 16KiB");
      }
      table.block_size = static_cast<size_t>(size);
    }
    if (common_.count("bloom_filter_bits") != 0) {
      double bits;
      const std::string& value = common_["bloom_filter_bits"];
      if (!parse_double(value, &bits) || bits < 0 || bits > 100) {
        return bad_value("bloom_filter_bits", value,
                         "a number of bits per key from 0 (no filter) to "
                         "100, e.g. 10");
      }
      table.filter_policy.reset(
          bits == 0 ? nullptr : rocksdb::NewBloomFilterPolicy(bits));
    } else if (table.filter_policy == nullptr) {
      table.filter_policy.reset(
          rocksdb::NewBloomFilterPolicy(kDefaultBloomBitsPerKey));
    }
    out_->cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    return KALAM_OK;
  }

  ParsedOptions* out_;
  kalam_status* status_;
  std::unordered_map<std::string, std::string> common_;
  std::unordered_map<std::string, std::string> db_map_;
  std::unordered_map<std::string, std::string> cf_map_;
};

}  // namespace

int parse_options(const char* const* keys, const char* const* values,
                  size_t count, ParsedOptions* out, kalam_status* status) {
  // Defaults: RocksDB's own, except a quiet info log and a bloom filter.
  out->db = rocksdb::DBOptions();
  out->db.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  out->cf = rocksdb::ColumnFamilyOptions();
  OptionParser parser(out, status);
  return parser.parse(keys, values, count);
}

}  // namespace kalam_rocksdb
