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
    KALAM_CAP_CHECKPOINT | KALAM_CAP_READ_ONLY_OPEN;

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
};

int entry(const kalam_host* host, kalam_plugin_info* info,
          kalam_status* status) {
  if (host == nullptr || info == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "kalam_rocksdb: kalam_plugin_entry needs a host and an info "
                "struct (got NULL)");
  }
  if (!KALAM_RDB_COVERS(host, kalam_host, abi_major)) {
    return fail(status, KALAM_ABI_MISMATCH, 0,
                "kalam_rocksdb: kalam_host.struct_size %u is too small to "
                "hold abi_major; the host is not a Kalam ABI host",
                host->struct_size);
  }
  if (host->abi_major != KALAM_ABI_VERSION_MAJOR) {
    return fail(status, KALAM_ABI_MISMATCH, 0,
                "kalam_rocksdb: built for Kalam ABI %d.%d, but the host speaks "
                "ABI major %u; rebuild the plugin against the host's "
                "backend_api.h",
                KALAM_ABI_VERSION_MAJOR, KALAM_ABI_VERSION_MINOR,
                host->abi_major);
  }
  if (KALAM_RDB_COVERS(host, kalam_host, log_ctx)) {
    set_host_log(host->log, host->log_ctx);
  }

  // Fill only what info->struct_size covers.
#define KALAM_RDB_SET(field, value) \
  if (KALAM_RDB_COVERS(info, kalam_plugin_info, field)) info->field = (value)
  KALAM_RDB_SET(abi_major, KALAM_ABI_VERSION_MAJOR);
  // The only minor implemented is 1.0, which every 1.x host understands.
  KALAM_RDB_SET(abi_minor, 0);
  KALAM_RDB_SET(pointer_size, static_cast<uint32_t>(sizeof(void*)));
  KALAM_RDB_SET(size_t_size, static_cast<uint32_t>(sizeof(size_t)));
  KALAM_RDB_SET(format_version, kFormatVersion);
  KALAM_RDB_SET(name, kName);
  KALAM_RDB_SET(version, kVersion);
  KALAM_RDB_SET(capabilities, kCapabilities);
  KALAM_RDB_SET(max_key_size, kMaxEntrySize);
  KALAM_RDB_SET(max_value_size, kMaxEntrySize);
  KALAM_RDB_SET(vtable, &kVtable);
#undef KALAM_RDB_SET
  return KALAM_OK;
}

}  // namespace
}  // namespace kalam_rocksdb

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) noexcept {
  return kalam_rocksdb::guarded(status, "kalam_plugin_entry", [&] {
    return kalam_rocksdb::entry(host, info, status);
  });
}
