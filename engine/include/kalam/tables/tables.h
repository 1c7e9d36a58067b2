// The table layer's entry point: one object that opens the catalog of a
// Database and hands out the stores built on it. The CLI, the examples and
// applications start here:
//
//   KALAM_ASSIGN_OR_RETURN(auto tables, kalam::tables::Tables::open(*db));
//   KALAM_RETURN_IF_ERROR(tables->catalog().create_namespace("app"));
//   KALAM_ASSIGN_OR_RETURN(auto info, tables->catalog().create_table({
//       .ns = "app", .name = "notes", .kind = TableKind::kUser,
//       .schema = {.columns = {{"title", ColumnType::kString, false}}}}));
//   KALAM_ASSIGN_OR_RETURN(auto id,
//       tables->user().put("app", "notes", "alice", {{"title", "hi"}}));
//
// Namespace and table management (the "namespace and table services") is
// the Catalog; row access is UserTableStore and SharedTableStore. Tables
// adds no behaviour of its own: it wires the three together so a caller
// holds one object. Thread-safe.
#pragma once

#include <kalam/database.h>
#include <kalam/status.h>
#include <kalam/tables/catalog.h>
#include <kalam/tables/row.h>
#include <kalam/tables/schema.h>
#include <kalam/tables/shared_table_store.h>
#include <kalam/tables/user_table_store.h>

#include <memory>

namespace kalam::tables {

class Tables {
 public:
  Tables(const Tables&) = delete;
  Tables& operator=(const Tables&) = delete;

  // Opens the catalog of `db` (see Catalog::open).
  // REQUIRES: `db` outlives the Tables object.
  static StatusOr<std::unique_ptr<Tables>> open(Database& db);

  Catalog& catalog() { return *catalog_; }
  UserTableStore& user() { return user_; }
  SharedTableStore& shared() { return shared_; }

 private:
  explicit Tables(std::unique_ptr<Catalog> catalog);
  std::unique_ptr<Catalog> catalog_;
  UserTableStore user_;
  SharedTableStore shared_;
};

}  // namespace kalam::tables
