#include "dump_format.h"

#include <kalam/tables/cold_tier.h>
#include <kalam/tables/schema.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cli_error.h"
#include "encoding.h"

namespace kalam::cli {
namespace {

constexpr size_t kMagicSize = 8;
constexpr uint32_t kMaxMetaSize = 1 << 20;
constexpr uint32_t kMaxFamilyNameSize = 1 << 16;
constexpr uint64_t kReadPiece = 1 << 20;

constexpr char kFamilyTag = 'F';
constexpr char kEntryTag = 'E';
constexpr char kFamilyEndTag = 'C';
constexpr char kTrailerTag = 'Z';
constexpr char kSegmentTag = 'S';
constexpr char kRecordTag = 'R';
constexpr char kSegmentEndTag = 'K';
constexpr uint32_t kMaxSegmentMetaSize = 1 << 16;

uint64_t decode_le(const std::string& bytes) {
  uint64_t value = 0;
  for (size_t i = bytes.size(); i-- > 0;) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

std::string describe_tag(uint8_t tag) {
  if (tag >= 0x21 && tag < 0x7f) {
    return std::string("'") + static_cast<char>(tag) + "'";
  }
  return "0x" + to_hex(std::string(1, static_cast<char>(tag)));
}

}  // namespace

// --- DumpWriter --------------------------------------------------------------

DumpWriter::DumpWriter(std::FILE* file, std::string name)
    : file_(file), name_(std::move(name)) {}

void DumpWriter::put(std::string_view bytes) {
  if (bytes.empty()) return;
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    throw CliError::Failure("cannot write dump " + name_ + ": " +
                            std::strerror(errno));
  }
  crc_ = crc32_update(crc_, bytes);
  bytes_ += bytes.size();
}

void DumpWriter::write_header(const nlohmann::json& meta) {
  const std::string text = meta.dump();
  std::string header(kDumpMagic, kMagicSize);
  append_u32(&header, kDumpVersion);
  append_u32(&header, static_cast<uint32_t>(text.size()));
  header += text;
  const uint32_t header_crc = crc32_update(0, header);
  append_u32(&header, header_crc);
  put(header);
}

void DumpWriter::begin_family(std::string_view name) {
  if (in_family_) throw CliError::Failure("dump: family opened twice");
  scratch_.assign(1, kFamilyTag);
  append_u32(&scratch_, static_cast<uint32_t>(name.size()));
  scratch_ += name;
  put(scratch_);
  in_family_ = true;
  family_ = EntryDigest();
  ++families_;
}

void DumpWriter::add(std::string_view key, std::string_view value) {
  if (key.size() > UINT32_MAX) {
    throw CliError::Failure("cannot dump a key of " +
                            std::to_string(key.size()) +
                            " bytes: the dump format holds keys up to 4 GiB");
  }
  scratch_.assign(1, kEntryTag);
  append_u32(&scratch_, static_cast<uint32_t>(key.size()));
  put(scratch_);
  put(key);
  scratch_.clear();
  append_u64(&scratch_, value.size());
  put(scratch_);
  put(value);
  family_.add(key, value);
  ++entries_;
}

EntryDigest DumpWriter::end_family() {
  scratch_.assign(1, kFamilyEndTag);
  append_u64(&scratch_, family_.count());
  append_u32(&scratch_, family_.crc32());
  put(scratch_);
  in_family_ = false;
  return family_;
}

void DumpWriter::begin_segment(const tables::ColdPartition& partition) {
  if (in_family_ || in_segment_) {
    throw CliError::Failure("dump: segment opened inside a family or segment");
  }
  nlohmann::json meta = {{"namespace", partition.ns},
                         {"table", partition.table},
                         {"table_id", partition.table_id}};
  if (partition.user)
    meta["user_base64"] = tables::base64_encode(*partition.user);
  const std::string text = meta.dump();
  scratch_.assign(1, kSegmentTag);
  append_u32(&scratch_, static_cast<uint32_t>(text.size()));
  scratch_ += text;
  put(scratch_);
  in_segment_ = true;
  segment_crc_ = tables::cold_segment_start_crc32(0);
  segment_records_ = 0;
  ++segments_;
}

void DumpWriter::add_record(const tables::ColdRecord& record) {
  scratch_.assign(1, kRecordTag);
  scratch_.push_back(record.row ? 1 : 0);
  append_u32(&scratch_, static_cast<uint32_t>(record.row_id.size()));
  scratch_ += record.row_id;
  if (record.row) {
    const std::string text = record.row->dump();
    append_u64(&scratch_, text.size());
    scratch_ += text;
  }
  put(scratch_);
  segment_crc_ = tables::cold_records_crc32(segment_crc_, record);
  ++segment_records_;
  ++records_;
}

uint64_t DumpWriter::end_segment() {
  scratch_.assign(1, kSegmentEndTag);
  append_u64(&scratch_, segment_records_);
  append_u32(&scratch_, segment_crc_);
  put(scratch_);
  in_segment_ = false;
  return segment_records_;
}

void DumpWriter::finish() {
  scratch_.assign(1, kTrailerTag);
  append_u64(&scratch_, families_);
  append_u64(&scratch_, entries_);
  append_u64(&scratch_, segments_);
  append_u64(&scratch_, records_);
  put(scratch_);
  file_crc_ = crc_;  // of every byte before the field
  std::string crc;
  append_u32(&crc, file_crc_);
  put(crc);
  if (std::fflush(file_) != 0) {
    throw CliError::Failure("cannot write dump " + name_ + ": " +
                            std::strerror(errno));
  }
}

// --- DumpReader --------------------------------------------------------------

DumpReader::DumpReader(std::FILE* file, std::string name)
    : file_(file), name_(std::move(name)) {}

void DumpReader::corrupt(const std::string& what) const {
  throw CliError::Failure("dump " + name_ + " is damaged at byte " +
                          std::to_string(offset_) + ": " + what +
                          "; nothing from it can be trusted, make a new dump");
}

void DumpReader::read_exact(std::string* out, uint64_t n, const char* what) {
  out->clear();
  while (out->size() < n) {
    const size_t piece =
        static_cast<size_t>(std::min<uint64_t>(n - out->size(), kReadPiece));
    const size_t old = out->size();
    out->resize(old + piece);
    const size_t got = std::fread(out->data() + old, 1, piece, file_);
    offset_ += got;
    if (got != piece) {
      if (std::ferror(file_)) {
        throw CliError::Failure("cannot read dump " + name_ + ": " +
                                std::strerror(errno));
      }
      corrupt(std::string("the file ends inside ") + what +
              " (truncated copy?)");
    }
  }
  crc_ = crc32_update(crc_, *out);
}

tables::ColdPartition DumpReader::parse_partition(const std::string& text) {
  const nlohmann::json meta = nlohmann::json::parse(text, nullptr, false);
  auto string_at = [&meta](const char* key) -> const nlohmann::json* {
    auto it = meta.find(key);
    return it != meta.end() && it->is_string() ? &*it : nullptr;
  };
  if (meta.is_discarded() || !meta.is_object() || !string_at("namespace") ||
      !string_at("table") || !meta.contains("table_id") ||
      !meta["table_id"].is_number_unsigned()) {
    corrupt("a segment header is not {namespace, table, table_id}");
  }
  tables::ColdPartition partition{.ns = meta["namespace"].get<std::string>(),
                                  .table = meta["table"].get<std::string>(),
                                  .table_id = meta["table_id"].get<uint64_t>()};
  if (meta.contains("user_base64")) {
    const nlohmann::json* user = string_at("user_base64");
    auto decoded = user != nullptr
                       ? tables::base64_decode(user->get<std::string>())
                       : StatusOr<std::string>(Status::InvalidArgument(""));
    if (!decoded.ok() || decoded->empty()) {
      corrupt("a segment header's user_base64 is not a base64 user id");
    }
    partition.user = std::move(*decoded);
  }
  return partition;
}

uint8_t DumpReader::read_u8(const char* what) {
  read_exact(&scratch_, 1, what);
  return static_cast<uint8_t>(scratch_[0]);
}

uint32_t DumpReader::read_u32(const char* what) {
  read_exact(&scratch_, 4, what);
  return static_cast<uint32_t>(decode_le(scratch_));
}

uint64_t DumpReader::read_u64(const char* what) {
  read_exact(&scratch_, 8, what);
  return decode_le(scratch_);
}

nlohmann::json DumpReader::read_header() {
  std::string magic;
  read_exact(&magic, kMagicSize, "the header");
  if (magic != std::string_view(kDumpMagic, kMagicSize)) {
    offset_ = 0;
    throw CliError::Failure("'" + name_ +
                            "' is not a kalam dump (it does not start with "
                            "KALAMDMP); make one with 'kalam dump'");
  }
  const uint32_t version = read_u32("the header");
  if (version < kOldestDumpVersion || version > kDumpVersion) {
    throw CliError::Failure(
        "dump " + name_ + " has format version " + std::to_string(version) +
        "; this kalam reads versions " + std::to_string(kOldestDumpVersion) +
        " to " + std::to_string(kDumpVersion) +
        ": use the kalam that wrote it, or a newer one");
  }
  version_ = version;
  const uint32_t meta_size = read_u32("the header");
  if (meta_size > kMaxMetaSize) {
    corrupt("header metadata of " + std::to_string(meta_size) +
            " bytes is over the 1 MiB limit");
  }
  std::string meta_text;
  read_exact(&meta_text, meta_size, "the header metadata");
  const uint32_t computed = crc_;
  const uint32_t stored = read_u32("the header checksum");
  if (stored != computed) {
    corrupt("header checksum mismatch (stored " + crc32_hex(stored) +
            ", computed " + crc32_hex(computed) + ")");
  }
  nlohmann::json meta = nlohmann::json::parse(meta_text, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) {
    corrupt("the header metadata is not a JSON object");
  }
  return meta;
}

const DumpRecord& DumpReader::next() {
  if (ended_) throw CliError::Failure("dump " + name_ + ": read past the end");
  const uint64_t record_offset = offset_;
  const uint8_t tag = read_u8("a record tag");
  switch (tag) {
    case kFamilyTag: {
      if (in_segment_ || segments_ > 0) {
        offset_ = record_offset;
        corrupt(
            "a column family after the cold segments (families come "
            "first)");
      }
      if (in_family_) {
        offset_ = record_offset;
        corrupt("column family '" + record_.family +
                "' is not closed before the next one starts");
      }
      const uint32_t size = read_u32("a column family name");
      if (size == 0 || size > kMaxFamilyNameSize) {
        corrupt("column family name length " + std::to_string(size) +
                " is out of range (1 to 65536)");
      }
      read_exact(&record_.family, size, "a column family name");
      if (!seen_families_.insert(record_.family).second) {
        corrupt("column family '" + record_.family + "' appears twice");
      }
      record_.kind = DumpRecord::Kind::kFamily;
      in_family_ = true;
      family_digest_ = EntryDigest();
      has_previous_key_ = false;
      ++families_;
      return record_;
    }
    case kEntryTag: {
      if (!in_family_) {
        offset_ = record_offset;
        corrupt("an entry outside any column family");
      }
      const uint32_t key_size = read_u32("a key length");
      if (key_size == 0) corrupt("an empty key (keys are 1 or more bytes)");
      read_exact(&record_.key, key_size, "a key");
      const uint64_t value_size = read_u64("a value length");
      read_exact(&record_.value, value_size, "a value");
      if (has_previous_key_ && !(previous_key_ < record_.key)) {
        offset_ = record_offset;
        corrupt("key " + describe_bytes(record_.key) + " in column family '" +
                record_.family + "' does not come after the key before it " +
                describe_bytes(previous_key_));
      }
      previous_key_ = record_.key;
      has_previous_key_ = true;
      family_digest_.add(record_.key, record_.value);
      ++entries_;
      record_.kind = DumpRecord::Kind::kEntry;
      return record_;
    }
    case kFamilyEndTag: {
      if (!in_family_) {
        offset_ = record_offset;
        corrupt("a column family end without a start");
      }
      const uint64_t count = read_u64("a column family end");
      const uint32_t crc = read_u32("a column family end");
      if (count != family_digest_.count() || crc != family_digest_.crc32()) {
        offset_ = record_offset;
        corrupt("column family '" + record_.family + "' should hold " +
                std::to_string(count) + " entries with crc32 " +
                crc32_hex(crc) + " but the file holds " +
                family_digest_.to_string());
      }
      record_.kind = DumpRecord::Kind::kFamilyEnd;
      record_.digest = family_digest_;
      in_family_ = false;
      return record_;
    }
    case kSegmentTag: {
      if (version_ < 2) {
        offset_ = record_offset;
        corrupt("a cold segment in a version " + std::to_string(version_) +
                " dump");
      }
      if (in_family_ || in_segment_) {
        offset_ = record_offset;
        corrupt("a cold segment starts inside a column family or segment");
      }
      const uint32_t size = read_u32("a segment header");
      if (size == 0 || size > kMaxSegmentMetaSize) {
        corrupt("segment header length " + std::to_string(size) +
                " is out of range (1 to 65536)");
      }
      std::string text;
      read_exact(&text, size, "a segment header");
      record_.partition = parse_partition(text);
      record_.kind = DumpRecord::Kind::kSegment;
      in_segment_ = true;
      segment_crc_ = tables::cold_segment_start_crc32(0);
      segment_records_ = 0;
      has_previous_key_ = false;
      ++segments_;
      return record_;
    }
    case kRecordTag: {
      if (!in_segment_) {
        offset_ = record_offset;
        corrupt("a cold record outside any segment");
      }
      const uint8_t kind = read_u8("a cold record");
      if (kind > 1) corrupt("cold record kind " + std::to_string(kind));
      const uint32_t id_size = read_u32("a row id length");
      if (id_size == 0) corrupt("an empty row id");
      read_exact(&record_.record.row_id, id_size, "a row id");
      if (kind == 1) {
        const uint64_t row_size = read_u64("a row length");
        read_exact(&scratch_, row_size, "a row");
        nlohmann::json row = nlohmann::json::parse(scratch_, nullptr, false);
        if (row.is_discarded() || !row.is_object()) {
          corrupt("cold row '" + describe_bytes(record_.record.row_id) +
                  "' is not a JSON object");
        }
        record_.record.row = std::move(row);
      } else {
        record_.record.row.reset();
      }
      segment_crc_ = tables::cold_records_crc32(segment_crc_, record_.record);
      ++segment_records_;
      ++records_;
      record_.kind = DumpRecord::Kind::kRecord;
      return record_;
    }
    case kSegmentEndTag: {
      if (!in_segment_) {
        offset_ = record_offset;
        corrupt("a segment end without a start");
      }
      const uint64_t count = read_u64("a segment end");
      const uint32_t crc = read_u32("a segment end");
      if (count != segment_records_ || crc != segment_crc_) {
        offset_ = record_offset;
        corrupt("a cold segment of " + record_.partition.ns + "." +
                record_.partition.table + " should hold " +
                std::to_string(count) + " records with crc32 " +
                crc32_hex(crc) + " but the file holds " +
                std::to_string(segment_records_) + " with crc32 " +
                crc32_hex(segment_crc_));
      }
      record_.kind = DumpRecord::Kind::kSegmentEnd;
      record_.segment_records = count;
      record_.segment_crc = crc;
      in_segment_ = false;
      return record_;
    }
    case kTrailerTag: {
      if (in_family_) {
        offset_ = record_offset;
        corrupt("the file ends inside column family '" + record_.family + "'");
      }
      if (in_segment_) {
        offset_ = record_offset;
        corrupt("the file ends inside a cold segment");
      }
      const uint64_t families = read_u64("the trailer");
      const uint64_t entries = read_u64("the trailer");
      const uint64_t segments = version_ >= 2 ? read_u64("the trailer") : 0;
      const uint64_t records = version_ >= 2 ? read_u64("the trailer") : 0;
      const uint32_t computed = crc_;
      const uint32_t stored = read_u32("the trailer");
      if (families != families_ || entries != entries_) {
        corrupt("the trailer counts " + std::to_string(families) +
                " families and " + std::to_string(entries) +
                " entries, the file holds " + std::to_string(families_) +
                " and " + std::to_string(entries_));
      }
      if (segments != segments_ || records != records_) {
        corrupt("the trailer counts " + std::to_string(segments) +
                " cold segments and " + std::to_string(records) +
                " records, the file holds " + std::to_string(segments_) +
                " and " + std::to_string(records_));
      }
      if (stored != computed) {
        corrupt("file checksum mismatch (stored " + crc32_hex(stored) +
                ", computed " + crc32_hex(computed) + ")");
      }
      if (std::fgetc(file_) != EOF) {
        corrupt("bytes follow the trailer");
      }
      record_.kind = DumpRecord::Kind::kEnd;
      ended_ = true;
      return record_;
    }
    default:
      offset_ = record_offset;
      corrupt("unknown record tag " + describe_tag(tag));
  }
}

}  // namespace kalam::cli
