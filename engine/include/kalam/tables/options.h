// How the table layer is opened: Catalog::open() and Tables::open().
#pragma once

#include <kalam/tables/cold_store.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>

namespace kalam::tables {

struct TablesOptions {
  // Where flushes move rows. Default: json_lines_cold_store(cold_path).
  // Every Catalog and Tables object of one Database must use the same cold
  // storage (the default does when they are given the same cold_path).
  std::shared_ptr<ColdStore> cold_store;
  // The default cold store's directory (the config's tables.cold_path:
  // kalam::cold_path(config)). Empty: <the database's data directory>/cold.
  // Ignored when cold_store is set.
  std::filesystem::path cold_path;
  // Compaction: when a flush leaves a partition (one user of a user table,
  // or a shared table) with more segments than this, the flush merges them
  // into one (ColdStore::replace_segments), so reads open at most this many
  // segments plus one and deleted rows stop taking space. The merge holds
  // the partition's live rows in memory. 0 never compacts.
  size_t max_cold_segments = 8;
  // Tables only: run a background worker that flushes user and shared
  // tables by their FlushPolicy and evicts expired events of stream tables.
  bool background = true;
  // How often the worker looks at every table.
  std::chrono::milliseconds background_interval{1000};
};

}  // namespace kalam::tables
