// The text encodings rows use for non-JSON values: base64 for bytes and
// RFC 3339 for timestamps.
#include <kalam/tables/schema.h>

#include <array>

namespace kalam::tables {

namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
// (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

StatusOr<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::InvalidArgument(
        "base64 text must be a multiple of 4 characters long (with '=' "
        "padding), got " +
        std::to_string(text.size()));
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    std::array<int, 4> v{};
    for (size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      v[k] = pad > 0 ? -1 : sextet(c);
      if (v[k] < 0) {
        return Status::InvalidArgument("invalid base64 character at offset " +
                                       std::to_string(i + k));
      }
    }
    const uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    // Canonical form only: the bits the padding leaves unused are zero.
    if ((pad == 1 && (n & 0xFF) != 0) || (pad == 2 && (n & 0xFFFF) != 0)) {
      return Status::InvalidArgument(
          "non-canonical base64: unused bits before the padding are not zero");
    }
    out.push_back(static_cast<char>((n >> 16) & 0xFF));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xFF));
  }
  return out;
}

StatusOr<int64_t> parse_rfc3339_ms(std::string_view text) {
  const std::string shown(text.substr(0, 64));
  auto bad = [&shown](const char* why) {
    return Status::InvalidArgument(
        "'" + shown + "' is not an RFC 3339 timestamp (" + why +
        "); write e.g. 2024-05-01T12:30:00Z or 2024-05-01T12:30:00.250+02:00");
  };
  size_t pos = 0;
  auto digits = [&](size_t count, int64_t& value) {
    if (pos + count > text.size()) return false;
    value = 0;
    for (size_t k = 0; k < count; ++k) {
      const char c = text[pos + k];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    pos += count;
    return true;
  };
  auto expect = [&](std::string_view options) {
    if (pos >= text.size() || options.find(text[pos]) == options.npos) {
      return false;
    }
    ++pos;
    return true;
  };
  int64_t year, month, day, hour, minute, second;
  if (!digits(4, year) || !expect("-") || !digits(2, month) || !expect("-") ||
      !digits(2, day)) {
    return bad("the date is not YYYY-MM-DD");
  }
  if (!expect("Tt ")) return bad("no 'T' between date and time");
  if (!digits(2, hour) || !expect(":") || !digits(2, minute) || !expect(":") ||
      !digits(2, second)) {
    return bad("the time is not HH:MM:SS");
  }
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t count = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (count < 3) millis = millis * 10 + (text[pos] - '0');
      ++count;
      ++pos;
    }
    if (count == 0) return bad("no digits after '.'");
    for (size_t k = count; k < 3; ++k) millis *= 10;
  }
  int64_t offset_minutes = 0;
  if (expect("Zz")) {
    // UTC.
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int64_t oh, om;
    if (!digits(2, oh) || !expect(":") || !digits(2, om) || oh > 23 ||
        om > 59) {
      return bad("the offset is not Z or +HH:MM / -HH:MM");
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return bad("no time zone: end with Z or an offset like +02:00");
  }
  if (pos != text.size()) return bad("text after the time zone");
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return bad("month out of range");
  const int max_day = kDays[month - 1] + (month == 2 && leap(year) ? 1 : 0);
  if (day < 1 || day > max_day) return bad("day out of range");
  // Second 60 is a leap second; it counts as the first second of the next
  // minute.
  if (hour > 23 || minute > 59 || second > 60) return bad("time out of range");
  const int64_t days = days_from_civil(year, static_cast<unsigned>(month),
                                       static_cast<unsigned>(day));
  return (((days * 24 + hour) * 60 + minute - offset_minutes) * 60 + second) *
             1000 +
         millis;
}

}  // namespace kalam::tables
