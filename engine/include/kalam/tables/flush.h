// Flushing: moving the hot rows of a user or shared table to cold storage.
//
// A flush has three steps, each of which UserTableStore and SharedTableStore
// expose (flush() runs all three):
//
//   1. flush_batch()    reads the table's hot rows and deletions as of one
//                       snapshot into a FlushBatch;
//   2. write_cold()     writes them to the ColdStore, one segment per
//                       partition (user), each durably and all-or-nothing;
//   3. delete_flushed() deletes from the hot store, in one atomic batch,
//                       exactly the keys whose value is still the one the
//                       snapshot saw: a row updated, deleted or re-put while
//                       the flush ran stays hot, and wins.
//
// Why no step can lose a row or show one twice: until step 3 every row is
// still hot, and a row that is both hot and cold is read once (hot wins,
// hybrid reads merge by key). Step 3 is one batch. So a failure or a crash
// between or inside the steps leaves the table readable as before, and the
// next flush simply writes the rows again (into a newer segment).
//
// Flushes of one Database run one at a time: a FlushBatch holds the flush
// lock until it is destroyed, so finish or drop a batch promptly. Writes and
// reads are not blocked by a flush, except for a moment at the start of
// step 1 and during step 3.
#pragma once

#include <kalam/status.h>
#include <kalam/tables/schema.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kalam::tables {

namespace detail {
class RowStore;
}

// One row, or one deletion, that a flush moves.
struct FlushEntry {
  // The owner (user tables); empty for shared tables.
  std::string user_id;
  std::string row_id;
  // The row as of the snapshot; nullopt for a deletion (the row was deleted
  // after an earlier flush had moved it to cold storage).
  std::optional<nlohmann::json> row;
};

struct FlushResult {
  uint64_t rows = 0;       // rows written to cold storage
  uint64_t deletions = 0;  // deletions written to cold storage
  uint64_t segments = 0;   // segments written (one per partition)
  uint64_t compacted = 0;  // partitions whose segments were merged into one
  uint64_t removed = 0;    // hot keys deleted by delete_flushed()
  uint64_t kept = 0;       // hot keys kept: changed while the flush ran
};

class FlushBatch {
 public:
  FlushBatch(FlushBatch&&) noexcept;
  FlushBatch& operator=(FlushBatch&&) noexcept;
  FlushBatch(const FlushBatch&) = delete;
  FlushBatch& operator=(const FlushBatch&) = delete;
  // Releases the flush lock. A batch dropped before delete_flushed() leaves
  // its rows hot (and any segments it wrote are harmless duplicates).
  ~FlushBatch();

  const TableInfo& table() const;
  // In key order: user by user, then by row id.
  const std::vector<FlushEntry>& entries() const;
  // Whether write_cold() has written every segment.
  bool written() const;
  // What the steps so far did.
  const FlushResult& result() const;

 private:
  friend class detail::RowStore;
  struct State;
  explicit FlushBatch(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace kalam::tables
