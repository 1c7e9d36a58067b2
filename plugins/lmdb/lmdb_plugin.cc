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
    KALAM_CAP_READ_ONLY_OPEN | KALAM_CAP_CONDITIONAL_WRITE |
    KALAM_CAP_READ_MODIFY_WRITE;

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
    .iter_read_batch = &iter_read_batch,
    .write_conditional = &write_conditional,
    .read_modify_write = &read_modify_write,
    .get_limits = nullptr,  // No per-write limits beyond the map size.
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
                                           kalam_status* status) noexcept {
  return kalam_lmdb::guarded(status, "kalam_plugin_entry", [&] {
    const kalam_plugin::PluginValues values = {
        .name = "lmdb",
        .version = kalam_lmdb::version_text(),
        .format_version = kalam_lmdb::kFormatVersion,
        .abi_minor = KALAM_ABI_VERSION_MINOR,
        .capabilities = kalam_lmdb::kCapabilities,
        .max_key_size = uint64_t{kalam_lmdb::kMaxKeySize},
        .max_value_size = kalam_lmdb::kMaxValueSize,
        .vtable = &kalam_lmdb::kVtable,
    };
    return kalam_plugin::plugin_entry(host, info, status, values,
                                      &kalam_lmdb::set_log_sink);
  });
}
