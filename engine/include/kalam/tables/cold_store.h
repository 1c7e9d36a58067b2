// Cold storage: where a flush moves the rows of user and shared tables.
//
// A flush writes one immutable SEGMENT per partition (one user of a user
// table, or the whole of a shared table) holding the partition's flushed rows
// and deletions in row-id order. Segments of a partition are numbered; a
// newer segment's records win over an older one's, and rows still in the
// hot store win over every segment (see Tables / UserTableStore: hybrid
// reads). Nothing rewrites or removes a segment except dropping its table.
//
// ColdStore is the interface the table layer writes and reads through;
// json_lines_cold_store() is the implementation it uses by default. A
// custom store (object storage, a columnar format) implements the same
// seven calls. Implementations must be thread-safe.
#pragma once

#include <kalam/status.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
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
  friend bool operator==(const ColdRecord&, const ColdRecord&) = default;
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
                               std::span<const ColdRecord> records) = 0;
  // Readers over every segment of the partition, NEWEST FIRST (empty when
  // it has none). A segment written later is not seen by these readers.
  virtual StatusOr<std::vector<std::unique_ptr<ColdSegmentReader>>>
  open_segments(const ColdPartition& partition) = 0;
  // Whether the partition may have segments: true when it has one (a false
  // positive only makes the table layer record a deletion it did not need
  // to). Called on every row delete, so it should be cheap.
  virtual StatusOr<bool> has_segments(const ColdPartition& partition) = 0;
  // The users of a user table that have segments, in any order
  // (`table.user` is ignored).
  virtual StatusOr<std::vector<std::string>> users(
      const ColdPartition& table) = 0;
  // Removes every segment of the table (`table.user` is ignored). Called
  // after the table was dropped from the catalog.
  virtual Status drop_table(const ColdPartition& table) = 0;
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
//   {"format":"kalam.segment","version":1,"namespace":"app","table":"notes",
//    "table_id":3,"user_base64":"YWxpY2U=","user":"alice","seq":1,
//    "created_at":1764115200000,"records":2}
//   {"id":"0000018f...","row":{"title":"hi"}}
//   {"id":"0000018f...","deleted":true}
//
// A segment is written to a temporary file, fsync'ed, renamed into place,
// and its directory fsync'ed: readers never see a partial one, and
// temporary files left by a crash are ignored. A segment whose records do
// not match its header's count, or that does not parse, reads as
// CORRUPTION naming the file and line.
std::shared_ptr<ColdStore> json_lines_cold_store(std::filesystem::path root);

}  // namespace kalam::tables
