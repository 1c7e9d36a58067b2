// Rows of user tables: every row belongs to one user, and every read is
// confined to the user it names — no call returns another user's row.
//
// A row is stored under  table_id | esc(user_id) | row_key  in the
// `kalam.tables` column family (see docs/tables.md): user ids are escaped
// so that no user id can be a prefix of another's encoded id, and one
// user's rows are exactly one contiguous key range. scan() reads that range
// through one bounded iterator; it never filters a wider scan.
//
// User ids are 1 to kMaxUserIdLength arbitrary bytes (0x00 and 0xFF
// included). The empty user id is refused with INVALID_ARGUMENT: an empty id
// is almost always a missing login, and letting it through would make every
// such caller share one partition.
//
// Row ids are text (see Row::row_id). A put() into a table with a primary
// key stores the row under its key's value, replacing any row with that key;
// without a primary key it generates a new id and returns it.
//
// Every write is one atomic WriteBatch. Writes to one row are serialised
// (update() is a read-merge-write that cannot lose a concurrent write: the
// write expects the row as read, so this holds against other processes
// sharing the store too), and no write lands in a table being dropped by
// this process. Thread-safe. See docs/tables.md for what is safe when
// several processes share one store.
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

inline constexpr size_t kMaxUserIdLength = 128;

class UserTableStore {
 public:
  // REQUIRES: `catalog` outlives the store.
  explicit UserTableStore(Catalog& catalog);

  // Validates `row` against the table's schema and stores it for `user_id`.
  // Returns the row id. Errors: NOT_FOUND (no such table), INVALID_ARGUMENT
  // (a shared table, a bad user id, a row that does not fit the schema — the
  // message names the column and the type it expects).
  StatusOr<std::string> put(std::string_view ns, std::string_view table,
                            std::string_view user_id, const nlohmann::json& row,
                            const WriteOptions& options = {});
  // Several rows in one atomic batch: all are stored or none (the first
  // invalid row is named by its index). Returns their ids in order. Of two
  // rows with the same primary key, the later one is stored.
  StatusOr<std::vector<std::string>> put_many(std::string_view ns,
                                              std::string_view table,
                                              std::string_view user_id,
                                              Span<const nlohmann::json> rows,
                                              const WriteOptions& options = {});

  // NOT_FOUND when `user_id` has no row `row_id` (whoever else may).
  StatusOr<Row> get(std::string_view ns, std::string_view table,
                    std::string_view user_id, std::string_view row_id);

  // Merges `changes` (a JSON object of column -> value; null clears a
  // nullable column) into the row, validates the result and stores it.
  // Returns the new row. NOT_FOUND when there is no such row;
  // INVALID_ARGUMENT for an unknown column, a wrong type, or a change of the
  // primary key (delete and put instead).
  StatusOr<Row> update(std::string_view ns, std::string_view table,
                       std::string_view user_id, std::string_view row_id,
                       const nlohmann::json& changes,
                       const WriteOptions& options = {});
  // The read-modify-write of one row: update() with changes computed from
  // the row as stored (e.g. a counter's increment). `changes_for` may run
  // more than once: when another writer (another process sharing the
  // store) changed the row between the read and the write, the write
  // applies nothing and the update starts again from the row as it is then,
  // at most 32 times in all (then CONFLICT, nothing applied). So it must
  // depend only on its argument, and must not call into the table layer.
  // An error it returns is returned, nothing applied.
  StatusOr<Row> update_with(std::string_view ns, std::string_view table,
                            std::string_view user_id, std::string_view row_id,
                            const RowChangesFn& changes_for,
                            const WriteOptions& options = {});

  // Deletes the row. NOT_FOUND when there is no such row.
  Status del(std::string_view ns, std::string_view table,
             std::string_view user_id, std::string_view row_id,
             const WriteOptions& options = {});

  // Every row of `user_id`, in row-id order (materialised: see iter()).
  StatusOr<std::vector<Row>> scan(std::string_view ns, std::string_view table,
                                  std::string_view user_id);
  // Every row of every user, by (user id, row id); Row::user_id says whose.
  StatusOr<std::vector<Row>> scan_all(std::string_view ns,
                                      std::string_view table);

  // The streaming forms of scan() and scan_all().
  StatusOr<RowCursor> iter(std::string_view ns, std::string_view table,
                           std::string_view user_id);
  StatusOr<RowCursor> iter_all(std::string_view ns, std::string_view table);

  // The rows of `user_id` whose ids lie in `range`, in row-id order; as
  // iter(), reading only that part of the user's key range.
  // INVALID_ARGUMENT when a bound is not a row id of the table's key type.
  StatusOr<RowCursor> iter_range(std::string_view ns, std::string_view table,
                                 std::string_view user_id,
                                 const RowIdRange& range);

  // The zero-copy forms of scan() and scan_all() (see RowView): every row,
  // in the same order, handed to `visit` as views that are valid ONLY
  // inside that call. No JSON is parsed, and rows still in the hot store
  // cost no heap allocation. `visit` returns false to stop early (the scan
  // then returns OK). It runs inside storage calls, so it must not call
  // back into the Database or a table store (collect what you need, write
  // after the scan). Errors as scan(); a row that is not a JSON object is
  // handed out as it is stored (RowView::data() reports it).
  Status scan_with(std::string_view ns, std::string_view table,
                   std::string_view user_id, const RowVisitor& visit);
  Status scan_all_with(std::string_view ns, std::string_view table,
                       const RowVisitor& visit);

  // --- Flush (see kalam/tables/flush.h) ---
  // Moves every hot row of the user table to cold storage: the three steps
  // below in a row. Reads are unaffected (hybrid reads merge hot and cold).
  StatusOr<FlushResult> flush(std::string_view ns, std::string_view table);
  // Step 1: the table's hot rows and deletions as of one snapshot.
  StatusOr<FlushBatch> flush_batch(std::string_view ns, std::string_view table);
  // Step 2: one segment per user to the cold store. Safe to retry.
  Status write_cold(FlushBatch& batch);
  // Step 3: deletes, in one atomic batch, the hot keys that still hold what
  // the batch read. INVALID_ARGUMENT before write_cold() succeeded.
  StatusOr<FlushResult> delete_flushed(FlushBatch& batch);

 private:
  Catalog& catalog_;
};

}  // namespace kalam::tables
