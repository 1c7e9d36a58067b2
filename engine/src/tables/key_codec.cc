// Order-preserving, prefix-free encoding of table-data keys.
#include "key_codec.h"

#include <charconv>
#include <chrono>
#include <mutex>
#include <random>

namespace kalam::tables::keys {

namespace {

constexpr char kEscape = '\x00';
constexpr char kEscapedZero = '\xFF';
constexpr char kTerminator = '\x01';

uint8_t byte_at(std::string_view s, size_t i) {
  return static_cast<uint8_t>(s[i]);
}

constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void append_escaped(std::string& out, std::string_view bytes) {
  for (char c : bytes) {
    out.push_back(c);
    if (c == kEscape) out.push_back(kEscapedZero);
  }
  out.push_back(kEscape);
  out.push_back(kTerminator);
}

bool consume_escaped(std::string_view& in, std::string& out) {
  std::string decoded;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != kEscape) {
      decoded.push_back(in[i]);
      continue;
    }
    if (i + 1 >= in.size()) return false;
    if (in[i + 1] == kEscapedZero) {
      decoded.push_back(kEscape);
      ++i;
    } else if (in[i + 1] == kTerminator) {
      in.remove_prefix(i + 2);
      out = std::move(decoded);
      return true;
    } else {
      return false;
    }
  }
  return false;
}

std::optional<std::string_view> consume_escaped_view(std::string_view& in,
                                                     std::string& buffer) {
  const size_t nul = in.find(kEscape);
  if (nul == std::string_view::npos || nul + 1 >= in.size()) {
    return std::nullopt;
  }
  if (in[nul + 1] == kTerminator) {
    const std::string_view decoded = in.substr(0, nul);
    in.remove_prefix(nul + 2);
    return decoded;
  }
  std::string_view rest = in;
  buffer.clear();
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != kEscape) {
      buffer.push_back(rest[i]);
      continue;
    }
    if (i + 1 >= rest.size()) return std::nullopt;
    if (rest[i + 1] == kEscapedZero) {
      buffer.push_back(kEscape);
      ++i;
    } else if (rest[i + 1] == kTerminator) {
      in.remove_prefix(i + 2);
      return std::string_view(buffer);
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

void append_u64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

bool consume_u64(std::string_view& in, uint64_t& value) {
  if (in.size() < 8) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | byte_at(in, i);
  value = v;
  in.remove_prefix(8);
  return true;
}

void append_i64(std::string& out, int64_t value) {
  append_u64(out, static_cast<uint64_t>(value) ^ (uint64_t{1} << 63));
}

bool consume_i64(std::string_view& in, int64_t& value) {
  uint64_t raw = 0;
  if (!consume_u64(in, raw)) return false;
  value = static_cast<int64_t>(raw ^ (uint64_t{1} << 63));
  return true;
}

std::optional<std::string> prefix_successor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(s.back());
    if (last != 0xFF) {
      ++last;
      return s;
    }
    s.pop_back();
  }
  return std::nullopt;
}

std::string table_prefix(uint64_t table_id) {
  std::string out;
  append_u64(out, table_id);
  return out;
}

std::string table_end(uint64_t table_id) { return table_prefix(table_id + 1); }

std::string user_prefix(uint64_t table_id, std::string_view user_id) {
  std::string out = table_prefix(table_id);
  append_escaped(out, user_id);
  return out;
}

std::string new_generated_row_key() {
  // One lock: ids come out strictly increasing in call order, which a
  // lock-free pair of atomics would not guarantee across threads.
  static std::mutex mu;
  static uint64_t last_ms = 0;
  static uint64_t counter = [] {
    std::random_device rd;
    const uint64_t r = (uint64_t{rd()} << 32) ^ rd();
    return r & ((uint64_t{1} << 62) - 1);
  }();
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  uint64_t ms, seq;
  {
    std::lock_guard lock(mu);
    last_ms = std::max(last_ms, static_cast<uint64_t>(std::max<int64_t>(
                                    static_cast<int64_t>(now), 0)));
    ms = last_ms;
    seq = ++counter;
  }
  std::string out;
  out.reserve(kGeneratedRowIdSize);
  append_u64(out, ms);
  append_u64(out, seq);
  return out;
}

