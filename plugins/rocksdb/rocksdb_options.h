// The plugin's options: the flattened YAML key/value strings of
// kalam_open_params turned into rocksdb::DBOptions and ColumnFamilyOptions.
//
// Common keys (parsed here, friendlier syntax, documented in README.md):
//   block_cache_size, block_size, write_buffer_size (sizes with unit
//   suffixes), compression, max_open_files, bloom_filter_bits,
//   info_log_level.
// Every other key is a native RocksDB DB or column-family option name
// (including nested names such as "block_based_table_factory.block_size"),
// parsed by RocksDB's own string-map parser with unknown options refused.
#pragma once

#include <kalam/backend_api.h>
#include <rocksdb/options.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kalam_rocksdb {

struct ParsedOptions {
  rocksdb::DBOptions db;
  // Applied to every column family, the default one included.
  rocksdb::ColumnFamilyOptions cf;
};

// Builds *out from the option pairs. Returns KALAM_OK, or
// KALAM_INVALID_ARGUMENT with a message naming the offending key (and value)
// in `status`; *out is then unspecified. REQUIRES: keys/values non-NULL when
// count > 0.
int parse_options(const char* const* keys, const char* const* values,
                  size_t count, ParsedOptions* out, kalam_status* status);

}  // namespace kalam_rocksdb
