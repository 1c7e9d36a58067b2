// The registry of measurable targets: a mode ("native", "plugin", "tables")
// on a backend. Adding a mode is a Store type (store.h) and one more entry
// in all_targets(); the orchestrator, the report and the charts pick it up
// by name (config.h's mode_runs() says which workloads it runs).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "config.h"
#include "store.h"

namespace kalam_bench {

using RunFn = RunResult (*)(const Config&, const Job&, const StoreOptions&,
                            const std::filesystem::path& dir);

struct Target {
  std::string mode;
  std::string backend;
  RunFn run;
};

// Every target this binary was built with: native, then plugin, then
// tables.
std::vector<Target> all_targets();

// The backends with a plugin in this build (memory, rocksdb, ...).
std::vector<std::string> built_plugins();

// The settings parity check of one backend: opens an empty store natively
// and through the plugin, closes both and compares what each left on disk
// (RocksDB's OPTIONS file, LMDB's page size, map size and database flags,
// SQLite's schema and pragmas). `dir` is a scratch directory.
struct SettingsCheck {
  bool ok = true;
  std::string details;  // what was compared, or what differs
};
using SettingsFn = SettingsCheck (*)(const StoreOptions&,
                                     const std::filesystem::path& dir);
// nullptr when the backend has no native baseline in this build.
SettingsFn settings_check(const std::string& backend);

// {"RocksDB", "7.8.3 (header 7.8.3)"}, ... for every native library built.
std::vector<std::pair<std::string, std::string>> library_versions();

// The native settings of `backend` in one line, for the report.
std::string native_settings(const std::string& backend, bool sync);

// Defined in native_<backend>.cc (only when that backend is built).
RunResult run_native_rocksdb(const Config&, const Job&, const StoreOptions&,
                             const std::filesystem::path&);
RunResult run_native_lmdb(const Config&, const Job&, const StoreOptions&,
                          const std::filesystem::path&);
RunResult run_native_sqlite(const Config&, const Job&, const StoreOptions&,
                            const std::filesystem::path&);
SettingsCheck check_rocksdb_settings(const StoreOptions&,
                                     const std::filesystem::path&);
SettingsCheck check_lmdb_settings(const StoreOptions&,
                                  const std::filesystem::path&);
SettingsCheck check_sqlite_settings(const StoreOptions&,
                                    const std::filesystem::path&);
std::string rocksdb_version();
std::string lmdb_version();
std::string sqlite_version();
std::string rocksdb_settings(bool sync);
std::string lmdb_settings(bool sync);
std::string sqlite_settings(bool sync);

}  // namespace kalam_bench
