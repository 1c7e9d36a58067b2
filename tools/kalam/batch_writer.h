// Writes a stream of entries into a database in batches (load, migrate) and
// keeps account of what has been committed, so that a failure can say
// exactly what the destination now holds.
#pragma once

#include <kalam/database.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kalam::cli {

// What load and migrate put in one batch at most, in bytes of keys and
// values (the destination's write limits may lower it).
inline constexpr size_t kMaxBatchBytes = 4 << 20;

class BatchWriter {
 public:
  // Commits a batch when it holds `max_entries` entries or `max_bytes`
  // bytes of keys and values. The destination's per-write limits
  // (Database::write_limits()) lower both, and are never exceeded: an entry
  // that would take a batch over them starts the next batch (held until
  // the next commit, so put() still never calls the database).
  BatchWriter(Database& db, size_t max_entries, size_t max_bytes);

  // Starts column family `name` (already created in the destination).
  void begin_family(const ColumnFamily& cf, std::string name);
  // Adds an entry of the current family to the pending batch (copying it).
  // Never calls the database, so it is safe inside an iterator visitor.
  void put(std::string_view key, std::string_view value);
  // How many more entries the pending batch takes before it is full (at
  // least 1).
  size_t room() const;
  // Commits the pending batch when it is full. Throws CliError when the
  // write fails.
  void commit_if_full();
  // Marks the current family complete (after committing what is pending).
  void end_family();
  // Commits what is pending and makes every write durable (Database::flush).
  void finish();

  // Entries committed so far.
  uint64_t committed() const { return committed_; }
  // True once anything reached the destination: a family was started (and
  // so created) or an entry committed.
  bool wrote_anything() const { return !families_.empty(); }
  // What the destination holds from this writer, for failure messages:
  // "1200 entries: 'a' complete (1000), 'b' partly (200 entries, up to key
  // 'k')", naming families that were created but received nothing, or
  // "nothing".
  std::string summary() const;

 private:
  struct FamilyProgress {
    std::string name;
    uint64_t committed = 0;
    uint64_t pending = 0;
    std::string last_pending_key;
    std::string last_committed_key;
    bool complete = false;
  };
  void commit();
  // Writes `batch` holding `count` entries of the current family, the
  // last of them `last_key`; throws CliError when the write fails.
  void write_batch(const WriteBatch& batch, uint64_t count,
                   const std::string& last_key);

  // A full batch that put() set aside (the limits would be exceeded by the
  // next entry), written by the next commit().
  struct Sealed {
    WriteBatch batch;
    uint64_t count = 0;
    std::string last_key;
  };

  Database& db_;
  size_t max_entries_;
  size_t max_bytes_;
  // The destination's hard limits (0: none): ops and key + value bytes.
  uint64_t limit_ops_ = 0;
  uint64_t limit_bytes_ = 0;
  std::vector<Sealed> sealed_;
  uint64_t batch_count_ = 0;  // entries in batch_
  WriteBatch batch_;
  ColumnFamily cf_;
  std::vector<FamilyProgress> families_;
  uint64_t committed_ = 0;
};

}  // namespace kalam::cli
