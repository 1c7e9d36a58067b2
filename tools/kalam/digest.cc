#include "digest.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

namespace kalam::cli {

uint32_t crc32_update(uint32_t crc, std::string_view bytes) {
  uLong value = crc;
  const auto* data = reinterpret_cast<const Bytef*>(bytes.data());
  size_t left = bytes.size();
  while (left > 0) {
    // zlib takes a uInt length; feed big values in pieces.
    const uInt chunk = static_cast<uInt>(std::min<size_t>(left, UINT_MAX));
    value = ::crc32(value, data, chunk);
    data += chunk;
    left -= chunk;
  }
  return static_cast<uint32_t>(value);
}

std::string crc32_hex(uint32_t crc) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4)
    out += kDigits[(crc >> shift) & 15];
  return out;
}

void append_u32(std::string* out, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out->push_back(static_cast<char>(value >> (8 * i)));
}

void append_u64(std::string* out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out->push_back(static_cast<char>(value >> (8 * i)));
}

void EntryDigest::add(std::string_view key, std::string_view value) {
  std::string length;
  append_u32(&length, static_cast<uint32_t>(key.size()));
  crc_ = crc32_update(crc_, length);
  crc_ = crc32_update(crc_, key);
  length.clear();
  append_u64(&length, value.size());
  crc_ = crc32_update(crc_, length);
  crc_ = crc32_update(crc_, value);
  ++count_;
  bytes_ += key.size() + value.size();
}

std::string EntryDigest::to_string() const {
  return std::to_string(count_) + (count_ == 1 ? " entry" : " entries") +
         ", crc32 " + crc32_hex(crc_);
}

}  // namespace kalam::cli
