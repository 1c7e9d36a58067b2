#include "workload.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kalam_bench {

ValueSource::ValueSource(size_t value_size, uint64_t seed) : size_(value_size) {
  std::mt19937_64 rng(seed ^ 0x76616c756573ULL);
  // 1 MiB of compressible data plus one value, so any offset is a full value.
  const size_t total = (size_t{1} << 20) + value_size;
  data_.reserve(total);
  const size_t piece = std::max<size_t>(value_size, 2);
  while (data_.size() < total) {
    std::string half(piece / 2, ' ');
    for (char& c : half) c = static_cast<char>(' ' + rng() % 95);
    while (half.size() < piece) half += half.substr(0, piece - half.size());
    data_ += half;
  }
  data_.resize(total);
}

uint64_t fnv1a64(uint64_t value) {
  uint64_t hash = 0xCBF29CE484222325ULL;
  for (int i = 0; i < 8; ++i) {
    hash ^= value & 0xFF;
    hash *= 0x100000001B3ULL;
    value >>= 8;
  }
  return hash;
}

ScrambledZipfian::ScrambledZipfian(uint64_t n, double theta)
    : n_(n), theta_(theta) {
  double zetan = 0;
  for (uint64_t i = 1; i <= n; ++i) zetan += 1.0 / std::pow(double(i), theta);
  const double zeta2 = 1.0 + 1.0 / std::pow(2.0, theta);
  zetan_ = zetan;
  alpha_ = 1.0 / (1.0 - theta);
  eta_ = (1.0 - std::pow(2.0 / double(n), 1.0 - theta)) / (1.0 - zeta2 / zetan);
  half_pow_theta_ = 1.0 + std::pow(0.5, theta);
}

uint64_t ScrambledZipfian::rank(std::mt19937_64& rng) const {
  // A uniform double in [0, 1) from the top 53 bits.
  const double u = double(rng() >> 11) * (1.0 / 9007199254740992.0);
  const double uz = u * zetan_;
  uint64_t rank;
  if (uz < 1.0) {
    rank = 0;
  } else if (uz < half_pow_theta_) {
    rank = 1;
  } else {
    rank = static_cast<uint64_t>(double(n_) *
                                 std::pow(eta_ * u - eta_ + 1.0, alpha_));
    if (rank >= n_) rank = n_ - 1;
  }
  return rank;
}

std::string KeyFormatter::common_prefix(uint64_t num) const {
  // The largest loaded key is the number 2*(num-1); every loaded key has
  // at most as many digits, so all share the leading zeros before them.
  uint64_t largest = num > 0 ? 2 * (num - 1) : 0;
  size_t digits = 1;
  while (largest >= 10) {
    largest /= 10;
    ++digits;
  }
  return std::string(size_ > digits ? size_ - digits : 0, '0');
}

uint64_t run_seed(uint64_t seed, const std::string& workload, int rep) {
  uint64_t h = fnv1a64(seed);
  for (char c : workload) h = fnv1a64(h ^ static_cast<unsigned char>(c));
  return fnv1a64(h ^ static_cast<uint64_t>(rep + 1));
}

std::vector<uint64_t> permutation(uint64_t n, std::mt19937_64& rng) {
  std::vector<uint64_t> p(n);
  std::iota(p.begin(), p.end(), uint64_t{0});
  for (uint64_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng() % i]);
  return p;
}

Plan make_plan(const Config& config, const Workload& w, uint64_t num, int rep) {
  Plan plan;
  plan.num = num;
  std::mt19937_64 rng(run_seed(config.seed, w.name, rep));
  auto uniform = [&](uint64_t count) {
    plan.ops.resize(count);
    for (auto& op : plan.ops) op = rng() % num;
  };
  switch (w.kind) {
    case WorkloadKind::kFillSeq:
      plan.ops.resize(num);
      std::iota(plan.ops.begin(), plan.ops.end(), uint64_t{0});
      break;
    case WorkloadKind::kFillRandom:
    case WorkloadKind::kDeleteRandom:
      plan.ops = permutation(num, rng);
      break;
    case WorkloadKind::kOverwrite:
      uniform(num);
      break;
    case WorkloadKind::kReadRandom:
    case WorkloadKind::kReadMissing:
      uniform(config.effective_reads());
      break;
    case WorkloadKind::kSeekRandom:
      uniform(config.effective_seeks());
      break;
    case WorkloadKind::kReadSeq:
    case WorkloadKind::kScanPrefix:
    case WorkloadKind::kOpen:
    case WorkloadKind::kLoad:
      break;
    case WorkloadKind::kYcsbA:
    case WorkloadKind::kYcsbB:
    case WorkloadKind::kYcsbC:
    case WorkloadKind::kYcsbD:
    case WorkloadKind::kYcsbE:
    case WorkloadKind::kYcsbF: {
      const bool e = w.kind == WorkloadKind::kYcsbE;
      const bool d = w.kind == WorkloadKind::kYcsbD;
      const uint64_t count =
          e ? config.effective_ycsb_e_ops() : config.effective_ycsb_ops();
      // Percent of reads (scans for E); the rest are the workload's writes.
      const uint64_t read_percent = w.kind == WorkloadKind::kYcsbA   ? 50
                                    : w.kind == WorkloadKind::kYcsbB ? 95
                                    : w.kind == WorkloadKind::kYcsbC ? 100
                                    : w.kind == WorkloadKind::kYcsbD ? 95
                                    : w.kind == WorkloadKind::kYcsbE ? 95
                                                                     : 50;
      const PlannedOp::Code write_code = e || d ? PlannedOp::kInsert
                                         : w.kind == WorkloadKind::kYcsbF
                                             ? PlannedOp::kReadModifyWrite
                                             : PlannedOp::kUpdate;
      ScrambledZipfian zipf(num, config.zipf_theta);
      uint64_t inserted = 0;
      plan.ops.resize(count);
      for (auto& op : plan.ops) {
        const bool read = rng() % 100 < read_percent;
        if (read && e) {
          const uint64_t length = 1 + rng() % config.ycsb_max_scan;
          op = PlannedOp::pack(PlannedOp::kScan, length, zipf.next(rng));
        } else if (read && d) {
          // YCSB D's "latest": the newest key, or one `rank` inserts
          // before it (YCSB's SkewedLatestGenerator).
          const uint64_t newest = num + inserted - 1;
          const uint64_t rank = std::min(zipf.rank(rng), newest);
          op = PlannedOp::pack(PlannedOp::kRead, 0, newest - rank);
        } else if (read) {
          op = PlannedOp::pack(PlannedOp::kRead, 0, zipf.next(rng));
        } else if (d) {
          // A new key past the loaded ones (present key num, num+1, ...),
          // which becomes the newest.
          op = PlannedOp::pack(PlannedOp::kInsert, 0, num + inserted++);
        } else if (write_code == PlannedOp::kInsert) {
          // A new key, spread over the key space like YCSB's hashed insert
          // order: the absent key next to a hashed present one.
          const uint64_t index = fnv1a64(num + inserted++) % num;
          op = PlannedOp::pack(PlannedOp::kInsert, 0, index);
        } else {
          op = PlannedOp::pack(write_code, 0, zipf.next(rng));
        }
      }
      break;
    }
  }
  return plan;
}

}  // namespace kalam_bench
