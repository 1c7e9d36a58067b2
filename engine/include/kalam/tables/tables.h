// The table layer's entry point: one object that opens the catalog of a
// Database, hands out the stores built on it, and runs the background work
// (flush policies, stream expiry). The CLI, the examples and applications
// start here:
//
//   KALAM_ASSIGN_OR_RETURN(auto tables, kalam::tables::open("kalam.yaml"));
//   KALAM_RETURN_IF_ERROR(tables->catalog().create_namespace("app"));
//   KALAM_ASSIGN_OR_RETURN(auto info, tables->catalog().create_table({
//       .ns = "app", .name = "notes", .kind = TableKind::kUser,
//       .schema = {.columns = {{"title", ColumnType::kString, false}}}}));
//   KALAM_ASSIGN_OR_RETURN(auto id,
//       tables->user().put("app", "notes", "alice", {{"title", "hi"}}));
//   KALAM_ASSIGN_OR_RETURN(auto moved, tables->flush("app", "notes"));
//
// Namespace and table management (the "namespace and table services") is
// the Catalog; row access is UserTableStore, SharedTableStore and
// StreamTableStore. Thread-safe.
#pragma once

#include <kalam/database.h>
#include <kalam/status.h>
#include <kalam/tables/catalog.h>
#include <kalam/tables/cold_store.h>
#include <kalam/tables/cold_tier.h>
#include <kalam/tables/flush.h>
#include <kalam/tables/options.h>
#include <kalam/tables/row.h>
#include <kalam/tables/row_change.h>
#include <kalam/tables/schema.h>
#include <kalam/tables/shared_table_store.h>
#include <kalam/tables/stream_table_store.h>
#include <kalam/tables/user_table_store.h>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace kalam::tables {

class Tables {
 public:
  Tables(const Tables&) = delete;
  Tables& operator=(const Tables&) = delete;
  // Stops the background worker (waiting for a pass in progress).
  ~Tables();

  // Opens the catalog of `db` (see Catalog::open) and, with
  // options.background, starts the worker.
  // REQUIRES: `db` outlives the Tables object; destroy the Tables object
  // before closing `db` (the worker's reads would make close() BUSY).
  static StatusOr<std::unique_ptr<Tables>> open(
      Database& db, const TablesOptions& options = {});

  // The database the catalog lives in.
  Database& database() const;
  Catalog& catalog() { return *catalog_; }
  UserTableStore& user() { return user_; }
  SharedTableStore& shared() { return shared_; }
  StreamTableStore& stream() { return stream_; }

  // The cold storage flushes write to (TablesOptions::cold_store).
  ColdStore& cold_store();

  // Reads and checks every cold segment (see cold_tier.h), against this
  // catalog. Waits for a running flush; flushes wait meanwhile.
  StatusOr<ColdTierReport> verify_cold_tier();

  // Writes an openable copy of the whole database to `dir` (which must not
  // exist): the backend store and manifest (Database::checkpoint) and the
  // cold tier, copied into <dir>/cold (the default place for a config whose
  // storage.path is `dir`) and verified against the source's
  // (copy_cold_tier). Flushes wait meanwhile, so the two halves agree: every
  // row is in the copy exactly once as reads see it. Row writes go on; the
  // store's checkpoint is one point in time (backends with checkpoint).
  // Errors: NOT_SUPPORTED (the backend has no checkpoint; nothing written),
  // ALREADY_EXISTS, CORRUPTION (a damaged cold segment: `dir` is removed),
  // IO_ERROR.
  StatusOr<ColdTierReport> checkpoint(const std::filesystem::path& dir);

  // Applies every change, in order, as ONE atomic WriteBatch: all of them
  // are stored or none. Changes may span user, shared and stream tables
  // (appends) and users; a later change to a row overrides an earlier one.
  // Returns one row id per change (a put's new id, an event's id; a
  // delete's id). Validation happens before anything is written:
  // INVALID_ARGUMENT naming the change's index and what is wrong (schema,
  // user id, a delete from a stream table, a system table), NOT_FOUND (no
  // such table), ALREADY_EXISTS (a RowChange::if_absent put whose row
  // exists). The same errors as the stores' put(), append() and del().
  StatusOr<std::vector<std::string>> apply(
      const std::vector<RowChange>& changes, const WriteOptions& options = {});

  // Flushes a user or shared table now (see flush.h).
  // INVALID_ARGUMENT for stream and system tables.
  StatusOr<FlushResult> flush(std::string_view ns, std::string_view table);

  // One pass of the background work, now: flushes every table whose
  // FlushPolicy is due (row_count rows written since its last flush, or
  // interval elapsed) and evicts the expired events of every stream table.
  // Goes through every table even when one fails; returns the first error.
  Status run_maintenance();

  // The error of the worker's latest pass (OK when it succeeded or none ran
  // yet). Errors are also logged (kalam/plugin.h set_log_sink).
  Status background_status() const;

 private:
  friend StatusOr<std::unique_ptr<Tables>> open(
      const std::filesystem::path& config_file, TablesOptions options);
  Tables(std::unique_ptr<Catalog> catalog, const TablesOptions& options);
  void worker_loop();
  // Whether the policy of `info` says flush now.
  StatusOr<bool> flush_due(const TableInfo& info, int64_t now_ms);

  // The database, when this object opened it (kalam::tables::open); first,
  // so that it is destroyed (closed) last.
  std::unique_ptr<Database> owned_database_;
  std::unique_ptr<Catalog> catalog_;
  UserTableStore user_;
  SharedTableStore shared_;
  StreamTableStore stream_;
  const TablesOptions options_;

  std::mutex maintenance_mu_;  // one pass at a time
  // Per table id: when it was last flushed (or first seen) by a pass.
  std::map<uint64_t, int64_t> last_flush_ms_;

  mutable std::mutex worker_mu_;
  std::condition_variable worker_cv_;
  bool stopping_ = false;
  Status background_status_;
  std::thread worker_;
};

// The one-line open of the table layer: reads the YAML config
// `config_file`, opens the database it describes (creating it when missing)
// and its table layer, with the cold tier where the config puts it
// (tables.cold_path; `options.cold_path` when set instead). The Tables
// object owns that database: destroying it stops the worker, then closes
// the database.
//
//   KALAM_ASSIGN_OR_RETURN(auto tables, kalam::tables::open("kalam.yaml"));
//
// Errors: those of load_config_file(), Database::open() and Tables::open().
StatusOr<std::unique_ptr<Tables>> open(const std::filesystem::path& config_file,
                                       TablesOptions options = {});

}  // namespace kalam::tables
