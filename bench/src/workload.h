// The data a workload uses: keys, values, the zipfian chooser and the
// pre-computed sequence of operations. Everything is deterministic for a
// given seed, workload and repetition, so the native and the plugin run of
// the same repetition do exactly the same operations in the same order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"

namespace kalam_bench {

// Keys are decimal numbers, zero-padded to key_size bytes, so byte order is
// numeric order. Key i of the loaded set is the number 2*i; the absent key
// next to it is 2*i+1 (misses fall between present keys, as they would in a
// real key space, instead of past the end).
class KeyFormatter {
 public:
  explicit KeyFormatter(size_t key_size) : size_(key_size) {}
  size_t size() const { return size_; }
  // Writes the key of number `n` into out[0..size) and returns a view of it.
  std::string_view format(uint64_t n, char* out) const {
    char* p = out + size_;
    for (size_t i = 0; i < size_; ++i) {
      *--p = static_cast<char>('0' + n % 10);
      n /= 10;
    }
    return {out, size_};
  }
  std::string_view present(uint64_t i, char* out) const {
    return format(2 * i, out);
  }
  std::string_view absent(uint64_t i, char* out) const {
    return format(2 * i + 1, out);
  }
  // The leading zeros that every key of a store loaded with `num` keys
  // starts with (as long as the key of the largest one allows): the prefix
  // of the scanprefix workload, which runs on a store holding exactly those
  // keys, so it visits all `num` of them.
  std::string common_prefix(uint64_t num) const;

 private:
  size_t size_;
};

// Values are slices of a pre-generated buffer that compresses to about half
// (like db_bench's default --compression_ratio=0.5): each slice is printable
// random bytes, each half repeated.
class ValueSource {
 public:
  ValueSource(size_t value_size, uint64_t seed);
  // The value for key `i` at `version` (a new version for each overwrite).
  std::string_view value(uint64_t i, uint64_t version = 0) const {
    const size_t span = data_.size() - size_;
    const size_t offset =
        span == 0 ? 0
                  : static_cast<size_t>((i * 7919 + version * 104729) % span);
    return {data_.data() + offset, size_};
  }
  size_t size() const { return size_; }

 private:
  size_t size_;
  std::string data_;
};

// YCSB's zipfian generator (Gray et al., "Quickly generating billion-record
// synthetic databases"), items 0..n-1, most popular first. Scrambled as in
// YCSB's ScrambledZipfianGenerator: the rank is hashed (FNV-1a 64) so the hot
// keys are spread over the key space instead of clustered at its start.
uint64_t fnv1a64(uint64_t value);

class ScrambledZipfian {
 public:
  ScrambledZipfian(uint64_t n, double theta);
  uint64_t next(std::mt19937_64& rng) const { return fnv1a64(rank(rng)) % n_; }
  // The rank itself (0 = most popular), unscrambled: YCSB D's "latest"
  // chooser reads the key `rank` places before the newest one.
  uint64_t rank(std::mt19937_64& rng) const;

 private:
  uint64_t n_;
  double theta_, alpha_, zetan_, eta_, half_pow_theta_;
};

// One operation of a workload, packed in 64 bits: the op code, an argument
// (a scan length) and a key index.
struct PlannedOp {
  enum Code : uint8_t { kRead = 0, kUpdate, kScan, kInsert, kReadModifyWrite };
  static uint64_t pack(Code code, uint64_t arg, uint64_t index) {
    return (static_cast<uint64_t>(code) << 56) | ((arg & 0xFFFF) << 40) |
           (index & ((uint64_t{1} << 40) - 1));
  }
  static Code code(uint64_t op) { return static_cast<Code>(op >> 56); }
  static uint64_t arg(uint64_t op) { return (op >> 40) & 0xFFFF; }
  static uint64_t index(uint64_t op) { return op & ((uint64_t{1} << 40) - 1); }
};

// The operations of one run, computed before the timed loop.
struct Plan {
  std::vector<uint64_t> ops;  // key indexes, or PlannedOp for YCSB
  uint64_t num = 0;           // keys loaded (or written by a fill)
};

// The seed of one (workload, repetition): the same in every mode and
// backend, so that both sides of a comparison do the same operations.
uint64_t run_seed(uint64_t seed, const std::string& workload, int rep);

// A random permutation of 0..n-1.
std::vector<uint64_t> permutation(uint64_t n, std::mt19937_64& rng);

// The operations of `w` for a store holding `num` keys.
Plan make_plan(const Config& config, const Workload& w, uint64_t num, int rep);

// Receives what reads return. Both modes feed the same sink, so the work
// done per value is identical; the checksum keeps the compiler from
// dropping reads.
struct Sink {
  uint64_t values = 0;
  uint64_t bytes = 0;
  uint64_t checksum = 0;
  void value(std::string_view v) {
    ++values;
    bytes += v.size();
    if (!v.empty()) checksum += static_cast<unsigned char>(v[v.size() / 2]);
  }
  void entry(std::string_view k, std::string_view v) {
    bytes += k.size();
    value(v);
  }
};

}  // namespace kalam_bench
