#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iterator>

namespace kalam::cli {

std::string human_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%llu B",
                  static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  }
  return text;
}

Progress::Progress(std::string operation,
                   std::optional<uint64_t> expected_entries)
    : operation_(std::move(operation)),
      expected_(expected_entries),
      enabled_(::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { clear(); }

void Progress::update(std::string_view family, uint64_t entries,
                      uint64_t bytes) {
  if (!enabled_) return;
  // Look at the clock only every 256 calls.
  if ((calls_++ & 255) != 0 && drawn_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(family, entries, bytes);
}

void Progress::draw(std::string_view family, uint64_t entries, uint64_t bytes) {
  std::string line = "\r" + operation_ + ": column family '" +
                     std::string(family) + "', " + std::to_string(entries) +
                     " entries, " + human_bytes(bytes);
  std::optional<uint64_t> percent;
  if (expected_bytes_ && *expected_bytes_ > 0) {
    percent = bytes * 100 / *expected_bytes_;
  } else if (expected_ && *expected_ > 0) {
    percent = entries * 100 / *expected_;
  }
  if (percent) {
    line += " (~" + std::to_string(std::min<uint64_t>(99, *percent)) + "%)";
  }
  line += "\033[K";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::clear() {
  if (!drawn_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace kalam::cli
