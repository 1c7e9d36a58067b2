// Tables: the catalog and the stores of one Database, wired together.
#include <kalam/tables/tables.h>

namespace kalam::tables {

Tables::Tables(std::unique_ptr<Catalog> catalog)
    : catalog_(std::move(catalog)), user_(*catalog_), shared_(*catalog_) {}

StatusOr<std::unique_ptr<Tables>> Tables::open(Database& db) {
  KALAM_ASSIGN_OR_RETURN(std::unique_ptr<Catalog> catalog, Catalog::open(db));
  return std::unique_ptr<Tables>(new Tables(std::move(catalog)));
}

}  // namespace kalam::tables
