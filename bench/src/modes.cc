#include "modes.h"

#include <sstream>

#include "plugin_store.h"
#include "runner.h"
#include "tables_store.h"

namespace kalam_bench {
namespace {

RunResult run_plugin(const Config& config, const Job& job,
                     const StoreOptions& options,
                     const std::filesystem::path& dir) {
  return run_job<PluginStore>(config, job, options, dir);
}

RunResult run_tables(const Config& config, const Job& job,
                     const StoreOptions& options,
                     const std::filesystem::path& dir) {
  return run_job<TablesStore>(config, job, options, dir);
}

}  // namespace

std::vector<std::string> built_plugins() {
  std::vector<std::string> out;
  std::istringstream in(KALAM_BENCH_PLUGINS);  // "memory,rocksdb,..."
  std::string name;
  while (std::getline(in, name, ',')) {
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

std::vector<Target> all_targets() {
  std::vector<Target> targets;
#ifdef KALAM_BENCH_WITH_ROCKSDB
  targets.push_back({kModeNative, "rocksdb", &run_native_rocksdb});
#endif
#ifdef KALAM_BENCH_WITH_LMDB
  targets.push_back({kModeNative, "lmdb", &run_native_lmdb});
#endif
#ifdef KALAM_BENCH_WITH_SQLITE
  targets.push_back({kModeNative, "sqlite", &run_native_sqlite});
#endif
  for (const auto& backend : built_plugins()) {
    targets.push_back({kModePlugin, backend, &run_plugin});
  }
  for (const auto& backend : built_plugins()) {
    targets.push_back({kModeTables, backend, &run_tables});
  }
  return targets;
}

SettingsFn settings_check(const std::string& backend) {
#ifdef KALAM_BENCH_WITH_ROCKSDB
  if (backend == "rocksdb") return &check_rocksdb_settings;
#endif
#ifdef KALAM_BENCH_WITH_LMDB
  if (backend == "lmdb") return &check_lmdb_settings;
#endif
#ifdef KALAM_BENCH_WITH_SQLITE
  if (backend == "sqlite") return &check_sqlite_settings;
#endif
  (void)backend;
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> library_versions() {
  std::vector<std::pair<std::string, std::string>> out;
#ifdef KALAM_BENCH_WITH_ROCKSDB
  out.emplace_back("RocksDB", rocksdb_version());
#endif
#ifdef KALAM_BENCH_WITH_LMDB
  out.emplace_back("LMDB", lmdb_version());
#endif
#ifdef KALAM_BENCH_WITH_SQLITE
  out.emplace_back("SQLite", sqlite_version());
#endif
  return out;
}

std::string native_settings(const std::string& backend, bool sync) {
#ifdef KALAM_BENCH_WITH_ROCKSDB
  if (backend == "rocksdb") return rocksdb_settings(sync);
#endif
#ifdef KALAM_BENCH_WITH_LMDB
  if (backend == "lmdb") return lmdb_settings(sync);
#endif
#ifdef KALAM_BENCH_WITH_SQLITE
  if (backend == "sqlite") return sqlite_settings(sync);
#endif
  (void)backend;
  (void)sync;
  return "";
}

}  // namespace kalam_bench
