// The LMDB plugin's options: parsed from the host's flattened key/value
// strings (kalam_open_params) into an Options struct. See README.md for the
// meaning and default of each.
#pragma once

#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kalam_lmdb {

// When a commit reaches stable storage (README.md, "Durability").
enum class SyncMode {
  kFull,        // every commit fsyncs data and meta page (LMDB default)
  kNoMetaSync,  // MDB_NOMETASYNC: the meta page is synced by the next commit
  kNoSync,      // MDB_NOSYNC: commits reach the OS, not the disk
};

struct Options {
  uint64_t map_size = uint64_t{1} << 30;  // 1 GiB
  uint32_t max_dbs = 128;                 // column families, "default" included
  uint32_t max_readers = 512;
  SyncMode sync_mode = SyncMode::kFull;
  bool write_map = false;     // MDB_WRITEMAP
  bool no_readahead = false;  // MDB_NORDAHEAD
};

// The option's spelling of a sync mode: "full", "nometasync", "nosync".
const char* sync_mode_name(SyncMode mode) noexcept;

// Parses option_keys[i] = option_values[i] into *out (which starts with the
// defaults). Returns KALAM_OK, or KALAM_INVALID_ARGUMENT with a message that
// names the key (unknown key, key given twice) or the key and the value
// (unparsable or out of range).
int parse_options(const char* const* keys, const char* const* values,
                  size_t count, Options* out, kalam_status* status);

// "1 GiB", "64 KiB", "12345 B": the largest binary unit that divides it.
std::string format_size(uint64_t bytes);

}  // namespace kalam_lmdb
