// kalam migrate --to OTHER.yaml: copies the whole database — every column
// family of the backend store, and the table layer's cold tier (the
// segments flushes wrote) — from the configured database to the one
// OTHER.yaml describes (any backend to any backend, through the engine
// API). The store is read from one snapshot of the source where it has
// snapshots, in batches; then each family's entry count and checksum are
// verified on both sides. The cold tier is copied after the store
// (kalam::tables::copy_cold_tier) and verified partition by partition. The
// destination must be empty unless --allow-non-empty (its cold tier must be
// empty always). On a failure after writing began, the message says exactly
// what the destination holds.
#include <kalam/backend_api.h>

#include <kalam/tables/cold_tier.h>
#include <kalam/tables/tables.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>

#include "batch_writer.h"
#include "cli_error.h"
#include "cold_tier_support.h"
#include "commands.h"
#include "digest.h"
#include "encoding.h"
#include "families.h"
#include "open_database.h"
#include "output.h"
#include "progress.h"
#include "table_support.h"

namespace kalam::cli {
namespace {

namespace fs = std::filesystem;

struct MigrateOptions {
  std::string to;
  std::vector<std::string> families;
  bool allow_non_empty = false;
  size_t batch_size = 1000;
};

struct CopiedFamily {
  std::string name;
  EntryDigest source;
};

bool same_directory(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) {
    return fs::equivalent(a, b, ec);
  }
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

// Verifies a destination that held nothing before: its entries must be
// exactly the source's (same count, same checksum).
void verify_exact(Database& destination, const ColumnFamily& cf,
                  const CopiedFamily& copied) {
  EntryDigest digest;
  for_each_entry(destination, cf, copied.name, nullptr,
                 [&](std::string_view key, std::string_view value) {
                   digest.add(key, value);
                 });
  if (!(digest == copied.source)) {
    throw CliError::Failure("verification failed for column family '" +
                            copied.name + "': the source has " +
                            copied.source.to_string() + ", the destination " +
                            digest.to_string());
  }
}

// Verifies a destination that may hold keys of its own: walks both in key
// order; every source entry must be there with the same value. Returns the
// number of destination keys that are not in the source.
uint64_t verify_merged(Database& source, const ColumnFamily& source_cf,
                       const Snapshot* snapshot, Database& destination,
                       const ColumnFamily& destination_cf,
                       const CopiedFamily& copied) {
  const std::string doing =
      "cannot read column family '" + copied.name + "' to verify it";
  Iterator from = value_or_throw(
      source.new_iterator(source_cf, {.snapshot = snapshot}), doing);
  Iterator to = value_or_throw(destination.new_iterator(destination_cf), doing);
  EntryDigest matched;
  uint64_t extra = 0;
  from.seek_to_first();
  to.seek_to_first();
  for (; from.valid(); from.next()) {
    while (to.valid() && to.key() < from.key()) {
      ++extra;
      to.next();
    }
    if (!to.valid() || to.key() != from.key() || to.value() != from.value()) {
      throw CliError::Failure("verification failed for column family '" +
                              copied.name + "': key " +
                              describe_bytes(from.key()) +
                              (to.valid() && to.key() == from.key()
                                   ? " has a different value in the destination"
                                   : " is missing from the destination"));
    }
    matched.add(to.key(), to.value());
    to.next();
  }
  for (; to.valid(); to.next()) ++extra;
  throw_if_error(from.status(), doing);
  throw_if_error(to.status(), doing);
  if (!(matched == copied.source)) {
    throw CliError::Failure(
        "verification failed for column family '" + copied.name +
        "': the source has " + copied.source.to_string() +
        ", the destination's matching keys " + matched.to_string());
  }
  return extra;
}

void run_migrate(const CommonOptions& common, const MigrateOptions& options) {
  EngineConfig source_config = load_config(common.config_file);
  EngineConfig destination_config = load_config(options.to);
  if (same_directory(source_config.storage.path,
                     destination_config.storage.path)) {
    throw CliError::Usage(
        "source (" + common.config_file + ") and destination (" + options.to +
        ") name the same data directory " +
        source_config.storage.path.string() + "; migrate needs two databases");
  }
  OpenedDatabase source = open_configured(
      std::move(source_config), Access::kRead, common, "kalam migrate");
  const std::vector<std::string> families =
      select_families(source, options.families);

  // The cold tier goes with the family that holds the tables' hot rows.
  const bool with_tables = std::find(families.begin(), families.end(),
                                     tables::kTablesFamily) != families.end();
  std::shared_ptr<tables::ColdStore> from_cold = cold_store_of(source.config);
  std::shared_ptr<tables::ColdStore> to_cold =
      cold_store_of(destination_config);
  const bool source_has_cold = !value_or_throw(
      from_cold->empty(), "cannot read the source's cold tier " +
                              cold_path(source.config).string());
  const bool copy_cold = with_tables && source_has_cold;
  if (copy_cold) {
    if (same_directory(cold_path(source.config),
                       cold_path(destination_config))) {
      throw CliError::Usage("source and destination share the cold tier " +
                            cold_path(source.config).string() +
                            " (tables.cold_path); give the destination its "
                            "own");
    }
    require_empty_cold_tier(*to_cold, destination_config, "kalam migrate");
    // A damaged cold tier is refused before anything is written.
    std::unique_ptr<tables::Tables> layer;
    if (has_table_layer(source)) layer = open_table_layer(source, from_cold);
    const tables::ColdTierReport report =
        value_or_throw(tables::verify_cold_tier(
                           *from_cold, layer ? &layer->catalog() : nullptr),
                       "cannot read the source's cold tier " +
                           cold_path(source.config).string());
    if (!report.ok()) {
      throw CliError::Failure(
          "the source's cold tier " + cold_path(source.config).string() +
          " has " + std::to_string(report.damage.size()) +
          " damaged segment(s) (run 'kalam check'): " +
          report.damage.front().message() + ". Nothing was written to " +
          describe_location(destination_config));
    }
  } else if (source_has_cold) {
    warn("the cold tier (" + cold_path(source.config).string() +
         ") is not copied: it belongs to column family '" +
         std::string(tables::kTablesFamily) + "', which --cf left out");
  }

  // Opened after the cold tier checks, so that a refusal creates nothing.
  OpenedDatabase destination = open_configured(
      std::move(destination_config), Access::kWrite, common, "kalam migrate");
  refuse_non_empty(destination, options.allow_non_empty, "kalam migrate");
  Database& from = *source.db;
  Database& to = *destination.db;

  std::vector<CopiedFamily> copied;
  std::optional<tables::ColdTierReport> cold_report;
  BatchWriter writer(to, options.batch_size, kMaxBatchBytes);
  {
    std::optional<Snapshot> snapshot;
    if (from.plugin().has(KALAM_CAP_SNAPSHOTS)) {
      snapshot.emplace(value_or_throw(from.snapshot(),
                                      "cannot take a snapshot of the "
                                      "source"));
    } else {
      warn("source backend '" + from.plugin().name() +
           "' has no snapshots: writes made during the migration may be "
           "partly copied; stop writers first");
    }
    const Snapshot* at = snapshot ? &*snapshot : nullptr;

    try {
      Progress progress("migrate", estimate_entries(source, families));
      uint64_t entries = 0;
      uint64_t bytes = 0;
      for (const auto& name : families) {
        const ColumnFamily source_cf = open_family(source, name);
        auto destination_cf =
            to.column_family(name, /*create_if_missing=*/true);
        throw_if_error(
            destination_cf.status(),
            "cannot create column family '" + name + "' in the destination");
        writer.begin_family(*destination_cf, name);
        CopiedFamily family{.name = name};
        for_each_entry(
            from, source_cf, name, at,
            [&](std::string_view key, std::string_view value) {
              family.source.add(key, value);
              writer.put(key, value);
              ++entries;
              bytes += key.size() + value.size();
            },
            [&] {
              writer.commit_if_full();
              progress.update(name, entries, bytes);
            },
            [&] { return writer.room(); });
        writer.end_family();
        progress.clear();
        verbose_note(common, "copied column family '" + name +
                                 "': " + family.source.to_string());
        copied.push_back(std::move(family));
      }
      writer.finish();

      for (const auto& family : copied) {
        const ColumnFamily source_cf = open_family(source, family.name);
        const ColumnFamily destination_cf =
            open_family(destination, family.name);
        std::string note;
        if (options.allow_non_empty) {
          const uint64_t extra =
              verify_merged(from, source_cf, at, to, destination_cf, family);
          if (extra > 0) {
            note = " (the destination also holds " + std::to_string(extra) +
                   " keys of its own)";
          }
        } else {
          verify_exact(to, destination_cf, family);
        }
        write_line(family.name + ": " + family.source.to_string() +
                   ", verified" + note);
      }

      if (copy_cold) {
        // After the store: a flush can only have added segments since the
        // snapshot (rows then both hot and cold, read once), never removed
        // a row from both halves.
        std::unique_ptr<tables::Tables> layer;
        if (has_table_layer(source))
          layer = open_table_layer(source, from_cold);
        cold_report = value_or_throw(
            tables::copy_cold_tier(*from_cold, *to_cold,
                                   layer ? &layer->catalog() : nullptr),
            "cannot copy the cold tier from " +
                cold_path(source.config).string() + " to " +
                cold_path(destination.config).string());
        for (const std::string& line : describe_cold_tables(*cold_report)) {
          write_line(line + ", verified");
        }
        write_line("cold tier: " + cold_report->to_string() +
                   ", every partition verified");
      }
    } catch (const CliError& e) {
      std::string message = std::string(e.what()) + ". The migration stopped; ";
      if (writer.wrote_anything()) {
        message += "what it wrote stays in " +
                   describe_location(destination.config) + ": " +
                   writer.summary() +
                   "; delete that data directory (or drop those column "
                   "families) before migrating again";
      } else {
        message +=
            "nothing was written to " + describe_location(destination.config);
      }
      throw CliError(e.exit_code(), message, e.detail());
    }
  }
  uint64_t total = 0;
  for (const auto& family : copied) total += family.source.count();
  const std::string from_name = from.plugin().name();
  const std::string to_name = to.plugin().name();
  close_database(&source);
  close_database(&destination);
  const std::string cold =
      cold_report ? " and the cold tier (" +
                        std::to_string(cold_report->segments) + " segments, " +
                        std::to_string(cold_report->records) + " records)"
                  : std::string();
  write_line("migrated " + std::to_string(copied.size()) +
             " column families, " + std::to_string(total) + " entries" + cold +
             " from " + from_name + " (" + source.config.storage.path.string() +
             ") to " + to_name + " (" +
             destination.config.storage.path.string() +
             "); counts and checksums verified");
}

}  // namespace

void register_migrate(CLI::App& root, CommonOptions* common,
                      CommandList* commands) {
  auto options = std::make_shared<MigrateOptions>();
  CLI::App* app = root.add_subcommand(
      "migrate",
      "Copy the database to another backend (--to OTHER.yaml) and verify");
  add_common_options(app, common);
  app->add_option("--to", options->to,
                  "The destination's YAML config (its backend and path)")
      ->required()
      ->option_text("OTHER.yaml");
  app->add_option("--cf", options->families,
                  "Only this column family (repeatable; default: all)")
      ->option_text("NAME");
  app->add_flag("--allow-non-empty,--force", options->allow_non_empty,
                "Migrate into a database that already holds data (source "
                "values overwrite equal keys; verification then checks every "
                "source entry is there)");
  app->add_option("--batch-size", options->batch_size,
                  "Entries per atomic write (default 1000; batches are also "
                  "cut at 4 MiB)")
      ->check(count_in_range(1))
      ->option_text("N");
  set_example(app,
              "kalam migrate --config examples/rocksdb.yaml --to "
              "examples/lmdb.yaml",
              "Copies the whole database: every column family (or those "
              "given with --cf) from the database of --config to the one "
              "OTHER.yaml describes, through the engine API, from one "
              "snapshot of the source where it has snapshots, in atomic "
              "batches, then verifies each family's entry count and crc32 on "
              "both sides; and the tables' cold tier (the segments flushes "
              "wrote, tables.cold_path), verified partition by partition "
              "(segments, rows, deletions, crc32 of the records). The "
              "destination must hold no data unless --allow-non-empty, and "
              "its cold tier must be empty. If anything fails after writing "
              "began, the error says exactly what the destination holds. "
              "Progress shows on a terminal.");
  commands->push_back(
      {app, [common, options] { run_migrate(*common, *options); }});
}

}  // namespace kalam::cli
