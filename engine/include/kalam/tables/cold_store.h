// Cold storage: where a flush moves the rows of user and shared tables.
//
// A flush writes one immutable SEGMENT per partition (one user of a user
// table, or the whole of a shared table) holding the partition's flushed rows
// and deletions in row-id order. Segments of a partition are numbered; a
// newer segment's records win over an older one's, and rows still in the
// hot store win over every segment (see Tables / UserTableStore: hybrid
// reads). Segments are removed only by compaction (replace_segments: a
// flush that leaves a partition with more than
// TablesOptions::max_cold_segments merges them into one) and by dropping
// their table.
//
// ColdStore is the interface the table layer writes and reads through;
// json_lines_cold_store() is the implementation it uses by default. A
// custom store (object storage, a columnar format) implements the same
// nine calls. Implementations must be thread-safe.
#pragma once

#include <kalam/span.h>
#include <kalam/status.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace kalam::tables {

// The rows of one table that share segments.
struct ColdPartition {
  std::string ns;
  std::string table;
  // The catalog's id: a re-created table of the same name never sees the
  // segments of the one dropped before it.
  uint64_t table_id = 0;
  // The user, for user tables; nullopt for shared tables.
  std::optional<std::string> user;
};

// One record of a segment: a row, or the deletion of one (a tombstone that
// hides the row in older segments).
struct ColdRecord {
  std::string row_id;
  // The row's data; nullopt when the row was deleted.
  std::optional<nlohmann::json> row;
  friend bool operator==(const ColdRecord& a, const ColdRecord& b) {
    return std::tie(a.row_id, a.row) == std::tie(b.row_id, b.row);
  }
  friend bool operator!=(const ColdRecord& a, const ColdRecord& b) {
    return !(a == b);
  }
};

// One segment of a cold store, as ColdStore::list_segments() finds it.
struct ColdSegmentInfo {
  // The partition the segment belongs to, as its header says. For a damaged
  // segment: as far as its place in the store tells (for the JSON Lines
  // store, `user` is then the user directory's name).
  ColdPartition partition;
  // Its place among the partition's segments: a larger one is newer.
  uint64_t seq = 0;
  // Where it is, for messages (the JSON Lines store: the file's path).
  std::string location;
  // OK, or why the segment cannot be read as the partition's: CORRUPTION
  // naming it (a header that does not parse, or that claims another table
  // or user than its place says).
  Status damage;
};

// Streams the records of one segment in the order they were written.
class ColdSegmentReader {
 public:
  virtual ~ColdSegmentReader() = default;
  // The next record into `out`: false at the end or on an error (then
  // status() says which, e.g. CORRUPTION for a damaged segment).
  virtual bool next(ColdRecord& out) = 0;
  virtual const Status& status() const = 0;
};

class ColdStore {
 public:
  virtual ~ColdStore() = default;

