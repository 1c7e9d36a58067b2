// The engine's counters (internal): the live cells of one open database and
// the KALAM_COUNTERS file that keeps them across processes.
#pragma once

#include <kalam/database.h>

#include <atomic>
#include <cstdint>
#include <filesystem>

namespace kalam::detail {

// The counters file's name inside a data directory.
inline constexpr const char* kCountersFileName = "KALAM_COUNTERS";

// Live counters: relaxed atomics, added to once per call (never per entry
// of a batch), on their own cache lines so the database's other fields do
// not share them.
class CounterCells {
 public:
  enum Field {
    kPuts,
    kDeletes,
    kDeleteRanges,
    kBatches,
    kBytesWritten,
    kGets,
    kGetHits,
    kGetBytes,
    kIterators,
    kIteratorEntries,
    kErrors,
    kFieldCount
  };
  void add(Field field, uint64_t n) {
    cells_[field].fetch_add(n, std::memory_order_relaxed);
  }
  EngineCounters read() const;

 private:
  alignas(64) std::atomic<uint64_t> cells_[kFieldCount] = {};
  // Keeps whatever follows off the last cell's line.
  alignas(64) char end_ = 0;
};

// The file's contents; a missing file reads as zeros. A damaged one also
// reads as zeros, and `*damaged` (when not null) receives why.
StoredCounters read_stored_counters(const std::filesystem::path& data_dir,
                                    std::string* damaged);
// Replaces the file (temporary file and rename; not fsync'ed: the counters
// are advisory and must not slow opens and closes down).
Status write_stored_counters(const std::filesystem::path& data_dir,
                             const StoredCounters& counters);

}  // namespace kalam::detail
