// The plugin's options (kalam_open_params option_keys/option_values) and
// their parsing. Every key and its default is listed in README.md.
#pragma once

#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sqlite_status.h"

namespace kalam::sqlite_plugin {

struct Options {
  // Page cache of each connection, in bytes (PRAGMA cache_size = -KiB).
  uint64_t cache_size = 8ull << 20;
  // How long a connection waits for a lock before KALAM_BUSY.
  int busy_timeout_ms = 5000;
  // Page size of a database being created; ignored for an existing one.
  int page_size = 4096;
  bool page_size_given = false;
  // Bytes of the file to memory-map per connection; 0 disables mmap.
  uint64_t mmap_size = 0;
  // Idle read connections kept for reuse by reads, iterators and snapshots.
  size_t read_pool_size = 4;
};

// Parses params.option_keys/option_values into *out (defaults for what is
// not given). Returns KALAM_OK, or KALAM_INVALID_ARGUMENT for an unknown key,
// a key given twice or a value that does not parse (the message names the
// key and the value).
int parse_options(const kalam_open_params& params, Options* out, Error& err);

}  // namespace kalam::sqlite_plugin