  // Writes `records` (sorted by row key, at most one per row id) as the
  // partition's newest segment, durably and all-or-nothing: after an error
  // or a crash the segment is either wholly readable or absent.
  virtual Status write_segment(const ColdPartition& partition,
                               Span<const ColdRecord> records) = 0;
  // Readers over every segment of the partition, NEWEST FIRST (empty when
  // it has none). A segment written later is not seen by these readers.
  virtual StatusOr<std::vector<std::unique_ptr<ColdSegmentReader>>>
  open_segments(const ColdPartition& partition) = 0;
  // Whether the partition may have segments: true when it has one (a false
  // positive only makes the table layer record a deletion it did not need
  // to). Called on every row delete, so it should be cheap.
  virtual StatusOr<bool> has_segments(const ColdPartition& partition) = 0;
  // How many segments the partition has; may count more than it has (the
  // JSON Lines store counts every segment in the partition's directory),
  // which only makes the table layer compact sooner. Called once per
  // partition per flush.
  virtual StatusOr<size_t> segment_count(const ColdPartition& partition) = 0;
  // Compaction: replaces every segment of the partition with one holding
  // `records` (sorted by row key, at most one per row id: the table layer
  // passes the partition's rows merged newest-wins, deletions left out).
  // Empty `records` leave the partition with no segment.
  //
  // Crash safety is the implementation's to keep, in this order: the new
  // segment is written durably and becomes the NEWEST, and only then are
  // the old ones removed, OLDEST FIRST. Every state in between reads the
  // same rows: the new segment repeats each live row and wins over the old
  // ones, and a deletion record in an old segment is removed only after
  // every older segment, so it never leaves behind a row it hid. Readers
  // opened before the call read what they opened.
  //
  // The caller must not write the partition between reading the segments
  // it merged and this call (the table layer holds its flush lock).
  virtual Status replace_segments(const ColdPartition& partition,
                                  Span<const ColdRecord> records) = 0;
  // The users of a user table that have segments, in any order
  // (`table.user` is ignored).
  virtual StatusOr<std::vector<std::string>> users(
      const ColdPartition& table) = 0;
  // Removes every segment of the table (`table.user` is ignored). Called
  // after the table was dropped from the catalog.
  virtual Status drop_table(const ColdPartition& table) = 0;
  // Every segment of every table, sorted by partition (namespace, table,
  // table id, user) and, within one, OLDEST FIRST: what the cold tier
  // holds, for copying and checking it (kalam/tables/cold_tier.h). A
  // damaged segment is listed with `damage` set; the call fails only when
  // the store cannot be listed. Reads no record. The default returns
  // NOT_SUPPORTED (a custom store then cannot be copied or checked).
  virtual StatusOr<std::vector<ColdSegmentInfo>> list_segments();
  // A reader over one segment list_segments() returned, after checking it
  // is whole (the JSON Lines store: its checksum) and belongs to
  // `segment.partition`; CORRUPTION naming the segment otherwise. The
  // default returns NOT_SUPPORTED.
  virtual StatusOr<std::unique_ptr<ColdSegmentReader>> open_segment(
      const ColdSegmentInfo& segment);
  // Whether the store holds no segment at all.
  virtual StatusOr<bool> empty() = 0;
  // Removes every segment of every table: the table layer calls it when it
  // finds a fresh catalog beside old segments of a non-persistent backend.
  virtual Status clear() = 0;
};

// Segments as JSON Lines files that any JSON tool reads:
//
//   <root>/<ns>/<table>-<table_id>/users/<user>/<seq>.jsonl   (user tables)
//   <root>/<ns>/<table>-<table_id>/shared/<seq>.jsonl         (shared tables)
//
// <seq> is a 20-digit sequence number (newer is larger); <user> is the user
// id with every byte outside [A-Za-z0-9_-] written as %HH (long ids are
// shortened and get a hash suffix; the header names the exact user). Line
// 1 of a segment is a header, then one line per record:
//
//   {"format":"kalam.segment","version":2,"namespace":"app","table":"notes",
//    "table_id":3,"user_base64":"YWxpY2U=","user":"alice","seq":1,
//    "created_at":1764115200000,"records":2,"crc32":1234567890}
//   {"id":"0000018f...","row":{"title":"hi"}}
//   {"id":"0000018f...","deleted":true}
//
// A segment is written to a temporary file, fsync'ed, renamed into place,
// and its directory fsync'ed: readers never see a partial one, and
// temporary files left by a crash are ignored. Compaction writes its
// segment the same way, under the next sequence number, then unlinks the
// old files in ascending order; a reader that opened a file keeps reading
// it after the unlink. "crc32" (version 2; version 1 segments have none and
// are still read) is the CRC-32 of every byte after the header line; a
// segment is checked against it when opened, before any record is handed
// out. A segment whose checksum or record count does not match its header,
// that does not parse, or whose header names another table or user than
// its place in the tree reads as CORRUPTION naming the file (and line):
// never as another partition's rows.
std::shared_ptr<ColdStore> json_lines_cold_store(std::filesystem::path root);

}  // namespace kalam::tables
