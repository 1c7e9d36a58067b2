// Tables: the stores, manual flush, and the background worker.
#include <kalam/tables/tables.h>

#include <kalam/config.h>

#include <algorithm>

#include "../log.h"
#include "context.h"
#include "key_codec.h"
#include "row_store.h"

namespace kalam::tables {

StatusOr<std::unique_ptr<Tables>> Tables::open(Database& db,
                                               const TablesOptions& options) {
  KALAM_ASSIGN_OR_RETURN(std::unique_ptr<Catalog> catalog,
                         Catalog::open(db, options));
  return std::unique_ptr<Tables>(new Tables(std::move(catalog), options));
}

StatusOr<std::unique_ptr<Tables>> open(const std::filesystem::path& config_file,
                                       TablesOptions options) {
  KALAM_ASSIGN_OR_RETURN(EngineConfig config, load_config_file(config_file));
  KALAM_ASSIGN_OR_RETURN(std::unique_ptr<Database> db,
                         Database::open(config.storage));
  if (options.cold_path.empty()) options.cold_path = cold_path(config);
  KALAM_ASSIGN_OR_RETURN(std::unique_ptr<Tables> tables,
                         Tables::open(*db, options));
  tables->owned_database_ = std::move(db);
  return tables;
}

Database& Tables::database() const { return catalog_->database(); }

Tables::Tables(std::unique_ptr<Catalog> catalog, const TablesOptions& options)
    : catalog_(std::move(catalog)),
      user_(*catalog_),
      shared_(*catalog_),
      stream_(*catalog_),
      options_(options) {
  if (options_.background) worker_ = std::thread([this] { worker_loop(); });
}

Tables::~Tables() {
  {
    std::lock_guard lock(worker_mu_);
    stopping_ = true;
  }
  worker_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

ColdStore& Tables::cold_store() { return *catalog_->context_->cold; }

StatusOr<ColdTierReport> Tables::verify_cold_tier() {
  detail::TablesContext& ctx = *catalog_->context_;
  std::lock_guard no_flush(ctx.locks->flush);
  return tables::verify_cold_tier(*ctx.cold, catalog_.get());
}

StatusOr<ColdTierReport> Tables::checkpoint(const std::filesystem::path& dir) {
  detail::TablesContext& ctx = *catalog_->context_;
  // No flush between the store's checkpoint and the cold copy: a flush
  // deletes hot rows once their segment is written, so the two halves
  // would disagree.
  std::lock_guard no_flush(ctx.locks->flush);
  Database& db = catalog_->database();
  KALAM_RETURN_IF_ERROR(db.checkpoint_store(dir));
  std::shared_ptr<ColdStore> copy = json_lines_cold_store(dir / "cold");
  auto copied = copy_cold_tier(*ctx.cold, *copy, catalog_.get());
  if (!copied.ok()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return copied.status().with_context("checkpoint into " + dir.string() +
                                        " (removed again)");
  }
  return copied;
}

std::string new_row_id() {
  auto id = keys::row_id_from_key(keys::RowKeyKind::kGenerated,
                                  keys::new_generated_row_key());
  // A key new_generated_row_key() made is always well-formed.
  return id.ok() ? std::move(*id) : std::string();
}

StatusOr<std::vector<std::string>> Tables::apply(
    const std::vector<RowChange>& changes, const WriteOptions& options) {
  return detail::RowStore(*catalog_).apply(changes, options);
}

StatusOr<FlushResult> Tables::flush(std::string_view ns,
                                    std::string_view table) {
  KALAM_ASSIGN_OR_RETURN(std::shared_ptr<const TableInfo> info,
                         catalog_->resolve(ns, table));
  switch (info->kind) {
    case TableKind::kUser:
      return user_.flush(ns, table);
    case TableKind::kShared:
      if (info->id != 0) return shared_.flush(ns, table);
      break;
    case TableKind::kStream:
      break;
  }
  return Status::InvalidArgument(
      "flush " + info->qualified_name() + ": only user and shared tables " +
      "are flushed (" +
      (info->kind == TableKind::kStream ? "stream tables expire events"
                                        : "system tables stay hot") +
      ")");
}

StatusOr<bool> Tables::flush_due(const TableInfo& info, int64_t now_ms) {
  const FlushPolicy& policy = info.options.flush;
  if (!policy.row_count && !policy.interval) return false;
  detail::TablesContext& ctx = *catalog_->context_;
  auto [last, first_sight] = last_flush_ms_.try_emplace(info.id, now_ms);
  if (first_sight && policy.row_count) {
    // Rows written before this process started count too: the hot keys.
    IteratorOptions range;
    range.lower = keys::table_prefix(info.id);
    range.upper = keys::table_end(info.id);
    KALAM_ASSIGN_OR_RETURN(Iterator it,
                           catalog_->database().new_iterator(ctx.data, range));
    uint64_t hot = 0;
    for (it.seek_to_first(); it.valid(); it.next()) ++hot;
    KALAM_RETURN_IF_ERROR(it.status());
    // Writes this process made are among the hot keys already.
    std::lock_guard lock(ctx.locks->counts_mu);
    uint64_t& count = ctx.locks->writes_since_flush[info.id];
    count = std::max(count, hot);
  }
  if (policy.interval && now_ms - last->second >= policy.interval->count()) {
    return true;
  }
  if (policy.row_count) {
    std::lock_guard lock(ctx.locks->counts_mu);
    return ctx.locks->writes_since_flush[info.id] >= *policy.row_count;
  }
  return false;
}

Status Tables::run_maintenance() {
  std::lock_guard pass(maintenance_mu_);
  Status first_error;
  auto note = [&first_error](Status s) {
    if (!s.ok() && first_error.ok()) first_error = std::move(s);
  };
  KALAM_ASSIGN_OR_RETURN(std::vector<NamespaceInfo> namespaces,
                         catalog_->list_namespaces());
  for (const NamespaceInfo& ns : namespaces) {
    auto tables = catalog_->list_tables(ns.name);
    if (!tables.ok()) {
      // Dropped since it was listed: nothing to do.
      if (!tables.status().is_not_found()) note(tables.status());
      continue;
    }
    for (const TableInfo& info : *tables) {
      const std::string what = "background work on " + info.qualified_name();
      if (info.kind == TableKind::kStream) {
        auto evicted = stream_.evict(info.ns, info.name);
        if (!evicted.ok() && !evicted.status().is_not_found()) {
          note(evicted.status().with_context(what));
        }
        continue;
      }
      const int64_t now = detail::now_ms();
      auto due = flush_due(info, now);
      if (!due.ok()) {
        note(due.status().with_context(what));
        continue;
      }
      if (!*due) continue;
      auto flushed = flush(info.ns, info.name);
      if (flushed.ok()) {
        last_flush_ms_[info.id] = now;
      } else if (!flushed.status().is_not_found()) {
        note(flushed.status().with_context(what));
      }
    }
  }
  return first_error;
}

Status Tables::background_status() const {
  std::lock_guard lock(worker_mu_);
  return background_status_;
}

void Tables::worker_loop() {
  std::unique_lock lock(worker_mu_);
  while (!stopping_) {
    worker_cv_.wait_for(lock, options_.background_interval,
                        [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Status s = run_maintenance();
    if (!s.ok()) kalam::detail::log(LogLevel::kWarn, s.to_string());
    lock.lock();
    background_status_ = std::move(s);
  }
}

}  // namespace kalam::tables
