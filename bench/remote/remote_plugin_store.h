// remote_plugin_store.h - the plugin side of the server plugins' benches
// (remote_bench.h): a kalam::Database over the named plugin, doing what
// each native Store does through the engine and the C ABI.
#pragma once

#include <kalam/database.h>
#include <kalam/plugin.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "remote_bench.h"

namespace kalam_bench {

class PluginStore {
 public:
  // Opens plugin `name` from `plugin_dir` with `options`, in a data
  // directory of its own under the temp directory (removed at the end).
  PluginStore(const std::string& name, const std::string& plugin_dir,
              const std::vector<kalam::BackendOption>& options) {
    auto plugin = kalam::load_plugin(name, {plugin_dir});
    if (!plugin.ok()) die("load_plugin: " + plugin.status().to_string());
    dir_ = std::filesystem::temp_directory_path() /
           ("kalam-" + name + "-bench-" + std::to_string(getpid()));
    auto db = kalam::Database::open(*plugin, dir_, options);
    if (!db.ok()) die("open: " + db.status().to_string());
    db_ = std::move(db).value();
  }
  ~PluginStore() {
    static_cast<void>(db_->close());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void write(const std::vector<std::string>& keys) {
    kalam::WriteBatch batch;
    for (const std::string& k : keys) batch.put(cf_, k, kValue);
    const kalam::Status s = db_->write(batch);
    if (!s.ok()) die("write: " + s.to_string());
  }
  bool get(const std::string& key) {
    size_t len = 0;
    const kalam::Status s =
        db_->get_with(cf_, key, [&len](std::string_view v) { len = v.size(); });
    if (s.ok()) return true;
    if (s.is_not_found()) return false;
    die("get: " + s.to_string());
  }
  uint64_t scan() {
    kalam::IteratorOptions options;
    options.lower = kScanLower;
    options.upper = kScanUpper;
    auto it = db_->new_iterator(cf_, options);
    if (!it.ok()) die("new_iterator: " + it.status().to_string());
    it->seek_to_first();
    uint64_t n = 0;
    for (;;) {
      auto got = it->next_batch(
          1000, [](std::string_view, std::string_view) { return true; });
      if (!got.ok()) die("next_batch: " + got.status().to_string());
      if (*got == 0) return n;
      n += *got;
    }
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<kalam::Database> db_;
  kalam::ColumnFamily cf_;
};

}  // namespace kalam_bench
