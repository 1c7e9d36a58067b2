// Events of stream tables: append-only, kept for a retention (a TTL, a
// maximum number of events, or both — TableOptions::ttl / max_rows).
//
// An event is a JSON object validated against the table's schema, stored
// under a generated id that sorts by time (8 bytes of milliseconds since the
// epoch, then a counter; 32 hex digits as text). Events are read oldest
// first. An expired event — older than the TTL, or not among the newest
// max_rows — is never returned by get(), scan() or iter(), whether or not
// it has been deleted yet; evict() (run by the Tables background worker)
// deletes expired events with one delete-range (emulated by the engine on
// backends without it). Thread-safe.
#pragma once

#include <kalam/database.h>
#include <kalam/span.h>
#include <kalam/status.h>
#include <kalam/tables/catalog.h>
#include <kalam/tables/row.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace kalam::tables {

class StreamTableStore {
 public:
  // REQUIRES: `catalog` outlives the store.
  explicit StreamTableStore(Catalog& catalog);

  // Validates `event` and appends it; returns its id. INVALID_ARGUMENT for a
  // table that is not a stream table or an event that does not fit the
  // schema; NOT_FOUND (no such table).
  StatusOr<std::string> append(std::string_view ns, std::string_view table,
                               const nlohmann::json& event,
                               const WriteOptions& options = {});
  // Several events in one atomic batch, ids in order.
  StatusOr<std::vector<std::string>> append_many(
      std::string_view ns, std::string_view table,
      Span<const nlohmann::json> events, const WriteOptions& options = {});

  // NOT_FOUND when there is no such event or it has expired.
  StatusOr<Row> get(std::string_view ns, std::string_view table,
                    std::string_view event_id);

  // The live events, oldest first (materialised: see iter()).
  StatusOr<std::vector<Row>> scan(std::string_view ns, std::string_view table);
  // The streaming form: the events live when the cursor was created.
  StatusOr<RowCursor> iter(std::string_view ns, std::string_view table);
  // The zero-copy form of scan(): see UserTableStore::scan_with().
  Status scan_with(std::string_view ns, std::string_view table,
                   const RowVisitor& visit);

  // Deletes the expired events now. Returns how many keys were expired
  // (counted before the delete-range).
  StatusOr<uint64_t> evict(std::string_view ns, std::string_view table);

 private:
  Catalog& catalog_;
};

}  // namespace kalam::tables