std::string int64_row_key(int64_t value) {
  std::string out;
  append_i64(out, value);
  return out;
}

std::string string_row_key(std::string_view value) {
  std::string out;
  append_escaped(out, value);
  return out;
}

StatusOr<std::string> row_key_from_id(RowKeyKind kind, std::string_view id) {
  switch (kind) {
    case RowKeyKind::kGenerated: {
      if (id.size() != 2 * kGeneratedRowIdSize) {
        return Status::InvalidArgument(
            "row id '" + printable(id) +
            "' is not a generated row id (32 hex digits)");
      }
      std::string key;
      for (size_t i = 0; i < id.size(); i += 2) {
        const int hi = hex_value(id[i]), lo = hex_value(id[i + 1]);
        if (hi < 0 || lo < 0) {
          return Status::InvalidArgument(
              "row id '" + printable(id) +
              "' is not a generated row id (32 hex digits)");
        }
        key.push_back(static_cast<char>(hi * 16 + lo));
      }
      return key;
    }
    case RowKeyKind::kInt64: {
      int64_t value = 0;
      const char* end = id.data() + id.size();
      auto [ptr, ec] = std::from_chars(id.data(), end, value);
      if (id.empty() || ec != std::errc() || ptr != end) {
        return Status::InvalidArgument(
            "row id '" + printable(id) +
            "' is not an int64 (a decimal number from -9223372036854775808 "
            "to 9223372036854775807)");
      }
      return int64_row_key(value);
    }
    case RowKeyKind::kString:
      return string_row_key(id);
  }
  return Status::Internal("unknown row key kind");
}

StatusOr<std::string> row_id_from_key(RowKeyKind kind, std::string_view key) {
  const std::string original(key);
  auto corrupt = [&original](const char* what) {
    return Status::Corruption("malformed " + std::string(what) + " row key '" +
                              printable(original) + "'");
  };
  switch (kind) {
    case RowKeyKind::kGenerated: {
      if (key.size() != kGeneratedRowIdSize) return corrupt("generated");
      std::string id;
      for (char c : key) {
        const auto b = static_cast<uint8_t>(c);
        id.push_back(kHex[b >> 4]);
        id.push_back(kHex[b & 0xF]);
      }
      return id;
    }
    case RowKeyKind::kInt64: {
      int64_t value = 0;
      if (!consume_i64(key, value) || !key.empty()) return corrupt("int64");
      return std::to_string(value);
    }
    case RowKeyKind::kString: {
      std::string value;
      if (!consume_escaped(key, value) || !key.empty()) {
        return corrupt("string");
      }
      return value;
    }
  }
  return Status::Internal("unknown row key kind");
}

std::optional<std::string_view> row_id_view(RowKeyKind kind,
                                            std::string_view key,
                                            std::string& buffer) {
  switch (kind) {
    case RowKeyKind::kGenerated: {
      if (key.size() != kGeneratedRowIdSize) return std::nullopt;
      buffer.resize(2 * kGeneratedRowIdSize);
      for (size_t i = 0; i < kGeneratedRowIdSize; ++i) {
        const uint8_t b = byte_at(key, i);
        buffer[2 * i] = kHex[b >> 4];
        buffer[2 * i + 1] = kHex[b & 0xF];
      }
      return std::string_view(buffer);
    }
    case RowKeyKind::kInt64: {
      int64_t value = 0;
      if (!consume_i64(key, value) || !key.empty()) return std::nullopt;
      buffer.resize(24);
      auto [end, ec] =
          std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
      if (ec != std::errc()) return std::nullopt;
      buffer.resize(static_cast<size_t>(end - buffer.data()));
      return std::string_view(buffer);
    }
    case RowKeyKind::kString: {
      auto id = consume_escaped_view(key, buffer);
      if (!id || !key.empty()) return std::nullopt;
      return id;
    }
  }
  return std::nullopt;
}

std::string printable(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    if (b >= 0x20 && b < 0x7F && c != '\\') {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    }
  }
  return out;
}

}  // namespace kalam::tables::keys
