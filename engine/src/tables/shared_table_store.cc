// SharedTableStore: RowStore without a user partition.
#include <kalam/tables/shared_table_store.h>

#include "row_store.h"

namespace kalam::tables {

using detail::Partition;
using detail::RowStore;
using nlohmann::json;

SharedTableStore::SharedTableStore(Catalog& catalog) : catalog_(catalog) {}

StatusOr<std::string> SharedTableStore::put(std::string_view ns,
                                            std::string_view table,
                                            const json& row,
                                            const WriteOptions& options) {
  KALAM_ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      RowStore(catalog_).put(ns, table, Partition{}, {&row, 1}, /*many=*/false,
                             options));
  return std::move(ids.front());
}

StatusOr<std::vector<std::string>> SharedTableStore::put_many(
    std::string_view ns, std::string_view table, Span<const json> rows,
    const WriteOptions& options) {
  return RowStore(catalog_).put(ns, table, Partition{}, rows, /*many=*/true,
                                options);
}

StatusOr<Row> SharedTableStore::get(std::string_view ns, std::string_view table,
                                    std::string_view row_id) {
  return RowStore(catalog_).get(ns, table, Partition{}, row_id);
}

StatusOr<Row> SharedTableStore::update(std::string_view ns,
                                       std::string_view table,
                                       std::string_view row_id,
                                       const json& changes,
                                       const WriteOptions& options) {
  return RowStore(catalog_).update(ns, table, Partition{}, row_id, changes,
                                   options);
}

StatusOr<Row> SharedTableStore::update_with(std::string_view ns,
                                            std::string_view table,
                                            std::string_view row_id,
                                            const RowChangesFn& changes_for,
                                            const WriteOptions& options) {
  return RowStore(catalog_).update(ns, table, Partition{}, row_id, changes_for,
                                   options);
}

Status SharedTableStore::del(std::string_view ns, std::string_view table,
                             std::string_view row_id,
                             const WriteOptions& options) {
  return RowStore(catalog_).del(ns, table, Partition{}, row_id, options);
}

StatusOr<std::vector<Row>> SharedTableStore::scan(std::string_view ns,
                                                  std::string_view table) {
  return RowStore::collect(iter(ns, table));
}

Status SharedTableStore::scan_with(std::string_view ns, std::string_view table,
                                   const RowVisitor& visit) {
  return RowStore::visit_all(iter(ns, table), visit);
}

StatusOr<RowCursor> SharedTableStore::iter_range(std::string_view ns,
                                                 std::string_view table,
                                                 const RowIdRange& range) {
  return RowStore(catalog_).iter(ns, table, Partition{}, &range);
}

StatusOr<RowCursor> SharedTableStore::iter(std::string_view ns,
                                           std::string_view table) {
  return RowStore(catalog_).iter(ns, table, Partition{});
}

StatusOr<FlushResult> SharedTableStore::flush(std::string_view ns,
                                              std::string_view table) {
  return RowStore(catalog_).flush(ns, table, TableKind::kShared);
}

StatusOr<FlushBatch> SharedTableStore::flush_batch(std::string_view ns,
                                                   std::string_view table) {
  return RowStore(catalog_).flush_batch(ns, table, TableKind::kShared);
}

Status SharedTableStore::write_cold(FlushBatch& batch) {
  return RowStore(catalog_).write_cold(batch);
}

StatusOr<FlushResult> SharedTableStore::delete_flushed(FlushBatch& batch) {
  return RowStore(catalog_).delete_flushed(batch);
}

}  // namespace kalam::tables
