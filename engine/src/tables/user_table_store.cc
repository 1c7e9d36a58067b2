// UserTableStore: RowStore with a user partition.
#include <kalam/tables/user_table_store.h>

#include "row_store.h"

namespace kalam::tables {

using detail::Partition;
using detail::RowStore;
using nlohmann::json;

UserTableStore::UserTableStore(Catalog& catalog) : catalog_(catalog) {}

StatusOr<std::string> UserTableStore::put(std::string_view ns,
                                          std::string_view table,
                                          std::string_view user_id,
                                          const json& row,
                                          const WriteOptions& options) {
  KALAM_ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      RowStore(catalog_).put(ns, table, Partition{user_id}, {&row, 1},
                             /*many=*/false, options));
  return std::move(ids.front());
}

StatusOr<std::vector<std::string>> UserTableStore::put_many(
    std::string_view ns, std::string_view table, std::string_view user_id,
    Span<const json> rows, const WriteOptions& options) {
  return RowStore(catalog_).put(ns, table, Partition{user_id}, rows,
                                /*many=*/true, options);
}

StatusOr<Row> UserTableStore::get(std::string_view ns, std::string_view table,
                                  std::string_view user_id,
                                  std::string_view row_id) {
  return RowStore(catalog_).get(ns, table, Partition{user_id}, row_id);
}

StatusOr<Row> UserTableStore::update(
    std::string_view ns, std::string_view table, std::string_view user_id,
    std::string_view row_id, const json& changes, const WriteOptions& options) {
  return RowStore(catalog_).update(ns, table, Partition{user_id}, row_id,
                                   changes, options);
}

StatusOr<Row> UserTableStore::update_with(std::string_view ns,
                                          std::string_view table,
                                          std::string_view user_id,
                                          std::string_view row_id,
                                          const RowChangesFn& changes_for,
                                          const WriteOptions& options) {
  return RowStore(catalog_).update(ns, table, Partition{user_id}, row_id,
                                   changes_for, options);
}

Status UserTableStore::del(std::string_view ns, std::string_view table,
                           std::string_view user_id, std::string_view row_id,
                           const WriteOptions& options) {
  return RowStore(catalog_).del(ns, table, Partition{user_id}, row_id, options);
}

StatusOr<std::vector<Row>> UserTableStore::scan(std::string_view ns,
                                                std::string_view table,
                                                std::string_view user_id) {
  return RowStore::collect(iter(ns, table, user_id));
}

StatusOr<std::vector<Row>> UserTableStore::scan_all(std::string_view ns,
                                                    std::string_view table) {
  return RowStore::collect(iter_all(ns, table));
}

StatusOr<RowCursor> UserTableStore::iter(std::string_view ns,
                                         std::string_view table,
                                         std::string_view user_id) {
  return RowStore(catalog_).iter(ns, table, Partition{user_id});
}

StatusOr<RowCursor> UserTableStore::iter_range(std::string_view ns,
                                               std::string_view table,
                                               std::string_view user_id,
                                               const RowIdRange& range) {
  return RowStore(catalog_).iter(ns, table, Partition{user_id}, &range);
}

StatusOr<RowCursor> UserTableStore::iter_all(std::string_view ns,
                                             std::string_view table) {
  return RowStore(catalog_).iter_all_users(ns, table);
}

Status UserTableStore::scan_with(std::string_view ns, std::string_view table,
                                 std::string_view user_id,
                                 const RowVisitor& visit) {
  return RowStore::visit_all(iter(ns, table, user_id), visit);
}

Status UserTableStore::scan_all_with(std::string_view ns,
                                     std::string_view table,
                                     const RowVisitor& visit) {
  return RowStore::visit_all(iter_all(ns, table), visit);
}

StatusOr<FlushResult> UserTableStore::flush(std::string_view ns,
                                            std::string_view table) {
  return RowStore(catalog_).flush(ns, table, TableKind::kUser);
}

StatusOr<FlushBatch> UserTableStore::flush_batch(std::string_view ns,
                                                 std::string_view table) {
  return RowStore(catalog_).flush_batch(ns, table, TableKind::kUser);
}

Status UserTableStore::write_cold(FlushBatch& batch) {
  return RowStore(catalog_).write_cold(batch);
}

StatusOr<FlushResult> UserTableStore::delete_flushed(FlushBatch& batch) {
  return RowStore(catalog_).delete_flushed(batch);
}

}  // namespace kalam::tables
