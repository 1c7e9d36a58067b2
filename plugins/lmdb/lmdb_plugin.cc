// The LMDB plugin's one exported symbol: kalam_plugin_entry and the function
// table it hands out.
#include <lmdb.h>

#include <cstdio>

#include "lmdb_plugin.h"
#include "lmdb_status.h"

namespace kalam_lmdb {
namespace {

constexpr uint32_t kFormatVersion = 1;
constexpr const char* kPluginVersion = "1.0.0";

constexpr uint64_t kCapabilities =
    KALAM_CAP_PERSISTENT | KALAM_CAP_DURABLE_SYNC | KALAM_CAP_ATOMIC_BATCH |
    KALAM_CAP_SNAPSHOTS | KALAM_CAP_REVERSE_ITERATION | KALAM_CAP_DELETE_RANGE |
    KALAM_CAP_THREAD_SAFE | KALAM_CAP_PROPERTIES | KALAM_CAP_CHECKPOINT |
    KALAM_CAP_READ_ONLY_OPEN;

const kalam_backend_vtable kVtable = {
    .struct_size = sizeof(kalam_backend_vtable),
    .reserved0 = 0,
    .open = &open,
    .close = &close,
    .flush = &flush,
    .cf_open = &cf_open,
    .cf_drop = &cf_drop,
    .cf_list = &cf_list,
    .get = &get,
    .get_into = &get_into,
    .multi_get = &multi_get,
    .write = &write,
    .snapshot_create = &snapshot_create,
    .snapshot_release = &snapshot_release,
    .iter_create = &iter_create,
    .iter_destroy = &iter_destroy,
    .iter_seek_first = &iter_seek_first,
    .iter_seek_last = &iter_seek_last,
    .iter_seek = &iter_seek,
    .iter_seek_for_prev = &iter_seek_for_prev,
    .iter_next = &iter_next,
    .iter_prev = &iter_prev,
    .iter_valid = &iter_valid,
    .iter_entry = &iter_entry,
    .iter_status = &iter_status,
    .iter_next_batch = &iter_next_batch,
    .compact_range = nullptr,
    .get_property = &get_property,
    .checkpoint = &checkpoint,
};

// "1.0.0 (LMDB 0.9.24: (July 24, 2019))", built once from the library that
// is actually loaded. Static storage; no allocation.
struct VersionText {
  char text[160];
  VersionText() {
    std::snprintf(text, sizeof text, "%s (%s)", kPluginVersion,
                  mdb_version(nullptr, nullptr, nullptr));
  }
};
const char* version_text() {
  static const VersionText version;
  return version.text;
}

}  // namespace
}  // namespace kalam_lmdb

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) {
  using kalam_lmdb::fail;
  if (host == nullptr || info == nullptr) {
    return fail(status, KALAM_ABI_MISMATCH, 0,
                "lmdb plugin: kalam_plugin_entry needs a host and an info "
                "struct");
  }
  if (!KALAM_LMDB_COVERS(host, kalam_host, abi_major)) {
    return fail(status, KALAM_ABI_MISMATCH, 0,
                "lmdb plugin: the host struct (struct_size %u) is too small "
                "to hold abi_major",
                host->struct_size);
  }
  if (host->abi_major != KALAM_ABI_VERSION_MAJOR) {
    return fail(status, KALAM_ABI_MISMATCH, 0,
                "lmdb plugin: built for backend ABI %d.x, the host speaks "
                "%u.x",
                KALAM_ABI_VERSION_MAJOR, host->abi_major);
  }
  uint32_t minor = KALAM_ABI_VERSION_MINOR;
  if (KALAM_LMDB_COVERS(host, kalam_host, abi_max_minor) &&
      host->abi_max_minor < minor) {
    minor = host->abi_max_minor;
  }
  if (KALAM_LMDB_COVERS(host, kalam_host, log_ctx)) {
    kalam_lmdb::set_log_sink(host->log, host->log_ctx);
  }

#define KALAM_LMDB_SET(field, value)                         \
  do {                                                       \
    if (KALAM_LMDB_COVERS(info, kalam_plugin_info, field)) { \
      info->field = (value);                                 \
    }                                                        \
  } while (0)
  KALAM_LMDB_SET(abi_major, KALAM_ABI_VERSION_MAJOR);
  KALAM_LMDB_SET(abi_minor, minor);
  KALAM_LMDB_SET(pointer_size, static_cast<uint32_t>(sizeof(void*)));
  KALAM_LMDB_SET(size_t_size, static_cast<uint32_t>(sizeof(size_t)));
  KALAM_LMDB_SET(format_version, kalam_lmdb::kFormatVersion);
  KALAM_LMDB_SET(name, "lmdb");
  KALAM_LMDB_SET(version, kalam_lmdb::version_text());
  KALAM_LMDB_SET(capabilities, kalam_lmdb::kCapabilities);
  KALAM_LMDB_SET(max_key_size, uint64_t{kalam_lmdb::kMaxKeySize});
  KALAM_LMDB_SET(max_value_size, kalam_lmdb::kMaxValueSize);
  KALAM_LMDB_SET(vtable, &kalam_lmdb::kVtable);
#undef KALAM_LMDB_SET
  return KALAM_OK;
}
