// The per-Database lock registry and small shared helpers.
#include "context.h"

#include <chrono>
#include <map>

namespace kalam::tables::detail {

std::shared_ptr<DbLocks> locks_for(const Database& db) {
  // Keyed by the Database object's address; an entry lives as long as some
  // catalog or store of that Database does (weak_ptr), and expired entries
  // are pruned here, so a later Database at the same address gets fresh
  // locks.
  static std::mutex mu;
  static std::map<const Database*, std::weak_ptr<DbLocks>> registry;
  std::lock_guard lock(mu);
  for (auto it = registry.begin(); it != registry.end();) {
    it = it->second.expired() ? registry.erase(it) : std::next(it);
  }
  auto& slot = registry[&db];
  if (auto locks = slot.lock()) return locks;
  auto locks = std::make_shared<DbLocks>();
  slot = locks;
  return locks;
}

void expect_table_unchanged(TablesContext& ctx, const TableInfo& info,
                            WriteBatch& batch) {
  if (!store_is_shared(*ctx.db)) return;
  std::string row;
  {
    std::lock_guard lock(ctx.resolved_mu);
    auto it = ctx.catalog_rows.find(info.id);
    if (it != ctx.catalog_rows.end()) row = it->second;
  }
  // No row recorded cannot happen for a resolved table; an expectation that
  // never holds (no catalog row is empty) makes the write a CONFLICT, and
  // the caller resolves the table again.
  batch.expect_value(ctx.system, catalog_table_key(info.ns, info.name), row);
}

void forget_resolved(TablesContext& ctx) { ++ctx.locks->catalog_generation; }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace kalam::tables::detail
