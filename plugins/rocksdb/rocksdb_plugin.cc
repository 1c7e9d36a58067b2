// The plugin's one exported symbol: kalam_plugin_entry, its info and its
// function table.
#include "rocksdb_plugin.h"

#include <rocksdb/version.h>

#include "rocksdb_logger.h"
#include "rocksdb_status.h"

namespace kalam_rocksdb {
namespace {

#define KALAM_RDB_STRINGIFY2(x) #x
#define KALAM_RDB_STRINGIFY(x) KALAM_RDB_STRINGIFY2(x)

constexpr char kName[] = "rocksdb";
constexpr char kVersion[] =
    "0.1.0 (RocksDB " KALAM_RDB_STRINGIFY(ROCKSDB_MAJOR) "." KALAM_RDB_STRINGIFY(
        ROCKSDB_MINOR) "." KALAM_RDB_STRINGIFY(ROCKSDB_PATCH) ")";

// The on-disk format: a plain RocksDB directory.
constexpr uint32_t kFormatVersion = 1;

// RocksDB stores key and value lengths as 32-bit varints.
constexpr uint64_t kMaxEntrySize = UINT32_MAX;

constexpr uint64_t kCapabilities =
    KALAM_CAP_PERSISTENT | KALAM_CAP_DURABLE_SYNC | KALAM_CAP_ATOMIC_BATCH |
    KALAM_CAP_SNAPSHOTS | KALAM_CAP_REVERSE_ITERATION | KALAM_CAP_DELETE_RANGE |
    KALAM_CAP_THREAD_SAFE | KALAM_CAP_COMPACT_RANGE | KALAM_CAP_PROPERTIES |
    KALAM_CAP_CHECKPOINT | KALAM_CAP_READ_ONLY_OPEN |
    KALAM_CAP_CONDITIONAL_WRITE | KALAM_CAP_READ_MODIFY_WRITE;

constexpr kalam_backend_vtable kVtable = {
    sizeof(kalam_backend_vtable),
    0,
    open,
    close,
    flush,
    cf_open,
    cf_drop,
    cf_list,
    get,
    get_into,
    multi_get,
    write,
    snapshot_create,
    snapshot_release,
    iter_create,
    iter_destroy,
    iter_seek_first,
    iter_seek_last,
    iter_seek,
    iter_seek_for_prev,
    iter_next,
    iter_prev,
    iter_valid,
    iter_entry,
    iter_status,
    iter_next_batch,
    compact_range,
    get_property,
    checkpoint,
    iter_read_batch,
    write_conditional,
    read_modify_write,
    nullptr,  // get_limits: no per-write limits
};

}  // namespace
}  // namespace kalam_rocksdb

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) noexcept {
  return kalam_rocksdb::guarded(status, "kalam_plugin_entry", [&] {
    const kalam_plugin::PluginValues values = {
        .name = kalam_rocksdb::kName,
        .version = kalam_rocksdb::kVersion,
        .format_version = kalam_rocksdb::kFormatVersion,
        .abi_minor = KALAM_ABI_VERSION_MINOR,
        .capabilities = kalam_rocksdb::kCapabilities,
        .max_key_size = kalam_rocksdb::kMaxEntrySize,
        .max_value_size = kalam_rocksdb::kMaxEntrySize,
        .vtable = &kalam_rocksdb::kVtable,
    };
    return kalam_plugin::plugin_entry(host, info, status, values,
                                      &kalam_rocksdb::set_host_log);
  });
}
