#include "plugin_store.h"

#include "measure.h"

namespace kalam_bench {

std::vector<kalam::BackendOption> plugin_options(const StoreOptions& options) {
  std::vector<kalam::BackendOption> out;
  if (options.backend == "lmdb") {
    // LMDB's default (sync_mode: full) fsyncs every commit; the default,
    // unsynchronised variant of the benchmark maps to MDB_NOSYNC.
    if (!options.sync) out.push_back({"sync_mode", "nosync", 0});
    if (options.lmdb_map_size != 0) {
      out.push_back({"map_size", std::to_string(options.lmdb_map_size), 0});
    }
  }
  return out;
}

std::unique_ptr<PluginStore> PluginStore::open(
    const StoreOptions& options, const std::filesystem::path& dir) {
  auto store = std::unique_ptr<PluginStore>(new PluginStore());
  const uint64_t t0 = now_ns();
  auto plugin = kalam::load_plugin(options.backend, {options.plugin_dir});
  store->load_ns_ = now_ns() - t0;
  if (!plugin.ok()) die("load_plugin: " + plugin.status().to_string());
  auto db = kalam::Database::open(*plugin, dir, plugin_options(options));
  if (!db.ok()) die("open: " + db.status().to_string());
  store->db_ = std::move(db).value();
  store->persistent_ = (*plugin)->has(KALAM_CAP_PERSISTENT);
  return store;
}

}  // namespace kalam_bench
