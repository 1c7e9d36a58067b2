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

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace kalam::tables::detail
