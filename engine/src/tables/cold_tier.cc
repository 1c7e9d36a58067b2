// Reading, checking and copying a whole cold tier (see cold_tier.h).
#include <kalam/tables/catalog.h>
#include <kalam/tables/cold_tier.h>

#include <array>
#include <cstdio>
#include <map>
#include <optional>
#include <tuple>

#include "key_codec.h"

namespace kalam::tables {

namespace {

// CRC-32 (the zlib one) that resumes from an earlier result: feed(feed(0,
// a), b) == feed(0, a + b). (boost::crc_32_type does not resume from a
// checksum.)
uint32_t feed(uint32_t crc, std::string_view bytes) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (unsigned char b : bytes) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t feed_le(uint32_t crc, uint64_t value, int bytes) {
  char out[8];
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>(value >> (8 * i));
  return feed(crc, std::string_view(out, static_cast<size_t>(bytes)));
}

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

std::string describe(const ColdPartition& p) {
  std::string out =
      p.ns + "." + p.table + " (table id " + std::to_string(p.table_id) + ")";
  if (p.user) out += " user '" + keys::printable(*p.user) + "'";
  return out;
}

bool same_partition(const ColdPartition& a, const ColdPartition& b) {
  return std::tie(a.ns, a.table, a.table_id, a.user) ==
         std::tie(b.ns, b.table, b.table_id, b.user);
}

keys::RowKeyKind key_kind(const TableInfo& info) {
  if (info.schema.primary_key.empty()) return keys::RowKeyKind::kGenerated;
  const Column* pk = info.schema.find(info.schema.primary_key);
  return pk != nullptr && pk->type == ColumnType::kInt64
             ? keys::RowKeyKind::kInt64
             : keys::RowKeyKind::kString;
}

// The tables of `catalog` by id.
StatusOr<std::map<uint64_t, TableInfo>> tables_by_id(Catalog& catalog) {
  std::map<uint64_t, TableInfo> out;
  KALAM_ASSIGN_OR_RETURN(std::vector<NamespaceInfo> namespaces,
                         catalog.list_namespaces());
  for (const NamespaceInfo& ns : namespaces) {
    KALAM_ASSIGN_OR_RETURN(std::vector<TableInfo> tables,
                           catalog.list_tables(ns.name));
    for (TableInfo& info : tables) out.emplace(info.id, std::move(info));
  }
  return out;
}

struct Verified {
  ColdTierReport report;
  std::vector<ColdSegmentInfo> segments;  // the undamaged ones
};

// Reads one segment in full; returns its records' digest contribution, or
// the damage found. `table` (when known) checks ids and their order.
Status read_segment(ColdStore& store, const ColdSegmentInfo& segment,
                    const TableInfo* table, ColdPartitionDigest* digest,
                    std::vector<ColdRecord>* records) {
  KALAM_ASSIGN_OR_RETURN(std::unique_ptr<ColdSegmentReader> reader,
                         store.open_segment(segment));
  const std::optional<keys::RowKeyKind> kind =
      table ? std::optional(key_kind(*table)) : std::nullopt;
  std::string previous_key;
  std::string previous_id;
  bool first = true;
  ColdRecord record;
  uint64_t rows = 0, deletions = 0;
  digest->crc32 = cold_segment_start_crc32(digest->crc32);
  while (reader->next(record)) {
    if (kind) {
      auto key = keys::row_key_from_id(*kind, record.row_id);
      if (!key.ok()) {
        return Status::Corruption(
            "cold segment " + segment.location + " holds row id '" +
            keys::printable(record.row_id) + "', which is not an id of table " +
            segment.partition.ns + "." + segment.partition.table + ": " +
            key.status().message());
      }
      if (!first && *key <= previous_key) {
        return Status::Corruption(
            "cold segment " + segment.location +
            " is not in row-id order (row '" + keys::printable(record.row_id) +
            "' follows '" + keys::printable(previous_id) + "')");
      }
      previous_key = std::move(*key);
      previous_id = record.row_id;
      first = false;
    }
    digest->crc32 = cold_records_crc32(digest->crc32, record);
    (record.row ? rows : deletions) += 1;
    if (records != nullptr) records->push_back(std::move(record));
  }
  KALAM_RETURN_IF_ERROR(reader->status());
  digest->rows += rows;
  digest->deletions += deletions;
  ++digest->segments;
  return Status::OK();
}

StatusOr<Verified> verify(ColdStore& store, Catalog* catalog) {
  std::map<uint64_t, TableInfo> tables;
  if (catalog != nullptr) {
    KALAM_ASSIGN_OR_RETURN(tables, tables_by_id(*catalog));
  }
  KALAM_ASSIGN_OR_RETURN(std::vector<ColdSegmentInfo> listed,
                         store.list_segments());
  Verified out;
  ColdTierReport& report = out.report;
  for (ColdSegmentInfo& segment : listed) {
    ++report.segments;
    if (!segment.damage.ok()) {
      report.damage.push_back(segment.damage);
      continue;
    }
    const TableInfo* table = nullptr;
    if (catalog != nullptr) {
      auto it = tables.find(segment.partition.table_id);
      if (it == tables.end()) {
        ++report.orphan_segments;
      } else {
        table = &it->second;
        const bool user_table = table->kind == TableKind::kUser;
        if (table->ns != segment.partition.ns ||
            table->name != segment.partition.table ||
            table->kind == TableKind::kStream ||
            user_table != segment.partition.user.has_value()) {
          report.damage.push_back(Status::Corruption(
              "cold segment " + segment.location + " claims " +
              describe(segment.partition) + ", but table id " +
              std::to_string(table->id) + " is " + table->qualified_name() +
              ", a " + std::string(table_kind_name(table->kind)) + " table"));
          continue;
        }
      }
    }
    if (report.partitions.empty() ||
        !same_partition(report.partitions.back().partition,
                        segment.partition)) {
      report.partitions.push_back({.partition = segment.partition});
    }
    ColdPartitionDigest scratch = report.partitions.back();
    Status s = read_segment(store, segment, table, &scratch, nullptr);
    if (!s.ok()) {
      if (s.code() != Code::kCorruption) return s;
      report.damage.push_back(std::move(s));
      if (report.partitions.back().segments == 0) report.partitions.pop_back();
      continue;
    }
    report.records +=
        (scratch.rows + scratch.deletions) -
        (report.partitions.back().rows + report.partitions.back().deletions);
    report.partitions.back() = std::move(scratch);
    out.segments.push_back(std::move(segment));
  }
  return out;
}

}  // namespace

uint32_t cold_segment_start_crc32(uint32_t crc) { return feed_le(crc, 2, 1); }

uint32_t cold_records_crc32(uint32_t crc, const ColdRecord& record) {
  crc = feed_le(crc, record.row ? 1 : 0, 1);
  crc = feed_le(crc, record.row_id.size(), 4);
  crc = feed(crc, record.row_id);
  if (record.row) {
    const std::string text = record.row->dump();
    crc = feed_le(crc, text.size(), 8);
    crc = feed(crc, text);
  }
  return crc;
}

std::string ColdPartitionDigest::to_string() const {
  return std::to_string(segments) +
         (segments == 1 ? " segment, " : " segments, ") + std::to_string(rows) +
         (rows == 1 ? " row, " : " rows, ") + std::to_string(deletions) +
         (deletions == 1 ? " deletion" : " deletions") + ", crc32 " +
         hex32(crc32);
}

std::string ColdTierReport::to_string() const {
  std::string out =
      std::to_string(segments) + (segments == 1 ? " segment" : " segments") +
      " in " + std::to_string(partitions.size()) +
      (partitions.size() == 1 ? " partition, " : " partitions, ") +
      std::to_string(records) + (records == 1 ? " record" : " records");
  if (orphan_segments > 0) {
    out += ", " + std::to_string(orphan_segments) +
           " of tables that no longer exist";
  }
  if (!damage.empty()) {
    out += ", " + std::to_string(damage.size()) + " damaged";
  }
  return out;
}

StatusOr<ColdTierReport> verify_cold_tier(ColdStore& store, Catalog* catalog) {
  KALAM_ASSIGN_OR_RETURN(Verified verified, verify(store, catalog));
  return std::move(verified.report);
}

StatusOr<ColdTierReport> copy_cold_tier(ColdStore& from, ColdStore& to,
                                        Catalog* catalog) {
  KALAM_ASSIGN_OR_RETURN(bool empty, to.empty());
  if (!empty) {
    return Status::InvalidArgument(
        "copy the cold tier: the destination's cold storage already holds "
        "segments; copy into an empty one (nothing was written)");
  }
  KALAM_ASSIGN_OR_RETURN(Verified source, verify(from, catalog));
  if (!source.report.ok()) {
    std::string what =
        "copy the cold tier: " + std::to_string(source.report.damage.size()) +
        " damaged segment(s) in the source, nothing was "
        "written; the first: " +
        source.report.damage.front().message();
    return Status::Corruption(what);
  }
  uint64_t written = 0;
  auto stopped = [&written](const Status& s) {
    return s.with_context(
        "copy the cold tier (" + std::to_string(written) +
        " segment(s) written to the destination before this; remove them "
        "before copying again)");
  };
  for (const ColdSegmentInfo& segment : source.segments) {
    ColdPartitionDigest digest;
    std::vector<ColdRecord> records;
    Status s = read_segment(from, segment, nullptr, &digest, &records);
    if (s.ok()) s = to.write_segment(segment.partition, records);
    if (!s.ok()) return stopped(s);
    ++written;
  }
  auto copied = verify(to, catalog);
  if (!copied.ok()) return stopped(copied.status());
  const ColdTierReport& dest = copied->report;
  if (!dest.ok()) return stopped(dest.damage.front());
  if (dest.partitions != source.report.partitions) {
    std::string detail;
    for (size_t i = 0; i < source.report.partitions.size(); ++i) {
      const ColdPartitionDigest& a = source.report.partitions[i];
      if (i >= dest.partitions.size()) {
        detail = describe(a.partition) + " is missing from the destination";
        break;
      }
      if (a != dest.partitions[i]) {
        detail = describe(a.partition) + ": the source holds " + a.to_string() +
                 ", the destination " + describe(dest.partitions[i].partition) +
                 " " + dest.partitions[i].to_string();
        break;
      }
    }
    if (detail.empty()) detail = "the destination holds more partitions";
    return stopped(Status::Corruption("verification failed: " + detail));
  }
  return std::move(source.report);
}

}  // namespace kalam::tables
