// The cold tier as part of "the database": reading, checking and copying
// every cold segment, for the whole-database operations (migrate, dump,
// load, check, checkpoint) that must carry it beside the backend store.
//
// A database that has tables is three things: the backend store (whatever
// the plugin keeps), what the engine keeps beside it in the data directory
// (the manifest, the counters), and the cold tier: the segments flushes
// wrote into the ColdStore (by default <data dir>/cold, or the config's
// tables.cold_path). A copy of the store alone loses every flushed row.
//
//   KALAM_ASSIGN_OR_RETURN(ColdTierReport report,
//                          verify_cold_tier(tables->cold_store(),
//                                           &tables->catalog()));
//   if (!report.ok()) ... report.damage names each damaged segment ...
//
//   // Copy to another store (its own database's), verified segment by
//   // segment: same partitions, same records, same order.
//   KALAM_ASSIGN_OR_RETURN(ColdTierReport copied,
//                          copy_cold_tier(from_store, to_store, &catalog));
#pragma once

#include <kalam/status.h>
#include <kalam/tables/cold_store.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kalam::tables {

class Catalog;

// What one partition (one user of a user table, or a shared table) holds in
// the cold tier: enough to tell that two cold tiers hold the same records in
// the same segments and order, whatever their files look like.
struct ColdPartitionDigest {
  ColdPartition partition;
  uint64_t segments = 0;
  uint64_t rows = 0;       // row records, over all its segments
  uint64_t deletions = 0;  // deletion records
  // CRC-32 of its records, segment by segment oldest first, each record fed
  // as: u8 1 (row) or 0 (deletion), u32 id length, id, and for a row u64
  // length and the row as compact JSON text (object keys sorted). Integers
  // little-endian. A boundary between segments feeds u8 2.
  uint32_t crc32 = 0;

  // "3 segments, 41 rows, 2 deletions, crc32 0x1234abcd".
  std::string to_string() const;
  friend bool operator==(const ColdPartitionDigest& a,
                         const ColdPartitionDigest& b) {
    return a.partition.ns == b.partition.ns &&
           a.partition.table == b.partition.table &&
           a.partition.table_id == b.partition.table_id &&
           a.partition.user == b.partition.user && a.segments == b.segments &&
           a.rows == b.rows && a.deletions == b.deletions && a.crc32 == b.crc32;
  }
  friend bool operator!=(const ColdPartitionDigest& a,
                         const ColdPartitionDigest& b) {
    return !(a == b);
  }
};

struct ColdTierReport {
  // Every partition that has a segment without damage, sorted by
  // (namespace, table, table id, user).
  std::vector<ColdPartitionDigest> partitions;
  // One CORRUPTION per damaged segment, naming it (its file) and the
  // problem: the header, the checksum, a record that does not parse, the
  // record count, ids out of order or not ids of the table, a segment in
  // another user's or table's place.
  std::vector<Status> damage;
  uint64_t segments = 0;  // every segment, damaged ones included
  uint64_t records = 0;   // records of undamaged segments
  // Segments under a table id the catalog does not know (with a catalog):
  // left by a flush racing a drop. Never read; copied like the others.
  uint64_t orphan_segments = 0;

  bool ok() const { return damage.empty(); }
  // "4 segments in 3 partitions, 120 records" (+ damage and orphans).
  std::string to_string() const;
};

// Reads every segment of `store` in full and checks it: the header, the
// checksum (ColdStore::open_segment), every record, the record count, and
// that the segment is the partition's its place says. With `catalog`, also
// that each record's id is an id of its table and ids increase strictly
// within a segment (the order reads merge in), and that user segments
// belong to user tables and shared ones to shared tables. Damage goes into
// the report; the call fails only when the store cannot be listed or read
// (IO_ERROR, NOT_SUPPORTED for a store without list_segments()).
// REQUIRES: no flush runs on the store meanwhile (a compaction may remove
// a listed segment: IO_ERROR).
StatusOr<ColdTierReport> verify_cold_tier(ColdStore& store,
                                          Catalog* catalog = nullptr);

// Copies every segment of `from` into `to`, partition by partition, oldest
// first (so in `to`, too, a newer segment wins over an older one), then
// verifies `to` against `from` partition by partition (ColdPartitionDigest:
// segment count, record counts, CRC of the records in order). Returns the
// report of `from`.
// - `to` must hold no segment (INVALID_ARGUMENT, nothing written).
// - `from` is verified in full first (verify_cold_tier with `catalog`):
//   damage is CORRUPTION listing the damaged segments, nothing written.
// - A failure after writing began says so; the segments written stay in
//   `to` (remove them, e.g. ColdStore::clear(), before trying again).
// Each segment is held in memory while it is copied.
// REQUIRES: no flush runs on either store meanwhile.
StatusOr<ColdTierReport> copy_cold_tier(ColdStore& from, ColdStore& to,
                                        Catalog* catalog = nullptr);

// ColdPartitionDigest::crc32 step by step, for tools that carry segments in
// other forms (e.g. dumps): `crc` is the digest so far (0 to start); call
// cold_segment_start_crc32 before each segment's records, then
// cold_records_crc32 for each record.
uint32_t cold_segment_start_crc32(uint32_t crc);
uint32_t cold_records_crc32(uint32_t crc, const ColdRecord& record);

}  // namespace kalam::tables
