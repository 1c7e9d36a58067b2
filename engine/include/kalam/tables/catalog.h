// The catalog: namespaces and tables, kept as rows of the system tables
// system.namespaces and system.tables in the `kalam.system` column family.
// Table data lives in `kalam.tables`, every key prefixed by its table's id.
//
// Atomicity (by construction): every catalog change is ONE WriteBatch,
// written with sync:
//  - create_table writes the table's row and bumps the id counter together;
//    a table has no data until it exists, so there is nothing else to write.
//  - drop_table deletes the table's whole key range (its id prefix) and its
//    catalog row together; drop_namespace with cascade does that for every
//    table and the namespace row in the same batch.
// A crash therefore leaves a change wholly applied or not at all. The table
// layer refuses backends without atomic batches (Catalog::open returns
// NOT_SUPPORTED) rather than weaken this. Validation happens before the
// batch is built: an invalid request writes nothing.
//
// Table ids are never reused (the counter only grows), so rows that an old
// table left behind could never appear in a new table of the same name.
//
// Concurrency: every method is thread-safe. Table records are cached per
// Catalog and invalidated by every table create or drop made through any
// Catalog of the same Database object, so a changed or re-created table is
// seen at once (changing `kalam.system` by other means while a Catalog is
// open is not supported). Any number of Catalog objects may
// share one Database: catalog changes and data writes are serialised through
// locks that belong to the Database object, not to the Catalog — a table is
// never dropped while a write to it is in flight, and two creates never draw
// the same id. Two PROCESSES writing one database (backends with
// multi_process) are not supported by the table layer.
#pragma once

#include <kalam/database.h>
#include <kalam/status.h>
#include <kalam/tables/options.h>
#include <kalam/tables/row.h>
#include <kalam/tables/schema.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace kalam::tables {

// The column families the table layer owns.
inline constexpr std::string_view kSystemFamily = "kalam.system";
inline constexpr std::string_view kTablesFamily = "kalam.tables";

// A row of system.namespaces.
struct NamespaceInfo {
  std::string name;
  // Milliseconds since the epoch.
  int64_t created_at_ms = 0;

  // {"name": ..., "created_at": ...}
  nlohmann::json to_json() const;
  static StatusOr<NamespaceInfo> from_json(const nlohmann::json& json);
  friend bool operator==(const NamespaceInfo& a, const NamespaceInfo& b) {
    return std::tie(a.name, a.created_at_ms) ==
           std::tie(b.name, b.created_at_ms);
  }
  friend bool operator!=(const NamespaceInfo& a, const NamespaceInfo& b) {
    return !(a == b);
  }
};

struct DropNamespaceOptions {
  // Drop the namespace's tables and their rows too (in the same atomic
  // batch). Without it a namespace that still has tables is not dropped.
  bool cascade = false;
};

namespace detail {
struct TablesContext;
class RowStore;
}  // namespace detail
class StreamTableStore;
class Tables;

class Catalog {
 public:
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;
  ~Catalog();

  // Opens the catalog kept in `db`, creating the table layer's column
  // families and stamping its layout version on first use. `options`
  // chooses the cold storage (the background worker options are for
  // Tables). On first use of a backend that is not persistent, segments
  // left in the cold storage by an earlier process are removed (their hot
  // half is gone); on a persistent backend they make open fail instead.
  // REQUIRES: `db` outlives the Catalog and every store built on it.
  // Errors: NOT_SUPPORTED (the backend lacks atomic batches, or the data was
  // written by a newer table layer), CORRUPTION, INVALID_ARGUMENT (a new
  // catalog beside old cold segments), and whatever opening the column
  // families returns (e.g. on a read-only database that has none).
  static StatusOr<std::unique_ptr<Catalog>> open(
      Database& db, const TablesOptions& options = {});

  Database& database() const;

  // --- Namespaces ---
  // INVALID_ARGUMENT for a bad or reserved ("system") name, ALREADY_EXISTS.
  Status create_namespace(std::string_view ns);
  // NOT_FOUND; INVALID_ARGUMENT when it still has tables and !cascade (the
  // message lists them).
  Status drop_namespace(std::string_view ns,
                        const DropNamespaceOptions& options = {});
  // NOT_FOUND.
  StatusOr<NamespaceInfo> describe_namespace(std::string_view ns);
  // Every namespace, by name ("system" is virtual and not listed).
  StatusOr<std::vector<NamespaceInfo>> list_namespaces();

  // --- Tables ---
  // Validates the spec (names, schema, options for the kind) and creates the
  // table with a fresh id. INVALID_ARGUMENT naming what is wrong, NOT_FOUND
  // (no such namespace), ALREADY_EXISTS (the table, or a duplicate column).
  StatusOr<TableInfo> create_table(const TableSpec& spec);
  // Drops the table and all its rows, hot and cold (the catalog change is
  // atomic; cold segments are removed afterwards, and segments a crash
  // leaves behind belong to an id no table will have again). NOT_FOUND.
  Status drop_table(std::string_view ns, std::string_view table);
  // NOT_FOUND naming the table (and whether its namespace exists).
  // system.namespaces and system.tables are described too (id 0).
  StatusOr<TableInfo> describe_table(std::string_view ns,
                                     std::string_view table);
  // The tables of `ns`, by name. NOT_FOUND when the namespace does not
  // exist.
  StatusOr<std::vector<TableInfo>> list_tables(std::string_view ns);

  // --- The system tables as rows ---
  // system.namespaces: one row per namespace (row id = its name), by name.
  StatusOr<RowCursor> scan_namespaces();
  // system.tables: one row per table (row id = "namespace.table"), ordered
  // by (namespace, name). Each row's data is TableInfo::to_json().
  StatusOr<RowCursor> scan_tables();

 private:
  friend class detail::RowStore;
  friend class StreamTableStore;
  friend class Tables;
  explicit Catalog(std::shared_ptr<detail::TablesContext> context);

  // describe_table() without the copy: the parsed record, shared.
  StatusOr<std::shared_ptr<const TableInfo>> resolve(std::string_view ns,
                                                     std::string_view table);
  // A row of a system table by row id; NOT_FOUND when there is none.
  StatusOr<Row> get_system_row(std::string_view table, std::string_view row_id);
  StatusOr<RowCursor> scan_system_table(std::string_view table);
  StatusOr<std::vector<TableInfo>> tables_of(std::string_view ns);

  std::shared_ptr<detail::TablesContext> context_;
};

}  // namespace kalam::tables
