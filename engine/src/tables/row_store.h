// The one implementation behind UserTableStore and SharedTableStore: the two
// differ only in whether a key carries esc(user_id) after the table id.
// Internal.
#pragma once

#include <kalam/tables/catalog.h>
#include <kalam/tables/flush.h>
#include <kalam/tables/row.h>
#include <kalam/tables/row_change.h>

#include "context.h"

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kalam::tables::detail {

class EntryStream;

// Which rows of a table a call addresses: one user's (user tables) or the
// table's (shared tables, where `user` is nullopt).
struct Partition {
  std::optional<std::string_view> user;
  bool is_user() const { return user.has_value(); }
};

class RowStore {
 public:
  explicit RowStore(Catalog& catalog) : catalog_(catalog) {}

  StatusOr<std::vector<std::string>> put(std::string_view ns,
                                         std::string_view table,
                                         Partition partition,
                                         std::span<const nlohmann::json> rows,
                                         bool many,
                                         const WriteOptions& options);
  StatusOr<Row> get(std::string_view ns, std::string_view table,
                    Partition partition, std::string_view row_id);
  StatusOr<Row> update(std::string_view ns, std::string_view table,
                       Partition partition, std::string_view row_id,
                       const nlohmann::json& changes,
                       const WriteOptions& options);
  // The read-modify-write behind both: `changes_for` gets the current row
  // and returns the changes; run again (bounded) when another writer
  // changed the row in between (see UserTableStore::update_with).
  StatusOr<Row> update(std::string_view ns, std::string_view table,
                       Partition partition, std::string_view row_id,
                       const RowChangesFn& changes_for,
                       const WriteOptions& options);
  Status del(std::string_view ns, std::string_view table, Partition partition,
             std::string_view row_id, const WriteOptions& options);
  // The partition's rows (for a user partition: that user's only); with
  // `range`, only the rows whose ids lie in it.
  StatusOr<RowCursor> iter(std::string_view ns, std::string_view table,
                           Partition partition,
                           const RowIdRange* range = nullptr);
  // Tables::apply: every change in one atomic batch.
  StatusOr<std::vector<std::string>> apply(std::span<const RowChange> changes,
                                           const WriteOptions& options);
  // Every user's rows of a user table.
  StatusOr<RowCursor> iter_all_users(std::string_view ns,
                                     std::string_view table);

  static StatusOr<std::vector<Row>> collect(StatusOr<RowCursor> cursor);
  // Every row of `cursor` to `visit` as views (RowCursor::next_batch), until
  // the end or until `visit` returns false.
  static Status visit_all(StatusOr<RowCursor> cursor, const RowVisitor& visit);

  // The three steps of a flush (kalam/tables/flush.h) of a table of `kind`
  // (user or shared), and all three in a row.
  StatusOr<FlushBatch> flush_batch(std::string_view ns, std::string_view table,
                                   TableKind kind);
  Status write_cold(FlushBatch& batch);
  StatusOr<FlushResult> delete_flushed(FlushBatch& batch);
  StatusOr<FlushResult> flush(std::string_view ns, std::string_view table,
                              TableKind kind);

 private:
  TablesContext& context() { return *catalog_.context_; }
  // The table, checked to be of the partition's kind (INVALID_ARGUMENT
  // naming the store to use otherwise).
  StatusOr<std::shared_ptr<const TableInfo>> table_for(std::string_view ns,
                                                       std::string_view table,
                                                       Partition partition);
  // update() of either kind: exactly one of `fixed_changes` and
  // `changes_for` is set.
  StatusOr<Row> update_row(std::string_view ns, std::string_view table,
                           Partition partition, std::string_view row_id,
                           const nlohmann::json* fixed_changes,
                           const RowChangesFn* changes_for,
                           const WriteOptions& options,
                           const std::string& what);
  // After a CONFLICT on a shared store: OK when `info` is still the table
  // its name resolves to (read from the catalog again), else NOT_FOUND
  // saying it was dropped.
  Status table_still_exists(const TableInfo& info);
  // The key prefix of the partition: table_id [| esc(user)].
  static std::string partition_prefix(const TableInfo& info,
                                      Partition partition);
  // prefix + the row key of `row_id`; INVALID_ARGUMENT when the id does not
  // parse or the key is too long for the backend.
  StatusOr<std::string> row_key(const TableInfo& info, Partition partition,
                                std::string_view row_id);
  // INVALID_ARGUMENT when `key` is longer than the backend's max_key_size.
  Status check_key_size(const TableInfo& info, Partition partition,
                        const std::string& key, std::string_view row_id);
  // After a flush wrote a segment of the partition: when the partition has
  // more than TablesOptions::max_cold_segments, merges them into one
  // (counted in `result.compacted`).
  Status compact_if_needed(const TableInfo& info,
                           std::optional<std::string_view> user,
                           FlushResult& result);
  // The current version of the row at `key`: the hot value if there is
  // one, else the newest cold record whose id encodes to the same row key
  // (whatever spelling of the id the caller used); nullopt when there is no
  // row (never written, or deleted). With `hot`, also the hot value as
  // stored (nullopt when the key is not hot): what a conditional write
  // based on this read expects.
  StatusOr<std::optional<nlohmann::json>> current_row(
      const TableInfo& info, Partition partition, const std::string& key,
      std::optional<std::string>* hot = nullptr);
  // An existing row, locked for a read-modify-write: the table cannot be
  // dropped (data lock held shared) and no other write to the row runs
  // (its row lock held) until the LockedRow goes. NOT_FOUND (naming `what`)
  // when there is no such row; INVALID_ARGUMENT for a system table.
  struct LockedRow {
    std::shared_lock<WriterFirstSharedMutex> data;
    std::shared_ptr<const TableInfo> info;
    std::string key;
    std::unique_lock<std::mutex> row;
    nlohmann::json current;
    // The hot value `current` was read from; nullopt when the row is cold
    // only (the hot key is absent).
    std::optional<std::string> hot;
  };
  StatusOr<LockedRow> lock_existing_row(std::string_view ns,
                                        std::string_view table,
                                        Partition partition,
                                        std::string_view row_id,
                                        const std::string& what);
  // The cold stream of one partition (empty when it has no segments).
  StatusOr<std::unique_ptr<EntryStream>> partition_cold_stream(
      const TableInfo& info, Partition partition);

  Catalog& catalog_;
};

}  // namespace kalam::tables::detail
