// kalam dump: writes the whole database — every column family (or the
// chosen ones) and the tables' cold tier (its segments, with kalam.tables)
// — to one checksummed file in the kalam dump format (docs/dump-format.md),
// the store from one snapshot where the backend has snapshots, then the
// cold tier (verified first: a damaged segment fails the dump). The file
// appears under its name only when complete: it is written as
// FILE.partial, synced and renamed.
#include <fcntl.h>
#include <kalam/backend_api.h>
#include <kalam/tables/cold_tier.h>
#include <kalam/tables/tables.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>

#include "cli_error.h"
#include "cold_tier_support.h"
#include "commands.h"
#include "dump_format.h"
#include "families.h"
#include "open_database.h"
#include "output.h"
#include "progress.h"
#include "table_support.h"

namespace kalam::cli {
namespace {

namespace fs = std::filesystem;

struct DumpOptions {
  std::string file;
  std::vector<std::string> families;
  bool force = false;
};

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// The file being written: FILE.partial until commit() renames it; removed
// if the dump fails.
class PartialFile {
 public:
  PartialFile(fs::path final_path, bool overwrite)
      : final_(std::move(final_path)), partial_(final_.string() + ".partial") {
    std::error_code ec;
    if (!overwrite && fs::exists(final_, ec)) {
      throw CliError::Failure(final_.string() +
                              " exists; pass --force to overwrite it, or "
                              "choose another file name");
    }
    file_ = std::fopen(partial_.c_str(), "wb");
    if (file_ == nullptr) {
      throw CliError::Failure("cannot create " + partial_.string() + ": " +
                              std::strerror(errno));
    }
    static char buffer[1 << 20];
    std::setvbuf(file_, buffer, _IOFBF, sizeof buffer);
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;
  ~PartialFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!committed_) ::unlink(partial_.c_str());
  }

  std::FILE* get() const { return file_; }

  // Syncs, closes and renames to the final name, then syncs the directory.
  void commit() {
    if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
      throw CliError::Failure("cannot write " + partial_.string() + ": " +
                              std::strerror(errno));
    }
    const int closed = std::fclose(file_);
    file_ = nullptr;
    if (closed != 0) {
      throw CliError::Failure("cannot write " + partial_.string() + ": " +
                              std::strerror(errno));
    }
    if (::rename(partial_.c_str(), final_.c_str()) != 0) {
      throw CliError::Failure("cannot rename " + partial_.string() + " to " +
                              final_.string() + ": " + std::strerror(errno));
    }
    committed_ = true;
    const fs::path dir =
        final_.has_parent_path() ? final_.parent_path() : fs::path(".");
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }

