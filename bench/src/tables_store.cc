#include "tables_store.h"

#include "plugin_store.h"

namespace kalam_bench {

namespace kt = kalam::tables;

std::unique_ptr<TablesStore> TablesStore::open(
    const StoreOptions& options, const std::filesystem::path& dir) {
  auto store = std::unique_ptr<TablesStore>(new TablesStore());
  auto plugin = kalam::load_plugin(options.backend, {options.plugin_dir});
  if (!plugin.ok()) die("load_plugin: " + plugin.status().to_string());
  // The same backend options as the plugin mode, so the two compare the
  // table layer and nothing else.
  auto db = kalam::Database::open(*plugin, dir, plugin_options(options));
  if (!db.ok()) die("open: " + db.status().to_string());
  store->db_ = std::move(db).value();
  store->persistent_ = (*plugin)->has(KALAM_CAP_PERSISTENT);
  auto tables = kt::Tables::open(*store->db_);
  if (!tables.ok()) die("Tables::open: " + tables.status().to_string());
  store->tables_ = std::move(tables).value();
  store->scan_batch_ = options.scan_batch;

  // The table exists in a store copied from a template; create it otherwise.
  kt::Catalog& catalog = store->tables_->catalog();
  auto info = catalog.describe_table(kTablesNamespace, kTablesTable);
  if (!info.ok()) {
    if (!info.status().is_not_found()) {
      die("describe_table: " + info.status().to_string());
    }
    kalam::Status s = catalog.create_namespace(kTablesNamespace);
    if (!s.ok() && s.code() != kalam::Code::kAlreadyExists) {
      die("create_namespace: " + s.to_string());
    }
    const kt::TableSpec spec{
        .ns = std::string(kTablesNamespace),
        .name = std::string(kTablesTable),
        .kind = kt::TableKind::kUser,
        .schema = {.columns = {{"k", kt::ColumnType::kString, false},
                               {"v", kt::ColumnType::kString, false}},
                   .primary_key = std::string(1, 'k')}};
    auto created = catalog.create_table(spec);
    if (!created.ok()) die("create_table: " + created.status().to_string());
  }
  store->rows_.assign(1, nlohmann::json{{"k", ""}, {"v", ""}});
  return store;
}

TablesStore::~TablesStore() = default;

TablesStore::Cursor TablesStore::cursor() {
  auto cursor = tables_->user().iter_all(kTablesNamespace, kTablesTable);
  if (!cursor.ok()) die("iter_all: " + cursor.status().to_string());
  cursor->set_batch_size(scan_batch_);
  return Cursor(std::move(cursor).value(), /*views=*/false);
}

TablesStore::Cursor TablesStore::prefix_cursor(std::string_view) {
  auto cursor =
      tables_->user().iter(kTablesNamespace, kTablesTable, kTablesUser);
  if (!cursor.ok()) die("iter: " + cursor.status().to_string());
  return Cursor(std::move(cursor).value(), /*views=*/true);
}

TablesStore::Cursor TablesStore::decoded_prefix_cursor(std::string_view) {
  auto cursor =
      tables_->user().iter(kTablesNamespace, kTablesTable, kTablesUser);
  if (!cursor.ok()) die("iter: " + cursor.status().to_string());
  cursor->set_batch_size(scan_batch_);
  return Cursor(std::move(cursor).value(), /*views=*/false);
}

void TablesStore::flush() {
  kalam::Status s = db_->flush();
  if (!s.ok()) die("flush: " + s.to_string());
}

void TablesStore::close() {
  tables_.reset();
  kalam::Status s = db_->close();
  if (!s.ok()) die("close: " + s.to_string());
}

}  // namespace kalam_bench
