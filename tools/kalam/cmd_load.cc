// kalam load: reads a kalam dump (docs/dump-format.md) into the configured
// database: its column families into the store, its cold segments (version
// 2 dumps) into the cold tier (tables.cold_path), which is then verified
// partition by partition against the dump. A dump file is verified
// completely (every checksum) before the first write; standard input cannot
// be read twice, so it is verified as it is loaded. The destination must be
// empty unless --allow-non-empty (its cold tier must be empty when the dump
// has segments). On a failure after writing began, the message says exactly
// what was written.
#include <kalam/tables/cold_tier.h>
#include <kalam/tables/tables.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <tuple>

#include "batch_writer.h"
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

struct LoadOptions {
  std::string file;
  bool allow_non_empty = false;
  size_t batch_size = 1000;
};

class InputFile {
 public:
  explicit InputFile(const std::string& name)
      : name_(name == "-" ? "<stdin>" : name) {
    file_ = name == "-" ? stdin : std::fopen(name.c_str(), "rb");
    if (file_ == nullptr) {
      const int err = errno;
      if (err == ENOENT) {
        throw CliError::Usage("dump file '" + name +
                              "' does not exist; make one with 'kalam dump'");
      }
      throw CliError::Failure("cannot open dump file '" + name +
                              "': " + std::strerror(err));
    }
    static char buffer[1 << 20];
    std::setvbuf(file_, buffer, _IOFBF, sizeof buffer);
    struct stat st {};
    seekable_ = ::fstat(::fileno(file_), &st) == 0 && S_ISREG(st.st_mode);
    if (seekable_) size_ = static_cast<uint64_t>(st.st_size);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() {
    if (file_ != nullptr && file_ != stdin) std::fclose(file_);
  }

  std::FILE* get() const { return file_; }
  const std::string& name() const { return name_; }
  // A regular file (standard input may be one), which can be read twice.
  bool seekable() const { return seekable_; }
  // The file's size, when seekable().
  uint64_t size() const { return size_; }
  void rewind() {
    if (std::fseek(file_, 0, SEEK_SET) != 0) {
      throw CliError::Failure("cannot rewind dump file '" + name_ +
                              "': " + std::strerror(errno));
    }
  }

 private:
  std::string name_;
  std::FILE* file_ = nullptr;
  bool seekable_ = false;
  uint64_t size_ = 0;
};

// Reads the whole dump, verifying it, without writing anything. Returns
// its number of cold segments.
uint64_t verify_dump(InputFile& input) {
  DumpReader reader(input.get(), input.name());
  (void)reader.read_header();
  Progress progress("load (verifying the dump)");
  progress.expect_bytes(input.size());
  for (;;) {
    const DumpRecord& record = reader.next();
    if (record.kind == DumpRecord::Kind::kEnd) break;
    progress.update(record.family, reader.entries(), reader.offset());
  }
  return reader.segments();
}

using PartitionKey =
    std::tuple<std::string, std::string, uint64_t, std::optional<std::string>>;

PartitionKey key_of(const tables::ColdPartition& p) {
  return {p.ns, p.table, p.table_id, p.user};
}

void run_load(const CommonOptions& common, const LoadOptions& options) {
  InputFile input(options.file);
  uint64_t dump_segments = 0;
  if (input.seekable()) {
    dump_segments = verify_dump(input);
    input.rewind();
    verbose_note(common, "verified " + input.name() + "; loading it");
  } else {
    verbose_note(common, input.name() +
                             " cannot be read twice: verifying the dump "
                             "while loading it");
  }

  OpenedDatabase opened = open_database(common, Access::kWrite, "kalam load");
  Database& db = *opened.db;
  refuse_non_empty(opened, options.allow_non_empty, "kalam load");
  std::shared_ptr<tables::ColdStore> cold = cold_store_of(opened.config);

  BatchWriter writer(db, options.batch_size, kMaxBatchBytes);
  DumpReader reader(input.get(), input.name());
  // The dump's cold tier, partition by partition, as verify_cold_tier()
  // should find it after the load.
  std::map<PartitionKey, tables::ColdPartitionDigest> expected;
  std::vector<tables::ColdRecord> segment;
  uint64_t segments_written = 0;
  try {
    (void)reader.read_header();
    // Standard input may hold segments: whether it does shows only later.
    if (dump_segments > 0 || (!input.seekable() && reader.version() >= 2)) {
      require_empty_cold_tier(*cold, opened.config, "kalam load");
    }
    Progress progress("load");
    if (input.seekable()) progress.expect_bytes(input.size());
    for (;;) {
      const DumpRecord& record = reader.next();
      if (record.kind == DumpRecord::Kind::kEnd) break;
      switch (record.kind) {
        case DumpRecord::Kind::kFamily: {
          auto cf = db.column_family(record.family, /*create_if_missing=*/true);
          throw_if_error(cf.status(),
                         "cannot create column family '" + record.family + "'");
          writer.begin_family(*cf, record.family);
          break;
        }
        case DumpRecord::Kind::kEntry:
          writer.put(record.key, record.value);
          writer.commit_if_full();
          progress.update(record.family, reader.entries(), reader.offset());
          break;
        case DumpRecord::Kind::kFamilyEnd:
          writer.end_family();
          progress.clear();
          verbose_note(common, "loaded column family '" + record.family +
                                   "': " + record.digest.to_string());
          break;
        case DumpRecord::Kind::kSegment:
          segment.clear();
          break;
        case DumpRecord::Kind::kRecord:
          segment.push_back(record.record);
          break;
        case DumpRecord::Kind::kSegmentEnd: {
          // Verified (count and CRC) by the reader before it is written.
          throw_if_error(cold->write_segment(record.partition, segment),
                         "cannot write a cold segment of " +
                             record.partition.ns + "." +
                             record.partition.table + " into " +
                             cold_path(opened.config).string());
          ++segments_written;
          tables::ColdPartitionDigest& digest =
              expected
                  .try_emplace(key_of(record.partition),
                               tables::ColdPartitionDigest{
                                   .partition = record.partition})
                  .first->second;
          digest.crc32 = tables::cold_segment_start_crc32(digest.crc32);
          for (const tables::ColdRecord& r : segment) {
            digest.crc32 = tables::cold_records_crc32(digest.crc32, r);
            (r.row ? digest.rows : digest.deletions) += 1;
          }
          ++digest.segments;
          break;
        }
        case DumpRecord::Kind::kEnd:
          break;
      }
    }
    writer.finish();
    if (segments_written > 0) {
      std::unique_ptr<tables::Tables> layer;
      if (has_table_layer(opened)) layer = open_table_layer(opened, cold);
      const tables::ColdTierReport loaded = value_or_throw(
          tables::verify_cold_tier(*cold, layer ? &layer->catalog() : nullptr),
          "cannot verify the loaded cold tier " +
              cold_path(opened.config).string());
      std::vector<tables::ColdPartitionDigest> want;
      for (auto& [key, digest] : expected) want.push_back(digest);
      if (!loaded.ok() || loaded.partitions != want) {
        throw CliError::Failure(
            "verification of the loaded cold tier " +
            cold_path(opened.config).string() + " failed: " +
            (loaded.ok() ? "it does not hold the dump's segments"
                         : loaded.damage.front().message()));
      }
      for (const std::string& line : describe_cold_tables(loaded)) {
        write_line(line + ", verified");
      }
    }
  } catch (const CliError& e) {
    std::string message = std::string(e.what()) + ". The load stopped; ";
    if (writer.wrote_anything() || segments_written > 0) {
      message +=
          "what it wrote stays in " + describe_location(opened.config) + ": " +
          writer.summary() +
          (segments_written > 0
               ? " and " + std::to_string(segments_written) +
                     " cold segment(s) in " + cold_path(opened.config).string()
               : std::string()) +
          "; drop those column families (or delete the data "
          "directory and the cold tier) before loading again";
    } else {
      message += "nothing was written to " + describe_location(opened.config);
    }
    throw CliError(e.exit_code(), message, e.detail());
  }
  close_database(&opened);
  write_line(
      "loaded " + std::to_string(reader.families()) + " column families, " +
      std::to_string(reader.entries()) + " entries" +
      (segments_written > 0
           ? ", " + std::to_string(segments_written) + " cold segments (" +
                 std::to_string(reader.records()) + " records, verified)"
           : std::string()) +
      " from " + input.name() + " into " + describe_location(opened.config));
}

}  // namespace