 private:
  fs::path final_;
  fs::path partial_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

void run_dump(const CommonOptions& common, const DumpOptions& options) {
  const bool to_stdout = options.file == "-";
  if (to_stdout && ::isatty(STDOUT_FILENO) == 1) {
    throw CliError::Usage(
        "refusing to write a binary dump to a terminal; give a FILE or "
        "redirect standard output");
  }
  OpenedDatabase opened = open_database(common, Access::kRead, "kalam dump");
  Database& db = *opened.db;
  const std::vector<std::string> families =
      select_families(opened, options.families);
  // The cold tier goes with the family that holds the tables' hot rows.
  std::shared_ptr<tables::ColdStore> cold = cold_store_of(opened.config);
  const std::string cold_dir = cold_path(opened.config).string();
  const bool with_cold =
      std::find(families.begin(), families.end(), tables::kTablesFamily) !=
          families.end() &&
      !value_or_throw(cold->empty(), "cannot read the cold tier " + cold_dir);

  std::optional<PartialFile> partial;
  if (!to_stdout) partial.emplace(options.file, options.force);
  std::FILE* out = to_stdout ? stdout : partial->get();
  const std::string name = to_stdout ? "<stdout>" : options.file;
  DumpWriter writer(out, name);
  {
    std::optional<Snapshot> snapshot;
    if (db.plugin().has(KALAM_CAP_SNAPSHOTS)) {
      snapshot.emplace(value_or_throw(db.snapshot(), "cannot take a snapshot"));
    } else {
      warn("backend '" + db.plugin().name() +
           "' has no snapshots: writes made during the dump may be partly "
           "included");
    }
    const Snapshot* at = snapshot ? &*snapshot : nullptr;
    writer.write_header({
        {"format", "kalam-dump"},
        {"created_at", utc_now()},
        {"kalam_version", KALAM_VERSION},
        {"source",
         {{"backend", db.plugin().name()},
          {"plugin_version", db.plugin().version()},
          {"format_version", db.plugin().format_version()},
          {"config", opened.config.source},
          {"data_directory", db.path().string()},
          {"cold_path", cold_dir}}},
        {"snapshot", at != nullptr},
        {"column_families", families},
    });
    Progress progress("dump", estimate_entries(opened, families));
    uint64_t bytes = 0;
    for (const auto& family : families) {
      const ColumnFamily cf = open_family(opened, family);
      writer.begin_family(family);
      for_each_entry(
          db, cf, family, at,
          [&](std::string_view key, std::string_view value) {
            writer.add(key, value);
            bytes += key.size() + value.size();
          },
          [&] { progress.update(family, writer.entries(), bytes); });
      const EntryDigest digest = writer.end_family();
      progress.clear();
      verbose_note(common, "dumped column family '" + family +
                               "': " + digest.to_string());
    }
    if (with_cold) {
      // After the store: a flush since the snapshot can only have added
      // segments (rows then both hot and cold, read once).
      std::unique_ptr<tables::Tables> layer;
      if (has_table_layer(opened)) layer = open_table_layer(opened, cold);
      const tables::ColdTierReport report = value_or_throw(
          tables::verify_cold_tier(*cold, layer ? &layer->catalog() : nullptr),
          "cannot read the cold tier " + cold_dir);
      if (!report.ok()) {
        throw CliError::Failure(
            "the cold tier " + cold_dir + " has " +
            std::to_string(report.damage.size()) +
            " damaged segment(s) (run 'kalam check'); the first: " +
            report.damage.front().message());
      }
      const auto segments = value_or_throw(
          cold->list_segments(), "cannot list the cold tier " + cold_dir);
      for (const tables::ColdSegmentInfo& segment : segments) {
        auto reader =
            value_or_throw(cold->open_segment(segment),
                           "cannot read cold segment " + segment.location);
        writer.begin_segment(segment.partition);
        tables::ColdRecord record;
        while (reader->next(record)) writer.add_record(record);
        throw_if_error(reader->status(),
                       "cannot read cold segment " + segment.location);
        writer.end_segment();
      }
      verbose_note(common, "dumped the cold tier: " + report.to_string());
    }
    writer.finish();
  }
  close_database(&opened);
  if (partial) partial->commit();

  const std::string summary =
      "dumped " + std::to_string(writer.families()) + " column families, " +
      std::to_string(writer.entries()) + " entries" +
      (writer.segments() > 0
           ? ", " + std::to_string(writer.segments()) + " cold segments (" +
                 std::to_string(writer.records()) + " records)"
           : std::string()) +
      " to " + name + " (" + human_bytes(writer.bytes_written()) + ", crc32 " +
      crc32_hex(writer.file_crc()) + ")";
  if (to_stdout) {
    std::fprintf(stderr, "kalam: %s\n", summary.c_str());
  } else {
    write_line(summary);
  }
}

}  // namespace

void register_dump(CLI::App& root, CommonOptions* common,
                   CommandList* commands) {
  auto options = std::make_shared<DumpOptions>();
  CLI::App* app = root.add_subcommand(
      "dump", "Write the database to one portable, checksummed dump file");
  add_common_options(app, common);
  app->add_option("FILE", options->file,
                  "The dump file to write ('-': standard output)")
      ->required();
  app->add_option("--cf", options->families,
                  "Only this column family (repeatable; default: all)")
      ->option_text("NAME");
  app->add_flag("--force", options->force, "Overwrite FILE if it exists");
  set_example(app,
              "kalam dump --config rocksdb.yaml backup.kdump\n"
              "kalam dump --cf users - | ssh host 'kalam load -'",
              "Writes the whole database in the kalam dump format "
              "(docs/dump-format.md): every column family (or those given "
              "with --cf), from one snapshot where the backend has "
              "snapshots, and, with kalam.tables, the tables' cold tier "
              "(every segment flushes wrote; a damaged one fails the dump). "
              "FILE is written as "
              "FILE.partial and renamed when complete, so it never exists "
              "half-written. Progress shows on a terminal.");
  commands->push_back(
      {app, [common, options] { run_dump(*common, *options); }});
}

}  // namespace kalam::cli
