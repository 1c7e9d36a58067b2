// kalam check: walks every column family (from one snapshot where the
// backend has snapshots) and verifies that keys come in strictly increasing
// byte-wise order, that none is empty, and that every value reads back
// identically with a point get. Prints each family's entry count and
// checksum (the same digest dumps and migrations use) and every problem.
// Then reads every segment of the tables' cold tier (header, checksum,
// records, row-id order, that each segment belongs to the table and user
// its place claims; kalam::tables::verify_cold_tier) and names each damaged
// file. Exits 1 when there is any problem.
#include <kalam/backend_api.h>

#include <kalam/tables/cold_tier.h>
#include <kalam/tables/tables.h>

#include <memory>
#include <optional>

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

struct CheckOptions {
  std::vector<std::string> families;
  uint64_t max_problems = 20;
};

struct FamilyReport {
  EntryDigest digest;
  uint64_t problems = 0;
};

class FamilyChecker {
 public:
  FamilyChecker(Database& db, const CheckOptions& options,
                const Snapshot* snapshot, Progress* progress,
                uint64_t* entries_before)
      : db_(db),
        options_(options),
        snapshot_(snapshot),
        progress_(progress),
        entries_before_(entries_before) {}

  FamilyReport check(const ColumnFamily& cf, const std::string& name) {
    name_ = name;
    report_ = FamilyReport();
    auto created = db_.new_iterator(cf, {.snapshot = snapshot_});
    if (!created.ok()) {
      problem("cannot create an iterator: " + created.status().message());
      return report_;
    }
    Iterator& it = *created;
    std::string previous;
    bool first = true;
    for (it.seek_to_first(); it.valid(); it.next()) {
      const std::string_view key = it.key();
      const std::string_view value = it.value();
      report_.digest.add(key, value);
      if (key.empty()) problem("an empty key (keys are 1 or more bytes)");
      if (!first && !(std::string_view(previous) < key)) {
        problem("key " + describe_bytes(key) +
                " does not come after the key before it " +
                describe_bytes(previous) + " (iteration order is broken)");
      }
      check_point_read(cf, key, value);
      previous.assign(key);
      first = false;
      progress_->update(name_, *entries_before_ + report_.digest.count(),
                        report_.digest.bytes());
    }
    if (!it.status().ok()) {
      problem("iteration stopped after " +
              std::to_string(report_.digest.count()) +
              " entries: " + it.status().message());
    }
    *entries_before_ += report_.digest.count();
    return report_;
  }

 private:
  void check_point_read(const ColumnFamily& cf, std::string_view key,
                        std::string_view value) {
    auto read = db_.get(cf, key, {.snapshot = snapshot_});
    if (!read.ok()) {
      problem("key " + describe_bytes(key) +
              " is listed by the iterator but get() says: " +
              read.status().to_string());
    } else if (*read != value) {
      problem("key " + describe_bytes(key) + ": get() returns " +
              std::to_string(read->size()) +
              " bytes that differ from the iterator's " +
              std::to_string(value.size()));
    }
  }

  void problem(const std::string& what) {
    ++report_.problems;
    if (report_.problems <= options_.max_problems) {
      progress_->clear();
      write_line("  problem in column family '" + name_ + "': " + what);
    } else if (report_.problems == options_.max_problems + 1) {
      write_line("  (more problems in column family '" + name_ +
                 "' are counted, not shown; raise --max-problems)");
    }
  }

  Database& db_;
  const CheckOptions& options_;
  const Snapshot* snapshot_;
  Progress* progress_;
  uint64_t* entries_before_;
  std::string name_;
  FamilyReport report_;
};