void register_load(CLI::App& root, CommonOptions* common,
                   CommandList* commands) {
  auto options = std::make_shared<LoadOptions>();
  CLI::App* app = root.add_subcommand(
      "load", "Load a kalam dump into the database (created when missing)");
  add_common_options(app, common);
  app->add_option("FILE", options->file,
                  "The dump to read ('-': standard input, verified while "
                  "loading)")
      ->required();
  app->add_flag("--allow-non-empty,--force", options->allow_non_empty,
                "Load into a database that already holds data (the dump's "
                "values overwrite equal keys)");
  app->add_option("--batch-size", options->batch_size,
                  "Entries per atomic write (default 1000; batches are also "
                  "cut at 4 MiB)")
      ->check(count_in_range(1))
      ->option_text("N");
  set_example(app, "kalam load --config lmdb.yaml backup.kdump",
              "A dump file is verified in full (every checksum) before "
              "anything is written; standard input is verified while it is "
              "loaded. The dump's column families are created, and its cold "
              "segments written into the cold tier (tables.cold_path) and "
              "verified. The database must hold no data unless "
              "--allow-non-empty, and its cold tier no segment when the dump "
              "has some. If writing fails "
              "midway, the error says exactly what the database now holds.");
  commands->push_back(
      {app, [common, options] { run_load(*common, *options); }});
}

}  // namespace kalam::cli
