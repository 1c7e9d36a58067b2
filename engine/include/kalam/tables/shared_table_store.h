// Rows of shared tables: one set of rows for everyone, stored under
// table_id | row_key in the `kalam.tables` column family. The same contract
// as UserTableStore without the user partition.
//
// The catalog's system tables are shared tables too and can be read here
// (get, scan, iter of "system"."namespaces" / "system"."tables"); writing to
// them is refused — change the catalog through Catalog.
#pragma once

#include <kalam/database.h>
#include <kalam/span.h>
#include <kalam/status.h>
#include <kalam/tables/catalog.h>
#include <kalam/tables/flush.h>
#include <kalam/tables/row.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace kalam::tables {

class SharedTableStore {
 public:
  // REQUIRES: `catalog` outlives the store.
  explicit SharedTableStore(Catalog& catalog);

  // Validates and stores `row`; returns its row id. Errors: NOT_FOUND (no
  // such table), INVALID_ARGUMENT (a user table, a system table, a row that
  // does not fit the schema).
  StatusOr<std::string> put(std::string_view ns, std::string_view table,
                            const nlohmann::json& row,
                            const WriteOptions& options = {});
  // All rows or none, in one atomic batch (see UserTableStore::put_many).
  StatusOr<std::vector<std::string>> put_many(std::string_view ns,
                                              std::string_view table,
                                              Span<const nlohmann::json> rows,
                                              const WriteOptions& options = {});
  // NOT_FOUND when there is no such row.
  StatusOr<Row> get(std::string_view ns, std::string_view table,
                    std::string_view row_id);
  // Merge `changes` into the row (see UserTableStore::update).
  StatusOr<Row> update(std::string_view ns, std::string_view table,
                       std::string_view row_id, const nlohmann::json& changes,
                       const WriteOptions& options = {});
  // Changes computed from the row as stored (see
  // UserTableStore::update_with).
  StatusOr<Row> update_with(std::string_view ns, std::string_view table,
                            std::string_view row_id,
                            const RowChangesFn& changes_for,
                            const WriteOptions& options = {});
  // NOT_FOUND when there is no such row.
  Status del(std::string_view ns, std::string_view table,
             std::string_view row_id, const WriteOptions& options = {});
  // Every row, in row-id order (materialised: see iter()).
  StatusOr<std::vector<Row>> scan(std::string_view ns, std::string_view table);
  // The streaming form of scan().
  StatusOr<RowCursor> iter(std::string_view ns, std::string_view table);
  // The rows whose ids lie in `range` (see UserTableStore::iter_range).
  StatusOr<RowCursor> iter_range(std::string_view ns, std::string_view table,
                                 const RowIdRange& range);
  // The zero-copy form of scan(): see UserTableStore::scan_with().
  Status scan_with(std::string_view ns, std::string_view table,
                   const RowVisitor& visit);

  // --- Flush (see kalam/tables/flush.h) ---
  // Moves every hot row of the shared table to cold storage: the three steps
  // below in a row. Reads are unaffected (hybrid reads merge hot and cold).
  StatusOr<FlushResult> flush(std::string_view ns, std::string_view table);
  // Step 1: the table's hot rows and deletions as of one snapshot.
  StatusOr<FlushBatch> flush_batch(std::string_view ns, std::string_view table);
  // Step 2: one segment per flush to the cold store. Safe to retry.
  Status write_cold(FlushBatch& batch);
  // Step 3: deletes, in one atomic batch, the hot keys that still hold what
  // the batch read. INVALID_ARGUMENT before write_cold() succeeded.
  StatusOr<FlushResult> delete_flushed(FlushBatch& batch);

 private:
  Catalog& catalog_;
};

}  // namespace kalam::tables
