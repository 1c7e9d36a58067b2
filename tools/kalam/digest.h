// The checksum kalam uses to compare column families across backends and to
// protect dumps: CRC-32 (zlib's, ISO-HDLC) over every entry in key order,
// each fed as
//   u32 little-endian key length, key bytes,
//   u64 little-endian value length, value bytes
// (docs/dump-format.md). Equal digests mean equal counts and, up to CRC-32's
// odds, equal entries in equal order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kalam::cli {

// CRC-32 of `bytes` continued from `crc` (start with 0).
uint32_t crc32_update(uint32_t crc, std::string_view bytes);

// "0x" and eight lower-case hex digits.
std::string crc32_hex(uint32_t crc);

class EntryDigest {
 public:
  void add(std::string_view key, std::string_view value);
  uint64_t count() const { return count_; }
  // Bytes of keys and values added.
  uint64_t bytes() const { return bytes_; }
  uint32_t crc32() const { return crc_; }
  bool operator==(const EntryDigest& other) const {
    return count_ == other.count_ && crc_ == other.crc_;
  }
  // "<count> entries, crc32 0x...".
  std::string to_string() const;

 private:
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
  uint32_t crc_ = 0;
};

// Little-endian encodings shared with the dump format.
void append_u32(std::string* out, uint32_t value);
void append_u64(std::string* out, uint64_t value);

}  // namespace kalam::cli
