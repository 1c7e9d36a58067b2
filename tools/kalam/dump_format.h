// The kalam dump format (docs/dump-format.md): one file, a header, the
// column families one after another with their entries in key order, the
// cold tier's segments (version 2), and a trailer; CRC-32 per family, per
// segment and over the whole file. Written and read as a stream: neither
// side holds more than one entry or record in memory.
//
//   header   "KALAMDMP" u32:version=2 u32:meta_len meta(JSON) u32:header_crc
//   family   'F' u32:name_len name
//   entry    'E' u32:key_len key u64:value_len value
//   end      'C' u64:entry_count u32:family_crc
//   segment  'S' u32:meta_len meta(JSON: the partition)          (version 2)
//   record   'R' u8:kind(1 row, 0 deletion) u32:id_len id
//                [u64:row_len row(JSON)]                          (version 2)
//   seg end  'K' u64:record_count u32:segment_crc                 (version 2)
//   trailer  'Z' u64:family_count u64:entry_count
//                [u64:segment_count u64:record_count]  (version 2) u32:file_crc
//
// Integers are little-endian. family_crc is the EntryDigest (digest.h) of
// the family's entries; segment_crc the digest of kalam/tables/cold_tier.h
// (cold_segment_start_crc32, then cold_records_crc32 per record); file_crc
// the CRC-32 of every byte before it. Version 1 files (no segments) are
// still read.
#pragma once

#include <kalam/tables/cold_store.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "digest.h"

namespace kalam::cli {

inline constexpr char kDumpMagic[] = "KALAMDMP";  // 8 bytes, no NUL
// What this kalam writes; it reads kOldestDumpVersion to kDumpVersion.
inline constexpr uint32_t kDumpVersion = 2;
inline constexpr uint32_t kOldestDumpVersion = 1;

// Writes a dump to a FILE it does not own. Every method throws CliError on
// a write error or misuse.
class DumpWriter {
 public:
  // `name` names the destination in messages.
  DumpWriter(std::FILE* file, std::string name);

  // REQUIRES: called once, first. `meta` is a JSON object.
  void write_header(const nlohmann::json& meta);
  // REQUIRES: no family is open.
  void begin_family(std::string_view name);
  // REQUIRES: a family is open; keys strictly increasing within it.
  void add(std::string_view key, std::string_view value);
  // Closes the open family; returns its digest.
  EntryDigest end_family();
  // One cold segment of `partition`. REQUIRES: no family or segment open.
  void begin_segment(const tables::ColdPartition& partition);
  // REQUIRES: a segment is open; records in the segment's order.
  void add_record(const tables::ColdRecord& record);
  // Closes the open segment; returns its record count.
  uint64_t end_segment();
  // Writes the trailer and flushes. REQUIRES: no family is open.
  void finish();

  uint64_t families() const { return families_; }
  uint64_t entries() const { return entries_; }
  uint64_t segments() const { return segments_; }
  uint64_t records() const { return records_; }
  uint64_t bytes_written() const { return bytes_; }
  // The file CRC in the trailer (after finish()).
  uint32_t file_crc() const { return file_crc_; }

 private:
  void put(std::string_view bytes);

  std::FILE* file_;
  std::string name_;
  bool in_family_ = false;
  bool in_segment_ = false;
  EntryDigest family_;
  uint32_t segment_crc_ = 0;
  uint64_t segment_records_ = 0;
  std::string scratch_;
  uint32_t crc_ = 0;
  uint32_t file_crc_ = 0;
  uint64_t bytes_ = 0;
  uint64_t families_ = 0;
  uint64_t entries_ = 0;
  uint64_t segments_ = 0;
  uint64_t records_ = 0;
};

// One step of reading a dump.
struct DumpRecord {
  enum class Kind {
    kFamily,
    kEntry,
    kFamilyEnd,
    kSegment,     // a cold segment starts: `partition`
    kRecord,      // one of its records: `record`
    kSegmentEnd,  // it ends, its count and CRC checked: `segment_records`
    kEnd
  };
  Kind kind = Kind::kEnd;
  // kFamily, kEntry, kFamilyEnd: the family.
  std::string family;
  // kEntry.
  std::string key;
  std::string value;
  // kFamilyEnd: the family's digest, already checked against the file.
  EntryDigest digest;
  // kSegment, kRecord, kSegmentEnd: the segment's partition.
  tables::ColdPartition partition;
  // kRecord.
  tables::ColdRecord record;
  // kSegmentEnd: the segment's record count and digest (checked).
  uint64_t segment_records = 0;
  uint32_t segment_crc = 0;
};

// Reads and verifies a dump from a FILE it does not own. Every check the
// format allows is made as the bytes go by: structure, lengths, key order,
// unique family names, each family's count and CRC when it ends, and the
// file's counts and CRC at the trailer, followed by end of file. A failed
// check throws CliError naming the file, the byte offset and the problem.
class DumpReader {
 public:
  DumpReader(std::FILE* file, std::string name);

  // REQUIRES: called once, first. Returns the header's metadata object.
  nlohmann::json read_header();
  // The next record. After kEnd the whole file has been verified; calling
  // again is a misuse.
  const DumpRecord& next();

  uint64_t offset() const { return offset_; }
  uint64_t families() const { return families_; }
  uint64_t entries() const { return entries_; }
  uint64_t segments() const { return segments_; }
  uint64_t records() const { return records_; }
  // The file's format version (after read_header()).
  uint32_t version() const { return version_; }

 private:
  [[noreturn]] void corrupt(const std::string& what) const;
  // Reads exactly `n` bytes into `out` (replacing it), in pieces so that a
  // corrupt length meets end of file before a huge allocation.
  void read_exact(std::string* out, uint64_t n, const char* what);
  uint8_t read_u8(const char* what);
  // A segment header's partition; corrupt() when it is not one.
  tables::ColdPartition parse_partition(const std::string& text);
  uint32_t read_u32(const char* what);
  uint64_t read_u64(const char* what);

  std::FILE* file_;
  std::string name_;
  uint64_t offset_ = 0;
  uint32_t crc_ = 0;
  bool in_family_ = false;
  bool ended_ = false;
  EntryDigest family_digest_;
  bool has_previous_key_ = false;
  std::string previous_key_;
  std::set<std::string> seen_families_;
  uint64_t families_ = 0;
  uint64_t entries_ = 0;
  uint32_t version_ = 0;
  bool in_segment_ = false;
  uint32_t segment_crc_ = 0;
  uint64_t segment_records_ = 0;
  uint64_t segments_ = 0;
  uint64_t records_ = 0;
  DumpRecord record_;
  std::string scratch_;
};

}  // namespace kalam::cli