void run_check(const CommonOptions& common, const CheckOptions& options) {
  OpenedDatabase opened = open_database(common, Access::kRead, "kalam check");
  uint64_t problems = 0;
  uint64_t entries = 0;
  std::vector<std::string> bad_families;
  std::string bad_cold;
  {
    Database& db = *opened.db;
    const std::vector<std::string> families =
        select_families(opened, options.families);
    std::optional<Snapshot> snapshot;
    if (db.plugin().has(KALAM_CAP_SNAPSHOTS)) {
      snapshot.emplace(value_or_throw(db.snapshot(), "cannot take a snapshot"));
    } else {
      verbose_note(common, "backend '" + db.plugin().name() +
                               "' has no snapshots: checking live data");
    }
    const Snapshot* at = snapshot ? &*snapshot : nullptr;
    Progress progress("check", estimate_entries(opened, families));
    FamilyChecker checker(db, options, at, &progress, &entries);
    for (const auto& name : families) {
      const FamilyReport report =
          checker.check(open_family(opened, name), name);
      progress.clear();
      write_line(name + ": " + report.digest.to_string() +
                 (report.problems == 0
                      ? ", ok"
                      : ", " + std::to_string(report.problems) +
                            (report.problems == 1 ? " problem" : " problems")));
      problems += report.problems;
      if (report.problems > 0) bad_families.push_back(name);
    }
    snapshot.reset();

    // The cold tier: every segment read in full.
    std::shared_ptr<tables::ColdStore> cold = cold_store_of(opened.config);
    const std::string cold_dir = cold_path(opened.config).string();
    const bool has_cold =
        !value_or_throw(cold->empty(), "cannot read the cold tier " + cold_dir);
    std::string cold_summary;
    if (has_cold) {
      std::unique_ptr<tables::Tables> layer;
      if (has_table_layer(opened)) layer = open_table_layer(opened, cold);
      const tables::ColdTierReport report = value_or_throw(
          tables::verify_cold_tier(*cold, layer ? &layer->catalog() : nullptr),
          "cannot read the cold tier " + cold_dir);
      for (const std::string& line : describe_cold_tables(report)) {
        write_line(line);
      }
      uint64_t shown = 0;
      for (const Status& damage : report.damage) {
        if (++shown <= options.max_problems) {
          write_line("  problem in the cold tier: " + damage.message());
        } else if (shown == options.max_problems + 1) {
          write_line(
              "  (more problems in the cold tier are counted, not "
              "shown; raise --max-problems)");
        }
      }
      write_line("cold tier (" + cold_dir + "): " + report.to_string() +
                 (report.ok() ? ", ok" : ""));
      problems += report.damage.size();
      if (!report.ok()) bad_cold = "the cold tier " + cold_dir;
      cold_summary = ", " + std::to_string(report.segments) + " cold segments";
    }
    write_line("check: " + std::to_string(families.size()) +
               " column families, " + std::to_string(entries) + " entries" +
               cold_summary + ", " +
               (problems == 0 ? std::string("no problems")
                              : std::to_string(problems) + " problems"));
  }
  close_database(&opened);
  if (problems > 0) {
    std::string where;
    if (!bad_families.empty()) {
      where = std::string("column famil") +
              (bad_families.size() == 1 ? "y " : "ies ") +
              quote_list(bad_families);
    }
    if (!bad_cold.empty()) where += (where.empty() ? "" : " and ") + bad_cold;
    throw CliError::Failure("check found " + std::to_string(problems) +
                            " problem(s) in " + where + " (listed on stdout)");
  }
}

}  // namespace

void register_check(CLI::App& root, CommonOptions* common,
                    CommandList* commands) {
  auto options = std::make_shared<CheckOptions>();
  CLI::App* app = root.add_subcommand(
      "check",
      "Verify every column family (key order, point reads) and every cold "
      "segment");
  add_common_options(app, common);
  app->add_option("--cf", options->families,
                  "Only this column family (repeatable; default: all)")
      ->option_text("NAME");
  app->add_option("--max-problems", options->max_problems,
                  "Show at most N problems per family (all are counted; "
                  "default 20)")
      ->check(count_in_range(0))
      ->option_text("N");
  set_example(app, "kalam check --config kalam.yaml",
              "Walks every column family (from one snapshot where the backend "
              "has snapshots) and verifies that keys come in strictly "
              "increasing byte-wise order, that none is empty, and that every "
              "value reads back identically with get. Prints each family's "
              "entry count and crc32 (the digest dump and migrate use) and "
              "every problem. Then reads every segment of the tables' cold "
              "tier (tables.cold_path, default <data directory>/cold): "
              "header, checksum, records, row-id order, and that each "
              "segment belongs to the table and user its place claims; each "
              "damaged file is named. Exits 1 when there is any problem.");
  commands->push_back(
      {app, [common, options] { run_check(*common, *options); }});
}

}  // namespace kalam::cli
