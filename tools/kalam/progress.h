// A one-line progress indication for long operations (dump, load, migrate,
// check), redrawn in place with a carriage return. Shown only when stderr is
// a terminal: piped or redirected runs stay quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kalam::cli {

class Progress {
 public:
  // `operation` starts the line ("dump"). `expected_entries`, when known
  // (an estimate is fine), adds a percentage.
  explicit Progress(std::string operation,
                    std::optional<uint64_t> expected_entries = std::nullopt);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // Clears the line.
  ~Progress();

  bool enabled() const { return enabled_; }
  // Bases the percentage on bytes instead: `bytes` in total are expected
  // (e.g. the size of the file being read).
  void expect_bytes(uint64_t bytes) { expected_bytes_ = bytes; }
  // Records that `entries` entries and `bytes` bytes are done in total, the
  // current one in column family `family`. Cheap: redraws at most ten
  // times a second.
  void update(std::string_view family, uint64_t entries, uint64_t bytes);
  // Removes the line, so the next message starts on a clean line.
  void clear();

 private:
  void draw(std::string_view family, uint64_t entries, uint64_t bytes);

  std::string operation_;
  std::optional<uint64_t> expected_;
  std::optional<uint64_t> expected_bytes_;
  bool enabled_;
  bool drawn_ = false;
  uint32_t calls_ = 0;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1.5 MiB", "312 B".
std::string human_bytes(uint64_t bytes);

}  // namespace kalam::cli
